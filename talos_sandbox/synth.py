"""Synthesize sandboxes into an output folder, all or nothing.

The app writes into a fresh temporary folder beside the target; only when every stack
and file is written does that folder replace the target. On any error the target is
left exactly as it was.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .config import SandboxConfig
from .errors import SandboxError

STACK_FILE = "cdk.tf.json"
README_FILE = "README.md"


def synthesize(configs: Sequence[SandboxConfig], out_dir: str | Path) -> list[Path]:
    """Write `out_dir/stacks/<name>/cdk.tf.json` (and its Talos patches) for each config."""
    names = [config.name for config in configs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise SandboxError(f"two configs share the name {', '.join(duplicates)}: each sandbox needs its own name")

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise SandboxError(f"{out_dir}: exists and is not a folder")
    parent = out_dir.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.synth-", dir=parent))
    except OSError as exc:
        raise SandboxError(f"{out_dir}: cannot write output: {exc.strerror or exc}") from None
    try:
        _synthesize_into(configs, staging)
        _replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [out_dir / "stacks" / name for name in names]


def _synthesize_into(configs: Sequence[SandboxConfig], staging: Path) -> None:
    # Imported here so that config errors are reported before the slow jsii load.
    from .outputs.stack_readme import stack_readme
    from .terraform import bindings as tf
    from .terraform.stack import SandboxStack

    app = tf.App(outdir=str(staging))
    stacks = [SandboxStack(app, config) for config in configs]
    app.synth()
    for stack in stacks:
        stack_dir = staging / "stacks" / stack.config.name
        # The README's diagram is drawn from the JSON just written, so it shows what Terraform gets.
        synthesized = json.loads((stack_dir / STACK_FILE).read_text(encoding="utf-8"))
        files = {**stack.extra_files(), README_FILE: stack_readme(stack.config, synthesized)}
        for relative, text in files.items():
            target = stack_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")


def _replace(staging: Path, out_dir: Path) -> None:
    previous = None
    if out_dir.exists():
        previous = out_dir.with_name(f"{staging.name}.previous")
        out_dir.rename(previous)
    try:
        staging.rename(out_dir)
    except OSError:
        if previous is not None:
            previous.rename(out_dir)
        raise
    if previous is not None:
        shutil.rmtree(previous)
