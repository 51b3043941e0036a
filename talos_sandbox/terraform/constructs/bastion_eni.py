"""BastionEni: a static network interface and the one-instance Auto Scaling group that owns it.

How the instance owns the ENI: the launch template names the ENI as the primary
interface (device index 0), the pattern AWS documents for an Auto Scaling group with an
existing network interface. The ASG is pinned to the ENI's AZ with min = max = 1, so
a replacement first terminates the old instance (freeing the ENI, whose
delete_on_termination is false) and then launches the new one onto it. No boot-time
attach and no IAM permission to move ENIs are needed. The address, IPv6 address,
Elastic IP and the route to the ENI never change; the NAT is down from the old
instance's termination until the new one has run its boot script, typically 2-4
minutes.
"""

from __future__ import annotations

import base64
import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from constructs import Construct

from .. import bindings as tf
from ...config import RegistryCachesConfig, RegistryUpstream, WireguardConfig
from ..policy_documents import statement
from ...documents.render import TEMPLATES_DIR, render
from .naming import AccountRef, name_tag
from .registry_cache_storage import RegistryCacheStorage
from .service_role import ServiceRole, ServiceRoleProps

ROOT_DEVICE = "/dev/xvda"  # Amazon Linux 2023's root device name
# What an internet gateway carries at most (AWS: "Network maximum transmission unit (MTU)
# for your EC2 instance"); forwarded TCP is clamped to fit it, or the tunnel's MTU.
INTERNET_GATEWAY_MTU = 1500
IPV4_TCP_HEADERS = 40
# Kept out of the tunnel: instance metadata, Amazon Time Sync and the link-local resolver.
LINK_LOCAL = "169.254.0.0/16"
# Ahead of wg-quick's own rules, which take the priorities just below main's 32766.
OUTSIDE_TUNNEL_RULE_PRIORITY = 1000

# Where the registry caches' volume is mounted; each upstream has its folder there.
REGISTRY_CACHE_DIR = "/var/lib/registry-cache"
# The cluster unit's program, written onto the bastion as it is (not a template).
CLUSTER_PROGRAM: Path = TEMPLATES_DIR / "bastion-cluster.py"


def compressed_user_data(script: str) -> str:
    """base64 of the gzip-compressed script: cloud-init decompresses it, and EC2's 16 KiB
    limit applies to the compressed bytes. mtime 0 keeps the output byte-identical."""
    return base64.b64encode(gzip.compress(script.encode(), compresslevel=9, mtime=0)).decode()


def registry_cache_config(
    registry: str, upstream: RegistryUpstream, ttl_hours: int, listen_address: str, storage_root: str
) -> str:
    """One cache's registry config file, as the bastion writes it (tests run it too)."""
    return render(
        "registry-cache.yml.j2",
        registry=registry,
        port=upstream.port,
        remote_url=RegistryCachesConfig.remote_url(registry, upstream),
        ttl_hours=ttl_hours,
        listen_address=listen_address,
        storage_root=storage_root,
    )


@dataclass(frozen=True)
class BastionEniProps:
    name: str
    region: str
    availability_zone: str
    subnet_id: str
    subnet_cidr: str
    """The nodes' subnet, whose IPv4 traffic the bastion masquerades."""
    vpc_cidr: str
    private_ip: str
    security_group_id: str
    instance_type: str
    root_volume_gb: int
    ami_id: str
    ipv4_egress: str
    """`wireguard` or `public_ipv4`."""
    wireguard: WireguardConfig
    wireguard_key_parameter: str
    ssh_public_keys: tuple[str, ...]
    """Written to ec2-user's authorized_keys at boot."""
    s3_gateway_endpoint: bool
    """The subnet routes S3 to a gateway endpoint: the bastion keeps S3 out of the tunnel."""
    account: AccountRef
    tags: dict[str, str]
    """Tags written onto launched instances and volumes (provider default_tags do not reach them)."""
    registry_caches: RegistryCachesConfig
    registry_cache_storage: RegistryCacheStorage | None
    """The caches' volume; None when the caches are off."""
    cluster_plan: str | None = None
    """The bring-up's plan (cluster_plan_json); None: bring_up is off and no cluster unit runs."""
    cluster_status_parameter: str | None = None
    cluster_statements: tuple[dict[str, Any], ...] = ()
    """What the cluster unit may do (ClusterParameters.bastion_statements)."""


class BastionEni(Construct):
    network_interface: tf.NetworkInterface
    autoscaling_group: tf.AutoscalingGroup

    def __init__(self, scope: Construct, construct_id: str, props: BastionEniProps) -> None:
        super().__init__(scope, construct_id)
        self._props = props
        tags = {**props.tags, **name_tag(props.name, "bastion")}
        self._instance_name = tags["Name"]

        self.network_interface = tf.NetworkInterface(
            self,
            "eni",
            subnet_id=props.subnet_id,
            private_ips=[props.private_ip],
            ipv6_address_count=1,
            source_dest_check=False,  # it forwards the nodes' traffic
            security_groups=[props.security_group_id],
            description=f"{props.name} bastion: static NAT interface",
            tags=tags,
        )
        if props.ipv4_egress == "public_ipv4":
            self.elastic_ip = tf.Eip(
                self,
                "public-ipv4",
                domain="vpc",
                network_interface=self.network_interface.id,
                associate_with_private_ip=props.private_ip,
                tags=tags,
            )

        launch_template = tf.LaunchTemplate(
            self,
            "launch-template",
            name=f"{props.name}-bastion",
            description="talos-sandbox bastion (NAT)",
            image_id=props.ami_id,
            instance_type=props.instance_type,
            ebs_optimized="true",
            update_default_version=True,
            user_data=compressed_user_data(self._boot_script()),
            iam_instance_profile=tf.LaunchTemplateIamInstanceProfile(arn=self._instance_profile_arn()),
            metadata_options=tf.LaunchTemplateMetadataOptions(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
            ),
            monitoring=tf.LaunchTemplateMonitoring(enabled=True),
            block_device_mappings=[
                tf.LaunchTemplateBlockDeviceMappings(
                    device_name=ROOT_DEVICE,
                    ebs=tf.LaunchTemplateBlockDeviceMappingsEbs(
                        volume_size=props.root_volume_gb,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            network_interfaces=[
                tf.LaunchTemplateNetworkInterfaces(
                    device_index=0,
                    network_interface_id=self.network_interface.id,
                    delete_on_termination="false",
                )
            ],
            tag_specifications=[
                tf.LaunchTemplateTagSpecifications(resource_type=kind, tags=tags) for kind in ("instance", "volume")
            ],
            tags=tags,
        )
        self.autoscaling_group = tf.AutoscalingGroup(
            self,
            "asg",
            name=f"{props.name}-bastion",
            min_size=1,
            max_size=1,
            desired_capacity=1,
            # An ENI attaches only in its own AZ, so the group may launch nowhere else.
            availability_zones=[props.availability_zone],
            health_check_type="EC2",
            launch_template=tf.AutoscalingGroupLaunchTemplate(
                id=launch_template.id, version=tf.Token.as_string(launch_template.latest_version)
            ),
            instance_refresh=tf.AutoscalingGroupInstanceRefresh(
                strategy="Rolling",
                # Zero, because the ENI is held by the one running instance.
                preferences=tf.AutoscalingGroupInstanceRefreshPreferences(min_healthy_percentage=0),
            ),
            tag=[tf.AutoscalingGroupTag(key=key, value=value, propagate_at_launch=True) for key, value in sorted(tags.items())],
            # The boot script attaches the caches' volume, so it must exist first (and outlive the instance).
            depends_on=[props.registry_cache_storage.volume] if props.registry_cache_storage else None,
        )

    @property
    def _tunnel(self) -> bool:
        props = self._props
        return props.ipv4_egress == "wireguard" and props.wireguard.has_peer

    @property
    def _s3_prefix_list_name(self) -> str | None:
        """AWS's managed prefix list of S3's addresses, read at boot when the tunnel must avoid them."""
        props = self._props
        return f"com.amazonaws.{props.region}.s3" if self._tunnel and props.s3_gateway_endpoint else None

    def _boot_script(self) -> str:
        props = self._props
        egress_mtu = props.wireguard.mtu if props.ipv4_egress == "wireguard" else INTERNET_GATEWAY_MTU
        return render(
            "bastion-boot.sh.j2",
            name=props.name,
            region=props.region,
            subnet_cidr=props.subnet_cidr,
            vpc_cidr=props.vpc_cidr,
            egress=props.ipv4_egress,
            egress_mtu=egress_mtu,
            mss=egress_mtu - IPV4_TCP_HEADERS,
            wireguard=props.wireguard,
            key_parameter=props.wireguard_key_parameter,
            ssh_public_keys=props.ssh_public_keys,
            bypass_cidrs=(LINK_LOCAL, props.vpc_cidr),
            bypass_rule_priority=OUTSIDE_TUNNEL_RULE_PRIORITY,
            s3_prefix_list_name=self._s3_prefix_list_name,
            availability_zone=props.availability_zone,
            cluster_plan=props.cluster_plan,
            cluster_program=CLUSTER_PROGRAM.read_text() if props.cluster_plan else "",
            cluster_after=self._egress_unit,
            status_parameter=props.cluster_status_parameter,
            **self._registry_cache_variables(),
        )

    @property
    def _egress_unit(self) -> str:
        """The unit after which the bastion's IPv4 reaches the internet (downloads wait for it)."""
        return "wg-quick@wg0.service" if self._tunnel else "talos-sandbox-nat.service"

    def _registry_cache_variables(self) -> dict[str, object]:
        """What templates/bastion-registry-caches.sh.j2 needs (with region and availability_zone)."""
        props = self._props
        caches = props.registry_caches
        storage = props.registry_cache_storage
        return {
            "registry_caches": caches,
            "registry_cache_volume": storage.volume_name if storage else None,
            "registry_cache_configs": {
                registry: registry_cache_config(
                    registry, upstream, caches.ttl_hours, props.private_ip, f"{REGISTRY_CACHE_DIR}/{registry}"
                )
                for registry, upstream in caches.active.items()
            },
            # Started after the IPv4 egress that fills them.
            "registry_cache_after": self._egress_unit,
        }

    def _instance_profile_arn(self) -> str:
        props = self._props
        statements = []
        if self._tunnel:
            parameter_arn = props.account.arn("ssm", props.region, f"parameter{props.wireguard_key_parameter}")
            statements.append(statement(["ssm:GetParameter"], [parameter_arn], sid="ReadTheTunnelKey"))
        if self._s3_prefix_list_name:
            # Describe* has no resource-level permissions; the entries are AWS-owned lists only.
            statements.append(statement(["ec2:DescribeManagedPrefixLists"], ["*"], sid="FindTheS3PrefixList"))
            aws_owned_lists = f"arn:{props.account.partition}:ec2:{props.region}:aws:prefix-list/*"
            statements.append(statement(["ec2:GetManagedPrefixListEntries"], [aws_owned_lists], sid="ReadTheS3PrefixList"))
        if props.registry_cache_storage is not None:
            statements += props.registry_cache_storage.attach_statements(self._instance_name)
            credentials = sorted(
                {u.credentials_parameter for u in props.registry_caches.active.values() if u.credentials_parameter}
            )
            if credentials:
                arns = [props.account.arn("ssm", props.region, f"parameter{name}") for name in credentials]
                statements.append(statement(["ssm:GetParameter"], arns, sid="ReadTheRegistryCredentials"))
        statements += props.cluster_statements
        role = ServiceRole(
            self,
            "role",
            ServiceRoleProps(
                name=f"{props.name}-bastion",
                service="ec2.amazonaws.com",
                statements=statements,
                policy_name="bastion",
            ),
        )
        tf.IamRolePolicyAttachment(
            self,
            "session-manager",
            role=role.role.name,
            policy_arn=f"arn:{props.account.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore",
        )
        return role.instance_profile().arn
