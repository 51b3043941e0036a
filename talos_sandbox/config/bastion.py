"""bastion: the NAT and cache instance on its static ENI, and how the operator reaches it."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ..facts.instance_types import GRAVITON_FAMILIES, is_graviton
from ..facts.limits import MAX_VOLUME_GB
from .base import ConfigModel, Port, field_error
from .registry_caches import RegistryCachesConfig
from .wireguard import WireguardConfig

_SSH_PUBLIC_KEY = re.compile(
    r"(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)"
    r" [A-Za-z0-9+/]+={0,3}( [^\n\r]*)?"
)

def require_graviton(instance_type: str) -> str:
    if not is_graviton(instance_type):
        raise PydanticCustomError(
            "arm64_type",
            "'{value}' is not an arm64 (Graviton) instance type (the bastion's boot script installs arm64 releases). Accepted families: {families}",
            {"value": instance_type, "families": ", ".join(sorted(GRAVITON_FAMILIES))},
        )
    return instance_type


class BastionConfig(ConfigModel):
    private_ip: ipaddress.IPv4Address = Field(
        ipaddress.IPv4Address("10.10.0.100"), description="Static private IPv4 of the bastion's ENI."
    )
    instance_type: str = Field("t4g.small", description="Bastion instance type (arm64).")
    ipv4_egress: Literal["wireguard", "public_ipv4"] = Field(
        "wireguard",
        description="How the bastion reaches the IPv4 internet for the nodes: a WireGuard tunnel "
        "(no public IPv4) or an Elastic IP on its ENI.",
    )
    wireguard: WireguardConfig = Field(default_factory=WireguardConfig, description="Tunnel settings.")
    ssh_ipv6_cidrs: tuple[ipaddress.IPv6Network, ...] = Field(
        (), description="IPv6 ranges allowed to SSH to the bastion. Empty: no SSH, use Session Manager."
    )
    ssh_public_keys: tuple[str, ...] = Field(
        (),
        description="OpenSSH public keys written to ec2-user's authorized_keys at boot (public keys are "
        "not secrets). Empty: reach the bastion with EC2 Instance Connect or Session Manager.",
    )
    root_volume_gb: int = Field(8, ge=8, le=MAX_VOLUME_GB, description="Bastion root volume (gp3) in GB.")
    nat_tcp_ports: tuple[Port, ...] = Field(
        (443,),
        description="TCP ports the bastion forwards from the nodes to the IPv4 internet (GitHub, GHCR and "
        "the package repositories are all HTTPS).",
    )
    nat_udp_ports: tuple[Port, ...] = Field(
        (123,), description="UDP ports the bastion forwards from the nodes to the IPv4 internet."
    )
    registry_caches: RegistryCachesConfig = Field(
        default_factory=RegistryCachesConfig,
        description="Pull-through registry caches on the bastion, one port per upstream registry.",
    )

    @field_validator("instance_type")
    @classmethod
    def _arm64(cls, value: str) -> str:
        return require_graviton(value)

    @field_validator("ssh_public_keys")
    @classmethod
    def _public_keys(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for key in value:
            if not _SSH_PUBLIC_KEY.fullmatch(key):
                raise PydanticCustomError(
                    "ssh_key",
                    "'{value}' is not one OpenSSH public key line (type, base64 key, optional comment)",
                    {"value": key},
                )
        return value

    @model_validator(mode="after")
    def _cache_ports_free(self) -> BastionConfig:
        # The nodes reach both on the bastion's group: one port cannot be a NAT rule and a cache rule.
        for registry, upstream in self.registry_caches.active.items():
            if upstream.port in self.nat_tcp_ports:
                raise field_error(
                    f"bastion.registry_caches.upstreams.{registry}.port",
                    f"{upstream.port} is also in bastion.nat_tcp_ports",
                )
        return self


