from ....config import SandboxConfig
from .. import Rule, nodes_by_type_field


def check(config: SandboxConfig):
    for (field, instance_type), names in nodes_by_type_field(config).items():
        if ".metal" not in instance_type:
            yield field, f"{instance_type} is virtualized ({', '.join(names)})"


RULE = Rule(
    rule_id="TSL009",
    title="No KVM for CozyStack's virtual machines",
    reason="CozyStack runs tenant VMs with KubeVirt, which needs KVM; Graviton instances other than "
    "*.metal offer no nested virtualization, so VM workloads will not start (containers will).",
    source="CozyStack docs, 'Hardware requirements' (virtualization); AWS EC2 docs (nested virtualization)",
    fix="Accept a containers-only demo, or use a .metal size (e.g. m7g.metal) for nodes that must run VMs.",
    check=check,
)
