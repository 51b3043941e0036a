"""SandboxStack: composition and the handoff outputs."""

from __future__ import annotations

from talos_sandbox.config import default_config
from talos_sandbox.documents.talos_commands import apply_config_command, upgrade_command

from ..conftest import PUBLIC_IPV4, make_config, resources_of


def test_handoff_outputs(default_stack):
    outputs = default_stack["output"]
    assert set(outputs) == {
        "vpc_id", "subnet_id", "bastion_eni_id", "bastion_private_ipv4", "bastion_ipv6",
        "security_group_ids", "node_private_ips", "node_instance_ids", "talosctl_apply_config",
        "cluster_status_parameter", "cluster_kubeconfig_parameter", "cluster_talosconfig_parameter",
        "cluster_read_policy_arn",
    }  # fmt: skip
    assert outputs["bastion_private_ipv4"]["value"] == "10.10.0.100"
    assert outputs["bastion_eni_id"]["value"].startswith("${aws_network_interface.bastion_eni_")
    assert "ipv6_addresses" in outputs["bastion_ipv6"]["value"]
    assert outputs["node_private_ips"]["value"] == {
        "talos-gateway-1": "10.10.0.101", "talos-compute-2": "10.10.0.102", "talos-compute-3": "10.10.0.103"
    }  # fmt: skip
    assert set(outputs["security_group_ids"]["value"]) == {"bastion", "nodes"}
    config = default_config()
    assert outputs["talosctl_apply_config"]["value"]["talos-compute-2"] == apply_config_command(config, config.nodes[1])


def test_optional_outputs(synth):
    config = make_config(
        **PUBLIC_IPV4,
        loadbalancer={"mode": "eni-secondary-ips", "addresses": ["10.10.0.200"]},
    )
    _, stack = synth(config)
    assert stack["output"]["bastion_public_ipv4"]["value"].startswith("${aws_eip.bastion_public-ipv4_")
    assert stack["output"]["loadbalancer_addresses"]["value"] == ["10.10.0.200"]


def test_ami_method_outputs_the_upgrade_commands(synth):
    config = make_config(talos={"install_method": "talos-ami"})
    _, stack = synth(config)
    assert stack["output"]["talosctl_upgrade"]["value"] == {
        node.name: upgrade_command(config, node) for node in config.nodes
    }


def test_loadbalancer_addresses_go_on_the_gateway_node_only(synth):
    _, stack = synth(make_config(loadbalancer={"mode": "eni-secondary-ips", "addresses": ["10.10.0.200", "10.10.0.201"]}))
    carriers = {
        instance["tags"]["Name"]: instance.get("secondary_private_ips")
        for instance in resources_of(stack, "aws_instance").values()
    }
    assert carriers == {
        "cozy-demo-talos-gateway-1": ["10.10.0.200", "10.10.0.201"],
        "cozy-demo-talos-compute-2": None,
        "cozy-demo-talos-compute-3": None,
    }


def test_metallb_l2_mode_assigns_nothing(synth):
    _, stack = synth(make_config(loadbalancer={"mode": "metallb-l2", "addresses": ["10.10.0.200"]}))
    assert all("secondary_private_ips" not in i for i in resources_of(stack, "aws_instance").values())


def test_each_architecture_gets_its_own_amazon_linux_and_boot_to_talos(synth):
    """The bastion stays arm64; the nodes' Amazon Linux and boot-to-talos follow their types."""
    for arch, node_type, ec2_arch in (("arm64", "t4g.medium", "arm64"), ("amd64", "m8i.2xlarge", "x86_64")):
        _, stack = synth(make_config(node_defaults={"instance_type": node_type}))
        parameters = {name: body["name"] for name, body in stack["data"]["aws_ssm_parameter"].items()}
        assert parameters[f"al2023-{arch}"] == f"/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{ec2_arch}"
        assert parameters["al2023-arm64"].endswith("-arm64")
        for body in resources_of(stack, "aws_instance").values():
            assert body["ami"] == f"${{data.aws_ssm_parameter.al2023-{arch}.insecure_value}}"
            assert f"readonly ASSET=boot-to-talos-linux-{arch}.tar.gz" in body["user_data"]
        [template] = resources_of(stack, "aws_launch_template").values()
        assert template["image_id"] == "${data.aws_ssm_parameter.al2023-arm64.insecure_value}"


def test_the_official_talos_ami_of_the_nodes_architecture(synth):
    _, stack = synth(make_config(node_defaults={"instance_type": "m8i.2xlarge"}, talos={"install_method": "talos-ami"}))
    [(name, ami)] = stack["data"]["aws_ami"].items()
    filters = {f["name"]: f["values"] for f in ami["filter"]}
    assert name == "talos-amd64" and filters == {"name": ["talos-v1.13.0-eu-west-1-amd64"], "architecture": ["x86_64"]}
