"""The README.md synth writes beside each stack's cdk.tf.json: what the sandbox is, its
network drawn from the synthesized JSON, its nodes, lint findings and cost."""

from __future__ import annotations

from ..config import SandboxConfig
from .cost import estimate, format_estimate, load_prices
from .diagram import build, to_mermaid
from ..errors import SandboxError
from .lint import lint
from ..documents.render import render


def _cell(value: object) -> str:
    """Text safe inside a Markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def stack_readme(config: SandboxConfig, stack: dict) -> str:
    bastion, network, schedule, backend = config.bastion, config.network, config.schedule, config.backend
    if bastion.ipv4_egress == "public_ipv4":
        egress = "Elastic IP"
    elif bastion.wireguard.has_peer:
        egress = f"WireGuard to {bastion.wireguard.peer_endpoint}"
    else:
        egress = "WireGuard, no peer configured"
    try:
        cost = format_estimate(estimate(config, load_prices(None)))
    except SandboxError as exc:  # a region or type the embedded table lacks
        cost = f"no estimate: {exc}"
    return render(
        "stack-README.md.j2",
        config=config,
        vpc=network.existing_vpc_id and f"existing {network.existing_vpc_id}" or f"{network.vpc_cidr} + Amazon IPv6",
        egress=egress,
        schedule=f"{schedule.start} .. {schedule.stop} ({schedule.timezone})" if schedule else "none: always on",
        backend=f"S3 bucket {backend.s3_bucket}" if backend.s3_bucket else f"local ({backend.local_path})",
        mermaid=to_mermaid(build(stack, title=config.name)),
        nodes=[
            [
                _cell(value)
                for value in (
                    node.name,
                    f"{node.role}, {node.machine_type}",
                    node.private_ip,
                    config.node_instance_type(node),
                    f"{config.node_root_volume_gb(node)} GB gp3"
                    + (f" + {config.data_volume_gb} GB LINSTOR data" if config.data_volume_gb else ""),
                    f"`{config.node_image(node)}`",
                )
            ]
            for node in config.nodes
        ],
        findings=[
            [_cell(f.rule.rule_id), _cell(f.rule.severity), _cell(f"`{f.field}`"), _cell(f.problem)]
            for f in lint(config)
        ],
        cost=cost,
    )
