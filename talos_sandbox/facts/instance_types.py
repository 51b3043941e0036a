"""The EC2 instance families the sandbox accepts, by architecture, and their sizes.

Nodes are all arm64 (Graviton) or all amd64 (x86_64): the architecture picks the Amazon
Linux AMI, the boot-to-talos asset and the Talos images. The lists name whole families;
sizes are checked by AWS at apply. Nested virtualization (KVM inside the instance, which
CozyStack's VMs need) is offered on C8i, M8i and R8i and their flex variants only (AWS
EC2 User Guide, "Use nested virtualization", February 2026); on Graviton only on metal.
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

# x86_64 families of the current generations (Intel i, AMD a), general purpose, compute
# and memory optimized, and the burstable t3/t3a.
X86_FAMILIES = frozenset(
    {
        "t3", "t3a",
        "m6i", "m6id", "m6a", "m7i", "m7i-flex", "m7a", "m8i", "m8i-flex", "m8a",
        "c6i", "c6id", "c6a", "c7i", "c7i-flex", "c7a", "c8i", "c8i-flex", "c8a",
        "r6i", "r6id", "r6a", "r7i", "r7a", "r7iz", "r8i", "r8i-flex", "r8a",
    }
)  # fmt: skip
NESTED_VIRTUALIZATION_FAMILIES = frozenset({"c8i", "c8i-flex", "m8i", "m8i-flex", "r8i", "r8i-flex"})

# Sizes like 2xlarge, metal or metal-24xl.
_INSTANCE_TYPE = re.compile(r"^(?P<family>[a-z][a-z0-9-]*)\.(?P<size>[a-z0-9]+(-[a-z0-9]+)?)$")


def instance_family(instance_type: str) -> str | None:
    """The family part of `t4g.medium` (`t4g`), or None when the text is no instance type."""
    match = _INSTANCE_TYPE.match(instance_type)
    return match.group("family") if match else None


def is_graviton(instance_type: str) -> bool:
    return instance_family(instance_type) in GRAVITON_FAMILIES


def architecture_of(instance_type: str) -> str | None:
    """`arm64` or `amd64` for an accepted type, None for any other text."""
    family = instance_family(instance_type)
    if family in GRAVITON_FAMILIES:
        return "arm64"
    if family in X86_FAMILIES:
        return "amd64"
    return None


def has_nested_virtualization(instance_type: str) -> bool:
    """KVM inside the instance: the documented families, or any metal size."""
    return instance_family(instance_type) in NESTED_VIRTUALIZATION_FAMILIES or ".metal" in instance_type


# --- size: vCPUs and memory -----------------------------------------------------------

# The burstable t4g, t3 and t3a share one size table; the other families scale by size.
_BURSTABLE = frozenset({"t4g", "t3", "t3a"})
_BURSTABLE_SIZES = {
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
    """vCPUs and memory of an accepted type, or None when the size is not known here."""
    match = _INSTANCE_TYPE.match(instance_type)
    if not match or architecture_of(instance_type) is None:
        return None
    family, size = match.group("family"), match.group("size")
    if family in _BURSTABLE:
        known = _BURSTABLE_SIZES.get(size)
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
