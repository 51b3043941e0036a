from ....config import SandboxConfig
from .. import Rule


def check(config: SandboxConfig):
    for role, image in config.role_images.items():
        if "@sha256:" not in image:
            yield f"talos.images.{role}", f"{image} is a tag"


RULE = Rule(
    rule_id="TSL003",
    title="Talos image not pinned by digest",
    reason="boot-to-talos pulls the image without a platform: a tag can move, and a multi-arch tag "
    "resolves to the amd64 image, which does not boot on Graviton.",
    source="cozystack/boot-to-talos: README.md and its image pull (no platform)",
    fix="Pin the arm64 image by digest: <image>@sha256:<digest of the arm64 manifest>.",
    check=check,
)
