"""SandboxVpc: the VPC, subnet, routing, locked default group, flow logs, S3 endpoint."""

from __future__ import annotations

import json

from ...conftest import PUBLIC_IPV4, data_of, make_config, only, resources_of


def ref(resource_type: str, stack: dict, attribute: str = "id") -> str:
    [name] = resources_of(stack, resource_type)
    return f"${{{resource_type}.{name}.{attribute}}}"


def test_vpc_has_ipv6_and_dns(default_stack):
    vpc = only(default_stack, "aws_vpc")
    assert vpc["cidr_block"] == "10.10.0.0/16"
    assert vpc["assign_generated_ipv6_cidr_block"] is True
    assert vpc["enable_dns_support"] is True and vpc["enable_dns_hostnames"] is True


def test_one_subnet_in_one_az_with_an_ipv6_64(default_stack):
    subnet = only(default_stack, "aws_subnet")
    assert subnet["cidr_block"] == "10.10.0.0/24"
    assert subnet["availability_zone"] == "eu-west-1a"
    assert subnet["ipv6_cidr_block"] == f"${{cidrsubnet({ref('aws_vpc', default_stack, 'ipv6_cidr_block')[2:-1]}, 8, 0)}}"
    assert subnet["map_public_ip_on_launch"] is False


def test_configured_availability_zone(synth):
    _, stack = synth(make_config(network={"availability_zone": "eu-west-1c"}))
    assert only(stack, "aws_subnet")["availability_zone"] == "eu-west-1c"


def test_routes_ipv6_to_the_gateway_and_ipv4_to_the_bastion_eni(default_stack):
    routes = {
        route.get("destination_cidr_block") or route.get("destination_ipv6_cidr_block"): route
        for route in resources_of(default_stack, "aws_route").values()
    }
    assert set(routes) == {"0.0.0.0/0", "::/0"}
    assert routes["::/0"]["gateway_id"] == ref("aws_internet_gateway", default_stack)
    assert routes["0.0.0.0/0"]["network_interface_id"] == ref("aws_network_interface", default_stack)
    assert "aws_nat_gateway" not in default_stack["resource"]
    association = only(default_stack, "aws_route_table_association")
    assert association["subnet_id"] == ref("aws_subnet", default_stack)


def test_default_security_group_has_no_rules(default_stack):
    group = only(default_stack, "aws_default_security_group")
    assert "ingress" not in group and "egress" not in group


def test_flow_logs_go_to_an_encrypted_log_group(default_stack):
    flow_log = only(default_stack, "aws_flow_log")
    log_group = only(default_stack, "aws_cloudwatch_log_group")
    [(key_name, key)] = [(n, k) for n, k in resources_of(default_stack, "aws_kms_key").items() if n.startswith("network_")]
    assert flow_log["traffic_type"] == "ALL"
    assert flow_log["log_destination"] == ref("aws_cloudwatch_log_group", default_stack, "arn")
    assert log_group["retention_in_days"] == 365
    assert log_group["kms_key_id"] == f"${{aws_kms_key.{key_name}.arn}}"
    assert key["enable_key_rotation"] is True
    statements = {s["Sid"]: s for s in json.loads(key["policy"])["Statement"]}
    logs = statements["CloudWatchLogsUsesForThisGroup"]
    assert logs["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert "log-group:/cozy-demo/vpc-flow-logs" in logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]


def test_flow_log_role_writes_only_its_log_group(default_stack):
    [policy] = [p for n, p in resources_of(default_stack, "aws_iam_role_policy").items() if n.startswith("network")]
    [statement] = json.loads(policy["policy"])["Statement"]
    assert all(":log-group:/cozy-demo/vpc-flow-logs" in resource for resource in statement["Resource"])
    assert all(not action.endswith("*") for action in statement["Action"])


def test_flow_logs_can_be_turned_off(synth):
    _, stack = synth(make_config(network={"flow_logs": {"enabled": False}}))
    for resource_type in ("aws_flow_log", "aws_cloudwatch_log_group"):
        assert resources_of(stack, resource_type) == {}
    assert not [name for name in resources_of(stack, "aws_kms_key") if name.startswith("network_")]


def test_s3_gateway_endpoint_on_the_route_table(default_stack):
    endpoint = only(default_stack, "aws_vpc_endpoint")
    assert endpoint["service_name"] == "com.amazonaws.eu-west-1.s3"
    assert endpoint["vpc_endpoint_type"] == "Gateway"
    assert endpoint["route_table_ids"] == [ref("aws_route_table", default_stack)]


def test_s3_endpoint_can_be_turned_off(synth):
    _, stack = synth(make_config(network={"s3_gateway_endpoint": False}))
    assert resources_of(stack, "aws_vpc_endpoint") == {}


def test_adopting_reads_the_vpc_instead_of_creating_it(synth):
    network = {"existing_vpc_id": "vpc-0123456789abcdef0", "existing_subnet_id": "subnet-0123456789abcdef0"}
    _, stack = synth(make_config(network=network))
    for resource_type in ("aws_vpc", "aws_subnet", "aws_internet_gateway"):
        assert resources_of(stack, resource_type) == {}
    assert [v["id"] for v in data_of(stack, "aws_vpc").values()] == ["vpc-0123456789abcdef0"]
    assert [v["id"] for v in data_of(stack, "aws_subnet").values()] == ["subnet-0123456789abcdef0"]
    assert len(data_of(stack, "aws_internet_gateway")) == 1
    # Its own route table still carries the sandbox's routes.
    assert len(resources_of(stack, "aws_route")) == 2
    assert len(resources_of(stack, "aws_route_table_association")) == 1


def test_public_ipv4_bastion_gets_its_own_routed_subnet(synth):
    config = make_config(**PUBLIC_IPV4)
    _, stack = synth(config)
    subnets = {s["cidr_block"]: s for s in resources_of(stack, "aws_subnet").values()}
    assert set(subnets) == {"10.10.0.0/24", "10.10.1.0/28"}
    assert "255" in subnets["10.10.1.0/28"]["ipv6_cidr_block"]
    ipv4_routes = [r for r in resources_of(stack, "aws_route").values() if r.get("destination_cidr_block") == "0.0.0.0/0"]
    assert sorted("gateway_id" in r for r in ipv4_routes) == [False, True], "nodes via the ENI, bastion via the IGW"
