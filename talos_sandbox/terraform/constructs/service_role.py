"""ServiceRole: an IAM role that one AWS service assumes, with its one inline policy.

Every role in the sandbox has this shape (bastion, nodes, flow logs, node scheduler);
the policy is a plain JSON string so that checkov evaluates it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from constructs import Construct

from .. import bindings as tf
from ..policy_documents import assume_role_policy, policy


@dataclass(frozen=True)
class ServiceRoleProps:
    name: str
    """The role's name (and Name tag)."""
    service: str
    """The principal that assumes it, e.g. ec2.amazonaws.com."""
    statements: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    """The inline policy's statements; none means no inline policy."""
    policy_name: str = "inline"


class ServiceRole(Construct):
    role: tf.IamRole

    def __init__(self, scope: Construct, construct_id: str, props: ServiceRoleProps) -> None:
        super().__init__(scope, construct_id)
        self.role = tf.IamRole(
            self,
            "role",
            name=props.name,
            assume_role_policy=assume_role_policy(props.service),
            tags={"Name": props.name},
        )
        if props.statements:
            tf.IamRolePolicy(self, "policy", name=props.policy_name, role=self.role.id, policy=policy(*props.statements))

    def instance_profile(self) -> tf.IamInstanceProfile:
        return tf.IamInstanceProfile(self, "instance-profile", name=self.role.name, role=self.role.name)
