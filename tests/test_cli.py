"""The CLI and main.py: exit codes, messages, and the config they pick."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

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
    assert "end-of-life" not in result.stderr, "the jsii banner is silenced"
    assert "warning: lab-one: TSL001" in result.stderr, "synth reports the design lint"


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


def write_config(tmp_path, name: str, extra: str = "") -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\n{extra}nodes:\n  - name: n1\n    private_ip: 10.10.0.10\n    role: gateway\n")
    return str(path)


def test_two_configs_make_two_stacks(tmp_path, capsys):
    configs = [write_config(tmp_path, "sandbox"), write_config(tmp_path, "production", "region: us-east-1\n")]
    assert main(["synth", "--config", configs[0], "--config", configs[1], "--out", str(tmp_path / "out")]) == 0
    stacks = sorted(p.name for p in (tmp_path / "out" / "stacks").iterdir())
    assert stacks == ["production", "sandbox"]
    production = json.loads((tmp_path / "out" / "stacks" / "production" / "cdk.tf.json").read_text())
    assert production["provider"]["aws"][0]["region"] == "us-east-1"


def test_two_configs_with_one_name_are_refused(tmp_path, capsys):
    config = write_config(tmp_path, "same")
    assert main(["synth", "--config", config, "--config", config, "--out", str(tmp_path / "out")]) == 2
    assert "share the name same" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_lint_warns_and_strict_fails(tmp_path, capsys):
    assert main(["lint"]) == 0
    out = capsys.readouterr().out
    assert "TSL001" in out and "fix:" in out
    assert main(["lint", "--strict"]) == 1


def test_lint_strict_passes_a_clean_config(tmp_path, capsys):
    clean = write_config(
        tmp_path,
        "clean",
        "bastion:\n  ipv4_egress: public_ipv4\n  private_ip: 10.10.1.10\n"
        "network:\n  bastion_subnet_cidr: 10.10.1.0/28\n"
        "node_defaults:\n  instance_type: m7g.metal\n  data_volume_gb: 256\n"
        "loadbalancer:\n  mode: eni-secondary-ips\n  addresses: [10.10.0.200]\n"
        f"cozystack:\n  chart_sha256: '{'12' * 32}'\n"
        f"talos:\n  boot_to_talos_sha256: {'ab' * 32}\n  images:\n"
        f"    gateway: ghcr.io/urmanac/cozystack-assets/talos/cozystack-spin-tailscale/talos@sha256:{'cd' * 32}\n"
        f"    compute: ghcr.io/urmanac/cozystack-assets/talos/cozystack-spin-only/talos@sha256:{'ef' * 32}\n",
    )
    assert main(["lint", "--strict", "--config", clean]) == 0
    assert "no findings" in capsys.readouterr().out


def test_cost_prints_a_table_and_names_unknown_types(tmp_path, capsys):
    assert main(["cost"]) == 0
    assert "total / month" in capsys.readouterr().out
    unknown = write_config(tmp_path, "odd", "node_defaults:\n  instance_type: i8g.large\n")
    assert main(["cost", "--config", unknown]) == 2
    assert "no price for i8g.large in eu-west-1" in capsys.readouterr().err


def test_next_steps_prints_the_runbook(capsys):
    assert main(["next-steps"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Next steps for sandbox cozy-demo") and "--name /cozy-demo/cluster/status" in out


def test_next_steps_json_has_one_runbook_per_config(tmp_path, capsys):
    lab = write_config(tmp_path, "lab", "cozystack:\n  enabled: false\n")
    other = write_config(tmp_path, "lb")
    assert main(["next-steps", "--format", "json", "--out", "out", "--config", lab, "--config", other]) == 0
    runbooks = json.loads(capsys.readouterr().out)
    assert [(r["sandbox"], r["stack_dir"]) for r in runbooks] == [("lab", "out/stacks/lab"), ("lb", "out/stacks/lb")]
    for runbook in runbooks:
        assert set(runbook) == {"sandbox", "region", "stack_dir", "steps"}
        for step in runbook["steps"]:
            assert set(step) == {"id", "title", "notes", "commands", "where"}
            assert all(set(command) == {"run", "node"} for command in step["commands"])
    steps = [[step["id"] for step in runbook["steps"]] for runbook in runbooks]
    assert "install-cozystack" not in steps[0] and "install-cozystack" in steps[1]


def test_next_steps_format_is_text_or_json(capsys):
    with pytest.raises(SystemExit) as raised:
        main(["next-steps", "--format", "yaml"])
    assert raised.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_lint_json_and_sarif_keep_the_exit_codes(capsys):
    assert main(["lint", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["count"] > 0 and document["sandboxes"][0]["findings"][0]["id"] == "TSL001"
    assert main(["lint", "--format", "json", "--strict"]) == 1
    capsys.readouterr()
    example = str(REPO_ROOT / "examples" / "cozy-demo.yaml")
    assert main(["lint", "--format", "sarif", "--strict", "--config", example]) == 1
    log = json.loads(capsys.readouterr().out)
    assert log["version"] == "2.1.0" and log["runs"][0]["results"]


def test_cost_json(capsys):
    assert main(["cost", "--format", "json"]) == 0
    [sandbox] = json.loads(capsys.readouterr().out)["sandboxes"]
    assert sandbox["name"] == "cozy-demo" and sandbox["total"]["scheduled"] == 51.2


def test_diagram_formats_never_touch_cdktf_out(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["diagram"]) == 0
    assert capsys.readouterr().out.startswith("flowchart TB\n")
    assert main(["diagram", "--format", "dot"]) == 0
    assert capsys.readouterr().out.startswith("digraph sandbox {")
    if shutil.which("dot"):
        assert main(["diagram", "--format", "svg"]) == 0
        assert "</svg>" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == [], "no cdktf.out, no scratch folder left behind"


def test_diagram_svg_names_the_missing_program(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["diagram", "--format", "svg"]) == 2
    assert "needs Graphviz's `dot` program" in capsys.readouterr().err
