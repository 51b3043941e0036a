"""Config validation: the default, a non-default config, and one test per rejection."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
import yaml

from talos_sandbox.config import default_config, field_line, load_config, parse_config
from talos_sandbox.errors import SandboxError

from ..conftest import REPO_ROOT

MINIMAL = """\
name: lab
region: us-east-1
network:
  vpc_cidr: 172.20.0.0/16
  subnet_cidr: 172.20.8.0/22
bastion:
  private_ip: 172.20.8.10
nodes:
  - name: cp-1
    private_ip: 172.20.8.20
    role: gateway
  - name: worker-1
    private_ip: 172.20.8.21
    instance_type: m7g.xlarge
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sandbox.yaml"
    path.write_text(text)
    return path


def rejected(document: dict) -> str:
    with pytest.raises(SandboxError) as raised:
        parse_config(document)
    return str(raised.value)


def with_nodes(*nodes: dict, **top: object) -> dict:
    return {"nodes": list(nodes), **top}


NODE = {"name": "n1", "private_ip": "10.10.0.10"}


def test_default_is_the_design():
    config = default_config()
    assert config.name == "cozy-demo"
    assert config.region == "eu-west-1"
    assert config.tags == {"Demo": "cozystack-moon-and-back"}
    assert config.network.vpc_cidr == ipaddress.IPv4Network("10.10.0.0/16")
    assert config.network.subnet_cidr == ipaddress.IPv4Network("10.10.0.0/24")
    assert str(config.bastion.private_ip) == "10.10.0.100"
    assert [(n.name, str(n.private_ip), n.role) for n in config.nodes] == [
        ("talos-gateway-1", "10.10.0.101", "gateway"),
        ("talos-compute-2", "10.10.0.102", "compute"),
        ("talos-compute-3", "10.10.0.103", "compute"),
    ]
    assert {config.node_instance_type(n) for n in config.nodes} == {"t4g.medium"}
    assert {config.node_root_volume_gb(n) for n in config.nodes} == {50}


def test_example_file_spells_out_the_embedded_default():
    assert load_config(REPO_ROOT / "examples" / "cozy-demo.yaml") == default_config()


def test_no_file_means_the_default():
    assert load_config(None) == default_config()


def test_minimal_non_default_config(tmp_path):
    config = load_config(write(tmp_path, MINIMAL))
    assert config.name == "lab" and config.region == "us-east-1"
    assert config.availability_zone == "us-east-1a"
    assert str(config.network.router_ip) == "172.20.8.1"
    assert str(config.network.dns_ip) == "172.20.0.2"
    worker = config.nodes[1]
    assert worker.role == "compute"  # the default role
    assert config.node_instance_type(worker) == "m7g.xlarge"
    assert config.node_instance_type(config.nodes[0]) == "t4g.medium"
    assert config.tags == {"Demo": "cozystack-moon-and-back"}


def test_config_is_frozen():
    with pytest.raises(Exception):
        default_config().name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"network": {"vpc_cidr": "10.10.0.0/33"}}, ["network.vpc_cidr", "10.10.0.0/33"]),
        ({"network": {"vpc_cidr": "10.10.0.1/16"}}, ["network.vpc_cidr", "10.10.0.1/16"]),
        ({"network": {"subnet_cidr": "banana"}}, ["network.subnet_cidr", "banana"]),
        ({"bastion": {"private_ip": "10.10.0.300"}}, ["bastion.private_ip", "10.10.0.300"]),
    ],
    ids=["cidr-prefix", "cidr-host-bits", "cidr-garbage", "ip-octet"],
)
def test_rejects_malformed_cidr_or_ip(document, expected):
    message = rejected(with_nodes(NODE, **document))
    for part in expected:
        assert part in message


def test_rejects_subnet_outside_vpc():
    message = rejected(with_nodes(NODE, network={"subnet_cidr": "10.11.0.0/24"}))
    assert "network.subnet_cidr" in message and "10.11.0.0/24" in message and "not inside" in message


def test_rejects_address_outside_subnet():
    message = rejected(with_nodes({"name": "n1", "private_ip": "10.10.1.10"}))
    assert "nodes[0].private_ip" in message and "10.10.1.10" in message and "outside the subnet" in message


@pytest.mark.parametrize("address", ["10.10.0.0", "10.10.0.1", "10.10.0.2", "10.10.0.3", "10.10.0.255"])
def test_rejects_aws_reserved_addresses(address):
    message = rejected(with_nodes({"name": "n1", "private_ip": address}))
    assert "nodes[0].private_ip" in message and address in message and "reserved by AWS" in message


def test_rejects_reserved_bastion_address():
    message = rejected(with_nodes(NODE, bastion={"private_ip": "10.10.0.1"}))
    assert "bastion.private_ip" in message and "reserved" in message


def test_rejects_address_used_twice_among_nodes():
    message = rejected(with_nodes(NODE, {"name": "n2", "private_ip": "10.10.0.10"}))
    assert "nodes[1].private_ip" in message and "already used by nodes[0].private_ip" in message


def test_rejects_node_on_the_bastion_address():
    message = rejected(with_nodes({"name": "n1", "private_ip": "10.10.0.100"}))
    assert "nodes[0].private_ip" in message and "already used by bastion.private_ip" in message


def test_rejects_duplicate_node_names():
    message = rejected(with_nodes(NODE, {"name": "n1", "private_ip": "10.10.0.11"}))
    assert "nodes[1].name" in message and "'n1'" in message


@pytest.mark.parametrize("name", ["Talos_1", "-node", "node-", "a" * 64, "UPPER", "dot.ted", ""])
def test_rejects_names_that_are_not_hostname_labels(name):
    message = rejected(with_nodes({"name": name, "private_ip": "10.10.0.10"}))
    assert "nodes[0].name" in message and "RFC 1123" in message


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"node_defaults": {"instance_type": "p5.48xlarge"}}, "node_defaults.instance_type"),
        ({"bastion": {"instance_type": "m5.large"}}, "bastion.instance_type"),
        ({"node_defaults": {"instance_type": "t4g"}}, "node_defaults.instance_type"),
    ],
)
def test_rejects_unknown_instance_types(document, field):
    message = rejected(with_nodes(NODE, **document))
    assert field in message and "arm64" in message


def test_rejects_unknown_node_override():
    message = rejected(with_nodes({**NODE, "instance_type": "c5.xlarge"}))
    assert "nodes[0].instance_type" in message and "'c5.xlarge'" in message


def test_nodes_may_be_amd64_but_the_bastion_stays_arm64():
    assert parse_config(with_nodes(NODE, node_defaults={"instance_type": "m8i.2xlarge"})).architecture == "amd64"
    assert "bastion.instance_type" in rejected(with_nodes(NODE, bastion={"instance_type": "t3.small"}))


@pytest.mark.parametrize("size", [0, -5, 9])
def test_rejects_root_volume_not_positive_or_too_small(size):
    message = rejected(with_nodes(NODE, node_defaults={"root_volume_gb": size}))
    assert "node_defaults.root_volume_gb" in message and f"(got {size})" in message


def test_rejects_empty_node_list():
    message = rejected({"nodes": []})
    assert "nodes" in message and "at least 1" in message


def test_rejects_missing_nodes():
    assert "nodes: required key is missing" in rejected({"name": "x1"})


def test_rejects_unknown_keys():
    message = rejected(with_nodes(NODE, network={"vpc_cidrs": "10.0.0.0/16"}))
    assert "network.vpc_cidrs: unknown key" in message


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = write(tmp_path, "name: lab\nnodes:\n  - name: n1\n    private_ip: [10.10.0.10\n")
    with pytest.raises(SandboxError) as raised:
        load_config(path)
    assert str(path) in str(raised.value) and "line 5" in str(raised.value)


def test_missing_file(tmp_path):
    with pytest.raises(SandboxError, match="config file not found"):
        load_config(tmp_path / "absent.yaml")


def test_top_level_must_be_a_mapping(tmp_path):
    with pytest.raises(SandboxError, match="top level must be a mapping"):
        load_config(write(tmp_path, "- just\n- a list\n"))


def test_public_ipv4_needs_a_bastion_subnet():
    message = rejected(with_nodes(NODE, bastion={"ipv4_egress": "public_ipv4"}))
    assert "network.bastion_subnet_cidr" in message and "public_ipv4" in message


def test_bastion_subnet_must_hold_the_bastion():
    document = with_nodes(
        NODE, bastion={"ipv4_egress": "public_ipv4"}, network={"bastion_subnet_cidr": "10.10.1.0/28"}
    )
    assert "bastion.private_ip" in rejected(document) and "outside the subnet 10.10.1.0/28" in rejected(document)


def test_bastion_subnet_must_not_overlap_the_node_subnet():
    message = rejected(with_nodes(NODE, network={"bastion_subnet_cidr": "10.10.0.0/28"}))
    assert "network.bastion_subnet_cidr" in message and "overlaps" in message


def test_adopting_needs_both_ids():
    message = rejected(with_nodes(NODE, network={"existing_vpc_id": "vpc-0123456789abcdef0"}))
    assert "existing_vpc_id and existing_subnet_id go together" in message


def test_wireguard_peer_needs_key_and_address():
    message = rejected(with_nodes(NODE, bastion={"wireguard": {"peer_endpoint": "[2001:db8::1]:51820"}}))
    assert "bastion.wireguard.peer_public_key" in message


def test_old_boot_to_talos_is_rejected():
    message = rejected(with_nodes(NODE, talos={"boot_to_talos_version": "v0.6.2"}))
    assert "talos.boot_to_talos_version" in message and "v0.7.1 or later" in message


def test_every_error_is_reported_at_once():
    message = rejected(with_nodes({"name": "Bad_Name", "private_ip": "nope"}, region="mars"))
    assert "nodes[0].name" in message and "nodes[0].private_ip" in message and "region" in message


def test_yaml_round_trip_of_the_default():
    document = yaml.safe_load(yaml.safe_dump(default_config().model_dump(mode="json")))
    assert parse_config(document) == default_config()


def test_loadbalancer_addresses_are_validated_like_node_addresses():
    lb = {"mode": "eni-secondary-ips", "addresses": ["10.10.0.101"]}
    assert "loadbalancer.addresses[0]: 10.10.0.101 is already used by nodes[0].private_ip" in rejected(
        with_nodes({"name": "n1", "private_ip": "10.10.0.101", "role": "gateway"}, loadbalancer=lb)
    )
    lb["addresses"] = ["10.10.0.255"]
    assert "reserved by AWS" in rejected(with_nodes({**NODE, "role": "gateway"}, loadbalancer=lb))
    lb["addresses"] = ["10.10.5.1"]
    assert "outside the subnet" in rejected(with_nodes({**NODE, "role": "gateway"}, loadbalancer=lb))


def test_secondary_ips_need_addresses_and_a_gateway():
    assert "needs at least one address" in rejected(with_nodes(NODE, loadbalancer={"mode": "eni-secondary-ips"}))
    message = rejected(with_nodes(NODE, loadbalancer={"mode": "eni-secondary-ips", "addresses": ["10.10.0.200"]}))
    assert "loadbalancer.mode" in message and "role gateway" in message


def test_schedule_is_validated():
    message = rejected(with_nodes(NODE, schedule={"start": "0 8 * * MON-FRI", "stop": "*/5 13 * * *"}))
    assert "schedule.stop" in message and "minute must be one number" in message
    message = rejected(with_nodes(NODE, schedule={"start": "0 8 * * *", "stop": "0 9 * * *", "timezone": "Mars/Base"}))
    assert "schedule.timezone" in message and "Mars/Base" in message
    assert "schedule.stop: required key is missing" in rejected(with_nodes(NODE, schedule={"start": "0 8 * * *"}))


def test_cozystack_defaults():
    cozystack = default_config().cozystack
    assert cozystack.enabled and cozystack.version == "v1.5.1" and cozystack.cluster_domain == "cozy.local"
    assert cozystack.bundle_name is None and cozystack.bundle == "isp-full"
    assert (str(cozystack.pod_cidr), str(cozystack.service_cidr), str(cozystack.join_cidr)) == (
        "10.244.0.0/16", "10.96.0.0/16", "100.64.0.0/16"
    )  # fmt: skip
    assert str(cozystack.pod_gateway) == "10.244.0.1" and cozystack.root_host is None


def test_cozystack_version_from_the_first_release_on_talos_1_11():
    assert "cozystack.version: v0.37.10 is older than v0.38.0" in rejected(
        with_nodes(NODE, cozystack={"version": "v0.37.10"})
    )
    assert "is not a release tag" in rejected(with_nodes(NODE, cozystack={"version": "0.41.11"}))
    amd64 = {"node_defaults": {"instance_type": "m8i.2xlarge"}}
    assert parse_config(with_nodes(NODE, cozystack={"version": "v0.41.11"}, **amd64)).cozystack.bundle == "paas-full"


def test_bundle_belongs_to_the_major_release():
    assert "cozystack.bundle_name: paas-full is not a bundle of CozyStack 1.x" in rejected(
        with_nodes(NODE, cozystack={"bundle_name": "paas-full"})
    )
    assert parse_config(with_nodes(NODE, cozystack={"bundle_name": "isp-hosted"})).cozystack.bundle == "isp-hosted"


def test_cozystack_ranges_must_not_overlap_the_vpc_or_each_other():
    assert "cozystack.pod_cidr: 10.10.0.0/16 overlaps network.vpc_cidr 10.10.0.0/16" in rejected(
        with_nodes(NODE, cozystack={"pod_cidr": "10.10.0.0/16"})
    )
    assert "cozystack.join_cidr: 10.96.0.0/24 overlaps cozystack.service_cidr 10.96.0.0/16" in rejected(
        with_nodes(NODE, cozystack={"join_cidr": "10.96.0.0/24"})
    )
    # Off, its ranges are not used: only their own consistency is checked.
    assert not parse_config(with_nodes(NODE, cozystack={"enabled": False, "pod_cidr": "10.10.0.0/16"})).cozystack.enabled


def test_cozystack_names_and_service_range():
    assert "cozystack.cluster_domain: 'Cozy_Local' is not a lowercase DNS name" in rejected(
        with_nodes(NODE, cozystack={"cluster_domain": "Cozy_Local"})
    )
    assert "cozystack.root_host: 'https://x.org' is not a lowercase DNS name" in rejected(
        with_nodes(NODE, cozystack={"root_host": "https://x.org"})
    )
    assert "wider than /12" in rejected(with_nodes(NODE, cozystack={"service_cidr": "10.96.0.0/11"}))
    assert "bundle_name" in rejected(with_nodes(NODE, cozystack={"bundle_name": "paas-hosted"}))


def test_field_line_finds_the_key_or_its_nearest_parent():
    text = (
        "name: lab\nbastion:\n  wireguard:\n    allowed_ips: [0.0.0.0/0]\n"
        "nodes:\n  - name: n1\n    instance_type: t4g.large\n"
    )
    assert field_line(text, "bastion.wireguard.allowed_ips") == 4
    assert field_line(text, "bastion.wireguard.peer_endpoint") == 3, "unset: its parent's line"
    assert field_line(text, "nodes[0].instance_type") == 7
    assert field_line(text, "nodes[3].instance_type") == 5
    assert field_line(text, "talos.images.gateway") is None
    assert field_line("key: [unclosed", "key") is None


AMI = {"install_method": "talos-ami"}


def test_talos_ami_release_follows_the_matrix_or_the_images_tag():
    config = parse_config(with_nodes(NODE, talos=AMI))
    assert config.talos.version is None and config.talos_version == "v1.13.5"
    assert config.talos_ami_name == "talos-v1.13.5-eu-west-1-arm64"
    pinned = parse_config(with_nodes(NODE, region="us-east-2", talos={**AMI, "version": "v1.12.7"}))
    assert pinned.talos_ami_name == "talos-v1.12.7-us-east-2-arm64"
    tagged = {"gateway": "ghcr.io/a/talos:v1.11.6", "compute": "ghcr.io/a/talos:v1.11.6"}
    from_tag = parse_config(with_nodes(NODE, node_defaults={"instance_type": "m8i.2xlarge"}, talos={**AMI, "images": tagged}))
    assert from_tag.talos_ami_name == "talos-v1.11.6-eu-west-1-amd64"


@pytest.mark.parametrize(
    ("talos", "field", "problem"),
    [
        ({**AMI, "version": "1.11.6"}, "talos.version", "'1.11.6' is not a Talos release like v1.13.5"),
        ({"version": "v1.10.3"}, "talos.version", "writes machine configs for Talos v1.11, v1.12, v1.13 only"),
        ({**AMI, "ami_id": "ami-12345"}, "talos.ami_id", "'ami-12345' is not an AMI id (ami-...)"),
        ({**AMI, "ami_id": "AMI-0123456789ABCDEF0"}, "talos.ami_id", "is not an AMI id"),
        ({"install_method": "pxe"}, "talos.install_method", "'boot-to-talos' or 'talos-ami'"),
        ({"ami_id": "ami-0123456789abcdef0"}, "talos.ami_id", "only used with talos.install_method talos-ami"),
    ],
    ids=["version-format", "unsupported-minor", "ami-id-short", "ami-id-case", "unknown-method",
         "ami-id-needs-ami-method"],
)
def test_rejects_bad_install_method_keys(talos, field, problem):
    message = rejected(with_nodes(NODE, talos=talos))
    assert f"{field}:" in message and problem in message


def test_explicit_ami_looks_nothing_up():
    config = parse_config(with_nodes(NODE, talos={**AMI, "ami_id": "ami-0123456789abcdef0"}))
    assert config.talos_ami_name is None and config.talos.ami_id == "ami-0123456789abcdef0"


def test_talos_ami_root_volume_holds_the_amis_snapshot():
    message = rejected(with_nodes(NODE, talos=AMI, node_defaults={"root_volume_gb": 16}))
    assert "node_defaults.root_volume_gb: 16 GB is smaller than the official Talos AMI's 20 GiB" in message
    message = rejected(with_nodes({**NODE, "root_volume_gb": 12}, talos=AMI))
    assert "nodes[0].root_volume_gb: 12 GB" in message
    assert parse_config(with_nodes(NODE, node_defaults={"root_volume_gb": 16})).talos.install_method == "boot-to-talos"


def test_talos_ami_example_uses_the_lookup():
    config = load_config(REPO_ROOT / "examples" / "talos-ami.yaml")
    assert config.talos.install_method == "talos-ami" and config.talos.ami_id is None
    assert config.talos_ami_name == "talos-v1.13.5-eu-west-1-arm64"


def caches(**fields: object) -> dict:
    return with_nodes(NODE, bastion={"registry_caches": fields})


def test_registry_caches_default_to_the_designs_five():
    cached = default_config().bastion.registry_caches
    assert cached.enabled and {r: u.port for r, u in cached.upstreams.items()} == {
        "docker.io": 5050, "registry.k8s.io": 5051, "quay.io": 5052, "gcr.io": 5053, "ghcr.io": 5054,
    }  # fmt: skip
    assert cached.remote_url("docker.io", cached.upstreams["docker.io"]) == "https://registry-1.docker.io"
    assert cached.remote_url("ghcr.io", cached.upstreams["ghcr.io"]) == "https://ghcr.io"


def test_registry_caches_can_be_dropped_or_turned_off():
    config = parse_config(caches(upstreams={"ghcr.io": {"port": 5054}}))
    assert list(config.bastion.registry_caches.active) == ["ghcr.io"]
    assert parse_config(caches(enabled=False)).bastion.registry_caches.active == {}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"upstreams": {"docker.io": {"port": 5050}, "ghcr.io": {"port": 5050}}}, "ghcr.io: port 5050 is already the cache of docker.io"),
        ({"upstreams": {"docker.io": {"port": 51820}}}, "port 51820 is the bastion's WireGuard port"),
        ({"upstreams": {"docker.io": {"port": 80}}}, "upstreams.docker.io.port: Input should be greater than or equal to 1024"),
        ({"upstreams": {"Docker Hub": {"port": 5050}}}, "'Docker Hub' is not a registry host name"),
        ({"upstreams": {}}, "bastion.registry_caches.upstreams: empty"),
        ({"upstreams": {"ghcr.io": {"port": 5054, "credentials_parameter": "token"}}}, "is not an SSM parameter path"),
        ({"upstreams": {"ghcr.io": {"port": 5054, "remote_url": "ftp://x"}}}, "is not a registry URL"),
        ({"registry_version": "v2.8.3"}, "proxy.ttl (the cache's expiry) needs v3 or later"),
        ({"registry_sha256": "abc"}, "is not 64 lowercase hex digits"),
        ({"ttl_hours": 0}, "ttl_hours: Input should be greater than or equal to 1"),
    ],
)
def test_rejects_bad_registry_caches(fields, expected):
    assert expected in rejected(caches(**fields))


def test_rejects_a_cache_port_that_is_also_forwarded():
    message = rejected(with_nodes(NODE, bastion={"nat_tcp_ports": [443, 5052]}))
    assert "bastion.registry_caches.upstreams.quay.io.port: 5052 is also in bastion.nat_tcp_ports" in message


def test_a_cluster_of_workers_only_is_refused():
    """Nothing would bootstrap etcd or serve the API: the runbook's bootstrap and health would fail."""
    with pytest.raises(SandboxError, match="nodes: no node has machine_type controlplane"):
        parse_config({"nodes": [{"name": "w1", "private_ip": "10.10.0.10", "machine_type": "worker"}]})


def test_data_volume_defaults_to_50_gb_and_may_be_none():
    assert default_config().data_volume_gb == 50
    config = parse_config(with_nodes(NODE, node_defaults={"data_volume_gb": None}))
    assert config.data_volume_gb is None and config.node_single_disk_layout(config.nodes[0]) is not None
    assert parse_config(with_nodes(NODE, node_defaults={"data_volume_gb": 256})).data_volume_gb == 256


@pytest.mark.parametrize("size", [0, -1, 16385, "big"])
def test_rejects_a_data_volume_of_no_size_or_beyond_gp3(size):
    assert "node_defaults.data_volume_gb" in rejected(with_nodes(NODE, node_defaults={"data_volume_gb": size}))


def test_single_disk_layout_needs_room_for_linstor_on_every_root():
    no_volume = {"data_volume_gb": None}
    message = rejected(with_nodes(NODE, node_defaults={**no_volume, "root_volume_gb": 32}))
    assert "node_defaults.root_volume_gb: 32 GB is too small for CozyStack's single-disk layout" in message
    message = rejected(with_nodes({**NODE, "root_volume_gb": 20}, node_defaults=no_volume))
    assert "nodes[0].root_volume_gb: 20 GB is too small" in message
    assert parse_config(with_nodes(NODE, node_defaults={**no_volume, "root_volume_gb": 33}))
    # Without CozyStack nothing is split, and with a data volume the root stays whole.
    assert parse_config(with_nodes(NODE, node_defaults={**no_volume, "root_volume_gb": 20}, cozystack={"enabled": False}))
    assert parse_config(with_nodes(NODE, node_defaults={"root_volume_gb": 20}))
