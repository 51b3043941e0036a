"""Lint findings for machines: JSON (stable keys) and SARIF 2.1.0 for code scanning."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ...config import SandboxConfig, field_line
from . import Finding, Rule

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


@dataclass(frozen=True)
class LintResult:
    """One config's findings, and the file it came from (None: the embedded default)."""

    config: SandboxConfig
    path: str | None
    findings: list[Finding]


def finding_record(finding: Finding) -> dict[str, str]:
    rule = finding.rule
    return {
        "id": rule.rule_id,
        "severity": rule.severity,
        "title": rule.title,
        "field": finding.field,
        "message": finding.problem,
        "reason": rule.reason,
        "source": rule.source,
        "fix": rule.fix,
    }


def to_json(results: list[LintResult]) -> str:
    document = {
        "sandboxes": [
            {
                "name": result.config.name,
                "config": result.path,
                "findings": [finding_record(finding) for finding in result.findings],
            }
            for result in results
        ],
        "count": sum(len(result.findings) for result in results),
    }
    return json.dumps(document, indent=2)


def _artifact_uri(path: str) -> str:
    """Relative to the working directory when inside it (code scanning wants repository paths)."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_uri()


def _sarif_rule(rule: Rule) -> dict:
    return {
        "id": rule.rule_id,
        "name": rule.title,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.reason},
        "help": {"text": f"{rule.fix}\nSource: {rule.source}", "markdown": f"{rule.fix}\n\nSource: {rule.source}"},
        "defaultConfiguration": {"level": rule.severity},
        "properties": {"source": rule.source},
    }


def _location(result: LintResult, finding: Finding, texts: dict[str, str]) -> dict:
    logical = {"fullyQualifiedName": f"{result.config.name}.{finding.field}", "kind": "member"}
    location: dict = {"logicalLocations": [logical]}
    if result.path is not None:
        # Code scanning shows a result only with a line; a field left at its default is
        # reported at the first line of the file.
        line = field_line(texts[result.path], finding.field) or 1
        location["physicalLocation"] = {
            "artifactLocation": {"uri": _artifact_uri(result.path)},
            "region": {"startLine": line},
        }
    return location


def to_sarif(results: list[LintResult]) -> str:
    from .rules import RULES

    index = {rule.rule_id: position for position, rule in enumerate(RULES)}
    texts = {r.path: Path(r.path).read_text(encoding="utf-8") for r in results if r.path is not None}
    sarif_results = [
        {
            "ruleId": finding.rule.rule_id,
            "ruleIndex": index[finding.rule.rule_id],
            "level": finding.rule.severity,
            "message": {"text": f"{result.config.name}: {finding.field}: {finding.problem}. Fix: {finding.rule.fix}"},
            "locations": [_location(result, finding, texts)],
        }
        for result in results
        for finding in result.findings
    ]
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "talos-sandbox lint",
                        "rules": [_sarif_rule(rule) for rule in RULES],
                    }
                },
                "results": sarif_results,
            }
        ],
    }
    return json.dumps(document, indent=2)
