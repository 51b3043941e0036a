from ....config import SandboxConfig
from ....documents.cluster_plan import installs_cozystack
from ....documents.cozystack import chart_version
from ....facts.releases import COZY_INSTALLER_CHART
from .. import Rule


def check(config: SandboxConfig):
    if installs_cozystack(config) and not config.cozystack_chart_sha256:
        yield "cozystack.chart_sha256", (
            f"unset, and the release matrix records no sha256 for {COZY_INSTALLER_CHART} {chart_version(config)}: "
            "the bastion brings the cluster up and installs no CozyStack"
        )


RULE = Rule(
    rule_id="TSL017",
    title="CozyStack's installer chart is not pinned by sha256",
    reason="The bastion installs only what it has checked against a pinned digest. CozyStack publishes the "
    "cozy-installer chart on ghcr.io with no checksum anywhere (release assets, docs, workflows), and helm "
    "packages it with the build's timestamps, so no digest can be derived from the source either.",
    source="cozystack/cozystack v1.3.5-v1.6.2: hack/upload-assets.sh, Makefile; helm v3.18.4 pkg/chartutil/save.go (tar headers stamped time.Now())",
    fix="On a machine you trust: `helm pull oci://ghcr.io/cozystack/cozystack/cozy-installer --version "
    "<version>` and `sha256sum cozy-installer-<version>.tgz`; set cozystack.chart_sha256 to it (the bastion is "
    "replaced on the next apply and installs CozyStack). Until then next-steps gives the install from your machine.",
    check=check,
)
