"""Each node's own Talos machine-config patch (`talos/<node>.yaml`): hostname, static
address and default route, resolver, time server, install disk and image, and the
bastion's registry caches as mirrors.

Talos v1.11 gets one v1alpha1 document. v1.12 and later get the multi-document form
(talos_minors.py says why): a v1alpha1 document for what that schema still holds
(`machine.install`), then HostnameConfig, LinkAliasConfig + LinkConfig,
ResolverConfig, TimeSyncConfig and one RegistryMirrorConfig per cached registry. The
node's volume documents (talos_storage.py) follow in every minor.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ..config import NodeConfig, SandboxConfig
from .render import render
from .talos_minors import multidoc
from .talos_storage import storage_documents

# EC2's time source, link-local on every Nitro instance (Amazon Time Sync Service).
AMAZON_TIME_SYNC = "169.254.169.123"
# The name LinkAliasConfig gives the node's one ENA link (v1.12+); Talos' docs warn
# against kernel names (eth0, ens5) as aliases.
LINK_ALIAS = "net0"
# Matches the link whose kernel driver is ENA: on Nitro every VPC interface is one, and
# a node has exactly one ENI (load-balancer addresses are secondary IPs on it). See the
# template for why this and not the name or MAC.
LINK_SELECTOR = 'link.driver == "ena"'


@dataclass(frozen=True)
class NodePatchValues:
    """What a node's patch says, taken from the config once for every minor's form."""

    hostname: str
    address: ipaddress.IPv4Interface
    router: ipaddress.IPv4Address
    dns: ipaddress.IPv4Address
    disk: str
    image: str
    registry_mirrors: tuple[tuple[str, str], ...]
    """(registry, the bastion's cache endpoint http://ip:port), sorted by registry."""


def registry_mirrors(config: SandboxConfig) -> dict[str, str]:
    """Registry -> the bastion's cache endpoint that Talos pulls it through (none when off)."""
    caches = config.bastion.registry_caches
    return {
        registry: f"http://{config.bastion.private_ip}:{upstream.port}"
        for registry, upstream in caches.active.items()
    }


def node_patch_values(config: SandboxConfig, node: NodeConfig) -> NodePatchValues:
    network = config.network
    return NodePatchValues(
        hostname=node.name,
        address=ipaddress.IPv4Interface(f"{node.private_ip}/{network.subnet_cidr.prefixlen}"),
        router=network.router_ip,
        dns=network.dns_ip,
        disk=config.talos.install_disk,
        image=config.node_image(node),
        registry_mirrors=tuple(registry_mirrors(config).items()),
    )


def render_node_patch(values: NodePatchValues, talos_minor: str) -> str:
    """The node's patch in the form `talos_minor` (one of TALOS_MINORS) accepts."""
    template = "talos-node-documents.yaml.j2" if multidoc(talos_minor) else "talos-machine-patch.yaml.j2"
    return render(
        template,
        talos_minor=talos_minor,
        hostname=values.hostname,
        address=values.address.with_prefixlen,
        router=values.router,
        dns=values.dns,
        time_server=AMAZON_TIME_SYNC,
        disk=values.disk,
        image=values.image,
        registry_mirrors=dict(values.registry_mirrors),
        link_alias=LINK_ALIAS,
        link_selector=LINK_SELECTOR,
    )


def node_patch(config: SandboxConfig, node: NodeConfig, talos_minor: str) -> str:
    """The node's patch, then its volume documents (talos_storage.py), the same in every minor."""
    patch = render_node_patch(node_patch_values(config, node), talos_minor)
    storage = storage_documents(config, node)
    return f"{patch.rstrip()}\n---\n{storage}" if storage else patch
