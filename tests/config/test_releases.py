"""How a config picks from the release matrix: architecture from the node types, Talos
release and images from cozystack.version, and what it refuses."""

from __future__ import annotations

import pytest

from talos_sandbox.config import default_config, parse_config
from talos_sandbox.errors import SandboxError

NODES = [{"name": "n1", "private_ip": "10.10.0.10", "role": "gateway"}, {"name": "n2", "private_ip": "10.10.0.11"}]
AMD64 = {"node_defaults": {"instance_type": "m8i.2xlarge"}}


def config(**document):
    return parse_config({"nodes": NODES, **document})


def rejected(**document) -> str:
    with pytest.raises(SandboxError) as raised:
        config(**document)
    return str(raised.value)


def test_default_is_arm64_cozystack_1_5_1_on_the_owners_build():
    default = default_config()
    assert (default.architecture, default.cozystack.version, default.talos_version) == ("arm64", "v1.5.1", "v1.13.5")
    assert all("@sha256:" in image for image in default.role_images.values())
    assert "cozystack-spin-tailscale" in default.role_images["gateway"]
    assert default.talos_release.talosctl.version == "v1.13.5"


def test_amd64_nodes_take_cozystacks_own_images():
    amd64 = config(**AMD64)
    assert amd64.architecture == "amd64" and amd64.talos_version == "v1.13.0"
    assert set(amd64.role_images.values()) == {"ghcr.io/cozystack/cozystack/talos:v1.13.0"}


@pytest.mark.parametrize(("cozystack", "talos"), [("v0.41.11", "v1.11.6"), ("v1.3.5", "v1.12.7"), ("v1.6.2", "v1.13.6")])
def test_each_release_carries_its_talos(cozystack, talos):
    assert config(cozystack={"version": cozystack}, **AMD64).talos_version == talos


def test_a_mix_of_architectures_is_refused_with_the_nodes_named():
    nodes = [{**NODES[0], "instance_type": "m7g.2xlarge"}, {**NODES[1], "instance_type": "m8i.2xlarge"}]
    with pytest.raises(SandboxError) as raised:
        parse_config({"nodes": nodes})
    assert "nodes: mix of architectures (amd64: n2; arm64: n1)" in str(raised.value)


def test_no_build_for_the_architecture_needs_images():
    message = rejected(cozystack={"version": "v1.6.2"})
    assert "talos.images.compute: required: the release matrix has no arm64 build of CozyStack v1.6.2" in message
    assert message.rstrip().endswith("pick a cozystack.version with an arm64 build")
    images = {"gateway": "ghcr.io/a/talos@sha256:" + "a" * 64, "compute": "ghcr.io/a/talos@sha256:" + "a" * 64}
    assert "talos.version: required" in rejected(cozystack={"version": "v1.6.2"}, talos={"images": images})
    chosen = config(cozystack={"version": "v1.6.2"}, talos={"images": images, "version": "v1.13.6"})
    assert chosen.role_images["gateway"] == images["gateway"]


def test_an_unknown_release_falls_back_to_the_images_tag():
    tagged = {"gateway": "ghcr.io/a/talos:v1.12.7", "compute": "ghcr.io/a/talos:v1.12.7"}
    unknown = config(cozystack={"version": "v1.4.0"}, talos={"images": tagged})
    assert unknown.cozystack_release is None and unknown.talos_version == "v1.12.7" and unknown.talos_minor == "v1.12"
    assert "writes machine configs for Talos v1.11, v1.12, v1.13 only" in rejected(
        cozystack={"version": "v1.4.0"}, talos={"images": {k: "ghcr.io/a/t:v1.10.3" for k in tagged}}
    )


@pytest.mark.parametrize("bundle", [{}, {"bundle_name": "isp-full"}])
def test_a_cozystack_major_without_bundles_is_a_clean_error(bundle):
    images = {"gateway": "ghcr.io/x/talos:v1.13.5", "compute": "ghcr.io/x/talos:v1.13.5"}
    message = rejected(cozystack={"version": "v2.0.0", **bundle}, talos={"images": images})
    assert "cozystack.version" in message and "v2.0.0" in message


def test_the_images_of_the_roles_the_nodes_have_give_the_release():
    """Only gateway nodes, only the gateway image set: its tag is the release, not the
    matrix's (v1.13.5 on arm64), which would write v1.13 documents for a v1.12 node."""
    only_gateway = parse_config({
        "nodes": [{"name": "n1", "private_ip": "10.10.0.10", "role": "gateway"}],
        "talos": {"images": {"gateway": "ghcr.io/x/talos:v1.12.7"}},
    })  # fmt: skip
    assert only_gateway.talos_version == "v1.12.7"
    assert only_gateway.talos_release.talosctl.version == "v1.12.5"


def test_metal_sizes_with_a_suffix_are_known():
    metal = config(node_defaults={"instance_type": "m7i.metal-24xl"})
    assert metal.architecture == "amd64"
