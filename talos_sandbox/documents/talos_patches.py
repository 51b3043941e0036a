"""The Talos machine-config patches the stack writes beside cdk.tf.json, and which ones
each node's config is generated with.

Every node has its own patch (`talos/<node>.yaml`, talos_node_patch.py). With CozyStack
on, two cluster patches follow CozyStack's own split into a patch for all nodes and one
for control planes (Talos refuses etcd settings on a worker). Every function that writes
a document takes the Talos minor (one of TALOS_MINORS): CozyStack's settings are all
still v1alpha1 fields in the v1.11, v1.12 and v1.13 schemas (none moved to a document of
its own), so its patches are one v1alpha1 document in every minor.
"""

from __future__ import annotations

from ..config import NodeConfig, SandboxConfig
from .render import render
from .talos_minors import minor_key
from .talos_node_patch import node_patch

PATCH_DIR = "talos"
COZYSTACK_PATCH = f"{PATCH_DIR}/cozystack.yaml"
COZYSTACK_CONTROLPLANE_PATCH = f"{PATCH_DIR}/cozystack-controlplane.yaml"


def node_patch_path(node_name: str) -> str:
    return f"{PATCH_DIR}/{node_name}.yaml"


def node_patches(config: SandboxConfig, talos_minor: str) -> dict[str, str]:
    """Every node's own patch by relative path, in the form `talos_minor` accepts."""
    nodes = sorted(config.nodes, key=lambda node: node.name)
    return {node_patch_path(node.name): node_patch(config, node, talos_minor) for node in nodes}


def cozystack_patches(config: SandboxConfig, talos_minor: str) -> dict[str, str]:
    """CozyStack's cluster patches by relative path; none when CozyStack is off."""
    minor_key(talos_minor)  # an unsupported minor is an error even with CozyStack off
    cozystack = config.cozystack
    if not cozystack.enabled:
        return {}
    context = {
        "talos_minor": talos_minor,
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


def talos_patches(config: SandboxConfig, talos_minor: str) -> dict[str, str]:
    """Every Talos patch the stack writes beside itself, by relative path."""
    return {**node_patches(config, talos_minor), **cozystack_patches(config, talos_minor)}


def patches_for(config: SandboxConfig, node: NodeConfig) -> tuple[str, ...]:
    """The patch files `talosctl gen config` applies for this node, in order."""
    patches = [node_patch_path(node.name)]
    if config.cozystack.enabled:
        patches.append(COZYSTACK_PATCH)
        if node.machine_type == "controlplane":
            patches.append(COZYSTACK_CONTROLPLANE_PATCH)
    return tuple(patches)
