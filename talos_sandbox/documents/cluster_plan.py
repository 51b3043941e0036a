"""The bastion's cluster plan: the SSM parameters of the unattended bring-up, and the
JSON document `talos-sandbox-cluster.service` works from (written into the bastion's
user-data as /etc/talos-sandbox/cluster.json; the program is templates/bastion-cluster.py).

Why SSM parameters, all under /<name>/cluster/:
- the secrets, talosconfig, kubeconfig and status are written by the bastion. Terraform
  declares each with a write-only placeholder (`value_wo`), so `terraform destroy`
  removes it and IAM can name its exact ARN, while Terraform state never holds what the
  bastion wrote (a plain `value` with ignore_changes would be read back into state on
  every refresh; the moto apply test shows both);
- each Talos patch is a parameter Terraform writes from the same text synth writes under
  `talos/`: a changed patch reaches the bastion on the next `terraform apply` without
  anyone copying files, and without replacing the bastion (user-data would);
- so is each file of CozyStack v1's install (`cozystack/`: the chart's values, the
  platform Package, LINSTOR's storage classes) when the bastion installs CozyStack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from ..config import SandboxConfig
from ..errors import SandboxError
from ..facts.architectures import BASTION_ARCH
from ..facts.cozystack_requirements import MIN_HELMRELEASES
from ..facts.releases import COZY_INSTALLER_CHART, HELM, PinnedTool
from . import cozystack
from .talos_patches import PATCH_DIR, patches_for, talos_patches
from .talos_storage import LINSTOR_POOL, PARTITION_LABEL

# What Terraform writes into a parameter the bastion fills; the program reads it as "not yet".
PLACEHOLDER = "pending"
# SSM's value limits per tier (AWS: "Parameter tiers"): 4 KB standard, 8 KB advanced.
STANDARD_LIMIT = 4096
ADVANCED_LIMIT = 8192
# A secrets bundle, a talosconfig and a kubeconfig each hold certificates and keys that
# may pass 4 KB; the advanced tier costs $0.05 a parameter a month (prices.py).
BASTION_WRITTEN = {"secrets": "Advanced", "talosconfig": "Advanced", "kubeconfig": "Advanced", "status": "Standard"}
# What an operator (or the agent) reads; the secrets stay the bastion's alone.
OPERATOR_READABLE = ("status", "talosconfig", "kubeconfig")
# The address the operator's kubeconfig names: Session Manager forwards this local port to
# the first control plane's 6443 (next-steps), and the API server's certificate names it.
OPERATOR_API_SERVER = "https://127.0.0.1:6443"


@dataclass(frozen=True)
class ClusterParameter:
    name: str
    tier: Literal["Standard", "Advanced"]
    value: str | None
    """What Terraform writes; None: the bastion writes it (Terraform holds the placeholder only)."""


def parameter_prefix(config: SandboxConfig) -> str:
    return f"/{config.name}/cluster"


def kms_alias(config: SandboxConfig) -> str:
    return f"alias/{config.name}-cluster"


def _stem(path: str, folder: str = PATCH_DIR) -> str:
    return path.removeprefix(f"{folder}/").removesuffix(".yaml")


def installs_cozystack(config: SandboxConfig) -> bool:
    """Whether the bastion's unit installs CozyStack: v1 (its chart, by digest). v0's
    installer manifest has no recorded checksum: its install stays the operator's."""
    return config.bring_up.enabled and config.cozystack.enabled and config.cozystack.major >= 1


def _written_by_terraform(name: str, path: str, text: str) -> ClusterParameter:
    size = len(text.encode())
    if size > ADVANCED_LIMIT:
        raise SandboxError(f"{path} is {size} bytes; an SSM parameter holds at most {ADVANCED_LIMIT}")
    return ClusterParameter(name, "Standard" if size <= STANDARD_LIMIT else "Advanced", text)


def cluster_parameters(config: SandboxConfig) -> dict[str, ClusterParameter]:
    """Every parameter of the bring-up by key: the four the bastion writes, then
    `patch/<stem>`, then (installs_cozystack) `cozystack/<stem>`."""
    prefix = parameter_prefix(config)
    found = {key: ClusterParameter(f"{prefix}/{key}", tier, None) for key, tier in BASTION_WRITTEN.items()}  # type: ignore[arg-type]
    for path, text in sorted(talos_patches(config, config.talos_minor).items()):
        found[f"patch/{_stem(path)}"] = _written_by_terraform(f"{prefix}/patches/{_stem(path)}", path, text)
    if installs_cozystack(config):
        for path, text in sorted(cozystack.install_files(config).items()):
            stem = _stem(path, cozystack.INSTALL_DIR)
            found[f"cozystack/{stem}"] = _written_by_terraform(f"{prefix}/cozystack/{stem}", path, text)
    return found


def _tool(tool: PinnedTool, checksum_format: str, archive_member: str | None = None) -> dict[str, str]:
    found = {
        "name": tool.name,
        "version": tool.version,
        "url": tool.download_url(BASTION_ARCH),
        "checksums_url": tool.release_checksum_url(BASTION_ARCH),
        "checksum_format": checksum_format,
        "sha256": tool.sha256.get(BASTION_ARCH) or "",
    }
    if archive_member:
        found["archive_member"] = archive_member  # the one file taken from the checked archive
    return found


def _cozystack_plan(config: SandboxConfig, parameters: dict[str, ClusterParameter]) -> dict:
    """What the unit's CozyStack phase installs: the chart by version and sha256, the files
    it reads from SSM, the LINSTOR pool it makes on every node's partition."""
    return {
        "version": config.cozystack.version,
        "namespace": cozystack.NAMESPACE,
        "release": cozystack.HELM_RELEASE,
        "package_source": cozystack.PACKAGE_SOURCE,
        "chart": {
            "ref": COZY_INSTALLER_CHART,
            "version": cozystack.chart_version(config),
            "sha256": config.cozystack_chart_sha256 or "",
        },
        "files": {
            _stem(path, cozystack.INSTALL_DIR): parameters[f"cozystack/{_stem(path, cozystack.INSTALL_DIR)}"].name
            for path in sorted(cozystack.install_files(config))
        },
        "helmreleases_at_least": MIN_HELMRELEASES,
        "linstor": {
            "namespace": cozystack.LINSTOR_NAMESPACE,
            "satellites": cozystack.LINSTOR_SATELLITES,
            "pool": LINSTOR_POOL,
            "volume": PARTITION_LABEL,
        },
    }


def cluster_plan(config: SandboxConfig, parameters: dict[str, ClusterParameter] | None = None) -> dict:
    """What the bastion's program needs; a change of it replaces the bastion (its user-data).
    `parameters`: cluster_parameters(config), when the caller has them already."""
    release = config.talos_release
    if release is None:  # the config refuses bring_up without pinned tools
        raise SandboxError(f"no pinned talosctl for Talos {config.talos_version}")
    parameters = parameters or cluster_parameters(config)
    nodes = []
    for node in config.nodes:
        nodes.append({
            "name": node.name,
            "ip": str(node.private_ip),
            "machine_type": node.machine_type,
            "patches": [parameters[f"patch/{_stem(path)}"].name for path in patches_for(config, node)],
        })  # fmt: skip
    return {
        "cluster_name": config.name,
        "region": config.region,
        "endpoint": config.control_plane_endpoint,
        "operator_api_server": OPERATOR_API_SERVER,
        "talos_version": config.talos_version,
        "talos_minor": config.talos_minor,
        "kubernetes_version": release.kubernetes,
        "key_id": kms_alias(config),
        "placeholder": PLACEHOLDER,
        "parameters": {key: {"name": p.name, "tier": p.tier} for key, p in parameters.items() if p.value is None},
        "tools": {
            "talosctl": _tool(release.talosctl, "list"),  # "digest  file" lines naming every asset
            "kubectl": _tool(release.kubectl, "bare"),  # dl.k8s.io's .sha256 holds the digest alone
            **({"helm": _tool(HELM, "list", f"linux-{BASTION_ARCH}/helm")} if installs_cozystack(config) else {}),
        },
        "nodes": nodes,
        "bootstrap_node": config.first_control_plane.name,
        # CozyStack's patches leave the CNI to CozyStack: the nodes stay NotReady until it is
        # installed, so `talosctl health` cannot pass before; the unit then checks that every
        # node registered with Kubernetes instead.
        "cni": "cozystack" if config.cozystack.enabled else "talos",
        "poll_seconds": config.bring_up.poll_seconds,
        "health_timeout_minutes": config.bring_up.health_timeout_minutes,
        **({"cozystack": _cozystack_plan(config, parameters)} if installs_cozystack(config) else {}),
    }


def cluster_plan_json(config: SandboxConfig, parameters: dict[str, ClusterParameter] | None = None) -> str:
    return json.dumps(cluster_plan(config, parameters), indent=1, sort_keys=True) + "\n"
