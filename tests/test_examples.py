"""Every example synthesizes on both architectures and on each Talos minor, and every
Talos document it writes is valid for that minor's schema (one app, many stacks)."""

from __future__ import annotations

import json

import yaml

from talos_sandbox.config import load_config, parse_config
from talos_sandbox.outputs.lint import lint
from talos_sandbox.synth import STACK_FILE, synthesize

from .conftest import REPO_ROOT, TALOS_VERSIONS
from .documents.talos_schema import file_errors

EXAMPLES = sorted((REPO_ROOT / "examples").glob("*.yaml"))
NODE_TYPES = {"arm64": "m7g.2xlarge", "amd64": "m8i.2xlarge"}


def variant(path, arch: str, version: str):
    document = load_config(path).model_dump(mode="json", exclude_none=True)
    document["name"] = f"{document['name'][:14]}-{arch}-{version.replace('.', '')}"
    document["node_defaults"] = {**document["node_defaults"], "instance_type": NODE_TYPES[arch]}
    document["nodes"] = [{k: v for k, v in node.items() if k != "instance_type"} for node in document["nodes"]]
    document["talos"] = {**document["talos"], "version": version}
    return parse_config(document)


def test_every_example_on_every_architecture_and_minor(tmp_path):
    configs = [variant(path, arch, version) for path in EXAMPLES for arch in NODE_TYPES for version in TALOS_VERSIONS]
    assert len({config.name for config in configs}) == len(configs) == len(EXAMPLES) * 6
    stack_dirs = synthesize(configs, tmp_path / "out")
    for config, stack_dir in zip(configs, stack_dirs):
        stack = json.loads((stack_dir / STACK_FILE).read_text())
        assert config.architecture in json.dumps(stack["data"]), config.name
        for patch in (stack_dir / "talos").iterdir():
            assert file_errors(patch.read_text(), config.talos_minor) == [], f"{config.name}: {patch.name}"
        for install in (stack_dir / "cozystack").glob("*.yaml") if config.cozystack.enabled else ():
            assert list(yaml.safe_load_all(install.read_text())), install
        assert all(finding.rule.rule_id for finding in lint(config))


def test_the_cozystack_profiles_meet_the_documented_minimum_and_say_what_they_lack():
    for arch in NODE_TYPES:
        config = load_config(REPO_ROOT / "examples" / f"cozystack-{arch}.yaml")
        found = {finding.rule.rule_id: finding for finding in lint(config)}
        assert config.architecture == arch and config.node_defaults.instance_type == NODE_TYPES[arch]
        assert "TSL002" not in found and "TSL016" not in found, "8 cores / 24 GB, 256 GB for LINSTOR"
        assert "TSL001" not in found and "TSL005" not in found, "service addresses and IPv4 egress work on AWS"
        assert config.data_volume_gb == 256 and config.loadbalancer.mode == "eni-secondary-ips"
        assert not [f for f in found.values() if f.rule.severity == "error"]
        # arm64: no VMs, said so; amd64: the nested virtualization the pinned provider cannot turn on.
        virtualization = found["TSL009"].problem
        assert ("has no nested virtualization" in virtualization) is (arch == "arm64")
        assert ("cannot turn it on" in virtualization) is (arch == "amd64")
