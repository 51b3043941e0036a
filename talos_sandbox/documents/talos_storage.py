"""The Talos volume documents that give every node one partition for LINSTOR, appended to
the node's own patch (`talos/<node>.yaml`), so they are in the node's first config apply
(CozyStack's single-disk how-to: "later changes have no effect").

Two layouts, one result. With `node_defaults.data_volume_gb` (the default) each node has
an EBS data volume, attached by Terraform as `/dev/sdf` after the instance runs; Talos
cannot see that name (it lives in the NVMe controller's vendor data, which only Amazon
Linux's udev rule reads), and NVMe numbering (`nvme1n1`) may change between boots (AWS EBS
User Guide, "Map Amazon EBS volumes to NVMe device names"). So the documents select the
disk by what is stable: not Talos' system disk, and an EBS disk by model (an instance
store NVMe disk reports another model). Without a data volume (null) and with CozyStack,
the root volume is split: EPHEMERAL gets a fixed size (the how-to's 70 of 470 GiB, scaled
to the root, at least 20 GiB, `grow: false`) and the LINSTOR partition the rest of the
system disk.

Either way the partition is a RawVolumeConfig (Talos v1.11+ in all three schemas): Talos
creates it once, labels it, never formats or mounts it, and finds it again by its label.
CozyStack's how-to uses a UserVolumeConfig instead, which Talos formats and mounts, so
its readers must unmount and wipe it from a debug pod before LINSTOR can use it; a raw
volume needs neither. Talos' own volumes (META, STATE, EPHEMERAL) stay on the system
disk: their default selector is the system disk, and the data disk's selector excludes it.

For the install phase (LINSTOR storage pools), on every node and in both layouts:
- the partition: Talos volume `r-linstor`, symlink `/dev/disk/by-partlabel/r-linstor`;
  its kernel path is `talosctl -n <ip> get volumestatus r-linstor -o jsonpath='{.spec.location}'`
  (e.g. /dev/nvme1n1p1 on a data volume, /dev/nvme0n1p5 on a split root);
- the pool: `linstor physical-storage create-device-pool zfs <node> <that path>
  --pool-name data --storage-pool data` per node, then `zpool set failmode=continue data`
  in each satellite (CozyStack's install guide and hack/e2e-post-install-prep.sh);
- the classes: `local` (default class, layerList "storage") and `replicated` (autoPlace
  3, layerList "drbd storage") on storage pool `data`, as CozyStack's install guide gives
  them.
"""

from __future__ import annotations

from ..config import NodeConfig, SandboxConfig
from .render import render

RAW_VOLUME = "linstor"
PARTITION_LABEL = f"r-{RAW_VOLUME}"
PARTITION_DEVICE = f"/dev/disk/by-partlabel/{PARTITION_LABEL}"
# What the install phase creates on it (CozyStack's names, its install guide).
LINSTOR_POOL = "data"
LOCAL_CLASS = "local"
REPLICATED_CLASS = "replicated"
# Copies the replicated class keeps (the guide's autoPlace; fewer on a smaller cluster).
REPLICAS = 3
# The data volume's device name in the EC2 attachment (the range AWS recommends for EBS
# data volumes on Linux is /dev/sd[f-p]).
DATA_VOLUME_DEVICE = "/dev/sdf"
# EBS volumes report this NVMe model; instance store disks report another.
EBS_MODEL = "Amazon Elastic Block Store"
DATA_DISK_SELECTOR = f'!system_disk && disk.model.startsWith("{EBS_MODEL}")'
SYSTEM_DISK_SELECTOR = "system_disk"
# The least a raw volume on the data disk asks for; it takes the whole disk (no maxSize).
DATA_VOLUME_MIN_GIB = 1


def storage_documents(config: SandboxConfig, node: NodeConfig) -> str:
    """The node's volume documents (YAML, documents separated by ---), or "" when it gets none."""
    layout = config.node_single_disk_layout(node)
    if config.data_volume_gb is None and layout is None:
        return ""
    return render(
        "talos-storage.yaml.j2",
        data_volume_gb=config.data_volume_gb,
        device=DATA_VOLUME_DEVICE,
        raw_volume=RAW_VOLUME,
        label=PARTITION_LABEL,
        data_selector=DATA_DISK_SELECTOR,
        system_selector=SYSTEM_DISK_SELECTOR,
        data_min_gib=DATA_VOLUME_MIN_GIB,
        root_volume_gb=config.node_root_volume_gb(node),
        layout=layout,
    )
