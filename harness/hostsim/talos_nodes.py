"""Nodes that become Talos: the switch from the Amazon Linux instance to the Talos node stand-in.

In reality boot-to-talos writes Talos to the disk and reboots the instance into it, and
Talos waits in maintenance mode. Here, once a node's boot-to-talos stub has run (its
record, internet.py STUB_RECORD, is complete on the instance's disk), a watcher thread
stops the node's container (every process of its network namespace), rebuilds the
namespace with the same interface and address, and starts the Talos node stand-in
(talos_node.py) in it, with its state on that instance's disk. Nodes may therefore be
started before the bastion (they install when its NAT comes) or long after it. A reboot
restarts the stand-in on the same disk; a replaced node is a new instance: a fresh disk,
Amazon Linux again, its own install, then maintenance mode.

`preinstalled=True` on launch skips Amazon Linux and the install: the instance starts
as Talos in maintenance mode at once. It saves a boot per node in tests whose subject is
the bastion's side; the install path itself is shown by the tests that launch nodes
without it. What each node is (hostname, machine type, the cluster's name, the Talos
release, the data volume) comes from the sandbox's config, not from the stack the product wrote.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..offline import stop
from .internet import STUB_RECORD
from .talos_node import PORT

POLL_SECONDS = 0.5


@dataclass(frozen=True)
class NodeIdentity:
    hostname: str
    machine_type: str
    disk_gb: int
    data_gb: int = 0
    """The EBS data volume Terraform attaches (LINSTOR's disk), 0 without one."""


@dataclass
class TalosNodes:
    world: object
    """The SimulatedVpc."""
    cluster: str
    talos: str
    identities: dict[str, NodeIdentity]
    """By private IP."""
    reboot_seconds: float = 2.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def directory(self) -> Path:
        return self.world.workdir / "talos"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            for instance in list(self.world.nodes.values()):
                self.stop(instance)

    # --- the switch --------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            for instance in list(self.world.nodes.values()):
                if instance.talos is None and self._installed(instance):
                    try:
                        self.become_talos(instance)
                    except Exception as error:  # noqa: BLE001 - the test sees it in the log and times out
                        with (self.directory / "switch-errors.log").open("a") as log:
                            log.write(f"{instance.ip}: {error!r}\n")

    @staticmethod
    def _installed(instance) -> bool:
        record = instance.machine.disk / "upper" / STUB_RECORD.lstrip("/")
        try:
            return "\nfd " in record.read_text()
        except OSError:
            return False

    def become_talos(self, instance) -> None:
        """The Amazon Linux container goes; the stand-in serves on the node's address."""
        with self._lock:
            if self._stop.is_set() or instance.talos is not None or self.world.nodes.get(str(instance.ip)) is not instance:
                return
            self.world.power_off(instance)
            self._serve(instance)

    def _serve(self, instance) -> None:
        identity = self.identities[str(instance.ip)]
        log = (self.directory / f"{instance.ip}-{instance.instance_id}.log").open("ab")
        command = [
            "ip", "netns", "exec", instance.namespace.name, sys.executable, "-m", "harness.hostsim.talos_node",
            "--ip", str(instance.ip), "--hostname", identity.hostname, "--machine-type", identity.machine_type,
            "--cluster", self.cluster, "--talos", self.talos, "--instance", instance.instance_id,
            "--state", str(instance.machine.disk / "talos"), "--world", str(self.directory),
            "--disk-bytes", str(identity.disk_gb * 1024**3), "--data-disk-bytes", str(identity.data_gb * 1024**3),
            "--reboot-seconds", str(self.reboot_seconds),
        ]  # fmt: skip
        from .world import REPO_ROOT

        instance.talos = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        from .hosts import wait_for

        wait_for(lambda: f" {instance.ip}:{PORT} " in instance.namespace.execute("ss", "-Hltn").stdout
                 or instance.talos.poll() is not None, 20, what=f"the Talos stand-in on {instance.ip}")  # fmt: skip
        if instance.talos.poll() is not None:
            raise RuntimeError(f"the Talos stand-in on {instance.ip} exited {instance.talos.returncode}")

    def stop(self, instance) -> None:
        if instance.talos is not None:
            stop(instance.talos)
            instance.talos = None

    def reboot(self, instance) -> None:
        """Talos reboots: its API goes away for a moment; its disk (config, etcd data) stays."""
        with self._lock:
            self.stop(instance)
            self._serve(instance)

    # --- what the tests read -----------------------------------------------------------

    def record(self) -> list[dict]:
        path = self.directory / "record.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def events(self, event: str, node: str | None = None) -> list[dict]:
        return [e for e in self.record() if e["event"] == event and (node is None or e["node"] == node)]

    def state(self, instance) -> dict:
        path = instance.machine.disk / "talos" / "state.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def etcd(self) -> dict:
        path = self.directory / "etcd.json"
        return json.loads(path.read_text()) if path.exists() else {}
