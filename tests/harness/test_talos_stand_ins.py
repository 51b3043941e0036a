"""The host harness's Talos stand-ins on their own: the talosctl and kubectl stand-ins (as
published zipapps) against Talos node stand-ins on loopback addresses, no namespaces."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.hostsim import tools
from harness.hostsim.tools import cli_reference, cobra
from harness.hostsim.tools import talos_formats as formats
from harness.wait import wait_for
from harness.hostsim.world import REPO_ROOT

# Loopback addresses stand in for the nodes' (127.0.0.0/8 is all local on Linux).
NODES = {"127.0.0.11": ("cp-1", "controlplane"), "127.0.0.12": ("cp-2", "controlplane"), "127.0.0.13": ("worker-3", "worker")}
CLUSTER = "stand-in"


def _listening(ip: str) -> bool:
    try:
        socket.create_connection((ip, 50000), timeout=1).close()
        return True
    except OSError:
        return False


def patch(name: str) -> str:
    return f"machine:\n  install:\n    disk: /dev/nvme0n1\n---\napiVersion: v1alpha1\nkind: HostnameConfig\nhostname: {name}\nauto: \"off\"\n"


class Cluster:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.processes: dict[str, subprocess.Popen] = {}
        self.instances: dict[str, int] = {}
        for tool, version, data in (("talosctl", "v1.13.5", tools.talosctl_release("v1.13.5")),
                                    ("kubectl", "v1.36.2", tools.kubectl_release("v1.36.2"))):  # fmt: skip
            (workdir / tool).write_bytes(data)
            (workdir / tool).chmod(0o755)
        for ip, (name, _) in NODES.items():
            (workdir / f"{name}.patch.yaml").write_text(patch(name))

    def start(self, ip: str) -> None:
        self.instances[ip] = self.instances.get(ip, 0) + 1
        name, kind = NODES[ip]
        instance = f"i-{self.instances[ip]}"
        self.processes[ip] = subprocess.Popen(
            [sys.executable, "-m", "harness.hostsim.talos_node", "--ip", ip, "--hostname", name, "--machine-type", kind,
             "--cluster", CLUSTER, "--talos", "v1.13.5", "--instance", instance, "--state", str(self.workdir / f"{ip}-{instance}"),
             "--world", str(self.workdir / "world"), "--reboot-seconds", "0.3"], cwd=REPO_ROOT)  # fmt: skip
        wait_for(lambda: _listening(ip), 10, what=f"the node stand-in on {ip}")

    def stop(self, ip: str) -> None:
        # Waited for: until it is gone its socket still listens, and start() would take it for the new one.
        process = self.processes.pop(ip)
        process.kill()
        process.wait(timeout=10)

    def talosctl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.workdir / "talosctl"), *args], capture_output=True, text=True, cwd=self.workdir,
                              timeout=60)  # fmt: skip

    def secure(self, ip: str, *args: str) -> subprocess.CompletedProcess:
        return self.talosctl("--talosconfig", "talosconfig", "--endpoints", ip, "--nodes", ip, *args)

    def record(self) -> list[dict]:
        path = self.workdir / "world" / "record.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def cluster(tmp_path):
    found = Cluster(tmp_path)
    yield found
    for process in found.processes.values():
        process.kill()


def generate(cluster: Cluster, secrets: str = "secrets.yaml") -> None:
    assert cluster.talosctl("gen", "secrets", "--output-file", secrets).returncode == 0
    for ip, (name, kind) in NODES.items():
        result = cluster.talosctl("gen", "config", CLUSTER, "https://127.0.0.11:6443", "--with-secrets", secrets,
                                  "--talos-version", "v1.13", "--kubernetes-version", "1.36.2", "--output-types", kind,
                                  "--with-examples=false", "--with-docs=false", "--config-patch", f"@{name}.patch.yaml",
                                  "--output", f"{name}.yaml", "--force")  # fmt: skip
        assert result.returncode == 0, result.stderr
    assert cluster.talosctl("gen", "config", CLUSTER, "https://127.0.0.11:6443", "--with-secrets", secrets,
                            "--talos-version", "v1.13", "--output-types", "talosconfig", "-o", "talosconfig",
                            "--force").returncode == 0  # fmt: skip


def health(cluster: Cluster, timeout: str = "5s") -> subprocess.CompletedProcess:
    return cluster.secure("127.0.0.11", "health", "--control-plane-nodes", "127.0.0.11,127.0.0.12",
                          "--worker-nodes", "127.0.0.13", "--wait-timeout", timeout)  # fmt: skip


def test_flag_parsing_is_cobra_and_pflag():
    root = cobra.tree(tools.flag_table("talosctl", "v1.13.5")["commands"])
    command, values, positional = cobra.resolve(root, ["--nodes", "10.0.0.1", "get", "disks", "-o=json", "--insecure"])
    assert (command.name, values, positional) == ("talosctl get", {"nodes": ["10.0.0.1"], "output": "json", "insecure": True}, ["disks"])
    command, values, _ = cobra.resolve(root, ["health", "--control-plane-nodes=a,b", "--control-plane-nodes", "c",
                                              "--wait-timeout", "1m30s"])  # fmt: skip
    assert values == {"control-plane-nodes": ["a", "b", "c"], "wait-timeout": 90.0}
    _, values, positional = cobra.resolve(root, ["gen", "config", "c", "https://e:6443", "--with-docs=false", "--config-patch", "@a", "--config-patch=@b"])
    assert values["with-docs"] is False and values["config-patch"] == ["@a", "@b"] and positional == ["c", "https://e:6443"]
    for argv, message in [
        (["get", "disks", "--bogus"], "unknown flag: --bogus"),
        (["get", "disks", "-z"], "unknown shorthand flag: 'z' in -z"),
        (["version", "--talosconfig"], "flag needs an argument: --talosconfig"),
        (["etcd", "remove-member"], "accepts 1 arg(s), received 0"),
        (["bootstrap", "now"], 'unknown command "now" for "talosctl bootstrap"'),
        (["frobnicate"], 'unknown command "frobnicate" for "talosctl"'),
        (["gen", "config", "--persist"], "unknown flag: --persist"),  # v1.13 dropped it (v1.11 and v1.12 have it)
    ]:
        with pytest.raises(cobra.UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
            cobra.resolve(root, argv)
    v111 = cobra.tree(tools.flag_table("talosctl", "v1.11.5")["commands"])
    assert cobra.resolve(v111, ["gen", "config", "c", "https://e:6443", "--persist"])[1] == {"persist": True}
    with pytest.raises(NotImplementedError):
        cobra.resolve(root, ["dmesg"])


@pytest.mark.skipif(not Path(cli_reference.DEFAULT_MIRROR).exists(), reason="no mirror of siderolabs/talos here")
def test_the_flag_tables_are_the_cli_references():
    assert cli_reference.build() == cli_reference.load()


def test_a_cluster_comes_up_strictly(cluster):
    generate(cluster)
    for ip in NODES:
        cluster.start(ip)
    cp1, cp2, worker = NODES
    refused = cluster.talosctl("version", "--insecure", "--nodes", cp1)
    assert refused.returncode == 1 and "API is not implemented in maintenance mode" in refused.stderr
    assert cluster.secure(cp1, "version", "--short").returncode == 1, "a maintenance node refuses the cluster's credentials"
    wrong = cluster.talosctl("apply-config", "--insecure", "--nodes", cp1, "--file", "cp-2.yaml")
    assert wrong.returncode == 1 and "hostname ['cp-2'], this node is 'cp-1'" in wrong.stderr
    wrong = cluster.talosctl("apply-config", "--insecure", "--nodes", worker, "--file", "cp-2.yaml")
    assert "machine type controlplane, this node is a worker" in wrong.stderr
    for ip, (name, _) in NODES.items():
        assert cluster.talosctl("apply-config", "--insecure", "--nodes", ip, "--file", f"{name}.yaml").returncode == 0
    wait_for(lambda: cluster.secure(cp1, "version", "--short").returncode == 0, 10, what="cp-1 configured")
    insecure = cluster.talosctl("--nodes", cp1, "get", "disks", "--insecure")
    assert insecure.returncode == 1 and "certificate required" in insecure.stderr
    assert "not bootstrapped" in health(cluster, "1s").stderr
    worker_bootstrap = cluster.secure(worker, "bootstrap")
    assert "bootstrap is only available on control plane nodes" in worker_bootstrap.stderr
    assert cluster.secure(cp1, "bootstrap").returncode == 0
    again = cluster.secure(cp1, "bootstrap")
    assert again.returncode == 1 and "AlreadyExists desc = etcd data directory is not empty" in again.stderr
    assert health(cluster, "10s").returncode == 0
    assert cluster.secure(cp1, "kubeconfig", "kubeconfig", "--force", "--merge=false").returncode == 0
    readyz = subprocess.run([str(cluster.workdir / "kubectl"), "--kubeconfig", str(cluster.workdir / "kubeconfig"),
                             "--request-timeout=10s", "get", "--raw=/readyz"], capture_output=True, text=True)  # fmt: skip
    assert (readyz.returncode, readyz.stdout) == (0, "ok"), readyz.stderr
    events = [(e["event"], e["node"]) for e in cluster.record()]
    assert events.count(("bootstrap", cp1)) == 1 and sum(e == "apply" for e, _ in events) == 3


def test_another_bundle_is_refused(cluster):
    generate(cluster)
    for ip in NODES:
        cluster.start(ip)
    for ip, (name, _) in NODES.items():
        cluster.talosctl("apply-config", "--insecure", "--nodes", ip, "--file", f"{name}.yaml")
    cp1 = next(iter(NODES))
    wait_for(lambda: cluster.secure(cp1, "version").returncode == 0, 10, what="cp-1 configured")
    shutil.copy(cluster.workdir / "talosconfig", cluster.workdir / "right-talosconfig")
    generate(cluster, "other-secrets.yaml")  # another bundle: its talosconfig and configs
    assert "bad certificate" in cluster.secure(cp1, "version").stderr
    other = cluster.talosctl("--talosconfig", "right-talosconfig", "-e", cp1, "-n", cp1, "apply-config", "-f", "cp-1.yaml")
    assert other.returncode == 1 and "another secrets bundle" in other.stderr


def test_the_stale_member_blocks_until_removed(cluster):
    generate(cluster)
    for ip in NODES:
        cluster.start(ip)
    for ip, (name, _) in NODES.items():
        cluster.talosctl("apply-config", "--insecure", "--nodes", ip, "--file", f"{name}.yaml")
    cp1, cp2, _ = NODES
    wait_for(lambda: cluster.secure(cp1, "bootstrap").returncode == 0, 10, what="bootstrap")
    wait_for(lambda: health(cluster, "1s").returncode == 0, 15, what="health")
    cluster.stop(cp2)
    cluster.start(cp2)
    assert cluster.talosctl("apply-config", "--insecure", "--nodes", cp2, "--file", "cp-2.yaml").returncode == 0
    wait_for(lambda: cluster.secure(cp2, "version").returncode == 0, 10, what="cp-2 configured")
    time.sleep(1.5)
    assert "not running on this node" in cluster.secure(cp2, "etcd", "members").stderr, "its own etcd has not joined"
    assert "not a member" in health(cluster, "1s").stderr
    members = cluster.secure(cp1, "etcd", "members").stdout.splitlines()
    assert members[0].split() == ["NODE", "ID", "HOSTNAME", "PEER", "URLS", "CLIENT", "URLS", "LEARNER"]
    [stale] = [line.split()[1] for line in members[1:] if line.split()[2] == "cp-2"]
    assert cluster.secure(cp1, "etcd", "remove-member", stale).returncode == 0
    wait_for(lambda: health(cluster, "1s").returncode == 0, 15, what="health after the stale member went")
    assert [e["event"] for e in cluster.record()].count("bootstrap") == 1


def test_the_formats_round_trip():
    bundle = formats.new_bundle()
    assert formats.load_nested(formats.bundle_text(bundle)) == bundle
    assert 4096 < len(formats.bundle_text(bundle)) < 8192, "a real bundle's size: over SSM's standard tier, under advanced"
    config = formats.talosconfig(bundle, "c", [])
    context = formats.load_talosconfig(config)["contexts"]["c"]
    assert context["endpoints"] == [] and formats.accepts(bundle["certs"]["os"]["crt"], context["crt"], context["key"])
    assert not formats.accepts(formats.new_bundle()["certs"]["os"]["crt"], context["crt"], context["key"])


def test_a_stand_in_is_byte_identical_and_knows_its_release():
    assert tools.talosctl_release("v1.12.5") == tools.talosctl_release("v1.12.5")
    assert tools.talosctl_release("v1.12.5") != tools.talosctl_release("v1.13.5")
    with tools.stand_in_pins():
        from talos_sandbox.facts.releases import TALOS_RELEASES

        pinned = TALOS_RELEASES["v1.13.5"].talosctl.sha256["arm64"]
    assert pinned == tools.sha256(tools.talosctl_release("v1.13.5"))
    assert TALOS_RELEASES["v1.13.5"].talosctl.sha256["arm64"] != pinned, "the facts are restored"
    assert os.access(__file__, os.R_OK)
