from ....config import SandboxConfig, image_tag
from .. import Rule


def check(config: SandboxConfig):
    talos = config.talos
    if talos.install_method != "talos-ami" or talos.ami_id is not None:
        return  # boot-to-talos boots no Talos AMI; an explicit AMI's release is unknown (TSL010)
    for role, image in config.role_images.items():
        tag = image_tag(image)
        if tag is not None and tag != config.talos_version:
            yield "talos.version", f"the AMI boots Talos {config.talos_version}, talos.images.{role} is {tag}"


RULE = Rule(
    rule_id="TSL011",
    title="Talos AMI release differs from the role images' release",
    reason="The runbook's `talosctl upgrade` moves each node from the AMI's release to its image's. Talos "
    "tests upgrades only between adjacent minor releases, a move to an older release is a downgrade, and "
    "talosctl should match the release it talks to.",
    source="siderolabs/talos: website/content/v1.11/talos-guides/upgrading-talos.md (supported upgrade paths)",
    fix="Leave talos.version unset (it then follows the images' tag, or the release matrix) or set it to the images' tag.",
    check=check,
)
