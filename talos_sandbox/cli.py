"""The command line: parse arguments, call the library, turn errors into exit status 2."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .config import SandboxConfig, load_config
from .errors import SandboxError

EXIT_POLICY_FAILED = 1
EXIT_ERROR = 2


def _configs(args: argparse.Namespace) -> list[SandboxConfig]:
    return [load_config(path) for path in (args.config or [None])]


def _synth(args: argparse.Namespace) -> int:
    from .outputs.lint import lint
    from .synth import synthesize

    configs = _configs(args)
    for stack_dir in synthesize(configs, args.out):
        print(f"wrote {stack_dir / 'cdk.tf.json'}")
    for config in configs:
        findings = lint(config)
        for finding in findings:
            print(f"warning: {config.name}: {finding.one_line()}", file=sys.stderr)
        if findings:
            print(f"warning: {config.name}: `python -m talos_sandbox lint` says why and how to fix", file=sys.stderr)
    return 0


def _lint(args: argparse.Namespace) -> int:
    from .outputs.lint import lint, report
    from .outputs.lint.formats import LintResult, to_json, to_sarif

    results = []
    for path in args.config or [None]:
        config = load_config(path)
        results.append(LintResult(config, path, lint(config)))
    if args.format == "json":
        print(to_json(results))
    elif args.format == "sarif":
        print(to_sarif(results))
    else:
        for result in results:
            print(f"== {result.config.name}\n{report(result.findings)}\n")
    found = any(result.findings for result in results)
    return EXIT_POLICY_FAILED if found and args.strict else 0


def _cost(args: argparse.Namespace) -> int:
    from .outputs.cost import estimate, estimate_record, format_estimate, load_prices

    prices = load_prices(args.prices)
    estimates = [estimate(config, prices) for config in _configs(args)]
    if args.format == "json":
        print(json.dumps({"sandboxes": [estimate_record(e) for e in estimates]}, indent=2))
    else:
        print("\n\n".join(format_estimate(e) for e in estimates))
    return 0


def _diagram(args: argparse.Namespace) -> int:
    from .outputs.diagram import build, require_dot, to_dot, to_mermaid, to_svg
    from .synth import STACK_FILE, synthesize

    config = load_config(args.config)
    if args.format == "svg":
        require_dot()
    # Drawn from a real synth, in a scratch folder: cdktf.out is never touched.
    with tempfile.TemporaryDirectory(prefix="talos-sandbox-diagram-") as scratch:
        [stack_dir] = synthesize([config], Path(scratch) / "out")
        stack = json.loads((stack_dir / STACK_FILE).read_text(encoding="utf-8"))
    diagram = build(stack, title=config.name)
    if args.format == "mermaid":
        sys.stdout.write(to_mermaid(diagram))
    elif args.format == "dot":
        sys.stdout.write(to_dot(diagram))
    else:
        sys.stdout.write(to_svg(to_dot(diagram)))
    return 0


def _next_steps(args: argparse.Namespace) -> int:
    from .outputs.runbook import next_steps, runbook

    configs = _configs(args)
    stack_dirs = [str(Path(args.out) / "stacks" / config.name) for config in configs]
    if args.format == "json":
        runbooks = [runbook(config, stack_dir).as_dict() for config, stack_dir in zip(configs, stack_dirs)]
        print(json.dumps(runbooks, indent=2))
        return 0
    for config, stack_dir in zip(configs, stack_dirs):
        print(next_steps(config, stack_dir))
    return 0


def _check(args: argparse.Namespace) -> int:
    from .outputs.policy_gate import gate

    if args.stack:
        stack_dirs = args.stack
    else:
        from .synth import synthesize

        stack_dirs = synthesize(_configs(args), args.out)
    results = gate(stack_dirs, args.plan or [], args.reports)
    failed = [result for result in results if not result.passed]
    for result in results:
        verdict = "passed" if result.passed else f"FAILED ({len(result.failed_checks)} checks)"
        print(f"policy gate: {result.name} [{result.framework}: {result.target}] {verdict}")
        for finding in result.failed_checks:
            print(f"  {finding}")
    print(f"policy gate: {'FAILED' if failed else 'passed'}; reports in {args.reports}/")
    return EXIT_POLICY_FAILED if failed else 0


def _add_config_options(parser: argparse.ArgumentParser, out: bool = True) -> None:
    parser.add_argument(
        "--config",
        action="append",
        metavar="FILE",
        help="sandbox config (YAML); repeat for several sandboxes. Default: the embedded design.",
    )
    if out:
        parser.add_argument("--out", default="cdktf.out", metavar="DIR", help="output folder (default: cdktf.out)")


def _add_format_option(parser: argparse.ArgumentParser, **formats: str) -> None:
    """--format: each format with what it is; the first is the default."""
    default = next(iter(formats))
    described = ", ".join(f"{name} ({text})" for name, text in formats.items())
    parser.add_argument("--format", choices=tuple(formats), default=default, help=f"{described}; default {default}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m talos_sandbox",
        description="Synthesize Terraform JSON for a Talos Linux sandbox on EC2 (arm64 or amd64).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    synth = commands.add_parser("synth", help="write cdktf.out/stacks/<name>/cdk.tf.json")
    _add_config_options(synth)
    synth.set_defaults(run=_synth)

    check = commands.add_parser(
        "check",
        help="policy gate: synthesize, then run checkov on the JSON (and on plan JSON files given)",
        description="Exit 0 when every check passes, 1 when any fails, 2 on errors.",
    )
    _add_config_options(check)
    check.add_argument(
        "--stack",
        action="append",
        type=Path,
        metavar="DIR",
        help="scan this already-synthesized stack folder instead of synthesizing (repeatable)",
    )
    check.add_argument(
        "--plan",
        action="append",
        type=Path,
        metavar="FILE",
        help="also scan this plan JSON (`terraform show -json plan`) with terraform_plan (repeatable)",
    )
    check.add_argument("--reports", type=Path, default=Path("reports"), metavar="DIR", help="JUnit XML and SARIF go here")
    check.set_defaults(run=_check)

    lint = commands.add_parser(
        "lint",
        help="design lint: where the config will fail on AWS, why, and the fix",
        description="Exit 0 with warnings; 1 under --strict when there is any finding; 2 on errors.",
    )
    _add_config_options(lint, out=False)
    lint.add_argument("--strict", action="store_true", help="exit 1 when there is any finding")
    _add_format_option(
        lint, text="a report", json="stable keys, see README", sarif="SARIF 2.1.0 for code scanning"
    )
    lint.set_defaults(run=_lint)

    cost = commands.add_parser("cost", help="monthly cost: the schedule (or the design's 5 h/day) and always-on")
    _add_config_options(cost, out=False)
    cost.add_argument("--prices", metavar="FILE", help="price table (YAML/JSON) merged over the embedded one")
    _add_format_option(cost, text="a table", json="stable keys, see README")
    cost.set_defaults(run=_cost)

    diagram = commands.add_parser(
        "diagram",
        help="the sandbox's network drawn from its synthesized stack (Mermaid, Graphviz DOT or SVG)",
        description="Synthesizes into a scratch folder (cdktf.out is not touched) and draws the result.",
    )
    diagram.add_argument("--config", metavar="FILE", help="sandbox config (YAML). Default: the embedded design.")
    _add_format_option(diagram, mermaid="as in the stack's README.md", svg="needs Graphviz' dot", dot="Graphviz DOT")
    diagram.set_defaults(run=_diagram)

    next_steps = commands.add_parser("next-steps", help="the operator runbook after synth: apply, reach, install, bootstrap")
    _add_config_options(next_steps)
    _add_format_option(next_steps, text="the runbook to read", json="a list with one runbook per config, keys in README")
    next_steps.set_defaults(run=_next_steps)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except SandboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - one clear line, never a traceback
        print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
