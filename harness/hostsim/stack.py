"""What the host simulation takes from a synthesized stack: scripts, addresses, routes.

Everything is read from `cdk.tf.json` as synthesized, so the simulation runs exactly
what Terraform would hand to EC2 (the bastion's user-data is the launch template's,
base64-decoded; each node's is its instance's).
"""

from __future__ import annotations

import base64
import ipaddress
import re
from dataclasses import dataclass

_REFERENCE = re.compile(r"\$\{([a-z0-9_]+)\.([^.}]+)\.[a-z_]+\}")


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
            bastion_user_data=base64.b64decode(template["user_data"]).decode(),
            elastic_ip=bool(resources.get("aws_eip")),
            node_user_data={ipaddress.IPv4Address(i["private_ip"]): i["user_data"] for i in instances},
            node_subnet=node_subnet,
            route_tables={subnet: tuple(found) for subnet, found in routes.items()},
            bastion_admits_icmp_from_internet=open_icmp,
            availability_zone=resources["aws_subnet"][_target(eni["subnet_id"])[1]]["availability_zone"],
            # The registry caches' volume (RegistryCacheStorage); the nodes' LINSTOR data volumes are EBS volumes too.
            registry_volume=next((v["tags"]["Name"] for k, v in resources.get("aws_ebs_volume", {}).items()
                                  if k.startswith("registry-cache")), None),
        )
