"""Synthesis: determinism, portability, all-or-nothing output, the backend."""

from __future__ import annotations

import json

import pytest

from talos_sandbox.config import default_config
from talos_sandbox.errors import SandboxError
from talos_sandbox.synth import synthesize

from .conftest import REPO_ROOT, make_config


def tree(folder):
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_two_synths_are_byte_identical(tmp_path):
    synthesize([default_config()], tmp_path / "a")
    synthesize([default_config()], tmp_path / "b")
    first, second = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert first == second
    assert "stacks/cozy-demo/cdk.tf.json" in first


def test_output_has_no_machine_specific_values(synth):
    stack_dir, _ = synth(default_config())
    for path in stack_dir.parent.parent.rglob("*"):
        if path.is_file():
            text = path.read_text()
            for leak in (str(REPO_ROOT), str(stack_dir.parent.parent), "/tmp/", "/home/", "/root/"):
                assert leak not in text, f"{path.name} contains {leak}"


def test_local_backend_is_relative(default_stack):
    assert default_stack["terraform"]["backend"] == {"local": {"path": "terraform.tfstate"}}


def test_s3_backend_locks_with_a_lock_file(synth):
    _, stack = synth(make_config(backend={"s3_bucket": "my-state"}))
    assert stack["terraform"]["backend"] == {
        "s3": {
            "bucket": "my-state",
            "key": "talos-sandbox/cozy-demo.tfstate",
            "region": "eu-west-1",
            "encrypt": True,
            "use_lockfile": True,
        }
    }


def test_s3_backend_with_dynamodb_lock(synth):
    _, stack = synth(make_config(backend={"s3_bucket": "lab-state", "s3_key": "k.tfstate", "dynamodb_table": "locks"}))
    backend = stack["terraform"]["backend"]["s3"]
    assert backend["dynamodb_table"] == "locks" and backend["key"] == "k.tfstate" and "use_lockfile" not in backend


def test_provider_pins_aws_5_100_0(default_stack):
    assert default_stack["terraform"]["required_providers"]["aws"]["version"] == "5.100.0"
    [provider] = default_stack["provider"]["aws"]
    assert provider["region"] == "eu-west-1"
    assert provider["default_tags"] == [{"tags": {"Demo": "cozystack-moon-and-back", "Sandbox": "cozy-demo"}}]


def test_failed_synth_leaves_earlier_output_untouched(tmp_path, monkeypatch):
    out = tmp_path / "cdktf.out"
    synthesize([default_config()], out)
    before = tree(out)

    def explode(*args, **kwargs):
        raise RuntimeError("boom in the middle of a synth")

    monkeypatch.setattr("talos_sandbox.synth._synthesize_into", explode)
    with pytest.raises(RuntimeError):
        synthesize([make_config(name="other")], out)
    assert tree(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["cdktf.out"], "no staging folder is left behind"


def test_duplicate_stack_names_are_refused(tmp_path):
    with pytest.raises(SandboxError, match="share the name cozy-demo"):
        synthesize([default_config(), default_config()], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_output_path_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "cdktf.out"
    target.write_text("not a folder")
    with pytest.raises(SandboxError, match="not a folder"):
        synthesize([default_config()], target)


def test_manifest_lists_the_stack(synth):
    stack_dir, _ = synth(default_config())
    manifest = json.loads((stack_dir.parent.parent / "manifest.json").read_text())
    assert manifest["stacks"]["cozy-demo"]["synthesizedStackPath"] == "stacks/cozy-demo/cdk.tf.json"
