from ....config import SandboxConfig
from .. import Rule, image_repository

# Repositories whose images boot-to-talos would fetch as amd64 on Graviton.
AMD64_ONLY = {
    "ghcr.io/cozystack/cozystack/talos": "published for amd64 only",
    "ghcr.io/siderolabs/installer": "multi-arch, and a pull without platform resolves to amd64 unless pinned by digest",
}
# The design's image names, which were never published.
NEVER_PUBLISHED = ("talos-arm64-gateway", "talos-arm64-compute")


def check(config: SandboxConfig):
    if config.architecture != "arm64":
        return  # amd64 nodes run amd64 images
    for role, image in config.role_images.items():
        repository = image_repository(image)
        pinned_multi_arch = "@sha256:" in image and repository == "ghcr.io/siderolabs/installer"
        if repository in AMD64_ONLY and not pinned_multi_arch:
            yield f"talos.images.{role}", f"{repository} is {AMD64_ONLY[repository]}"
        if any(name in repository for name in NEVER_PUBLISHED):
            yield f"talos.images.{role}", f"{repository} was never published (the design's placeholder name)"


RULE = Rule(
    rule_id="TSL004",
    title="Talos image that is not an arm64 image, on arm64 nodes",
    reason="Graviton runs arm64 only; an amd64 installer fails after the instance has already been wiped.",
    source="cozystack/boot-to-talos: image pull without platform; ghcr.io package pages of the images",
    fix="Leave talos.images unset on arm64: the release matrix then uses the design owners' arm64 builds, "
    "pinned by digest (ghcr.io/urmanac/cozystack-assets/talos/cozystack-spin-tailscale/talos for gateways, "
    ".../cozystack-spin-only/talos for compute), or move the nodes to amd64 types.",
    check=check,
    severity="error",
)
