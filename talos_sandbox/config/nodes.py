"""node_defaults and nodes: the Talos instances, their addresses, roles and sizes."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

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


class NodeDefaults(ConfigModel):
    instance_type: str = Field(
        "t4g.medium",
        description="Instance type of nodes that name none; arm64 (Graviton) or amd64 (x86_64), the same for all nodes.",
    )
    root_volume_gb: RootVolumeGb = 50
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


