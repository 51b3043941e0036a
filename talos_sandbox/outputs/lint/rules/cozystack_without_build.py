from ....config import SandboxConfig
from .. import Rule


def check(config: SandboxConfig):
    release = config.cozystack_release
    if config.cozystack.enabled and release is not None and config.cozystack_build is None:
        yield "cozystack.version", (
            f"CozyStack {release.version} has no {config.architecture} build (builds: {', '.join(sorted(release.builds))})"
        )


RULE = Rule(
    rule_id="TSL014",
    title="CozyStack on an architecture it has no build for",
    reason="CozyStack's published images are amd64 only (cozystack/cozystack#903 is open); on arm64 nodes "
    "its operator and packages would pull amd64 images that cannot run. Only the design owners' arm64 "
    "builds exist for arm64, for the releases the matrix lists.",
    source="cozystack/cozystack#903, #1961; urmanac/cozystack-moon-and-back release notes",
    fix="On arm64 use a cozystack.version with an arm64 build (v1.5.1), or move the nodes to amd64 types, "
    "or set cozystack.enabled: false.",
    check=check,
    severity="error",
)
