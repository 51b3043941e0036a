from ....config import SandboxConfig
from ....facts.cozystack_requirements import MIN_DATA_DISK_GB
from .. import Rule


def check(config: SandboxConfig):
    if not config.cozystack.enabled:
        return
    size = config.data_volume_gb
    if size is None:
        smallest = min(layout.linstor_gib for node in config.nodes if (layout := config.node_single_disk_layout(node)))
        if smallest < MIN_DATA_DISK_GB:
            yield "node_defaults.data_volume_gb", (
                f"null: LINSTOR gets what the single-disk layout leaves of the root, at least {smallest} GiB on "
                f"the smallest node, below {MIN_DATA_DISK_GB} GB"
            )
    elif size < MIN_DATA_DISK_GB:
        yield "node_defaults.data_volume_gb", f"{size} GB per node, below {MIN_DATA_DISK_GB} GB"


RULE = Rule(
    rule_id="TSL016",
    title="LINSTOR storage below CozyStack's documented minimum",
    reason=f"CozyStack's minimal hardware profile gives each node a raw {MIN_DATA_DISK_GB} GB secondary disk for "
    "LINSTOR, which holds tenants' volumes and VM disks (replicated ones take that space on three nodes). "
    "Smaller works for a demo, and fills up quickly.",
    source="CozyStack docs, 'Hardware requirements' (Minimal: secondary disk 256 GB SSD)",
    fix=f"Set node_defaults.data_volume_gb to {MIN_DATA_DISK_GB} (gp3 is billed per GB-month, stopped or not: "
    "see `cost`), as the CozyStack-ready examples do.",
    check=check,
)
