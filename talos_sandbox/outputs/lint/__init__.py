"""Design lint: where a sandbox config will fail or mislead on real AWS.

Each rule lives in its own file under `rules/`, with a stable id, the reason (and its
public source) and the fix. `lint(config)` runs them all; `synth` prints the same
findings as warnings, `python -m talos_sandbox lint` prints them as a report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from ...config import SandboxConfig

Problem = tuple[str, str]
"""(config field, what is wrong there)."""


@dataclass(frozen=True)
class Rule:
    rule_id: str
    title: str
    reason: str
    source: str
    fix: str
    check: Callable[[SandboxConfig], Iterable[Problem]]
    # "error": the sandbox will not work as configured; "warning": it works, but not as the design expects.
    severity: Literal["error", "warning"] = "warning"


@dataclass(frozen=True)
class Finding:
    rule: Rule
    field: str
    problem: str

    def one_line(self) -> str:
        return f"{self.rule.rule_id} {self.field}: {self.problem}"


def nodes_by_type_field(config: SandboxConfig) -> dict[tuple[str, str], list[str]]:
    """Node names grouped by (the config field that sets their type, the type)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for index, node in enumerate(config.nodes):
        field = f"nodes[{index}].instance_type" if node.instance_type else "node_defaults.instance_type"
        groups.setdefault((field, config.node_instance_type(node)), []).append(node.name)
    return groups


def image_repository(image: str) -> str:
    """`registry/path` of an image reference, without tag or digest."""
    name = image.split("@")[0]
    head, _, last = name.rpartition("/")
    return f"{head}/{last.split(':')[0]}"


def lint(config: SandboxConfig) -> list[Finding]:
    from .rules import RULES

    return [Finding(rule, field, problem) for rule in RULES for field, problem in rule.check(config)]


def report(findings: list[Finding]) -> str:
    """Findings grouped by rule: where, then why (with its source) and the fix, once per rule."""
    if not findings:
        return "no findings"
    blocks = []
    for rule in dict.fromkeys(finding.rule for finding in findings):
        places = "\n".join(f"  at:     {f.field}: {f.problem}" for f in findings if f.rule == rule)
        blocks.append(
            f"{rule.rule_id} {rule.title}\n{places}\n  why:    {rule.reason}\n"
            f"  source: {rule.source}\n  fix:    {rule.fix}"
        )
    return "\n\n".join(blocks) + f"\n\n{len(findings)} finding(s) from {len(blocks)} rule(s)"
