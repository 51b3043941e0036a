from ....config import SandboxConfig
from .. import Rule


def check(config: SandboxConfig):
    for index, cidr in enumerate(config.bastion.ssh_ipv6_cidrs):
        if cidr.prefixlen < 64:
            yield f"bastion.ssh_ipv6_cidrs[{index}]", f"{cidr} is wider than a /64"


RULE = Rule(
    rule_id="TSL007",
    title="SSH open to an IPv6 range wider than a /64",
    reason="A /64 is one site's LAN; anything wider opens SSH to other networks (a /48 is 65,536 of them).",
    source="RFC 6177 (IPv6 address assignment to end sites)",
    fix="List the /64 (or a single /128) you connect from, or leave ssh_ipv6_cidrs empty and use Session Manager.",
    check=check,
)
