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
