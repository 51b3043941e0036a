"""Lint findings as JSON and SARIF."""

from __future__ import annotations

import json

from talos_sandbox.config import default_config, load_config
from talos_sandbox.outputs.lint import lint
from talos_sandbox.outputs.lint.formats import LintResult, to_json, to_sarif
from talos_sandbox.outputs.lint.rules import RULES

from ...conftest import REPO_ROOT

FINDING_KEYS = {"id", "severity", "title", "field", "message", "reason", "source", "fix"}


def test_json_has_stable_keys_for_every_finding():
    config = default_config()
    document = json.loads(to_json([LintResult(config, None, lint(config))]))
    assert set(document) == {"sandboxes", "count"}
    [sandbox] = document["sandboxes"]
    assert sandbox["name"] == "cozy-demo" and sandbox["config"] is None
    assert document["count"] == len(sandbox["findings"]) == len(lint(config))
    for finding in sandbox["findings"]:
        assert set(finding) == FINDING_KEYS and finding["severity"] in ("error", "warning")
    egress = next(f for f in sandbox["findings"] if f["id"] == "TSL005")
    assert egress["severity"] == "error" and egress["field"] == "bastion.wireguard.peer_endpoint"


def test_sarif_points_at_the_config_file_and_line(monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    path = "examples/cozy-demo.yaml"
    config = load_config(path)
    log = json.loads(to_sarif([LintResult(config, path, lint(config))]))
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    [run] = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == [rule.rule_id for rule in RULES]
    assert all(rule["help"]["text"] and rule["shortDescription"]["text"] for rule in rules)
    lines = (REPO_ROOT / path).read_text().splitlines()
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] and result["level"] in ("error", "warning")
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == path
        parts = result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].split(".")[1:]
        # The field's own line, or its nearest parent's when the file leaves the field to its default.
        written = [part for part in parts if any(line.lstrip().startswith(f"{part}:") for line in lines)]
        assert lines[physical["region"]["startLine"] - 1].lstrip().startswith(f"{written[-1]}:"), result
    assert {result["ruleId"] for result in run["results"]} >= {"TSL001", "TSL005"}
