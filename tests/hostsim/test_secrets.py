"""Secrets stay secret: the WireGuard private key and the registry credentials (their actual
bytes) appear on no console, in no log or journal, in no process's arguments, and in no file
that others may read."""

from __future__ import annotations

import pytest

SEARCHED = ["/etc", "/var", "/run", "/home", "/root", "/usr/local", "/tmp"]


def secrets_of(sandbox, keys) -> dict[str, str]:
    return {"WireGuard private key": keys.bastion, "registry password": keys.registry_credentials.split(":", 1)[1]}


@pytest.mark.parametrize("scenario", ["default-wireguard"])
def test_secrets_never_leak(running_sandbox, keys, scenario):
    sandbox = running_sandbox(scenario)
    machine = sandbox.world.bastion.machine
    assert machine.unit("registry-cache@docker.io.service")["ActiveState"] == "active"
    for what, secret in secrets_of(sandbox, keys).items():
        assert secret not in machine.console(), f"{what} on the console"
        assert secret not in machine.journal(), f"{what} in the journal"
        processes = machine.run("ps", "-eo", "args", "--no-headers").stdout
        assert secret not in processes, f"{what} in the process list"
        files = machine.run("grep", "-rlF", "--", secret, *SEARCHED, check=False).stdout.split()
        assert files, f"{what} is nowhere on the bastion: the search is broken"
        for path in files:
            mode, _ = machine.mode(path)
            assert mode & 0o077 == 0, f"{what} in {path}, mode {mode:o}"
            assert not path.startswith("/var/log/"), f"{what} in the log {path}"
