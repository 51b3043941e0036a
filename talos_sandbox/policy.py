"""The policy gate: checkov over the synthesized JSON and, when given, the offline plan.

The policy itself is `.checkov.yaml` at the repository root. Every scan writes JUnit XML
and SARIF under the reports folder and prints checkov's normal console output; any
failed check fails the gate.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import SandboxError

POLICY_FILE = Path(__file__).resolve().parent.parent / ".checkov.yaml"


@dataclass(frozen=True)
class ScanResult:
    name: str
    framework: str
    failed_checks: tuple[str, ...]
    """`CHECK_ID resource` for each failure, read from the SARIF report."""

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
    if not sarif.exists():
        raise SandboxError(f"checkov wrote no report for {target} (exit status {completed.returncode})")
    failures = _sarif_failures(sarif)
    if completed.returncode != 0 and not failures:
        raise SandboxError(f"checkov failed on {target} (exit status {completed.returncode}) without a finding")
    return ScanResult(name=name, framework=framework, failed_checks=failures)


def _sarif_failures(sarif: Path) -> tuple[str, ...]:
    report = json.loads(sarif.read_text())
    failures = []
    for run in report.get("runs", []):
        for result in run.get("results", []):
            location = result.get("locations", [{}])[0].get("physicalLocation", {}).get("artifactLocation", {})
            resource = result.get("message", {}).get("text", "") or location.get("uri", "")
            failures.append(f"{result['ruleId']} {resource}".strip())
    return tuple(sorted(failures))


def gate(stack_dirs: Iterable[Path], plan_files: Iterable[Path], reports_dir: Path) -> list[ScanResult]:
    results = [scan(stack, "terraform_json", reports_dir, f"{stack.name}.json-scan") for stack in stack_dirs]
    results += [scan(plan, "terraform_plan", reports_dir, f"{plan.stem}.plan-scan") for plan in plan_files]
    return results
