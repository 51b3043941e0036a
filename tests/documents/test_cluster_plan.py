"""The bring-up's plan and parameters: names under /<name>/cluster, patches as synth writes
them, the pinned arm64 tools, and nothing secret."""

from __future__ import annotations

import json

from talos_sandbox.config import default_config
from talos_sandbox.documents.cluster_plan import (
    PLACEHOLDER,
    cluster_parameters,
    cluster_plan,
    cluster_plan_json,
)
from talos_sandbox.documents.cozystack import install_files
from talos_sandbox.documents.talos_patches import patches_for, talos_patches

from ..conftest import make_config
from .test_cozystack import v0

FIVE_NODES = [
    {"name": f"n{index}", "private_ip": f"10.10.0.{10 + index}", "role": "gateway" if index == 1 else "compute",
     "machine_type": "controlplane" if index <= 3 else "worker"}
    for index in range(1, 6)
]  # fmt: skip


def test_bastion_written_parameters_and_one_per_patch():
    config = default_config()
    parameters = cluster_parameters(config)
    written = {key: p for key, p in parameters.items() if p.value is None}
    assert {key: (p.name, p.tier) for key, p in written.items()} == {
        "secrets": ("/cozy-demo/cluster/secrets", "Advanced"),
        "talosconfig": ("/cozy-demo/cluster/talosconfig", "Advanced"),
        "kubeconfig": ("/cozy-demo/cluster/kubeconfig", "Advanced"),
        "status": ("/cozy-demo/cluster/status", "Standard"),
    }
    files = talos_patches(config, config.talos_minor)
    patches = {p.name: p.value for key, p in parameters.items() if key.startswith("patch/")}
    assert patches == {f"/cozy-demo/cluster/patches/{path[6:-5]}": text for path, text in files.items()}


def test_each_node_gets_its_patches_in_the_order_gen_config_takes_them():
    config = make_config(nodes=FIVE_NODES)
    plan = cluster_plan(config)
    for node, planned in zip(config.nodes, plan["nodes"]):
        assert planned["name"] == node.name and planned["ip"] == str(node.private_ip)
        assert planned["machine_type"] == node.machine_type
        expected = [f"/cozy-demo/cluster/patches/{path[6:-5]}" for path in patches_for(config, node)]
        assert planned["patches"] == expected
    assert plan["bootstrap_node"] == "n1" and plan["endpoint"] == "https://10.10.0.11:6443"


def test_tools_are_the_release_matrix_arm64_builds_pinned():
    config = default_config()
    tools = cluster_plan(config)["tools"]
    release = config.talos_release
    assert tools["talosctl"]["url"].endswith(f"/{release.talosctl.version}/talosctl-linux-arm64")
    assert tools["talosctl"]["sha256"] == release.talosctl.sha256["arm64"]
    assert tools["kubectl"]["url"].endswith(f"/{release.kubectl.version}/bin/linux/arm64/kubectl")
    assert tools["kubectl"]["sha256"] == release.kubectl.sha256["arm64"]
    assert {t["checksum_format"] for t in tools.values()} == {"list", "bare"}


def test_plan_is_deterministic_and_names_no_patch_text():
    config = default_config()
    text = cluster_plan_json(config)
    assert text == cluster_plan_json(default_config())
    plan = json.loads(text)
    assert plan["placeholder"] == PLACEHOLDER and plan["key_id"] == "alias/cozy-demo-cluster"
    assert "machine:" not in text, "patches travel as parameters, not in the user-data"
    assert plan["kubernetes_version"] == config.talos_release.kubernetes


def test_cozystack_v1_files_are_parameters_and_the_plan_pins_chart_and_helm():
    config = make_config(cozystack={"chart_sha256": "a" * 64})
    parameters = cluster_parameters(config)
    files = install_files(config)
    assert {key: p.value for key, p in parameters.items() if key.startswith("cozystack/")} == {
        "cozystack/values": files["cozystack/values.yaml"],
        "cozystack/platform-package": files["cozystack/platform-package.yaml"],
        "cozystack/storage-classes": files["cozystack/storage-classes.yaml"],
    }
    plan = cluster_plan(config)
    assert plan["cozystack"]["files"] == {
        "values": "/cozy-demo/cluster/cozystack/values",
        "platform-package": "/cozy-demo/cluster/cozystack/platform-package",
        "storage-classes": "/cozy-demo/cluster/cozystack/storage-classes",
    }
    assert plan["cozystack"]["chart"] == {
        "ref": "oci://ghcr.io/cozystack/cozystack/cozy-installer", "version": "1.5.1", "sha256": "a" * 64,
    }  # fmt: skip
    assert plan["cozystack"]["linstor"]["pool"] == "data" and plan["cozystack"]["linstor"]["volume"] == "r-linstor"
    helm = plan["tools"]["helm"]
    assert helm["url"].endswith("helm-v3.18.4-linux-arm64.tar.gz") and helm["archive_member"] == "linux-arm64/helm"
    assert len(helm["sha256"]) == 64 and helm["checksum_format"] == "list"
    assert cluster_plan(default_config())["cozystack"]["chart"]["sha256"] == "", "the matrix records none"


def test_no_cozystack_phase_for_v0_or_without_cozystack():
    for config in (v0(), make_config(cozystack={"enabled": False})):
        assert "cozystack" not in cluster_plan(config) and "helm" not in cluster_plan(config)["tools"]
        assert not [key for key in cluster_parameters(config) if key.startswith("cozystack/")]
