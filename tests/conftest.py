"""Shared fixtures. The provider bindings load once per session (through the first
synth); the moto server and the applied default sandbox are shared too."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.offline import MotoServer, Terraform, TerraformMissing, moto_server, prepare_stack, terraform_binary
from talos_sandbox.config import SandboxConfig, default_config, parse_config
from talos_sandbox.synth import synthesize

REPO_ROOT = Path(__file__).resolve().parent.parent


def unavailable(reason: str) -> None:
    """A prerequisite is missing: a visible skip locally, a failure in CI (.ci/run installs it)."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def require_terraform() -> str:
    """The terraform binary (a documented prerequisite, not a Python dependency)."""
    try:
        return terraform_binary()
    except TerraformMissing as missing:
        unavailable(str(missing))


def require_tool(command: str, package: str) -> str:
    """A Debian tool a test runs."""
    found = shutil.which(command)
    if found is None:
        unavailable(f"{command} (Debian package {package}) is not installed; .ci/run installs it")
    return found


# Shared config sections for tests: a complete WireGuard peer, and the Elastic IP mode
# (which needs the bastion in its own subnet).
WIREGUARD = {
    "peer_endpoint": "[2001:db8::1]:51820",
    "peer_public_key": "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",
    "tunnel_address": "10.200.0.2/32",
}
PUBLIC_IPV4 = {
    "network": {"bastion_subnet_cidr": "10.10.1.0/28"},
    "bastion": {"ipv4_egress": "public_ipv4", "private_ip": "10.10.1.10"},
}


def make_config(**overrides: Any) -> SandboxConfig:
    """The default config with top-level keys replaced (nested dicts replace whole sections)."""
    document = default_config().model_dump(mode="json", exclude_none=True)
    document.update(overrides)
    return parse_config(document)


def with_talos_version(config: SandboxConfig, version: str) -> SandboxConfig:
    """The same config on another Talos release (the matrix's images stay; lint TSL013 notes it)."""
    document = config.model_dump(mode="json", exclude_none=True)
    document["talos"] = {**document["talos"], "version": version}
    return parse_config(document)


# One release of each Talos minor the stack writes documents for.
TALOS_VERSIONS = ("v1.11.6", "v1.12.7", "v1.13.5")


@pytest.fixture(scope="session")
def synth(tmp_path_factory):
    """synth(config) -> (stack folder, parsed cdk.tf.json); cached per config."""
    cache: dict[str, tuple[Path, dict]] = {}

    def run(config: SandboxConfig) -> tuple[Path, dict]:
        key = config.model_dump_json()
        if key not in cache:
            out = tmp_path_factory.mktemp("synth")
            [stack_dir] = synthesize([config], out)
            cache[key] = (stack_dir, json.loads((stack_dir / "cdk.tf.json").read_text()))
        return cache[key]

    return run


@pytest.fixture(scope="session")
def default_stack(synth) -> dict:
    return synth(default_config())[1]


class Applied:
    """A stack applied to moto: its config, JSON, terraform state and the moto clients."""

    def __init__(self, config: SandboxConfig, stack: dict, terraform: Terraform, moto: MotoServer):
        self.config, self.stack, self.terraform, self.moto = config, stack, terraform, moto
        state = json.loads(terraform.run("show", "-json", "-no-color").stdout)
        self.resources = {
            resource["address"]: resource["values"]
            for resource in state["values"]["root_module"].get("resources", [])
        }

    def client(self, service: str):
        return self.moto.client(service, self.config.region)

    def of_type(self, resource_type: str) -> dict[str, dict]:
        return {address: values for address, values in self.resources.items() if address.startswith(f"{resource_type}.")}

    def assert_second_plan_empty(self) -> None:
        result = self.terraform.run("plan", "-detailed-exitcode", "-no-color", "-input=false", check=False)
        changes = [line for line in result.stdout.splitlines() if line.lstrip().startswith(("#", "~", "+", "-"))]
        assert result.returncode == 0, "second plan is not empty:\n" + "\n".join(changes[:60]) + result.stderr[-2000:]


@pytest.fixture(scope="session")
def new_moto(tmp_path_factory):
    """new_moto() -> a fresh moto server on loopback, stopped at the end of the session."""
    with contextlib.ExitStack() as servers:

        def start() -> MotoServer:
            require_terraform()  # every use of moto here is for a terraform apply
            return servers.enter_context(moto_server(tmp_path_factory.mktemp("moto") / "moto.log"))

        yield start


@pytest.fixture(scope="session")
def apply_stack(synth, new_moto, tmp_path_factory):
    """apply_stack(config, moto=None) -> Applied, cached per config.

    Without `moto` the stack gets a server of its own, so results never mix; pass one
    that already holds resources the stack adopts.
    """
    applied: dict[str, Applied] = {}

    def run(config: SandboxConfig, moto: MotoServer | None = None) -> Applied:
        key = config.model_dump_json()
        if key not in applied:
            moto = moto or new_moto()
            stack_dir, stack = synth(config)
            terraform = prepare_stack(stack_dir, tmp_path_factory.mktemp("apply"), moto.url, config.region)
            terraform.apply()
            applied[key] = Applied(config, stack, terraform, moto)
        return applied[key]

    return run


def resources_of(stack: dict, resource_type: str) -> dict[str, dict]:
    return stack.get("resource", {}).get(resource_type, {})


def only(stack: dict, resource_type: str) -> dict:
    found = resources_of(stack, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.values()))


def registry_cache_volumes(stack: dict) -> dict[str, dict]:
    """The bastion's registry caches' volume (the nodes' LINSTOR data volumes are aws_ebs_volume too)."""
    return {key: volume for key, volume in resources_of(stack, "aws_ebs_volume").items() if key.startswith("registry-cache")}


def data_of(stack: dict, data_type: str) -> dict[str, dict]:
    return stack.get("data", {}).get(data_type, {})
