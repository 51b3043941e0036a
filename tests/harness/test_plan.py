"""harness.plan: the live plan may differ from the applied state only by the harness override."""

from __future__ import annotations

import pytest

from harness.plan import unexpected_changes


def change(address: str, actions: list[str], before: dict | None, after: dict | None) -> dict:
    resource_type = address.split(".", 1)[0]
    return {"address": address, "type": resource_type, "change": {"actions": actions, "before": before, "after": after}}


def test_no_op_reads_and_the_monitoring_override_are_expected():
    plan = {
        "resource_changes": [
            change("aws_vpc.vpc", ["no-op"], {"cidr_block": "10.10.0.0/16"}, {"cidr_block": "10.10.0.0/16"}),
            change("data.aws_ami.al2023", ["read"], None, {"id": "ami-1"}),
            change("aws_instance.node", ["update"], {"monitoring": False, "ami": "ami-1"}, {"monitoring": True, "ami": "ami-1"}),
        ]
    }
    assert unexpected_changes(plan) == []


@pytest.mark.parametrize(
    "drift, reported",
    [
        (change("aws_instance.node", ["update"], {"monitoring": False, "ami": "ami-1"}, {"monitoring": True, "ami": "ami-2"}),
         "aws_instance.node: update ['ami', 'monitoring']"),
        (change("aws_launch_template.bastion", ["update"], {"monitoring": False}, {"monitoring": True}),
         "aws_launch_template.bastion: update ['monitoring']"),
        (change("aws_eip.bastion", ["create"], None, {"domain": "vpc"}), "aws_eip.bastion: create ['domain']"),
        (change("aws_instance.node", ["delete", "create"], {"monitoring": False}, {"monitoring": True}),
         "aws_instance.node: delete/create ['monitoring']"),
    ],
    ids=["other-attribute", "other-type", "create", "replace"],
)
def test_any_other_change_is_drift(drift, reported):
    assert unexpected_changes({"resource_changes": [drift]}) == [reported]
