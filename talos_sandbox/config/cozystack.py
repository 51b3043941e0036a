"""cozystack: the CozyStack release, bundle and cluster address ranges."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ..facts.limits import MAX_SERVICE_CIDR_PREFIX
from ..facts.releases import COZYSTACK_FOR_TALOS_1_11
from .base import ConfigModel, field_error, release_tag

_DNS_NAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


class CozystackConfig(ConfigModel):
    enabled: bool = Field(
        True,
        description="Write CozyStack's Talos patches (talos/cozystack*.yaml) and its install steps in the runbook.",
    )
    version: str = Field(
        "v0.41.11",
        description="CozyStack release installed by the runbook; v0.38.0 to v0.41.x ship Talos v1.11, "
        "the images' version.",
    )
    bundle_name: Literal["paas-full", "distro-full"] = Field(
        "paas-full", description="CozyStack bundle for Talos nodes (ConfigMap bundle-name)."
    )
    cluster_domain: str = Field("cozy.local", description="Kubernetes cluster domain (Talos dnsDomain).")
    pod_cidr: ipaddress.IPv4Network = Field(
        ipaddress.IPv4Network("10.244.0.0/16"), description="Pod subnet (Talos podSubnets, ConfigMap ipv4-pod-cidr)."
    )
    service_cidr: ipaddress.IPv4Network = Field(
        ipaddress.IPv4Network("10.96.0.0/16"),
        description="Service subnet (Talos serviceSubnets, ConfigMap ipv4-svc-cidr).",
    )
    join_cidr: ipaddress.IPv4Network = Field(
        ipaddress.IPv4Network("100.64.0.0/16"),
        description="Kube-OVN's node-to-pod join subnet (ConfigMap ipv4-join-cidr).",
    )
    root_host: str | None = Field(
        None,
        description="Domain of CozyStack's services (ConfigMap root-host). Default: <address>.nip.io, the "
        "address being the first load-balancer address or else the first control plane's.",
    )

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        oldest, first_unfit = COZYSTACK_FOR_TALOS_1_11
        if not oldest <= release_tag(value, example="v0.41.11") < first_unfit:
            raise PydanticCustomError(
                "version",
                "{value} does not ship Talos v1.11 (the images' version): use v0.38.0 to v0.41.x; "
                "v1.0 and later ship Talos v1.12 and install differently",
                {"value": value},
            )
        return value

    @field_validator("cluster_domain", "root_host")
    @classmethod
    def _dns_name(cls, value: str | None) -> str | None:
        if value is not None and not _DNS_NAME.fullmatch(value):
            raise PydanticCustomError("dns_name", "'{value}' is not a lowercase DNS name", {"value": value})
        return value

    @field_validator("service_cidr")
    @classmethod
    def _service_range(cls, value: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
        if value.prefixlen < MAX_SERVICE_CIDR_PREFIX:
            raise PydanticCustomError(
                "cidr_size",
                "{cidr} is wider than /{limit}, which kube-apiserver refuses for services",
                {"cidr": str(value), "limit": MAX_SERVICE_CIDR_PREFIX},
            )
        return value

    @model_validator(mode="after")
    def _separate_ranges(self) -> CozystackConfig:
        ranges = self.cluster_ranges
        for index, (field, cidr) in enumerate(ranges):
            for other_field, other in ranges[:index]:
                if cidr.overlaps(other):
                    raise field_error(f"cozystack.{field}", f"{cidr} overlaps cozystack.{other_field} {other}")
        return self

    @property
    def cluster_ranges(self) -> list[tuple[str, ipaddress.IPv4Network]]:
        """The cluster's own address ranges, by key: none may overlap another or the VPC."""
        return [("pod_cidr", self.pod_cidr), ("service_cidr", self.service_cidr), ("join_cidr", self.join_cidr)]

    @property
    def pod_gateway(self) -> ipaddress.IPv4Address:
        """Kube-OVN's gateway in the pod subnet: its first address (ConfigMap ipv4-pod-gateway)."""
        return self.pod_cidr.network_address + 1


