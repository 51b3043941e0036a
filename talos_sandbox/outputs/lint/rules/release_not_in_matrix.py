from ....config import SandboxConfig, image_tag
from ....facts.releases import COZYSTACK_RELEASES, TALOS_RELEASES
from .. import Rule


def check(config: SandboxConfig):
    build = config.cozystack_build
    if config.cozystack_release is None:
        yield "cozystack.version", (
            f"{config.cozystack.version} is not in the release matrix (known: {', '.join(COZYSTACK_RELEASES)})"
        )
    elif build is not None and config.talos_version != build.talos:
        yield "talos.version", (
            f"Talos {config.talos_version}, but CozyStack {config.cozystack.version}'s {config.architecture} "
            f"build carries {build.talos}"
        )
    if config.talos.install_method == "boot-to-talos":  # talos-ami: TSL011 says it for the upgrade
        for role, image in config.role_images.items():
            tag = image_tag(image)
            if tag is not None and tag != config.talos_version:
                yield "talos.version", (
                    f"Talos {config.talos_version} (documents, talosctl), but talos.images.{role} is tagged {tag}"
                )
    if config.talos_release is None:
        yield "talos.version", (
            f"Talos {config.talos_version} is not in the release matrix (known: {', '.join(TALOS_RELEASES)}): "
            "no pinned talosctl or kubectl for it"
        )


RULE = Rule(
    rule_id="TSL013",
    title="A release combination the release matrix does not know",
    reason="The matrix pins what is known to go together: the Talos release CozyStack's images carry, the "
    "talosctl of that minor (a newer one writes documents an older node rejects), kubectl, and the "
    "install. Outside it the tool cannot say the pieces fit, nor pin their downloads.",
    source="talos_sandbox/facts/releases.py (each entry with its source); siderolabs/talos#12541",
    fix="Leave talos.version and talos.images unset and pick a cozystack.version from the matrix "
    "(README, 'Releases'), or add the release to the matrix with its sources.",
    check=check,
)
