"""The sandbox's network, drawn from its synthesized Terraform JSON (`cdk.tf.json`).

Reading the stack rather than the config means the picture shows what Terraform will
deploy: every box and arrow comes from a resource, and arrows follow the Terraform
references (`${aws_network_interface.x.id}`) between them. The model (`Diagram`) is
written out as Mermaid (GitHub renders it in Markdown) or as Graphviz DOT (`dot -Tsvg`).
Resources the picture has no place for (IAM, KMS, logs, schedules) are left out.
"""

from __future__ import annotations

import binascii
import zlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ...terraform.user_data import user_data_text
from .model import INTERNET, Box, Diagram, Group, Link, node_id, plain, reference

_ROUTE_DESTINATIONS = ("destination_cidr_block", "destination_ipv6_cidr_block", "destination_prefix_list_id")
_INLINE_ROUTE_DESTINATIONS = ("cidr_block", "ipv6_cidr_block", "destination_prefix_list_id")
_ROUTE_TARGETS = (
    "gateway_id",
    "network_interface_id",
    "nat_gateway_id",
    "egress_only_gateway_id",
    "transit_gateway_id",
    "vpc_peering_connection_id",
    "vpc_endpoint_id",
    "carrier_gateway_id",
    "local_gateway_id",
    "core_network_arn",
)
# nftables `oifname "wg0" masquerade`: the NAT leaves through a WireGuard tunnel.
_MASQUERADE_INTO_TUNNEL = re.compile(r'oifname\s+"?wg[0-9]+"?\s+masquerade')
_RULE_PEERS = ("referenced_security_group_id", "cidr_ipv4", "cidr_ipv6", "prefix_list_id")
_ICMP_TYPES = {
    ("icmp", 0): "echo reply",
    ("icmp", 3): "unreachable",
    ("icmp", 8): "echo",
    ("icmp", 11): "time exceeded",
}
_PROTOCOL_NAMES = {"-1": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}


def _short_name(body: dict) -> str:
    """The construct path inside the stack, e.g. `network/subnet`."""
    path = body.get("//", {}).get("metadata", {}).get("path", "")
    return path.split("/", 1)[-1]


def _ports(rule: dict) -> str:
    protocol = str(rule.get("ip_protocol", "-1")).lower()
    protocol = _PROTOCOL_NAMES.get(protocol, protocol)
    low, high = rule.get("from_port"), rule.get("to_port")
    if protocol == "all":
        return "all traffic"
    if protocol in ("icmp", "icmpv6"):
        return protocol if low in (None, -1) else f"{protocol} {_ICMP_TYPES.get((protocol, low), f'type {low}')}"
    if low is None or low == high:
        return f"{protocol} {low}" if low is not None else protocol
    return f"{protocol} {low}-{high}"


def _join_ports(ports: list[str]) -> str:
    """`tcp 53`, `udp 53` -> `tcp/udp 53`; `icmp echo`, `icmp unreachable` -> `icmp echo/unreachable`."""
    by_key: dict[str, list[str]] = {}  # "53" -> ["tcp", "udp"]; "icmp" -> ["echo", "unreachable"]
    for entry in dict.fromkeys(ports):
        protocol, _, rest = entry.partition(" ")
        if protocol in ("tcp", "udp") and rest:
            by_key.setdefault(rest, []).append(protocol)
        elif protocol in ("icmp", "icmpv6"):
            by_key.setdefault(protocol, []).append(rest or "any")
        else:
            by_key.setdefault(entry, [])
    parts = []
    for key, values in by_key.items():
        if key in ("icmp", "icmpv6"):
            parts.append(f"{key} {'/'.join(values)}")
        else:
            parts.append(f"{'/'.join(values)} {key}" if values else key)
    return ", ".join(parts)


def _boot_script(launch_template: dict) -> str:
    encoded = launch_template.get("user_data")
    if not isinstance(encoded, str) or "${" in encoded:
        return ""
    try:
        return user_data_text(encoded)
    except (binascii.Error, ValueError, OSError, EOFError, zlib.error):
        return ""


def _wireguard_peer(script: str) -> tuple[str, str] | None:
    """(endpoint, allowed IPs) of the `[Peer]` in a wg-quick config the script writes."""
    endpoint = re.search(r"^Endpoint\s*=\s*(\S+)", script, re.MULTILINE)
    allowed = re.search(r"^AllowedIPs\s*=\s*(.+)$", script, re.MULTILINE)
    if not endpoint:
        return None
    return endpoint.group(1), allowed.group(1).strip() if allowed else ""


@dataclass
class _Builder:
    stack: dict
    groups: dict[str, Group] = field(default_factory=dict)
    boxes: dict[str, Box] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    # resource address -> the diagram element (box or group id) that stands for it
    element: dict[str, str] = field(default_factory=dict)
    drawn: set[str] = field(default_factory=set)

    def of_type(self, resource_type: str, *, data: bool = False) -> Iterator[tuple[str, dict]]:
        for name, body in sorted(self.stack.get("resource", {}).get(resource_type, {}).items()):
            yield f"{resource_type}.{name}", body
        if data:
            for name, body in sorted(self.stack.get("data", {}).get(resource_type, {}).items()):
                yield f"data.{resource_type}.{name}", body

    def resolve(self, value: object) -> str | None:
        address = reference(value)
        return self.element.get(address) if address else None

    def add_group(self, address: str, label: str, parent: str | None) -> None:
        kind = address.removeprefix("data.").split(".")[0].removeprefix("aws_")
        self.groups[node_id(address)] = Group(node_id(address), label, parent, kind)
        self.element[address] = node_id(address)
        self.drawn.add(address)

    def add_box(self, address: str, label: str, parent: str | None, shape: str = "box") -> str:
        box_id = node_id(address)
        self.boxes[box_id] = Box(box_id, label, parent, shape)
        self.element[address] = box_id
        self.drawn.add(address)
        return box_id

    def link(self, source: str, target: str, label: str, kind: str, *addresses: str) -> None:
        self.links.append(Link(source, target, label, kind, addresses))
        self.drawn.update(addresses)

    def literal_box(self, value: str, label: str) -> str:
        """A box for something outside the stack (an existing id, a CIDR), made once."""
        box_id = node_id(f"literal.{value}")
        if box_id not in self.boxes:
            self.boxes[box_id] = Box(box_id, label, None, "round")
        return box_id


def build(stack: dict, title: str = "") -> Diagram:
    b = _Builder(stack)
    b.boxes[INTERNET] = Box(INTERNET, "Internet", None, "cloud")
    _network(b)
    _endpoints(b)
    _interfaces_and_instances(b)
    _routes(b)
    _security_groups(b)
    return Diagram(
        title=title,
        groups=tuple(b.groups.values()),
        boxes=tuple(b.boxes.values()),
        links=tuple(b.links),
        drawn=tuple(sorted(b.drawn)),
    )


def _network(b: _Builder) -> None:
    for address, vpc in b.of_type("aws_vpc", data=True):
        if address.startswith("data."):
            label = f"VPC {plain(vpc.get('id', _short_name(vpc)))} (existing)"
        else:
            ipv6 = " + Amazon IPv6 /56" if vpc.get("assign_generated_ipv6_cidr_block") else ""
            label = f"VPC {vpc.get('cidr_block', '')}{ipv6}"
        b.add_group(address, label, None)
    # An adopted subnet or gateway is looked up by id; with one VPC it can only be in that one.
    vpcs = list(b.groups)
    sole_vpc = vpcs[0] if len(vpcs) == 1 else None
    for address, subnet in b.of_type("aws_subnet", data=True):
        if address.startswith("data."):
            label = f"subnet {plain(subnet.get('id', _short_name(subnet)))} (existing)"
        else:
            ipv6 = " + IPv6 /64" if subnet.get("ipv6_cidr_block") else ""
            name = _short_name(subnet).rsplit("/", 1)[-1]
            label = f"{name} {subnet.get('cidr_block', '')}{ipv6}, {subnet.get('availability_zone', '')}"
        b.add_group(address, label.strip(", "), b.resolve(subnet.get("vpc_id")) or sole_vpc)
    for address, gateway in b.of_type("aws_internet_gateway", data=True):
        existing = " (existing)" if address.startswith("data.") else ""
        parent = b.resolve(gateway.get("vpc_id")) or sole_vpc
        gateway_id = b.add_box(address, f"internet gateway{existing}", parent, "round")
        b.link(INTERNET, gateway_id, "", "attach")


def _endpoints(b: _Builder) -> None:
    for address, endpoint in b.of_type("aws_vpc_endpoint"):
        service = str(endpoint.get("service_name", "")).rsplit(".", 1)[-1]
        kind = endpoint.get("vpc_endpoint_type", "Gateway")
        b.add_box(address, f"{service.upper()} {kind.lower()} endpoint", b.resolve(endpoint.get("vpc_id")), "round")


def _interfaces_and_instances(b: _Builder) -> None:
    for address, eni in b.of_type("aws_network_interface"):
        ips = ", ".join(eni.get("private_ips", [])) or "DHCP"
        ipv6 = f" + {eni['ipv6_address_count']} IPv6" if eni.get("ipv6_address_count") else ""
        check = "\nsource/dest check off" if eni.get("source_dest_check") is False else ""
        b.add_box(address, f"network interface {ips}{ipv6}{check}", b.resolve(eni.get("subnet_id")))
    # A launch template that names an interface, and its Auto Scaling group, run on that box.
    for address, template in b.of_type("aws_launch_template"):
        interfaces = [b.resolve(i.get("network_interface_id")) for i in template.get("network_interfaces", [])]
        eni_box = next((box for box in interfaces if box), None)
        if eni_box is None:
            continue
        b.element[address] = eni_box
        b.drawn.add(address)
        machine = template.get("instance_type", "")
        groups = [
            (group_address, group)
            for group_address, group in b.of_type("aws_autoscaling_group")
            if b.resolve(group.get("launch_template", {}).get("id")) == eni_box
        ]
        box = b.boxes[eni_box]
        for group_address, group in groups:
            b.element[group_address] = eni_box
            b.drawn.add(group_address)
            size = f"{group.get('min_size')}..{group.get('max_size')}"
            heading = f"{group.get('name', _short_name(group))}: Auto Scaling group ({size}) x {machine}"
            box = Box(box.id, f"{heading}\n{box.label}", box.parent, box.shape)
        b.boxes[eni_box] = box
        _bastion_egress(b, eni_box, _boot_script(template))
    for address, eip in b.of_type("aws_eip"):
        target = b.resolve(eip.get("network_interface")) or b.resolve(eip.get("instance"))
        eip_box = b.add_box(address, "Elastic IP (public IPv4)", None, "round")
        if target:
            b.link(target, eip_box, f"IPv4 egress as {eip.get('associate_with_private_ip', 'primary IP')}", "egress")
    for address, instance in b.of_type("aws_instance"):
        name = instance.get("tags", {}).get("Name") or _short_name(instance).split("/")[0]
        addresses = [instance.get("private_ip")] + list(instance.get("secondary_private_ips", []))
        ip_text = ", ".join(a for a in addresses if a) or "DHCP"
        disk = instance.get("root_block_device", {})
        disk_text = f", {disk['volume_size']} GB {disk.get('volume_type', 'EBS')}" if disk.get("volume_size") else ""
        b.add_box(
            address,
            f"{name}\n{ip_text}\n{instance.get('instance_type', '')}{disk_text}",
            b.resolve(instance.get("subnet_id")),
        )


def _bastion_egress(b: _Builder, eni_box: str, script: str) -> None:
    """The IPv4 way out a NAT instance's boot script sets up: a WireGuard tunnel's peer."""
    if not _MASQUERADE_INTO_TUNNEL.search(script):
        return
    peer = _wireguard_peer(script)
    if peer is None:
        peer_box = b.literal_box("wireguard-peer", "WireGuard peer: not configured\n(no IPv4 egress)")
        b.link(eni_box, peer_box, "wg0: no tunnel", "egress")
    else:
        endpoint, allowed = peer
        peer_box = b.literal_box("wireguard-peer", f"WireGuard peer {endpoint}")
        b.link(eni_box, peer_box, f"IPv4 egress: wg0 to {allowed} (UDP over IPv6)", "egress")


def _routes(b: _Builder) -> None:
    for address, table in b.of_type("aws_route_table"):
        associated = [
            (a, b.resolve(assoc.get("subnet_id")))
            for a, assoc in b.of_type("aws_route_table_association")
            if reference(assoc.get("route_table_id")) == address
        ]
        subnets = [subnet for _, subnet in associated if subnet]
        # A table serving one subnet is drawn inside it; otherwise in the VPC, linked to each.
        parent = subnets[0] if len(subnets) == 1 else b.resolve(table.get("vpc_id"))
        table_box = b.add_box(address, f"route table {_short_name(table).rsplit('/', 1)[-1]}", parent)
        b.drawn.update(a for a, _ in associated)
        if len(subnets) > 1:
            for association, subnet in associated:
                b.link(table_box, subnet, "associated", "attach", association)
        for index, route in enumerate(table.get("route") or []):
            _route(b, f"{address}.route[{index}]", table_box, route, _INLINE_ROUTE_DESTINATIONS)
    for address, route in b.of_type("aws_route"):
        table_box = b.resolve(route.get("route_table_id"))
        if table_box:
            _route(b, address, table_box, route, _ROUTE_DESTINATIONS)
    for address, endpoint in b.of_type("aws_vpc_endpoint"):
        service = str(endpoint.get("service_name", "")).rsplit(".", 1)[-1]
        for table_ref in endpoint.get("route_table_ids", []):
            table_box = b.resolve(table_ref)
            if table_box:
                b.link(table_box, b.element[address], f"{service.upper()} prefix list", "route", address)


def _route(b: _Builder, address: str, table_box: str, route: dict, destinations: tuple[str, ...]) -> None:
    destination = plain(next((route[key] for key in destinations if route.get(key)), "?"))
    target_value = next((route[key] for key in _ROUTE_TARGETS if route.get(key)), None)
    if target_value is None:
        return
    target = b.resolve(target_value) or b.literal_box(str(target_value), plain(target_value))
    b.link(table_box, target, destination, "route", address)


def _security_groups(b: _Builder) -> None:
    groups = list(b.of_type("aws_security_group"))
    members: dict[str, list[str]] = {address: [] for address, _ in groups}
    for address, resource in (*b.of_type("aws_instance"), *b.of_type("aws_network_interface")):
        box = b.element.get(address)
        for ref in (*resource.get("vpc_security_group_ids", []), *resource.get("security_groups", [])):
            group_address = reference(ref)
            if box and group_address in members and box not in members[group_address]:
                members[group_address].append(box)

    for address, group in groups:
        boxes = members[address]
        parents = {b.boxes[box].parent for box in boxes}
        name = group.get("name") or _short_name(group)
        if boxes and len(parents) == 1:
            # Every member in one subnet: the group is drawn around them.
            b.add_group(address, f"security group {name}", parents.pop())
            for box in boxes:
                old = b.boxes[box]
                b.boxes[box] = Box(old.id, old.label, node_id(address), old.shape)
        else:
            group_box = b.add_box(address, f"security group {name}", b.resolve(group.get("vpc_id")))
            for box in boxes:
                b.link(box, group_box, "member", "attach")

    # Paths between groups (ingress on the receiving side, egress on the sending side),
    # and each group's rules with CIDRs, collected in order.
    paths: dict[tuple[str, str], dict[str, list]] = {}
    notes: dict[str, list[str]] = {}
    rules = [(a, r, "ingress") for a, r in b.of_type("aws_vpc_security_group_ingress_rule")]
    rules += [(a, r, "egress") for a, r in b.of_type("aws_vpc_security_group_egress_rule")]
    rules += [(a, r, r.get("type", "ingress")) for a, r in b.of_type("aws_security_group_rule")]
    for address, rule, direction in rules:
        own = b.resolve(rule.get("security_group_id"))
        if own is None:
            continue
        ports = _ports(_normalized_rule(rule))
        peer_ref = rule.get("referenced_security_group_id") or rule.get("source_security_group_id")
        peer = b.resolve(peer_ref)
        if peer is not None and peer != own:
            pair = (peer, own) if direction == "ingress" else (own, peer)
            entry = paths.setdefault(pair, {"ingress": [], "egress": [], "addresses": []})
            entry[direction].append(ports)
            entry["addresses"].append(address)
            continue
        if peer == own or rule.get("self"):
            notes.setdefault(own, []).append(f"among members ({direction}): {ports}")
        else:
            cidrs = _rule_cidrs(rule)
            if direction == "ingress":
                for cidr in cidrs:
                    b.link(b.literal_box(cidr, cidr), own, ports, "allow", address)
                continue
            notes.setdefault(own, []).append(f"egress {', '.join(cidrs)}: {ports}")
        b.drawn.add(address)

    for (source, target), entry in paths.items():
        label = _join_ports(entry["ingress"]) if entry["ingress"] else "egress only: " + _join_ports(entry["egress"])
        b.link(source, target, label, "allow", *entry["addresses"])
    for group_id, lines in notes.items():
        merged = _merge_notes(lines)
        if group_id in b.groups:
            old = b.groups[group_id]
            b.groups[group_id] = Group(old.id, old.label + "\n" + "\n".join(merged), old.parent, old.kind)
        else:
            old_box = b.boxes[group_id]
            b.boxes[group_id] = Box(old_box.id, old_box.label + "\n" + "\n".join(merged), old_box.parent, old_box.shape)


def _normalized_rule(rule: dict) -> dict:
    """aws_security_group_rule says `protocol`; the newer rule resources say `ip_protocol`."""
    return {**rule, "ip_protocol": rule.get("ip_protocol", rule.get("protocol", "-1"))}


def _rule_cidrs(rule: dict) -> list[str]:
    cidrs = [str(rule[key]) for key in _RULE_PEERS[1:] if rule.get(key)]
    for key in ("cidr_blocks", "ipv6_cidr_blocks", "prefix_list_ids"):
        cidrs += [str(value) for value in rule.get(key) or []]
    return [plain(value) for value in cidrs] or ["?"]


def _merge_notes(lines: list[str]) -> list[str]:
    """`egress 0.0.0.0/0: tcp 443` + `egress 0.0.0.0/0: udp 123` -> one line per peer."""
    merged: dict[str, list[str]] = {}
    for line in lines:
        head, _, ports = line.partition(": ")
        merged.setdefault(head, []).append(ports)
    inbound, outbound = "among members (ingress)", "among members (egress)"
    if inbound in merged and merged.get(outbound) == merged[inbound]:
        merged = {
            ("among members" if head == inbound else head): ports for head, ports in merged.items() if head != outbound
        }
    return [f"{head}: {_join_ports(ports)}" for head, ports in merged.items()]


# --- writers -------------------------------------------------------------------------

# One colour per kind of arrow, the same in Mermaid and DOT.
