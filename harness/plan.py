"""Write the plan JSON of a synthesized stack, planned offline against moto.

    python -m harness.plan cdktf.out/stacks/cozy-demo reports/plans/cozy-demo.json

checkov's terraform_plan framework reads this JSON and sees what the JSON scan misses
(values resolved across resources, provider defaults).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from .offline import TerraformMissing, moto_server, prepare_stack


def plan_json(stack_dir: Path, output: Path) -> None:
    stack = json.loads((stack_dir / "cdk.tf.json").read_text())
    region = stack["provider"]["aws"][0]["region"]
    with tempfile.TemporaryDirectory(prefix="talos-sandbox-plan-") as scratch:
        scratch_dir = Path(scratch)
        with moto_server(scratch_dir / "moto.log") as moto:
            terraform = prepare_stack(stack_dir, scratch_dir / "stack", moto.url, region, for_apply=False)
            terraform.run("plan", "-input=false", "-no-color", "-out=sandbox.tfplan")
            shown = terraform.run("show", "-json", "sandbox.tfplan").stdout
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(shown)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.plan", description=__doc__.splitlines()[0])
    parser.add_argument("stack_dir", type=Path, help="a folder holding cdk.tf.json")
    parser.add_argument("output", type=Path, help="where to write the plan JSON")
    args = parser.parse_args(argv)
    try:
        plan_json(args.stack_dir, args.output)
    except (TerraformMissing, AssertionError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
