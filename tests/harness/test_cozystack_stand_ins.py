"""The CozyStack phase's stand-ins on their own, strict where the real tools are: helm (pull
from an OCI registry, upgrade --install), kubectl (get, apply, exec), the Kubernetes API
stand-in's objects and simulated CozyStack (harness/hostsim/kube_api.py), linstor and zpool
in its pods, and talosctl's `get volumestatus`. Node stand-ins on loopback addresses, the
tools as published zipapps, a plain-HTTP registry on loopback; no namespaces.

Each refusal has a test beside the call that is accepted."""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import http.server
import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from harness.hostsim import kube_api, tools
from harness.hostsim.internet import Internet
from harness.hostsim.tools import cobra, helm_flags
from harness.hostsim.world import REPO_ROOT
from harness.wait import wait_for

from .test_talos_stand_ins import _listening

CLUSTER = "cozy"
TALOS, KUBECTL, HELM = "v1.13.5", "v1.36.2", "v3.18.4"
CHART = "cozystack/cozystack/cozy-installer"
CHART_VERSION = "1.5.1"
DATA = 'apiVersion: v1alpha1\nkind: RawVolumeConfig\nname: linstor\nprovisioning:\n  diskSelector:\n    match: "!system_disk && disk.model.startsWith(\\"Amazon Elastic Block Store\\")"\n  minSize: 1GiB\n'
SPLIT = ("apiVersion: v1alpha1\nkind: VolumeConfig\nname: EPHEMERAL\nprovisioning:\n  minSize: 20GiB\n  maxSize: 20GiB\n"
         "  grow: false\n---\napiVersion: v1alpha1\nkind: RawVolumeConfig\nname: linstor\nprovisioning:\n  diskSelector:\n"
         "    match: system_disk\n  minSize: 10GiB\n")  # fmt: skip
UNCAPPED = "apiVersion: v1alpha1\nkind: RawVolumeConfig\nname: linstor\nprovisioning:\n  diskSelector:\n    match: system_disk\n"
# ip -> (hostname, machine type, storage documents, data disk)
NODES = {
    "127.0.0.21": ("cp-1", "controlplane", DATA, True),
    "127.0.0.22": ("cp-2", "controlplane", SPLIT, False),
    "127.0.0.23": ("worker-3", "worker", None, False),  # no LINSTOR volume at all
    "127.0.0.24": ("worker-4", "worker", DATA, False),  # a data selector, but no data disk
    "127.0.0.25": ("worker-5", "worker", UNCAPPED, False),  # on the system disk, EPHEMERAL not capped: no room
}
STORAGE_CLASSES = """apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: linstor.csi.linbit.com
parameters:
  linstor.csi.linbit.com/storagePool: data
  linstor.csi.linbit.com/layerList: storage
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: replicated
provisioner: linstor.csi.linbit.com
parameters:
  linstor.csi.linbit.com/storagePool: data
  linstor.csi.linbit.com/autoPlace: "3"
  linstor.csi.linbit.com/layerList: drbd storage
"""
PACKAGE = "apiVersion: cozystack.io/v1alpha1\nkind: Package\nmetadata:\n  name: cozystack.cozystack-platform\nspec:\n  variant: isp-full\n"
VALUES = "cozystackOperator:\n  variant: talos\n  image: ghcr.io/urmanac/cozystack-assets/cozystack-operator@sha256:7304\n"


def patch(name: str, storage: str | None) -> str:
    text = f"apiVersion: v1alpha1\nkind: HostnameConfig\nhostname: {name}\nauto: \"off\"\n"
    return text + (f"---\n{storage}" if storage else "")


class Registry:
    """The simulated internet's files (internet.py publish_chart) over plain HTTP on loopback."""

    def __init__(self, root: Path):
        self.internet = Internet(root)
        self.internet.root.mkdir(parents=True)
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(self.internet.root))
        handler.log_message = lambda *args: None
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.host = f"127.0.0.1:{self.server.server_address[1]}"

    def publish(self, chart: bytes | None = None) -> str:
        return self.internet.publish_chart(f"oci://{self.host}/{CHART}", CHART_VERSION, chart)


class World:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.processes: list[subprocess.Popen] = []
        for tool, data in (("talosctl", tools.talosctl_release(TALOS)), ("kubectl", tools.kubectl_release(KUBECTL)),
                           ("helm", tools.build("helm", HELM))):  # fmt: skip
            (workdir / tool).write_bytes(data)
            (workdir / tool).chmod(0o755)
        self.registry = Registry(workdir / "internet")

    def run(self, tool: str, *args: str, check: bool = False) -> subprocess.CompletedProcess:
        result = subprocess.run([str(self.workdir / tool), *args], capture_output=True, text=True, cwd=self.workdir, timeout=120)
        assert not check or result.returncode == 0, result.stderr
        return result

    def kubectl(self, *args: str) -> subprocess.CompletedProcess:
        return self.run("kubectl", "--kubeconfig", "kubeconfig", "--request-timeout=10s", *args)

    def helm(self, *args: str) -> subprocess.CompletedProcess:
        return self.run("helm", *args)

    def linstor(self, *args: str) -> subprocess.CompletedProcess:
        return self.kubectl("-n", "cozy-linstor", "exec", "deploy/linstor-controller", "--", "linstor", *args)

    def start(self) -> None:
        assert self.run("talosctl", "gen", "secrets", "--output-file", "secrets.yaml").returncode == 0
        for ip, (name, kind, storage, data) in NODES.items():
            (self.workdir / f"{name}.patch.yaml").write_text(patch(name, storage))
            self.run("talosctl", "gen", "config", CLUSTER, "https://127.0.0.21:6443", "--with-secrets", "secrets.yaml",
                     "--talos-version", "v1.13", "--output-types", kind, "--config-patch", f"@{name}.patch.yaml",
                     "--output", f"{name}.yaml", "--force", check=True)  # fmt: skip
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "harness.hostsim.talos_node", "--ip", ip, "--hostname", name, "--machine-type", kind,
                 "--cluster", CLUSTER, "--talos", TALOS, "--instance", "i-1", "--state", str(self.workdir / ip),
                 "--world", str(self.world), "--reboot-seconds", "0.2",
                 "--data-disk-bytes", str(256 * 1024**3 if data else 0)], cwd=REPO_ROOT))  # fmt: skip
            wait_for(lambda: _listening(ip), 10, what=f"the node stand-in on {ip}")
        self.run("talosctl", "gen", "config", CLUSTER, "https://127.0.0.21:6443", "--with-secrets", "secrets.yaml",
                 "--talos-version", "v1.13", "--output-types", "talosconfig", "-o", "talosconfig", "--force", check=True)
        for ip, (name, *_) in NODES.items():
            self.run("talosctl", "apply-config", "--insecure", "--nodes", ip, "--file", f"{name}.yaml", check=True)
        wait_for(lambda: self.talos("127.0.0.21", "version").returncode == 0, 10, what="cp-1 configured")
        self.talos("127.0.0.21", "bootstrap")
        wait_for(lambda: self.talos("127.0.0.21", "kubeconfig", "kubeconfig", "--force", "--merge=false").returncode == 0,
                 10, what="the kubeconfig")  # fmt: skip
        wait_for(lambda: self.kubectl("get", "--raw=/readyz").returncode == 0, 20, what="the Kubernetes API stand-in")
        wait_for(lambda: len(self.registered()) == len(NODES), 20, what="every node registered")

    @property
    def world(self) -> Path:
        return self.workdir / "world"

    def talos(self, ip: str, *args: str) -> subprocess.CompletedProcess:
        return self.run("talosctl", "--talosconfig", "talosconfig", "--endpoints", ip, "--nodes", ip, *args)

    def registered(self) -> dict:
        path = self.world / "etcd.json"
        return next(iter(json.loads(path.read_text()).values()), {}).get("nodes", {}) if path.exists() else {}

    def objects(self) -> dict:
        path = self.world / "kube.json"
        return next(iter(json.loads(path.read_text()).values()))["objects"] if path.exists() else {}

    def record(self, event: str) -> list[dict]:
        path = self.world / "record.jsonl"
        return [e for e in map(json.loads, path.read_text().splitlines()) if e["event"] == event]

    def pull(self, *extra: str) -> subprocess.CompletedProcess:
        return self.helm("pull", f"oci://{self.registry.host}/{CHART}", "--version", CHART_VERSION, "--plain-http", *extra)

    def install(self, *extra: str) -> subprocess.CompletedProcess:
        return self.helm("upgrade", "--install", "cozystack", f"chart/cozy-installer-{CHART_VERSION}.tgz", "--namespace",
                         "cozy-system", "--values", "values.yaml", "--wait", "--timeout", "1m", "--kubeconfig", "kubeconfig",
                         *extra)  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    found = World(tmp_path_factory.mktemp("cozystack-stand-ins"))
    try:
        found.start()
        yield found
    finally:
        for process in found.processes:
            process.kill()
            process.wait(timeout=10)
        found.registry.server.shutdown()


def releases(world: World) -> list[dict]:
    found = []
    for key, secret in sorted(world.objects().items()):
        if key.startswith("secrets/cozy-system/sh.helm.release.v1."):
            found.append(json.loads(gzip.decompress(base64.b64decode(base64.b64decode(secret["data"]["release"])))))
    return sorted(found, key=lambda r: r["version"])


# --- flags and commands ------------------------------------------------------------------


@pytest.mark.skipif(not Path(helm_flags.DEFAULT_MIRROR).exists(), reason="no mirror of helm/helm here")
def test_the_helm_flag_table_is_helms_own():
    assert helm_flags.build() == helm_flags.load()


def test_helm_and_kubectl_refuse_what_they_do_not_know():
    helm = cobra.tree(tools.flag_table("helm", HELM)["commands"])
    _, values, positional = cobra.resolve(helm, ["upgrade", "--install", "r", "c.tgz", "-n", "ns", "-f", "a.yaml", "--values=b.yaml",
                                                 "--create-namespace", "--wait", "--timeout", "5m", "--kubeconfig", "k"])  # fmt: skip
    assert values == {"install": True, "namespace": "ns", "values": ["a.yaml", "b.yaml"], "create-namespace": True, "wait": True,
                      "timeout": 300.0, "kubeconfig": "k"} and positional == ["r", "c.tgz"]  # fmt: skip
    _, values, _ = cobra.resolve(helm, ["pull", "oci://x/y", "--version", "1", "-d", "dir"])
    assert values == {"version": "1", "destination": "dir"}
    for argv, message in [(["upgrade", "r", "c", "--bogus"], "unknown flag: --bogus"), (["pull", "x", "--wait"], "unknown flag: --wait"),
                          (["upgrade", "r"], "accepts 2 arg(s), received 1"), (["frobnicate"], 'unknown command "frobnicate" for "helm"'),
                          (["upgrade", "r", "c", "--timeout", "5"], 'invalid argument "5" for "--timeout" flag')]:  # fmt: skip
        with pytest.raises(cobra.UsageError, match=re.escape(message)):
            cobra.resolve(helm, argv)
    with pytest.raises(NotImplementedError):
        cobra.resolve(helm, ["list"])
    kubectl = cobra.tree(tools.flag_table("kubectl", KUBECTL)["commands"])
    assert cobra.resolve(kubectl, ["apply", "-f", "x.yaml"])[1] == {"filename": ["x.yaml"]}
    assert cobra.resolve(kubectl, ["-n", "ns", "exec", "deploy/x", "--", "linstor", "-m", "n", "l"])[2] == ["deploy/x", "linstor", "-m", "n", "l"]
    for argv, message in [(["apply", "-f", "x", "--bogus"], "unknown flag: --bogus"), (["exec", "-z", "p"], "unknown shorthand flag: 'z'")]:
        with pytest.raises(cobra.UsageError, match=re.escape(message)):
            cobra.resolve(kubectl, argv)


# --- talosctl get volumestatus -------------------------------------------------------------


def test_volumestatus_answers_from_the_applied_config(world):
    def location(ip: str) -> subprocess.CompletedProcess:
        return world.talos(ip, "get", "volumestatus", "r-linstor", "-o", "jsonpath={.spec.location}")

    data, split, none, no_disk, uncapped = (location(ip) for ip in NODES)
    assert (data.returncode, data.stdout) == (0, "/dev/nvme1n1p1\n"), data.stderr
    assert (split.returncode, split.stdout) == (0, "/dev/nvme0n1p5\n"), split.stderr
    assert none.returncode == 1 and "code = NotFound" in none.stderr and "r-linstor" in none.stderr
    assert (no_disk.returncode, no_disk.stdout) == (0, "\n"), "no data disk: the volume waits, no location"
    assert (uncapped.returncode, uncapped.stdout) == (0, "\n"), "EPHEMERAL takes the disk: the volume waits"
    assert world.talos("127.0.0.21", "get", "volumestatus", "r-linstor", "-o", "jsonpath={.spec.location[0]}").returncode == 1


# --- the chart: pull, install, the operator ------------------------------------------------


def test_helm_pull_fetches_and_verifies_the_chart(world):
    digest = world.registry.publish()
    refused = world.pull("--destination", "chart")
    assert refused.returncode == 1 and "no such file or directory" in refused.stderr, "helm does not make the destination"
    (world.workdir / "chart").mkdir()
    pulled = world.pull("--destination", "chart")
    assert pulled.returncode == 0, pulled.stderr
    assert hashlib.sha256((world.workdir / "chart" / f"cozy-installer-{CHART_VERSION}.tgz").read_bytes()).hexdigest() == digest
    missing = world.helm("pull", f"oci://{world.registry.host}/{CHART}", "--version", "9.9.9", "--plain-http", "-d", "chart")
    assert missing.returncode == 1 and "not found" in missing.stderr
    unversioned = world.helm("pull", f"oci://{world.registry.host}/{CHART}", "--plain-http")
    assert unversioned.returncode == 1 and "--version" in unversioned.stderr
    # A blob that is not what its manifest says: oras refuses it (a consistent tamper needs a pin).
    blob = world.registry.internet.root / "v2" / CHART / "blobs" / f"sha256:{digest}"
    genuine = blob.read_bytes()
    blob.write_bytes(genuine + b"x")
    try:
        assert "digest mismatch" in world.pull("-d", "chart").stderr
    finally:
        blob.write_bytes(genuine)


def test_helm_install_records_the_release_and_the_operator_makes_its_crds(world):
    (world.workdir / "values.yaml").write_text(VALUES)
    refused = world.install()
    assert refused.returncode == 1 and 'namespaces "cozy-system" not found' in refused.stderr, "no --create-namespace"
    missing = world.kubectl("get", "packagesources.cozystack.io", kube_api.PLATFORM_PACKAGE, "-o", "name")
    assert missing.returncode == 1 and missing.stderr.strip() == "error: the server doesn't have a resource type \"packagesources\""
    installed = world.install("--create-namespace")
    assert installed.returncode == 0 and "STATUS: deployed" in installed.stdout and "REVISION: 1" in installed.stdout, installed.stderr
    [release] = releases(world)
    assert release["info"]["status"] == "deployed" and release["config"]["cozystackOperator"]["image"].endswith("@sha256:7304")
    operator = world.objects()["deployments.apps/cozy-system/cozystack-operator"]
    assert operator["spec"]["template"]["spec"]["containers"][0]["image"].endswith("@sha256:7304"), "values reached the chart"
    assert operator["status"]["readyReplicas"] == 1, "--wait waited for it"
    wait_for(lambda: world.kubectl("get", "crd", "packages.cozystack.io", "-o", "name").returncode == 0, 10, what="the CRDs")
    early = world.kubectl("get", "packagesources.cozystack.io", kube_api.PLATFORM_PACKAGE, "-o", "name")
    assert early.returncode == 1 and early.stderr.strip() == (
        f'Error from server (NotFound): packagesources.cozystack.io "{kube_api.PLATFORM_PACKAGE}" not found')
    (world.workdir / "platform-package.yaml").write_text(PACKAGE)
    refused = world.kubectl("apply", "-f", "platform-package.yaml")
    assert refused.returncode == 1 and "PackageSource" in refused.stderr, "a Package before its PackageSource is refused"
    wait_for(lambda: world.kubectl("get", "packagesources.cozystack.io", kube_api.PLATFORM_PACKAGE, "-o", "name").returncode == 0,
             10, what="the PackageSource")  # fmt: skip
    found = world.kubectl("get", "packagesources.cozystack.io", kube_api.PLATFORM_PACKAGE, "-o", "name")
    assert found.stdout == f"packagesource.cozystack.io/{kube_api.PLATFORM_PACKAGE}\n"
    again = world.install()
    assert again.returncode == 0 and "REVISION: 2" in again.stdout
    assert [(r["version"], r["info"]["status"]) for r in releases(world)] == [(1, "superseded"), (2, "deployed")]


def test_kubectl_apply_creates_configures_and_leaves_unchanged(world):
    (world.workdir / "storage-classes.yaml").write_text(STORAGE_CLASSES)
    first = world.kubectl("apply", "-f", "storage-classes.yaml")
    assert first.returncode == 0 and first.stdout.splitlines() == [
        "storageclass.storage.k8s.io/local created", "storageclass.storage.k8s.io/replicated created"], first.stderr
    assert world.kubectl("apply", "-f", "storage-classes.yaml").stdout.split("\n")[0].endswith("unchanged")
    (world.workdir / "storage-classes.yaml").write_text(STORAGE_CLASSES.replace('autoPlace: "3"', 'autoPlace: "2"'))
    assert world.kubectl("apply", "-f", "storage-classes.yaml").stdout.splitlines()[1].endswith("replicated configured")
    (world.workdir / "storage-classes.yaml").write_text(STORAGE_CLASSES)
    world.kubectl("apply", "-f", "storage-classes.yaml")
    missing = world.kubectl("apply", "-f", "nowhere.yaml")
    assert missing.returncode == 1 and 'the path "nowhere.yaml" does not exist' in missing.stderr
    (world.workdir / "unknown-kind.yaml").write_text("apiVersion: example.io/v1\nkind: Gadget\nmetadata:\n  name: g\n")
    unknown = world.kubectl("apply", "-f", "unknown-kind.yaml")
    assert unknown.returncode == 1 and 'no matches for kind "Gadget"' in unknown.stderr and "ensure CRDs are installed first" in unknown.stderr


def helmreleases(world: World) -> dict[str, tuple]:
    listed = world.kubectl("get", "helmreleases.helm.toolkit.fluxcd.io", "-A", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    return {f"{i['metadata']['namespace']}/{i['metadata']['name']}": tuple(
        i["status"]["conditions"][0][k] for k in ("status", "reason")) for i in json.loads(listed.stdout)["items"]}


def test_the_platform_comes_up_and_a_failed_helmrelease_heals(world):
    before = world.linstor("node", "list")
    assert before.returncode == 1 and 'deployments.apps "linstor-controller" not found' in before.stderr
    (world.world / "faults.json").write_text(json.dumps({"helmreleases": {"cozy-cilium/cilium": {
        "reason": "InstallFailed", "message": "Helm install failed for release cozy-cilium/cilium: timed out"}}}))
    applied = world.kubectl("apply", "-f", "platform-package.yaml")
    assert applied.returncode == 0 and "package.cozystack.io/cozystack.cozystack-platform created" in applied.stdout, applied.stderr
    wait_for(lambda: helmreleases(world).get("cozy-cilium/cilium") == ("False", "InstallFailed"), 20, what="cilium failing")
    wait_for(lambda: len(helmreleases(world)) == len(kube_api.PLATFORM) and
             sum(s == "True" for s, _ in helmreleases(world).values()) == len(kube_api.PLATFORM) - 1, 20, what="the others ready")
    (world.world / "faults.json").write_text("{}")
    wait_for(lambda: all(s == "True" for s, _ in helmreleases(world).values()), 20, what="healed")


def test_linstor_pools_only_on_the_nodes_partition_and_once(world):
    nodes = json.loads(world.linstor("--machine-readable", "node", "list").stdout)
    assert sorted(n["name"] for n in nodes[0]) == sorted(name for name, *_ in NODES.values())
    assert all(n["connection_status"] == "ONLINE" for n in nodes[0])
    pools = json.loads(world.linstor("--machine-readable", "storage-pool", "list").stdout)[0]
    assert {p["storage_pool_name"] for p in pools} == {"DfltDisklessStorPool"}

    def create(node: str, device: str) -> subprocess.CompletedProcess:
        return world.linstor("physical-storage", "create-device-pool", "zfs", node, device, "--pool-name", "data", "--storage-pool", "data")

    wrong = create("cp-1", "/dev/nvme0n1p5")
    assert wrong.returncode == 10 and "command terminated with exit code 10" in wrong.stderr and "ERROR" in wrong.stdout
    assert create("cp-9", "/dev/nvme1n1p1").returncode == 10, "a node LINSTOR does not know"
    assert create("worker-4", "/dev/nvme1n1p1").returncode == 10, "a node without that device"
    made = create("cp-1", "/dev/nvme1n1p1")
    assert made.returncode == 0 and "SUCCESS" in made.stdout, made.stderr
    assert create("cp-2", "/dev/nvme0n1p5").returncode == 0
    again = create("cp-1", "/dev/nvme1n1p1")
    assert again.returncode == 10 and "already exists" in again.stdout
    pools = json.loads(world.linstor("-m", "storage-pool", "list").stdout)[0]
    assert sorted((p["node_name"], p["provider_kind"]) for p in pools if p["storage_pool_name"] == "data") == [("cp-1", "ZFS"), ("cp-2", "ZFS")]
    assert world.kubectl("-n", "cozy-linstor", "exec", "deploy/linstor-controller", "linstor", "node", "list").returncode == 1, "no --"
    assert world.kubectl("-n", "cozy-linstor", "exec", "deploy/linstor-controller", "--", "zpool", "list").returncode == 127


def test_zpool_failmode_only_where_the_pool_is(world):
    def satellite(node: str) -> str:
        found = world.kubectl("-n", "cozy-linstor", "get", "pods", "-l", "app.kubernetes.io/component=linstor-satellite",
                              "--field-selector", f"spec.nodeName={node}", "-o", "name")  # fmt: skip
        assert found.returncode == 0, found.stderr
        return found.stdout.strip()

    assert satellite("cp-1").startswith("pod/linstor-satellite.cp-1-")
    none = world.kubectl("-n", "cozy-linstor", "get", "pods", "-l", "app=nothing", "-o", "name")
    assert none.returncode == 0 and none.stdout == "" and "No resources found in cozy-linstor namespace." in none.stderr
    ok = world.kubectl("-n", "cozy-linstor", "exec", satellite("cp-1"), "-c", "linstor-satellite", "--", "zpool", "set",
                       "failmode=continue", "data")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    wrong = world.kubectl("-n", "cozy-linstor", "exec", satellite("cp-1"), "-c", "drbd", "--", "zpool", "list")
    assert wrong.returncode == 1 and "container drbd is not valid for pod" in wrong.stderr
    refused = world.kubectl("-n", "cozy-linstor", "exec", satellite("worker-3"), "--", "zpool", "set", "failmode=continue", "data")
    assert refused.returncode == 1 and "cannot open 'data': no such pool" in refused.stderr
    assert kube_api.LINSTOR_NAMESPACE
    execs = [e for e in world.record("exec") if e["command"][:1] == ["zpool"]]
    assert [(e["node"], e["code"]) for e in execs][-2:] == [("cp-1", 0), ("worker-3", 1)], "every exec is recorded"
    assert ok.returncode == 0
