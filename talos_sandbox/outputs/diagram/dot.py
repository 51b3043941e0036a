"""The diagram as Graphviz DOT, and DOT to SVG through Graphviz' `dot`."""

from __future__ import annotations

import shutil
import subprocess

from ...errors import SandboxError
from .mermaid import LINK_COLORS
from .model import Box, Diagram, Group, hops_from_internet, within

_DOT_STYLE = {
    "route": f'color="{LINK_COLORS["route"]}"',
    "allow": f'color="{LINK_COLORS["allow"]}", penwidth=1.6',
    "egress": f'color="{LINK_COLORS["egress"]}", style=dashed',
    "attach": f'color="{LINK_COLORS["attach"]}", arrowhead=none',
}
_GROUP_FILLS = {"vpc": "#f6f8fa", "subnet": "#eaeef2", "security_group": "#fff8c5"}
_DOT_SHAPES = {"box": "box", "round": "ellipse", "cloud": "ellipse"}


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_dot(diagram: Diagram) -> str:
    lines = [
        "digraph sandbox {",
        '  graph [compound=true, rankdir=TB, newrank=true, fontname="Helvetica", fontsize=12, nodesep=0.35,',
        f'    ranksep=0.55, label="{_dot_text(diagram.title)}", labelloc=t];',
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    children: dict[str | None, list[Group | Box]] = {}
    for item in (*diagram.groups, *diagram.boxes):
        children.setdefault(item.parent, []).append(item)
    anchors: dict[str, str] = {}  # group -> a box inside it, for arrows that end at the group

    def emit(parent: str | None, depth: int) -> str | None:
        indent = "  " * depth
        first = None
        for item in children.get(parent, []):
            if isinstance(item, Group):
                lines.append(f"{indent}subgraph cluster_{item.id} {{")
                lines.append(f'{indent}  label="{_dot_text(item.label)}"; style="rounded,filled";')
                lines.append(f'{indent}  fillcolor="{_GROUP_FILLS[item.kind]}"; color="#57606a";')
                inner = emit(item.id, depth + 1)
                members = [child.id for child in children.get(item.id, []) if isinstance(child, Box)]
                if item.kind == "security_group" and len(members) > 1:
                    # A group's members side by side, so an arrow to the group meets all of them.
                    lines.append(f"{indent}  {{ rank=same; {'; '.join(members)}; }}")
                    lines.append(f"{indent}  {' -> '.join(members)} [style=invis];")
                if inner is None:
                    inner = f"{item.id}__anchor"
                    lines.append(f"{indent}  {inner} [shape=point, style=invis];")
                anchors[item.id] = inner
                lines.append(f"{indent}}}")
                first = first or inner
            else:
                fill = "#ddf4ff" if item.shape == "cloud" else "#ffffff"
                shape = _DOT_SHAPES[item.shape]
                lines.append(f'{indent}{item.id} [label="{_dot_text(item.label)}", shape={shape}, fillcolor="{fill}"];')
                first = first or item.id
        return first

    emit(None, 1)
    outside = [box.id for box in diagram.boxes if box.parent is None]
    lines.append(f"  {{ rank=min; {'; '.join(outside)}; }}")
    parents = {item.id: item.parent for item in (*diagram.groups, *diagram.boxes)}
    kinds = {group.id: group.kind for group in diagram.groups}

    def in_subnet(item: str | None) -> bool:
        while item is not None:
            if kinds.get(item) == "subnet":
                return True
            item = parents.get(item)
        return False

    hops = hops_from_internet(diagram)

    def distance(item: str) -> float:
        inside = [hops[box.id] for box in diagram.boxes if box.id in hops and within(box.id, item, parents)]
        return min(inside, default=float("inf"))

    for link in diagram.links:
        label = link.label.replace(", ", "\n") if link.kind == "allow" else link.label
        attributes = [f'label="{_dot_text(label)}"', _DOT_STYLE[link.kind]]
        source, target = link.source, link.target
        # Rank from the internet down: gateways and endpoints above the route table that
        # uses them, and of two security groups the one nearer the internet on top.
        upward = (link.kind == "route" and not in_subnet(target)) or (
            link.kind == "allow" and distance(target) < distance(source)
        )
        if upward:
            source, target = target, source
            attributes.append("dir=back")
        if source in anchors:
            attributes.append(f"ltail=cluster_{source}")
            source = anchors[source]
        if target in anchors:
            attributes.append(f"lhead=cluster_{target}")
            target = anchors[target]
        lines.append(f"  {source} -> {target} [{', '.join(attributes)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def require_dot() -> str:
    """The path of Graphviz' `dot` program, or a clear error naming it."""
    dot = shutil.which("dot")
    if dot is None:
        raise SandboxError(
            "--format svg needs Graphviz's `dot` program on PATH (Debian/Ubuntu: apt-get install graphviz)"
        )
    return dot


def to_svg(dot_text: str) -> str:
    """Render DOT with Graphviz' `dot` program."""
    result = subprocess.run([require_dot(), "-Tsvg"], input=dot_text, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SandboxError(f"dot failed: {result.stderr.strip()}")
    return result.stdout
