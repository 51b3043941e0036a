from ....config import SandboxConfig
from ....facts.cozystack_requirements import MIN_MEMORY_GIB, MIN_VCPUS
from ....facts.instance_types import instance_size
from .. import Rule, nodes_by_type_field

# The cheapest types per architecture that meet the minimum (8 vCPU / 32 GiB); amd64's
# also has nested virtualization, which CozyStack's VMs need.
SUGGESTED = {"arm64": "m7g.2xlarge", "amd64": "m8i.2xlarge"}


def check(config: SandboxConfig):
    for (field, instance_type), names in nodes_by_type_field(config).items():
        size = instance_size(instance_type)
        if size is not None and (size.vcpus < MIN_VCPUS or size.memory_gib < MIN_MEMORY_GIB):
            yield field, (
                f"{instance_type} has {size.vcpus} vCPU / {size.memory_gib:g} GiB ({', '.join(names)}); "
                f"e.g. {SUGGESTED[config.architecture]} meets it"
            )


RULE = Rule(
    rule_id="TSL002",
    title="Node smaller than CozyStack's documented minimum",
    reason=f"CozyStack documents at least {MIN_VCPUS} cores and {MIN_MEMORY_GIB} GB of memory per node. "
    "The design counts t4g.medium as 4 vCPU / 8 GB; it is 2 vCPU / 4 GiB.",
    source="CozyStack docs, 'Hardware requirements'; AWS EC2 instance types (T4g)",
    fix="Set node_defaults.instance_type to a type of at least 8 vCPU / 24 GiB: m7g.2xlarge on arm64 "
    "(8 vCPU / 32 GiB), m8i.2xlarge on amd64 (8 vCPU / 32 GiB, with nested virtualization for VMs).",
    check=check,
)
