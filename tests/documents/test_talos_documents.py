"""Talos documents per minor: every document the stack writes, in every supported minor's
form, is valid against that minor's schema (talos_schema.py says how); v1.12+ carry no
field their schema dropped; the node patch says the same thing in every form."""

from __future__ import annotations

import ipaddress

import pytest

from talos_sandbox.config import default_config
from talos_sandbox.documents.talos_minors import TALOS_MINORS, minor_key, multidoc
from talos_sandbox.documents.talos_node_patch import AMAZON_TIME_SYNC, LINK_ALIAS, node_patch
from talos_sandbox.documents.talos_patches import (
    COZYSTACK_CONTROLPLANE_PATCH,
    COZYSTACK_PATCH,
    cozystack_patches,
    node_patch_path,
    node_patches,
    talos_patches,
)

from ..conftest import WIREGUARD, make_config
from .talos_schema import document_errors, file_errors, load_documents

MULTIDOC_MINORS = tuple(minor for minor in TALOS_MINORS if multidoc(minor))
CONFIGS = {
    "default": default_config(),
    "registry-caches-off": make_config(bastion={"registry_caches": {"enabled": False}}),
    "five-nodes": make_config(
        network={"vpc_cidr": "172.31.0.0/16", "subnet_cidr": "172.31.64.0/20"},
        bastion={"private_ip": "172.31.64.10"},
        nodes=[
            {
                "name": f"node-{index}",
                "private_ip": f"172.31.64.{20 + index}",
                "role": "gateway" if index == 1 else "compute",
                "machine_type": "worker" if index > 3 else "controlplane",
            }
            for index in range(1, 6)
        ],
    ),
    "cozystack-off": make_config(cozystack={"enabled": False}),
    "single-disk": make_config(node_defaults={"instance_type": "t4g.medium", "root_volume_gb": 470, "data_volume_gb": None}),
    "own-ranges": make_config(
        network={"vpc_cidr": "172.20.0.0/16", "subnet_cidr": "172.20.8.0/22"},
        bastion={"private_ip": "172.20.8.10", "wireguard": WIREGUARD},
        nodes=[{"name": "cp-1", "private_ip": "172.20.8.20", "role": "gateway"}],
        cozystack={"cluster_domain": "lab.internal", "pod_cidr": "10.32.0.0/16", "service_cidr": "10.33.0.0/20"},
    ),
}
# v1alpha1 fields the v1.12 and v1.13 schemas dropped (tests/data schemas, diffed), and
# that the stack must write as documents of their own from v1.12 on. machine.network is
# dropped whole: v1.12 keeps only its kubespan, which the stack does not set.
DROPPED_FROM_V1ALPHA1 = (
    ("machine", "network"),
    ("machine", "registries"),
    ("machine", "time"),
    ("machine", "env"),
    ("machine", "install", "extraKernelArgs"),
    ("machine", "features", "stableHostname"),
    ("cluster", "apiServer", "disablePodSecurityPolicy"),
)
VOLUME_KINDS = ("VolumeConfig", "RawVolumeConfig")  # talos_storage.py, every minor
SINGLE_KINDS = ("HostnameConfig", "LinkAliasConfig", "LinkConfig", "ResolverConfig", "TimeSyncConfig")


def by_kind(text: str) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for document in load_documents(text):
        found.setdefault(document.get("kind", "v1alpha1"), []).append(document)
    return found


def has_path(document: dict, path: tuple[str, ...]) -> bool:
    for key in path:
        if not isinstance(document, dict) or key not in document:
            return False
        document = document[key]
    return True


@pytest.mark.parametrize("minor", TALOS_MINORS)
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_talos_document_is_valid_for_its_minor(name, minor):
    config = CONFIGS[name]
    files = talos_patches(config, minor)
    assert set(files) >= {node_patch_path(node.name) for node in config.nodes}
    for path, text in files.items():
        assert file_errors(text, minor) == [], path


@pytest.mark.parametrize("minor", MULTIDOC_MINORS)
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_no_dropped_v1alpha1_field_from_v1_12_on(name, minor):
    for path, text in talos_patches(CONFIGS[name], minor).items():
        for document in load_documents(text):
            if "kind" not in document:
                present = [".".join(field) for field in DROPPED_FROM_V1ALPHA1 if has_path(document, field)]
                assert present == [], path


@pytest.mark.parametrize("minor", MULTIDOC_MINORS)
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_multidoc_node_patch_says_what_v1_11_says(name, minor):
    config = CONFIGS[name]
    network = config.network
    for node in config.nodes:
        documents = by_kind(node_patch(config, node, minor))
        for kind in SINGLE_KINDS:
            assert len(documents.get(kind, [])) == 1, kind
        [machine_doc] = documents["v1alpha1"]
        install = {"disk": config.talos.install_disk, "image": config.node_image(node)}
        assert machine_doc == {"machine": {"certSANs": ["127.0.0.1"], "install": install}}
        [hostname] = documents["HostnameConfig"]
        # auto off: talosctl 1.12+ gen config writes auto: stable, which a hostname conflicts with.
        assert (hostname["hostname"], hostname["auto"]) == (node.name, "off")
        [alias] = documents["LinkAliasConfig"]
        assert alias == {"apiVersion": "v1alpha1", "kind": "LinkAliasConfig", "name": LINK_ALIAS,
                         "selector": {"match": 'link.driver == "ena"'}}  # fmt: skip
        [link] = documents["LinkConfig"]
        assert link["name"] == LINK_ALIAS and link["up"] is True
        [address] = link["addresses"]
        assert ipaddress.IPv4Interface(address["address"]) == ipaddress.IPv4Interface(
            f"{node.private_ip}/{network.subnet_cidr.prefixlen}"
        )
        # A default route is a gateway alone: Talos' LinkConfig validation rejects an
        # unspecified destination such as 0.0.0.0/0 (types/network/link.go).
        assert link["routes"] == [{"gateway": str(network.router_ip)}]
        [resolver] = documents["ResolverConfig"]
        assert resolver["nameservers"] == [{"address": str(network.dns_ip)}]
        [time_sync] = documents["TimeSyncConfig"]
        assert time_sync["ntp"] == {"servers": [AMAZON_TIME_SYNC]} and "ptp" not in time_sync
        mirrors = {doc["name"]: doc for doc in documents.get("RegistryMirrorConfig", [])}
        caches = config.bastion.registry_caches
        assert {name: (doc["endpoints"], doc["skipFallback"]) for name, doc in mirrors.items()} == {
            registry: ([{"url": f"http://{config.bastion.private_ip}:{upstream.port}"}], False)
            for registry, upstream in caches.active.items()
        }
        assert set(documents) <= {"v1alpha1", *SINGLE_KINDS, "RegistryMirrorConfig", *VOLUME_KINDS}


def test_registry_caches_off_means_no_mirror_documents():
    config = CONFIGS["registry-caches-off"]
    for minor in MULTIDOC_MINORS:
        for text in node_patches(config, minor).values():
            assert "RegistryMirrorConfig" not in by_kind(text)


def test_v1_11_form_is_one_machine_document_then_the_volumes():
    for config in (CONFIGS["default"], CONFIGS["single-disk"]):
        for text in talos_patches(config, "v1.11").values():
            [document, *volumes] = load_documents(text)
            assert "kind" not in document and {volume["kind"] for volume in volumes} <= set(VOLUME_KINDS)


def test_cozystack_patches_keep_every_setting_in_every_minor():
    # Every CozyStack setting is still a v1alpha1 field in the v1.12 and v1.13 schemas,
    # so its patches differ between minors only in the comment naming the minor.
    for config in CONFIGS.values():
        v1_11 = cozystack_patches(config, "v1.11")
        for minor in MULTIDOC_MINORS:
            other = cozystack_patches(config, minor)
            assert set(other) == set(v1_11)
            for path in other:
                assert load_documents(other[path]) == load_documents(v1_11[path]), path
    assert cozystack_patches(CONFIGS["cozystack-off"], "v1.13") == {}
    assert set(cozystack_patches(CONFIGS["default"], "v1.13")) == {COZYSTACK_PATCH, COZYSTACK_CONTROLPLANE_PATCH}


def test_the_stack_writes_exactly_the_configs_minors_documents(synth):
    for name in ("default", "cozystack-off", "registry-caches-off"):
        config = CONFIGS[name]
        stack_dir, _ = synth(config)
        written = {f"talos/{path.name}": path.read_text() for path in (stack_dir / "talos").iterdir()}
        assert config.talos_minor == "v1.13" and written == talos_patches(config, config.talos_minor)


@pytest.mark.parametrize("minor", ["v1.10", "v1.14", "1.12", ""])
def test_an_unsupported_minor_is_an_error(minor):
    config = CONFIGS["default"]
    with pytest.raises(ValueError, match="not supported"):
        minor_key(minor)
    with pytest.raises(ValueError, match="not supported"):
        node_patch(config, config.nodes[0], minor)
    with pytest.raises(ValueError, match="not supported"):
        cozystack_patches(CONFIGS["cozystack-off"], minor)


HOSTNAME = {"apiVersion": "v1alpha1", "kind": "HostnameConfig", "hostname": "n1", "auto": "off"}


def test_the_schema_check_catches_bad_documents():
    for minor in MULTIDOC_MINORS:
        assert document_errors(HOSTNAME, minor) == []
        [unknown] = document_errors({**HOSTNAME, "kind": "HostnameConfg"}, minor)
        assert "is not a Talos" in unknown
        assert document_errors({**HOSTNAME, "hostnme": "n1"}, minor) != []  # misspelt field
        assert document_errors({**HOSTNAME, "auto": False}, minor) != []  # `auto: off` read as YAML 1.1
        assert document_errors({"apiVersion": "v1alpha1", "kind": "LinkConfig"}, minor) != []  # name required
        assert document_errors({"machine": {"network": {"hostname": "n1"}}}, minor) != []
        assert document_errors({"machine": {"registries": {"mirrors": {}}}}, minor) != []
        assert document_errors({"machine": {"time": {"servers": ["169.254.169.123"]}}}, minor) != []
    # The kinds a minor knows: HostnameConfig arrived in v1.12, KubeSpanConfig in v1.13.
    assert "is not a Talos v1.11 document" in document_errors(HOSTNAME, "v1.11")[0]
    kubespan = {"apiVersion": "v1alpha1", "kind": "KubeSpanConfig", "enabled": False}
    assert document_errors(kubespan, "v1.13") == [] and document_errors(kubespan, "v1.12") != []
    assert document_errors({"machine": {"env": {"A": "b"}}}, "v1.12") == []
    assert document_errors({"machine": {"env": {"A": "b"}}}, "v1.13") != []


def test_the_file_check_catches_bad_files():
    good = node_patch(CONFIGS["default"], CONFIGS["default"].nodes[0], "v1.13")
    assert file_errors(good, "v1.13") == []
    # Two documents run together: one mapping with apiVersion and kind twice, or a
    # v1alpha1 document with HostnameConfig's fields.
    head, _, tail = good.rpartition("---\n")
    assert any("twice" in error for error in file_errors(head + tail, "v1.13"))
    assert file_errors(good.replace("---\n", "", 1), "v1.13") != []
    assert file_errors(good + "---\n", "v1.13") != []  # an empty document
    assert file_errors(good, "v1.11") != []  # v1.11 knows none of these kinds
