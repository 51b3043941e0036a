"""The sandbox config: typed models, validation and loading, all in one place.

Key names are a public contract (users' YAML files depend on them). Each default is
stated once, on its field, with a description; `examples/cozy-demo.yaml` spells the
embedded default out and a test keeps the two equal.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .cron import CronError, WeeklyCron
from .errors import SandboxError
from .instance_types import GRAVITON_FAMILIES, is_graviton

# Talos needs room for its EPHEMERAL partition and image layers; below this it fails
# to install (Talos' system requirements name 10 GiB as the minimum).
MIN_ROOT_VOLUME_GB = 10
MAX_ROOT_VOLUME_GB = 16384  # gp3 limit
# The official Talos AMIs: published by Sidero Labs' account (siderolabs/contrib:
# examples/terraform/aws/main.tf, `owners = ["540036508848"] # Sidero Labs`), one per
# release, region and architecture, named talos-<release>-<region>-<arch>, with a 20 GiB
# root snapshot (siderolabs/talos: hack/cloud-image-uploader/aws.go); EC2 cannot launch
# them on a smaller root volume.
SIDERO_LABS_AMI_OWNER = "540036508848"
TALOS_AMI_SNAPSHOT_GB = 20


def official_talos_ami_name(release: str, region: str) -> str:
    return f"talos-{release}-{region}-arm64"


_HOSTNAME_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SSH_PUBLIC_KEY = re.compile(
    r"(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)"
    r" [A-Za-z0-9+/]+={0,3}( [^\n\r]*)?"
)
_TALOS_RELEASE = re.compile(r"v\d+\.\d+\.\d+")


def field_error(field: str, problem: str) -> PydanticCustomError:
    """A validation error for a cross-field rule, reported at `field` (dotted path)."""
    return PydanticCustomError("sandbox_field", "{field}: {problem}", {"field": field, "problem": problem})


def release_tag(value: str, example: str) -> tuple[int, int, int]:
    """(major, minor, patch) of a release tag `vX.Y.Z`, for comparing versions."""
    match = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)", value)
    if not match:
        raise PydanticCustomError(
            "version", "'{value}' is not a release tag like {example}", {"value": value, "example": example}
        )
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


# --- network -------------------------------------------------------------------------


class FlowLogsConfig(_Model):
    enabled: bool = Field(True, description="VPC flow logs to CloudWatch Logs, encrypted with a KMS key.")
    retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653] = Field(
        365, description="Log group retention in days (a CloudWatch Logs allowed value)."
    )


class NetworkConfig(_Model):
    vpc_cidr: ipaddress.IPv4Network = Field(
        ipaddress.IPv4Network("10.10.0.0/16"), description="IPv4 CIDR of the VPC (/16 to /28)."
    )
    subnet_cidr: ipaddress.IPv4Network = Field(
        ipaddress.IPv4Network("10.10.0.0/24"), description="IPv4 CIDR of the one public subnet, inside vpc_cidr."
    )
    availability_zone: str | None = Field(
        None, description="AZ of the subnet, bastion ENI and nodes. Default: the region's `a` zone."
    )
    bastion_subnet_cidr: ipaddress.IPv4Network | None = Field(
        None,
        description="A second subnet, routed to the internet gateway, for the bastion alone. Required "
        "with bastion.ipv4_egress public_ipv4: one subnet cannot route 0.0.0.0/0 to the bastion and "
        "let the bastion itself reach the internet gateway.",
    )
    existing_vpc_id: str | None = Field(
        None, description="Adopt this VPC instead of creating one (needs existing_subnet_id too)."
    )
    existing_subnet_id: str | None = Field(None, description="Adopt this subnet (inside existing_vpc_id).")
    flow_logs: FlowLogsConfig = Field(default_factory=FlowLogsConfig, description="VPC flow logs.")
    s3_gateway_endpoint: bool = Field(True, description="A free S3 gateway endpoint on the subnet's route table.")

    @field_validator("vpc_cidr", "subnet_cidr", "bastion_subnet_cidr")
    @classmethod
    def _aws_prefix_length(cls, value: ipaddress.IPv4Network | None) -> ipaddress.IPv4Network | None:
        if value is not None and not 16 <= value.prefixlen <= 28:
            raise PydanticCustomError(
                "cidr_size", "{cidr} must have a prefix from /16 to /28 (AWS limit)", {"cidr": str(value)}
            )
        return value

    @field_validator("existing_vpc_id")
    @classmethod
    def _vpc_id(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"vpc-[0-9a-f]{8,17}", value):
            raise PydanticCustomError("vpc_id", "'{value}' is not a VPC id (vpc-...)", {"value": value})
        return value

    @field_validator("existing_subnet_id")
    @classmethod
    def _subnet_id(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"subnet-[0-9a-f]{8,17}", value):
            raise PydanticCustomError("subnet_id", "'{value}' is not a subnet id (subnet-...)", {"value": value})
        return value

    @model_validator(mode="after")
    def _subnet_in_vpc(self) -> NetworkConfig:
        if not self.subnet_cidr.subnet_of(self.vpc_cidr):
            raise field_error("network.subnet_cidr", f"{self.subnet_cidr} is not inside vpc_cidr {self.vpc_cidr}")
        if self.bastion_subnet_cidr is not None:
            if not self.bastion_subnet_cidr.subnet_of(self.vpc_cidr):
                raise field_error(
                    "network.bastion_subnet_cidr", f"{self.bastion_subnet_cidr} is not inside vpc_cidr {self.vpc_cidr}"
                )
            if self.bastion_subnet_cidr.overlaps(self.subnet_cidr):
                raise field_error(
                    "network.bastion_subnet_cidr", f"{self.bastion_subnet_cidr} overlaps subnet_cidr {self.subnet_cidr}"
                )
        if (self.existing_vpc_id is None) != (self.existing_subnet_id is None):
            raise field_error(
                "network.existing_subnet_id",
                "existing_vpc_id and existing_subnet_id go together: set both or neither",
            )
        return self

    @property
    def adopts_existing(self) -> bool:
        return self.existing_vpc_id is not None

    @property
    def bastion_subnet(self) -> ipaddress.IPv4Network:
        """Where the bastion's ENI lives: its own subnet if configured, else the nodes' subnet."""
        return self.bastion_subnet_cidr or self.subnet_cidr

    @property
    def router_ip(self) -> ipaddress.IPv4Address:
        """AWS's VPC router: the subnet base + 1."""
        return self.subnet_cidr.network_address + 1

    @property
    def dns_ip(self) -> ipaddress.IPv4Address:
        """The Amazon DNS resolver: the VPC base + 2."""
        return self.vpc_cidr.network_address + 2

    @staticmethod
    def reserved_ips(subnet: ipaddress.IPv4Network) -> tuple[ipaddress.IPv4Address, ...]:
        """The five addresses AWS keeps in every subnet: the first four and the last."""
        base = subnet.network_address
        return (base, base + 1, base + 2, base + 3, subnet.broadcast_address)


Port = Annotated[int, Field(ge=1, le=65535)]

# --- bastion -------------------------------------------------------------------------


class WireguardConfig(_Model):
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
        if value is not None and not re.fullmatch(r"/[A-Za-z0-9_.\-/]+", value):
            raise PydanticCustomError(
                "ssm_name", "'{value}' is not an SSM parameter path (/a/b)", {"value": value}
            )
        return value

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


class BastionConfig(_Model):
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
    root_volume_gb: int = Field(8, ge=8, le=MAX_ROOT_VOLUME_GB, description="Bastion root volume (gp3) in GB.")
    nat_tcp_ports: tuple[Port, ...] = Field(
        (443,),
        description="TCP ports the bastion forwards from the nodes to the IPv4 internet (GitHub, GHCR and "
        "the package repositories are all HTTPS).",
    )
    nat_udp_ports: tuple[Port, ...] = Field(
        (123,), description="UDP ports the bastion forwards from the nodes to the IPv4 internet."
    )

    @field_validator("instance_type")
    @classmethod
    def _arm64(cls, value: str) -> str:
        return _require_graviton(value)

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


# --- nodes ---------------------------------------------------------------------------


def _require_graviton(instance_type: str) -> str:
    if not is_graviton(instance_type):
        raise PydanticCustomError(
            "arm64_type",
            "'{value}' is not an arm64 (Graviton) instance type; the Talos images are arm64. "
            "Accepted families: {families}",
            {"value": instance_type, "families": ", ".join(sorted(GRAVITON_FAMILIES))},
        )
    return instance_type


RootVolumeGb = Annotated[
    int,
    Field(
        ge=MIN_ROOT_VOLUME_GB,
        le=MAX_ROOT_VOLUME_GB,
        description=f"Root volume (encrypted gp3) in GB; Talos needs at least {MIN_ROOT_VOLUME_GB}.",
    ),
]


class NodeDefaults(_Model):
    instance_type: str = Field("t4g.medium", description="Instance type of nodes that name none.")
    root_volume_gb: RootVolumeGb = 50
    assign_ipv6: bool = Field(False, description="Give each node an IPv6 address (off: IPv4 only, through the bastion).")

    @field_validator("instance_type")
    @classmethod
    def _arm64(cls, value: str) -> str:
        return _require_graviton(value)


class NodeConfig(_Model):
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
    def _arm64(cls, value: str | None) -> str | None:
        return None if value is None else _require_graviton(value)


# --- talos ---------------------------------------------------------------------------

_IMAGE_BASE = "ghcr.io/urmanac/cozystack-assets/talos"


class TalosImages(_Model):
    gateway: str = Field(
        f"{_IMAGE_BASE}/cozystack-spin-tailscale/talos:v1.11.6",
        description="Installer image for gateway nodes (arm64).",
    )
    compute: str = Field(
        f"{_IMAGE_BASE}/cozystack-spin-only/talos:v1.11.6",
        description="Installer image for compute nodes (arm64).",
    )

    @field_validator("gateway", "compute")
    @classmethod
    def _image_reference(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9.\-]+(:[0-9]+)?/[a-z0-9._/\-]+(:[A-Za-z0-9._\-]+)?(@sha256:[0-9a-f]{64})?", value):
            raise PydanticCustomError("image", "'{value}' is not an OCI image reference", {"value": value})
        return value


def image_tag(image: str) -> str | None:
    """The `vX.Y.Z` tag of an image reference, or None (no tag, or another kind of tag)."""
    name = image.split("@")[0].rpartition("/")[2]
    tag = name.partition(":")[2]
    return tag if _TALOS_RELEASE.fullmatch(tag) else None


class TalosConfig(_Model):
    install_method: Literal["boot-to-talos", "talos-ami"] = Field(
        "boot-to-talos",
        description="How nodes get Talos: boot-to-talos (boot Amazon Linux 2023 and install the role image "
        "over it) or talos-ami (launch the official Talos arm64 AMI, then `talosctl upgrade` to the role image).",
    )
    version: str | None = Field(
        None,
        description="Talos release of the official AMI (talos-ami only). Default: the tag the two images share.",
    )
    ami_id: str | None = Field(
        None,
        description="Launch the nodes from this AMI instead of looking up the official one (talos-ami only; "
        "AMI ids are per region).",
    )
    boot_to_talos_version: str = Field("v0.7.1", description="boot-to-talos release (v0.7.1 or later on arm64).")
    boot_to_talos_sha256: str | None = Field(
        None,
        description="sha256 of boot-to-talos-linux-arm64.tar.gz for that release; the node refuses "
        "any other download. Unset: the node checks only the release's own checksums file (a lint "
        "warning), because we could not verify the real digest offline.",
    )
    images: TalosImages = Field(default_factory=TalosImages, description="Installer images per node role.")
    install_disk: str = Field("/dev/nvme0n1", description="Disk Talos installs to (EBS root on Nitro is NVMe).")

    @field_validator("boot_to_talos_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if release_tag(value, example="v0.7.1") < (0, 7, 1):
            raise PydanticCustomError(
                "version",
                "{value} is too old for arm64: kexec before v0.7.0 used x86-64 syscalls and v0.7.1 "
                "fixed the UEFI boot entry; use v0.7.1 or later",
                {"value": value},
            )
        return value

    @field_validator("boot_to_talos_sha256")
    @classmethod
    def _sha256(cls, value: str | None) -> str | None:
        if value is not None and not _SHA256.match(value):
            raise PydanticCustomError("sha256", "'{value}' is not 64 lowercase hex digits", {"value": value})
        return value

    @field_validator("install_disk")
    @classmethod
    def _disk(cls, value: str) -> str:
        if not re.fullmatch(r"/dev/[a-z0-9]+", value):
            raise PydanticCustomError("disk", "'{value}' is not a whole-disk device like /dev/nvme0n1", {"value": value})
        return value

    @field_validator("version")
    @classmethod
    def _talos_release(cls, value: str | None) -> str | None:
        if value is not None and not _TALOS_RELEASE.fullmatch(value):
            raise PydanticCustomError("version", "'{value}' is not a Talos release like v1.11.6", {"value": value})
        return value

    @field_validator("ami_id")
    @classmethod
    def _ami_id(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"ami-([0-9a-f]{8}|[0-9a-f]{17})", value):
            raise PydanticCustomError("ami_id", "'{value}' is not an AMI id (ami-...)", {"value": value})
        return value

    @model_validator(mode="after")
    def _method_keys(self) -> TalosConfig:
        if self.install_method == "boot-to-talos":
            for key in ("version", "ami_id"):
                if getattr(self, key) is not None:
                    raise field_error(f"talos.{key}", "only used with talos.install_method talos-ami")
        elif self.ami_id is None and self.ami_version is None:
            raise field_error(
                "talos.version",
                "required with install_method talos-ami when talos.images.gateway and .compute do not share "
                "one release tag (vX.Y.Z) to take it from",
            )
        return self

    @property
    def images_version(self) -> str | None:
        """The release tag both role images carry, if they carry the same one."""
        tags = {image_tag(self.images.gateway), image_tag(self.images.compute)}
        return tags.pop() if len(tags) == 1 else None

    @property
    def ami_version(self) -> str | None:
        """The Talos release of the official AMI the nodes launch from (talos-ami)."""
        return self.version or self.images_version


# --- load balancer addresses ---------------------------------------------------------


class LoadBalancerConfig(_Model):
    mode: Literal["metallb-l2", "eni-secondary-ips", "none"] = Field(
        "metallb-l2",
        description="How service addresses reach the cluster. metallb-l2 is the design's and does not work "
        "on a VPC (lint TSL001); eni-secondary-ips assigns `addresses` as secondary private IPs on the "
        "gateway node's interface, so the VPC delivers their traffic.",
    )
    addresses: tuple[ipaddress.IPv4Address, ...] = Field(
        (), description="Service addresses (in the nodes' subnet) for MetalLB / CozyStack."
    )


# --- cozystack ----------------------------------------------------------------------

# CozyStack v0.38.0 to v0.41.x ship Talos v1.11 (cozystack/cozystack:
# packages/core/talos/images/talos/profiles/installer.yaml at each tag); v1.0 and later
# ship Talos v1.12 and install through an operator instead of cozystack-installer.yaml.
COZYSTACK_FOR_TALOS_1_11 = ((0, 38, 0), (1, 0, 0))
_DNS_NAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
# kube-apiserver refuses an IPv4 service range wider than /12 (20 bits of host).
MAX_SERVICE_CIDR_PREFIX = 12


class CozystackConfig(_Model):
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


# --- schedule ------------------------------------------------------------------------


class ScheduleConfig(_Model):
    start: str = Field(description="Weekly cron (5 fields, one time of day), e.g. `0 8 * * MON-FRI`.")
    stop: str = Field(description="Weekly cron for the stop, e.g. `0 13 * * MON-FRI`.")
    timezone: str = Field("UTC", description="IANA time zone of both crons.")
    stagger_minutes: int = Field(
        10, ge=1, le=120, description="Nodes start this long after the bastion and stop this long before it."
    )
    nodes: bool = Field(True, description="Stop and start the nodes too (false: only the bastion).")

    @field_validator("start", "stop")
    @classmethod
    def _cron(cls, value: str) -> str:
        try:
            WeeklyCron.parse(value)
        except CronError as exc:
            raise PydanticCustomError("cron", "{problem}", {"problem": str(exc), "value": value}) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise PydanticCustomError("timezone", "'{value}' is not an IANA time zone", {"value": value}) from None
        return value

    @property
    def bastion_start(self) -> WeeklyCron:
        return WeeklyCron.parse(self.start)

    @property
    def bastion_stop(self) -> WeeklyCron:
        return WeeklyCron.parse(self.stop)

    @property
    def nodes_start(self) -> WeeklyCron:
        return self.bastion_start.shifted(self.stagger_minutes)

    @property
    def nodes_stop(self) -> WeeklyCron:
        return self.bastion_stop.shifted(-self.stagger_minutes)


# --- state backend -------------------------------------------------------------------


class BackendConfig(_Model):
    s3_bucket: str | None = Field(None, description="S3 bucket for state. Default: local state file.")
    s3_key: str | None = Field(None, description="State object key. Default: talos-sandbox/<name>.tfstate.")
    s3_region: str | None = Field(None, description="Region of the bucket. Default: the sandbox region.")
    dynamodb_table: str | None = Field(
        None, description="Lock with this DynamoDB table instead of S3's native lock file."
    )
    local_path: str = Field("terraform.tfstate", description="Local state path, relative to the stack folder.")

    @field_validator("local_path")
    @classmethod
    def _relative(cls, value: str) -> str:
        if Path(value).is_absolute():
            raise PydanticCustomError("path", "'{value}' must be relative to the stack folder", {"value": value})
        return value


# --- the whole sandbox ---------------------------------------------------------------


class SandboxConfig(_Model):
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
        if not re.fullmatch(r"[a-z]{2}(-gov)?-[a-z]+-\d", value):
            raise PydanticCustomError("region", "'{value}' is not an AWS region like eu-west-1", {"value": value})
        return value

    @model_validator(mode="after")
    def _addresses(self) -> SandboxConfig:
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
        return next((node for node in self.nodes if node.machine_type == "controlplane"), self.nodes[0])

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
    def talos_ami_name(self) -> str | None:
        """The name of the official Talos arm64 AMI for talos.ami_version in this region."""
        release = self.talos.ami_version
        return official_talos_ami_name(release, self.region) if release else None

    def node_image(self, node: NodeConfig) -> str:
        return getattr(self.talos.images, node.role)


# The design's three nodes: the only part of the embedded default with no field default.
DEFAULT_NODES: tuple[dict[str, str], ...] = (
    {"name": "talos-gateway-1", "private_ip": "10.10.0.101", "role": "gateway"},
    {"name": "talos-compute-2", "private_ip": "10.10.0.102", "role": "compute"},
    {"name": "talos-compute-3", "private_ip": "10.10.0.103", "role": "compute"},
)


def default_config() -> SandboxConfig:
    """The design's sandbox (`examples/cozy-demo.yaml` spells it out)."""
    return SandboxConfig.model_validate({"nodes": DEFAULT_NODES})


def parse_config(document: Any, source: str = "config") -> SandboxConfig:
    """Validate an already-parsed YAML document; errors name the field and the bad value."""
    if not isinstance(document, dict):
        raise SandboxError(f"{source}: the top level must be a mapping of keys, got {type(document).__name__}")
    try:
        return SandboxConfig.model_validate(document)
    except ValidationError as exc:
        raise SandboxError(_describe(exc, source)) from None


def load_config(path: str | Path | None) -> SandboxConfig:
    """Read and validate a YAML config file; None means the embedded default."""
    if path is None:
        return default_config()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SandboxError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SandboxError(f"{path}: cannot read config file: {exc}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SandboxError(f"{path}: {_describe_yaml(exc)}") from None
    return parse_config(document, str(path))


def _describe_yaml(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return f"invalid YAML: {problem}"
    return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _location(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _describe(exc: ValidationError, source: str) -> str:
    lines = []
    for error in exc.errors(include_url=False):
        location = _location(error["loc"])
        if error["type"] == "sandbox_field":
            lines.append(error["msg"])
        elif error["type"] == "extra_forbidden":
            lines.append(f"{location}: unknown key")
        elif error["type"] == "missing":
            lines.append(f"{location}: required key is missing")
        else:
            # Our own rules quote the value in their message; pydantic's built-in ones do not.
            quotes_value = "value" in error.get("ctx", {})
            shown = error.get("input")
            suffix = "" if quotes_value or isinstance(shown, (dict, list)) else f" (got {shown!r})"
            lines.append(f"{location or 'config'}: {error['msg']}{suffix}")
    return f"{source}: invalid config:\n  " + "\n  ".join(lines)


def field_line(text: str, field: str) -> int | None:
    """The 1-based line in a YAML document where `field` (`bastion.ssh_ipv6_cidrs[0]`) is
    set, or where its nearest configured parent is; None when not even its top key is."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", field):
        if isinstance(node, yaml.MappingNode) and not part.startswith("["):
            match = next(((key, value) for key, value in node.value if key.value == part), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and part.startswith("["):
            index = int(part[1:-1])
            if index >= len(node.value):
                break
            node = node.value[index]
            line = node.start_mark.line + 1
        else:
            break
    return line
