"""SandboxStack: turns one validated SandboxConfig into the sandbox's constructs."""

from __future__ import annotations

from constructs import Construct

from . import bindings as tf
from ..config import SandboxConfig
from ..documents.cluster_plan import cluster_parameters, cluster_plan_json, kms_alias
from ..documents.cozystack import install_files
from ..documents.talos_commands import apply_config_command, upgrade_command
from ..documents.talos_patches import talos_patches
from ..documents.talos_storage import DATA_VOLUME_DEVICE
from ..facts.architectures import ARCHITECTURES, BASTION_ARCH
from ..facts.talos_amis import SIDERO_LABS_AMI_OWNER
from .constructs.bastion_eni import BastionEni, BastionEniProps
from .constructs.cluster_parameters import ClusterParameters, ClusterParametersProps
from .constructs.naming import AccountRef
from .constructs.registry_cache_storage import RegistryCacheStorage, RegistryCacheStorageProps
from .constructs.sandbox_schedule import SandboxSchedule, SandboxScheduleProps
from .constructs.sandbox_security_groups import SandboxSecurityGroups, SandboxSecurityGroupsProps
from .constructs.sandbox_vpc import SandboxVpc, SandboxVpcProps
from .constructs.service_role import ServiceRole, ServiceRoleProps
from .constructs.talos_node import TalosNode, TalosNodeProps

# The root ingress' ports on the load-balancer addresses (CozyStack's root-ingress-controller
# serves 80 and 443; MetalLB services of your own may use more: add rules for them).
SERVICE_PORTS = (80, 443)



class SandboxStack(tf.TerraformStack):
    def __init__(self, scope: Construct, config: SandboxConfig) -> None:
        super().__init__(scope, config.name)
        self.config = config
        self._al2023_parameters: dict[str, str] = {}
        self._backend()
        # value_wo (the cluster parameters' write-only placeholders) needs Terraform 1.11.
        self.add_override("terraform.required_version", ">= 1.11.0")
        tf.AwsProvider(
            self,
            "aws",
            region=config.region,
            default_tags=[tf.AwsProviderDefaultTags(tags={**config.tags, "Sandbox": config.name})],
        )
        identity = tf.DataAwsCallerIdentity(self, "account")
        partition = tf.DataAwsPartition(self, "partition")
        account = AccountRef(account_id=identity.account_id, partition=partition.partition)
        # The bastion is arm64; the nodes' Amazon Linux follows their architecture.
        bastion_ami_id = self._al2023_ami_id(BASTION_ARCH)
        al2023_for_nodes = self._al2023_ami_id(config.architecture)

        node_ami_id = self._talos_ami_id() if config.talos.install_method == "talos-ami" else al2023_for_nodes
        install_method_holder = self._install_method_holder()

        network = config.network
        self.vpc = SandboxVpc(
            self,
            "network",
            SandboxVpcProps(
                name=config.name,
                region=config.region,
                availability_zone=config.availability_zone,
                network=network,
                account=account,
            ),
        )
        wireguard = config.bastion.wireguard
        caches = config.bastion.registry_caches
        self.security_groups = SandboxSecurityGroups(
            self,
            "security-groups",
            SandboxSecurityGroupsProps(
                name=config.name,
                vpc_id=self.vpc.vpc_id,
                vpc_cidr=str(network.vpc_cidr),
                ssh_ipv6_cidrs=tuple(str(cidr) for cidr in config.bastion.ssh_ipv6_cidrs),
                nat_tcp_ports=config.bastion.nat_tcp_ports,
                nat_udp_ports=config.bastion.nat_udp_ports,
                wireguard_port=wireguard.peer_port if config.bastion.ipv4_egress == "wireguard" else None,
                registry_cache_ports=tuple(u.port for u in caches.active.values()),
                service_ports=SERVICE_PORTS if config.loadbalancer.mode == "eni-secondary-ips" else (),
            ),
        )
        cache_storage = (
            RegistryCacheStorage(
                self,
                "registry-cache",
                RegistryCacheStorageProps(
                    name=config.name,
                    region=config.region,
                    availability_zone=config.availability_zone,
                    size_gb=caches.volume_gb,
                    account=account,
                ),
            )
            if caches.active
            else None
        )
        # Rendered once: every patch's text is a parameter's value and part of the bastion's plan.
        planned = cluster_parameters(config) if config.bring_up.enabled else {}
        self.cluster = (
            ClusterParameters(
                self,
                "cluster",
                ClusterParametersProps(
                    name=config.name,
                    region=config.region,
                    account=account,
                    parameters=planned,
                    kms_alias=kms_alias(config),
                ),
            )
            if config.bring_up.enabled
            else None
        )
        self.bastion = BastionEni(
            self,
            "bastion",
            BastionEniProps(
                name=config.name,
                region=config.region,
                availability_zone=config.availability_zone,
                subnet_id=self.vpc.bastion_subnet_id,
                subnet_cidr=str(network.subnet_cidr),
                vpc_cidr=str(network.vpc_cidr),
                private_ip=str(config.bastion.private_ip),
                security_group_id=self.security_groups.bastion_group_id,
                instance_type=config.bastion.instance_type,
                root_volume_gb=config.bastion.root_volume_gb,
                ami_id=bastion_ami_id,
                ipv4_egress=config.bastion.ipv4_egress,
                wireguard=wireguard,
                wireguard_key_parameter=config.wireguard_key_parameter,
                ssh_public_keys=config.bastion.ssh_public_keys,
                s3_gateway_endpoint=network.s3_gateway_endpoint,
                account=account,
                tags={**config.tags, "Sandbox": config.name},
                registry_caches=caches,
                registry_cache_storage=cache_storage,
                cluster_plan=cluster_plan_json(config, planned) if self.cluster else None,
                cluster_status_parameter=self.cluster.names["status"] if self.cluster else None,
                cluster_statements=tuple(self.cluster.bastion_statements()) if self.cluster else (),
            ),
        )
        nat_route = self.vpc.route_ipv4_via(self.bastion.network_interface.id)
        node_profile = self._node_instance_profile()

        lb_carrier = config.gateway_node if config.loadbalancer.mode == "eni-secondary-ips" else None
        self.nodes: dict[str, TalosNode] = {}
        for node in config.nodes:
            self.nodes[node.name] = TalosNode(
                self,
                node.name,
                TalosNodeProps(
                    name=config.name,
                    hostname=node.name,
                    role=node.role,
                    private_ip=node.private_ip,
                    subnet_cidr=network.subnet_cidr,
                    router_ip=network.router_ip,
                    dns_ip=network.dns_ip,
                    instance_type=config.node_instance_type(node),
                    root_volume_gb=config.node_root_volume_gb(node),
                    assign_ipv6=config.node_defaults.assign_ipv6,
                    image=config.node_image(node),
                    install_disk=config.talos.install_disk,
                    boot_to_talos_version=config.talos.boot_to_talos_version,
                    boot_to_talos_asset=ARCHITECTURES[config.architecture].boot_to_talos_asset,
                    boot_to_talos_sha256=config.talos.boot_to_talos_sha256,
                    subnet_id=self.vpc.subnet_id,
                    security_group_id=self.security_groups.node_group_id,
                    secondary_private_ips=tuple(str(a) for a in config.loadbalancer.addresses)
                    if node is lb_carrier
                    else (),
                    instance_profile_name=node_profile,
                    ami_id=node_ami_id,
                    install_method=config.talos.install_method,
                    replace_triggered_by=(install_method_holder,),
                    depends_on=(nat_route,),
                    availability_zone=config.availability_zone,
                    data_volume_gb=config.data_volume_gb,
                    data_volume_device=DATA_VOLUME_DEVICE,
                ),
            )

        if config.schedule is not None:
            instances = [self.nodes[node.name].instance for node in config.nodes]
            SandboxSchedule(
                self,
                "schedule",
                SandboxScheduleProps(
                    name=config.name,
                    schedule=config.schedule,
                    autoscaling_group_name=self.bastion.autoscaling_group.name,
                    node_instance_ids=tuple(instance.id for instance in instances),
                    node_instance_arns=tuple(instance.arn for instance in instances),
                ),
            )
        self._outputs()

    def _outputs(self) -> None:
        """The handoff: what an operator needs after apply (see also `next-steps`)."""
        config, eni = self.config, self.bastion.network_interface
        outputs: dict[str, tuple[object, str]] = {
            "vpc_id": (self.vpc.vpc_id, "The sandbox VPC"),
            "subnet_id": (self.vpc.subnet_id, "The nodes' subnet"),
            "bastion_eni_id": (eni.id, "The bastion's static network interface"),
            "bastion_private_ipv4": (str(config.bastion.private_ip), "The bastion's private IPv4"),
            "bastion_ipv6": (tf.Fn.element(eni.ipv6_addresses, 0), "The bastion's IPv6 (SSH)"),
            "security_group_ids": (
                {"bastion": self.security_groups.bastion_group_id, "nodes": self.security_groups.node_group_id},
                "Security groups by role",
            ),
            "node_private_ips": ({n.name: str(n.private_ip) for n in config.nodes}, "Node IPv4 by name"),
            "node_instance_ids": ({name: node.instance.id for name, node in self.nodes.items()}, "Node instance ids"),
            "talosctl_apply_config": (
                {n.name: apply_config_command(config, n) for n in config.nodes},
                "Per node: generate its Talos config with its patches (talos/<node>.yaml, then CozyStack's) "
                "and apply it",
            ),
        }
        if config.talos.install_method == "talos-ami":
            outputs["talosctl_upgrade"] = (
                {n.name: upgrade_command(config, n) for n in config.nodes},
                "Per node, after bootstrap, one at a time: switch it from the AMI's Talos to its role image",
            )
        if self.cluster is not None:
            for key in ("status", "kubeconfig", "talosconfig"):
                outputs[f"cluster_{key}_parameter"] = (
                    self.cluster.names[key],
                    f"SSM parameter with the cluster's {key} (written by the bastion; `next-steps`)",
                )
            outputs["cluster_read_policy_arn"] = (
                self.cluster.operator_policy().arn,
                "IAM policy that reads those three parameters: attach it to whoever operates the sandbox",
            )
        if config.bastion.ipv4_egress == "public_ipv4":
            outputs["bastion_public_ipv4"] = (self.bastion.elastic_ip.public_ip, "The bastion's Elastic IP")
        if config.loadbalancer.addresses:
            outputs["loadbalancer_addresses"] = (
                [str(address) for address in config.loadbalancer.addresses],
                "Service addresses for MetalLB / CozyStack",
            )
        for output_id, (value, description) in outputs.items():
            tf.TerraformOutput(self, output_id, value=value, description=description)

    def extra_files(self) -> dict[str, str]:
        """Files written into the stack's folder beside cdk.tf.json, by relative path."""
        # Talos v1.11's form for every config until the release matrix picks the minor.
        return {**talos_patches(self.config, self.config.talos_minor), **install_files(self.config)}

    def _al2023_ami_id(self, arch: str) -> str:
        """AWS's public parameter for the newest Amazon Linux 2023 of `arch`, resolved at plan time
        (one data source per architecture, whoever uses it)."""
        found = self._al2023_parameters.get(arch)
        if found is None:
            parameter = ARCHITECTURES[arch].al2023_parameter
            found = tf.DataAwsSsmParameter(self, f"al2023-{arch}", name=parameter).insecure_value
            self._al2023_parameters[arch] = found  # a public AMI id, not a secret: `value` would mark it sensitive
        return found

    def _talos_ami_id(self) -> str:
        """The configured AMI, else the official Talos AMI for the release and architecture, found at plan time."""
        talos = self.config.talos
        if talos.ami_id is not None:
            return talos.ami_id
        arch = self.config.architecture
        official = tf.DataAwsAmi(
            self,
            f"talos-{arch}",
            owners=[SIDERO_LABS_AMI_OWNER],
            most_recent=True,
            filter=[
                tf.DataAwsAmiFilter(name="name", values=[self.config.talos_ami_name]),
                tf.DataAwsAmiFilter(name="architecture", values=[ARCHITECTURES[arch].ec2_name]),
            ],
        )
        return official.id

    def _install_method_holder(self) -> str:
        """A terraform_data holding talos.install_method, as a bare address for replace_triggered_by
        (cdktf would write "${...}", which terraform init rejects). A plain TerraformResource:
        cdktf's DataResource class costs ~40 ms at synth."""
        holder = tf.TerraformResource(self, "install-method", terraform_resource_type="terraform_data")
        holder.add_override("input", {"method": self.config.talos.install_method})
        return f"terraform_data.{holder.friendly_unique_id}"

    def _node_instance_profile(self) -> str:
        # One profile for all nodes, with no permissions: the first boot calls no AWS API,
        # so a compromised installer could do nothing with the instance's credentials.
        role = ServiceRole(self, "node-role", ServiceRoleProps(name=f"{self.config.name}-nodes", service="ec2.amazonaws.com"))
        return role.instance_profile().name

    def _backend(self) -> None:
        backend = self.config.backend
        if backend.s3_bucket is None:
            # Relative, so the output does not carry this machine's path.
            tf.LocalBackend(self, path=backend.local_path)
            return
        s3 = tf.S3Backend(
            self,
            bucket=backend.s3_bucket,
            key=backend.s3_key or f"talos-sandbox/{self.config.name}.tfstate",
            region=backend.s3_region or self.config.region,
            encrypt=True,
            dynamodb_table=backend.dynamodb_table,
        )
        if backend.dynamodb_table is None:
            # S3-native state locking (Terraform 1.10+); cdktf 0.21 has no property for it.
            s3.add_override("use_lockfile", True)
