"""TalosNode: instances, user-data, kernel command line and machine patch, per node."""

from __future__ import annotations

import ipaddress
import re
import shlex

import pytest
import yaml

from talos_sandbox.config import default_config

from ..conftest import make_config, resources_of

FIVE_NODES = make_config(
    network={"vpc_cidr": "172.31.0.0/16", "subnet_cidr": "172.31.64.0/20"},
    bastion={"private_ip": "172.31.64.10"},
    node_defaults={"instance_type": "m7g.large", "root_volume_gb": 80},
    nodes=[
        {"name": f"node-{index}", "private_ip": f"172.31.64.{20 + index}", "role": "gateway" if index == 1 else "compute"}
        for index in range(1, 6)
    ],
    talos={"boot_to_talos_sha256": "ab" * 32, "boot_to_talos_version": "v0.8.0"},
)
CONFIGS = {"default": default_config(), "five-nodes": FIVE_NODES}


def instances(stack: dict) -> dict[str, dict]:
    """Instances by their Name tag (`<sandbox>-<node>`)."""
    return {
        instance["tags"]["Name"]: instance
        for instance in resources_of(stack, "aws_instance").values()
    }


def instance_of(stack: dict, config, node) -> dict:
    return instances(stack)[f"{config.name}-{node.name}"]


def parse_boot_to_talos(user_data: str) -> dict:
    command = user_data[user_data.index("./boot-to-talos ") :]
    command = command.replace("\\\n", " ").splitlines()[0]
    words = shlex.split(command)[1:]
    flags: dict[str, list[str]] = {}
    index = 0
    while index < len(words):
        flag = words[index]
        assert flag.startswith("-") and not flag.startswith("--"), f"single-dash Go flag expected: {flag}"
        if flag == "-yes":
            flags.setdefault(flag, []).append("")
            index += 1
        else:
            flags.setdefault(flag, []).append(words[index + 1])
            index += 2
    return flags


def parse_ip_arg(kernel_args: list[str]) -> dict[str, str]:
    [ip] = [arg for arg in kernel_args if arg.startswith("ip=")]
    fields = ["client", "server", "gateway", "netmask", "hostname", "device", "autoconf", "dns0"]
    return dict(zip(fields, ip.removeprefix("ip=").split(":"), strict=True))


@pytest.fixture(params=sorted(CONFIGS))
def synthesized(request, synth):
    config = CONFIGS[request.param]
    stack_dir, stack = synth(config)
    return config, stack_dir, stack


def test_one_instance_per_node_at_its_address(synthesized):
    config, _, stack = synthesized
    assert len(resources_of(stack, "aws_instance")) == len(config.nodes)
    for node in config.nodes:
        instance = instance_of(stack, config, node)
        assert instance["private_ip"] == str(node.private_ip)
        assert instance["instance_type"] == config.node_instance_type(node)
        assert instance["associate_public_ip_address"] is False
        assert instance["ipv6_address_count"] == 0
        assert instance["tags"]["Role"] == node.role
        root = instance["root_block_device"]
        assert (root["volume_size"], root["volume_type"], root["encrypted"]) == (config.node_root_volume_gb(node), "gp3", True)
        assert instance["metadata_options"]["http_tokens"] == "required"
        assert instance["ebs_optimized"] is True and instance["monitoring"] is True


def test_nodes_wait_for_the_nat_route_and_replace_on_new_user_data(default_stack):
    [nat_route] = [
        name for name, route in resources_of(default_stack, "aws_route").items() if "network_interface_id" in route
    ]
    for instance in resources_of(default_stack, "aws_instance").values():
        assert instance["depends_on"] == [f"aws_route.{nat_route}"]
        assert instance["user_data_replace_on_change"] is True
        assert instance["lifecycle"] == {"ignore_changes": ["ami"]}


def test_nodes_share_one_profile_without_permissions(default_stack):
    [profile_name] = {instance["iam_instance_profile"] for instance in resources_of(default_stack, "aws_instance").values()}
    assert profile_name.startswith("${aws_iam_instance_profile.node-role_instance-profile_")
    [node_role] = [name for name, role in resources_of(default_stack, "aws_iam_role").items() if role["name"] == "cozy-demo-nodes"]
    for attached in list(resources_of(default_stack, "aws_iam_role_policy").values()) + list(
        resources_of(default_stack, "aws_iam_role_policy_attachment").values()
    ):
        assert node_role not in str(attached.get("role"))


def test_ipv6_only_when_configured(synth):
    _, stack = synth(make_config(node_defaults={"assign_ipv6": True}))
    assert {i["ipv6_address_count"] for i in resources_of(stack, "aws_instance").values()} == {1}


def test_user_data_runs_boot_to_talos_with_real_flags(synthesized):
    config, _, stack = synthesized
    for node in config.nodes:
        user_data = instance_of(stack, config, node)["user_data"]
        flags = parse_boot_to_talos(user_data)
        assert flags["-yes"] == [""]
        assert flags["-mode"] == ["install"]
        assert flags["-disk"] == ["/dev/nvme0n1"]
        assert flags["-image"] == [config.node_image(node)]
        assert set(flags) == {"-yes", "-mode", "-disk", "-image", "-extra-kernel-arg"}
        ip = parse_ip_arg(flags["-extra-kernel-arg"])
        subnet = config.network.subnet_cidr
        assert ip == {
            "client": str(node.private_ip),
            "server": "",
            "gateway": str(subnet.network_address + 1),
            "netmask": str(subnet.netmask),
            "hostname": node.name,
            "device": "eth0",
            "autoconf": "off",
            "dns0": str(config.network.vpc_cidr.network_address + 2),
        }
        assert "net.ifnames=0" in flags["-extra-kernel-arg"]
        assert "console=ttyS0,115200n8" in flags["-extra-kernel-arg"]


def test_user_data_pins_version_and_checksum(synthesized):
    config, _, stack = synthesized
    for node in config.nodes:
        user_data = instance_of(stack, config, node)["user_data"]
        assert f"readonly VERSION={config.talos.boot_to_talos_version}\n" in user_data
        assert "releases/download/$VERSION" in user_data and "boot-to-talos-linux-arm64.tar.gz" in user_data
        expected_pin = config.talos.boot_to_talos_sha256 or "''"
        assert f"readonly PINNED_SHA256={expected_pin}\n" in user_data
        assert 'sha256sum -c -' in user_data and "checksums.txt" in user_data


def test_user_data_waits_for_ipv4_egress_with_a_bound(default_stack):
    for instance in resources_of(default_stack, "aws_instance").values():
        assert re.search(r"for attempt in \$\(seq 1 \d+\)", instance["user_data"])
        assert "exit 1" in instance["user_data"]
        assert "> /dev/console" in instance["user_data"] and "/var/log/talos-sandbox-install.log" in instance["user_data"]


def test_user_data_under_16_kib_and_free_of_interpolation(synthesized):
    config, _, stack = synthesized
    for instance in resources_of(stack, "aws_instance").values():
        assert len(instance["user_data"].encode()) < 16 * 1024
        assert "${" not in instance["user_data"] and "%{" not in instance["user_data"]


def test_machine_patch_per_node(synthesized):
    config, stack_dir, _ = synthesized
    patches = sorted(path.name for path in (stack_dir / "talos").iterdir())
    assert patches == sorted(f"{node.name}.yaml" for node in config.nodes)
    for node in config.nodes:
        patch = yaml.safe_load((stack_dir / "talos" / f"{node.name}.yaml").read_text())
        machine = patch["machine"]
        assert set(patch) == {"machine"}
        network = machine["network"]
        assert network["hostname"] == node.name
        assert network["nameservers"] == [str(config.network.dns_ip)]
        [interface] = network["interfaces"]
        assert interface["deviceSelector"] == {"physical": True}
        assert interface["dhcp"] is False
        [address] = interface["addresses"]
        assert ipaddress.IPv4Interface(address) == ipaddress.IPv4Interface(
            f"{node.private_ip}/{config.network.subnet_cidr.prefixlen}"
        )
        assert interface["routes"] == [{"network": "0.0.0.0/0", "gateway": str(config.network.router_ip)}]
        assert machine["time"] == {"servers": ["169.254.169.123"]}
        assert machine["install"] == {"disk": "/dev/nvme0n1", "image": config.node_image(node)}


def test_machine_patch_mirrors_every_cached_registry_to_the_bastion(synthesized):
    config, stack_dir, _ = synthesized
    caches = config.bastion.registry_caches
    for node in config.nodes:
        machine = yaml.safe_load((stack_dir / "talos" / f"{node.name}.yaml").read_text())["machine"]
        mirrors = machine["registries"]["mirrors"]
        assert set(machine["registries"]) == {"mirrors"}, "no config/tls section: the endpoints are plain http"
        assert mirrors == {
            registry: {"endpoints": [f"http://{config.bastion.private_ip}:{upstream.port}"], "skipFallback": False}
            for registry, upstream in caches.upstreams.items()
        }
    assert mirrors["docker.io"]["endpoints"] == [f"http://{config.bastion.private_ip}:5050"]


def test_machine_patch_has_no_mirrors_without_caches(synth):
    stack_dir, _ = synth(make_config(bastion={"registry_caches": {"enabled": False}}))
    for patch in (stack_dir / "talos").iterdir():
        assert "registries" not in yaml.safe_load(patch.read_text())["machine"]
