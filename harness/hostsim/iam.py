"""IAM as the simulated AWS API enforces it: the role's policies decide every call.

A role's policies are its inline policies as synthesized (stack.py resolves their
Terraform references to the simulated account) plus the AWS managed policies attached
to it that this file knows (MANAGED, the actions of the AWS documentation's policy
that the instances here use). Evaluation as IAM's for one account without boundaries:
an explicit Deny wins, else an Allow is needed (action and resource match with `*` and
`?`, NotAction/NotResource, conditions with the operators below; a statement with an
operator it does not know never allows and always denies), else AccessDenied with AWS's
message. A call that acts on several resources (AttachVolume: the volume and the
instance) needs each allowed. Not modelled: resource-based policies (the KMS keys'
policies delegate to IAM, which is what the stack's do), SCPs, session policies,
permission boundaries; `explicit_deny` stands in for an SCP in tests.
"""

from __future__ import annotations

import re

# AmazonSSMManagedInstanceCore (AWS managed policy reference, version 3): the ssm, ssmmessages
# and ec2messages actions on "*" (the ssm ones listed; it grants no PutParameter, no KMS).
MANAGED = {
    "AmazonSSMManagedInstanceCore": [{
        "Effect": "Allow",
        "Action": ["ssm:DescribeAssociation", "ssm:GetDeployablePatchSnapshotForInstance", "ssm:GetDocument",
                   "ssm:DescribeDocument", "ssm:GetManifest", "ssm:GetParameter", "ssm:GetParameters",
                   "ssm:ListAssociations", "ssm:ListInstanceAssociations", "ssm:PutInventory", "ssm:PutComplianceItems",
                   "ssm:PutConfigurePackageResult", "ssm:UpdateAssociationStatus", "ssm:UpdateInstanceAssociationStatus",
                   "ssm:UpdateInstanceInformation", "ssmmessages:*", "ec2messages:*"],
        "Resource": "*",
    }],
}  # fmt: skip


class AccessDenied(Exception):
    pass


def _listed(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _glob(pattern: str, value: str, case: bool = True) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _matches(patterns, value: str, case: bool = True) -> bool:
    return any(_glob(pattern, value, case) for pattern in _listed(patterns))


_OPERATORS = {
    "StringEquals": lambda want, got: got == want,
    "StringNotEquals": lambda want, got: got != want,
    "StringEqualsIgnoreCase": lambda want, got: got.lower() == want.lower(),
    "StringLike": lambda want, got: _glob(want, got),
    "StringNotLike": lambda want, got: not _glob(want, got),
    "ArnEquals": lambda want, got: got == want,
    "ArnLike": lambda want, got: _glob(want, got),
    "Bool": lambda want, got: got.lower() == want.lower(),
}


def _condition_holds(condition: dict, context: dict[str, str]) -> bool | None:
    """True/False, or None for an operator this model does not know."""
    for operator, tests in condition.items():
        name = operator.removesuffix("IfExists")
        if name not in _OPERATORS:
            return None
        for key, wanted in tests.items():
            got = next((v for k, v in context.items() if k.lower() == key.lower()), None)
            if got is None:
                if operator.endswith("IfExists"):
                    continue
                if name.startswith("StringNot"):
                    continue
                return False
            if not any(_OPERATORS[name](want, got) for want in _listed(wanted)):
                return False
    return True


def _applies(statement: dict, action: str, resource: str, context: dict[str, str]) -> bool | None:
    if "Action" in statement and not _matches(statement["Action"], action, case=False):
        return False
    if "NotAction" in statement and _matches(statement["NotAction"], action, case=False):
        return False
    if "Resource" in statement and not _matches(statement["Resource"], resource):
        return False
    if "NotResource" in statement and _matches(statement["NotResource"], resource):
        return False
    return _condition_holds(statement.get("Condition", {}), context)


def authorize(principal: str, statements: list[dict], action: str, resources: list[str],
              context: dict[str, str] | None = None, explicit_deny: bool = False) -> None:  # fmt: skip
    """Raise AccessDenied unless the statements allow the action on every resource."""
    context = context or {}
    for resource in resources:
        verdicts = [(s["Effect"], _applies(s, action, resource, context)) for s in statements]
        if explicit_deny or any(effect == "Deny" and applies is not False for effect, applies in verdicts):
            raise AccessDenied(f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
                               "with an explicit deny in a service control policy")  # fmt: skip
        if not any(effect == "Allow" and applies is True for effect, applies in verdicts):
            raise AccessDenied(f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
                               f"because no identity-based policy allows the {action} action")  # fmt: skip
