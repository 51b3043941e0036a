"""bastion.registry_caches: the pull-through caches on the bastion, one port per upstream."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ..facts.limits import MAX_VOLUME_GB
from .base import ConfigModel, field_error, sha256_digest, ssm_parameter_name

# The bastion's own listeners that a cache may not take: SSH, and WireGuard's usual port.
_BASTION_RESERVED_PORTS = {22: "SSH", 51820: "WireGuard"}
_REGISTRY_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
# The registry's own host differs from its name in image references only for Docker Hub.
_REGISTRY_API_HOSTS = {"docker.io": "registry-1.docker.io"}


class RegistryUpstream(ConfigModel):
    port: Annotated[int, Field(ge=1024, le=65535)] = Field(
        description="TCP port of this cache on the bastion (the registry runs unprivileged, so 1024 or above)."
    )
    remote_url: str | None = Field(
        None,
        description="The upstream registry's API URL. Default: https://<registry>, and "
        "https://registry-1.docker.io for docker.io.",
    )
    credentials_parameter: str | None = Field(
        None,
        description="SSM SecureString holding `username:password` (or a token) for the upstream, read "
        "at boot like the WireGuard key; never in user-data or state. Default: anonymous pulls.",
    )

    @field_validator("remote_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?", value):
            raise PydanticCustomError(
                "url", "'{value}' is not a registry URL like https://registry.example.com", {"value": value}
            )
        return value

    @field_validator("credentials_parameter")
    @classmethod
    def _parameter_name(cls, value: str | None) -> str | None:
        return ssm_parameter_name(value)


def _default_upstreams() -> dict[str, RegistryUpstream]:
    # The design's ports (FACTS.md: what its owners ran on their bastion).
    ports = {"docker.io": 5050, "registry.k8s.io": 5051, "quay.io": 5052, "gcr.io": 5053, "ghcr.io": 5054}
    return {registry: RegistryUpstream(port=port) for registry, port in ports.items()}


class RegistryCachesConfig(ConfigModel):
    enabled: bool = Field(
        True,
        description="Run one pull-through cache per upstream on the bastion and point every node's "
        "Talos registry mirrors at them (fallback to the upstream stays on).",
    )
    upstreams: dict[str, RegistryUpstream] = Field(
        default_factory=_default_upstreams,
        description="Registry (as in image references: docker.io, ghcr.io, ...) -> its cache. Listing "
        "some replaces the whole default set.",
    )
    volume_gb: int = Field(
        20, ge=1, le=MAX_VOLUME_GB,
        description="Size of the persistent encrypted gp3 volume that holds all caches; it outlives "
        "the bastion (replacement, schedule).",
    )
    ttl_hours: int = Field(
        168, ge=1, le=8760,
        description="Cached images expire this long after they were pulled (the registry's proxy.ttl).",
    )
    registry_version: str = Field(
        "v3.1.1", description="CNCF distribution release installed on the bastion (v3 or later: proxy.ttl)."
    )
    registry_sha256: str | None = Field(
        None,
        description="sha256 of registry_<version>_linux_arm64.tar.gz; the bastion refuses any other "
        "download. Unset: it checks only the release's own .sha256 file.",
    )

    @field_validator("upstreams")
    @classmethod
    def _upstreams(cls, value: dict[str, RegistryUpstream]) -> dict[str, RegistryUpstream]:
        ports: dict[int, str] = {}
        for registry, upstream in value.items():
            if not _REGISTRY_HOST.match(registry):
                raise PydanticCustomError(
                    "registry", "'{value}' is not a registry host name like ghcr.io", {"value": registry}
                )
            if upstream.port in _BASTION_RESERVED_PORTS:
                raise PydanticCustomError(
                    "port",
                    "{registry}: port {port} is the bastion's {service} port",
                    {"registry": registry, "port": upstream.port, "service": _BASTION_RESERVED_PORTS[upstream.port]},
                )
            if upstream.port in ports:
                raise PydanticCustomError(
                    "port",
                    "{registry}: port {port} is already the cache of {other}",
                    {"registry": registry, "port": upstream.port, "other": ports[upstream.port]},
                )
            ports[upstream.port] = registry
        return value

    @model_validator(mode="after")
    def _something_to_cache(self) -> RegistryCachesConfig:
        if self.enabled and not self.upstreams:
            raise field_error("bastion.registry_caches.upstreams", "empty: list at least one, or set enabled: false")
        return self

    @field_validator("registry_version")
    @classmethod
    def _version(cls, value: str) -> str:
        match = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)", value)
        if not match:
            raise PydanticCustomError("version", "'{value}' is not a release tag like v3.1.1", {"value": value})
        if int(match.group(1)) < 3:
            raise PydanticCustomError(
                "version", "{value} is too old: proxy.ttl (the cache's expiry) needs v3 or later", {"value": value}
            )
        return value

    @field_validator("registry_sha256")
    @classmethod
    def _sha256(cls, value: str | None) -> str | None:
        return sha256_digest(value)

    @property
    def active(self) -> dict[str, RegistryUpstream]:
        """The caches that run: none when disabled."""
        return dict(sorted(self.upstreams.items())) if self.enabled else {}

    @staticmethod
    def remote_url(registry: str, upstream: RegistryUpstream) -> str:
        return upstream.remote_url or f"https://{_REGISTRY_API_HOSTS.get(registry, registry)}"


