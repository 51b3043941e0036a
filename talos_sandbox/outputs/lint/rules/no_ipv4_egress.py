import ipaddress

from ....config import SandboxConfig
from .. import Rule

_INTERNET = ipaddress.IPv4Network("0.0.0.0/0")


def check(config: SandboxConfig):
    bastion = config.bastion
    if bastion.ipv4_egress == "wireguard":
        if not bastion.wireguard.has_peer:
            yield "bastion.wireguard.peer_endpoint", "not set: the bastion has no IPv4 egress to share"
        elif _INTERNET not in bastion.wireguard.allowed_ips:
            yield "bastion.wireguard.allowed_ips", "the tunnel does not carry 0.0.0.0/0, so GitHub and GHCR are unreachable"
    if 443 not in bastion.nat_tcp_ports:
        yield "bastion.nat_tcp_ports", "443 is not forwarded: no HTTPS for the nodes"


RULE = Rule(
    rule_id="TSL005",
    title="Nodes have no IPv4 egress, so they cannot install Talos",
    reason="GitHub (boot-to-talos) and ghcr.io (the images) have no IPv6; nodes without public IPv4 "
    "reach them only through the bastion's NAT, whose IPv4 leaves through WireGuard or an Elastic IP.",
    source="GitHub docs, 'About GitHub's IP addresses' (no IPv6); the design's own WireGuard plan",
    fix="Configure bastion.wireguard (peer_endpoint, peer_public_key, tunnel_address and the key in SSM), "
    "or set bastion.ipv4_egress: public_ipv4 with network.bastion_subnet_cidr; keep 443 in nat_tcp_ports.",
    check=check,
    severity="error",
)
