"""IAM policy documents as plain JSON strings.

checkov evaluates policies written as JSON strings but not ones built with
Fn.jsonencode (FACTS.md), so every policy in the stack goes through here.
"""

import json
from collections.abc import Iterable, Mapping
from typing import Any


def statement(
    actions: Iterable[str], resources: Iterable[str], sid: str, condition: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": list(resources)}
    if condition:
        body["Condition"] = dict(condition)
    return body


def policy(*statements: Mapping[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2, sort_keys=True)


def assume_role_policy(service: str) -> str:
    return policy(
        {"Sid": "AssumedBy", "Effect": "Allow", "Principal": {"Service": service}, "Action": ["sts:AssumeRole"]}
    )


def account_administers_key(partition: str, account_id: str) -> dict[str, Any]:
    """A KMS key policy's first statement: the account's IAM policies decide who uses the key."""
    return {
        "Sid": "AccountAdministers",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
        "Action": ["kms:*"],
        "Resource": ["*"],
    }
