"""The operator runbook and the per-node talosctl commands."""

from __future__ import annotations

from talos_sandbox.config import default_config
from talos_sandbox.runbook import apply_config_command, control_plane_endpoint, next_steps

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
