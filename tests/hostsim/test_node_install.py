"""A node's user-data, run by cloud-init under systemd: it waits for the bastion, verifies, then installs."""

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
    for line in node.machine.read(STUB_RECORD).splitlines():
        key, _, value = line.partition(" ")
        fields.setdefault(key, []).append(value)
    return fields


def installed(state: dict) -> bool:
    return state["ActiveState"] == "inactive" and state["Result"] == "success" and state["ExecMainStatus"] == "0"


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
    wait_for(lambda: record(node).get("fd"), 60, what="boot-to-talos to run")
    assert sandbox.wait_for_unit(node, UNIT, installed, "installed")
    log = node.machine.read("/var/log/talos-sandbox-install.log")
    assert log.count(f"{ASSET}: OK") == 2, f"pinned digest and release checksums both checked:\n{log}"
    found = record(node)
    assert found["arg"] == expected_arguments(sandbox, node.ip)
    assert found["cwd_fs"] == ["tmpfs"] and found["exe_fs"] == ["tmpfs"], "binary and working directory in RAM"
    descriptors = dict(line.split(" ", 1) for line in found["fd"])
    # nspawn's /dev/console is its pty: the same device under another name.
    console = node.machine.run("stat", "-L", "-c", "%t:%T", "/dev/console").stdout
    assert descriptors["1"] == descriptors["2"], f"output and errors to one place: {descriptors}"
    assert node.machine.run("stat", "-L", "-c", "%t:%T", descriptors["1"]).stdout == console, descriptors
    assert not any(target.startswith("pipe:") for target in descriptors.values()), descriptors


def test_node_started_before_its_bastion_keeps_trying_then_installs(new_sandbox):
    sandbox = new_sandbox("default-wireguard")
    world = sandbox.world
    # No bastion yet. The VPC router refuses the nodes' way out at once, so attempts come
    # faster than systemd's default start limit (5 in 10 s): only StartLimitIntervalSec=0
    # keeps the unit retrying.
    world.vpc.nft("table inet no_bastion { chain forward { type filter hook forward priority filter; "
                  f"ip saddr {sandbox.stack.node_subnet} reject with icmp type admin-prohibited; }}; }}")
    node = sandbox.start_node()
    state = sandbox.wait_for_unit(node, UNIT, lambda s: int(s["NRestarts"]) >= 8 or s["ActiveState"] == "failed",
                                  "restarted 8 times", timeout=60)  # fmt: skip
    assert state["ActiveState"] != "failed", f"systemd gave up: {state}"
    assert "no IPv4 egress through the bastion yet" in node.machine.read("/var/log/talos-sandbox-install.log")
    assert not node.machine.read(STUB_RECORD)
    world.vpc.execute("nft", "delete", "table", "inet", "no_bastion")
    sandbox.boot_bastion()
    wait_for(lambda: record(node).get("arg"), 90, what="boot-to-talos to run")
    assert record(node)["arg"][:3] == ["-yes", "-mode", "install"]


@pytest.mark.parametrize("tampered", ["tarball", "checksums"])
def test_tampered_release_never_runs(new_sandbox, tampered):
    sandbox = new_sandbox("other-public-ipv4")  # pinned
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
    state = sandbox.wait_for_unit(node, UNIT, lambda s: s["ActiveState"] == "failed", "failed")
    assert (state["ExecMainStatus"], state["NRestarts"]) == (str(EXIT_TAMPERED), "0"), f"final, not retried: {state}"
    assert not node.machine.read(STUB_RECORD) and not node.machine.read("/var/log/evil"), "the download never ran"
    assert reason in node.machine.read("/var/log/talos-sandbox-install.log")
