"""SandboxSecurityGroups: separate rule resources, no open ingress, the design's ports."""

from __future__ import annotations

from ...conftest import WIREGUARD, make_config, resources_of


def groups(stack: dict) -> dict[str, str]:
    """Security group reference -> `bastion` or `nodes`."""
    return {
        f"${{aws_security_group.{name}.id}}": group["name"].rsplit("-", 1)[1]
        for name, group in resources_of(stack, "aws_security_group").items()
    }


def rules(stack: dict, direction: str, owner: str) -> list[dict]:
    names = groups(stack)
    return [
        rule
        for rule in resources_of(stack, f"aws_vpc_security_group_{direction}_rule").values()
        if names[rule["security_group_id"]] == owner
    ]


def peer(stack: dict, rule: dict) -> str:
    return groups(stack).get(rule.get("referenced_security_group_id"), rule.get("cidr_ipv4") or rule.get("cidr_ipv6"))


def has(stack, direction, owner, protocol, ports, source) -> bool:
    return any(
        rule["ip_protocol"] == protocol
        and (rule.get("from_port"), rule.get("to_port")) == ports
        and peer(stack, rule) == source
        for rule in rules(stack, direction, owner)
    )


def test_no_inline_rules(default_stack):
    for group in resources_of(default_stack, "aws_security_group").values():
        assert "ingress" not in group and "egress" not in group


def test_no_ingress_from_the_whole_internet(default_stack):
    for rule in resources_of(default_stack, "aws_vpc_security_group_ingress_rule").values():
        assert rule.get("cidr_ipv4") != "0.0.0.0/0" and rule.get("cidr_ipv6") != "::/0"


def test_no_ssh_by_default(default_stack):
    assert not any(rule.get("from_port") == 22 for rule in rules(default_stack, "ingress", "bastion"))


def test_ssh_only_over_ipv6_from_configured_ranges(synth):
    _, stack = synth(make_config(bastion={"ssh_ipv6_cidrs": ["2001:db8:1::/64", "2001:db8:2::/64"]}))
    ssh = [rule for rule in rules(stack, "ingress", "bastion") if rule.get("from_port") == 22]
    assert sorted(rule["cidr_ipv6"] for rule in ssh) == ["2001:db8:1::/64", "2001:db8:2::/64"]
    assert all("cidr_ipv4" not in rule for rule in ssh)


def test_bastion_accepts_nat_and_its_caches_from_nodes_and_nothing_else(default_stack):
    expected = [("tcp", (443, 443)), ("udp", (123, 123)), ("icmp", (3, 4)), ("icmp", (8, 0))]
    expected += [("tcp", (port, port)) for port in (5050, 5051, 5052, 5053, 5054)]
    found = [(r["ip_protocol"], (r.get("from_port"), r.get("to_port"))) for r in rules(default_stack, "ingress", "bastion")]
    assert sorted(found) == sorted(expected), "every open port has a service behind it (no DNS: nodes use the VPC's)"
    assert all(peer(default_stack, rule) == "nodes" for rule in rules(default_stack, "ingress", "bastion"))


def test_cache_ports_follow_config(synth):
    caches = {"upstreams": {"ghcr.io": {"port": 6000}, "docker.io": {"port": 6001}}}
    _, stack = synth(make_config(bastion={"registry_caches": caches}))
    cache_rules = [r for r in rules(stack, "ingress", "bastion") if r.get("from_port", 0) >= 1024]
    assert sorted((r["from_port"], r["to_port"]) for r in cache_rules) == [(6000, 6000), (6001, 6001)]
    _, stack = synth(make_config(bastion={"registry_caches": {"enabled": False}}))
    assert not [r for r in rules(stack, "ingress", "bastion") if r["ip_protocol"] == "tcp" and r.get("from_port") != 443]


def test_icmp_rules_name_a_type_and_a_code(default_stack):
    """Type or code -1 reads as every port to checkov once AWS lists the rule in its group."""
    icmp = [
        rule
        for direction in ("ingress", "egress")
        for rule in resources_of(default_stack, f"aws_vpc_security_group_{direction}_rule").values()
        if rule["ip_protocol"] in ("icmp", "58")
    ]
    assert icmp and all(-1 not in (rule["from_port"], rule["to_port"]) for rule in icmp)
    assert has(default_stack, "egress", "bastion", "icmp", (3, 4), "0.0.0.0/0")
    assert has(default_stack, "egress", "bastion", "58", (2, 0), "::/0")


def test_registry_caches_are_on_the_bastion_not_the_nodes(default_stack):
    assert not any(rule.get("from_port") == 5050 for rule in rules(default_stack, "ingress", "nodes"))


def test_nodes_accept_each_other_and_the_apis_from_the_bastion(default_stack):
    assert has(default_stack, "ingress", "nodes", "-1", (None, None), "nodes")
    assert has(default_stack, "ingress", "nodes", "tcp", (50000, 50001), "bastion")
    assert has(default_stack, "ingress", "nodes", "tcp", (6443, 6443), "bastion")


def test_bastion_egress_forwards_nat_ports(default_stack):
    assert has(default_stack, "egress", "bastion", "tcp", (443, 443), "0.0.0.0/0")
    assert has(default_stack, "egress", "nodes", "tcp", (443, 443), "0.0.0.0/0")


def test_wireguard_port_opens_only_with_a_peer(default_stack, synth):
    assert not any(rule["ip_protocol"] == "udp" and rule.get("cidr_ipv6") for rule in rules(default_stack, "egress", "bastion"))
    wireguard = {**WIREGUARD, "peer_endpoint": "[2001:db8::1]:51821"}
    _, stack = synth(make_config(bastion={"wireguard": wireguard}))
    assert has(stack, "egress", "bastion", "udp", (51821, 51821), "::/0")


def test_nat_ports_follow_config(synth):
    _, stack = synth(make_config(bastion={"nat_tcp_ports": [80, 8443], "nat_udp_ports": []}))
    assert has(stack, "ingress", "bastion", "tcp", (8443, 8443), "nodes")
    assert not has(stack, "ingress", "bastion", "tcp", (443, 443), "nodes")
    assert not any(rule["ip_protocol"] == "udp" and rule.get("from_port") == 123 for rule in rules(stack, "ingress", "bastion"))


SECONDARY_IPS = make_config(loadbalancer={"mode": "eni-secondary-ips", "addresses": ["10.10.0.200"]})


def test_services_on_secondary_ips_are_open_to_the_vpc_only(default_stack, synth):
    _, stack = synth(SECONDARY_IPS)
    for port in (80, 443):
        assert has(stack, "ingress", "nodes", "tcp", (port, port), "10.10.0.0/16")
    services = [rule for rule in rules(stack, "ingress", "nodes") if rule.get("from_port") in (80, 443)]
    assert len(services) == 2 and all(rule["cidr_ipv4"] == "10.10.0.0/16" for rule in services)
    for rule in resources_of(stack, "aws_vpc_security_group_ingress_rule").values():
        assert rule.get("cidr_ipv4") != "0.0.0.0/0" and rule.get("cidr_ipv6") != "::/0"
    # Without service addresses (the default's metallb-l2, or none) no service port is open.
    assert not [rule for rule in rules(default_stack, "ingress", "nodes") if rule.get("from_port") in (80, 443)]
