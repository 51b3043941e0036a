"""The operator runbook and the per-node talosctl commands."""

from __future__ import annotations

from talos_sandbox.config import default_config
from talos_sandbox.runbook import apply_config_command, control_plane_endpoint, next_steps, upgrade_command

from .conftest import WIREGUARD, make_config


def test_apply_config_command_uses_the_nodes_patch_and_address():
    config = default_config()
    command = apply_config_command(config, config.nodes[2])
    assert "--config-patch @talos/talos-compute-3.yaml" in command
    assert "--with-secrets secrets.yaml" in command and "--output-types controlplane" in command
    assert command.endswith("talosctl apply-config --insecure -n 10.10.0.103 --file talos-compute-3.yaml")
    assert control_plane_endpoint(config) == "https://10.10.0.101:6443"


def test_workers_and_endpoint():
    config = make_config(
        nodes=[
            {"name": "w1", "private_ip": "10.10.0.20", "machine_type": "worker"},
            {"name": "cp1", "private_ip": "10.10.0.21", "role": "gateway"},
        ]
    )
    assert control_plane_endpoint(config) == "https://10.10.0.21:6443"
    assert "--output-types worker" in apply_config_command(config, config.nodes[0])


def test_runbook_for_the_default_warns_about_egress_and_metallb():
    text = next_steps(default_config(), "cdktf.out/stacks/cozy-demo")
    assert "cd cdktf.out/stacks/cozy-demo" in text
    assert "no WireGuard peer configured" in text
    assert "talosctl bootstrap" in text and "talosctl gen secrets -o secrets.yaml" in text
    assert "TSL001" in text
    for node in default_config().nodes:
        assert apply_config_command(default_config(), node) in text


def test_runbook_with_tunnel_and_secondary_ips():
    config = make_config(
        bastion={"wireguard": WIREGUARD, "ssh_ipv6_cidrs": ["2001:db8:0:1::/64"]},
        loadbalancer={"mode": "eni-secondary-ips", "addresses": ["10.10.0.200", "10.10.0.201"]},
    )
    text = next_steps(config, "out")
    assert "--name /cozy-demo/wireguard/private-key" in text
    assert "ssh ec2-user@$(terraform output -raw bastion_ipv6)" in text
    assert "spec.addresses: [10.10.0.200/32, 10.10.0.201/32]" in text
    assert "kubernetes.io/hostname=talos-gateway-1" in text


def test_upgrade_step_only_on_the_ami_method():
    config = default_config()
    assert all(upgrade_command(config, node) is None for node in config.nodes)
    text = next_steps(config, "out")
    assert "talosctl upgrade" not in text and "get-console-output" in text


def test_ami_runbook_upgrades_each_node_to_its_role_image_after_bootstrap():
    config = make_config(
        talos={"install_method": "talos-ami"},
        nodes=[
            {"name": "gw", "private_ip": "10.10.0.20", "role": "gateway"},
            {"name": "w1", "private_ip": "10.10.0.21", "machine_type": "worker"},
        ],
    )
    assert upgrade_command(config, config.nodes[0]) == (
        "talosctl upgrade -n 10.10.0.20 -e 10.10.0.20 --image " + config.talos.images.gateway
    )
    text = next_steps(config, "out")
    assert "get-console-output" not in text and "talos-v1.11.6-eu-west-1-arm64" in text
    after_bootstrap = text[text.index("talosctl bootstrap") :]
    for node in config.nodes:
        command = upgrade_command(config, node)
        assert command.endswith(f"--image {config.node_image(node)}") and "--preserve" not in command
        assert text.index(apply_config_command(config, node)) < text.index(command)
        assert command in after_bootstrap
    assert "Talos 1.8" in text  # says why there is no --preserve


def test_ami_runbook_names_an_explicit_ami():
    text = next_steps(make_config(talos={"install_method": "talos-ami", "ami_id": "ami-0123456789abcdef0"}), "out")
    assert "official Talos AMI (ami-0123456789abcdef0)" in text
