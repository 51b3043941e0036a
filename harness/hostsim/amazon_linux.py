"""What turns the Debian rootfs into a stand-in for Amazon Linux 2023: an overlay layer.

The layer sits between the cached rootfs and each instance's own disk and holds only what
is Amazon Linux or AWS: the `dnf`, `aws` and `amazon-ssm-agent` stand-ins (shims/, each
documented in itself) with the agent's unit enabled as on the AMI, cloud-init told to use
its NoCloud seed and to create `ec2-user`, AL2023's folders Debian lacks, and no login
prompt on the console. One thing
stands in for this machine's kernel: wireguard-go for the WireGuard module it lacks
(wg-quick uses it when told in its environment). Another shortens time: every
RestartSec of the product's units is 1 s here, and nothing else about them changes,
except the cluster unit's waits between rounds (CLUSTER_TIMING: the program reads
CLUSTER_RETRY_SECONDS and CLUSTER_POLL_SECONDS from its environment, 10 s and the plan's
poll_seconds otherwise).
"""

from __future__ import annotations

import shutil
from pathlib import Path

SHIMS = Path(__file__).resolve().parent / "shims"
RESTART_SECONDS_HERE = 1
# The product's units whose retries the tests wait through.
TIMED_UNITS = ("talos-sandbox-install.service", "registry-cache@.service", "talos-sandbox-cluster.service")
CLUSTER_TIMING = {"CLUSTER_RETRY_SECONDS": 2, "CLUSTER_POLL_SECONDS": 3}

CLOUD_CFG = """\
# Simulation: the NoCloud seed stands in for EC2's datasource; no network config (the
# VPC's addresses are on the interface before boot, as EC2's DHCP would hand them out).
datasource_list: [NoCloud]
network: {config: disabled}
manage_etc_hosts: false
locale: false  # the image has no locales (nothing here reads them)
system_info:
  default_user: {name: ec2-user, lock_passwd: true, gecos: EC2 Default User}
"""

SSM_AGENT_UNIT = """\
[Unit]
Description=amazon-ssm-agent (simulation stand-in)
After=network-online.target

[Service]
ExecStart=/usr/bin/amazon-ssm-agent
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target
"""

WIREGUARD_USERSPACE = """\
[Service]
Environment=WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go
Environment=WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1
"""


def build_layer(target: Path) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    usr_bin = target / "usr" / "bin"
    usr_bin.mkdir(parents=True)
    for shim in ("dnf", "aws", "amazon-ssm-agent"):
        shutil.copy(SHIMS / shim, usr_bin / shim)
        (usr_bin / shim).chmod(0o755)
    systemd = target / "etc" / "systemd" / "system"
    (systemd / "multi-user.target.wants").mkdir(parents=True)
    (systemd / "amazon-ssm-agent.service").write_text(SSM_AGENT_UNIT)
    # No login prompt on the console: its agetty hangs up the console under the boot
    # script's writes (EC2's serial console is the instance's, not this one's).
    (systemd / "console-getty.service").symlink_to("/dev/null")
    (systemd / "multi-user.target.wants" / "amazon-ssm-agent.service").symlink_to("../amazon-ssm-agent.service")
    (systemd / "wg-quick@.service.d").mkdir()
    (systemd / "wg-quick@.service.d" / "userspace.conf").write_text(WIREGUARD_USERSPACE)
    for unit in TIMED_UNITS:
        (systemd / f"{unit}.d").mkdir()
        extra = "".join(f"Environment={k}={v}\n" for k, v in CLUSTER_TIMING.items()) if "cluster" in unit else ""
        (systemd / f"{unit}.d" / "simulated-time.conf").write_text(f"[Service]\nRestartSec={RESTART_SECONDS_HERE}\n{extra}")
    (target / "etc" / "cloud" / "cloud.cfg.d").mkdir(parents=True)
    (target / "etc" / "cloud" / "cloud.cfg.d" / "90-amazon-linux-simulated.cfg").write_text(CLOUD_CFG)
    for folder in ("etc/sysconfig", "etc/amazon/ssm", "var/lib/simulated-dnf"):
        (target / folder).mkdir(parents=True, exist_ok=True)
    # Preinstalled on the AMI, so `dnf upgrade` finds it.
    (target / "var" / "lib" / "simulated-dnf" / "installed").write_text("amazon-ssm-agent\n")
    return target
