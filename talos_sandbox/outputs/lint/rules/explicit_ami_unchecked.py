from ....config import SandboxConfig
from .. import Rule


def check(config: SandboxConfig):
    talos = config.talos
    if talos.install_method == "talos-ami" and talos.ami_id is not None:
        yield (
            "talos.ami_id",
            f"{talos.ami_id} is used as given: we cannot tell whether it exists in {config.region}, "
            "is arm64, or which Talos it boots",
        )


RULE = Rule(
    rule_id="TSL010",
    title="explicit AMI id that the generator cannot check",
    reason="AMI ids are per region: the same Talos release has a different id in every region, and an id "
    "copied from another region, or an amd64 image, fails only at apply (or boots the wrong system).",
    source="siderolabs/talos: hack/cloud-image-uploader/aws.go (one AMI per release, region and "
    "architecture; ids listed in the release's cloud-images.json)",
    fix="Leave talos.ami_id unset: the stack then finds the official arm64 AMI for talos.version in the "
    "sandbox's region by Sidero Labs' owner id and name. Or take the id for this region and arch arm64 "
    "from the release's cloud-images.json.",
    check=check,
)
