from ....config import SandboxConfig
from .. import Rule


def check(config: SandboxConfig):
    if config.loadbalancer.mode == "metallb-l2":
        yield "loadbalancer.mode", "metallb-l2 (the design's; the Talos L2 VIP fails the same way)"


RULE = Rule(
    rule_id="TSL001",
    title="MetalLB L2 (ARP) mode and the Talos L2 VIP do not work on an AWS VPC",
    reason="The VPC answers ARP only for addresses assigned to an ENI; an address announced by "
    "gratuitous ARP from a node never receives traffic.",
    source="metallb/metallb: website/content/installation/clouds.md (AWS); AWS VPC docs, 'ARP'",
    fix="Set loadbalancer.mode: eni-secondary-ips with loadbalancer.addresses, so the addresses are "
    "secondary IPs of the gateway node's ENI (or put an NLB in front, or use CozyStack publishing.externalIPs).",
    check=check,
)
