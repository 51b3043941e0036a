from ....config import SandboxConfig
from ....facts.instance_types import NESTED_VIRTUALIZATION_FAMILIES, instance_family
from .. import Rule, nodes_by_type_field


def check(config: SandboxConfig):
    for (field, instance_type), names in nodes_by_type_field(config).items():
        if ".metal" in instance_type:
            continue
        if instance_family(instance_type) in NESTED_VIRTUALIZATION_FAMILIES:
            yield field, (
                f"{instance_type} offers nested virtualization, but hashicorp/aws 5.100.0 cannot turn it on "
                f"({', '.join(names)})"
            )
        else:
            yield field, f"{instance_type} has no nested virtualization ({', '.join(names)})"


RULE = Rule(
    rule_id="TSL009",
    title="No KVM for CozyStack's virtual machines",
    reason="CozyStack runs tenant VMs and Kubernetes clusters with KubeVirt, which needs KVM. EC2 offers "
    "nested virtualization on C8i, M8i and R8i (and their flex variants) only, turned on per instance; "
    "Graviton has it only on *.metal. The provider this tool pins (hashicorp/aws 5.100.0) has no "
    "cpu_options.nested_virtualization (it arrived in 6.x). Without KVM, containers run and VMs do not.",
    source="AWS EC2 User Guide, 'Use nested virtualization' (February 2026); CozyStack docs, 'Hardware "
    "requirements'; hashicorp/terraform-provider-aws#46533",
    fix="Accept a containers-only sandbox (arm64), or use an amd64 type of those families (e.g. m8i.2xlarge) "
    "and turn it on after apply: stop the node, `aws ec2 modify-instance-cpu-options --instance-id <id> "
    "--nested-virtualization enabled`, start it (the setting stays with the instance); or a .metal size.",
    check=check,
)
