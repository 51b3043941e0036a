"""The whole sandbox: every area's model under its key, the rules that span areas, and
the derived values every construct reads the same way."""

from __future__ import annotations

import ipaddress
import re

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ..facts.instance_types import architecture_of
from ..facts.releases import (
    COZYSTACK_RELEASES,
    SUPPORTED_TALOS_MINORS,
    TALOS_RELEASES,
    CozystackBuild,
    CozystackRelease,
    TalosRelease,
    talos_minor,
)
from ..facts.talos_amis import TALOS_AMI_SNAPSHOT_GB, official_talos_ami_name
from . import aws_names
from .backend import BackendConfig
from .base import ConfigModel, field_error
from .bastion import BastionConfig
from .bring_up import BringUpConfig
from .cozystack import CozystackConfig
from .loadbalancer import LoadBalancerConfig
from .network import NetworkConfig
from .nodes import MIN_SINGLE_DISK_LINSTOR_GIB, NodeConfig, NodeDefaults, SingleDiskLayout, single_disk_layout
from .schedule import ScheduleConfig
from .talos import TalosConfig



class SandboxConfig(ConfigModel):
    name: str = Field("cozy-demo", description="Stack name and prefix of every resource name.")
    region: str = Field("eu-west-1", description="AWS region.")
    tags: dict[str, str] = Field(
        {"Demo": "cozystack-moon-and-back"}, description="Tags on every resource (provider default_tags)."
    )
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    bastion: BastionConfig = Field(default_factory=BastionConfig)
    node_defaults: NodeDefaults = Field(default_factory=NodeDefaults)
    nodes: list[NodeConfig] = Field(min_length=1, description="The Talos nodes.")
    talos: TalosConfig = Field(default_factory=TalosConfig)
    loadbalancer: LoadBalancerConfig = Field(default_factory=LoadBalancerConfig)
    cozystack: CozystackConfig = Field(default_factory=CozystackConfig)
    bring_up: BringUpConfig = Field(default_factory=BringUpConfig)
    schedule: ScheduleConfig | None = Field(None, description="Start/stop times. Default: none, always on.")
    backend: BackendConfig = Field(default_factory=BackendConfig)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,30}[a-z0-9]", value):
            raise PydanticCustomError(
                "name",
                "'{value}' must be 2-32 lowercase letters, digits or '-', starting with a letter "
                "(it prefixes AWS resource names)",
                {"value": value},
            )
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        return aws_names.region(value)

    _tags = field_validator("tags")(aws_names.tags)

    @model_validator(mode="after")
    def _one_architecture_and_release(self) -> SandboxConfig:
        by_architecture: dict[str, list[str]] = {}
        for node in self.nodes:
            by_architecture.setdefault(architecture_of(self.node_instance_type(node)) or "?", []).append(node.name)
        if len(by_architecture) > 1:
            mix = "; ".join(f"{arch}: {', '.join(names)}" for arch, names in sorted(by_architecture.items()))
            raise field_error("nodes", f"mix of architectures ({mix}): the nodes must be all arm64 or all amd64")
        arch, version = self.architecture, self.cozystack.version
        for role in sorted({node.role for node in self.nodes}):
            if self._image(role) is None:
                builds = ", ".join(sorted(self.cozystack_release.builds)) if self.cozystack_release else "none"
                raise field_error(
                    f"talos.images.{role}",
                    f"required: the release matrix has no {arch} build of CozyStack {version} "
                    f"(builds: {builds}); set the image, or pick a cozystack.version with an {arch} build",
                )
        if not self.talos_version:
            raise field_error(
                "talos.version", "required: the configured images share no release tag (vX.Y.Z) to take it from"
            )
        if self.talos_minor not in SUPPORTED_TALOS_MINORS:
            raise field_error(
                "talos.version",
                f"{self.talos_version} (from the images' tag): talos-sandbox writes machine configs for Talos "
                f"{', '.join(SUPPORTED_TALOS_MINORS)} only; set talos.version",
            )
        if self.bring_up.enabled and self.talos_release is None:
            raise field_error(
                "bring_up.enabled",
                f"the bastion brings the cluster up with the talosctl and kubectl the release matrix pins, and it "
                f"pins none for Talos {self.talos_version} (pinned: {', '.join(TALOS_RELEASES)}); set talos.version "
                "to one of those, or bring_up.enabled false for the manual runbook",
            )
        return self

    @model_validator(mode="after")
    def _addresses(self) -> SandboxConfig:
        zone = self.network.availability_zone
        if zone is not None and (problem := aws_names.zone_problem(zone, self.region)):
            raise field_error("network.availability_zone", problem)
        if self.bastion.ipv4_egress == "public_ipv4" and self.network.bastion_subnet_cidr is None:
            raise field_error(
                "network.bastion_subnet_cidr",
                "required with bastion.ipv4_egress public_ipv4: the nodes' subnet routes 0.0.0.0/0 to the "
                "bastion, so the bastion needs its own subnet routed to the internet gateway",
            )
        for field, cidr in self.cozystack.cluster_ranges if self.cozystack.enabled else ():
            if cidr.overlaps(self.network.vpc_cidr):
                raise field_error(f"cozystack.{field}", f"{cidr} overlaps network.vpc_cidr {self.network.vpc_cidr}")
        if self.loadbalancer.mode == "none" and self.loadbalancer.addresses:
            raise field_error("loadbalancer.addresses", "must be empty with loadbalancer.mode none")
        if self.loadbalancer.mode == "eni-secondary-ips":
            if not self.loadbalancer.addresses:
                raise field_error("loadbalancer.addresses", "eni-secondary-ips needs at least one address")
            if self.gateway_node is None:
                raise field_error("loadbalancer.mode", "eni-secondary-ips needs a node with role gateway to carry them")
        owners: dict[ipaddress.IPv4Address, str] = {}
        placed = (
            [("bastion.private_ip", self.bastion.private_ip, self.network.bastion_subnet)]
            + [(f"nodes[{index}].private_ip", node.private_ip, self.network.subnet_cidr) for index, node in enumerate(self.nodes)]
            + [
                (f"loadbalancer.addresses[{index}]", address, self.network.subnet_cidr)
                for index, address in enumerate(self.loadbalancer.addresses)
            ]
        )
        for field, address, subnet in placed:
            reserved = self.network.reserved_ips(subnet)
            if address not in subnet:
                raise field_error(field, f"{address} is outside the subnet {subnet}")
            if address in reserved:
                raise field_error(
                    field,
                    f"{address} is reserved by AWS in {subnet} (the first four addresses and the last "
                    "are the network, router, DNS, future use and broadcast)",
                )
            if address in owners:
                raise field_error(field, f"{address} is already used by {owners[address]}")
            owners[address] = field
        if self.talos.install_method == "talos-ami":
            for field, size in self._root_volume_fields():
                if size < TALOS_AMI_SNAPSHOT_GB:
                    raise field_error(
                        field,
                        f"{size} GB is smaller than the official Talos AMI's {TALOS_AMI_SNAPSHOT_GB} GiB root "
                        "snapshot (install_method talos-ami); EC2 cannot launch it on less",
                    )
        if self.node_defaults.data_volume_gb is None and self.cozystack.enabled:
            for field, size in self._root_volume_fields():
                if single_disk_layout(size) is None:
                    raise field_error(
                        field,
                        f"{size} GB is too small for CozyStack's single-disk layout (node_defaults.data_volume_gb "
                        f"is null): after Talos' partitions and EPHEMERAL it leaves LINSTOR less than "
                        f"{MIN_SINGLE_DISK_LINSTOR_GIB} GiB; grow the root volume or set a data volume",
                    )
        if not any(node.machine_type == "controlplane" for node in self.nodes):
            raise field_error(
                "nodes",
                "no node has machine_type controlplane: the cluster needs one to bootstrap etcd and serve "
                "the Kubernetes API (machine_type defaults to controlplane)",
            )
        names: dict[str, int] = {}
        for index, node in enumerate(self.nodes):
            if node.name in names:
                raise field_error(
                    f"nodes[{index}].name", f"{node.name!r} is already the name of nodes[{names[node.name]}]"
                )
            names[node.name] = index
        return self

    def _root_volume_fields(self) -> list[tuple[str, int]]:
        """(config field, size) for every root volume size that some node uses."""
        fields = {
            (f"nodes[{index}].root_volume_gb" if node.root_volume_gb else "node_defaults.root_volume_gb"):
            self.node_root_volume_gb(node)
            for index, node in enumerate(self.nodes)
        }
        return list(fields.items())

    # Derived values, so that every construct reads them the same way.

    @property
    def gateway_node(self) -> NodeConfig | None:
        """The first gateway node: it carries the load-balancer addresses."""
        return next((node for node in self.nodes if node.role == "gateway"), None)

    @property
    def first_control_plane(self) -> NodeConfig:
        """Where the runbook bootstraps etcd and points the Kubernetes API endpoint."""
        return next(node for node in self.nodes if node.machine_type == "controlplane")

    @property
    def control_plane_endpoint(self) -> str:
        return f"https://{self.first_control_plane.private_ip}:6443"

    @property
    def availability_zone(self) -> str:
        return self.network.availability_zone or f"{self.region}a"

    @property
    def wireguard_key_parameter(self) -> str:
        return self.bastion.wireguard.private_key_parameter or f"/{self.name}/wireguard/private-key"

    def node_instance_type(self, node: NodeConfig) -> str:
        return node.instance_type or self.node_defaults.instance_type

    def node_root_volume_gb(self, node: NodeConfig) -> int:
        return node.root_volume_gb or self.node_defaults.root_volume_gb

    @property
    def data_volume_gb(self) -> int | None:
        """Every node's LINSTOR data volume, or None (no volume)."""
        return self.node_defaults.data_volume_gb

    def node_single_disk_layout(self, node: NodeConfig) -> SingleDiskLayout | None:
        """How the node's root is split for LINSTOR: only with CozyStack and no data volume."""
        if self.data_volume_gb is not None or not self.cozystack.enabled:
            return None
        return single_disk_layout(self.node_root_volume_gb(node))

    @property
    def talos_ami_name(self) -> str | None:
        """The name of the official Talos AMI for talos_version, region and architecture (talos-ami)."""
        if self.talos.install_method != "talos-ami" or self.talos.ami_id is not None:
            return None
        return official_talos_ami_name(self.talos_version, self.region, self.architecture)

    # The release matrix (facts/releases.py), as this config picks from it.

    @property
    def architecture(self) -> str:
        """arm64 or amd64: every node's (a mix is refused)."""
        return architecture_of(self.node_instance_type(self.nodes[0])) or "arm64"

    @property
    def cozystack_release(self) -> CozystackRelease | None:
        return COZYSTACK_RELEASES.get(self.cozystack.version)

    @property
    def cozystack_build(self) -> CozystackBuild | None:
        """CozyStack's images for the nodes' architecture, when the matrix has a build."""
        release = self.cozystack_release
        return release.builds.get(self.architecture) if release else None

    @property
    def cozystack_chart_sha256(self) -> str | None:
        """The cozy-installer chart's pin: the config's, else the matrix's (None: unknown)."""
        release = self.cozystack_release
        return self.cozystack.chart_sha256 or (release.chart_sha256 if release else None)

    def node_image(self, node: NodeConfig) -> str:
        return self._image(node.role) or ""

    @property
    def role_images(self) -> dict[str, str]:
        """Node role -> its installer image, for the roles the nodes have (validated to resolve)."""
        return {role: self._image(role) or "" for role in ("gateway", "compute") if any(n.role == role for n in self.nodes)}

    def _image(self, role: str) -> str | None:
        build = self.cozystack_build
        return getattr(self.talos.images, role) or (build.images[role] if build else None)

    @property
    def talos_version(self) -> str:
        """The Talos release the nodes run: talos.version, else the tag the configured images
        of the nodes' roles share, else the release CozyStack's build carries."""
        build = self.cozystack_build
        roles = {node.role for node in self.nodes}
        return self.talos.version or self.talos.images_version(roles) or (build.talos if build else "")

    @property
    def talos_release(self) -> TalosRelease | None:
        """The matrix's entry for talos_version (pinned talosctl and kubectl), if it has one."""
        return TALOS_RELEASES.get(self.talos_version)

    @property
    def talos_minor(self) -> str:
        return talos_minor(self.talos_version)


# The design's three nodes: the only part of the embedded default with no field default.
DEFAULT_NODES: tuple[dict[str, str], ...] = (
    {"name": "talos-gateway-1", "private_ip": "10.10.0.101", "role": "gateway"},
    {"name": "talos-compute-2", "private_ip": "10.10.0.102", "role": "compute"},
    {"name": "talos-compute-3", "private_ip": "10.10.0.103", "role": "compute"},
)


def default_config() -> SandboxConfig:
    """The design's sandbox (`examples/cozy-demo.yaml` spells it out)."""
    return SandboxConfig.model_validate({"nodes": DEFAULT_NODES})

