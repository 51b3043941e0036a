"""moto's server with three gaps of moto 5.2.5 filled, for the apply harness.

Each gap made terraform see drift or fail on a stack that real AWS accepts; the fixes
only make moto answer as AWS does, the synthesized stack is never changed:
- DescribeSubnets has no `ipv6-cidr-block-association.*` filters, which the provider
  polls after giving a subnet an IPv6 block (it fails with HTTP 500);
- DescribeSubnets reports a subnet's IPv6 block state as a nested structure, so the
  provider never sees "associated";
- a security-group rule that references another group loses its description;
- an instance without a public IP reports an empty public-IP association, which the
  provider reads as `associate_public_ip_address = true` (and would replace it);
- an instance whose security groups were given on its primary network interface (as
  the provider sends them with associate_public_ip_address) lists no groups;
- an instance launched with secondary private IPs on its primary interface (as the
  provider sends `secondary_private_ips`) gets only the primary one;
- the tags of a launch template itself leak into its launch data as a
  `launch-template` tag specification, which the provider would try to remove.

Run as `python tests/moto_with_fixes.py -H 127.0.0.1 -p PORT`.
"""

import hashlib
import sys
from pathlib import Path

from moto.ec2.models.amis import Ami, AmiBackend
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ec2.models.instances import Instance
from moto.ec2.models.launch_templates import LaunchTemplateBackend
from moto.ec2.models.security_groups import SecurityGroupRule
from moto.ec2.models.subnets import Subnet
from moto.server import main

_subnet_filter_value = Subnet.get_filter_value

_IPV6_ASSOCIATION_FILTERS = {
    "ipv6-cidr-block-association.association-id": "associationId",
    "ipv6-cidr-block-association.ipv6-cidr-block": "ipv6CidrBlock",
}


def _get_filter_value(self, filter_name, method_name=None):
    if filter_name in _IPV6_ASSOCIATION_FILTERS:
        key = _IPV6_ASSOCIATION_FILTERS[filter_name]
        return [str(association[key]) for association in self.ipv6_cidr_block_associations.values()]
    if filter_name == "ipv6-cidr-block-association.state":
        return ["associated"] if self.ipv6_cidr_block_associations else []
    return _subnet_filter_value(self, filter_name)


def _ipv6_cidr_block_association_set(self):
    return [
        {
            "ipv6CidrBlock": association["ipv6CidrBlock"],
            "associationId": association["associationId"],
            "ipv6CidrBlockState": {"state": association["ipv6CidrBlockState"]["State"]},
        }
        for association in self.ipv6_cidr_block_associations.values()
        if association["ipv6CidrBlockState"]["State"] == "associated"
    ]


def _description(self):
    return self.ip_range.get("Description") or (self.source_group or {}).get("Description")


_association = NetworkInterface.association
_create_launch_template = LaunchTemplateBackend.create_launch_template


def _association_if_public(self):
    return _association.fget(self) if self.public_ip else None


def _create_launch_template_without_own_tags(self, name, description, template_data, tag_spec):
    template_data["TagSpecifications"] = [
        spec for spec in template_data.get("TagSpecifications", []) if spec.get("ResourceType") != "launch-template"
    ]
    return _create_launch_template(self, name, description, template_data, tag_spec)


_instance_init = Instance.__init__


def _instance_init_with_interface_groups(self, *args, **kwargs):
    _instance_init(self, *args, **kwargs)
    primary = self.nics.get(0)
    if not self.security_groups and primary is not None:
        self.security_groups = list(primary._group_set)


_prep_nics = Instance.prep_nics


def _prep_nics_with_secondary_ips(self, nic_spec, *args, **kwargs):
    _prep_nics(self, nic_spec, *args, **kwargs)
    for nic in nic_spec:
        if int(nic.get("DeviceIndex", 0)) != 0 or nic.get("NetworkInterfaceId"):
            continue
        interface = self.nics[0]
        held = {entry["PrivateIpAddress"] for entry in interface.private_ip_addresses}
        for address in nic.get("PrivateIpAddresses", []):
            primary = str(address.get("Primary")).lower() == "true"
            if not primary and address["PrivateIpAddress"] not in held:
                interface.private_ip_addresses.append({"Primary": False, "PrivateIpAddress": address["PrivateIpAddress"]})


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from talos_sandbox.facts.architectures import ARCHITECTURES  # noqa: E402  (facts only; no provider bindings)
from talos_sandbox.facts.releases import TALOS_RELEASES  # noqa: E402
from talos_sandbox.facts.talos_amis import SIDERO_LABS_AMI_OWNER, official_talos_ami_name  # noqa: E402

_load_amis = AmiBackend._load_amis


def _load_amis_with_official_talos(self):
    """Sidero Labs' official Talos AMIs, one per release of the matrix and architecture."""
    _load_amis(self)
    for release in TALOS_RELEASES:
        for arch in ARCHITECTURES.values():
            name = official_talos_ami_name(release, self.region_name, arch.name)
            ami_id = "ami-" + hashlib.sha256(name.encode()).hexdigest()[:17]  # stable, like a real 17-digit id
            self.amis[ami_id] = Ami(
                self,
                ami_id,
                name=name,
                owner_id=SIDERO_LABS_AMI_OWNER,
                public=True,
                virtualization_type="hvm",
                architecture=arch.ec2_name,
                root_device_type="ebs",
                root_device_name="/dev/xvda",
                region_name=self.region_name,
            )


AmiBackend._load_amis = _load_amis_with_official_talos
NetworkInterface.association = property(_association_if_public)
Instance.prep_nics = _prep_nics_with_secondary_ips
Instance.__init__ = _instance_init_with_interface_groups
LaunchTemplateBackend.create_launch_template = _create_launch_template_without_own_tags
Subnet.get_filter_value = _get_filter_value
Subnet.ipv6_cidr_block_association_set = property(_ipv6_cidr_block_association_set)
SecurityGroupRule.description = property(_description)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
