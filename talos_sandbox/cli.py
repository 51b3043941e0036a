"""The command line: parse arguments, call the library, turn errors into exit status 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .config import load_config
from .errors import SandboxError

EXIT_ERROR = 2


def _synth(args: argparse.Namespace) -> int:
    from .synth import synthesize

    configs = [load_config(path) for path in (args.config or [None])]
    for stack_dir in synthesize(configs, args.out):
        print(f"wrote {stack_dir / 'cdk.tf.json'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m talos_sandbox",
        description="Synthesize Terraform JSON for a Talos Linux sandbox on arm64 EC2.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    synth = commands.add_parser("synth", help="write cdktf.out/stacks/<name>/cdk.tf.json")
    synth.add_argument(
        "--config",
        action="append",
        metavar="FILE",
        help="sandbox config (YAML); repeat for several sandboxes. Default: the embedded design.",
    )
    synth.add_argument("--out", default="cdktf.out", metavar="DIR", help="output folder (default: cdktf.out)")
    synth.set_defaults(run=_synth)
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
