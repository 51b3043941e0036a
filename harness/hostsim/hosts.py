"""Network namespaces, and hosts running in them with a file system of their own.

Every namespace carries the run's prefix, so a run removes exactly what it made; links
are created from one namespace straight into another and never touch the root one.
A `Host` runs each command inside its namespace and a private mount namespace in which
/etc, /var, /usr/local and /home are overlays whose writes land in the host's own folder
(its "disk"), /run is a folder of its own (cleared at reboot), /dev/console is a file,
and /proc/sys is read-only except the per-namespace net.* settings.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..wait import wait_for  # noqa: F401 - re-exported for the simulation's users

COMMAND_TIMEOUT_SECONDS = 120
OVERLAID = ("etc", "var", "usr/local", "home")


def run(argv: Sequence[str], timeout: float = COMMAND_TIMEOUT_SECONDS, check: bool = True, **kwargs):
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


@dataclass
class Namespace:
    name: str

    def create(self) -> None:
        run(["ip", "netns", "add", self.name])
        self.ip("link", "set", "lo", "up")

    def ip(self, *args: str) -> None:
        run(["ip", "-n", self.name, *args])

    def execute(self, *argv: str, **kwargs) -> subprocess.CompletedProcess:
        return run(["ip", "netns", "exec", self.name, *argv], **kwargs)

    def sysctl(self, **settings: str | int) -> None:
        for key, value in settings.items():
            self.execute("sysctl", "-q", "-w", f"{key.replace('__', '.')}={value}")

    def nft(self, ruleset: str) -> None:
        run(["ip", "netns", "exec", self.name, "nft", "-f", "-"], input=ruleset)

    def destroy(self) -> None:
        pids = run(["ip", "netns", "pids", self.name], check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        run(["ip", "netns", "del", self.name], check=False)


def link(a: Namespace, a_name: str, b: Namespace, b_name: str, mtu: int, a_mac: str | None = None) -> None:
    """A veth pair from namespace a to namespace b, both ends up."""
    mac = ["address", a_mac] if a_mac else []
    a.ip("link", "add", a_name, *mac, "mtu", str(mtu), "type", "veth", "peer", "name", b_name, "netns", b.name, "mtu", str(mtu))
    a.ip("link", "set", a_name, "up")
    b.ip("link", "set", b_name, "up")


def address(ns: Namespace, device: str, *cidrs: str) -> None:
    for cidr in cidrs:
        extra = ["nodad"] if ":" in cidr else []
        ns.ip("address", "add", cidr, "dev", device, *extra)


@dataclass
class Host:
    """A machine: a namespace and a disk (a folder of overlay upper layers) that outlives reboots."""

    namespace: Namespace
    disk: Path
    environment: dict[str, str] = field(default_factory=dict)
    hosts_file: str = ""
    ca_bundle: Path | None = None
    users: tuple[str, ...] = ()

    def prepare_disk(self) -> None:
        for part in OVERLAID:
            (self.disk / "upper" / part).mkdir(parents=True, exist_ok=True)
            (self.disk / "work" / part).mkdir(parents=True, exist_ok=True)
        etc = self.disk / "upper" / "etc"
        (self.disk / "sysctl.d").mkdir(exist_ok=True)
        # Folders Amazon Linux has and Debian does not.
        for folder in ("systemd/system", "sysconfig", "amazon/ssm"):
            (etc / folder).mkdir(parents=True, exist_ok=True)
        # `sysctl --system` reads these too: the instance starts with no settings but its own.
        (etc / "sysctl.conf").write_text("")
        (self.disk / "empty").mkdir(exist_ok=True)
        (etc / "hosts").write_text("127.0.0.1 localhost\n::1 localhost\n" + self.hosts_file)
        if self.ca_bundle is not None:
            (etc / "ssl" / "certs").mkdir(parents=True, exist_ok=True)
            shutil.copy(self.ca_bundle, etc / "ssl" / "certs" / "ca-certificates.crt")
        for user in self.users:  # what cloud-init's default user would be
            (etc / "passwd").write_text(Path("/etc/passwd").read_text() + f"{user}:x:1000:1000::/home/{user}:/bin/bash\n")
            (etc / "group").write_text(Path("/etc/group").read_text() + f"{user}:x:1000:\n")
            home = self.disk / "upper" / "home" / user
            home.mkdir(parents=True, exist_ok=True)
            os.chown(home, 1000, 1000)
        self.clear_runtime()

    def clear_runtime(self) -> None:
        shutil.rmtree(self.disk / "run", ignore_errors=True)
        (self.disk / "run").mkdir()
        (self.disk / "console").touch()

    def _enter(self) -> list[str]:
        mounts = [
            f"mount -t overlay overlay -o lowerdir=/{part},upperdir={self.disk}/upper/{part},workdir={self.disk}/work/{part} /{part}"
            for part in OVERLAID
        ]
        mounts += [
            f"mount --bind {self.disk}/sysctl.d /etc/sysctl.d",
            f"mount --bind {self.disk}/empty /usr/lib/sysctl.d",
            f"mount --bind {self.disk}/run /run",
            f"mount --bind {self.disk}/console /dev/console",
            "mount --bind /proc/sys /proc/sys",
            "mount --bind /proc/sys/net /proc/sys/net",
            "mount -o remount,bind,ro /proc/sys",
        ]
        setup = " && ".join(mounts) + ' && exec "$@"'
        env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/root",
            "LANG": "C.UTF-8",
            **self.environment,
        }
        return [
            "ip", "netns", "exec", self.namespace.name,
            "unshare", "--mount", "--propagation", "private", "--",
            "env", "-i", *(f"{key}={value}" for key, value in env.items()),
            "/bin/bash", "-c", setup, "enter",
        ]  # fmt: skip

    def run(self, *argv: str, timeout: float = COMMAND_TIMEOUT_SECONDS, check: bool = True, **kwargs):
        return run([*self._enter(), *argv], timeout=timeout, check=check, **kwargs)

    def popen(self, *argv: str, log: Path) -> subprocess.Popen:
        with log.open("ab") as output:
            return subprocess.Popen([*self._enter(), *argv], stdout=output, stderr=subprocess.STDOUT)

    def file(self, path: str) -> Path:
        """Where a file the host wrote under an overlaid folder lies on its disk."""
        relative = path.lstrip("/")
        if relative.startswith("etc/sysctl.d/"):
            return self.disk / "sysctl.d" / relative.removeprefix("etc/sysctl.d/")
        if relative.startswith("run/"):
            return self.disk / relative
        return self.disk / "upper" / relative

    def read(self, path: str) -> str:
        target = self.file(path)
        return target.read_text() if target.exists() else ""
