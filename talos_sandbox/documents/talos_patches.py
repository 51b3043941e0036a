"""The Talos machine-config patches the stack writes beside cdk.tf.json, and which ones
each node's config is generated with.

Every node has its own patch (`talos/<node>.yaml`, from TalosNode). With CozyStack on,
two cluster patches follow CozyStack's own split into a patch for all nodes and one for
control planes (Talos refuses etcd settings on a worker).
"""

from __future__ import annotations

from ..config import NodeConfig, SandboxConfig
from .render import render

PATCH_DIR = "talos"
COZYSTACK_PATCH = f"{PATCH_DIR}/cozystack.yaml"
COZYSTACK_CONTROLPLANE_PATCH = f"{PATCH_DIR}/cozystack-controlplane.yaml"


def node_patch_path(node_name: str) -> str:
    return f"{PATCH_DIR}/{node_name}.yaml"


def cozystack_patches(config: SandboxConfig) -> dict[str, str]:
    """CozyStack's cluster patches by relative path; none when CozyStack is off."""
    cozystack = config.cozystack
    if not cozystack.enabled:
        return {}
    context = {
        "name": config.name,
        "version": cozystack.version,
        "node_subnet": config.network.subnet_cidr,
        "cluster_domain": cozystack.cluster_domain,
        "pod_cidr": cozystack.pod_cidr,
        "service_cidr": cozystack.service_cidr,
    }
    return {
        COZYSTACK_PATCH: render("talos-cozystack.yaml.j2", **context),
        COZYSTACK_CONTROLPLANE_PATCH: render("talos-cozystack-controlplane.yaml.j2", **context),
    }


def patches_for(config: SandboxConfig, node: NodeConfig) -> tuple[str, ...]:
    """The patch files `talosctl gen config` applies for this node, in order."""
    patches = [node_patch_path(node.name)]
    if config.cozystack.enabled:
        patches.append(COZYSTACK_PATCH)
        if node.machine_type == "controlplane":
            patches.append(COZYSTACK_CONTROLPLANE_PATCH)
    return tuple(patches)
