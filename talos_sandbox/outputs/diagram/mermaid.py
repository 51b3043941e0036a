"""The diagram as Mermaid, as GitHub renders it in Markdown (the stack README's picture)."""

from __future__ import annotations

from .model import Box, Diagram, Group

LINK_COLORS = {"route": "#1f6feb", "allow": "#2da44e", "egress": "#bf8700", "attach": "#57606a"}
_MERMAID_SHAPES = {"box": ('["', '"]'), "round": ('("', '")'), "cloud": ('(["', '"])')}
_MERMAID_ARROWS = {"route": "-->", "allow": "==>", "egress": "-.->", "attach": "---"}


def _mermaid_text(text: str) -> str:
    """Inside Mermaid's quoted labels: Mermaid's entity codes for what would end or break
    the label, <br/> for new lines."""
    for raw, code in (("#", "#35;"), ('"', "#quot;"), ("&", "#38;"), ("<", "#60;"), (">", "#62;"), ("\n", "<br/>")):
        text = text.replace(raw, code)
    return text


def to_mermaid(diagram: Diagram) -> str:
    lines = ["flowchart TB"]
    children: dict[str | None, list[Group | Box]] = {}
    for item in (*diagram.groups, *diagram.boxes):
        children.setdefault(item.parent, []).append(item)

    def emit(parent: str | None, depth: int) -> None:
        indent = "  " * depth
        for item in children.get(parent, []):
            if isinstance(item, Group):
                lines.append(f'{indent}subgraph {item.id}["{_mermaid_text(item.label)}"]')
                emit(item.id, depth + 1)
                lines.append(f"{indent}end")
            else:
                opening, closing = _MERMAID_SHAPES[item.shape]
                lines.append(f"{indent}{item.id}{opening}{_mermaid_text(item.label)}{closing}")

    emit(None, 1)
    for link in diagram.links:
        arrow = _MERMAID_ARROWS[link.kind]
        label = f'|"{_mermaid_text(link.label)}"|' if link.label else ""
        lines.append(f"  {link.source} {arrow}{label} {link.target}")
    for kind, color in LINK_COLORS.items():
        indices = [str(index) for index, link in enumerate(diagram.links) if link.kind == kind]
        if indices:
            lines.append(f"  linkStyle {','.join(indices)} stroke:{color}")
    return "\n".join(lines) + "\n"
