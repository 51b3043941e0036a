"""The simulated AWS API behind the SSM and EC2 endpoints, and the account state it answers from.

The state (a JSON file the world writes and this API updates, under a lock) holds SSM
parameters and KMS keys (aws_ssm.py), managed prefix lists, EBS volumes, the running
instances and the roles' policies. Every call must carry the access key the instance
metadata service gives the caller's instance (one per instance); the call is made as
that instance's role and IAM decides it (iam.py: the role's synthesized policies), so an
action or ARN the role does not allow is AccessDenied as on AWS. AttachVolume is checked
on the volume and on the instance, with the instance's tags as `ec2:ResourceTag/...`. `attach-volume` presents the volume's block
device (a loop device) inside the instance as Nitro does: an NVMe device, with
/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_<volume id without '-'> linking to it.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from . import iam
from .aws_ssm import ApiError, get_parameter, put_parameter

NVME_DEVICE = "/dev/nvme1n1"
# The ARN each EC2 action acts on (the Service Authorization Reference's resource types).
EC2_ACTIONS = {
    "describe-managed-prefix-lists": "DescribeManagedPrefixLists", "get-managed-prefix-list-entries": "GetManagedPrefixListEntries",
    "describe-volumes": "DescribeVolumes", "attach-volume": "AttachVolume",
}  # fmt: skip


def access_key(instance_id: str) -> str:
    """The role credentials' access key id IMDS hands the instance (it names the instance here)."""
    return "ASIA" + instance_id.removeprefix("i-").upper()


def caller(state: dict, key: str | None) -> dict:
    for instance_id, instance in state.get("instances", {}).items():
        if key == access_key(instance_id):
            role = state["roles"].get(instance.get("role", ""), {"statements": [], "managed": []})
            statements = list(role["statements"])
            for managed in role["managed"]:
                statements += iam.MANAGED.get(managed, [])
            arn = f"arn:aws:sts::{state['account_id']}:assumed-role/{instance.get('role')}/{instance_id}"
            return {"arn": arn, "statements": statements, "instance": instance_id}
    raise ApiError("UnrecognizedClientException: The security token included in the request is invalid.")


def _ec2(state: dict, who: dict, operation: str, resources: list[str], context: dict | None = None) -> None:
    try:
        iam.authorize(who["arn"], who["statements"], f"ec2:{EC2_ACTIONS[operation]}", resources, context)
    except iam.AccessDenied as denied:
        raise ApiError(f"UnauthorizedOperation: You are not authorized to perform this operation. {denied}") from None


@contextlib.contextmanager
def account(path: Path) -> Iterator[dict]:
    """The state, read and (when the block changes it) written back under an exclusive lock."""
    with open(f"{path}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = json.loads(path.read_text()) if path.exists() else {}
        before = json.dumps(state, sort_keys=True)
        yield state
        if json.dumps(state, sort_keys=True) != before:
            path.write_text(json.dumps(state, indent=1))


def by_id_name(volume_id: str) -> str:
    return "nvme-Amazon_Elastic_Block_Store_" + volume_id.replace("-", "")


def present_volume(volume: dict, instance: dict) -> None:
    """The volume's device node in the instance's /dev, and the by-id link udev would make."""
    device = os.stat(volume["loop"]).st_rdev
    script = f"[ -b {NVME_DEVICE} ] || mknod {NVME_DEVICE} b {os.major(device)} {os.minor(device)}"
    result = subprocess.run(["nsenter", "-t", str(instance["leader"]), "-m", "--", "sh", "-c", script],
                            capture_output=True, text=True, timeout=10)  # fmt: skip
    if result.returncode != 0:
        raise ApiError(f"InternalError: presenting {volume['id']} failed: {result.stderr.strip()}")
    link = Path(instance["by_id"]) / by_id_name(volume["id"])
    link.unlink(missing_ok=True)
    link.symlink_to(NVME_DEVICE)


def _filters(values: list[str]) -> dict[str, str]:
    found = {}
    for value in values:
        name, _, rest = value.partition(",")
        if not name.startswith("Name=") or not rest.startswith("Values="):
            raise ApiError(f"InvalidParameterValue: filter {value!r}")
        found[name[5:]] = rest[7:]
    return found


def answer(state: dict, request: dict) -> dict:
    who = caller(state, request.get("access_key"))
    operation, parameters = (request["service"], request["operation"]), request["parameters"]
    region, account_id = state["region"], state["account_id"]
    if operation == ("ssm", "get-parameter"):
        return get_parameter(state, who, parameters)
    if operation == ("ssm", "put-parameter"):
        return put_parameter(state, who, parameters)
    if operation[0] == "ec2" and operation[1] in EC2_ACTIONS:
        if operation[1] == "get-managed-prefix-list-entries":
            owner = next((p.get("owner", "aws") for p in state.get("prefix_lists", {}).values()
                          if p["id"] == parameters["prefix-list-id"]), account_id)  # fmt: skip
            _ec2(state, who, operation[1], [f"arn:aws:ec2:{region}:{owner}:prefix-list/{parameters['prefix-list-id']}"])
        elif operation[1] == "attach-volume":
            target = state.get("instances", {}).get(parameters["instance-id"], {})
            tags = {f"ec2:ResourceTag/{k}": v for k, v in target.get("tags", {}).items()}
            _ec2(state, who, operation[1], [f"arn:aws:ec2:{region}:{account_id}:volume/{parameters['volume-id']}"])
            _ec2(state, who, operation[1], [f"arn:aws:ec2:{region}:{account_id}:instance/{parameters['instance-id']}"], tags)
        else:
            _ec2(state, who, operation[1], ["*"])
    if operation == ("ec2", "describe-managed-prefix-lists"):
        wanted = _filters(parameters.get("filters", [])).get("prefix-list-name")
        lists = state.get("prefix_lists", {})
        return {"PrefixLists": [{"PrefixListId": p["id"], "PrefixListName": n} for n, p in lists.items() if n == wanted]}
    if operation == ("ec2", "get-managed-prefix-list-entries"):
        lists = [p for p in state.get("prefix_lists", {}).values() if p["id"] == parameters["prefix-list-id"]]
        if not lists:
            raise ApiError("InvalidPrefixListID.NotFound")
        return {"Entries": [{"Cidr": cidr} for cidr in lists[0]["cidrs"]]}
    if operation == ("ec2", "describe-volumes"):
        filters = _filters(parameters.get("filters", []))
        volumes = [
            v for v in state.get("volumes", {}).values()
            if filters.get("tag:Name", v["name"]) == v["name"] and filters.get("availability-zone", v["az"]) == v["az"]
        ]  # fmt: skip
        return {"Volumes": [_volume(v) for v in volumes]}
    if operation == ("ec2", "attach-volume"):
        volume = state.get("volumes", {}).get(parameters["volume-id"])
        instance = state.get("instances", {}).get(parameters["instance-id"])
        if volume is None or instance is None:
            raise ApiError("InvalidVolume.NotFound" if volume is None else "InvalidInstanceID.NotFound")
        if volume["attached_to"]:
            raise ApiError(f"VolumeInUse: {volume['id']} is already attached to an instance")
        if volume["az"] != instance["az"]:
            raise ApiError("InvalidVolume.ZoneMismatch")
        volume["attached_to"] = parameters["instance-id"]
        present_volume(volume, instance)
        return {"VolumeId": volume["id"], "InstanceId": parameters["instance-id"], "Device": parameters["device"],
                "State": "attaching"}  # fmt: skip
    raise ApiError(f"InvalidAction: {operation}")


def _volume(volume: dict) -> dict:
    attachments = [{"InstanceId": volume["attached_to"], "State": "attached"}] if volume["attached_to"] else []
    return {"VolumeId": volume["id"], "State": "in-use" if attachments else "available", "Attachments": attachments,
            "AvailabilityZone": volume["az"]}  # fmt: skip


def initial_state(stack, operator_parameters: dict[str, str], volumes: dict, prefix_lists: dict) -> dict:
    """The account before the first instance boots: what Terraform created (stack.py) and
    the SecureStrings the operator created by hand (under the AWS managed key)."""
    from .stack import ACCOUNT_ID

    ssm = {name: {"value": p["value"], "type": p["type"], "tier": p["tier"], "key": p["key"], "version": 1}
           for name, p in stack.parameters.items()}  # fmt: skip
    for name, value in operator_parameters.items():
        ssm[name] = {"value": value, "type": "SecureString", "tier": "Standard", "key": "alias/aws/ssm", "version": 1}
    return {
        "region": stack.region, "account_id": ACCOUNT_ID, "ssm": ssm,
        "kms": {"keys": dict(stack.kms_keys), "aliases": dict(stack.kms_aliases)},
        "roles": stack.roles, "prefix_lists": prefix_lists, "volumes": volumes, "instances": {},
    }  # fmt: skip
