"""The CLI and main.py: exit codes, messages, and the config they pick."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from talos_sandbox.cli import main

from .conftest import REPO_ROOT


def test_synth_writes_the_stack(tmp_path, capsys):
    assert main(["synth", "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "stacks" / "cozy-demo" / "cdk.tf.json").is_file()
    assert "cdk.tf.json" in capsys.readouterr().out


def test_bad_config_exits_2_with_one_message_and_keeps_output(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["synth", "--out", str(out)]) == 0
    before = (out / "stacks" / "cozy-demo" / "cdk.tf.json").read_bytes()
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes:\n  - name: n1\n    private_ip: 10.10.0.1\n")
    capsys.readouterr()
    assert main(["synth", "--config", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "nodes[0].private_ip" in err and "reserved by AWS" in err and "Traceback" not in err
    assert (out / "stacks" / "cozy-demo" / "cdk.tf.json").read_bytes() == before


def test_missing_config_file_exits_2(tmp_path, capsys):
    assert main(["synth", "--config", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "o")]) == 2
    assert "config file not found" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def run_python(*args: str, env: dict[str, str] | None = None, cwd=REPO_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_main_py_reads_the_config_named_in_the_environment(tmp_path):
    config = tmp_path / "lab.yaml"
    config.write_text("name: lab-one\nnodes:\n  - name: n1\n    private_ip: 10.10.0.10\n")
    result = run_python(
        str(REPO_ROOT / "main.py"), env={"TALOS_SANDBOX_CONFIG": str(config), "CDKTF_OUTDIR": str(tmp_path / "out")}
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "stacks" / "lab-one" / "cdk.tf.json").is_file()
    assert result.stderr == "", "no jsii banner or warnings"


def test_main_py_reads_the_cdktf_context(tmp_path):
    config = tmp_path / "ctx.yaml"
    config.write_text("name: from-context\nnodes:\n  - name: n1\n    private_ip: 10.10.0.10\n")
    context = json.dumps({"talosSandboxConfig": str(config)})
    result = run_python(
        str(REPO_ROOT / "main.py"), env={"CDKTF_CONTEXT_JSON": context, "CDKTF_OUTDIR": str(tmp_path / "out")}
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "stacks" / "from-context").is_dir()


def test_module_cli_error_has_no_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    result = run_python("-m", "talos_sandbox", "synth", "--config", str(bad), "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "line" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("\n") <= 3
