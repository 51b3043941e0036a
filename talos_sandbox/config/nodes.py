"""node_defaults and nodes: the Talos instances, their addresses, roles and sizes."""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from ..facts.cozystack_requirements import SINGLE_DISK_DATA_GIB, SINGLE_DISK_EPHEMERAL_GIB, TALOS_SYSTEM_PARTITIONS_GIB
from ..facts.instance_types import GRAVITON_FAMILIES, X86_FAMILIES, architecture_of
from ..facts.limits import MAX_VOLUME_GB, MIN_ROOT_VOLUME_GB
from .base import ConfigModel

_HOSTNAME_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def require_known_architecture(instance_type: str) -> str:
    """A node type: an arm64 or amd64 family this tool knows the images and AMIs for."""
    if architecture_of(instance_type) is None:
        raise PydanticCustomError(
            "node_type",
            "'{value}' is not an instance type of a family talos-sandbox knows. arm64 (Graviton): {arm64}; "
            "amd64 (x86_64): {amd64}",
            {"value": instance_type, "arm64": ", ".join(sorted(GRAVITON_FAMILIES)),
             "amd64": ", ".join(sorted(X86_FAMILIES))},
        )
    return instance_type



RootVolumeGb = Annotated[
    int,
    Field(
        ge=MIN_ROOT_VOLUME_GB,
        le=MAX_VOLUME_GB,
        description=f"Root volume (encrypted gp3) in GB; Talos needs at least {MIN_ROOT_VOLUME_GB}.",
    ),
]


DataVolumeGb = Annotated[
    int,
    Field(ge=1, le=MAX_VOLUME_GB, description="Size of each node's LINSTOR data volume (encrypted gp3) in GB."),
]

# The single-disk layout (no data volume): EPHEMERAL gets CozyStack's single-disk share of the
# root, never less than this (room for the images CozyStack pulls, logs and etcd; our floor,
# Talos' own minimum is 2 GiB), and the LINSTOR partition the rest, at least this much.
MIN_SINGLE_DISK_EPHEMERAL_GIB = 20
MIN_SINGLE_DISK_LINSTOR_GIB = 10


@dataclass(frozen=True)
class SingleDiskLayout:
    """How one root volume is split when a node has no data volume (GiB)."""

    ephemeral_gib: int
    """EPHEMERAL's fixed size: the single-disk how-to's 70 of 470 GiB, scaled to the root."""
    linstor_gib: int
    """The least the LINSTOR partition gets (it takes the rest of the disk)."""


def single_disk_layout(root_volume_gb: int) -> SingleDiskLayout | None:
    """The split of a root volume of that size, or None when it leaves LINSTOR too little."""
    share = SINGLE_DISK_EPHEMERAL_GIB / (SINGLE_DISK_EPHEMERAL_GIB + SINGLE_DISK_DATA_GIB)
    ephemeral = max(MIN_SINGLE_DISK_EPHEMERAL_GIB, math.ceil(root_volume_gb * share))
    linstor = root_volume_gb - TALOS_SYSTEM_PARTITIONS_GIB - ephemeral
    return SingleDiskLayout(ephemeral, linstor) if linstor >= MIN_SINGLE_DISK_LINSTOR_GIB else None


class NodeDefaults(ConfigModel):
    instance_type: str = Field(
        "t4g.medium",
        description="Instance type of nodes that name none; arm64 (Graviton) or amd64 (x86_64), the same for all nodes.",
    )
    root_volume_gb: RootVolumeGb = 50
    data_volume_gb: DataVolumeGb | None = Field(
        50,
        description="Each node's LINSTOR data volume (encrypted gp3, attached as /dev/sdf) in GB; null: none, "
        "and with CozyStack the root volume is split (CozyStack's single-disk layout). CozyStack documents "
        "256 GB (lint TSL016).",
    )
    assign_ipv6: bool = Field(False, description="Give each node an IPv6 address (off: IPv4 only, through the bastion).")

    @field_validator("instance_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        return require_known_architecture(value)


class NodeConfig(ConfigModel):
    name: str = Field(description="Hostname and Name tag (an RFC 1123 label, lowercase).")
    private_ip: ipaddress.IPv4Address = Field(description="Static private IPv4 in the subnet.")
    role: Literal["gateway", "compute"] = Field("compute", description="Picks the Talos image.")
    machine_type: Literal["controlplane", "worker"] = Field(
        "controlplane", description="Talos machine type in the generated runbook (talosctl gen config --output-types)."
    )
    instance_type: str | None = Field(None, description="Overrides node_defaults.instance_type.")
    root_volume_gb: RootVolumeGb | None = Field(None, description="Overrides node_defaults.root_volume_gb.")

    @field_validator("name")
    @classmethod
    def _hostname_label(cls, value: str) -> str:
        if not _HOSTNAME_LABEL.match(value):
            raise PydanticCustomError(
                "hostname",
                "'{value}' is not a valid hostname label (RFC 1123: 1-63 lowercase letters, digits "
                "or '-', starting and ending with a letter or digit)",
                {"value": value},
            )
        return value

    @field_validator("instance_type")
    @classmethod
    def _known_type(cls, value: str | None) -> str | None:
        return None if value is None else require_known_architecture(value)


