"""ServiceRole: the assume-role policy names one service; the inline policy only when asked."""

from __future__ import annotations

import json

from talos_sandbox.terraform import bindings as tf
from talos_sandbox.terraform.constructs.service_role import ServiceRole, ServiceRoleProps
from talos_sandbox.terraform.policy_documents import statement


def synth_roles(tmp_path, *props: ServiceRoleProps, profile: bool = False) -> dict:
    app = tf.App(outdir=str(tmp_path))
    stack = tf.TerraformStack(app, "roles")
    tf.AwsProvider(stack, "aws", region="eu-west-1")
    for index, role_props in enumerate(props):
        role = ServiceRole(stack, f"role-{index}", role_props)
        if profile:
            role.instance_profile()
    app.synth()
    return json.loads((tmp_path / "stacks" / "roles" / "cdk.tf.json").read_text())["resource"]


def test_role_without_statements_has_no_policy(tmp_path):
    resources = synth_roles(tmp_path, ServiceRoleProps(name="plain", service="ec2.amazonaws.com"), profile=True)
    [role] = resources["aws_iam_role"].values()
    trust = json.loads(role["assume_role_policy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert "aws_iam_role_policy" not in resources
    [profile] = resources["aws_iam_instance_profile"].values()
    assert profile["name"] == profile["role"] and profile["role"].endswith(".name}")


def test_role_with_statements_gets_one_plain_json_policy(tmp_path):
    props = ServiceRoleProps(
        name="writer",
        service="scheduler.amazonaws.com",
        statements=[statement(["ec2:StopInstances"], ["arn:aws:ec2:eu-west-1:1:instance/i-1"], sid="One")],
        policy_name="stop-one",
    )
    resources = synth_roles(tmp_path, props)
    [policy] = resources["aws_iam_role_policy"].values()
    assert policy["name"] == "stop-one"
    assert json.loads(policy["policy"])["Statement"][0]["Action"] == ["ec2:StopInstances"]
