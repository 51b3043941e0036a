"""The diagram model: groups (VPC, subnet, security group), boxes and arrows, and the
ids and labels every writer uses for them."""

from __future__ import annotations

import re
from dataclasses import dataclass

# `${aws_x.name.attr}` or `${data.aws_x.name.attr}`, also inside a function call.
_REFERENCE = re.compile(r"\b((?:data\.)?aws_[a-z0-9_]+\.[A-Za-z0-9_-]+)\.[a-z0-9_]+")

INTERNET = "internet"


@dataclass(frozen=True)
class Group:
    """A box that holds others: VPC, subnet, security group."""

    id: str
    label: str
    parent: str | None
    kind: str  # vpc | subnet | security_group


@dataclass(frozen=True)
class Box:
    id: str
    label: str
    parent: str | None
    shape: str = "box"  # box | round | cloud


@dataclass(frozen=True)
class Link:
    """An arrow. `kind`: route, allow (security-group path), egress, attach."""

    source: str
    target: str
    label: str
    kind: str
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Diagram:
    title: str
    groups: tuple[Group, ...]
    boxes: tuple[Box, ...]
    links: tuple[Link, ...]
    drawn: tuple[str, ...]
    """Every resource address the picture shows, as a box, a group or an arrow."""


def reference(value: object) -> str | None:
    """The address (`aws_x.name` or `data.aws_x.name`) a Terraform expression refers to."""
    if not isinstance(value, str):
        return None
    match = _REFERENCE.search(value)
    return match.group(1) if match else None


def plain(value: object) -> str:
    """A value for a label: a Terraform expression becomes the address it refers to."""
    text = str(value)
    if "${" not in text:
        return text
    return reference(text) or re.sub(r"[$%]\{([^}]*)\}", r"\1", text)


def node_id(address: str) -> str:
    """A diagram id valid in both Mermaid and DOT."""
    return "r_" + re.sub(r"[^A-Za-z0-9_]", "_", address)


def within(item: str | None, ancestor: str, parents: dict[str, str | None]) -> bool:
    while item is not None:
        if item == ancestor:
            return True
        item = parents.get(item)
    return False


def hops_from_internet(diagram: Diagram) -> dict[str, int]:
    """Links (other than security-group paths) between the internet and each box."""
    neighbours: dict[str, set[str]] = {}
    for link in diagram.links:
        if link.kind != "allow":
            neighbours.setdefault(link.source, set()).add(link.target)
            neighbours.setdefault(link.target, set()).add(link.source)
    hops, frontier = {INTERNET: 0}, [INTERNET]
    while frontier:
        following = []
        for item in frontier:
            for neighbour in sorted(neighbours.get(item, ())):
                if neighbour not in hops:
                    hops[neighbour] = hops[item] + 1
                    following.append(neighbour)
        frontier = following
    return hops
