"""The offline harness: a moto server on loopback and terraform pointed at it.

Everything that makes a synthesized stack talk to moto lives in one override file
written next to a copy of the stack; the stack itself is applied unchanged. Used by the
tests (apply) and by the policy gate (plan JSON for checkov's terraform_plan scan).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MOTO_LAUNCHER = Path(__file__).with_name("moto_with_fixes.py")
PLUGIN_DIR_ENV = "TALOS_SANDBOX_TF_PLUGIN_DIR"
OVERRIDE_FILE = "zz_harness_override.tf.json"
MOTO_SERVICES = ("autoscaling", "ec2", "iam", "kms", "logs", "scheduler", "ssm", "sts", "events")
# Enough for the slow steps (init copies the provider) without hanging a CI run.
TERRAFORM_TIMEOUT_SECONDS = 600


class TerraformMissing(RuntimeError):
    """terraform is a documented prerequisite, not a Python dependency."""


def terraform_binary() -> str:
    binary = shutil.which("terraform")
    if binary is None:
        raise TerraformMissing("terraform is not installed (a documented prerequisite; see README)")
    return binary


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class MotoServer:
    url: str
    process: subprocess.Popen

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    def client(self, service: str, region: str):
        import boto3

        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@contextmanager
def moto_server(log_path: Path):
    port = _free_port()
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(MOTO_LAUNCHER), "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    server = MotoServer(url=f"http://127.0.0.1:{port}", process=process)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{server.url}/moto-api/", timeout=2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start; see {log_path}") from None
                time.sleep(0.3)
        yield server
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """End a server the tests started: politely, then for sure."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def harness_override(stack_json: dict, moto_url: str, region: str, for_apply: bool = True) -> dict:
    """Provider endpoints, dummy credentials and, for an apply, what moto cannot serve."""
    override: dict = {
        "provider": {
            "aws": [
                {
                    "region": region,
                    "access_key": "testing",
                    "secret_key": "testing",
                    "skip_credentials_validation": True,
                    "skip_metadata_api_check": True,
                    # A few retries for a dropped connection to the local server under load; few
                    # enough that a call moto cannot serve fails in seconds, not minutes.
                    "max_retries": 3,
                    "endpoints": [{service: moto_url for service in MOTO_SERVICES}],
                }
            ]
        },
        "terraform": {"backend": {"local": {"path": "terraform.tfstate"}}},
    }
    instances = stack_json.get("resource", {}).get("aws_instance", {})
    if instances and for_apply:
        # moto has no MonitorInstances; terraform would retry it for minutes.
        override["resource"] = {"aws_instance": {name: {"monitoring": False} for name in sorted(instances)}}
    return override


@dataclass
class Terraform:
    workdir: Path

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
        cli_config = self.workdir / ".terraformrc"
        cli_config.touch()
        env["TF_CLI_CONFIG_FILE"] = str(cli_config)
        result = subprocess.run(
            [terraform_binary(), *args],
            cwd=self.workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=TERRAFORM_TIMEOUT_SECONDS,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"terraform {' '.join(args)} exited {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return result

    def write_override(self, moto_url: str, region: str, for_apply: bool) -> None:
        """(Re)write the harness override for the stack in workdir; no new init needed."""
        stack_json = json.loads((self.workdir / "cdk.tf.json").read_text())
        override = harness_override(stack_json, moto_url, region, for_apply)
        (self.workdir / OVERRIDE_FILE).write_text(json.dumps(override, indent=2))

    def apply(self) -> None:
        self.run("apply", "-auto-approve", "-no-color", "-input=false")

    def plan_json(self) -> str:
        """`terraform plan` and the plan as JSON (`terraform show -json`)."""
        self.run("plan", "-input=false", "-no-color", "-out=sandbox.tfplan")
        return self.run("show", "-json", "sandbox.tfplan").stdout

    def init(self, backend: bool = True) -> None:
        args = ["init", "-input=false", "-no-color", f"-backend={str(backend).lower()}"]
        plugin_dir = os.environ.get(PLUGIN_DIR_ENV)
        if plugin_dir:
            args.append(f"-plugin-dir={plugin_dir}")
        self.run(*args)


def prepare_stack(
    stack_dir: Path, workdir: Path, moto_url: str | None, region: str, backend: bool = True, for_apply: bool = True
) -> Terraform:
    """Copy a synthesized stack into workdir (plus the harness override when moto_url is set).

    A plan-only copy (`for_apply=False`) keeps the stack's own monitoring setting, so a
    policy scan of the plan sees exactly what the product asks for.
    """
    shutil.copytree(stack_dir, workdir, dirs_exist_ok=True)
    terraform = Terraform(workdir)
    if moto_url is not None:
        terraform.write_override(moto_url, region, for_apply)
    terraform.init(backend=backend)
    return terraform
