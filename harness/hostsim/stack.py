"""What the host simulation takes from a synthesized stack: scripts, addresses, routes,
the SSM parameters and KMS keys the account starts with, and the roles' IAM policies.

Everything is read from `cdk.tf.json` as synthesized, so the simulation runs exactly
what Terraform would hand to EC2 (the bastion's user-data is the launch template's,
base64-decoded and, when it is gzip, decompressed as cloud-init does; each node's is
its instance's). Terraform's references in policies and ARNs are resolved to the
simulated account (ACCOUNT_ID, partition `aws`) and the ids the simulation gives the
stack's resources (KMS keys, the caches' volume); one it cannot resolve stays as
written, so it matches nothing and IAM denies.
"""

from __future__ import annotations

import base64
import gzip
import ipaddress
import json
import re
import uuid
from dataclasses import dataclass, field

_REFERENCE = re.compile(r"\$\{([a-z0-9_]+)\.([^.}]+)\.[a-z_]+\}")
_TOKEN = re.compile(r"\$\{(data\.)?([a-z0-9_]+)\.([^.}]+)\.([a-z_]+)\}")
ACCOUNT_ID = "123456789012"
PARTITION = "aws"
REGISTRY_VOLUME_ID = "vol-0123456789abcdef0"


def _target(reference: str) -> tuple[str, str]:
    match = _REFERENCE.fullmatch(reference)
    if not match:
        raise ValueError(f"not a resource reference: {reference}")
    return match.group(1), match.group(2)


@dataclass(frozen=True)
class Route:
    destination: str
    target: str
    """`eni` (the bastion's interface), `igw` or `endpoint` (the S3 gateway endpoint's prefix list)."""


@dataclass(frozen=True)
class SynthesizedStack:
    region: str
    vpc_cidr: ipaddress.IPv4Network
    bastion_ip: ipaddress.IPv4Address
    bastion_subnet: ipaddress.IPv4Network
    bastion_user_data: str
    elastic_ip: bool
    node_user_data: dict[ipaddress.IPv4Address, str]
    node_subnet: ipaddress.IPv4Network
    route_tables: dict[ipaddress.IPv4Network, tuple[Route, ...]]
    """Each subnet's routes (besides `local`), as its associated route table has them."""
    bastion_admits_icmp_from_internet: bool
    availability_zone: str
    """The bastion subnet's zone: where its instances and the registry caches' volume live."""
    registry_volume: str | None
    """The registry caches' EBS volume's Name tag; None without caches."""
    parameters: dict[str, dict] = field(default_factory=dict)
    """SSM parameters Terraform creates, by name: value (value_wo's placeholder for the
    write-only ones), type, tier, key (the KMS key's ARN, None for String)."""
    kms_keys: dict[str, str] = field(default_factory=dict)
    """KMS key ARN -> its key id; aliases in kms_aliases."""
    kms_aliases: dict[str, str] = field(default_factory=dict)
    roles: dict[str, dict] = field(default_factory=dict)
    """Role name -> {"statements": inline policies' statements, resolved; "managed": AWS managed policy names}."""
    bastion_role: str = ""
    node_role: str = ""
    bastion_tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, stack: dict) -> SynthesizedStack:
        resources = stack["resource"]
        subnets = {name: ipaddress.IPv4Network(s["cidr_block"]) for name, s in resources["aws_subnet"].items()}
        [eni] = resources["aws_network_interface"].values()
        [template] = resources["aws_launch_template"].values()
        [vpc] = resources.get("aws_vpc", {}).values() or [{"cidr_block": None}]
        instances = resources["aws_instance"].values()
        [node_subnet] = {subnets[_target(i["subnet_id"])[1]] for i in instances}

        table_subnets: dict[str, list[ipaddress.IPv4Network]] = {}
        for association in resources.get("aws_route_table_association", {}).values():
            table = _target(association["route_table_id"])[1]
            table_subnets.setdefault(table, []).append(subnets[_target(association["subnet_id"])[1]])
        routes: dict[ipaddress.IPv4Network, list[Route]] = {subnet: [] for subnet in subnets.values()}
        for route in resources.get("aws_route", {}).values():
            destination = route.get("destination_cidr_block") or route["destination_ipv6_cidr_block"]
            target = "eni" if route.get("network_interface_id") else "igw"
            for subnet in table_subnets.get(_target(route["route_table_id"])[1], []):
                routes[subnet].append(Route(destination, target))
        for endpoint in resources.get("aws_vpc_endpoint", {}).values():
            for table in endpoint.get("route_table_ids", []):
                for subnet in table_subnets.get(_target(table)[1], []):
                    routes[subnet].append(Route(endpoint["service_name"], "endpoint"))

        bastion_group = _target(eni["security_groups"][0])[1]
        open_icmp = any(
            _target(rule["security_group_id"])[1] == bastion_group
            and rule["ip_protocol"] in ("icmp", "icmpv6", "58", "1", "-1")
            and (rule.get("cidr_ipv4") == "0.0.0.0/0" or rule.get("cidr_ipv6") == "::/0")
            for rule in resources.get("aws_vpc_security_group_ingress_rule", {}).values()
        )
        return cls(
            region=stack["provider"]["aws"][0]["region"],
            vpc_cidr=ipaddress.IPv4Network(vpc["cidr_block"]),
            bastion_ip=ipaddress.IPv4Address(eni["private_ips"][0]),
            bastion_subnet=subnets[_target(eni["subnet_id"])[1]],
            bastion_user_data=user_data(template["user_data"]),
            elastic_ip=bool(resources.get("aws_eip")),
            node_user_data={ipaddress.IPv4Address(i["private_ip"]): i["user_data"] for i in instances},
            node_subnet=node_subnet,
            route_tables={subnet: tuple(found) for subnet, found in routes.items()},
            bastion_admits_icmp_from_internet=open_icmp,
            availability_zone=resources["aws_subnet"][_target(eni["subnet_id"])[1]]["availability_zone"],
            # The registry caches' volume (RegistryCacheStorage); the nodes' LINSTOR data volumes are EBS volumes too.
            registry_volume=next((v["tags"]["Name"] for k, v in resources.get("aws_ebs_volume", {}).items()
                                  if k.startswith("registry-cache")), None),
            **_account(stack, template, next(iter(instances))),
        )


def user_data(encoded: str) -> str:
    """What cloud-init runs: base64 decoded, then gunzipped when it is gzip (1f 8b)."""
    raw = base64.b64decode(encoded)
    return (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode()


def kms_key_id(resource: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"talos-sandbox-hostsim/{resource}"))


class _Resolver:
    def __init__(self, stack: dict):
        self.resources = stack["resource"]
        self.region = stack["provider"]["aws"][0]["region"]

    def attribute(self, data: bool, kind: str, name: str, attribute: str) -> str | None:
        if data:
            return {("aws_partition", "partition"): PARTITION, ("aws_caller_identity", "account_id"): ACCOUNT_ID,
                    ("aws_region", "name"): self.region}.get((kind, attribute))  # fmt: skip
        resource = self.resources.get(kind, {}).get(name, {})
        if kind == "aws_kms_key":
            key = kms_key_id(name)
            return {"arn": f"arn:{PARTITION}:kms:{self.region}:{ACCOUNT_ID}:key/{key}", "key_id": key, "id": key}.get(attribute)
        if kind == "aws_kms_alias" and attribute == "name":
            return resource.get("name")
        if kind == "aws_ebs_volume" and attribute in ("arn", "id"):
            return (f"arn:{PARTITION}:ec2:{self.region}:{ACCOUNT_ID}:volume/{REGISTRY_VOLUME_ID}" if attribute == "arn"
                    else REGISTRY_VOLUME_ID)  # fmt: skip
        if kind == "aws_ssm_parameter" and attribute == "arn":
            return f"arn:{PARTITION}:ssm:{self.region}:{ACCOUNT_ID}:parameter{resource.get('name', '')}"
        if kind in ("aws_iam_role", "aws_iam_instance_profile") and attribute in ("name", "id"):
            return self(resource.get("name", ""))
        return None

    def __call__(self, text: str) -> str:
        def replace(match: re.Match) -> str:
            found = self.attribute(bool(match.group(1)), match.group(2), match.group(3), match.group(4))
            return found if found is not None else match.group(0)

        return _TOKEN.sub(replace, text)


def _role_of_profile(resolve: _Resolver, resources: dict, profile_reference: str) -> str:
    kind, name = _target(profile_reference)
    return resolve(resources[kind][name]["role"])


def _account(stack: dict, template: dict, instance: dict) -> dict:
    """The account-side facts: parameters, keys, roles and their policies, the bastion's tags."""
    resources, resolve = stack["resource"], _Resolver(stack)
    keys = {resolve(f"${{aws_kms_key.{name}.arn}}"): kms_key_id(name) for name in resources.get("aws_kms_key", {})}
    aliases = {a["name"]: resolve(a["target_key_id"].replace(".key_id}", ".arn}")) for a in resources.get("aws_kms_alias", {}).values()}
    parameters = {
        p["name"]: {"value": p.get("value", p.get("value_wo")), "type": p["type"], "tier": p.get("tier", "Standard"),
                    # A key named by alias (as the stack does) is the key the alias targets.
                    "key": aliases.get(resolve(p["key_id"]), resolve(p["key_id"])) if p.get("key_id") else None}
        for p in resources.get("aws_ssm_parameter", {}).values()
    }  # fmt: skip
    roles = {resolve(r["name"]): {"statements": [], "managed": []} for r in resources.get("aws_iam_role", {}).values()}
    for inline in resources.get("aws_iam_role_policy", {}).values():
        roles[resolve(inline["role"])]["statements"] += json.loads(resolve(inline["policy"]))["Statement"]
    for attachment in resources.get("aws_iam_role_policy_attachment", {}).values():
        roles[resolve(attachment["role"])]["managed"].append(resolve(attachment["policy_arn"]).rsplit("/", 1)[-1])
    [tags] = [t["tags"] for t in template.get("tag_specifications", []) if t["resource_type"] == "instance"] or [{}]
    return {
        "parameters": parameters, "kms_keys": keys, "kms_aliases": aliases, "roles": roles,
        "bastion_role": _role_of_profile(resolve, resources, template["iam_instance_profile"]["arn"]),
        "node_role": _role_of_profile(resolve, resources, instance["iam_instance_profile"]),
        "bastion_tags": dict(tags),
    }  # fmt: skip
