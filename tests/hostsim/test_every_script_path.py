"""Every node's own user-data, the default config's branches, masquerade scope with real
packets, and the tunnel MTU as traffic that depends on it."""

from __future__ import annotations

import re

import pytest

from harness.hostsim.internet import ASSET, GITHUB, LARGE_FILE
from harness.wait import wait_for

from .conftest import NO_PEER_WARNING, SCENARIOS, assert_downloads

INSTALL_LOG = "/var/log/talos-sandbox-install.log"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_node_runs_its_own_user_data(running_sandbox, scenario):
    sandbox = running_sandbox(scenario)
    names = {str(node.private_ip): node.name for node in sandbox.config.nodes}
    for ip, node in sandbox.world.nodes.items():
        wait_for(lambda: "attempt at" in node.machine.read(INSTALL_LOG), 60, what=f"{ip}'s first install attempt")
        assert f"talos-sandbox install of {names[ip]}:" in node.machine.read(INSTALL_LOG)
        assert node.machine.unit("talos-sandbox-install.service")["UnitFileState"] == "enabled"


def test_default_config_nodes_wait_and_say_why(running_sandbox):
    sandbox = running_sandbox("default-config")
    assert NO_PEER_WARNING in sandbox.console(sandbox.world.bastion)
    for node in sandbox.world.nodes.values():
        wait_for(lambda: "no IPv4 egress through the bastion yet" in node.machine.read(INSTALL_LOG), 60,
                 what="the reason the node waits")  # fmt: skip
        assert node.machine.unit("talos-sandbox-install.service")["ActiveState"] in ("activating", "inactive")


def test_unpinned_release_warns_then_checks_the_checksums_file(running_sandbox):
    sandbox = running_sandbox("default-public-ipv4")
    for node in sandbox.world.nodes.values():
        wait_for(lambda: "installing " in node.machine.read(INSTALL_LOG), 90, what="the install")
        log = node.machine.read(INSTALL_LOG)
        warning = log.index("WARNING: talos.boot_to_talos_sha256 is not set")
        assert log.count(f"{ASSET}: OK") == 1 and log.index(f"{ASSET}: OK") > warning, log


@pytest.mark.parametrize("scenario", ["default-wireguard", "default-public-ipv4"])
def test_a_vpc_host_outside_the_node_subnet_gets_nothing_through(running_sandbox, scenario):
    """The stranger resolves github.com and its TCP path is the nodes' (routed to the bastion)."""
    sandbox = running_sandbox(scenario)
    world = sandbox.world
    node = next(iter(world.nodes.values()))
    resolve = ["--resolve", f"github.com:443:{GITHUB}"]
    # The same request from a node gets through...
    control = node.machine.run("curl", "-4", "-fsS", "-o", "/dev/null", "--max-time", "5", *resolve, "https://github.com/",
                               check=False)  # fmt: skip
    assert control.returncode == 0, f"the control request failed: {control.stderr}"
    seen = len(world.egress_address())
    stranger = world.vpc.execute("curl", "-4", "-sS", "-o", "/dev/null", "--max-time", "5", *resolve, "--cacert",
                                 str(world.internet.ca_cert), "--interface", world.stranger, "https://github.com/",
                                 check=False)  # fmt: skip
    assert stranger.returncode != 0, "traffic from outside the node subnet left the VPC"
    ping = world.vpc.execute("ping", "-c", "2", "-W", "2", "-I", world.stranger, GITHUB, check=False)
    assert ping.returncode != 0, "a datagram from outside the node subnet left the VPC"
    assert world.egress_address(seen) == [], "the internet saw the stranger's request"
    assert_downloads(node)


@pytest.mark.parametrize("scenario", ["default-wireguard", "other-wireguard"])
def test_the_bastions_own_download_goes_through_the_tunnel(running_sandbox, scenario):
    """Full-size TCP of the bastion itself (not clamped: only forwarded TCP is) fits the tunnel's MTU."""
    bastion = running_sandbox(scenario).world.bastion
    assert "dev wg0" in bastion.machine.run("ip", "route", "get", GITHUB).stdout
    result = bastion.machine.run("curl", "-4", "-fsS", "-o", "/dev/null", "--max-time", "20", "--speed-time", "5",
                                 "--speed-limit", "1000", f"https://github.com/{LARGE_FILE}", check=False)  # fmt: skip
    assert result.returncode == 0, f"the bastion's own download stalled: {result.stderr}"


@pytest.mark.parametrize("scenario", ["default-wireguard", "other-wireguard"])
def test_a_full_size_datagram_from_a_node_arrives(running_sandbox, scenario):
    """A node learns the path's size from the bastion (fragmentation needed) and a datagram that size arrives."""
    sandbox = running_sandbox(scenario)
    node = next(iter(sandbox.world.nodes.values()))
    node.machine.run("ping", "-c", "1", "-W", "2", "-M", "do", "-s", "4000", GITHUB, check=False)
    route = node.machine.run("ip", "route", "get", GITHUB).stdout
    learned = re.search(r"mtu (\d+)", route)
    assert learned, f"no path MTU learned from the bastion: {route}"
    size = int(learned.group(1))
    assert size <= sandbox.config.bastion.wireguard.mtu
    ping = node.machine.run("ping", "-c", "2", "-W", "3", "-M", "do", "-s", str(size - 28), GITHUB, check=False)
    assert ping.returncode == 0, f"a {size}-byte datagram did not arrive:\n{ping.stdout}"
