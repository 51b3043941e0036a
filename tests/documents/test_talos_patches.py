"""Talos patches: every document the stack writes (Talos v1.11's form, the stack's default)
is valid for Talos v1.11 (checked against Talos' own JSON schema, talos_schema.py), and
CozyStack's patches carry its documented values. Other minors: test_talos_documents.py."""

from __future__ import annotations

import pytest
import yaml

from talos_sandbox.config import default_config
from talos_sandbox.documents.talos_patches import (
    COZYSTACK_CONTROLPLANE_PATCH,
    COZYSTACK_PATCH,
    cozystack_patches,
    node_patch_path,
    patches_for,
)

from ..conftest import TALOS_VERSIONS, with_talos_version, WIREGUARD, make_config
from .talos_schema import document_errors

CONFIGS = {
    "default": default_config(),
    "workers-and-own-ranges": make_config(
        network={"vpc_cidr": "172.20.0.0/16", "subnet_cidr": "172.20.8.0/22"},
        bastion={"private_ip": "172.20.8.10", "wireguard": WIREGUARD},
        nodes=[
            {"name": "cp-1", "private_ip": "172.20.8.20", "role": "gateway"},
            {"name": "worker-1", "private_ip": "172.20.8.21", "machine_type": "worker"},
        ],
        cozystack={
            "cluster_domain": "lab.internal",
            "pod_cidr": "10.32.0.0/16",
            "service_cidr": "10.33.0.0/20",
            "join_cidr": "100.65.0.0/16",
        },
    ),
    "cozystack-off": make_config(cozystack={"enabled": False}),
}


def talos_v1_11_errors(document: dict) -> list[str]:
    return document_errors(document, "v1.11")


def talos_errors(document: dict, minor: str) -> list[str]:
    return document_errors(document, minor)


def written_documents(stack_dir) -> dict[str, list[dict]]:
    return {
        f"talos/{path.name}": list(yaml.safe_load_all(path.read_text()))
        for path in sorted((stack_dir / "talos").iterdir())
    }


@pytest.mark.parametrize("version", TALOS_VERSIONS)
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_written_talos_document_is_valid_for_its_minor(name, version, synth):
    config = with_talos_version(CONFIGS[name], version)
    stack_dir, _ = synth(config)
    documents = written_documents(stack_dir)
    assert documents, "the stack wrote no Talos documents"
    for path, docs in documents.items():
        for document in docs:
            assert talos_errors(document, config.talos_minor) == [], path


def test_the_schema_check_catches_bad_documents():
    assert talos_v1_11_errors({"machine": {"network": {"hostnme": "n1"}}}) != []
    assert talos_v1_11_errors({"machine": {"files": [{"path": "/x", "op": "create", "permissions": "0o644"}]}}) != []
    assert talos_v1_11_errors({"machine": {"nodeLabels": {"a": {"$patch": "replace"}}}}) != []
    # HostnameConfig arrived in Talos v1.12.
    [error] = talos_v1_11_errors({"apiVersion": "v1alpha1", "kind": "HostnameConfig", "hostname": "n1"})
    assert "not a Talos v1.11 document" in error
    watchdog = {"apiVersion": "v1alpha1", "kind": "WatchdogTimerConfig", "device": "/dev/watchdog0"}
    assert talos_v1_11_errors(watchdog) == []


def test_files_written_per_config(synth):
    for config in CONFIGS.values():
        stack_dir, _ = synth(config)
        written = {f"talos/{path.name}" for path in (stack_dir / "talos").iterdir()}
        expected = {node_patch_path(node.name) for node in config.nodes}
        if config.cozystack.enabled:
            expected |= {COZYSTACK_PATCH, COZYSTACK_CONTROLPLANE_PATCH}
        assert written == expected


def test_cozystack_patch_for_every_node():
    for config in CONFIGS.values():
        if not config.cozystack.enabled:
            continue
        cozystack = config.cozystack
        patch = yaml.safe_load(cozystack_patches(config, config.talos_minor)[COZYSTACK_PATCH])
        machine, cluster = patch["machine"], patch["cluster"]
        assert machine["kubelet"]["nodeIP"] == {"validSubnets": [str(config.network.subnet_cidr)]}
        assert machine["kubelet"]["extraConfig"] == {"maxPods": 512}
        modules = {module["name"]: module.get("parameters") for module in machine["kernel"]["modules"]}
        assert modules == {
            "openvswitch": None, "drbd": ["usermode_helper=disabled"], "zfs": None, "spl": None,
            "vfio_pci": None, "vfio_iommu_type1": None,
        }  # fmt: skip
        assert machine["sysctls"] == {
            "net.ipv4.neigh.default.gc_thresh1": "4096",
            "net.ipv4.neigh.default.gc_thresh2": "8192",
            "net.ipv4.neigh.default.gc_thresh3": "16384",
        }
        files = {entry["path"]: entry for entry in machine["files"]}
        assert set(files) == {"/etc/cri/conf.d/20-customization.part", "/etc/lvm/lvm.conf"}
        cri = files["/etc/cri/conf.d/20-customization.part"]
        assert cri["op"] == "create"
        assert "device_ownership_from_security_context = true" in cri["content"]
        assert files["/etc/lvm/lvm.conf"]["op"] == "overwrite" and files["/etc/lvm/lvm.conf"]["permissions"] == 0o644
        assert '"r|^/dev/drbd.*|"' in files["/etc/lvm/lvm.conf"]["content"]
        assert cluster == {
            "network": {
                "cni": {"name": "none"},
                "dnsDomain": cozystack.cluster_domain,
                "podSubnets": [str(cozystack.pod_cidr)],
                "serviceSubnets": [str(cozystack.service_cidr)],
            },
            "discovery": {"enabled": False},
        }


def test_cozystack_patch_for_control_planes():
    for config in CONFIGS.values():
        if not config.cozystack.enabled:
            continue
        patch = yaml.safe_load(cozystack_patches(config, config.talos_minor)[COZYSTACK_CONTROLPLANE_PATCH])
        assert patch["machine"] == {
            "nodeLabels": {"node.kubernetes.io/exclude-from-external-load-balancers": {"$patch": "delete"}}
        }
        cluster = patch["cluster"]
        assert cluster["allowSchedulingOnControlPlanes"] is True
        assert cluster["proxy"] == {"disabled": True}
        assert cluster["etcd"] == {"advertisedSubnets": [str(config.network.subnet_cidr)]}
        assert cluster["controllerManager"] == cluster["scheduler"] == {"extraArgs": {"bind-address": "0.0.0.0"}}
        assert cluster["apiServer"] == {"certSANs": ["127.0.0.1"]}


def test_own_ranges_reach_the_patches():
    config = CONFIGS["workers-and-own-ranges"]
    text = "".join(cozystack_patches(config, config.talos_minor).values())
    for value in ("172.20.8.0/22", "lab.internal", "10.32.0.0/16", "10.33.0.0/20"):
        assert value in text
    assert "10.10.0.0" not in text and "cozy.local" not in text


def test_patches_per_node_in_order():
    config = CONFIGS["workers-and-own-ranges"]
    control_plane, worker = config.nodes
    assert patches_for(config, control_plane) == (
        "talos/cp-1.yaml", COZYSTACK_PATCH, COZYSTACK_CONTROLPLANE_PATCH
    )
    # Talos refuses etcd settings on a worker: the control-plane patch is not for it.
    assert patches_for(config, worker) == ("talos/worker-1.yaml", COZYSTACK_PATCH)
    off = CONFIGS["cozystack-off"]
    assert patches_for(off, off.nodes[0]) == ("talos/talos-gateway-1.yaml",)
    assert cozystack_patches(off, off.talos_minor) == {}
