"""The release matrix holds together: every build names a Talos release the matrix pins
tools for, every talosctl is of its Talos minor and not newer, every digest is a digest."""

from __future__ import annotations

import re

import pytest

from talos_sandbox.facts.releases import COZYSTACK_RELEASES, HELM, SUPPORTED_TALOS_MINORS, TALOS_RELEASES

SHA256 = re.compile(r"[0-9a-f]{64}")


def version(tag: str) -> tuple[int, ...]:
    return tuple(int(part) for part in tag.lstrip("v").split("."))


@pytest.mark.parametrize("release", TALOS_RELEASES.values(), ids=lambda r: r.version)
def test_talos_release_pins_a_talosctl_of_its_minor_and_not_newer(release):
    assert release.minor in SUPPORTED_TALOS_MINORS
    assert release.talosctl.version.startswith(release.minor + ".")
    assert version(release.talosctl.version) <= version(release.version)
    assert release.kubectl.version.lstrip("v").rsplit(".", 1)[0] == release.kubernetes.rsplit(".", 1)[0]
    for tool in (release.talosctl, release.kubectl):
        assert set(tool.sha256) == {"amd64", "arm64"} and all(SHA256.fullmatch(s) for s in tool.sha256.values())


def test_every_supported_minor_has_a_release():
    assert {release.minor for release in TALOS_RELEASES.values()} == set(SUPPORTED_TALOS_MINORS)


@pytest.mark.parametrize("release", COZYSTACK_RELEASES.values(), ids=lambda r: r.version)
def test_cozystack_builds_name_known_talos_and_pinned_parts(release):
    assert release.install == ("manifest" if release.version.startswith("v0.") else "helm")
    for arch, build in release.builds.items():
        assert arch in {"amd64", "arm64"} and build.talos in TALOS_RELEASES and build.source
        assert set(build.images) == {"gateway", "compute"}
        if release.install == "helm":
            assert "@sha256:" in build.operator and build.platform_source_ref.startswith("digest=sha256:")
        if arch == "arm64":  # boot-to-talos pulls without a platform: arm64 only by digest
            assert build.digest_pinned


def test_helm_is_pinned():
    assert all(SHA256.fullmatch(s) for s in HELM.sha256.values())


# DefaultKubernetesVersion in siderolabs/talos pkg/machinery/constants/constants.go at each tag.
TALOS_DEFAULT_KUBERNETES = {"v1.11.6": "1.34.1", "v1.12.7": "1.35.4", "v1.13.0": "1.36.0", "v1.13.5": "1.36.2",
                            "v1.13.6": "1.36.2"}  # fmt: skip


@pytest.mark.parametrize("release", TALOS_RELEASES.values(), ids=lambda r: r.version)
def test_talos_release_runs_its_tags_kubernetes_and_pins_that_kubectl(release):
    assert release.kubernetes == TALOS_DEFAULT_KUBERNETES[release.version]
    assert release.kubectl.version == f"v{release.kubernetes}"
