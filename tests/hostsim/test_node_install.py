"""A node's user-data, run byte for byte: it waits for the bastion, verifies, then installs."""

from __future__ import annotations

import hashlib

import pytest

from harness.hostsim.hosts import wait_for
from harness.hostsim.internet import ASSET, CHECKSUMS, STUB_RECORD, release_tarball

UNIT = "talos-sandbox-install.service"
EXIT_NOT_YET = 75
EXIT_TAMPERED = 65


def record(node) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for line in node.host.read(STUB_RECORD).splitlines():
        key, _, value = line.partition(" ")
        fields.setdefault(key, []).append(value)
    return fields


def expected_arguments(sandbox, ip) -> list[str]:
    config = sandbox.config
    [node] = [n for n in config.nodes if n.private_ip == ip]
    network = config.network
    kernel = [
        f"ip={ip}::{network.router_ip}:{network.subnet_cidr.netmask}:{node.name}:eth0:off:{network.dns_ip}",
        "net.ifnames=0",
        "console=ttyS0,115200n8",
    ]
    arguments = ["-yes", "-mode", "install", "-disk", config.talos.install_disk, "-image", config.node_image(node)]
    for argument in kernel:
        arguments += ["-extra-kernel-arg", argument]
    return arguments


@pytest.mark.parametrize("scenario", ["default-wireguard", "other-public-ipv4"])
def test_node_verifies_then_installs_from_ram(new_sandbox, scenario):
    sandbox = new_sandbox(scenario)
    sandbox.boot_bastion()
    node = sandbox.start_node()
    assert sandbox.wait_for_unit(node, UNIT, "inactive (succeeded)")
    log = node.host.read("/var/log/talos-sandbox-install.log")
    assert log.count(f"{ASSET}: OK") == 2, f"pinned digest and release checksums both checked:\n{log}"
    found = record(node)
    assert found["arg"] == expected_arguments(sandbox, node.ip)
    assert found["cwd_fs"] == ["tmpfs"] and found["exe_fs"] == ["tmpfs"], "binary and working directory in RAM"
    descriptors = dict(line.split(" ", 1) for line in found["fd"])
    assert descriptors["1"] == descriptors["2"] == "/dev/console", f"output straight to the console: {descriptors}"
    assert not any(target.startswith("pipe:") for target in descriptors.values()), descriptors


def test_node_started_before_its_bastion_waits_then_installs(new_sandbox):
    sandbox = new_sandbox("default-wireguard")
    node = sandbox.start_node()  # no bastion yet: the route to its ENI leads nowhere
    def failures() -> list[str]:
        return [line for line in sandbox.unit_journal(node) if f"failed status={EXIT_NOT_YET}" in line]

    wait_for(lambda: len(failures()) >= 3, 90, what="three failed attempts")
    assert not node.host.read(STUB_RECORD)
    sandbox.boot_bastion()
    assert sandbox.wait_for_unit(node, UNIT, "inactive (succeeded)")
    assert record(node)["arg"][:3] == ["-yes", "-mode", "install"]
    unit = node.host.read(f"/etc/systemd/system/{UNIT}")
    assert "StartLimitIntervalSec=0" in unit and "Restart=on-failure" in unit, "systemd never gives up"


@pytest.mark.parametrize("tampered", ["tarball", "checksums"])
def test_tampered_release_never_runs(new_sandbox, tampered):
    sandbox = new_sandbox("default-public-ipv4")
    version = sandbox.config.talos.boot_to_talos_version
    if tampered == "tarball":
        # Another binary, with a checksums file to match: only the pin in config catches it.
        evil = release_tarball(stub="#!/bin/bash\necho evil > /var/log/evil\n")
        sandbox.world.internet.publish_release(version, tarball=evil)
        reason = "does not match talos.boot_to_talos_sha256"
    else:
        wrong = hashlib.sha256(b"something else").hexdigest()
        sandbox.world.internet.publish_release(version, checksums=f"{wrong}  {ASSET}\n")
        reason = f"does not match the release's {CHECKSUMS.split('-')[-1].split('.')[0]} file"
    sandbox.boot_bastion()
    node = sandbox.start_node()
    state = sandbox.wait_for_unit(node, UNIT, "failed")
    assert f"status={EXIT_TAMPERED} attempt=1" in state, "a failed verification is final, not retried"
    assert not node.host.read(STUB_RECORD) and not node.host.read("/var/log/evil"), "the download never ran"
    assert reason in node.host.read("/var/log/talos-sandbox-install.log")
