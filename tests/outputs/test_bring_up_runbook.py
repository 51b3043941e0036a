"""next-steps with the bring-up on: watch, fetch, reach the API; nothing on the bastion."""

from __future__ import annotations

import subprocess

from talos_sandbox.config import SandboxConfig, default_config
from talos_sandbox.outputs.runbook import BASTION, runbook

from ..conftest import make_config


def ids(config) -> list[str]:
    return [step.id for step in runbook(config, "out").steps]


def test_the_default_needs_no_shell_on_the_bastion():
    book = runbook(default_config(), "out")
    assert [s.id for s in book.steps] == [
        "deploy", "ipv4-egress", "node-consoles", "watch-bring-up", "fetch-credentials", "reach-api",
        "install-cozystack", "linstor-storage", "cozystack-health", "service-addresses",
    ]  # fmt: skip
    assert not [s.id for s in book.steps if s.where == BASTION]
    assert not [c.run for s in book.steps for c in s.commands if c.run.startswith("talosctl health")]


def test_with_a_pinned_chart_the_bastion_installs_cozystack_and_you_watch():
    config = make_config(cozystack={"chart_sha256": "0" * 64})
    book = runbook(config, "out")
    assert [s.id for s in book.steps] == [
        "deploy", "ipv4-egress", "node-consoles", "watch-bring-up", "fetch-credentials", "reach-api",
        "watch-cozystack", "service-addresses",
    ]  # fmt: skip
    watch = {s.id: s for s in book.steps}["watch-cozystack"]
    assert "/cozy-demo/cluster/status" in watch.commands[0].run and "kubectl get hr -A" in [c.run for c in watch.commands]


def test_linstor_pools_from_your_machine_ask_talos_through_the_forward():
    steps = {s.id: s for s in runbook(default_config(), "out").steps}
    runs = [c.run for c in steps["linstor-storage"].commands]
    assert sum("create-device-pool zfs" in run for run in runs) == 3
    assert all("talosctl --talosconfig talosconfig -e 127.0.0.1 -n 10.10.0." in run for run in runs if "create-device-pool" in run)


def test_watch_and_fetch_read_the_parameters_terraform_outputs_name():
    book = {s.id: s for s in runbook(default_config(), "out").steps}
    [watch] = book["watch-bring-up"].commands
    assert "--name /cozy-demo/cluster/status --with-decryption" in watch.run
    fetch = [c.run for c in book["fetch-credentials"].commands]
    assert fetch[0].startswith("(umask 077; ") and "/cozy-demo/cluster/kubeconfig" in fetch[0] and "> kubeconfig)" in fetch[0]
    assert "/cozy-demo/cluster/talosconfig" in fetch[1]
    forward = book["reach-api"].commands[1].run
    assert "AWS-StartPortForwardingSessionToRemoteHost" in forward
    assert "host=10.10.0.101,portNumber=6443,localPortNumber=6443" in forward


def test_off_keeps_the_manual_runbook():
    manual = ids(make_config(bring_up={"enabled": False}))
    assert "configure-talos" in manual and "bootstrap" in manual and "watch-bring-up" not in manual


def test_talos_ami_upgrades_on_the_bastion_with_the_stored_talosconfig():
    book = runbook(make_config(talos={"install_method": "talos-ami", "ami_id": "ami-0123456789abcdef0"}), "out")
    steps = {s.id: s for s in book.steps}
    assert "configure-talos" not in steps
    upgrade = steps["upgrade-nodes"]
    assert upgrade.where == BASTION and "/cozy-demo/cluster/talosconfig" in upgrade.commands[0].run
    assert "export TALOSCONFIG=" in upgrade.commands[0].run


def test_every_command_is_valid_shell():
    for step in runbook(default_config(), "out").steps:
        for command in step.commands:
            result = subprocess.run(["bash", "-n", "-c", command.run], capture_output=True, text=True)
            assert result.returncode == 0, f"{step.id}: {command.run}\n{result.stderr}"
