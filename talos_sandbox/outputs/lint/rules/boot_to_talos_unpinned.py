from ....config import SandboxConfig
from ....facts.architectures import ARCHITECTURES
from .. import Rule


def check(config: SandboxConfig):
    # The talos-ami method downloads no boot-to-talos.
    if config.talos.install_method == "boot-to-talos" and config.talos.boot_to_talos_sha256 is None:
        asset = ARCHITECTURES[config.architecture].boot_to_talos_asset
        yield "talos.boot_to_talos_sha256", f"not set: {asset} is checked only against the release's own checksums"


RULE = Rule(
    rule_id="TSL008",
    title="boot-to-talos download not pinned to a checksum",
    reason="The asset and its checksums file come from the same release; a replaced release passes "
    "its own checksum. A pin in config is checked first.",
    source="cozystack/boot-to-talos releases: boot-to-talos-checksums.txt",
    fix="Copy the sha256 of boot-to-talos-linux-<arch>.tar.gz (the nodes' architecture) from the release's "
    "checksums file into talos.boot_to_talos_sha256.",
    check=check,
)
