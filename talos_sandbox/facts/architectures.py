"""What differs between arm64 (Graviton) and amd64 (x86_64) nodes, in one place.

Sources: the AL2023 public SSM parameters (`/aws/service/ami-amazon-linux-latest/`, AWS
"Query for the latest Amazon Linux AMI IDs"; the same tree moto ships); boot-to-talos'
release assets (cozystack/boot-to-talos: .goreleaser.yaml at v0.7.1, archives
`boot-to-talos-linux-<arch>.tar.gz`); the official Talos AMI names
(siderolabs/talos: hack/cloud-image-uploader/aws.go, `talos-<tag>-<region>-<arch>`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ArchName = Literal["arm64", "amd64"]


@dataclass(frozen=True)
class Architecture:
    name: ArchName
    """Go/OCI name, as in release assets and image manifests."""
    ec2_name: str
    """EC2's name for it (DescribeImages `Architecture`)."""
    al2023_parameter: str
    """SSM public parameter that resolves to the current Amazon Linux 2023 AMI."""
    boot_to_talos_asset: str
    """boot-to-talos release archive for this architecture."""


ARCHITECTURES: dict[str, Architecture] = {
    "arm64": Architecture(
        name="arm64",
        ec2_name="arm64",
        al2023_parameter="/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
        boot_to_talos_asset="boot-to-talos-linux-arm64.tar.gz",
    ),
    "amd64": Architecture(
        name="amd64",
        ec2_name="x86_64",
        al2023_parameter="/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
        boot_to_talos_asset="boot-to-talos-linux-amd64.tar.gz",
    ),
}

# The bastion's architecture: config.bastion accepts Graviton types only, and its boot
# scripts and the operator's tools on it are arm64 downloads.
BASTION_ARCH = "arm64"
