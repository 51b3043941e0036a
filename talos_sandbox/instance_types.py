"""The arm64 (Graviton) EC2 instance families the sandbox accepts.

The Talos images are arm64 only, so an x86 type would boot Amazon Linux and then fail
to install Talos. The list names whole families; sizes are checked by AWS at apply.
"""

import re

GRAVITON_FAMILIES = frozenset(
    {
        "a1",
        "t4g",
        "m6g", "m6gd", "m7g", "m7gd", "m8g", "m8gd",
        "c6g", "c6gd", "c6gn", "c7g", "c7gd", "c7gn", "c8g", "c8gd",
        "r6g", "r6gd", "r7g", "r7gd", "r8g", "r8gd",
        "x2gd", "x8g",
        "im4gn", "is4gen", "i4g", "i8g",
        "g5g",
    }
)  # fmt: skip

_INSTANCE_TYPE = re.compile(r"^(?P<family>[a-z][a-z0-9-]*)\.(?P<size>[a-z0-9]+)$")


def instance_family(instance_type: str) -> str | None:
    """The family part of `t4g.medium` (`t4g`), or None when the text is no instance type."""
    match = _INSTANCE_TYPE.match(instance_type)
    return match.group("family") if match else None


def is_graviton(instance_type: str) -> bool:
    return instance_family(instance_type) in GRAVITON_FAMILIES
