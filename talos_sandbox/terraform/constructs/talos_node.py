"""TalosNode: one EC2 instance that becomes a Talos node, by one of two install methods.

boot-to-talos: the instance boots Amazon Linux, whose user-data installs the role
image over it. talos-ami: it boots the official Talos AMI, with no user-data, straight
into maintenance mode (the runbook then upgrades it to the role image).

No Auto Scaling group: nodes are launched explicitly at fixed addresses. The instance
depends on the route through the bastion (the install downloads from GitHub and GHCR,
which are IPv4 only). User-data runs once, at first boot, so a change to it replaces
the instance (`user_data_replace_on_change`); a newer AMI does not (`ignore_changes =
[ami]`), because after the first boot the disk holds Talos, which is upgraded in place,
not relaunched. Switching the install method replaces the node through the stack's
`terraform_data` holding the method (`replace_triggered_by`): the AMI change is ignored,
and dropping user-data does not trip `user_data_replace_on_change` (planned in place,
measured on moto). The node's Talos machine-config patch is a document, not a resource:
documents/talos_node_patch.py renders it and the stack writes it beside itself.

The LINSTOR data volume (`data_volume_gb`) is an encrypted gp3 volume of its own, attached
as /dev/sdf by an attachment that Terraform makes once the instance runs, not in the
launch's block device mapping: Amazon Linux has numbered its disks by then, so the root
stays /dev/nvme0n1, the disk boot-to-talos installs to (with two volumes at launch, the
NVMe driver may number them either way: AWS EBS User Guide). Talos finds the volume by
its model, not by a name (documents/talos_storage.py). The attachment stops the node
before it detaches, so a destroy or a replaced node never pulls the disk out from under
ZFS; the volume itself outlives a replaced instance.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from constructs import Construct

from .. import bindings as tf
from ...documents.render import render
from .naming import name_tag

INTERFACE_NAME = "eth0"  # with net.ifnames=0 on the kernel command line
# The installer unit tries again this often until the bastion's NAT is up, however long.
INSTALL_RETRY_SECONDS = 20
# RAM for boot-to-talos and its download (a tmpfs uses only what is written to it).
INSTALLER_TMPFS_MIB = 512


@dataclass(frozen=True)
class TalosNodeProps:
    name: str
    """Prefix of every resource name."""
    hostname: str
    role: str
    private_ip: ipaddress.IPv4Address
    subnet_cidr: ipaddress.IPv4Network
    router_ip: ipaddress.IPv4Address
    dns_ip: ipaddress.IPv4Address
    instance_type: str
    root_volume_gb: int
    assign_ipv6: bool
    image: str
    install_disk: str
    boot_to_talos_version: str
    boot_to_talos_asset: str
    """The release archive for the node's architecture."""
    boot_to_talos_sha256: str | None
    subnet_id: str
    security_group_id: str
    secondary_private_ips: tuple[str, ...]
    """Load-balancer addresses this node's interface carries (eni-secondary-ips mode)."""
    instance_profile_name: str
    """Shared by all nodes; it carries no permissions (the first boot calls no AWS API)."""
    ami_id: str
    """Amazon Linux 2023 (boot-to-talos) or the Talos AMI (talos-ami)."""
    install_method: str
    """boot-to-talos (user-data installs Talos) or talos-ami (no user-data)."""
    replace_triggered_by: tuple[str, ...]
    """Bare Terraform addresses whose change replaces the node: the install method's holder."""
    depends_on: tuple[tf.ITerraformDependable, ...]
    """What must exist before first boot: the IPv4 route through the bastion."""
    availability_zone: str
    """The subnet's AZ: the data volume must be in the instance's."""
    data_volume_gb: int | None
    """Size of the LINSTOR data volume; None: no volume."""
    data_volume_device: str
    """The attachment's device name (EC2's; Talos selects the disk by model)."""


def kernel_cmdline(props: TalosNodeProps) -> str:
    return render(
        "kernel-cmdline.j2",
        ip=props.private_ip,
        router=props.router_ip,
        netmask=props.subnet_cidr.netmask,
        hostname=props.hostname,
        device=INTERFACE_NAME,
        dns=props.dns_ip,
    ).strip()


def user_data(props: TalosNodeProps) -> str:
    return render(
        "node-user-data.sh.j2",
        node_name=props.hostname,
        role=props.role,
        version=props.boot_to_talos_version,
        asset=props.boot_to_talos_asset,
        sha256=props.boot_to_talos_sha256,
        image=props.image,
        disk=props.install_disk,
        kernel_args=kernel_cmdline(props).split(),
        retry_seconds=INSTALL_RETRY_SECONDS,
        tmpfs_mib=INSTALLER_TMPFS_MIB,
    )


class TalosNode(Construct):
    instance: tf.Instance
    data_volume: tf.EbsVolume | None = None

    def __init__(self, scope: Construct, construct_id: str, props: TalosNodeProps) -> None:
        super().__init__(scope, construct_id)
        tags = {**name_tag(props.name, props.hostname), "Role": props.role}
        self.instance = tf.Instance(
            self,
            "instance",
            ami=props.ami_id,
            instance_type=props.instance_type,
            subnet_id=props.subnet_id,
            private_ip=str(props.private_ip),
            secondary_private_ips=list(props.secondary_private_ips) or None,
            associate_public_ip_address=False,
            ipv6_address_count=1 if props.assign_ipv6 else 0,
            vpc_security_group_ids=[props.security_group_id],
            iam_instance_profile=props.instance_profile_name,
            ebs_optimized=True,
            monitoring=True,
            user_data=user_data(props) if props.install_method == "boot-to-talos" else None,
            user_data_replace_on_change=True,
            metadata_options=tf.InstanceMetadataOptions(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
            ),
            root_block_device=tf.InstanceRootBlockDevice(
                volume_size=props.root_volume_gb,
                volume_type="gp3",
                encrypted=True,
                delete_on_termination=True,
                tags=tags,
            ),
            lifecycle=tf.TerraformResourceLifecycle(
                ignore_changes=["ami"],
                replace_triggered_by=list(props.replace_triggered_by),
            ),
            depends_on=list(props.depends_on),
            tags=tags,
        )
        if props.data_volume_gb is not None:
            self._data_volume(props, {**name_tag(props.name, f"{props.hostname}-data"), "Role": "linstor-data"})

    def _data_volume(self, props: TalosNodeProps, tags: dict[str, str]) -> None:
        self.data_volume = tf.EbsVolume(
            self,
            "data-volume",
            availability_zone=props.availability_zone,
            size=props.data_volume_gb,
            type="gp3",
            encrypted=True,  # with the account's aws/ebs key, like the root volume
            tags=tags,
        )
        tf.VolumeAttachment(
            self,
            "data-attachment",
            device_name=props.data_volume_device,
            instance_id=self.instance.id,
            volume_id=self.data_volume.id,
            stop_instance_before_detaching=True,
        )
