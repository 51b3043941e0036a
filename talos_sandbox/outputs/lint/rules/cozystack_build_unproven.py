from ....config import SandboxConfig
from .. import Rule


def check(config: SandboxConfig):
    build = config.cozystack_build
    # Any node left on the build's image (an explicit image for one role leaves the other's).
    defaults = build is not None and any(image == build.images[role] for role, image in config.role_images.items())
    if defaults and build.caveat:
        yield "cozystack.version", f"{config.architecture} images of CozyStack {config.cozystack.version}: {build.caveat}"


RULE = Rule(
    rule_id="TSL015",
    title="Default images not yet proven on EC2",
    reason="The release matrix's images for this architecture come from a third-party build that has not "
    "run on EC2; a node that cannot boot them stays on its install attempt.",
    source="urmanac/cozystack-moon-and-back: docs/SAGE-19-V1.5.1-1.13.5-3-RELEASE.md",
    fix="Watch the first node's serial console through its first boot; or use amd64 nodes with CozyStack's "
    "own images.",
    check=check,
)
