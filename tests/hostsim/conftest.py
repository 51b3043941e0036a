"""Fixtures for the host-level tests: synthesized scenarios and the simulated VPC around them.

Each test's world is built from the scenario's synthesized `cdk.tf.json` and torn down
afterwards (containers, namespaces, loop devices, processes, files), on failure too.
Every instance boots systemd and cloud-init, which runs its user-data as synthesized.
"""

from __future__ import annotations

import hashlib
import json
import ipaddress
import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.hostsim.hosts import wait_for
from harness.hostsim.internet import LARGE_FILE, large_file, release_sha256
from harness.hostsim.stack import SynthesizedStack
from harness.hostsim.talos_nodes import NodeIdentity
from harness.hostsim.tools import stand_in_pins
from harness.hostsim.world import Instance, SimulatedVpc
from talos_sandbox.config import SandboxConfig
from talos_sandbox.synth import synthesize

from ..conftest import WIREGUARD, make_config, require_tool, unavailable

# Each tool the simulation runs, with its Debian package (harness/debian-packages.sh).
TOOLS = {
    "ip": "iproute2", "ss": "iproute2", "ping": "iputils-ping", "nft": "nftables", "wg": "wireguard-tools",
    "wireguard-go": "wireguard-go", "curl": "curl", "openssl": "openssl", "systemd-nspawn": "systemd-container",
    "mmdebstrap": "mmdebstrap", "nsenter": "util-linux", "losetup": "mount", "docker-registry": "docker-registry",
}  # fmt: skip
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKg5tE2zUvNwy0FqY3d3aX7xQb2m1kq7Zp8s6yQm0fJb operator@laptop"
UNIT_WAIT_SECONDS = 60
NO_PEER_WARNING = "WARNING: bastion.ipv4_egress is wireguard but no peer is configured"


@pytest.fixture(scope="session", autouse=True)
def host_prerequisites():
    if os.geteuid() != 0:
        unavailable("host-level tests need root (network and mount namespaces)")
    for command, package in TOOLS.items():
        require_tool(command, package)
    if not Path("/dev/net/tun").exists():
        unavailable("host-level tests need /dev/net/tun for wireguard-go")


@pytest.fixture(scope="session")
def synth(tmp_path_factory):
    """synth(config) -> (stack folder, parsed cdk.tf.json), as tests/conftest.py's, but with the
    talosctl and kubectl pins of the release matrix replaced by the stand-ins' digests: the one
    place a host test's stack differs from the product's (harness/hostsim/tools, stand_in_pins)."""
    cache: dict[str, tuple[Path, dict]] = {}

    def run(config: SandboxConfig) -> tuple[Path, dict]:
        key = config.model_dump_json()
        if key not in cache:
            out = tmp_path_factory.mktemp("synth")
            with stand_in_pins():
                [stack_dir] = synthesize([config], out)
            cache[key] = (stack_dir, json.loads((stack_dir / "cdk.tf.json").read_text()))
        return cache[key]

    return run


def _wg_key() -> str:
    return subprocess.run(["wg", "genkey"], capture_output=True, text=True, check=True).stdout.strip()


@dataclass(frozen=True)
class Keys:
    bastion: str
    peer: str
    registry_credentials: str

    @property
    def peer_public(self) -> str:
        return subprocess.run(["wg", "pubkey"], input=self.peer, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="session")
def keys(host_prerequisites) -> Keys:
    return Keys(bastion=_wg_key(), peer=_wg_key(), registry_credentials=f"sandbox-bot:dckr_pat_{secrets.token_hex(16)}")


# The design's sandbox, and one with other CIDRs and five nodes; each in both egress modes;
# and the default config as shipped (no WireGuard peer). Every scenario pins the
# boot-to-talos digest but default-public-ipv4, which runs the unpinned branch.
REGISTRY_CREDENTIALS_PARAMETER = "/cozy-demo/registry/docker-io"
OTHER_NETWORK = {"vpc_cidr": "10.42.0.0/16", "subnet_cidr": "10.42.16.0/20"}
OTHER_NODES = [{"name": f"talos-{index}", "private_ip": f"10.42.16.{10 + index}", "role": "gateway" if index == 1 else "compute"}
               for index in range(1, 6)]  # fmt: skip
SCENARIOS = {
    "default-wireguard": {},
    "default-public-ipv4": {"egress": "public_ipv4", "bastion_subnet": "10.10.1.0/28", "bastion_ip": "10.10.1.10"},
    "other-wireguard": {"network": OTHER_NETWORK, "nodes": OTHER_NODES, "bastion_ip": "10.42.16.100"},
    "other-public-ipv4": {"network": OTHER_NETWORK, "nodes": OTHER_NODES, "egress": "public_ipv4",
                          "bastion_subnet": "10.42.32.0/28", "bastion_ip": "10.42.32.10"},
    "default-config": {"as_shipped": True},
}  # fmt: skip
UNPINNED = {"default-public-ipv4", "default-config"}
# The cluster's bring-up (tests/hostsim/test_cluster_bring_up.py): the default sandbox (three
# control planes) and five nodes with two workers on other CIDRs, without the registry caches.
FIVE_NODES = [{**node, "machine_type": "worker" if index > 3 else "controlplane"}
              for index, node in enumerate(OTHER_NODES, start=1)]  # fmt: skip
CLUSTER_SCENARIOS = {
    "cluster-default": {"scenario": "default-wireguard"},
    "cluster-five": {"scenario": "other-public-ipv4", "nodes": FIVE_NODES},
}


def scenario_config(name: str, keys: Keys) -> SandboxConfig:
    if name in CLUSTER_SCENARIOS:
        return cluster_config(name, keys)
    scenario = SCENARIOS[name]
    if scenario.get("as_shipped"):
        return make_config()
    network = dict(scenario.get("network", {}))
    bastion: dict = {"ssh_public_keys": [SSH_KEY]}
    if scenario.get("egress") == "public_ipv4":
        network["bastion_subnet_cidr"] = scenario["bastion_subnet"]
        bastion.update(ipv4_egress="public_ipv4")
    else:
        bastion["wireguard"] = {**WIREGUARD, "peer_public_key": keys.peer_public}
    if "bastion_ip" in scenario:
        bastion["private_ip"] = scenario["bastion_ip"]
    # Credentials for one cache, read from SSM like the WireGuard key.
    bastion["registry_caches"] = {"upstreams": {
        "docker.io": {"port": 5050, "credentials_parameter": REGISTRY_CREDENTIALS_PARAMETER},
        "registry.k8s.io": {"port": 5051},
    }}  # fmt: skip
    # The boot scripts' scenarios leave the cluster's bring-up to their own tests (they boot
    # nodes that never become Talos); the default config as shipped keeps it on.
    overrides = {"network": network, "bastion": bastion, "bring_up": {"enabled": False}}
    if name not in UNPINNED:
        overrides["talos"] = {"boot_to_talos_sha256": release_sha256()}
    if "nodes" in scenario:
        overrides["nodes"] = scenario["nodes"]
    return make_config(**overrides)


def cluster_config(name: str, keys: Keys) -> SandboxConfig:
    """A boot scripts' scenario with the bring-up on, no registry caches, one-minute health runs."""
    cluster = CLUSTER_SCENARIOS[name]
    document = scenario_config(cluster["scenario"], keys).model_dump(mode="json", exclude_none=True)
    document["bastion"]["registry_caches"] = {"enabled": False}
    document["bring_up"] = {"enabled": True, "health_timeout_minutes": 1}
    if "nodes" in cluster:
        document["nodes"] = cluster["nodes"]
    return make_config(**document)


@dataclass
class Sandbox:
    """A scenario's synthesized stack in its simulated world."""

    config: SandboxConfig
    stack: SynthesizedStack
    world: SimulatedVpc
    launches: int = 0

    def boot_bastion(self, wait: bool = True) -> Instance:
        """Launch a bastion on the static ENI (a fresh disk each time); cloud-init runs its user-data."""
        bastion = self.world.launch_bastion()
        if wait:
            assert_user_data_succeeded(bastion)
        return bastion

    def launch_nodes(self) -> list[Instance]:
        """Every node, each running its own user-data."""
        nodes = [self.world.launch_node(ip) for ip in sorted(self.stack.node_user_data)]
        for node in nodes:
            assert_user_data_succeeded(node)
        return nodes

    def start_node(self, ip: ipaddress.IPv4Address | None = None) -> Instance:
        """Launch one node (the first by default); cloud-init runs its user-data."""
        node = self.world.launch_node(ip or min(self.stack.node_user_data))
        assert_user_data_succeeded(node)
        return node

    @staticmethod
    def console(instance: Instance) -> str:
        return instance.machine.console()

    def wait_for_unit(self, instance: Instance, unit: str, condition: Callable[[dict], bool], what: str,
                      timeout: float = UNIT_WAIT_SECONDS) -> dict:  # fmt: skip
        def reached() -> dict | None:
            state = instance.machine.unit(unit)
            return state if condition(state) else None

        return wait_for(reached, timeout, interval=0.5, what=f"{unit} to be {what}")


def assert_user_data_succeeded(instance: Instance) -> None:
    """cloud-final ran the user-data to the end and it exited 0 (cloud-init's own record)."""
    machine = instance.machine
    machine.wait_cloud_final(timeout=240)
    result = machine.read("/var/lib/cloud/data/result.json")
    assert '"errors": []' in result, f"user-data of {machine.name} failed: {result}\n{machine.console()[-4000:]}"


def publish_cozystack(world: SimulatedVpc, config: SandboxConfig) -> None:
    """get.helm.sh's helm (the stand-in) and ghcr.io's cozy-installer chart (the harness's), for
    the bring-up's CozyStack phase; the test stacks pin both (harness/hostsim/tools, stand_in_pins)."""
    from talos_sandbox.facts import releases

    world.internet.publish_helm(releases.HELM.version)
    release = config.cozystack_release
    if config.cozystack.enabled and release is not None and release.install == "helm":
        world.internet.publish_chart(releases.COZY_INSTALLER_CHART, release.version.removeprefix("v"))


def _build(name: str, keys: Keys, synth, workdir: Path) -> Sandbox:
    config = scenario_config(name, keys)
    stack = SynthesizedStack.from_json(synth(config)[1])
    wireguard = config.bastion.wireguard if config.bastion.ipv4_egress == "wireguard" else None
    world = SimulatedVpc(
        stack,
        workdir,
        wireguard_endpoint=wireguard.peer_endpoint if wireguard else None,
        wireguard_key_parameter=config.wireguard_key_parameter if wireguard else None,
        wireguard_tunnel_address=str(wireguard.tunnel_address) if wireguard else "",
        bastion_private_key=keys.bastion,
        peer_private_key=keys.peer,
        parameters={REGISTRY_CREDENTIALS_PARAMETER: keys.registry_credentials},
    )
    world.__enter__()
    try:
        world.internet.publish_release(config.talos.boot_to_talos_version)
        world.internet.publish_registry_release(config.bastion.registry_caches.registry_version)
        if config.talos_release is not None:
            world.internet.publish_talosctl(config.talos_release.talosctl.version)
            world.internet.publish_kubectl(config.talos_release.kubectl.version)
        if name in CLUSTER_SCENARIOS:
            publish_cozystack(world, config)
            world.with_talos(config.name, config.talos_version, {
                str(node.private_ip): NodeIdentity(node.name, node.machine_type, node.root_volume_gb or
                                                   config.node_defaults.root_volume_gb, config.data_volume_gb or 0)
                for node in config.nodes
            })  # fmt: skip
    except BaseException:
        world.close()
        raise
    return Sandbox(config, stack, world)


@pytest.fixture
def new_sandbox(synth, keys, tmp_path) -> Iterator[Callable[[str], Sandbox]]:
    """new_sandbox(scenario) -> a fresh world with nothing booted; removed when the test ends."""
    sandboxes: list[Sandbox] = []

    def build(name: str) -> Sandbox:
        sandboxes.append(_build(name, keys, synth, tmp_path / f"world-{len(sandboxes)}"))
        return sandboxes[-1]

    yield build
    for sandbox in sandboxes:
        sandbox.world.close()


@pytest.fixture(scope="session")
def running_sandbox(synth, keys, tmp_path_factory) -> Iterator[Callable[[str], Sandbox]]:
    """running_sandbox(scenario) -> a shared world, bastion booted, every node booted (installing).

    For tests that only look; tests that restart, reboot or replace use new_sandbox.
    """
    cache: dict[str, Sandbox] = {}

    def get(name: str) -> Sandbox:
        if name not in cache:
            sandbox = _build(name, keys, synth, tmp_path_factory.mktemp(f"world-{name}"))
            cache[name] = sandbox
            if SCENARIOS[name].get("as_shipped"):
                # No peer: the script warns, then waits in vain for IPv4 egress (registry download).
                bastion = sandbox.boot_bastion(wait=False)
                wait_for(lambda: NO_PEER_WARNING in bastion.machine.console(), 120, what="the no-peer warning")
            else:
                sandbox.boot_bastion()
            sandbox.launch_nodes()
        return cache[name]

    yield get
    for sandbox in cache.values():
        sandbox.world.close()


def download(node: Instance, timeout: int = 30) -> subprocess.CompletedProcess:
    """The large file from the simulated internet over IPv4, bounded in time and in stalls."""
    return node.machine.run(
        "bash", "-c",
        f"set -o pipefail; curl -4 -fsS --max-time {timeout} --speed-time 10 --speed-limit 1000 https://ghcr.io/{LARGE_FILE} | sha256sum",
        check=False, timeout=timeout + 10,
    )  # fmt: skip


def assert_downloads(node: Instance) -> None:
    result = download(node)
    expected = hashlib.sha256(large_file()).hexdigest()
    assert result.stdout.split()[:1] == [expected], f"download from {node.ip} failed: {result.stderr.strip()}"
