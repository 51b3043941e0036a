"""The policy gate: checkov over the synthesized JSON and, when given, plan JSON files.

The policy itself is `.checkov.yaml` at the repository root. Every scan writes JUnit XML
and SARIF under the reports folder and prints checkov's normal console output; any
failed check fails the gate. A JSON scan is named `<stack>.json-scan`, a plan scan after
its file (`cozy-demo.live-plan.json` -> `cozy-demo.live-plan`), so the summary says which
plan each finding came from.
"""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import SandboxError

POLICY_FILE = Path(__file__).resolve().parents[2] / ".checkov.yaml"


@dataclass(frozen=True)
class ScanResult:
    name: str
    framework: str
    target: Path
    failed_checks: tuple[str, ...]
    """`CHECK_ID resource: check name` for each failure, read from the JUnit report."""

    @property
    def passed(self) -> bool:
        return not self.failed_checks


def scan(target: Path, framework: str, reports_dir: Path, name: str) -> ScanResult:
    """Run checkov on a stack folder (terraform_json) or a plan JSON file (terraform_plan)."""
    if not target.exists():
        raise SandboxError(f"{target}: nothing to scan")
    reports_dir.mkdir(parents=True, exist_ok=True)
    junit, sarif = reports_dir / f"{name}.xml", reports_dir / f"{name}.sarif"
    command = [
        sys.executable, "-m", "checkov.main",
        "--config-file", str(POLICY_FILE),
        "--framework", framework,
        "--skip-download",
        "-o", "cli", "-o", "junitxml", "-o", "sarif",
        "--output-file-path", f"console,{junit},{sarif}",
        "-d" if target.is_dir() else "-f", str(target),
    ]  # fmt: skip
    print(f"== checkov {framework}: {target}", flush=True)
    try:
        completed = subprocess.run(command, check=False)
    except FileNotFoundError:
        raise SandboxError("cannot run checkov; install the dev packages (make setup)") from None
    if not (junit.exists() and sarif.exists()):
        raise SandboxError(f"checkov wrote no report for {target} (exit status {completed.returncode})")
    failures = _junit_failures(junit)
    if completed.returncode != 0 and not failures:
        raise SandboxError(f"checkov failed on {target} (exit status {completed.returncode}) without a finding")
    return ScanResult(name=name, framework=framework, target=target, failed_checks=failures)


def _junit_failures(junit: Path) -> tuple[str, ...]:
    """checkov names a test case `[SEVERITY][CHECK_ID] check name` and writes `Resource: ...`
    into its failure (SARIF carries no resource for a plan scan)."""
    failures = []
    for case in ElementTree.parse(junit).iter("testcase"):
        failure = case.find("failure")
        if failure is None:
            continue
        check = re.match(r"\[[^]]*\]\[([^]]+)\] (.*)", case.get("name", ""))
        check_id, check_name = check.groups() if check else (case.get("name", "?"), "")
        resource = re.search(r"^Resource: (.+)$", failure.text or "", re.MULTILINE)
        failures.append(f"{check_id} {resource.group(1) if resource else '?'}: {check_name}")
    return tuple(sorted(failures))


def gate(stack_dirs: Iterable[Path], plan_files: Iterable[Path], reports_dir: Path) -> list[ScanResult]:
    results = [scan(stack, "terraform_json", reports_dir, f"{stack.name}.json-scan") for stack in stack_dirs]
    results += [scan(plan, "terraform_plan", reports_dir, plan.stem) for plan in plan_files]
    return results
