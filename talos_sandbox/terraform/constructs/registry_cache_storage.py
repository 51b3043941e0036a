"""RegistryCacheStorage: the persistent EBS volume that holds the bastion's registry caches.

The bastion is an Auto Scaling group's instance: a replacement or the daily schedule
(desired 0) terminates it, and its root volume with it. The caches live on this
separate encrypted gp3 volume in the ENI's AZ instead, which the bastion's boot script
finds by its Name tag and attaches to itself through the EC2 API's dual-stack endpoint.
The permission to attach is scoped to this volume and to instances carrying the
bastion's Name tag (the pattern of aws-cdk-lib's `grantAttachVolumeByResourceTag`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constructs import Construct

from .. import bindings as tf
from ..policy_documents import statement
from .naming import AccountRef, name_tag


@dataclass(frozen=True)
class RegistryCacheStorageProps:
    name: str
    region: str
    availability_zone: str
    """The bastion ENI's AZ: a volume attaches only in its own."""
    size_gb: int
    account: AccountRef


class RegistryCacheStorage(Construct):
    volume: tf.EbsVolume
    volume_name: str
    """The Name tag the bastion looks the volume up by."""

    def __init__(self, scope: Construct, construct_id: str, props: RegistryCacheStorageProps) -> None:
        super().__init__(scope, construct_id)
        self._props = props
        self.volume_name = name_tag(props.name, "registry-cache")["Name"]
        self.volume = tf.EbsVolume(
            self,
            "volume",
            availability_zone=props.availability_zone,
            size=props.size_gb,
            type="gp3",
            encrypted=True,  # with the account's aws/ebs key: it holds public images only
            tags={"Name": self.volume_name},
        )

    def attach_statements(self, instance_name: str) -> list[dict[str, Any]]:
        """What the bastion's role needs to find this volume and attach it to itself."""
        props = self._props
        return [
            # DescribeVolumes has no resource-level permissions: it takes "*" or nothing.
            statement(["ec2:DescribeVolumes"], ["*"], sid="FindTheRegistryCacheVolume"),
            statement(["ec2:AttachVolume"], [self.volume.arn], sid="AttachTheRegistryCacheVolume"),
            statement(
                ["ec2:AttachVolume"],
                [props.account.arn("ec2", props.region, "instance/*")],
                sid="ToTheBastionOnly",
                condition={"StringEquals": {"ec2:ResourceTag/Name": instance_name}},
            ),
        ]
