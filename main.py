"""Entry point for `cdktf synth` (cdktf.json: `pipenv run python main.py`) and `python main.py`.

The config comes from TALOS_SANDBOX_CONFIG, else the cdktf.json context key
`talosSandboxConfig`, else the embedded default (the design's sandbox).
"""

import json
import os
import sys
from pathlib import Path

from talos_sandbox.cli import main

CONTEXT_KEY = "talosSandboxConfig"


def config_from_context() -> str | None:
    # `cdktf synth` passes cdktf.json's context in CDKTF_CONTEXT_JSON; a plain
    # `python main.py` reads cdktf.json itself.
    raw = os.environ.get("CDKTF_CONTEXT_JSON")
    if raw:
        context = json.loads(raw)
    else:
        cdktf_json = Path("cdktf.json")
        context = json.loads(cdktf_json.read_text()).get("context", {}) if cdktf_json.exists() else {}
    return context.get(CONTEXT_KEY) or None


if __name__ == "__main__":
    config = os.environ.get("TALOS_SANDBOX_CONFIG") or config_from_context()
    out = os.environ.get("CDKTF_OUTDIR", "cdktf.out")
    argv = ["synth", "--out", out] + (["--config", config] if config else [])
    sys.exit(main(argv))
