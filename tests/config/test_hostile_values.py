"""Every field of the full default config, set in turn to a hostile string: each gives a
clean error naming its field, except where AWS itself accepts the value."""

from __future__ import annotations

import json
from collections.abc import Iterator

from talos_sandbox.config import default_config, parse_config
from talos_sandbox.errors import SandboxError

HOSTILE = {"empty": "", "newline": "\n", "long": "x" * 5000, "shell": "$(touch /tmp/pwned); `id`", "non-ascii": "é"}
# Optional fields the default leaves unset, set here too.
UNSET_FIELDS = [
    ("tags", "Owner"), ("network", "availability_zone"), ("network", "existing_vpc_id"), ("talos", "ami_id"),
    ("cozystack", "root_host"), ("backend", "s3_bucket"), ("backend", "s3_key"), ("backend", "s3_region"),
    ("backend", "dynamodb_table"), ("bastion", "wireguard", "peer_endpoint"),
]  # fmt: skip
# What AWS accepts too: a tag value may be empty or in any script; an S3 key or a local
# path may hold any character but control characters (they reach no shell).
ACCEPTED = {
    ("tags.Demo", "empty"), ("tags.Demo", "non-ascii"), ("tags.Owner", "empty"), ("tags.Owner", "non-ascii"),
    ("backend.s3_key", "shell"), ("backend.s3_key", "non-ascii"),
    ("backend.local_path", "shell"), ("backend.local_path", "non-ascii"),
}  # fmt: skip


def leaves(document: object, path: tuple = ()) -> Iterator[tuple]:
    if isinstance(document, dict):
        for key, value in document.items():
            yield from leaves(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from leaves(value, (*path, index))
    else:
        yield path


def with_value(document: dict, path: tuple, value: str) -> dict:
    copy = json.loads(json.dumps(document))
    here = copy
    for part in path[:-1]:
        here = here[part]
    here[path[-1]] = value
    return copy


def test_hostile_strings_are_refused_by_name_or_known_to_be_fine():
    default = default_config().model_dump(mode="json")
    accepted, unclear = set(), []
    for path in [*leaves(default), *UNSET_FIELDS]:
        field = ".".join(str(part) for part in path)
        for name, value in HOSTILE.items():
            try:
                parse_config(with_value(default, path, value))
            except SandboxError as error:
                top = str(path[0])
                if top not in str(error):
                    unclear.append((field, name, str(error)))
            else:
                accepted.add((field, name))
    assert accepted == ACCEPTED
    assert not unclear, unclear
