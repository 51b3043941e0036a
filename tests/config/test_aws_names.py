"""AWS's naming rules, checked at synth: for each field one value AWS accepts and one it
refuses, the refusal naming the field."""

from __future__ import annotations

import pytest

from talos_sandbox.config import parse_config
from talos_sandbox.errors import SandboxError

NODES = {"nodes": [{"name": "n1", "private_ip": "10.10.0.10"}]}


def config_with(section: str, key: str | None, value: object):
    document = {**NODES, section: {key: value} if key else value}
    return parse_config(document)


def rejected(section: str, key: str | None, value: object) -> str:
    with pytest.raises(SandboxError) as raised:
        config_with(section, key, value)
    return str(raised.value)


# (section, key, accepted, refused, what the message says)
CASES = [
    ("network", "availability_zone", "eu-west-1b", "us-east-1a", "network.availability_zone: 'us-east-1a' is not an availability zone of eu-west-1"),
    ("network", "availability_zone", "eu-west-1-lhr-1a", "", "network.availability_zone: '' is not an availability zone"),
    ("tags", None, {"Team": "infra @ lab"}, {"Team": "a\nb"}, "tags: tag Team: the value must be at most 256"),
    ("tags", None, {"Équipe": "données"}, {"aws:owner": "me"}, "the aws: prefix is reserved"),
    ("tags", None, {"k" * 128: "v" * 256}, {"k" * 129: "v"}, "must be 1-128 letters"),
    ("tags", None, {f"k{i}": "v" for i in range(48)}, {f"k{i}": "v" for i in range(49)}, "49 tags: at most 48"),
    ("backend", "s3_bucket", "my-state.bucket-1", "My_Bucket", "backend.s3_bucket: 'My_Bucket' is not an S3 bucket name"),
    ("backend", "s3_bucket", "state-bucket", "a..b", "no two adjacent periods"),
    ("backend", "s3_bucket", "state-bucket", "192.0.2.10", "not formatted as an IP address"),
    ("backend", "s3_bucket", "state-bucket", "xn--state", "a prefix or suffix S3 reserves"),
    ("backend", "s3_key", "sandboxes/lab.tfstate", "", "backend.s3_key: '' is not an S3 object key"),
    ("backend", "s3_key", "lab.tfstate", "/lab.tfstate", "refuses a key that starts or ends with /"),
    ("backend", "s3_key", "lab.tfstate", "a" * 1025, "1-1024 bytes"),
    ("backend", "s3_region", "us-east-1", "eu-west", "backend.s3_region: 'eu-west' is not an AWS region"),
    ("backend", "dynamodb_table", "terraform-locks.v2", "ab", "backend.dynamodb_table: 'ab' is not a DynamoDB table name"),
    ("backend", "dynamodb_table", "terraform_locks", "locks;rm -rf", "is not a DynamoDB table name"),
    ("backend", "local_path", "state/lab.tfstate", "", "backend.local_path: '' is not a file path"),
    ("backend", "local_path", "lab.tfstate", "a\nb", r"'a\nb' is not a file path"),
]


@pytest.mark.parametrize("section, key, accepted, refused, message", CASES, ids=lambda v: v if isinstance(v, str) and len(v) < 30 else None)
def test_accepted_and_refused(section, key, accepted, refused, message):
    config_with(section, key, accepted)
    assert message in rejected(section, key, refused)


def test_zone_follows_the_configured_region():
    config = parse_config({**NODES, "region": "us-east-1", "network": {"availability_zone": "us-east-1c"}})
    assert config.availability_zone == "us-east-1c"
