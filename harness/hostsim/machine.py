"""A simulated instance: a systemd-nspawn container with systemd as PID 1 and cloud-init.

Its root is an overlay: the instance's own disk (the upper layer, which outlives reboots)
over the Amazon Linux stand-in layer over the cached Debian rootfs. It runs in a network
namespace the world built and wired (no network of nspawn's own), with /dev/net/tun for
wireguard-go, and reads cloud-init's NoCloud seed written on its disk at launch. The
console (nspawn's output) is a file. `systemctl reboot` inside ends nspawn with 133; the
world then brings the instance up again. Commands run inside through nsenter.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..offline import stop
from ..wait import wait_for
from .hosts import COMMAND_TIMEOUT_SECONDS, Namespace, run

BOOT_SECONDS = 90
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
REBOOT_EXIT = 133
# Each container's systemd holds several inotify instances; the kernel's default of 128 per
# user lasts for about a dozen containers. Raised (never lowered) before a container starts.
INOTIFY_INSTANCES = 4096
INOTIFY_LIMIT = Path("/proc/sys/fs/inotify/max_user_instances")


@dataclass
class Machine:
    name: str
    namespace: Namespace
    disk: Path
    layers: tuple[Path, ...]
    """Lower layers, topmost first."""
    binds: dict[str, str] = field(default_factory=dict)
    """Extra device nodes or folders, host path -> path inside (e.g. an attached volume)."""
    process: subprocess.Popen | None = None
    leader: int = 0

    @property
    def root(self) -> Path:
        return self.disk / "root"

    @property
    def console_log(self) -> Path:
        return self.disk / "console.log"

    @property
    def by_id(self) -> Path:
        """/dev/disk/by-id inside: links to attached volumes (udev's job on a real instance)."""
        return self.disk / "by-id"

    def prepare(self, seed: dict[str, str], files: dict[str, str]) -> None:
        """A fresh disk: cloud-init's seed and the files the instance starts with."""
        for folder in ("upper", "work", "root", "by-id"):
            (self.disk / folder).mkdir(parents=True, exist_ok=True)
        for path, content in {**files, **{f"/var/lib/cloud/seed/nocloud/{k}": v for k, v in seed.items()}}.items():
            target = self.disk / "upper" / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)

    def start(self) -> None:
        if int(INOTIFY_LIMIT.read_text()) < INOTIFY_INSTANCES:
            INOTIFY_LIMIT.write_text(str(INOTIFY_INSTANCES))
        if not os.path.ismount(self.root):
            lower = ":".join(str(layer) for layer in self.layers)
            run(["mount", "-t", "overlay", "overlay", "-o",
                 f"lowerdir={lower},upperdir={self.disk}/upper,workdir={self.disk}/work", str(self.root)])  # fmt: skip
        binds = {"/dev/net/tun": "/dev/net/tun", str(self.by_id): "/dev/disk/by-id", **self.binds}
        command = [
            "systemd-nspawn", "--quiet", "--boot", "--register=no", "--keep-unit", f"--directory={self.root}",
            f"--machine={self.name}", f"--network-namespace-path=/run/netns/{self.namespace.name}",
            "--capability=CAP_NET_ADMIN", "--resolv-conf=off", "--timezone=off", "--link-journal=no",
            *(f"--bind={source}:{inside}" for source, inside in binds.items()),
        ]  # fmt: skip
        environment = {**os.environ, "SYSTEMD_NSPAWN_API_VFS_WRITABLE": "network"}
        with self.console_log.open("ab") as console:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                                            env=environment)  # fmt: skip
        self.leader = wait_for(self._find_leader, 20, what=f"{self.name}'s PID 1")

    def _find_leader(self) -> int:
        if self.process.poll() is not None:
            raise RuntimeError(f"systemd-nspawn for {self.name} exited {self.process.returncode}:\n{self.console()}")
        for pid in run(["ip", "netns", "pids", self.namespace.name], check=False).stdout.split():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            nspid = [line.split()[1:] for line in status.splitlines() if line.startswith("NSpid:")]
            if nspid and nspid[0][-1] == "1" and len(nspid[0]) > 1:
                return int(pid)
        return 0

    def wait_booted(self, timeout: float = BOOT_SECONDS) -> str:
        """Until systemd finishes starting up (running, or degraded if a unit failed)."""
        # Right after PID 1 starts, systemctl may not reach it yet and answers at once.
        def finished() -> str:
            state = self.run("systemctl", "is-system-running", "--wait", timeout=timeout, check=False).stdout.strip()
            return state if state in ("running", "degraded") else ""

        return wait_for(finished, timeout, interval=0.5, what=f"{self.name} to finish booting")

    def wait_cloud_final(self, timeout: float = BOOT_SECONDS) -> None:
        wait_for(lambda: self.run("test", "-e", "/var/lib/cloud/instance/boot-finished", check=False).returncode == 0,
                 timeout, interval=0.5, what=f"cloud-final on {self.name}")  # fmt: skip

    def run(self, *argv: str, timeout: float = COMMAND_TIMEOUT_SECONDS, check: bool = True, **kwargs):
        enter = ["nsenter", "-t", str(self.leader), "-a", "--", "env", "-i", f"PATH={PATH}", "LANG=C.UTF-8", "HOME=/root"]
        return run([*enter, *argv], timeout=timeout, check=check, **kwargs)

    def read(self, path: str) -> str:
        result = self.run("cat", path, check=False)
        return result.stdout if result.returncode == 0 else ""

    def mode(self, path: str) -> tuple[int, int]:
        """(permission bits, owner uid) of a file inside."""
        mode, uid = self.run("stat", "-c", "%a %u", path).stdout.split()
        return int(mode, 8), int(uid)

    def console(self) -> str:
        return self.console_log.read_text(errors="replace") if self.console_log.exists() else ""

    def journal(self, *arguments: str) -> str:
        return self.run("journalctl", "--no-pager", "-o", "cat", *arguments, check=False).stdout

    def unit(self, unit: str, *properties: str) -> dict[str, str]:
        names = properties or ("ActiveState", "SubState", "Result", "ExecMainStatus", "NRestarts", "UnitFileState")
        shown = self.run("systemctl", "show", unit, *(f"--property={name}" for name in names)).stdout
        return dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)

    def reboot(self) -> None:
        """`systemctl reboot` inside; returns once the container has gone (nspawn exits 133)."""
        self.run("systemctl", "reboot", check=False)
        code = self.process.wait(timeout=60)
        if code != REBOOT_EXIT:
            raise RuntimeError(f"{self.name} did not reboot (nspawn exited {code})")
        self.process = None

    def halt(self) -> None:
        """Gone at once, as a terminated instance: every process of it killed."""
        self.namespace.destroy()
        if self.process is not None:
            stop(self.process)
            self.process = None

    def unmount(self) -> None:
        if os.path.ismount(self.root):
            run(["umount", "--lazy", str(self.root)], check=False)
