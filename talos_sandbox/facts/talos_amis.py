"""The official Talos AMIs.

Published by Sidero Labs' account (siderolabs/contrib: examples/terraform/aws/main.tf,
`owners = ["540036508848"] # Sidero Labs`), one per release, region and architecture,
named talos-<release>-<region>-<arch>, with a 20 GiB root snapshot (siderolabs/talos:
hack/cloud-image-uploader/aws.go); EC2 cannot launch them on a smaller root volume.
"""

SIDERO_LABS_AMI_OWNER = "540036508848"
TALOS_AMI_SNAPSHOT_GB = 20


def official_talos_ami_name(release: str, region: str, arch: str) -> str:
    """`arch` is arm64 or amd64, as in the AMI names."""
    return f"talos-{release}-{region}-{arch}"
