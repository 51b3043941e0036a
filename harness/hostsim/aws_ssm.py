"""SSM Parameter Store and its KMS encryption, as the simulated AWS API answers them.

Parameters are those Terraform creates (stack.py: the write-only ones at their
placeholder, patches at their value) and those the operator creates by hand (the
WireGuard key, registry credentials: SecureStrings under the AWS managed key
alias/aws/ssm). Strict as SSM is: get-parameter of a missing name is ParameterNotFound;
a SecureString comes back encrypted unless decrypted, and decrypting needs kms:Decrypt on
its key through SSM (kms:ViaService; the AWS managed key needs none); put-parameter
needs ssm:PutParameter on the parameter's ARN, --overwrite for an existing one, a type,
a value within its tier's limit (4 KB Standard, 8 KB Advanced), never the move of an
Advanced parameter back to Standard, and for a SecureString kms:Encrypt (Standard) or
kms:GenerateDataKey (Advanced: envelope encryption) on the key --key-id names, which
must exist (alias, ARN or id). A stand-in rule: a SecureString without --key-id is
refused (AWS would use alias/aws/ssm, not the stack's key). Values are kept verbatim (a
trailing newline too, as the CLI reads `file://` and SSM stores it). A test switch,
`refuse_put` in the state, makes writes to a parameter fail with AccessDenied (an
explicit deny, as a service control policy would).
"""

from __future__ import annotations

import base64
import hashlib

from . import iam

AWS_MANAGED_KEY = "alias/aws/ssm"
TIER_LIMITS = {"Standard": 4096, "Advanced": 8192}


class ApiError(Exception):
    """`Code: message`, as the CLI prints `An error occurred (Code) when calling ...: message`."""


def parameter_arn(state: dict, name: str) -> str:
    return f"arn:aws:ssm:{state['region']}:{state['account_id']}:parameter{name if name.startswith('/') else '/' + name}"


def _ciphertext(value: str) -> str:
    return base64.b64encode(b"\x01\x02\x02\x00" + hashlib.sha256(value.encode()).digest() * 3).decode()


def key_arn(state: dict, key_id: str) -> str:
    kms = state["kms"]
    if key_id == AWS_MANAGED_KEY:
        return AWS_MANAGED_KEY
    if key_id.startswith("alias/") or ":alias/" in key_id:
        found = kms["aliases"].get("alias/" + key_id.split("alias/", 1)[1])
    elif key_id.startswith("arn:"):
        found = key_id if key_id in kms["keys"] else None
    else:
        found = next((arn for arn, short in kms["keys"].items() if short == key_id), None)
    if found is None:
        raise ApiError(f"InvalidKeyId: Invalid keyId {key_id}")
    return found


def _use_key(state: dict, caller: dict, action: str, key: str) -> None:
    if key == AWS_MANAGED_KEY:
        return  # its key policy lets the account's principals use it through SSM
    context = {"kms:ViaService": f"ssm.{state['region']}.amazonaws.com"}
    try:
        iam.authorize(caller["arn"], caller["statements"], action, [key], context)
    except iam.AccessDenied as denied:
        raise ApiError(f"AccessDeniedException: {denied} (Service: AWSKMS; Status Code: 400)") from None


def get_parameter(state: dict, caller: dict, parameters: dict) -> dict:
    name = parameters["name"]
    _authorize(state, caller, "ssm:GetParameter", name)
    found = state["ssm"].get(name)
    if found is None:
        raise ApiError(f"ParameterNotFound: {name}")
    value = found["value"]
    if found["type"] == "SecureString":
        if parameters.get("with-decryption"):
            _use_key(state, caller, "kms:Decrypt", found["key"])
        else:
            value = _ciphertext(value)
    return {"Parameter": {"Name": name, "Type": found["type"], "Value": value, "Version": found.get("version", 1),
                          "ARN": parameter_arn(state, name)}}  # fmt: skip


def put_parameter(state: dict, caller: dict, parameters: dict) -> dict:
    name = parameters["name"]
    if name in state.get("refuse_put", []):
        raise ApiError(f"AccessDeniedException: User: {caller['arn']} is not authorized to perform: ssm:PutParameter on "
                       f"resource: {parameter_arn(state, name)} with an explicit deny in a service control policy")  # fmt: skip
    _authorize(state, caller, "ssm:PutParameter", name)
    existing = state["ssm"].get(name)
    if existing is not None and not parameters.get("overwrite"):
        raise ApiError("ParameterAlreadyExists: The parameter already exists. To overwrite this value, set the overwrite "
                       "option in the request to true.")  # fmt: skip
    kind = parameters.get("type") or (existing or {}).get("type")
    if kind not in ("String", "StringList", "SecureString"):
        raise ApiError("ValidationException: A parameter type is required when you create a parameter.")
    tier = parameters.get("tier") or (existing or {}).get("tier", "Standard")
    if tier not in TIER_LIMITS:
        raise ApiError(f"ValidationException: tier {tier!r} is not one of Standard, Advanced (Intelligent-Tiering is not modelled)")
    if existing is not None and existing.get("tier") == "Advanced" and tier == "Standard":
        raise ApiError("ValidationException: This parameter uses the advanced-parameter tier. You can't downgrade a "
                       "parameter from the advanced-parameter tier to the standard-parameter tier.")  # fmt: skip
    value = parameters["value"]
    if len(value.encode()) > TIER_LIMITS[tier]:
        raise ApiError(f"ValidationException: 1 validation error detected: Value at 'value' failed to satisfy constraint: "
                       f"Member must have length less than or equal to {TIER_LIMITS[tier]}")  # fmt: skip
    key = None
    if kind == "SecureString":
        if not parameters.get("key-id"):
            raise ApiError(f"ValidationException: (simulation) a SecureString needs --key-id here: without it AWS "
                           f"encrypts with {AWS_MANAGED_KEY}, not the stack's key")  # fmt: skip
        key = key_arn(state, parameters["key-id"])
        _use_key(state, caller, "kms:GenerateDataKey" if tier == "Advanced" else "kms:Encrypt", key)
    version = (existing or {}).get("version", 0) + 1
    state["ssm"][name] = {"value": value, "type": kind, "tier": tier, "key": key, "version": version}
    state.setdefault("puts", []).append({"name": name, "version": version, "caller": caller["arn"]})
    return {"Version": version, "Tier": tier}


def _authorize(state: dict, caller: dict, action: str, name: str) -> None:
    try:
        iam.authorize(caller["arn"], caller["statements"], action, [parameter_arn(state, name)])
    except iam.AccessDenied as denied:
        raise ApiError(f"AccessDeniedException: {denied}") from None
