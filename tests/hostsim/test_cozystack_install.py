"""The bring-up's CozyStack phase: talos-sandbox-cluster.service on the bastion, as
synthesized, installs CozyStack v1 against the stand-ins (harness/hostsim/kube_api.py: the
Kubernetes API's objects and a simulated CozyStack; tools/helm.py on get.helm.sh; the
cozy-installer chart on the simulated ghcr.io, its digest pinned in the test stack).

One world, the default sandbox (three control planes, each with its LINSTOR data volume),
shared by the tests in order: a HelmRelease failing while the platform installs is
reported, then healed the cluster is ready with everything the contract asks (the chart
pulled and checked, one helm install with the arm64 values, the Package after its
PackageSource, both storage classes, one pool per node on its partition, failmode set);
the bastion rebooted and replaced changes nothing; last, changed values meet a tampered
chart, which stops the unit for good with nothing installed. What is counted is counted
where it survives a bastion (the API stand-in's record, the internet's access log).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json

import pytest

from harness.hostsim import aws_api, kube_api
from harness.hostsim.tools import cozy_installer_chart
from harness.wait import wait_for

from .conftest import _build
from .test_cluster_bring_up import ARGV_LOG, EXIT_TAMPERED, UNIT, calls, last_update, parameter, status, wait_status

CHART_REPOSITORY = "cozystack/cozystack/cozy-installer"
FAILING = "cozy-kubeovn/kubeovn"
READY_SECONDS = 180


# --- reading the world ---------------------------------------------------------------------


def shared(sandbox, name: str):
    path = sandbox.world.talos.directory / name
    return json.loads(path.read_text()) if path.exists() else {}


def cluster_state(sandbox) -> dict:
    return next(iter(shared(sandbox, "kube.json").values()), {})


def objects(sandbox) -> dict:
    return cluster_state(sandbox).get("objects", {})


def releases(sandbox) -> list[dict]:
    """helm's release records (Secrets sh.helm.release.v1.<name>.v<n>), decoded, by revision."""
    found = [json.loads(gzip.decompress(base64.b64decode(base64.b64decode(secret["data"]["release"]))))
             for key, secret in objects(sandbox).items() if key.startswith("secrets/cozy-system/sh.helm.release.v1.")]
    return sorted(found, key=lambda release: release["version"])


def record(sandbox, event: str) -> list[dict]:
    return [e for e in sandbox.world.talos.record() if e["event"] == event]


def execs(sandbox, *command: str) -> list[dict]:
    return [e for e in record(sandbox, "exec") if e["command"][:len(command)] == list(command)]


def pool_creates(sandbox) -> list[dict]:
    return execs(sandbox, "linstor", "physical-storage", "create-device-pool")


def chart_pulls(sandbox) -> list[str]:
    log = sandbox.world.internet.access_log
    return [line for line in log.read_text().splitlines()
            if f"ghcr.io GET /v2/{CHART_REPOSITORY}/manifests/" in line] if log.exists() else []  # fmt: skip


def argv_log(sandbox) -> list[dict]:
    """Every stand-in command line the bastion ran, with its time (tools/__init__.py)."""
    text = sandbox.world.bastion.machine.read(ARGV_LOG)
    return [json.loads(line) for line in text.splitlines()]


def values_reads(sandbox) -> list[dict]:
    name = f"/{sandbox.config.name}/cluster/cozystack/values"
    return [call for call in calls(sandbox) if call.get("name") == name]


def cozystack(sandbox) -> dict:
    return status(sandbox).get("cozystack") or {}


def chart_version(sandbox) -> str:
    return sandbox.config.cozystack.version.removeprefix("v")


def set_fault(sandbox, faults: dict) -> None:
    (sandbox.world.talos.directory / "faults.json").write_text(json.dumps({"helmreleases": faults}))


def wait_cozystack_ready(sandbox, after: str = "", timeout: float = READY_SECONDS) -> dict:
    total = len(kube_api.PLATFORM)
    return wait_status(sandbox, f"ready with CozyStack (after {after or 'the start'})", lambda s: s["phase"] == "ready"
                       and s["last_error"] is None and s.get("updated", "") > after
                       and {k: ((s.get("cozystack") or {}).get("helmreleases") or {}).get(k) for k in ("ready", "total")}
                       == {"ready": total, "total": total}, timeout)  # fmt: skip


# --- the world, shared by the tests below in order -------------------------------------------


@pytest.fixture(scope="module")
def cozy(synth, keys, tmp_path_factory):
    sandbox = _build("cluster-default", keys, synth, tmp_path_factory.mktemp("world-cozystack"))
    try:
        yield sandbox
    finally:
        sandbox.world.close()


def test_a_failing_helmrelease_is_reported_while_the_platform_installs(cozy):
    sandbox = cozy
    set_fault(sandbox, {FAILING: {"reason": "InstallFailed", "message": "Helm install failed for release "
                                  f"{FAILING}: context deadline exceeded"}})  # fmt: skip
    sandbox.boot_bastion()
    for node in sandbox.config.nodes:
        sandbox.world.launch_node(node.private_ip, preinstalled=True)
    found = wait_status(sandbox, "the failed HelmRelease in the status", lambda s: any(
        f.get("name") == FAILING for f in (s.get("cozystack") or {}).get("failed", [])), READY_SECONDS)
    assert found["phase"] == "cozystack", found
    [failed] = [f for f in found["cozystack"]["failed"] if f["name"] == FAILING]
    assert failed["reason"] == "InstallFailed" and "context deadline exceeded" in failed["message"]
    assert FAILING in (found["last_error"] or ""), found["last_error"]
    reads = len(values_reads(sandbox))  # each round reads the values parameter
    wait_for(lambda: len(values_reads(sandbox)) >= reads + 2, 60, what="two more rounds")
    found = status(sandbox)
    assert found["phase"] == "cozystack" and FAILING in (found["last_error"] or ""), "not ready while one has failed"


def test_healed_the_cluster_is_ready_with_cozystack_installed_as_the_contract_says(cozy):
    sandbox = cozy
    set_fault(sandbox, {})
    found = wait_cozystack_ready(sandbox)
    names = [node.name for node in sandbox.config.nodes]
    assert found["cozystack"]["failed"] == [] and found["last_error"] is None

    # The chart: pulled from ghcr.io and checked (the stack pins its digest; test d shows a wrong one stops all).
    assert len(chart_pulls(sandbox)) == 1 and chart_pulls(sandbox)[0].endswith(f"/manifests/{chart_version(sandbox)} HTTP/1.1")
    assert found["cozystack"]["installed"] and len(found["cozystack"]["installed"]) == 64
    # Exactly one helm install, with the values Terraform wrote (the arm64 build's operator).
    [release] = releases(sandbox)
    assert (release["name"], release["namespace"], release["info"]["status"]) == ("cozystack", "cozy-system", "deployed")
    assert release["chart"]["metadata"]["version"] == chart_version(sandbox)
    build = sandbox.config.cozystack_build
    assert sandbox.config.architecture == "arm64"
    assert release["config"]["cozystackOperator"]["image"] == build.operator, release["config"]
    assert release["config"]["cozystackOperator"]["platformSourceRef"] == build.platform_source_ref
    values = parameter(sandbox, "cozystack/values")["value"]
    assert build.operator in values
    # The Package only once its PackageSource existed (the API refuses it before; here: in order).
    created = {(e["resource"], e["name"]): e["time"] for e in record(sandbox, "kube-create")}
    assert created[("packages.cozystack.io", kube_api.PLATFORM_PACKAGE)] > created[("packagesources.cozystack.io", kube_api.PLATFORM_PACKAGE)]
    assert record(sandbox, "kube-refused") == [], "no write the API refused (a Package before its PackageSource is one)"
    applies = [entry["time"] for entry in argv_log(sandbox) if entry["argv"][0] == "kubectl" and "apply" in entry["argv"]
               and entry["argv"][-1].endswith("/platform-package.yaml")]  # fmt: skip
    assert applies and min(applies) > created[("packagesources.cozystack.io", kube_api.PLATFORM_PACKAGE)], \
        "the Package was never even tried before its PackageSource existed"
    package = objects(sandbox)[f"packages.cozystack.io//{kube_api.PLATFORM_PACKAGE}"]
    assert package["spec"]["variant"] == "isp-full"
    # Both storage classes, as the install guide gives them.
    local = objects(sandbox)["storageclasses.storage.k8s.io//local"]
    replicated = objects(sandbox)["storageclasses.storage.k8s.io//replicated"]
    assert local["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert local["provisioner"] == replicated["provisioner"] == "linstor.csi.linbit.com"
    assert local["parameters"]["linstor.csi.linbit.com/storagePool"] == replicated["parameters"]["linstor.csi.linbit.com/storagePool"] == "data"
    assert local["parameters"]["linstor.csi.linbit.com/layerList"] == "storage"
    assert replicated["parameters"]["linstor.csi.linbit.com/autoPlace"] == "3"
    assert replicated["parameters"]["linstor.csi.linbit.com/layerList"] == "drbd storage"
    # One pool per node, on that node's LINSTOR partition (its data volume), created once each.
    linstor = cluster_state(sandbox)["linstor"]
    assert {node: pools["data"]["device"] for node, pools in linstor["pools"].items() if "data" in pools} == \
        {name: "/dev/nvme1n1p1" for name in names}
    assert found["cozystack"]["pools"] == {name: "/dev/nvme1n1p1" for name in names}
    assert sorted(e["command"][4] for e in pool_creates(sandbox) if e["code"] == 0) == sorted(names)
    assert all(e["command"][5:] == ["/dev/nvme1n1p1", "--pool-name", "data", "--storage-pool", "data"] for e in pool_creates(sandbox))
    # failmode=continue in each node's satellite.
    assert {node: zpools["data"]["failmode"] for node, zpools in linstor["zpools"].items()} == {name: "continue" for name in names}
    assert sorted(e["node"] for e in execs(sandbox, "zpool", "set", "failmode=continue", "data") if e["code"] == 0) == sorted(names)


def test_the_bastion_rebooted_and_replaced_installs_nothing_again(cozy):
    sandbox, world = cozy, cozy.world
    installs, creates, pulls = len(releases(sandbox)), len(pool_creates(sandbox)), len(chart_pulls(sandbox))
    installed = cozystack(sandbox)["installed"]
    since = last_update(sandbox)
    world.reboot(world.bastion)
    wait_cozystack_ready(sandbox, since)
    world.terminate_bastion()
    since = last_update(sandbox)
    sandbox.boot_bastion()
    found = wait_cozystack_ready(sandbox, since)
    # Two more rounds on the new bastion (each reads the values again): still nothing done twice.
    reads = len(values_reads(sandbox))
    wait_for(lambda: len(values_reads(sandbox)) >= reads + 2, 90, what="two more rounds")
    found = status(sandbox)
    assert found["phase"] == "ready" and found["cozystack"]["installed"] == installed
    assert len(releases(sandbox)) == installs == 1, "no second helm install"
    assert len(pool_creates(sandbox)) == creates, "no second pool create"
    assert len(chart_pulls(sandbox)) == pulls, "no second chart pull"


def test_changed_values_meet_a_tampered_chart_which_stops_the_unit_with_nothing_installed(cozy):
    sandbox, world = cozy, cozy.world
    installs = len(releases(sandbox))
    tampered = cozy_installer_chart(chart_version(sandbox)) + b"\0tampered"
    digest = world.internet.publish_chart(f"oci://ghcr.io/{CHART_REPOSITORY}", chart_version(sandbox), tampered)
    assert digest == hashlib.sha256(tampered).hexdigest()
    with aws_api.account(world.account) as state:  # what `terraform apply` of changed values does
        values = state["ssm"][f"/{sandbox.config.name}/cluster/cozystack/values"]
        values.update(value=values["value"] + "# changed\n", version=values["version"] + 1)
    unit = sandbox.wait_for_unit(world.bastion, UNIT, lambda s: s["ActiveState"] == "failed", "failed", timeout=90)
    assert (unit["ExecMainStatus"], unit["NRestarts"]) == (str(EXIT_TAMPERED), "0"), f"final, not retried: {unit}"
    failed = status(sandbox)
    assert failed["phase"] == "failed", failed
    assert "cozy-installer" in failed["last_error"] and digest in failed["last_error"], failed["last_error"]
    assert len(releases(sandbox)) == installs, "nothing installed from the tampered chart"
    assert len(chart_pulls(sandbox)) == 2
