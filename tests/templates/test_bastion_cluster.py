"""The bastion's cluster program (templates/bastion-cluster.py) against a scripted world:
its decisions, round by round, without a network. The host tests (tests/hostsim) run the
same program under systemd against the Talos stand-ins; this is the quick check of the
rules that must never break: one bootstrap, secrets made once, an unread status never
overwritten, only changed nodes reconfigured."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess

import pytest

from talos_sandbox.config import default_config
from talos_sandbox.documents.cluster_plan import PLACEHOLDER, cluster_parameters, cluster_plan
from talos_sandbox.documents.render import TEMPLATES_DIR


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
            if "get" in args and "nodes" in args:
                return subprocess.CompletedProcess(args, 0, "\n".join(self.names.values()) + "\n", "")
            return ok
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


def converge(program, found, rounds=3):
    for _ in range(rounds):
        try:
            found.round()
        except program.Failed:
            pass


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
