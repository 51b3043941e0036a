"""ClusterParameters: the key, the parameters (placeholders the bastion fills, patches
Terraform writes) and who may do what with them; and the bastion's cluster unit."""

from __future__ import annotations

import base64
import json

from talos_sandbox.documents.cluster_plan import PLACEHOLDER, cluster_plan_json
from talos_sandbox.terraform.constructs.bastion_eni import CLUSTER_PROGRAM
from talos_sandbox.terraform.user_data import user_data_text

from ...conftest import make_config, only, resources_of
from .test_bastion_eni import bastion_statements, boot_script

OFF = make_config(bring_up={"enabled": False})
BASTION_WRITTEN = {"secrets", "talosconfig", "kubeconfig", "status"}


def cluster_key(stack: dict) -> tuple[str, dict]:
    [found] = [(name, key) for name, key in resources_of(stack, "aws_kms_key").items() if name.startswith("cluster_")]
    return found


def parameters(stack: dict) -> dict[str, dict]:
    return {p["name"].removeprefix("/cozy-demo/cluster/"): p for p in resources_of(stack, "aws_ssm_parameter").values()}


def test_the_sandbox_key_rotates_and_has_its_alias(default_stack):
    name, key = cluster_key(default_stack)
    assert key["enable_key_rotation"] is True and key["deletion_window_in_days"] == 7
    [statement] = json.loads(key["policy"])["Statement"]
    assert statement["Principal"]["AWS"].endswith(":root}") or statement["Principal"]["AWS"].endswith(":root")
    alias = only(default_stack, "aws_kms_alias")
    assert alias["name"] == "alias/cozy-demo-cluster" and alias["target_key_id"] == f"${{aws_kms_key.{name}.key_id}}"


def test_bastion_written_parameters_hold_a_write_only_placeholder(default_stack):
    name, _ = cluster_key(default_stack)
    found = parameters(default_stack)
    for key in BASTION_WRITTEN:
        parameter = found[key]
        assert parameter["type"] == "SecureString" and parameter["key_id"].startswith("${aws_kms_alias.cluster_alias_")
        assert "value" not in parameter, "a plain value would be read back into state"
        assert (parameter["value_wo"], parameter["value_wo_version"]) == (PLACEHOLDER, 1)
    assert default_stack["terraform"]["required_version"] == ">= 1.11.0", "value_wo needs Terraform 1.11"


def test_patches_are_the_files_synth_writes(synth):
    stack_dir, stack = synth(make_config())
    found = parameters(stack)
    for path in sorted((stack_dir / "talos").iterdir()):
        assert found[f"patches/{path.stem}"]["value"] == path.read_text()
    assert len([key for key in found if key.startswith("patches/")]) == len(list((stack_dir / "talos").iterdir()))


def test_bastion_reads_all_writes_four_and_uses_the_key_through_ssm_only(default_stack):
    statements = bastion_statements(default_stack)
    arns = {arn.rsplit(":parameter", 1)[1].removeprefix("/cozy-demo/cluster/") for arn in statements["ReadTheCluster"]["Resource"]}
    assert arns == set(parameters(default_stack))
    writes = {arn.rsplit(":parameter", 1)[1].removeprefix("/cozy-demo/cluster/") for arn in statements["WriteTheCluster"]["Resource"]}
    assert writes == BASTION_WRITTEN
    assert statements["WriteTheCluster"]["Action"] == ["ssm:PutParameter"]
    name, _ = cluster_key(default_stack)
    key = statements["WithTheClusterKey"]
    assert key["Resource"] == [f"${{aws_kms_key.{name}.arn}}"]
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": "ssm.eu-west-1.amazonaws.com"}}


def test_operator_policy_reads_status_and_credentials_never_the_secrets(default_stack):
    policy = json.loads(only(default_stack, "aws_iam_policy")["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    names = {arn.rsplit("/", 1)[1] for arn in statements["ReadTheCluster"]["Resource"]}
    assert names == {"status", "talosconfig", "kubeconfig"}
    assert statements["ReadTheCluster"]["Action"] == ["ssm:GetParameter"]
    assert statements["WithTheClusterKey"]["Action"] == ["kms:Decrypt"]
    assert default_stack["output"]["cluster_read_policy_arn"]["value"].startswith("${aws_iam_policy.")


def test_the_bastion_runs_the_cluster_unit_with_the_plan_and_the_program(default_stack):
    script = boot_script(default_stack)
    assert CLUSTER_PROGRAM.read_text() in script, "the program goes as it is"
    assert cluster_plan_json(make_config()) in script
    assert "systemctl enable --now talos-sandbox-cluster.service" in script
    unit = script.split("talos-sandbox-cluster.service <<'UNIT'\n", 1)[1].split("\nUNIT\n", 1)[0]
    for line in ("RuntimeDirectoryMode=0700", "RestartPreventExitStatus=65", "StartLimitIntervalSec=0", "UMask=0077",
                 "StandardOutput=journal+console", "ProtectSystem=strict"):  # fmt: skip
        assert line in unit.splitlines(), line


def test_compressed_user_data_fits_ec2s_limit_with_five_nodes(synth):
    nodes = [{"name": f"n{i}", "private_ip": f"10.10.0.{10 + i}"} for i in range(1, 6)]
    _, stack = synth(make_config(nodes=nodes))
    encoded = only(stack, "aws_launch_template")["user_data"]
    assert len(base64.b64decode(encoded)) < 16 * 1024
    assert user_data_text(encoded).startswith("#!/bin/bash")


def test_off_means_no_key_no_parameters_no_unit(synth):
    _, stack = synth(OFF)
    assert resources_of(stack, "aws_ssm_parameter") == {} and resources_of(stack, "aws_iam_policy") == {}
    assert not [name for name in resources_of(stack, "aws_kms_key") if name.startswith("cluster_")]
    assert "talos-sandbox-cluster" not in boot_script(stack)
    assert not {"ReadTheCluster", "WriteTheCluster"} & set(bastion_statements(stack))
    assert not [name for name in stack["output"] if name.startswith("cluster_")]
