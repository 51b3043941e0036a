from ....config import SandboxConfig
from .. import Rule


def check(config: SandboxConfig):
    bastion = config.bastion
    if bastion.registry_caches.active and bastion.ipv4_egress == "wireguard" and not bastion.wireguard.has_peer:
        yield "bastion.registry_caches.enabled", (
            "the caches are on but the bastion has no IPv4 egress (WireGuard without a peer) to fill them"
        )


RULE = Rule(
    rule_id="TSL012",
    title="Registry caches with nothing to fill them",
    reason="A pull-through cache fetches every image it has not seen from its upstream; GitHub (the "
    "registry release) and ghcr.io have no IPv6, so without IPv4 egress the bastion cannot even install "
    "the caches, and the nodes' mirrors fall back to upstreams they cannot reach either.",
    source="GitHub docs, 'About GitHub's IP addresses' (no IPv6); distribution docs, 'Registry as a "
    "pull through cache' (docs/content/recipes/mirror.md)",
    fix="Configure bastion.wireguard (peer_endpoint, peer_public_key, tunnel_address) or "
    "bastion.ipv4_egress: public_ipv4; or set bastion.registry_caches.enabled: false.",
    check=check,
)
