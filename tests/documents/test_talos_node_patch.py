"""The node patch the stack writes in Talos v1.11's form (talos.version v1.11.x), read back
from the synthesized stack folder: one per node, the same for both install methods,
every cached registry mirrored to the bastion. Other minors: test_talos_documents.py."""

from __future__ import annotations

import ipaddress

import pytest
import yaml

from talos_sandbox.config import default_config

from ..conftest import make_config, with_talos_version
from ..terraform.constructs.test_talos_node import AMI_LOOKUP, CONFIGS


def machine_document(stack_dir, node) -> dict:
    """The patch's v1alpha1 document; the node's volume documents follow it (test_talos_storage.py)."""
    return next(yaml.safe_load_all((stack_dir / "talos" / f"{node.name}.yaml").read_text()))


@pytest.fixture(params=sorted(CONFIGS))
def synthesized(request, synth):
    config = with_talos_version(CONFIGS[request.param], "v1.11.6")
    stack_dir, stack = synth(config)
    return config, stack_dir, stack


def test_machine_patch_per_node(synthesized):
    config, stack_dir, _ = synthesized
    patches = {path.name for path in (stack_dir / "talos").iterdir()}
    assert patches >= {f"{node.name}.yaml" for node in config.nodes}  # CozyStack's: test_talos_patches.py
    for node in config.nodes:
        patch = machine_document(stack_dir, node)
        machine = patch["machine"]
        assert set(patch) == {"machine"}
        network = machine["network"]
        assert network["hostname"] == node.name
        assert network["nameservers"] == [str(config.network.dns_ip)]
        [interface] = network["interfaces"]
        assert interface["deviceSelector"] == {"physical": True}
        assert interface["dhcp"] is False
        [address] = interface["addresses"]
        assert ipaddress.IPv4Interface(address) == ipaddress.IPv4Interface(
            f"{node.private_ip}/{config.network.subnet_cidr.prefixlen}"
        )
        assert interface["routes"] == [{"network": "0.0.0.0/0", "gateway": str(config.network.router_ip)}]
        assert machine["time"] == {"servers": ["169.254.169.123"]}
        assert machine["install"] == {"disk": "/dev/nvme0n1", "image": config.node_image(node)}


def test_machine_patch_is_the_same_for_both_methods(synth):
    ami_dir, _ = synth(AMI_LOOKUP)
    boot_dir, _ = synth(default_config())
    for node in default_config().nodes:
        patch = f"talos/{node.name}.yaml"
        assert (ami_dir / patch).read_text() == (boot_dir / patch).read_text()


def test_machine_patch_mirrors_every_cached_registry_to_the_bastion(synthesized):
    config, stack_dir, _ = synthesized
    caches = config.bastion.registry_caches
    for node in config.nodes:
        machine = machine_document(stack_dir, node)["machine"]
        mirrors = machine["registries"]["mirrors"]
        assert set(machine["registries"]) == {"mirrors"}, "no config/tls section: the endpoints are plain http"
        assert mirrors == {
            registry: {"endpoints": [f"http://{config.bastion.private_ip}:{upstream.port}"], "skipFallback": False}
            for registry, upstream in caches.upstreams.items()
        }
    assert mirrors["docker.io"]["endpoints"] == [f"http://{config.bastion.private_ip}:5050"]


def test_machine_patch_has_no_mirrors_without_caches(synth):
    stack_dir, _ = synth(with_talos_version(make_config(bastion={"registry_caches": {"enabled": False}}), "v1.11.6"))
    for patch in (stack_dir / "talos").iterdir():
        assert "registries" not in next(yaml.safe_load_all(patch.read_text()))["machine"]
