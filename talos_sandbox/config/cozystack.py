"""cozystack: the CozyStack release, bundle and cluster address ranges."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ..facts.limits import MAX_SERVICE_CIDR_PREFIX
from ..facts.releases import COZYSTACK_BUNDLES, DEFAULT_COZYSTACK, OLDEST_COZYSTACK
from .base import ConfigModel, field_error, release_tag

_DNS_NAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


class CozystackConfig(ConfigModel):
    enabled: bool = Field(
        True,
        description="Write CozyStack's Talos patches (talos/cozystack*.yaml) and its install steps in the runbook.",
    )
    version: str = Field(
        DEFAULT_COZYSTACK,
        description="CozyStack release; picks the Talos release, the images and the install (v0: manifest and "
        "ConfigMap; v1: the cozy-installer Helm chart and a Package) from the release matrix.",
    )
    bundle_name: Literal["paas-full", "distro-full", "isp-full", "isp-full-generic", "isp-hosted"] | None = Field(
        None,
        description="CozyStack bundle (v0: ConfigMap bundle-name, paas-full or distro-full; v1: the platform "
        "Package's variant, isp-full, isp-full-generic, isp-hosted or distro-full). Default: paas-full on v0, "
        "isp-full on v1.",
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
    chart_sha256: str | None = Field(
        None,
        pattern=r"^[0-9a-f]{64}$",
        description="sha256 of CozyStack v1's cozy-installer chart archive (the .tgz `helm pull` writes), "
        "which the bastion checks before installing it. Default: the release matrix's, where it records one.",
    )
    root_host: str | None = Field(
        None,
        description="Domain of CozyStack's services (ConfigMap root-host). Default: <address>.nip.io, the "
        "address being the first load-balancer address or else the first control plane's.",
    )

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        tag = release_tag(value, example=DEFAULT_COZYSTACK)
        if tag < OLDEST_COZYSTACK:
            raise PydanticCustomError(
                "version",
                "{value} is older than v0.38.0, the first CozyStack release on Talos v1.11 (the oldest Talos "
                "talos-sandbox writes configs for)",
                {"value": value},
            )
        if tag[0] not in COZYSTACK_BUNDLES:
            raise PydanticCustomError(
                "version",
                "{value}: talos-sandbox knows how to install CozyStack {majors} only",
                {"value": value, "majors": " and ".join(f"v{major}.x" for major in sorted(COZYSTACK_BUNDLES))},
            )
        return value

    @model_validator(mode="after")
    def _bundle_of_major(self) -> CozystackConfig:
        if self.bundle_name is not None and self.bundle_name not in COZYSTACK_BUNDLES[self.major]:
            raise field_error(
                "cozystack.bundle_name",
                f"{self.bundle_name} is not a bundle of CozyStack {self.major}.x: use {', '.join(COZYSTACK_BUNDLES[self.major])}",
            )
        return self

    @property
    def major(self) -> int:
        return release_tag(self.version, example=DEFAULT_COZYSTACK)[0]

    @property
    def bundle(self) -> str:
        return self.bundle_name or COZYSTACK_BUNDLES[self.major][0]

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


