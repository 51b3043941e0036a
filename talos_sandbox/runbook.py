"""What an operator runs after `terraform apply`: per-node talosctl commands, the runbook.

The same commands appear as Terraform outputs and in `python -m talos_sandbox next-steps`.
"""

from __future__ import annotations

from .config import NodeConfig, SandboxConfig
from .render import render

SECRETS_FILE = "secrets.yaml"


def first_control_plane(config: SandboxConfig) -> NodeConfig:
    return next((node for node in config.nodes if node.machine_type == "controlplane"), config.nodes[0])


def control_plane_endpoint(config: SandboxConfig) -> str:
    return f"https://{first_control_plane(config).private_ip}:6443"


def apply_config_command(config: SandboxConfig, node: NodeConfig) -> str:
    """Generate the node's config from the shared secrets and its patch, then apply it."""
    return (
        f"talosctl gen config {config.name} {control_plane_endpoint(config)} --with-secrets {SECRETS_FILE} "
        f"--output-types {node.machine_type} --with-examples=false --with-docs=false "
        f"--config-patch @talos/{node.name}.yaml -o {node.name}.yaml --force"
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


def next_steps(config: SandboxConfig, stack_dir: str) -> str:
    return render(
        "next-steps.txt.j2",
        config=config,
        stack_dir=stack_dir,
        secrets_file=SECRETS_FILE,
        commands={node.name: apply_config_command(config, node) for node in config.nodes},
        upgrades={node.name: upgrade_command(config, node) for node in config.nodes},
        endpoint=control_plane_endpoint(config),
        first_control_plane=first_control_plane(config),
    )
