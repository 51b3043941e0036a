"""The network diagram: drawn from the synthesized JSON, complete, and accepted by a renderer."""

from __future__ import annotations

import copy
import re
import subprocess

import pytest

from talos_sandbox.config import default_config
from talos_sandbox.outputs.diagram import Box, Diagram, Group, Link, build, node_id, to_dot, to_mermaid

from ..conftest import PUBLIC_IPV4, WIREGUARD, make_config, require_tool, resources_of

ELASTIC_IP = make_config(
    network=PUBLIC_IPV4["network"],
    bastion={**PUBLIC_IPV4["bastion"], "ssh_ipv6_cidrs": ["2001:db8:0:1::/64"]},
    loadbalancer={"mode": "eni-secondary-ips", "addresses": ["10.10.0.200"]},
)
TUNNEL = make_config(bastion={"wireguard": WIREGUARD})
ADOPTED = make_config(
    network={"existing_vpc_id": "vpc-0123456789abcdef0", "existing_subnet_id": "subnet-0123456789abcdef0"}
)
CONFIGS = {"default": default_config(), "elastic-ip": ELASTIC_IP, "tunnel": TUNNEL, "adopted": ADOPTED}

# Resource types the picture draws; every one of them in the JSON must appear in it.
DRAWN_TYPES = (
    "aws_vpc",
    "aws_subnet",
    "aws_internet_gateway",
    "aws_route_table",
    "aws_route_table_association",
    "aws_route",
    "aws_vpc_endpoint",
    "aws_network_interface",
    "aws_eip",
    "aws_launch_template",
    "aws_autoscaling_group",
    "aws_instance",
    "aws_security_group",
    "aws_vpc_security_group_ingress_rule",
    "aws_vpc_security_group_egress_rule",
)


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def stack(request, synth) -> dict:
    return synth(CONFIGS[request.param])[1]


def require_dot() -> str:
    return require_tool("dot", "graphviz")


def test_graphviz_renders_the_dot_without_a_warning(stack):
    result = subprocess.run(
        [require_dot(), "-Tsvg"], input=to_dot(build(stack)), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "<svg" in result.stdout


def test_graphviz_refuses_broken_dot():
    # The check above can fail: dot rejects a syntax error with a non-zero status.
    result = subprocess.run([require_dot(), "-Tsvg"], input="digraph { a -> ; }", capture_output=True, text=True)
    assert result.returncode != 0 and "syntax error" in result.stderr


_MERMAID_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_MERMAID_NODE = re.compile(r'^(\w+)(\(\["|\["|\(")(.*?)("\]\)|"\]|"\))$')
_MERMAID_EDGE = re.compile(r'^(\w+) (-->|==>|-\.->|---)(?:\|"([^"]*)"\|)? (\w+)$')
_MERMAID_SUBGRAPH = re.compile(r'^subgraph (\w+)\["([^"]*)"\]$')
_MERMAID_LINK_STYLE = re.compile(r"^linkStyle (\d+(?:,\d+)*) stroke:#[0-9a-f]{6}$")


def mermaid_structure(text: str) -> tuple[set[str], list[tuple[str, str, str]]]:
    """Check Mermaid flowchart syntax line by line (the subset we write): declared ids
    and (source, label, target) edges. Fails on anything else."""
    lines = text.splitlines()
    assert lines[0] == "flowchart TB"
    declared: list[str] = []
    edges, depth, styled = [], 0, []
    for line in (line.strip() for line in lines[1:]):
        if line == "end":
            depth -= 1
            assert depth >= 0, "`end` without `subgraph`"
        elif match := _MERMAID_SUBGRAPH.match(line):
            declared.append(match.group(1))
            depth += 1
        elif match := _MERMAID_EDGE.match(line):
            edges.append((match.group(1), match.group(3) or "", match.group(4)))
        elif match := _MERMAID_LINK_STYLE.match(line):
            styled += [int(index) for index in match.group(1).split(",")]
        elif match := _MERMAID_NODE.match(line):
            assert '"' not in match.group(3), line
            declared.append(match.group(1))
        else:
            pytest.fail(f"not Mermaid flowchart syntax we write: {line!r}")
    assert depth == 0, "unclosed subgraph"
    assert sorted(styled) == list(range(len(edges))), "linkStyle indices are the edges, each once"
    assert len(declared) == len(set(declared)), "an id declared twice"
    for name in declared:
        assert _MERMAID_ID.match(name) and name not in ("end", "subgraph", "graph", "flowchart"), name
    for source, _, target in edges:
        assert source in declared and target in declared, (source, target)
    return set(declared), edges


def test_mermaid_is_well_formed(stack):
    text = to_mermaid(build(stack))
    mermaid_structure(text)
    assert "${" not in text and "%{" not in text


def test_mermaid_check_can_fail():
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        mermaid_structure('flowchart TB\n  subgraph a["x"]\n  b["y"]\n')
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        mermaid_structure('flowchart TB\n  a["y"] --> b\n')


def test_every_drawn_resource_in_the_json_appears(stack):
    drawn = set(build(stack).drawn)
    for resource_type in DRAWN_TYPES:
        for name in resources_of(stack, resource_type):
            assert f"{resource_type}.{name}" in drawn, f"{resource_type}.{name} is not in the diagram"


def test_every_route_is_an_arrow_from_its_table_with_its_destination(stack):
    diagram = build(stack)
    _, edges = mermaid_structure(to_mermaid(diagram))
    routes = resources_of(stack, "aws_route")
    assert routes
    for name, route in routes.items():
        destination = route.get("destination_cidr_block") or route.get("destination_ipv6_cidr_block")
        table = node_id(re.search(r"aws_route_table\.[\w-]+", route["route_table_id"]).group(0))
        target_ref = route.get("network_interface_id") or route.get("gateway_id")
        target = node_id(re.search(r"(data\.)?aws_\w+\.[\w-]+", target_ref).group(0))
        assert (table, destination, target) in edges, f"route {name}: {table} -{destination}-> {target}"


def test_every_node_appears_with_its_address(stack):
    text = to_mermaid(build(stack))
    for name, instance in resources_of(stack, "aws_instance").items():
        box = next(line for line in text.splitlines() if line.strip().startswith(node_id(f"aws_instance.{name}") + "["))
        assert instance["private_ip"] in box and instance["instance_type"] in box


def test_default_shows_nat_route_gateway_endpoint_and_paths(default_stack):
    text = to_mermaid(build(default_stack))
    assert '-->|"0.0.0.0/0"| r_aws_network_interface_bastion' in text
    assert '-->|"::/0"| r_aws_internet_gateway' in text
    assert '-->|"S3 prefix list"| r_aws_vpc_endpoint' in text
    assert "network interface 10.10.0.100 + 1 IPv6<br/>source/dest check off" in text
    assert "WireGuard peer: not configured" in text, "the default has no peer: no IPv4 egress, drawn as such"
    # The paths between the groups, with the ports the receiving group opens.
    assert re.search(r'r_aws_security_group_security_groups_bastion_\w* ==>\|"tcp 6443, tcp 50000-50001"\|', text)
    assert "tcp 5050, tcp 5051, tcp 5052, tcp 5053, tcp 5054" in text and "tcp/udp 53" in text


def test_tunnel_and_elastic_ip_egress(synth):
    tunnel = to_mermaid(build(synth(TUNNEL)[1]))
    assert "WireGuard peer [2001:db8::1]:51820" in tunnel and "wg0 to 0.0.0.0/0" in tunnel
    elastic = to_mermaid(build(synth(ELASTIC_IP)[1]))
    assert "Elastic IP (public IPv4)" in elastic and "WireGuard" not in elastic
    assert '2001_db8_0_1___64(' in elastic and '==>|"tcp 22"|' in elastic, "SSH from the configured range"
    assert "10.10.0.101, 10.10.0.200" in elastic, "load-balancer addresses on the gateway node"


def test_nodes_without_user_data_an_ami_data_source_and_a_new_rule(default_stack):
    stack = copy.deepcopy(default_stack)
    for instance in stack["resource"]["aws_instance"].values():
        instance.pop("user_data", None)
        instance["ami"] = "${data.aws_ami.talos.id}"
    stack["data"]["aws_ami"] = {"talos": {"most_recent": True, "owners": ["540036508848"]}}
    [bastion_group] = [n for n in stack["resource"]["aws_security_group"] if "bastion" in n]
    [node_group] = [n for n in stack["resource"]["aws_security_group"] if "nodes" in n]
    stack["resource"]["aws_vpc_security_group_ingress_rule"]["extra_5000"] = {
        "from_port": 5000,
        "to_port": 5000,
        "ip_protocol": "tcp",
        "referenced_security_group_id": f"${{aws_security_group.{node_group}.id}}",
        "security_group_id": f"${{aws_security_group.{bastion_group}.id}}",
    }
    diagram = build(stack)
    assert "aws_vpc_security_group_ingress_rule.extra_5000" in diagram.drawn
    text = to_mermaid(diagram)
    mermaid_structure(text)
    assert "tcp 5000" in text and text.count("t4g.medium, 50 GB gp3") == 3


def test_diagram_is_deterministic(default_stack):
    assert to_dot(build(default_stack)) == to_dot(build(copy.deepcopy(default_stack)))


def test_labels_are_escaped_for_both_writers():
    tricky = 'a "quoted" <name> & #1\nsecond line'
    diagram = Diagram(
        "t",
        (Group("g", tricky, None, "vpc"),),
        (Box("a", tricky, "g"), Box("b", "b", None)),
        (Link("a", "b", tricky, "route"),),
        (),
    )
    text = to_mermaid(diagram)
    mermaid_structure(text)
    assert "#quot;quoted#quot; #60;name#62; #38; #35;1<br/>second line" in text
    result = subprocess.run([require_dot(), "-Tsvg"], input=to_dot(diagram), capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "&quot;quoted&quot; &lt;name&gt; &amp; #1" in result.stdout
