"""bastion.wireguard: the tunnel that carries the bastion's IPv4 when it has no public IPv4."""

from __future__ import annotations

import ipaddress
import re

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .base import ConfigModel, field_error, ssm_parameter_name



class WireguardConfig(ConfigModel):
    peer_endpoint: str | None = Field(
        None, description="host:port of the WireGuard peer, reached over IPv6 (e.g. `[2001:db8::1]:51820`)."
    )
    peer_public_key: str | None = Field(None, description="The peer's public key (base64, 44 characters).")
    tunnel_address: ipaddress.IPv4Interface | None = Field(
        None, description="The bastion's address inside the tunnel, e.g. 10.200.0.2/32."
    )
    allowed_ips: tuple[ipaddress.IPv4Network, ...] = Field(
        (ipaddress.IPv4Network("0.0.0.0/0"),), description="IPv4 ranges routed into the tunnel."
    )
    private_key_parameter: str | None = Field(
        None,
        description="SSM SecureString holding the bastion's private key, read at boot. "
        "Default: /<name>/wireguard/private-key.",
    )
    mtu: int = Field(
        1420,
        ge=1280,
        le=1420,
        description="Tunnel MTU. The tunnel leaves through the internet gateway (1500 bytes at most) "
        "over IPv6 (80 bytes of WireGuard overhead); lower it if the path to the peer is narrower.",
    )

    @field_validator("peer_endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}", value):
            raise PydanticCustomError(
                "endpoint", "'{value}' is not host:port or [ipv6]:port", {"value": value}
            )
        return value

    @field_validator("peer_public_key")
    @classmethod
    def _public_key(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=", value):
            raise PydanticCustomError("wg_key", "'{value}' is not a WireGuard public key", {"value": value})
        return value

    @field_validator("private_key_parameter")
    @classmethod
    def _parameter_name(cls, value: str | None) -> str | None:
        return ssm_parameter_name(value)

    @model_validator(mode="after")
    def _complete_peer(self) -> WireguardConfig:
        if self.peer_endpoint is not None:
            for key in ("peer_public_key", "tunnel_address"):
                if getattr(self, key) is None:
                    raise field_error(f"bastion.wireguard.{key}", "required when peer_endpoint is set")
        return self

    @property
    def has_peer(self) -> bool:
        return self.peer_endpoint is not None

    @property
    def peer_port(self) -> int | None:
        return int(self.peer_endpoint.rsplit(":", 1)[1]) if self.peer_endpoint else None


