"""AWS's own rules for names the config passes through to AWS untouched: regions,
availability zones, tags, S3 buckets and keys, DynamoDB tables. Checked at synth, so a
bad value fails here with the field named instead of at `terraform apply`.

Sources: AWS General Reference "Regions and Zones"; Tagging AWS Resources, "Tag naming
limits and requirements"; Amazon S3 User Guide, "General purpose bucket naming rules"
and "Naming Amazon S3 objects"; Amazon DynamoDB Developer Guide, "Naming rules";
Terraform's S3 backend (a key must not start or end with `/` nor hold `//`).
"""

from __future__ import annotations

import ipaddress
import re

from pydantic_core import PydanticCustomError

_REGION = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-\d")
# A zone is its region plus a letter; a Local Zone adds a location (us-west-2-lax-1a).
_ZONE_SUFFIX = re.compile(r"[a-z]|-[a-z]+-\d+[a-z]")

TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
# 50 tags per resource; the stack adds Sandbox (its default tags) and Name to every one.
STACK_TAG_KEYS = frozenset({"Sandbox", "Name"})
USER_TAGS_MAX = 50 - len(STACK_TAG_KEYS)
# Letters, digits and spaces in any script, and _ . : / = + - @ (no tabs, no newlines).
_TAG_TEXT = re.compile(r"[\w .:/=+\-@]*")
_RESERVED_TAG_PREFIX = "aws:"

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
S3_KEY_MAX_BYTES = 1024
_DYNAMODB_TABLE = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def value_error(kind: str, message: str, value: str) -> PydanticCustomError:
    # Control characters shown escaped, so a stray newline cannot break the error's layout.
    return PydanticCustomError(kind, message, {"value": _CONTROL.sub(lambda c: c.group().encode("unicode_escape").decode(), value)})


def has_control_characters(value: str) -> bool:
    return _CONTROL.search(value) is not None


def region(value: str) -> str:
    if not _REGION.fullmatch(value):
        raise value_error("region", "'{value}' is not an AWS region like eu-west-1", value)
    return value


def zone_problem(zone: str, region_name: str) -> str | None:
    """Why `zone` is not an availability zone of `region_name`, or None when it is one."""
    if not zone.startswith(region_name) or not _ZONE_SUFFIX.fullmatch(zone[len(region_name):]):
        return f"{zone!r} is not an availability zone of {region_name} (like {region_name}a)"
    return None


def tags(value: dict[str, str]) -> dict[str, str]:
    count = len(value.keys() - STACK_TAG_KEYS)
    if count > USER_TAGS_MAX:
        raise PydanticCustomError(
            "tags", "{count} tags: at most {limit} (AWS allows 50 per resource; the stack adds Sandbox and Name)",
            {"count": count, "limit": USER_TAGS_MAX},
        )
    for key, text in value.items():
        if not 1 <= len(key) <= TAG_KEY_MAX or not _TAG_TEXT.fullmatch(key):
            raise value_error(
                "tag_key",
                "tag key '{value}' must be 1-128 letters, digits, spaces or _ . : / = + - @",
                key,
            )
        if key.lower().startswith(_RESERVED_TAG_PREFIX):
            raise value_error("tag_key", "tag key '{value}': the aws: prefix is reserved for AWS", key)
        if len(text) > TAG_VALUE_MAX or not _TAG_TEXT.fullmatch(text):
            raise PydanticCustomError(
                "tag_value",
                "tag {key}: the value must be at most 256 letters, digits, spaces or _ . : / = + - @",
                {"key": key},
            )
    return value


def s3_bucket(value: str | None) -> str | None:
    if value is None:
        return value
    problem = None
    if not _BUCKET.fullmatch(value):
        problem = "3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit"
    elif ".." in value:
        problem = "no two adjacent periods"
    elif _is_ipv4(value):
        problem = "not formatted as an IP address"
    elif value.startswith(_BUCKET_RESERVED_PREFIXES) or value.endswith(_BUCKET_RESERVED_SUFFIXES):
        problem = "a prefix or suffix S3 reserves (xn--, sthree-, amzn-s3-demo-, -s3alias, --ol-s3, .mrap, --x-s3, --table-s3)"
    if problem:
        raise PydanticCustomError(
            "s3_bucket", "'{value}' is not an S3 bucket name: {problem}", {"value": value, "problem": problem}
        )
    return value


def s3_key(value: str | None) -> str | None:
    if value is None:
        return value
    if not value or len(value.encode()) > S3_KEY_MAX_BYTES or has_control_characters(value):
        raise value_error("s3_key", "'{value}' is not an S3 object key: 1-1024 bytes, no control characters", value)
    if value.startswith("/") or value.endswith("/") or "//" in value:
        raise value_error("s3_key", "'{value}': Terraform's S3 backend refuses a key that starts or ends with / or holds //", value)
    return value


def dynamodb_table(value: str | None) -> str | None:
    if value is not None and not _DYNAMODB_TABLE.fullmatch(value):
        raise value_error("dynamodb_table", "'{value}' is not a DynamoDB table name: 3-255 letters, digits, _ . -", value)
    return value


def _is_ipv4(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True
