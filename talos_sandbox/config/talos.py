"""talos: how nodes get Talos (boot-to-talos or the official AMI) and which images they install."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ..facts.releases import SUPPORTED_TALOS_MINORS, talos_minor
from .base import TALOS_RELEASE, ConfigModel, field_error, release_tag, sha256_digest


class TalosImages(ConfigModel):
    gateway: str | None = Field(
        None,
        description="Installer image for gateway nodes. Default: the release matrix's image for "
        "cozystack.version and the nodes' architecture (by digest where one is known).",
    )
    compute: str | None = Field(None, description="Installer image for compute nodes. Default: as for gateway.")

    @field_validator("gateway", "compute")
    @classmethod
    def _image_reference(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z0-9.\-]+(:[0-9]+)?/[a-z0-9._/\-]+(:[A-Za-z0-9._\-]+)?(@sha256:[0-9a-f]{64})?", value):
            raise PydanticCustomError("image", "'{value}' is not an OCI image reference", {"value": value})
        return value


def image_tag(image: str) -> str | None:
    """The `vX.Y.Z` tag of an image reference, or None (no tag, or another kind of tag)."""
    name = image.split("@")[0].rpartition("/")[2]
    tag = name.partition(":")[2]
    return tag if TALOS_RELEASE.fullmatch(tag) else None


class TalosConfig(ConfigModel):
    install_method: Literal["boot-to-talos", "talos-ami"] = Field(
        "boot-to-talos",
        description="How nodes get Talos: boot-to-talos (boot Amazon Linux 2023 and install the role image "
        "over it) or talos-ami (launch the official Talos AMI, then `talosctl upgrade` to the role image).",
    )
    version: str | None = Field(
        None,
        description="Talos release the nodes run: picks the machine-config form (v1.11, v1.12, v1.13), the "
        "pinned talosctl and kubectl, and the official AMI (talos-ami). Default: the release the images of "
        "cozystack.version are built on, or the tag both configured images share.",
    )
    ami_id: str | None = Field(
        None,
        description="Launch the nodes from this AMI instead of looking up the official one (talos-ami only; "
        "AMI ids are per region).",
    )
    boot_to_talos_version: str = Field("v0.7.1", description="boot-to-talos release (v0.7.1 or later on arm64).")
    boot_to_talos_sha256: str | None = Field(
        None,
        description="sha256 of boot-to-talos-linux-<arch>.tar.gz (the nodes' architecture) for that release; "
        "the node refuses any other download. Unset: the node checks only the release's own checksums file (a lint "
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
        return sha256_digest(value)

    @field_validator("install_disk")
    @classmethod
    def _disk(cls, value: str) -> str:
        if not re.fullmatch(r"/dev/[a-z0-9]+", value):
            raise PydanticCustomError("disk", "'{value}' is not a whole-disk device like /dev/nvme0n1", {"value": value})
        return value

    @field_validator("version")
    @classmethod
    def _talos_release(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not TALOS_RELEASE.fullmatch(value):
            raise PydanticCustomError("version", "'{value}' is not a Talos release like v1.13.5", {"value": value})
        if talos_minor(value) not in SUPPORTED_TALOS_MINORS:
            raise PydanticCustomError(
                "version", "{value}: talos-sandbox writes machine configs for Talos {minors} only",
                {"value": value, "minors": ", ".join(SUPPORTED_TALOS_MINORS)},
            )
        return value

    @field_validator("ami_id")
    @classmethod
    def _ami_id(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"ami-([0-9a-f]{8}|[0-9a-f]{17})", value):
            raise PydanticCustomError("ami_id", "'{value}' is not an AMI id (ami-...)", {"value": value})
        return value

    @model_validator(mode="after")
    def _method_keys(self) -> TalosConfig:
        if self.install_method == "boot-to-talos" and self.ami_id is not None:
            raise field_error("talos.ami_id", "only used with talos.install_method talos-ami")
        return self

    def images_version(self, roles: set[str]) -> str | None:
        """The release tag the configured images of these node roles carry, if each of
        them is set and they carry the same one (a role no node has does not count)."""
        images = [getattr(self.images, role) for role in sorted(roles)]
        if not images or any(image is None for image in images):
            return None
        tags = {image_tag(image) for image in images}
        return tags.pop() if len(tags) == 1 else None


