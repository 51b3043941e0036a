"""Real Terraform: `validate` of the synthesized stacks, and the offline apply harness
(moto server on loopback) with an empty second plan and boto3 checks of what exists."""

from __future__ import annotations

import base64
import json
import secrets

import pytest

from harness.offline import prepare_stack
from talos_sandbox.config import default_config, load_config
from talos_sandbox.documents.cluster_plan import PLACEHOLDER, cluster_parameters
from talos_sandbox.facts.talos_amis import SIDERO_LABS_AMI_OWNER
from talos_sandbox.terraform.user_data import user_data_text

from ..conftest import REPO_ROOT, make_config, require_terraform

pytestmark = pytest.mark.terraform


@pytest.fixture(scope="module")
def applied_default(apply_stack):
    return apply_stack(default_config())


@pytest.mark.parametrize(
    "config",
    [
        default_config(),
        make_config(
            network={"bastion_subnet_cidr": "10.10.1.0/28", "existing_vpc_id": "vpc-0123456789abcdef0",
                     "existing_subnet_id": "subnet-0123456789abcdef0"},
            bastion={"ipv4_egress": "public_ipv4", "private_ip": "10.10.1.10"},
            backend={"s3_bucket": "state-bucket"},
        ),
        make_config(talos={"install_method": "talos-ami"}),
    ],
    ids=["default", "adopt-public-ipv4-s3", "talos-ami-lookup"],
)
def test_terraform_validate(config, synth, tmp_path):
    require_terraform()
    stack_dir, _ = synth(config)
    # No backend: an S3 one cannot initialise offline, and validate does not need it.
    terraform = prepare_stack(stack_dir, tmp_path, moto_url=None, region=config.region, backend=False)
    result = terraform.run("validate", "-no-color")
    assert "Success" in result.stdout


def test_second_plan_is_empty(applied_default):
    applied_default.assert_second_plan_empty()


def test_vpc_and_subnet_exist_with_ipv6(applied_default):
    ec2 = applied_default.client("ec2")
    [vpc] = [v for v in ec2.describe_vpcs()["Vpcs"] if v["CidrBlock"] == "10.10.0.0/16"]
    assert vpc["Ipv6CidrBlockAssociationSet"], "the VPC has an Amazon-provided IPv6 block"
    [subnet] = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    assert subnet["CidrBlock"] == "10.10.0.0/24" and subnet["AvailabilityZone"] == "eu-west-1a"
    assert subnet["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"].endswith("/64")


def test_bastion_eni_is_static_with_ipv6_and_forwarding(applied_default):
    ec2 = applied_default.client("ec2")
    [eni] = ec2.describe_network_interfaces(
        Filters=[{"Name": "private-ip-address", "Values": ["10.10.0.100"]}]
    )["NetworkInterfaces"]
    assert eni["SourceDestCheck"] is False
    assert len(eni["Ipv6Addresses"]) == 1
    assert eni["TagSet"] and {"Key": "Name", "Value": "cozy-demo-bastion"} in eni["TagSet"]


def test_routes_send_ipv4_to_the_eni_and_ipv6_to_the_gateway(applied_default):
    ec2 = applied_default.client("ec2")
    [eni] = ec2.describe_network_interfaces(
        Filters=[{"Name": "private-ip-address", "Values": ["10.10.0.100"]}]
    )["NetworkInterfaces"]
    tables = ec2.describe_route_tables(Filters=[{"Name": "tag:Name", "Values": ["cozy-demo-nodes"]}])["RouteTables"]
    [table] = tables
    routes = {r.get("DestinationCidrBlock") or r.get("DestinationIpv6CidrBlock"): r for r in table["Routes"]}
    assert routes["0.0.0.0/0"]["NetworkInterfaceId"] == eni["NetworkInterfaceId"]
    assert routes["::/0"]["GatewayId"].startswith("igw-")


def test_asg_and_launch_template(applied_default):
    autoscaling = applied_default.client("autoscaling")
    [group] = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["cozy-demo-bastion"])["AutoScalingGroups"]
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (1, 1, 1)
    assert group["AvailabilityZones"] == ["eu-west-1a"]
    ec2 = applied_default.client("ec2")
    [version] = ec2.describe_launch_template_versions(LaunchTemplateName="cozy-demo-bastion")["LaunchTemplateVersions"]
    data = version["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["NetworkInterfaces"][0]["DeviceIndex"] == 0
    assert user_data_text(data["UserData"]).startswith("#!/bin/bash")


def test_nodes_run_at_their_addresses_without_public_ipv4(applied_default):
    ec2 = applied_default.client("ec2")
    reservations = ec2.describe_instances(Filters=[{"Name": "tag:Sandbox", "Values": ["cozy-demo"]}])["Reservations"]
    nodes = {
        tags["Name"]: instance
        for reservation in reservations
        for instance in reservation["Instances"]
        if (tags := {t["Key"]: t["Value"] for t in instance.get("Tags", [])}).get("Role")
    }
    assert sorted(nodes) == ["cozy-demo-talos-compute-2", "cozy-demo-talos-compute-3", "cozy-demo-talos-gateway-1"]
    for name, ip in (("talos-gateway-1", "10.10.0.101"), ("talos-compute-2", "10.10.0.102"), ("talos-compute-3", "10.10.0.103")):
        instance = nodes[f"cozy-demo-{name}"]
        assert instance["PrivateIpAddress"] == ip
        assert "PublicIpAddress" not in instance
        assert instance["InstanceType"] == "t4g.medium"
        user_data = ec2.describe_instance_attribute(InstanceId=instance["InstanceId"], Attribute="userData")
        script = base64.b64decode(user_data["UserData"]["Value"]).decode()
        assert f"ip={ip}::10.10.0.1:255.255.255.0:{name}:eth0:off:10.10.0.2" in script


def test_flow_logs_and_locked_default_group(applied_default):
    ec2 = applied_default.client("ec2")
    [flow_log] = ec2.describe_flow_logs()["FlowLogs"]
    assert flow_log["LogDestination"].endswith(":log-group:/cozy-demo/vpc-flow-logs")
    assert flow_log["TrafficType"] == "ALL"
    logs = applied_default.client("logs")
    [group] = logs.describe_log_groups(logGroupNamePrefix="/cozy-demo/vpc-flow-logs")["logGroups"]
    assert group["retentionInDays"] == 365 and group.get("kmsKeyId")
    [default_group] = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["default"]}, {"Name": "vpc-id", "Values": [flow_log["ResourceId"]]}]
    )["SecurityGroups"]
    assert default_group["IpPermissions"] == [] and default_group["IpPermissionsEgress"] == []


@pytest.fixture(scope="module")
def adopted(new_moto, apply_stack):
    """A sandbox applied into a VPC, subnet and gateway that exist first; registry caches off
    (so this apply also shows a sandbox without them)."""
    moto = new_moto()
    ec2 = moto.client("ec2", "eu-west-1")
    vpc_id = ec2.create_vpc(CidrBlock="10.10.0.0/16", AmazonProvidedIpv6CidrBlock=True)["Vpc"]["VpcId"]
    [vpc] = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    vpc_ipv6 = vpc["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]
    subnet_ipv6 = vpc_ipv6.replace("::/56", "::/64")
    subnet_id = ec2.create_subnet(
        VpcId=vpc_id, CidrBlock="10.10.0.0/24", AvailabilityZone="eu-west-1a", Ipv6CidrBlock=subnet_ipv6
    )["Subnet"]["SubnetId"]
    gateway_id = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway_id, VpcId=vpc_id)
    before = {
        "vpcs": len(ec2.describe_vpcs()["Vpcs"]),
        "subnets": len(ec2.describe_subnets()["Subnets"]),
        "gateways": len(ec2.describe_internet_gateways()["InternetGateways"]),
    }
    config = make_config(
        network={"existing_vpc_id": vpc_id, "existing_subnet_id": subnet_id},
        bastion={"registry_caches": {"enabled": False}},
    )
    return apply_stack(config, moto), before, subnet_id, gateway_id


def test_adopts_an_existing_vpc_without_duplicating_it(adopted):
    applied, before, subnet_id, gateway_id = adopted
    ec2 = applied.client("ec2")
    assert {
        "vpcs": len(ec2.describe_vpcs()["Vpcs"]),
        "subnets": len(ec2.describe_subnets()["Subnets"]),
        "gateways": len(ec2.describe_internet_gateways()["InternetGateways"]),
    } == before
    [eni] = ec2.describe_network_interfaces(Filters=[{"Name": "private-ip-address", "Values": ["10.10.0.100"]}])[
        "NetworkInterfaces"
    ]
    assert eni["SubnetId"] == subnet_id
    [table] = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])["RouteTables"]
    routes = {r.get("DestinationCidrBlock") or r.get("DestinationIpv6CidrBlock"): r for r in table["Routes"]}
    assert routes["::/0"]["GatewayId"] == gateway_id
    assert routes["0.0.0.0/0"]["NetworkInterfaceId"] == eni["NetworkInterfaceId"]
    applied.assert_second_plan_empty()


def cache_rules(applied) -> list[dict]:
    rules = applied.client("ec2").describe_security_group_rules()["SecurityGroupRules"]
    return [rule for rule in rules if not rule["IsEgress"] and 5050 <= rule.get("FromPort", 0) <= 5054]


def test_registry_caches_volume_and_ports_exist(applied_default):
    [volume] = applied_default.client("ec2").describe_volumes(
        Filters=[{"Name": "tag:Name", "Values": ["cozy-demo-registry-cache"]}]
    )["Volumes"]
    assert (volume["Size"], volume["VolumeType"], volume["Encrypted"]) == (20, "gp3", True)
    assert volume["AvailabilityZone"] == "eu-west-1a" and volume["State"] == "available"
    assert sorted(rule["FromPort"] for rule in cache_rules(applied_default)) == [5050, 5051, 5052, 5053, 5054]
    assert not [r for r in applied_default.client("ec2").describe_security_group_rules()["SecurityGroupRules"]
                if not r["IsEgress"] and r.get("FromPort") == 53], "no DNS rule: nothing serves DNS there"


def test_without_registry_caches_there_is_no_volume_and_no_cache_port(adopted):
    applied = adopted[0]
    assert applied.client("ec2").describe_volumes(Filters=[{"Name": "tag:Name", "Values": ["cozy-demo-registry-cache"]}])[
        "Volumes"
    ] == []
    assert cache_rules(applied) == []


# The arm64 CozyStack profile: an Elastic IP, a service address on the gateway node, a
# working-hours schedule and 256 GB LINSTOR volumes (the amd64 profile is the same shape;
# `make check` applies both).
OPERATOR = load_config(REPO_ROOT / "examples" / "cozystack-arm64.yaml")


@pytest.fixture(scope="module")
def applied_operator(apply_stack):
    return apply_stack(OPERATOR)


def test_operator_features_second_plan_is_empty(applied_operator):
    applied_operator.assert_second_plan_empty()


def test_schedule_exists_for_bastion_and_nodes(applied_operator):
    autoscaling = applied_operator.client("autoscaling")
    actions = {
        action["ScheduledActionName"]: action
        for action in autoscaling.describe_scheduled_actions(AutoScalingGroupName="cozystack-arm64-bastion")[
            "ScheduledUpdateGroupActions"
        ]
    }
    assert actions["cozystack-arm64-bastion-start"]["Recurrence"] == "0 8 * * MON,TUE,WED,THU,FRI"
    assert actions["cozystack-arm64-bastion-start"]["DesiredCapacity"] == 1
    assert actions["cozystack-arm64-bastion-stop"]["DesiredCapacity"] == 0
    scheduler = applied_operator.client("scheduler")
    start = scheduler.get_schedule(Name="cozystack-arm64-nodes-start")
    stop = scheduler.get_schedule(Name="cozystack-arm64-nodes-stop")
    assert start["ScheduleExpression"] == "cron(10 8 ? * MON,TUE,WED,THU,FRI *)", "nodes start after the bastion"
    assert stop["ScheduleExpression"] == "cron(50 17 ? * MON,TUE,WED,THU,FRI *)", "nodes stop before it"
    assert start["ScheduleExpressionTimezone"] == "Europe/Dublin"
    assert start["Target"]["Arn"] == "arn:aws:scheduler:::aws-sdk:ec2:startInstances"
    instance_ids = set(applied_operator.of_type("aws_instance")[a]["id"] for a in applied_operator.of_type("aws_instance"))
    assert set(json.loads(start["Target"]["Input"])["InstanceIds"]) == instance_ids


def test_gateway_node_carries_the_loadbalancer_addresses(applied_operator):
    ec2 = applied_operator.client("ec2")
    [reservation] = ec2.describe_instances(Filters=[{"Name": "private-ip-address", "Values": ["10.10.0.101"]}])[
        "Reservations"
    ]
    [instance] = reservation["Instances"]
    addresses = {a["PrivateIpAddress"]: a["Primary"] for a in instance["NetworkInterfaces"][0]["PrivateIpAddresses"]}
    assert addresses == {"10.10.0.101": True, "10.10.0.200": False}


def test_each_node_has_its_data_volume_attached_as_sdf(applied_operator):
    ec2 = applied_operator.client("ec2")
    instances = {
        {t["Key"]: t["Value"] for t in i["Tags"]}["Name"]: i["InstanceId"]
        for r in ec2.describe_instances(Filters=[{"Name": "tag:Role", "Values": ["gateway", "compute"]}])["Reservations"]
        for i in r["Instances"]
    }
    volumes = ec2.describe_volumes(Filters=[{"Name": "tag:Role", "Values": ["linstor-data"]}])["Volumes"]
    assert len(volumes) == len(instances) == 3
    for volume in volumes:
        name = {t["Key"]: t["Value"] for t in volume["Tags"]}["Name"]
        assert (volume["Size"], volume["VolumeType"], volume["Encrypted"]) == (256, "gp3", True)
        [attachment] = volume["Attachments"]
        assert attachment["Device"] == "/dev/sdf" and attachment["State"] == "attached"
        assert attachment["InstanceId"] == instances[name.removesuffix("-data")]


def test_services_are_open_to_the_vpc_and_nothing_to_the_internet(applied_operator):
    ec2 = applied_operator.client("ec2")
    [nodes] = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["cozystack-arm64-nodes"]}])[
        "SecurityGroups"
    ]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [nodes["GroupId"]]}])[
        "SecurityGroupRules"
    ]
    services = {(r["FromPort"], r.get("CidrIpv4")) for r in rules if not r["IsEgress"] and r.get("FromPort") in (80, 443)}
    assert services == {(80, "10.10.0.0/16"), (443, "10.10.0.0/16")}
    every = ec2.describe_security_group_rules()["SecurityGroupRules"]
    assert not [r for r in every if not r["IsEgress"] and (r.get("CidrIpv4") == "0.0.0.0/0" or r.get("CidrIpv6") == "::/0")]


def test_public_ipv4_bastion_has_an_elastic_ip_on_its_eni(applied_operator):
    ec2 = applied_operator.client("ec2")
    [address] = ec2.describe_addresses()["Addresses"]
    [eni] = ec2.describe_network_interfaces(Filters=[{"Name": "private-ip-address", "Values": ["10.10.1.10"]}])[
        "NetworkInterfaces"
    ]
    assert address["NetworkInterfaceId"] == eni["NetworkInterfaceId"]


def test_talos_ami_nodes_from_an_explicit_ami(new_moto, apply_stack):
    moto = new_moto()
    ec2 = moto.client("ec2", "eu-west-1")
    # The official AMI as our moto launcher registers it (arm64, Sidero Labs' account).
    [image] = ec2.describe_images(
        Owners=[SIDERO_LABS_AMI_OWNER], Filters=[{"Name": "name", "Values": ["talos-v1.13.5-eu-west-1-arm64"]}]
    )["Images"]
    config = make_config(talos={"install_method": "talos-ami", "ami_id": image["ImageId"]})

    applied = apply_stack(config, moto)

    nodes = applied.of_type("aws_instance")
    assert len(nodes) == 3
    for node in nodes.values():
        assert node["ami"] == image["ImageId"] and node["user_data"] is None
        assert node["root_block_device"][0]["volume_size"] == 50 and node["root_block_device"][0]["encrypted"]
        reservation = ec2.describe_instances(InstanceIds=[node["id"]])["Reservations"][0]
        assert reservation["Instances"][0]["Architecture"] == "arm64"
        user_data = ec2.describe_instance_attribute(InstanceId=node["id"], Attribute="userData")
        assert "Value" not in user_data["UserData"]
    applied.assert_second_plan_empty()


# --- The bring-up's parameters (cluster_parameters.py). The destroy test comes last: it
# takes them away and applies them again, for whoever uses this stack afterwards.

CLUSTER_PATH = "/cozy-demo/cluster"


def cluster_parameters_in(applied) -> dict[str, dict]:
    pages = applied.client("ssm").get_paginator("describe_parameters").paginate(
        ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [CLUSTER_PATH]}]
    )
    return {p["Name"]: p for page in pages for p in page["Parameters"]}


def test_cluster_parameters_exist_encrypted_with_the_sandbox_key(applied_default):
    expected = {p.name: p for p in cluster_parameters(default_config()).values()}
    found = cluster_parameters_in(applied_default)
    assert set(found) == set(expected)
    assert {p["Type"] for p in found.values()} == {"SecureString"}
    assert {name: p["Tier"] for name, p in found.items()} == {name: p.tier for name, p in expected.items()}
    [key] = [values for address, values in applied_default.of_type("aws_kms_key").items() if ".cluster_" in address]
    assert {p["KeyId"] for p in found.values()} == {"alias/cozy-demo-cluster"}
    [alias] = [a for a in applied_default.client("kms").list_aliases()["Aliases"] if a["AliasName"] == "alias/cozy-demo-cluster"]
    assert alias["TargetKeyId"] == key["key_id"]
    assert key["enable_key_rotation"] is True
    ssm = applied_default.client("ssm")
    status = ssm.get_parameter(Name=f"{CLUSTER_PATH}/status", WithDecryption=True)["Parameter"]["Value"]
    assert status == PLACEHOLDER, "Terraform writes the placeholder; the bastion the rest"


def test_the_bastion_may_write_only_its_parameters_and_the_operator_only_read(applied_default):
    iam, account = applied_default.client("iam"), applied_default.client("sts").get_caller_identity()["Account"]

    def arn(name: str) -> str:
        return f"arn:aws:ssm:eu-west-1:{account}:parameter{name}"

    document = iam.get_role_policy(RoleName="cozy-demo-bastion", PolicyName="bastion")["PolicyDocument"]
    statements = {s["Sid"]: s for s in (json.loads(document) if isinstance(document, str) else document)["Statement"]}
    parameters = cluster_parameters(default_config())
    assert sorted(statements["ReadTheCluster"]["Resource"]) == sorted(arn(p.name) for p in parameters.values())
    assert sorted(statements["WriteTheCluster"]["Resource"]) == sorted(
        arn(f"{CLUSTER_PATH}/{key}") for key in ("secrets", "talosconfig", "kubeconfig", "status")
    )
    assert statements["WriteTheCluster"]["Action"] == ["ssm:PutParameter"]
    [key_arn] = statements["WithTheClusterKey"]["Resource"]
    assert key_arn.startswith(f"arn:aws:kms:eu-west-1:{account}:key/")
    [policy] = [p for p in iam.list_policies(Scope="Local")["Policies"] if p["PolicyName"] == "cozy-demo-cluster-read"]
    version = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])["PolicyVersion"]
    document = version["Document"]
    read = {s["Sid"]: s for s in (json.loads(document) if isinstance(document, str) else document)["Statement"]}
    assert sorted(read["ReadTheCluster"]["Resource"]) == sorted(
        arn(f"{CLUSTER_PATH}/{key}") for key in ("status", "talosconfig", "kubeconfig")
    ), "never the secrets"
    assert read["ReadTheCluster"]["Action"] == ["ssm:GetParameter"] and read["WithTheClusterKey"]["Action"] == ["kms:Decrypt"]


def test_terraform_state_never_holds_what_the_bastion_wrote(applied_default):
    secret = f"cluster-secrets-{secrets.token_hex(16)}"
    applied_default.client("ssm").put_parameter(
        Name=f"{CLUSTER_PATH}/secrets", Value=secret, Type="SecureString", KeyId="alias/cozy-demo-cluster",
        Tier="Advanced", Overwrite=True,
    )  # fmt: skip
    terraform = applied_default.terraform
    terraform.run("apply", "-refresh-only", "-auto-approve", "-no-color", "-input=false")
    state = (terraform.workdir / "terraform.tfstate").read_text()
    assert secret not in state
    applied_default.assert_second_plan_empty()  # the bastion's value is no drift either


def test_destroy_removes_the_cluster_parameters(applied_default):
    terraform = applied_default.terraform
    keys = [address for address in applied_default.of_type("aws_kms_key") if ".cluster_" in address]
    targets = [f"-target={address}" for address in [*applied_default.of_type("aws_ssm_parameter"), *keys]]
    terraform.run("destroy", *targets, "-auto-approve", "-no-color", "-input=false")
    try:
        assert cluster_parameters_in(applied_default) == {}
    finally:
        terraform.apply()
