"""The simulated AWS API behind the SSM and EC2 endpoints, and the account state it answers from.

The state (a JSON file the world writes and this API updates, under a lock) holds SSM
parameters, managed prefix lists, EBS volumes and the running instances. Every call must
carry the role's access key from the instance metadata service. SecureStrings come back
encrypted unless the call asks for decryption. `attach-volume` presents the volume's block
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

ACCESS_KEY = "ASIASIMULATED"
NVME_DEVICE = "/dev/nvme1n1"


class ApiError(Exception):
    pass


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


def _ciphertext(value: str) -> str:
    return base64.b64encode(b"\x01\x02\x02\x00" + hashlib.sha256(value.encode()).digest() * 3).decode()


def answer(state: dict, request: dict) -> dict:
    if request.get("access_key") != ACCESS_KEY:
        raise ApiError("UnrecognizedClientException: The security token included in the request is invalid.")
    operation, parameters = (request["service"], request["operation"]), request["parameters"]
    if operation == ("ssm", "get-parameter"):
        value = state.get("ssm", {}).get(parameters["name"])
        if value is None:
            raise ApiError(f"ParameterNotFound: {parameters['name']}")
        shown = value if parameters.get("with-decryption") else _ciphertext(value)
        return {"Parameter": {"Name": parameters["name"], "Type": "SecureString", "Value": shown}}
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
