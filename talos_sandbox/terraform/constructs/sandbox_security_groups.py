"""SandboxSecurityGroups: the bastion's and the nodes' groups and every rule between them.

Both groups refer to each other, so they live together. Each rule is its own
`aws_vpc_security_group_*_rule` resource, never an inline block: checkov does not see
open inline rules in CDKTF output (FACTS.md). Nothing is open to 0.0.0.0/0 or ::/0
for ingress.

Service ports (the root ingress' 80 and 443 on the load-balancer addresses, with
eni-secondary-ips) are open to the nodes from the VPC's IPv4 range, which holds the
bastion (Session Manager forwards the operator's browser from there) and whatever else
the VPC runs; by CIDR and not by the bastion's group, because checkov reads a group
reference on port 80 as open to the world (README, "Policy gate").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from constructs import Construct

from .. import bindings as tf
from .naming import name_tag

TALOS_API_PORTS = (50000, 50001)
KUBERNETES_API_PORT = 6443
DNS_PORT = 53
SSH_PORT = 22
# ICMP rules name a type (from_port) and a code (to_port), never -1: exactly what is
# needed, by rule id: path MTU discovery needs "fragmentation needed" (type 3 code 4) and
# ICMPv6 "packet too big" (type 2) (AWS VPC user guide, "Path MTU Discovery"); IPv6 needs
# neighbour discovery (RFC 4861); echo request keeps ping working through the NAT.
NAT_ICMP = {
    "icmp-unreachable": ("ICMP fragmentation needed", (3, 4)),
    "icmp-echo": ("ICMP echo request", (8, 0)),
}
BASTION_ICMPV6 = {
    "icmpv6-packet-too-big": ("ICMPv6 packet too big", (2, 0)),
    "icmpv6-router-solicitation": ("ICMPv6 router solicitation", (133, 0)),
    "icmpv6-neighbour-solicitation": ("ICMPv6 neighbour solicitation", (135, 0)),
    "icmpv6-neighbour-advertisement": ("ICMPv6 neighbour advertisement", (136, 0)),
}

Peer = Literal["bastion", "nodes"]


@dataclass(frozen=True)
class SandboxSecurityGroupsProps:
    name: str
    vpc_id: str
    vpc_cidr: str
    ssh_ipv6_cidrs: tuple[str, ...]
    """Who may SSH to the bastion over IPv6; empty means no SSH rule at all."""
    nat_tcp_ports: tuple[int, ...]
    nat_udp_ports: tuple[int, ...]
    wireguard_port: int | None
    """UDP port of the WireGuard peer, reached over IPv6; None when there is no tunnel."""
    registry_cache_ports: tuple[int, ...]
    """TCP ports of the bastion's registry caches, open to the nodes; empty when they are off."""
    service_ports: tuple[int, ...] = ()
    """TCP ports of the nodes' services (the load-balancer addresses), open to the VPC; empty: none."""


@dataclass(frozen=True)
class _Rule:
    rule_id: str
    description: str
    protocol: str
    ports: tuple[int, int] | None = None
    cidr_ipv4: str | None = None
    cidr_ipv6: str | None = None
    group: Peer | None = None


class SandboxSecurityGroups(Construct):
    bastion_group_id: str
    node_group_id: str

    def __init__(self, scope: Construct, construct_id: str, props: SandboxSecurityGroupsProps) -> None:
        super().__init__(scope, construct_id)
        self._props = props
        descriptions = {
            "bastion": "talos-sandbox bastion: NAT and registry caches for the nodes",
            "nodes": "talos-sandbox Talos nodes",
        }
        groups = {
            role: tf.SecurityGroup(
                self,
                role,
                name=f"{props.name}-{role}",
                description=description,
                vpc_id=props.vpc_id,
                tags=name_tag(props.name, role),
            )
            for role, description in descriptions.items()
        }
        self.bastion_group_id = groups["bastion"].id
        self.node_group_id = groups["nodes"].id
        group_ids = {peer: group.id for peer, group in groups.items()}

        for owner, direction, rules in (
            ("bastion", "ingress", self._bastion_ingress()),
            ("bastion", "egress", self._bastion_egress()),
            ("nodes", "ingress", self._node_ingress()),
            ("nodes", "egress", self._node_egress()),
        ):
            rule_class = tf.VpcSecurityGroupIngressRule if direction == "ingress" else tf.VpcSecurityGroupEgressRule
            for rule in rules:
                from_port, to_port = rule.ports if rule.ports else (None, None)
                rule_class(
                    self,
                    f"{owner}-{direction}-{rule.rule_id}",
                    security_group_id=group_ids[owner],
                    description=rule.description,
                    ip_protocol=rule.protocol,
                    from_port=from_port,
                    to_port=to_port,
                    cidr_ipv4=rule.cidr_ipv4,
                    cidr_ipv6=rule.cidr_ipv6,
                    referenced_security_group_id=group_ids[rule.group] if rule.group else None,
                    tags=name_tag(props.name, f"{owner}-{rule.rule_id}"),
                )

    def _nat_rules(self, rule_prefix: str, **destination: str) -> list[_Rule]:
        """The traffic the bastion forwards to the IPv4 internet, as seen from one side."""
        props = self._props
        rules = [
            _Rule(f"{rule_prefix}-tcp-{port}", f"NAT: TCP {port} to the IPv4 internet", "tcp", (port, port), **destination)
            for port in props.nat_tcp_ports
        ]
        rules += [
            _Rule(f"{rule_prefix}-udp-{port}", f"NAT: UDP {port} to the IPv4 internet", "udp", (port, port), **destination)
            for port in props.nat_udp_ports
        ]
        rules += [
            _Rule(f"{rule_prefix}-{rule_id}", f"NAT: {description}", "icmp", type_code, **destination)
            for rule_id, (description, type_code) in NAT_ICMP.items()
        ]
        return rules

    def _bastion_ingress(self) -> list[_Rule]:
        props = self._props
        rules = self._nat_rules("nat", group="nodes")
        # Only ports with a service behind them: the caches as configured (the nodes use the VPC's DNS).
        rules += [
            _Rule(f"registry-cache-{port}", f"Registry cache on {port} for the nodes", "tcp", (port, port), group="nodes")
            for port in props.registry_cache_ports
        ]
        rules += [
            _Rule(f"ssh-{index}", f"SSH over IPv6 from {cidr}", "tcp", (SSH_PORT, SSH_PORT), cidr_ipv6=cidr)
            for index, cidr in enumerate(props.ssh_ipv6_cidrs)
        ]
        return rules

    def _bastion_egress(self) -> list[_Rule]:
        props = self._props
        rules = self._nat_rules("nat", cidr_ipv4="0.0.0.0/0")
        rules += [
            _Rule("https-ipv6", "HTTPS over IPv6 (SSM, package repositories)", "tcp", (443, 443), cidr_ipv6="::/0"),
            _Rule("dns-udp", "Amazon DNS in the VPC", "udp", (DNS_PORT, DNS_PORT), cidr_ipv4=props.vpc_cidr),
            _Rule("dns-tcp", "Amazon DNS in the VPC", "tcp", (DNS_PORT, DNS_PORT), cidr_ipv4=props.vpc_cidr),
            _Rule("to-nodes", "Operate the nodes (talosctl, kubectl)", "-1", group="nodes"),
        ]
        rules += [
            _Rule(rule_id, description, "58", type_code, cidr_ipv6="::/0")
            for rule_id, (description, type_code) in BASTION_ICMPV6.items()
        ]
        if props.wireguard_port is not None:
            port = props.wireguard_port
            rules.append(_Rule("wireguard", "WireGuard tunnel to its peer over IPv6", "udp", (port, port), cidr_ipv6="::/0"))
        return rules

    def _node_ingress(self) -> list[_Rule]:
        services = [
            _Rule(f"service-{port}", f"Services on TCP {port} from the VPC", "tcp", (port, port),
                  cidr_ipv4=self._props.vpc_cidr)
            for port in self._props.service_ports
        ]  # fmt: skip
        return services + [
            _Rule("from-nodes", "All traffic among the nodes", "-1", group="nodes"),
            _Rule("talos-api", "Talos API from the bastion", "tcp", TALOS_API_PORTS, group="bastion"),
            _Rule(
                "kubernetes-api",
                "Kubernetes API from the bastion",
                "tcp",
                (KUBERNETES_API_PORT, KUBERNETES_API_PORT),
                group="bastion",
            ),
        ]

    def _node_egress(self) -> list[_Rule]:
        props = self._props
        rules = self._nat_rules("internet", cidr_ipv4="0.0.0.0/0")
        rules += [
            _Rule("to-nodes", "All traffic among the nodes", "-1", group="nodes"),
            _Rule("to-bastion", "NAT and registry caches on the bastion", "-1", group="bastion"),
            _Rule("dns-udp", "Amazon DNS in the VPC", "udp", (DNS_PORT, DNS_PORT), cidr_ipv4=props.vpc_cidr),
            _Rule("dns-tcp", "Amazon DNS in the VPC", "tcp", (DNS_PORT, DNS_PORT), cidr_ipv4=props.vpc_cidr),
        ]
        return rules
