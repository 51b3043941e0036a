"""The bastion's boot script, run byte for byte on a simulated instance: NAT, tunnel, access."""

from __future__ import annotations

import pytest

from harness.hostsim.world import ELASTIC_IP, INTERNET_PEER, METADATA, S3_ENDPOINT_ADDRESS, TIME_SYNC

from .conftest import SCENARIOS, SSH_KEY, assert_downloads, download

WIREGUARD_SCENARIOS = [name for name in SCENARIOS if name.endswith("wireguard")]
NAT_TABLE = "talos_sandbox_nat"


def egress_address(sandbox) -> str:
    return INTERNET_PEER[1] if sandbox.config.bastion.ipv4_egress == "wireguard" else ELASTIC_IP


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_node_downloads_through_the_bastion(running_sandbox, scenario):
    # The internet path is 1500 bytes and loses "fragmentation needed"; only a tunnel MTU
    # that fits and clamped MSS carry full-size TCP through (see harness/hostsim/world.py).
    sandbox = running_sandbox(scenario)
    for node in sandbox.world.nodes.values():
        assert_downloads(node)


@pytest.mark.parametrize("scenario", SCENARIOS)
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
    routes = node.host.run("ip", "-6", "route", "show", "default").stdout
    assert routes.strip() == "", f"node has an IPv6 default route: {routes}"
    assert node.host.run("ip", "route", "show", "default").stdout.split()[:3] == [
        "default", "via", str(sandbox.stack.node_subnet.network_address + 1)
    ]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_bastion_keeps_aws_services_outside_the_tunnel(running_sandbox, scenario):
    sandbox = running_sandbox(scenario)
    bastion = sandbox.world.bastion
    token = bastion.host.run("curl", "-fsS", "--max-time", "3", "-X", "PUT", f"http://{METADATA}/latest/api/token",
                             "-H", "X-aws-ec2-metadata-token-ttl-seconds: 60", check=False)  # fmt: skip
    assert token.returncode == 0, f"instance metadata unreachable: {token.stderr}"
    credentials = bastion.host.run(
        "curl", "-fsS", "--max-time", "3", "-H", f"X-aws-ec2-metadata-token: {token.stdout}",
        f"http://{METADATA}/latest/meta-data/iam/security-credentials/sandbox-bastion", check=False,
    )  # fmt: skip
    assert '"AccessKeyId"' in credentials.stdout
    resolver = str(sandbox.stack.vpc_cidr.network_address + 2)
    for target in (TIME_SYNC, resolver, S3_ENDPOINT_ADDRESS):
        route = bastion.host.run("ip", "route", "get", target).stdout
        assert "dev wg0" not in route, f"{target} goes into the tunnel: {route}"
        ping = bastion.host.run("ping", "-c", "1", "-W", "2", target, check=False)
        assert ping.returncode == 0, f"bastion cannot reach {target}"


@pytest.mark.parametrize("scenario", WIREGUARD_SCENARIOS)
def test_key_is_read_over_ipv6_and_never_written_elsewhere(running_sandbox, scenario):
    sandbox = running_sandbox(scenario)
    bastion = sandbox.world.bastion
    calls = bastion.host.read("/var/log/aws-shim.log")
    assert f"ssm.{sandbox.config.region}.api.aws ssm get-parameter" in calls, calls
    assert bastion.host.file("/etc/wireguard/private.key").stat().st_mode & 0o077 == 0
    mtu = bastion.host.run("ip", "-o", "link", "show", "wg0").stdout
    assert f"mtu {sandbox.config.bastion.wireguard.mtu} " in mtu


@pytest.mark.parametrize("scenario", ["default-wireguard"])
def test_ssh_keys_and_session_manager_dual_stack(running_sandbox, scenario):
    bastion = running_sandbox(scenario).world.bastion
    authorized = bastion.host.file("/home/ec2-user/.ssh/authorized_keys")
    assert authorized.read_text() == SSH_KEY + "\n"
    assert (authorized.stat().st_mode & 0o777, authorized.stat().st_uid) == (0o600, 1000)
    assert '"UseDualStackEndpoint": true' in bastion.host.read("/etc/amazon/ssm/amazon-ssm-agent.json")
    assert "amazon-ssm-agent.service active" in "\n".join(bastion.host.read("/run/systemd-shim/journal").splitlines())


def units(bastion) -> list[str]:
    wants = bastion.host.file("/etc/systemd/system/multi-user.target.wants")
    return sorted(path.name for path in wants.iterdir())


def nat_unit(bastion) -> str:
    [unit] = [u for u in units(bastion) if not u.startswith("wg-quick@")]
    return unit


def nft_tables(bastion) -> str:
    return bastion.host.run("nft", "list", "tables").stdout


@pytest.mark.parametrize("scenario", ["default-wireguard"])
def test_restarting_one_unit_leaves_the_other(new_sandbox, scenario):
    sandbox = new_sandbox(scenario)
    bastion = sandbox.boot_bastion()
    [node] = sandbox.launch_nodes()[:1]
    assert_downloads(node)
    tunnel_tables = {line for line in nft_tables(bastion).splitlines() if "wg-quick" in line}
    assert tunnel_tables, "wg-quick installs its own table"

    bastion.host.run("systemctl", "restart", nat_unit(bastion))
    assert tunnel_tables <= set(nft_tables(bastion).splitlines()), "restarting the NAT removed wg-quick's table"
    assert "wg0" in bastion.host.run("wg", "show", "interfaces").stdout
    assert_downloads(node)

    bastion.host.run("systemctl", "restart", "wg-quick@wg0")
    assert f"table ip {NAT_TABLE}" in nft_tables(bastion), "restarting the tunnel removed the NAT"
    assert_downloads(node)


@pytest.mark.parametrize("scenario", ["default-wireguard", "default-public-ipv4"])
def test_reboot_restores_nat_and_tunnel(new_sandbox, scenario):
    sandbox = new_sandbox(scenario)
    bastion = sandbox.boot_bastion()
    [node] = sandbox.launch_nodes()[:1]
    sandbox.world.reboot(bastion)
    assert f"table ip {NAT_TABLE}" in nft_tables(bastion)
    assert bastion.host.run("sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "1"
    assert_downloads(node)
    if sandbox.config.bastion.ipv4_egress == "wireguard":
        assert bastion.host.run("ip", "route", "get", METADATA).stdout.count("wg0") == 0


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
