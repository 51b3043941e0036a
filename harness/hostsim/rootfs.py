"""The simulated instances' root file system: a Debian 12 rootfs built once with mmdebstrap.

It holds what an Amazon Linux 2023 image holds that the scripts rely on (systemd,
cloud-init, curl, xfsprogs, iproute2, ...) and not what the scripts install: those
packages' .debs (with what they depend on) wait in DEB_DIR for the `dnf` stand-in, so a
package a script forgets to ask for is missing when it runs. Built into CACHE_ROOT under a
key of every build input, so a changed input builds anew and an unchanged one is reused.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

CACHE_ROOT = Path(os.environ.get("TALOS_SANDBOX_HOSTSIM_CACHE", "/var/cache/talos-sandbox/hostsim"))
SUITE = "bookworm"
MIRRORS = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)
# In the image: what AL2023's own AMI has that the scripts use, and wireguard-go, which
# stands in for the WireGuard kernel module this machine's kernel lacks.
IMAGE_PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "cloud-init", "python3", "iproute2", "curl", "ca-certificates",
    "xfsprogs", "procps", "iputils-ping", "mount", "passwd", "wireguard-go",
)  # fmt: skip
# Not in the image: Amazon Linux package name -> the Debian packages `dnf install` unpacks.
DNF_PACKAGES = {"nftables": ("nftables",), "wireguard-tools": ("wireguard-tools",)}
DEB_DIR = "/var/lib/simulated-dnf/debs"
BUILD_TIMEOUT_SECONDS = 600


def _download_hook() -> str:
    """Each dnf package's .debs, with the dependencies the image lacks, in a folder of its own."""
    steps = []
    for name, debian in sorted(DNF_PACKAGES.items()):
        steps += [
            f'rm -f "$1"/var/cache/apt/archives/*.deb',
            f'chroot "$1" apt-get install --download-only -y -qq --no-install-recommends {" ".join(debian)}',
            f'mkdir -p "$1{DEB_DIR}/{name}"',
            f'mv "$1"/var/cache/apt/archives/*.deb "$1{DEB_DIR}/{name}/"',
        ]
    return " && ".join(steps)


def _key() -> str:
    inputs = {"suite": SUITE, "mirrors": MIRRORS, "image": IMAGE_PACKAGES, "dnf": DNF_PACKAGES, "hook": _download_hook()}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def rootfs() -> Path:
    """The cached rootfs for the current inputs, built (about 45 s) if missing."""
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    target = CACHE_ROOT / f"rootfs-{_key()}"
    with (CACHE_ROOT / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs never build the same one at once
        if (target / ".complete").exists():
            return target
        building = target.with_name(target.name + ".building")
        shutil.rmtree(building, ignore_errors=True)
        result = subprocess.run(
            ["mmdebstrap", "--variant=minbase", "--mode=root", f"--include={','.join(IMAGE_PACKAGES)}",
             f"--customize-hook={_download_hook()}", SUITE, str(building), *MIRRORS],
            capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS,
        )  # fmt: skip
        if result.returncode != 0:
            shutil.rmtree(building, ignore_errors=True)
            raise RuntimeError(f"mmdebstrap failed:\n{result.stderr[-4000:]}")
        (building / ".complete").touch()
        building.rename(target)
        for stale in CACHE_ROOT.glob("rootfs-*"):  # older inputs' builds
            if stale != target:
                shutil.rmtree(stale, ignore_errors=True)
        return target
