"""The talosctl commands that configure a node, shared by the runbook and the stack's
`talosctl_apply_config` / `talosctl_upgrade` outputs."""

from __future__ import annotations

from ..config import NodeConfig, SandboxConfig
from .talos_patches import patches_for

SECRETS_FILE = "secrets.yaml"


def apply_config_command(config: SandboxConfig, node: NodeConfig) -> str:
    """Generate the node's config from the shared secrets and its patches, then apply it."""
    patches = " ".join(f"--config-patch @{patch}" for patch in patches_for(config, node))
    return (
        f"talosctl gen config {config.name} {config.control_plane_endpoint} --with-secrets {SECRETS_FILE} "
        f"--output-types {node.machine_type} --with-examples=false --with-docs=false "
        f"{patches} -o {node.name}.yaml --force"
        f" && talosctl apply-config --insecure -n {node.private_ip} --file {node.name}.yaml"
    )


def upgrade_command(config: SandboxConfig, node: NodeConfig) -> str | None:
    """talos-ami only: move the node from the AMI's stock Talos to its role image.

    Run after bootstrap: without --force, Talos upgrades a control-plane node only
    through etcd (a lock and a quorum check), and etcd runs only after bootstrap. No
    --preserve: the flag is gone since Talos 1.8, which always keeps EPHEMERAL
    (siderolabs/talos#10172; the v1.11 CLI reference lists no such flag).
    """
    if config.talos.install_method != "talos-ami":
        return None
    return f"talosctl upgrade -n {node.private_ip} -e {node.private_ip} --image {config.node_image(node)}"


def talos_health_command(config: SandboxConfig) -> str:
    """`talosctl health` with the nodes named: discovery is off with CozyStack, so the
    check cannot find them itself."""
    def addresses(machine_type: str) -> str:
        return ",".join(str(node.private_ip) for node in config.nodes if node.machine_type == machine_type)

    command = f"talosctl health --control-plane-nodes {addresses('controlplane')}"
    if addresses("worker"):
        command += f" --worker-nodes {addresses('worker')}"
    return command
