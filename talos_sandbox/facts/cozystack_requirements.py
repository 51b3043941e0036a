"""What CozyStack documents a node needs, and its single-disk storage layout.

Sources (cozystack/website at aa0d9e1, the same text in docs/v0, v1.5 and v1.6):
- install/_include/hardware-config-tabs.md and install/hardware-requirements.md, the
  "Minimal" profile: 3 x86_64 hosts of 8 cores and 24 GB RAM, a 50 GB primary disk (Talos,
  system pods, logs, images, etcd) and a 256 GB raw secondary disk for LINSTOR; VMs need
  nested virtualization and CPU model `host`;
- install/how-to/single-disk.md: one disk split with a VolumeConfig for EPHEMERAL
  (minSize 70GiB) and a UserVolumeConfig for LINSTOR (minSize 400GiB), which must be in
  the node's first config apply ("later changes have no effect").
"""

MIN_VCPUS = 8
MIN_MEMORY_GIB = 24
MIN_PRIMARY_DISK_GB = 50
MIN_DATA_DISK_GB = 256
# The single-disk how-to's split of one disk: EPHEMERAL and the LINSTOR partition.
SINGLE_DISK_EPHEMERAL_GIB = 70
SINGLE_DISK_DATA_GIB = 400
# Talos' own partitions on its system disk, rounded up: EFI (UKI layout, up to 2,101 MiB),
# META 1 MiB, STATE 100 MiB and GPT overhead 10 MiB (siderolabs/talos v1.13.9:
# pkg/machinery/imager/quirks/partitions.go, pkg/cluster/check/nodes.go).
TALOS_SYSTEM_PARTITIONS_GIB = 3
# The unit's CozyStack phase counts the install done only with at least this many
# HelmReleases, all Ready (the e2e's "more than 10").
MIN_HELMRELEASES = 11
