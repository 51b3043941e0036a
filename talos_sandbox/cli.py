"""The command line: parse arguments, call the library, turn errors into exit status 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .config import load_config
from .errors import SandboxError

EXIT_POLICY_FAILED = 1
EXIT_ERROR = 2


def _synth(args: argparse.Namespace) -> int:
    from .synth import synthesize

    configs = [load_config(path) for path in (args.config or [None])]
    for stack_dir in synthesize(configs, args.out):
        print(f"wrote {stack_dir / 'cdk.tf.json'}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from .policy import gate

    if args.stack:
        stack_dirs = args.stack
    else:
        from .synth import synthesize

        stack_dirs = synthesize([load_config(path) for path in (args.config or [None])], args.out)
    results = gate(stack_dirs, args.plan or [], args.reports)
    failed = [result for result in results if not result.passed]
    for result in results:
        verdict = "passed" if result.passed else f"FAILED ({len(result.failed_checks)} checks)"
        print(f"policy gate: {result.name} [{result.framework}] {verdict}")
        for finding in result.failed_checks:
            print(f"  {finding}")
    print(f"policy gate: {'FAILED' if failed else 'passed'}; reports in {args.reports}/")
    return EXIT_POLICY_FAILED if failed else 0


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        action="append",
        metavar="FILE",
        help="sandbox config (YAML); repeat for several sandboxes. Default: the embedded design.",
    )
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
