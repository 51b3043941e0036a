"""The arm64 (Graviton) EC2 instance families the sandbox accepts.

The Talos images are arm64 only, so an x86 type would boot Amazon Linux and then fail
to install Talos. The list names whole families; sizes are checked by AWS at apply.
"""

import re
from dataclasses import dataclass

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


# --- size: vCPUs and memory -----------------------------------------------------------

# t4g is burstable with its own table; the other families scale by size.
_T4G = {
    "nano": (2, 0.5), "micro": (2, 1), "small": (2, 2), "medium": (2, 4),
    "large": (2, 8), "xlarge": (4, 16), "2xlarge": (8, 32),
}  # fmt: skip
# GiB of memory per vCPU, by family.
_GIB_PER_VCPU = {
    "a1": 2, "g5g": 2, "im4gn": 4, "is4gen": 6, "i4g": 8, "i8g": 8, "x2gd": 16, "x8g": 16,
}  # fmt: skip
_GIB_PER_VCPU_BY_CLASS = {"m": 4, "c": 2, "r": 8}
_METAL_VCPUS = 64


@dataclass(frozen=True)
class InstanceSize:
    vcpus: int
    memory_gib: float


def instance_size(instance_type: str) -> InstanceSize | None:
    """vCPUs and memory of an accepted arm64 type, or None when the size is not known here."""
    match = _INSTANCE_TYPE.match(instance_type)
    if not match or match.group("family") not in GRAVITON_FAMILIES:
        return None
    family, size = match.group("family"), match.group("size")
    if family == "t4g":
        known = _T4G.get(size)
        return InstanceSize(*known) if known else None
    per_vcpu = _GIB_PER_VCPU.get(family) or _GIB_PER_VCPU_BY_CLASS.get(family[0])
    vcpus = _vcpus(size)
    if per_vcpu is None or vcpus is None:
        return None
    return InstanceSize(vcpus, vcpus * per_vcpu)


def _vcpus(size: str) -> int | None:
    if size == "medium":
        return 1
    if size == "large":
        return 2
    if size == "xlarge":
        return 4
    if size.startswith("metal"):
        return _METAL_VCPUS
    multiple = re.fullmatch(r"(\d+)xlarge", size)
    return 4 * int(multiple.group(1)) if multiple else None
