"""TalosNode: instances, user-data and kernel command line, per node (its Talos patch:
tests/documents/test_talos_node_patch.py)."""

from __future__ import annotations

import shlex

import pytest

from talos_sandbox.config import default_config

from ...conftest import data_of, make_config, resources_of

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
    words = words[: words.index(">")] if ">" in words else words  # the redirection to the console
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
        assert instance["lifecycle"]["ignore_changes"] == ["ami"]


@pytest.mark.parametrize("method", ["boot-to-talos", "talos-ami"])
def test_a_change_of_install_method_replaces_the_node(method, synth):
    # Neither the AMI (ignored) nor dropped user-data (kept by the provider) would.
    _, stack = synth(make_config(talos={"install_method": method}))
    [(holder, held)] = resources_of(stack, "terraform_data").items()
    assert held["input"] == {"method": method}
    for instance in resources_of(stack, "aws_instance").values():
        assert instance["lifecycle"]["replace_triggered_by"] == [f"terraform_data.{holder}"]


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


def test_user_data_installs_from_a_unit_that_never_gives_up(default_stack):
    # cloud-init runs user-data once; the waiting and the install live in a unit that
    # systemd restarts until the bastion's NAT is up (tests/hostsim runs it for real).
    for instance in resources_of(default_stack, "aws_instance").values():
        user_data = instance["user_data"]
        assert "StartLimitIntervalSec=0" in user_data and "Restart=on-failure" in user_data
        assert "RestartPreventExitStatus=65" in user_data, "a failed verification is final"
        assert "systemctl enable talos-sandbox-install.service" in user_data
        assert "exec ./boot-to-talos " in user_data and "> /dev/console 2>&1" in user_data


def test_user_data_under_16_kib_and_free_of_interpolation(synthesized):
    config, _, stack = synthesized
    for instance in resources_of(stack, "aws_instance").values():
        assert len(instance["user_data"].encode()) < 16 * 1024
        assert "${" not in instance["user_data"] and "%{" not in instance["user_data"]


AMI_LOOKUP = make_config(talos={"install_method": "talos-ami"})
AMI_EXPLICIT = make_config(talos={"install_method": "talos-ami", "ami_id": "ami-0123456789abcdef0"})


@pytest.mark.parametrize("config", [AMI_LOOKUP, AMI_EXPLICIT], ids=["lookup", "explicit"])
def test_talos_ami_nodes_have_no_user_data_and_the_same_instance_shape(config, synth):
    _, stack = synth(config)
    _, boot_to_talos = synth(default_config())
    for node in config.nodes:
        instance = instance_of(stack, config, node)
        assert "user_data" not in instance
        other = instance_of(boot_to_talos, default_config(), node)
        same = ("root_block_device", "metadata_options", "private_ip", "vpc_security_group_ids", "subnet_id",
                "associate_public_ip_address", "iam_instance_profile", "depends_on", "lifecycle", "ebs_optimized")
        assert {key: instance[key] for key in same} == {key: other[key] for key in same}


def test_talos_ami_found_by_sidero_labs_owner_and_name(synth):
    _, stack = synth(AMI_LOOKUP)
    [(name, lookup)] = data_of(stack, "aws_ami").items()
    assert lookup["owners"] == ["540036508848"] and lookup["most_recent"] is True
    assert {f["name"]: f["values"] for f in lookup["filter"]} == {
        "name": ["talos-v1.13.5-eu-west-1-arm64"],
        "architecture": ["arm64"],
    }
    assert {i["ami"] for i in resources_of(stack, "aws_instance").values()} == {f"${{data.aws_ami.{name}.id}}"}


def test_explicit_ami_is_used_as_given(synth):
    _, stack = synth(AMI_EXPLICIT)
    assert data_of(stack, "aws_ami") == {}
    assert {i["ami"] for i in resources_of(stack, "aws_instance").values()} == {"ami-0123456789abcdef0"}


def test_boot_to_talos_nodes_boot_amazon_linux(default_stack):
    [(name, _)] = data_of(default_stack, "aws_ssm_parameter").items()
    assert data_of(default_stack, "aws_ami") == {}
    assert {i["ami"] for i in resources_of(default_stack, "aws_instance").values()} == {
        f"${{data.aws_ssm_parameter.{name}.insecure_value}}"
    }


def data_volumes(stack: dict) -> dict[str, dict]:
    return {v["tags"]["Name"]: v for k, v in resources_of(stack, "aws_ebs_volume").items() if "_data-volume_" in k}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_each_node_gets_an_encrypted_gp3_data_volume_attached_as_sdf(name, synth):
    config = CONFIGS[name]
    _, stack = synth(config)
    volumes = data_volumes(stack)
    assert sorted(volumes) == sorted(f"{config.name}-{node.name}-data" for node in config.nodes)
    attachments = list(resources_of(stack, "aws_volume_attachment").values())
    assert len(attachments) == len(config.nodes)
    by_volume = {a["volume_id"]: a for a in attachments}
    for key, volume in resources_of(stack, "aws_ebs_volume").items():
        if "_data-volume_" not in key:
            continue
        assert (volume["type"], volume["encrypted"], volume["size"]) == ("gp3", True, config.data_volume_gb)
        assert volume["availability_zone"] == config.availability_zone
        attachment = by_volume[f"${{aws_ebs_volume.{key}.id}}"]
        node_name = volume["tags"]["Name"].removeprefix(f"{config.name}-").removesuffix("-data")
        [instance_key] = [k for k, i in resources_of(stack, "aws_instance").items() if i["tags"]["Name"].endswith(f"-{node_name}")]
        assert attachment["instance_id"] == f"${{aws_instance.{instance_key}.id}}"
        assert attachment["device_name"] == "/dev/sdf" and attachment["stop_instance_before_detaching"] is True


def test_no_data_volume_when_none_is_configured(synth):
    _, stack = synth(make_config(node_defaults={"instance_type": "t4g.medium", "data_volume_gb": None}))
    assert data_volumes(stack) == {} and resources_of(stack, "aws_volume_attachment") == {}
    _, sized = synth(make_config(node_defaults={"instance_type": "t4g.medium", "data_volume_gb": 256}))
    assert {volume["size"] for volume in data_volumes(sized).values()} == {256}
