"""The fast provider loading: the same bytes as a plain import, with a fraction of it loaded."""

from __future__ import annotations

import os
import subprocess
import sys

from ..conftest import REPO_ROOT


def synth_in_fresh_process(out, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "main.py"],
        cwd=REPO_ROOT,
        env={**os.environ, "CDKTF_OUTDIR": str(out), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_output_is_byte_identical_to_a_plain_provider_import(tmp_path):
    fast = synth_in_fresh_process(tmp_path / "fast")
    eager = synth_in_fresh_process(tmp_path / "eager", TALOS_SANDBOX_EAGER_BINDINGS="1")
    assert fast.returncode == 0 and eager.returncode == 0, fast.stderr + eager.stderr
    assert tree(tmp_path / "fast") == tree(tmp_path / "eager")


def test_only_the_used_resource_modules_are_imported():
    probe = (
        "import sys, os, talos_sandbox.terraform.bindings; "
        "print(sum(m.startswith('cdktf_cdktf_provider_aws.') for m in sys.modules)); "
        "print(os.environ['NODE_OPTIONS'])"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    count, node_options = result.stdout.splitlines()
    assert 0 < int(count) < 100, "the package __init__ (2,100 modules) must not run"
    assert "lazy_provider_index.cjs" in node_options
