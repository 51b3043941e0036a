"""The bastion's boot script, run by cloud-init under systemd on a simulated instance: NAT, tunnel, access."""

from __future__ import annotations

import pytest

from harness.hostsim.world import ELASTIC_IP, INTERNET_PEER, METADATA, S3_ENDPOINT_ADDRESS, TIME_SYNC

from harness.wait import wait_for

from .conftest import SCENARIOS, SSH_KEY, assert_downloads, download

RUNNING = [name for name in SCENARIOS if name != "default-config"]  # with IPv4 egress
WIREGUARD_SCENARIOS = [name for name in SCENARIOS if name.endswith("wireguard")]
NAT_TABLE = "talos_sandbox_nat"


def egress_address(sandbox) -> str:
    return INTERNET_PEER[1] if sandbox.config.bastion.ipv4_egress == "wireguard" else ELASTIC_IP


@pytest.mark.parametrize("scenario", RUNNING)
def test_every_node_downloads_through_the_bastion(running_sandbox, scenario):
    # The internet path is 1500 bytes and loses "fragmentation needed"; only a tunnel MTU
    # that fits and clamped MSS carry full-size TCP through (see harness/hostsim/world.py).
    sandbox = running_sandbox(scenario)
    for node in sandbox.world.nodes.values():
        assert_downloads(node)


@pytest.mark.parametrize("scenario", RUNNING)
def test_only_the_node_subnet_is_masqueraded(running_sandbox, scenario):
    sandbox = running_sandbox(scenario)
    world = sandbox.world
    seen = len(world.egress_address())
    node = next(iter(world.nodes.values()))
    assert_downloads(node)
    assert set(world.egress_address(seen)) == {egress_address(sandbox)}, "the internet sees the bastion's egress address"
    # Another address of the VPC, routed like the nodes: the bastion forwards it unmasqueraded,
    # so the peer (cryptokey routing) or the internet gateway (no Elastic IP for it) drops it.
    stranger = world.vpc.execute("curl", "-4", "-sS", "--max-time", "5", "--interface", world.stranger,
                                 "--cacert", str(world.internet.ca_cert), "https://github.com", check=False)  # fmt: skip
    assert stranger.returncode != 0, "traffic from outside the node subnet left the VPC"
    # The nodes have no other way out: no IPv6 route, nothing but the VPC router for IPv4.
    routes = node.machine.run("ip", "-6", "route", "show", "default").stdout
    assert routes.strip() == "", f"node has an IPv6 default route: {routes}"
    assert node.machine.run("ip", "route", "show", "default").stdout.split()[:3] == [
        "default", "via", str(sandbox.stack.node_subnet.network_address + 1)
    ]


@pytest.mark.parametrize("scenario", RUNNING)
def test_bastion_keeps_aws_services_outside_the_tunnel(running_sandbox, scenario):
    sandbox = running_sandbox(scenario)
    bastion = sandbox.world.bastion
    token = bastion.machine.run("curl", "-fsS", "--max-time", "3", "-X", "PUT", f"http://{METADATA}/latest/api/token",
                             "-H", "X-aws-ec2-metadata-token-ttl-seconds: 60", check=False)  # fmt: skip
    assert token.returncode == 0, f"instance metadata unreachable: {token.stderr}"
    credentials = bastion.machine.run(
        "curl", "-fsS", "--max-time", "3", "-H", f"X-aws-ec2-metadata-token: {token.stdout}",
        f"http://{METADATA}/latest/meta-data/iam/security-credentials/{sandbox.stack.bastion_role}", check=False,
    )  # fmt: skip
    assert '"AccessKeyId"' in credentials.stdout
    resolver = str(sandbox.stack.vpc_cidr.network_address + 2)
    for target in (TIME_SYNC, resolver, S3_ENDPOINT_ADDRESS):
        route = bastion.machine.run("ip", "route", "get", target).stdout
        assert "dev wg0" not in route, f"{target} goes into the tunnel: {route}"
        ping = bastion.machine.run("ping", "-c", "1", "-W", "2", target, check=False)
        assert ping.returncode == 0, f"bastion cannot reach {target}"


@pytest.mark.parametrize("scenario", WIREGUARD_SCENARIOS)
def test_key_is_read_over_ipv6_and_never_written_elsewhere(running_sandbox, scenario):
    sandbox = running_sandbox(scenario)
    bastion = sandbox.world.bastion
    calls = sandbox.world.internet.access_log.read_text()
    assert f"{bastion.ipv6.split('/')[0]} ssm.{sandbox.config.region}.api.aws POST" in calls, calls
    assert bastion.machine.mode("/etc/wireguard/private.key")[0] & 0o077 == 0
    mtu = bastion.machine.run("ip", "-o", "link", "show", "wg0").stdout
    assert f"mtu {sandbox.config.bastion.wireguard.mtu} " in mtu


@pytest.mark.parametrize("scenario", ["default-wireguard"])
def test_ssh_keys_and_session_manager_dual_stack(running_sandbox, scenario):
    bastion = running_sandbox(scenario).world.bastion
    machine = bastion.machine
    assert machine.read("/home/ec2-user/.ssh/authorized_keys") == SSH_KEY + "\n"
    assert machine.mode("/home/ec2-user/.ssh/authorized_keys") == (0o600, 1000)
    # The agent stand-in, restarted by the script, reads the config and reaches the dual-stack endpoint.
    region = running_sandbox(scenario).config.region
    wait_for(lambda: f"connected to ssm.{region}.api.aws" in machine.read("/var/log/amazon/ssm/amazon-ssm-agent.log"),
             20, what="the SSM agent on the dual-stack endpoint")  # fmt: skip


NAT_UNIT = "talos-sandbox-nat.service"


def nft_tables(bastion) -> str:
    return bastion.machine.run("nft", "list", "tables").stdout


@pytest.mark.parametrize("scenario", ["default-wireguard"])
def test_restarting_one_unit_leaves_the_other(new_sandbox, scenario):
    sandbox = new_sandbox(scenario)
    bastion = sandbox.boot_bastion()
    node = sandbox.start_node()
    assert_downloads(node)
    tunnel_tables = {line for line in nft_tables(bastion).splitlines() if "wg-quick" in line}
    assert tunnel_tables, "wg-quick installs its own table"

    bastion.machine.run("systemctl", "restart", NAT_UNIT)
    assert tunnel_tables <= set(nft_tables(bastion).splitlines()), "restarting the NAT removed wg-quick's table"
    assert "wg0" in bastion.machine.run("wg", "show", "interfaces").stdout
    assert_downloads(node)

    bastion.machine.run("systemctl", "restart", "wg-quick@wg0")
    assert f"table ip {NAT_TABLE}" in nft_tables(bastion), "restarting the tunnel removed the NAT"
    assert_downloads(node)


@pytest.mark.parametrize("scenario", ["default-wireguard", "default-public-ipv4"])
def test_reboot_restores_nat_and_tunnel(new_sandbox, scenario):
    sandbox = new_sandbox(scenario)
    bastion = sandbox.boot_bastion()
    node = sandbox.start_node()
    sandbox.world.reboot(bastion)
    bastion.machine.wait_booted()
    assert f"table ip {NAT_TABLE}" in nft_tables(bastion)
    assert bastion.machine.run("sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "1"
    assert_downloads(node)
    if sandbox.config.bastion.ipv4_egress == "wireguard":
        assert bastion.machine.run("ip", "route", "get", METADATA).stdout.count("wg0") == 0


@pytest.mark.parametrize("scenario", ["default-wireguard", "other-public-ipv4"])
def test_replaced_bastion_gives_the_nodes_egress_back(new_sandbox, scenario):
    sandbox = new_sandbox(scenario)
    sandbox.boot_bastion()
    nodes = sandbox.launch_nodes()
    assert_downloads(nodes[0])
    sandbox.world.terminate_bastion()
    assert download(nodes[0], timeout=5).returncode != 0, "no egress while the bastion is gone"
    sandbox.boot_bastion()  # same ENI address, MAC and IPv6; a fresh disk
    for node in nodes:
        assert_downloads(node)


def started_at(bastion, unit: str) -> int:
    return int(bastion.machine.unit(unit, "ActiveEnterTimestampMonotonic")["ActiveEnterTimestampMonotonic"])


@pytest.mark.parametrize("scenario", ["default-wireguard"])
def test_units_enabled_and_started_in_order_after_reboot(new_sandbox, scenario):
    sandbox = new_sandbox(scenario)
    bastion = sandbox.boot_bastion()
    sandbox.world.reboot(bastion)
    bastion.machine.wait_booted()
    order = [NAT_UNIT, "wg-quick@wg0.service", "registry-cache@docker.io.service"]
    for unit in order:
        state = bastion.machine.unit(unit)
        assert (state["UnitFileState"], state["ActiveState"]) == ("enabled", "active"), f"{unit}: {state}"
    times = [started_at(bastion, unit) for unit in order]
    assert times[1] < times[2], f"the cache started before its egress: {dict(zip(order, times))}"


@pytest.mark.parametrize("scenario", ["default-wireguard"])
def test_a_crashed_cache_is_restarted(running_sandbox, scenario):
    bastion = running_sandbox(scenario).world.bastion
    unit = "registry-cache@registry.k8s.io.service"
    before = bastion.machine.unit(unit, "MainPID", "NRestarts")
    bastion.machine.run("kill", "-KILL", before["MainPID"])
    wait_for(lambda: bastion.machine.unit(unit, "NRestarts")["NRestarts"] != before["NRestarts"]
             and bastion.machine.unit(unit)["ActiveState"] == "active", 30, what="systemd to restart the cache")  # fmt: skip
