"""The command line: parse arguments, call the library, turn errors into exit status 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .config import SandboxConfig, load_config
from .errors import SandboxError

EXIT_POLICY_FAILED = 1
EXIT_ERROR = 2


def _configs(args: argparse.Namespace) -> list[SandboxConfig]:
    return [load_config(path) for path in (args.config or [None])]


def _synth(args: argparse.Namespace) -> int:
    from .lint import lint
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
    from .lint import lint, report

    findings = []
    for config in _configs(args):
        found = lint(config)
        print(f"== {config.name}\n{report(found)}\n")
        findings += found
    return EXIT_POLICY_FAILED if findings and args.strict else 0


def _cost(args: argparse.Namespace) -> int:
    from .cost import estimate, format_estimate, load_prices

    prices = load_prices(args.prices)
    print("\n\n".join(format_estimate(estimate(config, prices)) for config in _configs(args)))
    return 0


def _next_steps(args: argparse.Namespace) -> int:
    from .runbook import next_steps

    for config in _configs(args):
        print(next_steps(config, str(Path(args.out) / "stacks" / config.name)))
    return 0


def _check(args: argparse.Namespace) -> int:
    from .policy import gate

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m talos_sandbox",
        description="Synthesize Terraform JSON for a Talos Linux sandbox on arm64 EC2.",
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
    lint.set_defaults(run=_lint)

    cost = commands.add_parser("cost", help="monthly cost: the schedule (or the design's 5 h/day) and always-on")
    _add_config_options(cost, out=False)
    cost.add_argument("--prices", metavar="FILE", help="price table (YAML/JSON) merged over the embedded one")
    cost.set_defaults(run=_cost)

    next_steps = commands.add_parser("next-steps", help="the operator runbook after synth: apply, reach, install, bootstrap")
    _add_config_options(next_steps)
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
