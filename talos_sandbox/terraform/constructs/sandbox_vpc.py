"""SandboxVpc: the VPC, its public subnet(s), routing, flow logs and the S3 endpoint.

Routing is the point of this construct: the nodes' subnet sends IPv6 to the internet
gateway and IPv4 to the bastion's ENI (there is no NAT gateway). Call
`route_ipv4_via()` once the ENI exists; nodes must depend on that route.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from .. import bindings as tf
from ...config import NetworkConfig
from ..policy_documents import account_administers_key, policy, statement
from .naming import AccountRef, name_tag
from .service_role import ServiceRole, ServiceRoleProps

# /64 number inside the VPC's /56 for each subnet. The bastion's subnet takes the last
# one, which is least likely to be in use in an adopted VPC.
NODE_SUBNET_IPV6_NETNUM = 0
BASTION_SUBNET_IPV6_NETNUM = 255


@dataclass(frozen=True)
class SandboxVpcProps:
    """What SandboxVpc needs; every default lives on NetworkConfig."""

    name: str
    """Prefix of every resource name."""
    region: str
    availability_zone: str
    """The one AZ of the subnets (an ENI attaches only in its own AZ)."""
    network: NetworkConfig
    account: AccountRef
    """For the KMS key policy that lets CloudWatch Logs use the key."""


class SandboxVpc(Construct):
    vpc_id: str
    subnet_id: str
    """The nodes' subnet."""
    bastion_subnet_id: str
    """The bastion's subnet: the nodes' subnet unless network.bastion_subnet_cidr is set."""
    ipv6_cidr_block: str

    def __init__(self, scope: Construct, construct_id: str, props: SandboxVpcProps) -> None:
        super().__init__(scope, construct_id)
        self._props = props
        network = props.network

        if network.adopts_existing:
            self._adopt_existing()
        else:
            self._create_vpc()

        self.node_route_table = tf.RouteTable(
            self, "node-route-table", vpc_id=self.vpc_id, tags=name_tag(props.name, "nodes")
        )
        tf.RouteTableAssociation(self, "node-subnet-routes", subnet_id=self.subnet_id, route_table_id=self.node_route_table.id)
        self._default_route("node-ipv6-default", self.node_route_table.id, "::/0", gateway_id=self.internet_gateway_id)
        route_table_ids = [self.node_route_table.id]
        self.bastion_subnet_id = self.subnet_id
        if network.bastion_subnet_cidr is not None:
            route_table_ids.append(self._bastion_subnet())

        tf.DefaultSecurityGroup(self, "default-security-group", vpc_id=self.vpc_id, tags=name_tag(props.name, "default-locked"))
        if network.flow_logs.enabled:
            self._flow_logs()
        if network.s3_gateway_endpoint:
            tf.VpcEndpoint(
                self,
                "s3-endpoint",
                vpc_id=self.vpc_id,
                service_name=f"com.amazonaws.{props.region}.s3",
                vpc_endpoint_type="Gateway",
                route_table_ids=route_table_ids,
                tags=name_tag(props.name, "s3"),
            )

    def route_ipv4_via(self, network_interface_id: str) -> tf.Route:
        """The nodes' IPv4 default route through the bastion's ENI (its NAT)."""
        return self._default_route(
            "node-ipv4-default", self.node_route_table.id, "0.0.0.0/0", network_interface_id=network_interface_id
        )

    def _default_route(self, route_id: str, route_table_id: str, destination: str, **target: str) -> tf.Route:
        family = "destination_ipv6_cidr_block" if ":" in destination else "destination_cidr_block"
        return tf.Route(self, route_id, route_table_id=route_table_id, **{family: destination}, **target)

    def _create_vpc(self) -> None:
        props = self._props
        vpc = tf.Vpc(
            self,
            "vpc",
            cidr_block=str(props.network.vpc_cidr),
            assign_generated_ipv6_cidr_block=True,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=name_tag(props.name, "vpc"),
        )
        subnet = tf.Subnet(
            self,
            "subnet",
            vpc_id=vpc.id,
            cidr_block=str(props.network.subnet_cidr),
            availability_zone=props.availability_zone,
            ipv6_cidr_block=tf.Fn.cidrsubnet(vpc.ipv6_cidr_block, 8, NODE_SUBNET_IPV6_NETNUM),
            map_public_ip_on_launch=False,
            assign_ipv6_address_on_creation=False,
            tags=name_tag(props.name, "public"),
        )
        gateway = tf.InternetGateway(self, "internet-gateway", vpc_id=vpc.id, tags=name_tag(props.name, "igw"))
        self.vpc_id, self.subnet_id, self.internet_gateway_id = vpc.id, subnet.id, gateway.id
        self.ipv6_cidr_block = vpc.ipv6_cidr_block

    def _adopt_existing(self) -> None:
        # The VPC, its subnet and internet gateway stay owned by whoever made them; we
        # only read them. The VPC must already have an IPv6 block and an internet gateway.
        network = self._props.network
        vpc = tf.DataAwsVpc(self, "vpc", id=network.existing_vpc_id)
        subnet = tf.DataAwsSubnet(self, "subnet", id=network.existing_subnet_id)
        gateway = tf.DataAwsInternetGateway(
            self,
            "internet-gateway",
            filter=[tf.DataAwsInternetGatewayFilter(name="attachment.vpc-id", values=[vpc.id])],
        )
        self.vpc_id, self.subnet_id, self.internet_gateway_id = vpc.id, subnet.id, gateway.internet_gateway_id
        self.ipv6_cidr_block = vpc.ipv6_cidr_block

    def _bastion_subnet(self) -> str:
        props = self._props
        subnet = tf.Subnet(
            self,
            "bastion-subnet",
            vpc_id=self.vpc_id,
            cidr_block=str(props.network.bastion_subnet_cidr),
            availability_zone=props.availability_zone,
            ipv6_cidr_block=tf.Fn.cidrsubnet(self.ipv6_cidr_block, 8, BASTION_SUBNET_IPV6_NETNUM),
            map_public_ip_on_launch=False,
            tags=name_tag(props.name, "bastion"),
        )
        table = tf.RouteTable(self, "bastion-route-table", vpc_id=self.vpc_id, tags=name_tag(props.name, "bastion"))
        tf.RouteTableAssociation(self, "bastion-subnet-routes", subnet_id=subnet.id, route_table_id=table.id)
        self._default_route("bastion-ipv4-default", table.id, "0.0.0.0/0", gateway_id=self.internet_gateway_id)
        self._default_route("bastion-ipv6-default", table.id, "::/0", gateway_id=self.internet_gateway_id)
        self.bastion_subnet_id = subnet.id
        return table.id

    def _flow_logs(self) -> None:
        props = self._props
        log_group_name = f"/{props.name}/vpc-flow-logs"
        log_group_arn = props.account.arn("logs", props.region, f"log-group:{log_group_name}")
        key = tf.KmsKey(
            self,
            "flow-logs-key",
            description=f"{props.name}: encrypts the VPC flow log group",
            enable_key_rotation=True,
            deletion_window_in_days=7,
            policy=policy(
                account_administers_key(props.account.partition, props.account.account_id),
                {
                    "Sid": "CloudWatchLogsUsesForThisGroup",
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{props.region}.amazonaws.com"},
                    "Action": ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
                    "Resource": ["*"],
                    "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}},
                },
            ),
            tags=name_tag(props.name, "flow-logs"),
        )
        log_group = tf.CloudwatchLogGroup(
            self,
            "flow-logs",
            name=log_group_name,
            retention_in_days=props.network.flow_logs.retention_days,
            kms_key_id=key.arn,
            tags=name_tag(props.name, "flow-logs"),
        )
        role = ServiceRole(
            self,
            "flow-logs-role",
            ServiceRoleProps(
                name=f"{props.name}-vpc-flow-logs",
                service="vpc-flow-logs.amazonaws.com",
                statements=[
                    statement(
                        ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                        [log_group_arn, f"{log_group_arn}:*"],
                        sid="WriteThisLogGroup",
                    )
                ],
                policy_name="write-flow-log-group",
            ),
        ).role
        tf.FlowLog(
            self,
            "flow-log",
            vpc_id=self.vpc_id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            tags=name_tag(props.name, "flow-log"),
        )
