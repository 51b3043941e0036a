"""ClusterParameters: the SSM parameters of the unattended bring-up, their KMS key, and
who may use them.

- The sandbox's own KMS key (rotated yearly) encrypts every parameter; its key policy
  delegates to IAM, so the grants below are the whole story.
- The bastion writes the secrets, talosconfig, kubeconfig and status. Terraform declares
  each with the write-only `value_wo` placeholder: `terraform destroy` removes them and
  IAM names their exact ARNs, while the state never holds what the bastion wrote.
- Terraform writes each Talos patch (the text synth writes under `talos/`): no secrets.
- The bastion may read all of them, write only its four, and use only this key; the
  operator policy reads the status, talosconfig and kubeconfig, and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constructs import Construct

from .. import bindings as tf
from ...documents.cluster_plan import OPERATOR_READABLE, PLACEHOLDER, ClusterParameter
from ..policy_documents import account_administers_key, policy, statement
from .naming import AccountRef, name_tag

# `value_wo` is sent only when this number changes; the bastion's value is never overwritten.
PLACEHOLDER_VERSION = 1
KEY_DELETION_DAYS = 7  # the shortest AWS allows: a sandbox's key should go soon after destroy


@dataclass(frozen=True)
class ClusterParametersProps:
    name: str
    region: str
    account: AccountRef
    parameters: dict[str, ClusterParameter]
    """By key (cluster_plan.cluster_parameters): `secrets`, ..., `patch/<stem>`."""
    kms_alias: str


class ClusterParameters(Construct):
    key: tf.KmsKey

    def __init__(self, scope: Construct, construct_id: str, props: ClusterParametersProps) -> None:
        super().__init__(scope, construct_id)
        self._props = props
        self.names = {key: parameter.name for key, parameter in props.parameters.items()}
        """Each parameter's name by key (known at synth, unlike the resources' name tokens)."""
        self.key = tf.KmsKey(
            self,
            "key",
            description=f"{props.name} sandbox: the cluster's SSM parameters",
            enable_key_rotation=True,
            deletion_window_in_days=KEY_DELETION_DAYS,
            policy=policy(account_administers_key(props.account.partition, props.account.account_id)),
            tags=name_tag(props.name, "cluster"),
        )
        alias = tf.KmsAlias(self, "alias", name=props.kms_alias, target_key_id=self.key.key_id)
        self.parameters: dict[str, tf.SsmParameter] = {}
        for key, parameter in props.parameters.items():
            common: dict[str, Any] = dict(
                name=parameter.name, type="SecureString", tier=parameter.tier,
                # By alias, as the bastion writes them: SSM keeps the key id as given, and the
                # key's ARN here would read as drift after every bastion write.
                key_id=alias.name,
                description=self._description(key),
            )  # fmt: skip
            if parameter.value is None:
                common.update(value_wo=PLACEHOLDER, value_wo_version=PLACEHOLDER_VERSION)
            else:
                common.update(value=parameter.value)
            self.parameters[key] = tf.SsmParameter(self, key.replace("/", "-"), **common)

    @staticmethod
    def _description(key: str) -> str:
        if key.startswith("patch/"):
            return f"Talos patch talos/{key.removeprefix('patch/')}.yaml (written by Terraform)"
        return f"The cluster's {key} (written by the bastion; Terraform holds a placeholder only)"

    def arn(self, key: str) -> str:
        props = self._props
        return props.account.arn("ssm", props.region, f"parameter{props.parameters[key].name}")

    @property
    def _through_ssm(self) -> dict[str, Any]:
        """The key serves SSM's parameters only, not direct KMS calls."""
        return {"StringEquals": {"kms:ViaService": f"ssm.{self._props.region}.amazonaws.com"}}

    def bastion_statements(self) -> list[dict[str, Any]]:
        bastion_written = sorted(key for key, p in self._props.parameters.items() if p.value is None)
        return [
            statement(["ssm:GetParameter"], [self.arn(key) for key in self._props.parameters], sid="ReadTheCluster"),
            statement(["ssm:PutParameter"], [self.arn(key) for key in bastion_written], sid="WriteTheCluster"),
            statement(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], [self.key.arn], sid="WithTheClusterKey",
                      condition=self._through_ssm),
        ]

    def operator_policy(self) -> tf.IamPolicy:
        """A managed policy to attach to whoever operates the sandbox: read, never write."""
        props = self._props
        return tf.IamPolicy(
            self,
            "operator-read",
            name=f"{props.name}-cluster-read",
            description=f"Read the {props.name} sandbox's cluster status, talosconfig and kubeconfig",
            policy=policy(
                statement(["ssm:GetParameter"], [self.arn(key) for key in OPERATOR_READABLE], sid="ReadTheCluster"),
                statement(["kms:Decrypt"], [self.key.arn], sid="WithTheClusterKey", condition=self._through_ssm),
            ),
        )
