from ....config import SandboxConfig
from .. import Rule


def check(config: SandboxConfig):
    for role, image in config.role_images.items():
        if "@sha256:" not in image:
            yield f"talos.images.{role}", f"{image} is a tag"


RULE = Rule(
    rule_id="TSL003",
    title="Talos image not pinned by digest",
    reason="A tag can move, so the node may install another image than the one checked; and boot-to-talos "
    "pulls without a platform, so on Graviton a multi-arch tag resolves to the amd64 image, which does not boot.",
    source="cozystack/boot-to-talos: README.md and its image pull (no platform)",
    fix="Pin the image by digest: <image>@sha256:<digest of the manifest for the nodes' architecture> "
    "(e.g. `crane digest --platform linux/<arch> <image>`).",
    check=check,
)
