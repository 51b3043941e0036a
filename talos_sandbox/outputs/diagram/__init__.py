"""The sandbox's network picture, drawn from its synthesized Terraform JSON: read the
stack into a model (`stack_reader`), write it as Mermaid or Graphviz DOT/SVG."""

from .dot import require_dot, to_dot, to_svg
from .mermaid import to_mermaid
from .model import Box, Diagram, Group, Link, node_id
from .stack_reader import build

__all__ = ["Box", "Diagram", "Group", "Link", "build", "node_id", "require_dot", "to_dot", "to_mermaid", "to_svg"]
