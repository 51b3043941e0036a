"""The bastion's cluster program (templates/bastion-cluster.py) against a scripted world:
its decisions, round by round, without a network. The host tests (tests/hostsim) run the
same program under systemd against the Talos stand-ins; this is the quick check of the
rules that must never break: one bootstrap, secrets made once, an unread status never
overwritten, only changed nodes reconfigured."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess

import pytest

from talos_sandbox.config import SandboxConfig
from talos_sandbox.config.sandbox import DEFAULT_NODES
from talos_sandbox.documents.cluster_plan import PLACEHOLDER, cluster_parameters, cluster_plan
from talos_sandbox.documents.render import TEMPLATES_DIR


# The cozy-installer chart as the scripted registry serves it, and the config pinning it.
CHART = b"cozy-installer chart archive\n"


# What the scripted platform creates once its Package is applied (more than the least the unit waits for).
RELEASES = tuple(f"cozy-{name}/{name}" for name in (
    "cilium", "kubeovn", "linstor", "cert-manager", "flux", "victoria", "etcd", "kamaji", "dashboard", "seaweedfs",
    "ingress", "monitoring",
))  # fmt: skip


def default_config(**cozystack) -> SandboxConfig:
    """The default sandbox with the chart pinned to the scripted registry's."""
    cozystack.setdefault("chart_sha256", hashlib.sha256(CHART).hexdigest())
    return SandboxConfig.model_validate({"nodes": DEFAULT_NODES, "cozystack": cozystack})


def load_program():
    spec = importlib.util.spec_from_file_location("bastion_cluster", TEMPLATES_DIR / "bastion-cluster.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class World:
    """SSM and the nodes as the program sees them through aws, talosctl and kubectl."""

    def __init__(self, config):
        self.ssm = {p.name: p.value if p.value is not None else PLACEHOLDER for p in cluster_parameters(config).values()}
        self.nodes = {str(n.private_ip): "down" for n in config.nodes}  # down | maintenance | configured
        self.names = {str(n.private_ip): n.name for n in config.nodes}
        self.calls: list[list[str]] = []
        self.refuse_reads: set[str] = set()
        self.refuse_writes: set[str] = set()
        self.reboot_probes = 0
        """How many probes a node fails after an apply (its reboot)."""
        self.rebooting: dict[str, int] = {}
        # CozyStack as kubectl and helm see it.
        self.chart = CHART
        self.installed_values: list[str] = []
        self.package_source_after = 0
        """How many PackageSource lookups fail (the operator still starting) before it exists."""
        self.package_applied = False
        self.helmreleases: dict[str, dict] = {}
        self.pools: dict[str, str] = {}
        self.failmode: set[str] = set()
        self.linstor_down = False

    def helmrelease(self, name: str, status: str = "True", reason: str = "InstallSucceeded", message: str = "") -> None:
        namespace, _, release = name.partition("/")
        self.helmreleases[name] = {
            "metadata": {"namespace": namespace, "name": release},
            "status": {"conditions": [{"type": "Ready", "status": status, "reason": reason, "message": message}]},
        }

    def kubectl(self, args):
        done = subprocess.CompletedProcess(args, 0, "", "")
        verb = next(a for a in args[1:] if not a.startswith("-") and a not in ("cozy-linstor",) and "/" not in a
                    and not a.startswith("custom"))  # fmt: skip
        if "nodes" in args and verb == "get":
            return subprocess.CompletedProcess(args, 0, "\n".join(self.names.values()) + "\n", "")
        if "packagesources.cozystack.io" in args:
            if not self.installed_values or self.package_source_after > 0:
                self.package_source_after -= 1
                return subprocess.CompletedProcess(args, 1, "", 'Error from server (NotFound): not found')
            return subprocess.CompletedProcess(args, 0, "packagesource.cozystack.io/cozystack.cozystack-platform\n", "")
        if verb == "apply":
            text = open(args[args.index("-f") + 1]).read()
            if "kind: Package" in text:
                self.package_applied = True
                for name in RELEASES:
                    self.helmrelease(name)
            return done
        if "helmreleases.helm.toolkit.fluxcd.io" in args:
            return subprocess.CompletedProcess(args, 0, json.dumps({"items": list(self.helmreleases.values())}), "")
        if verb == "exec":
            command = args[args.index("--") + 1:]
            if not self.package_applied or self.linstor_down:
                return subprocess.CompletedProcess(args, 1, "", 'Error from server (NotFound): deployments.apps "linstor-controller" not found')
            if command[:3] == ["linstor", "--machine-readable", "storage-pool"]:
                listed = [[{"node_name": node, "storage_pool_name": "data"} for node in sorted(self.pools)]]
                return subprocess.CompletedProcess(args, 0, json.dumps(listed), "")
            if command[1:3] == ["physical-storage", "create-device-pool"]:
                node, path = command[4], command[5]
                if node in self.pools:
                    return subprocess.CompletedProcess(args, 10, "", "ERROR: storage pool exists")
                self.pools[node] = path
                return done
            if command[0] == "zpool":
                node = args[args.index("exec") + 1].removeprefix("pod/linstor-satellite.").rsplit("-", 1)[0]
                self.failmode.add(node)
                return done
        if verb == "get" and "pods" in args:
            node = args[args.index("--field-selector") + 1].split("=")[1]
            return subprocess.CompletedProcess(args, 0, f"pod/linstor-satellite.{node}-x7k2p\n" if self.package_applied else "", "")
        return done

    def helm(self, args):
        if args[1] == "pull":
            version = args[args.index("--version") + 1]
            with open(os.path.join(args[args.index("--destination") + 1], f"cozy-installer-{version}.tgz"), "wb") as out:
                out.write(self.chart)
            return subprocess.CompletedProcess(args, 0, "", "")
        if args[1:3] == ["upgrade", "--install"]:
            assert open(args[4], "rb").read() == self.chart, "helm installs the archive it pulled"
            self.installed_values.append(open(args[args.index("--values") + 1]).read())
            return subprocess.CompletedProcess(args, 0, "", "")
        return subprocess.CompletedProcess(args, 1, "", f"Error: unknown command {args[1]!r}")

    def run(self, args, timeout=30, env=None):
        self.calls.append(list(args))
        ok = subprocess.CompletedProcess(args, 0, "", "")
        fail = subprocess.CompletedProcess(args, 1, "", "rpc error: connection refused")
        tool = args[0].rsplit("/", 1)[-1]
        if tool == "aws":
            name = args[args.index("--name") + 1]
            if args[2] == "get-parameter":
                if name in self.refuse_reads:
                    return subprocess.CompletedProcess(args, 254, "", "AccessDeniedException")
                return subprocess.CompletedProcess(args, 0, self.ssm[name] + "\n", "")
            if name in self.refuse_writes:
                self.refuse_writes.discard(name)  # refused once
                return subprocess.CompletedProcess(args, 254, "", "AccessDeniedException")
            path = args[args.index("--value") + 1].removeprefix("file://")
            self.ssm[name] = open(path).read()
            return ok
        if tool == "kubectl":
            return self.kubectl(args)
        if tool == "helm":
            return self.helm(args)
        words = [a for a in args[1:] if not a.startswith("-")]
        ip = args[args.index("--nodes") + 1] if "--nodes" in args else None
        if words[:2] == ["gen", "secrets"]:
            target = args[args.index("--output-file") + 1]
            if os.path.exists(target) and "--force" not in args:
                return subprocess.CompletedProcess(args, 1, "", f'file "{target}" already exists, use --force')
            open(args[args.index("--output-file") + 1], "w").write("cluster: {secret: s3cr3t}\n")
            return ok
        if words[:2] == ["gen", "config"]:
            open(args[args.index("--output") + 1], "w").write("config\n")
            return ok
        if "etcd" in args and "members" in args:
            rows = [f"{ip} {index:016x} {self.names[ip]} https://{ip}:2380 https://{ip}:2379 false"
                    for index, ip in enumerate(sorted(self.names))]  # fmt: skip
            return subprocess.CompletedProcess(args, 0, "NODE ID HOSTNAME PEER URLS CLIENT URLS LEARNER\n" + "\n".join(rows), "")
        if "volumestatus" in args:
            return subprocess.CompletedProcess(args, 0, "/dev/nvme1n1p1", "")
        if "kubeconfig" in args:
            open(args[args.index("kubeconfig") + 1], "w").write("server: https://10.10.0.101:6443\n")
            return ok
        state = self.nodes.get(ip)
        if self.rebooting.get(ip):
            self.rebooting[ip] -= 1
            return fail
        if "version" in args:
            return ok if state == "configured" else fail
        if "get" in args and "--insecure" in args:
            return ok if state == "maintenance" else fail
        if "apply-config" in args:
            if ("--insecure" in args) != (state == "maintenance"):
                return fail
            self.nodes[ip] = "configured"
            self.rebooting[ip] = self.reboot_probes
            return ok
        if "bootstrap" in args:
            return ok if state == "configured" else fail
        return ok

    def count(self, word: str) -> int:
        return sum(1 for call in self.calls if word in call)


@pytest.fixture
def program(tmp_path, monkeypatch):
    module = load_program()
    monkeypatch.setattr(module, "RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setattr(module, "TOOLS_DIR", str(tmp_path / "tools"))
    (tmp_path / "run").mkdir()
    return module


def cluster(program, world, config):
    program.run = world.run
    found = program.Cluster(json.loads(json.dumps(cluster_plan(config))))
    found.status.load()
    return found


def brought_up(program):
    """The default sandbox, every node in maintenance mode, converged; its calls forgotten."""
    config = default_config()
    world = World(config)
    world.nodes = dict.fromkeys(world.nodes, "maintenance")
    found = cluster(program, world, config)
    converge(program, found)
    world.calls.clear()
    return config, world, found


def converge(program, found, rounds=5):
    """Rounds as main() runs them: a failed one leaves its error in the status."""
    for _ in range(rounds):
        try:
            found.round()
        except program.Failed as error:
            found.status.update(last_error=str(error))


def test_bring_up_then_nothing_more(program):
    config = default_config()
    world = World(config)
    found = cluster(program, world, config)
    converge(program, found, 1)
    assert world.count("bootstrap") == 0, "no node is up yet"
    world.nodes = dict.fromkeys(world.nodes, "maintenance")
    converge(program, found)
    status = json.loads(world.ssm["/cozy-demo/cluster/status"])
    assert status["phase"] == "ready" and status["bootstrapped"] is True
    assert world.count("bootstrap") == 1 and world.count("apply-config") == 3
    assert "s3cr3t" in world.ssm["/cozy-demo/cluster/secrets"]
    assert "health" not in [w for call in world.calls for w in call], "no CNI yet: talosctl health cannot pass"
    converge(program, found)
    assert world.count("bootstrap") == 1 and world.count("apply-config") == 3, "a ready cluster is left alone"


def test_a_new_bastion_bootstraps_never_again_and_keeps_the_secrets(program):
    config = default_config()
    world = World(config)
    world.nodes = dict.fromkeys(world.nodes, "maintenance")
    converge(program, cluster(program, world, config))
    secrets = world.ssm["/cozy-demo/cluster/secrets"]
    world.calls.clear()
    converge(program, cluster(program, world, config))  # the replaced bastion, same SSM
    assert world.count("bootstrap") == 0 and world.count("apply-config") == 0
    assert world.count("secrets") == 0 or world.ssm["/cozy-demo/cluster/secrets"] == secrets


def test_a_replaced_node_is_configured_and_a_changed_patch_reapplied(program):
    config, world, found = brought_up(program)
    world.nodes["10.10.0.102"] = "maintenance"  # a fresh instance
    world.ssm["/cozy-demo/cluster/patches/talos-compute-3"] += "# changed\n"
    converge(program, found)
    applies = [c for c in world.calls if "apply-config" in c]
    assert sorted((c[c.index("--nodes") + 1], "--insecure" in c) for c in applies) == [
        ("10.10.0.102", True), ("10.10.0.103", False),
    ]  # fmt: skip
    [removed] = [c for c in world.calls if "remove-member" in c]
    assert removed[-1] == f"{1:016x}", "talos-compute-2's old etcd member goes first (it could not join)"
    assert world.calls.index(removed) < world.calls.index(next(c for c in applies if "--insecure" in c))
    assert world.count("bootstrap") == 0


def test_the_secrets_are_made_and_confirmed_in_one_round(program):
    config = default_config()
    world = World(config)
    found = cluster(program, world, config)
    found.ensure_secrets()  # raises if the value does not read back as written
    assert "s3cr3t" in world.ssm["/cozy-demo/cluster/secrets"]


def test_secrets_are_not_made_again_after_bootstrap(program):
    config = default_config()
    world = World(config)
    world.ssm["/cozy-demo/cluster/status"] = json.dumps({"bootstrapped": True, "nodes": {}})
    found = cluster(program, world, config)
    with pytest.raises(program.Failed, match="refusing to make new ones"):
        found.ensure_secrets()
    assert world.ssm["/cozy-demo/cluster/secrets"] == PLACEHOLDER


def test_an_unread_status_is_never_overwritten(program):
    config = default_config()
    world = World(config)
    world.ssm["/cozy-demo/cluster/status"] = json.dumps({"bootstrapped": True, "nodes": {}})
    world.refuse_reads.add("/cozy-demo/cluster/status")
    program.run = world.run
    found = program.Cluster(cluster_plan(config))
    with pytest.raises(program.Failed, match="AccessDenied"):
        found.status.load()
    found.status.update(phase="tools")
    assert json.loads(world.ssm["/cozy-demo/cluster/status"])["bootstrapped"] is True


def test_a_refused_secrets_write_is_retried_with_new_secrets(program):
    config = default_config()
    world = World(config)
    world.refuse_writes.add("/cozy-demo/cluster/secrets")
    world.nodes = dict.fromkeys(world.nodes, "maintenance")
    found = cluster(program, world, config)
    converge(program, found, 4)
    assert "s3cr3t" in world.ssm["/cozy-demo/cluster/secrets"]
    assert json.loads(world.ssm["/cozy-demo/cluster/status"])["phase"] == "ready"


def test_a_node_is_configured_only_once_it_answers_after_its_reboot(program):
    config = default_config()
    world = World(config)
    world.reboot_probes = 4  # two rounds of probes (version, then get disks)
    world.nodes = dict.fromkeys(world.nodes, "maintenance")
    found = cluster(program, world, config)
    converge(program, found, 1)
    status = json.loads(world.ssm["/cozy-demo/cluster/status"])
    assert {n["state"] for n in status["nodes"].values()} == {"applied"} and world.count("bootstrap") == 0
    converge(program, found, 4)
    status = json.loads(world.ssm["/cozy-demo/cluster/status"])
    assert status["phase"] == "ready" and world.count("bootstrap") == 1 and world.count("apply-config") == 3


def test_a_shared_patch_changes_one_control_plane_a_round(program):
    config, world, found = brought_up(program)
    world.ssm["/cozy-demo/cluster/patches/cozystack"] += "# changed\n"  # every node's
    converge(program, found, 1)
    assert world.count("apply-config") == 1
    converge(program, found, 3)
    assert world.count("apply-config") == 3


def test_a_restarted_bastion_removes_a_replaced_bootstrap_nodes_old_member(program):
    config = default_config()
    world = World(config)
    world.nodes = dict.fromkeys(world.nodes, "maintenance")
    converge(program, cluster(program, world, config))
    world.calls.clear()
    world.nodes["10.10.0.101"] = "maintenance"  # the first control plane, probed first
    converge(program, cluster(program, world, config))  # a new bastion: no node state in memory
    [removed] = [c for c in world.calls if "remove-member" in c]
    assert removed[-1] == f"{0:016x}" and world.count("bootstrap") == 0


def test_the_status_fits_a_standard_parameter_whatever_the_errors(program):
    config = default_config()
    world = World(config)
    found = cluster(program, world, config)
    found.status.update(last_error="x" * 10_000)
    assert len(world.ssm["/cozy-demo/cluster/status"]) < 4096


# --- CozyStack (the plan's `cozystack`: v1 with bring-up) -------------------------------


def status_of(world) -> dict:
    return json.loads(world.ssm["/cozy-demo/cluster/status"])


def installs(world) -> list[list[str]]:
    return [c for c in world.calls if c[0].endswith("/helm") and c[1] == "upgrade"]


def pool_creates(world) -> list[list[str]]:
    return [c for c in world.calls if "create-device-pool" in c]


def installed(program):
    """The default sandbox brought up with CozyStack installed (calls kept)."""
    config = default_config()
    world = World(config)
    world.nodes = dict.fromkeys(world.nodes, "maintenance")
    found = cluster(program, world, config)
    converge(program, found, 8)
    return config, world, found


def test_cozystack_is_installed_in_order_then_left_alone(program):
    config = default_config()
    world = World(config)
    world.package_source_after = 2  # the operator takes two lookups to create it
    world.nodes = dict.fromkeys(world.nodes, "maintenance")
    found = cluster(program, world, config)
    converge(program, found, 8)
    status = status_of(world)
    assert status["phase"] == "ready", status
    assert status["cozystack"]["helmreleases"] == {"ready": len(RELEASES), "total": len(RELEASES), "failed": 0}
    assert status["cozystack"]["pools"] == dict.fromkeys(world.names.values(), "/dev/nvme1n1p1")
    assert world.pools == dict.fromkeys(world.names.values(), "/dev/nvme1n1p1") and world.failmode == set(world.names.values())
    [install] = installs(world)
    assert "ghcr.io/urmanac/cozystack-assets/cozystack-operator@sha256:" in world.installed_values[0], "arm64's operator"
    first = {word: next(i for i, c in enumerate(world.calls) if word in c)
             for word in ("pull", "upgrade", "create-device-pool")}  # fmt: skip
    lookups = [i for i, c in enumerate(world.calls) if "packagesources.cozystack.io" in c]
    applies = [i for i, c in enumerate(world.calls) if c[0].endswith("kubectl") and "apply" in c]
    assert first["pull"] < first["upgrade"] < lookups[-1] < applies[0] < first["create-device-pool"]
    assert len(applies) == 2, "the Package and the classes, once"
    world.calls.clear()
    converge(program, found, 3)
    assert not installs(world) and not pool_creates(world) and status_of(world)["phase"] == "ready"


def test_the_package_waits_for_the_operators_package_source(program):
    config = default_config()
    world = World(config)
    world.package_source_after = 4
    world.nodes = dict.fromkeys(world.nodes, "maintenance")
    found = cluster(program, world, config)
    converge(program, found, 4)
    assert not world.package_applied and "PackageSource" in status_of(world)["last_error"]
    converge(program, found, 4)
    assert world.package_applied and status_of(world)["phase"] == "ready"


def test_a_replaced_bastion_installs_nothing_twice(program):
    config = default_config()
    world = World(config)
    world.nodes = dict.fromkeys(world.nodes, "maintenance")
    converge(program, cluster(program, world, config), 8)
    assert status_of(world)["phase"] == "ready"
    world.calls.clear()
    converge(program, cluster(program, world, config), 4)  # a new bastion: nothing in memory
    assert not installs(world) and not pool_creates(world)
    assert not any("pull" in c for c in world.calls), "the recorded install is not pulled again"
    assert not any("volumestatus" in c or "storage-pool" in c for c in world.calls), "the recorded pools are not looked for"
    assert status_of(world)["phase"] == "ready"


def test_changed_values_upgrade_the_chart_once(program):
    config, world, found = installed(program)
    world.ssm["/cozy-demo/cluster/cozystack/values"] += "# changed\n"
    converge(program, found, 4)
    assert len(installs(world)) == 2 and world.installed_values[1].endswith("# changed\n\n")


def test_a_failed_helmrelease_is_named_in_the_status_until_it_heals(program):
    config, world, found = installed(program)
    world.helmrelease("cozy-monitoring/monitoring", "False", "InstallFailed", "context deadline exceeded")
    world.helmrelease("cozy-kamaji/kamaji", "False", "DependencyNotReady", "waiting for etcd")  # on its way
    converge(program, found, 2)
    status = status_of(world)
    assert status["phase"] == "cozystack"
    assert status["cozystack"]["failed"] == [
        {"name": "cozy-monitoring/monitoring", "reason": "InstallFailed", "message": "context deadline exceeded"}
    ]
    assert status["cozystack"]["helmreleases"]["failed"] == 1
    assert "cozy-monitoring/monitoring InstallFailed" in status["last_error"]
    world.helmrelease("cozy-monitoring/monitoring")
    world.helmrelease("cozy-kamaji/kamaji")
    converge(program, found, 3)
    assert status_of(world)["phase"] == "ready" and status_of(world)["cozystack"]["failed"] == []


def test_too_few_helmreleases_are_not_done(program):
    config, world, found = installed(program)
    for name in RELEASES[1:]:
        del world.helmreleases[name]  # the platform has made one so far
    found.cozystack.done = False
    converge(program, found, 3)
    assert status_of(world)["phase"] == "cozystack" and "1 of 1 ready" in status_of(world)["last_error"]


def test_a_tampered_chart_is_never_installed(program):
    config = default_config()
    world = World(config)
    world.chart = b"something else\n"
    world.nodes = dict.fromkeys(world.nodes, "maintenance")
    found = cluster(program, world, config)
    with pytest.raises(program.Tampered, match="cozy-installer-1.5.1.tgz: sha256"):
        converge(program, found, 8)
    assert not installs(world)
    assert program.tampered(found.status, program.Tampered("x")) == program.EXIT_TAMPERED
    assert status_of(world)["phase"] == "failed"


def test_without_a_pinned_chart_nothing_is_installed_and_the_status_says_how(program):
    config = default_config(chart_sha256=None)
    world = World(config)
    world.nodes = dict.fromkeys(world.nodes, "maintenance")
    found = cluster(program, world, config)
    converge(program, found, 6)
    status = status_of(world)
    assert status["phase"] == "cozystack" and "cozystack.chart_sha256" in status["last_error"]
    assert not any(c[0].endswith("/helm") for c in world.calls)
    assert world.ssm["/cozy-demo/cluster/kubeconfig"] != PLACEHOLDER, "the cluster's credentials are out already"


def test_the_status_fits_with_many_failed_helmreleases(program):
    config, world, found = brought_up(program)
    for name in RELEASES:
        world.helmrelease(name, "False", "UpgradeFailed", "x" * 1000)
    converge(program, found, 1)
    assert len(world.ssm["/cozy-demo/cluster/status"]) < 4096
    assert status_of(world)["cozystack"]["helmreleases"]["failed"] == len(RELEASES)


def test_a_replaced_node_gets_its_pool_again(program):
    config, world, found = installed(program)
    world.calls.clear()
    world.nodes["10.10.0.103"] = "maintenance"  # a new instance: new disks
    del world.pools["talos-compute-3"]  # LINSTOR told the old node was lost (README)
    converge(program, found, 5)
    assert [c[c.index("zfs") + 1] for c in pool_creates(world)] == ["talos-compute-3"]
    assert status_of(world)["phase"] == "ready"


def test_pools_are_made_while_another_release_fails(program):
    config = default_config()
    world = World(config)
    world.nodes = dict.fromkeys(world.nodes, "maintenance")
    found = cluster(program, world, config)
    original = world.kubectl

    def failing_monitoring(args):
        answer = original(args)
        if world.package_applied:
            world.helmrelease("cozy-monitoring/monitoring", "False", "InstallFailed", "no storage class yet")
        return answer

    world.kubectl = failing_monitoring
    converge(program, found, 8)
    assert len(pool_creates(world)) == 3 and status_of(world)["phase"] == "cozystack"


def test_ready_only_when_the_count_holds_for_two_rounds(program):
    config, world, found = installed(program)
    world.helmrelease("cozy-tenant-root/tenant-root")  # the platform adds one more, ready at once
    found.cozystack.done = False
    converge(program, found, 1)
    assert status_of(world)["phase"] == "cozystack" and "no more appear" in status_of(world)["last_error"]
    converge(program, found, 1)
    assert status_of(world)["phase"] == "ready"


def test_a_failed_release_is_named_first_while_linstor_is_not_up(program):
    config = default_config()
    world = World(config)
    world.linstor_down = True
    world.nodes = dict.fromkeys(world.nodes, "maintenance")
    found = cluster(program, world, config)
    converge(program, found, 6)
    world.helmrelease("cozy-kubeovn/kubeovn", "False", "InstallFailed", "context deadline exceeded")
    converge(program, found, 1)
    error = status_of(world)["last_error"]
    assert error.startswith("HelmRelease failed: cozy-kubeovn/kubeovn InstallFailed") and "linstor-controller" in error
