"""Which releases go together: Talos, CozyStack and the installer images.

CozyStack v0.38.0 to v0.41.x ship Talos v1.11 (cozystack/cozystack:
packages/core/talos/images/talos/profiles/installer.yaml at each tag); v1.0 and later
ship Talos v1.12 and install through an operator instead of cozystack-installer.yaml.
"""

# [oldest, first unfit) CozyStack releases, as (major, minor, patch), that ship Talos v1.11.
COZYSTACK_FOR_TALOS_1_11 = ((0, 38, 0), (1, 0, 0))
# The design owners' arm64 Talos installer images (urmanac/cozystack-moon-and-back).
DEFAULT_IMAGE_BASE = "ghcr.io/urmanac/cozystack-assets/talos"
