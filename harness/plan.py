"""Write the plan JSON of a synthesized stack, planned offline against moto.

    python -m harness.plan cdktf.out/stacks/cozy-demo reports/plans/cozy-demo.create-plan.json \\
        --live reports/plans/cozy-demo.live-plan.json

The create plan is the stack planned against an empty account: every attribute AWS
computes is still unknown in it. The live plan is made after the stack is applied, the
way a user's CI plans a sandbox that exists: it carries what AWS computed (a security
group's `egress` lists all of its separate rules), which is where some findings show.
checkov's terraform_plan framework reads both and sees what the JSON scan misses.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from .offline import Terraform, TerraformMissing, moto_server, prepare_stack

# What the apply-only harness override changes (monitoring, which moto cannot serve), as
# the live plan's in-place updates show it; any other change means the stack drifts.
HARNESS_ONLY_CHANGES = {"aws_instance": {"monitoring"}}


def live_plan_json(terraform: Terraform, moto_url: str, region: str) -> str:
    """The plan of an applied stack with the product's own settings.

    The stack was applied with the apply-only override; planning without it makes the
    planned values the product's (monitoring on) over what AWS computed, so the only
    changes are the override's, which is checked. The override is put back afterwards.
    """
    terraform.write_override(moto_url, region, for_apply=False)
    try:
        shown = terraform.plan_json()
    finally:
        terraform.write_override(moto_url, region, for_apply=True)
    drift = unexpected_changes(json.loads(shown))
    if drift:
        raise RuntimeError("the plan after apply is not empty but for the harness override:\n" + "\n".join(drift))
    return shown


def unexpected_changes(plan: dict) -> list[str]:
    """`address: actions [attributes]` for each planned change the harness does not explain."""
    unexpected = []
    for change in plan.get("resource_changes", []):
        actions = change["change"]["actions"]
        if actions in (["no-op"], ["read"]):
            continue
        before, after = change["change"]["before"] or {}, change["change"]["after"] or {}
        changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
        if actions != ["update"] or not changed <= HARNESS_ONLY_CHANGES.get(change["type"], set()):
            unexpected.append(f"{change['address']}: {'/'.join(actions)} {sorted(changed)}")
    return unexpected


def plan_json(stack_dir: Path, output: Path, live_output: Path | None = None) -> None:
    stack = json.loads((stack_dir / "cdk.tf.json").read_text())
    region = stack["provider"]["aws"][0]["region"]
    with tempfile.TemporaryDirectory(prefix="talos-sandbox-plan-") as scratch:
        scratch_dir = Path(scratch)
        with moto_server(scratch_dir / "moto.log") as moto:
            terraform = prepare_stack(stack_dir, scratch_dir / "stack", moto.url, region, for_apply=False)
            create_plan = terraform.plan_json()
            if live_output is not None:
                terraform.write_override(moto.url, region, for_apply=True)
                terraform.apply()
                live_plan = live_plan_json(terraform, moto.url, region)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(create_plan)
    if live_output is not None:
        live_output.parent.mkdir(parents=True, exist_ok=True)
        live_output.write_text(live_plan)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.plan", description=__doc__.splitlines()[0])
    parser.add_argument("stack_dir", type=Path, help="a folder holding cdk.tf.json")
    parser.add_argument("output", type=Path, help="where to write the create plan's JSON")
    parser.add_argument("--live", type=Path, metavar="FILE", help="also apply the stack, then write the live plan's JSON")
    args = parser.parse_args(argv)
    try:
        plan_json(args.stack_dir, args.output, args.live)
    except (TerraformMissing, AssertionError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for written in (args.output, args.live):
        if written is not None:
            print(f"wrote {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
