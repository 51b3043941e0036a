"""The release matrix: which Talos, CozyStack, images and tools go together, per
architecture, each with its source. Read 2026-12-01 from the public repositories named.

To add a release: add a TalosRelease (its talosctl and kubectl pins, its schema under
tests/data) and/or a CozystackRelease naming it, then a row in the README's "Releases".
A value we could not find is None, never guessed; lint says where that leaves a gap.

Sources:
- Talos: siderolabs/talos at each tag (pkg/machinery/constants/constants.go for the
  Kubernetes version; pkg/machinery/config/schemas/config.schema.json). The newest tag
  reachable here is v1.13.9; v1.13.13 (2026-11-26) was not.
- talosctl sha256: siderolabs/homebrew-tap Formula/talosctl.rb (written by Talos' own
  release workflow, .github/workflows/update-homebrew.yaml), for the release assets
  `talosctl-linux-<arch>`; Talos also publishes `sha256sum.txt` with each release.
- kubectl and helm sha256: kubernetes-sigs/kubespray
  roles/kubespray_defaults/vars/main/checksums.yml (kubectl_checksums,
  helm_archive_checksums) for dl.k8s.io and get.helm.sh, which also publish `.sha256`.
- CozyStack: cozystack/cozystack at each tag: packages/core/talos/images/talos/profiles/
  installer.yaml (the Talos it ships), packages/core/installer/values.yaml (operator and
  package-collection digests); cozystack/website content/en/docs/<version>/ (install).
- arm64 CozyStack: urmanac/cozystack-moon-and-back docs/SAGE-19-V1.5.1-1.13.5-3-RELEASE.md
  (the only release note with digests); their installer profiles for spin-only and
  spin-tailscale set arch arm64 and platform metal with no board or overlay
  (patches/01-arm64-spin-tailscale.patch, patches/03-arm64-spin-only.patch), so these are
  generic arm64 metal (UEFI) installers; the spin-hailort `-rpi5` builds are Raspberry Pi only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# The design owners' arm64 Talos installer images (urmanac/cozystack-moon-and-back).
DEFAULT_IMAGE_BASE = "ghcr.io/urmanac/cozystack-assets/talos"
OWNERS_ASSETS = "ghcr.io/urmanac/cozystack-assets"
UPSTREAM_TALOS_IMAGE = "ghcr.io/cozystack/cozystack/talos"
COZY_INSTALLER_CHART = "oci://ghcr.io/cozystack/cozystack/cozy-installer"


@dataclass(frozen=True)
class PinnedTool:
    """A tool the operator or the bastion downloads, by version, with sha256 per architecture."""

    name: str
    version: str
    url: str
    """Download URL with {version} and {arch} placeholders."""
    checksum_url: str
    """The release's own checksum file for the same download."""
    sha256: dict[str, str | None] = field(default_factory=dict)

    def download_url(self, arch: str) -> str:
        return self.url.format(version=self.version, arch=arch)

    def release_checksum_url(self, arch: str) -> str:
        return self.checksum_url.format(version=self.version, arch=arch)


def talosctl(version: str, amd64: str | None, arm64: str | None) -> PinnedTool:
    base = "https://github.com/siderolabs/talos/releases/download/{version}"
    return PinnedTool("talosctl", version, f"{base}/talosctl-linux-{{arch}}", f"{base}/sha256sum.txt",
                      {"amd64": amd64, "arm64": arm64})  # fmt: skip


def kubectl(version: str, amd64: str, arm64: str) -> PinnedTool:
    url = "https://dl.k8s.io/release/{version}/bin/linux/{arch}/kubectl"
    return PinnedTool("kubectl", version, url, f"{url}.sha256", {"amd64": amd64, "arm64": arm64})


def helm(version: str, amd64: str, arm64: str) -> PinnedTool:
    url = "https://get.helm.sh/helm-{version}-linux-{arch}.tar.gz"
    return PinnedTool("helm", version, url, f"{url}.sha256sum", {"amd64": amd64, "arm64": arm64})


def talos_minor(version: str) -> str:
    """`v1.13` of `v1.13.5`."""
    return ".".join(version.split(".")[:2])


@dataclass(frozen=True)
class TalosRelease:
    version: str
    kubernetes: str
    talosctl: PinnedTool
    """The talosctl to write and apply this release's configs: the same minor (a newer
    talosctl writes documents an older node rejects); the nearest patch with a recorded sha256."""
    kubectl: PinnedTool

    @property
    def minor(self) -> str:
        return talos_minor(self.version)


TALOS_RELEASES: dict[str, TalosRelease] = {
    release.version: release
    for release in (
        TalosRelease(
            "v1.11.6", "1.34.1",
            talosctl("v1.11.5", "9fc76cb0ee711dc16a03c777f2d71338b9692707de49ec916944c3e335963f67",
                     "b3e0df9df5b2cfe4d9d1768e75dc6005bc9e6d3c252efc57d725f6caa5b67a91"),
            kubectl("v1.34.1", "7721f265e18709862655affba5343e85e1980639395d5754473dafaadcaa69e3",
                    "420e6110e3ba7ee5a3927b5af868d18df17aae36b720529ffa4e9e945aa95450"),
        ),
        TalosRelease(
            "v1.12.7", "1.35.4",
            talosctl("v1.12.5", "3fbd456ec98f96dca42de0528220898177077bf023e3ae9432fb90a2dbe8cf66",
                     "108b1745ddb98838b15537e6f7951d25cfaafbda62c5740d38273ddb1aea0fb1"),
            kubectl("v1.35.4", "b529430df69a688fd61b64ad2299edb5fd71cb58be2a4779dba624c7d3510efd",
                    "6a5a4cc4e396d7626a7a693a3044b51c75520f81db30fe6816c2554e53be336f"),
        ),
        TalosRelease(
            "v1.13.0", "1.36.0",
            talosctl("v1.13.0", "4aa5cd191c708b8c1a3b358bfd7dd21fb0cc6bd4dc7a07f2aa925cd2a8473bae",
                     "6171ece2062a350d2fc12aa14894a4ad06235005c12f76701e0127ffdf6026b9"),
            kubectl("v1.36.0", "123d8c8844f46b1244c547fffb3c17180c0c26dac9890589fe7e67763298748e",
                    "9f9d9c44a7b5264515ac9da5991584e2395bd50662e651132337e7b4d0c56f8f"),
        ),
        TalosRelease(
            "v1.13.5", "1.36.2",
            talosctl("v1.13.5", "cb12209727c0c4d57d74c0595f34d441ba491421e1d3c8a5142ed91028a20232",
                     "bd053d8264c1b0c091cbaf15e7b414ab1cd14a56ddd5860f2e2ba01e5aee3bc3"),
            kubectl("v1.36.2", "1e9045ec32bea85da43de85f0065358529ea7c7a152eca78154fba5b58c27d82",
                    "c957eb8c4bea27a3bb35b269edd9082e27f027f7b76b20b5bf4afebc726c6d3e"),
        ),
        TalosRelease(
            "v1.13.6", "1.36.2",
            talosctl("v1.13.5", "cb12209727c0c4d57d74c0595f34d441ba491421e1d3c8a5142ed91028a20232",
                     "bd053d8264c1b0c091cbaf15e7b414ab1cd14a56ddd5860f2e2ba01e5aee3bc3"),
            kubectl("v1.36.2", "1e9045ec32bea85da43de85f0065358529ea7c7a152eca78154fba5b58c27d82",
                    "c957eb8c4bea27a3bb35b269edd9082e27f027f7b76b20b5bf4afebc726c6d3e"),
        ),
    )
}  # fmt: skip
SUPPORTED_TALOS_MINORS = ("v1.11", "v1.12", "v1.13")

# Helm for CozyStack v1's chart: 3.17 or later for --take-ownership (cozystack/website
# v1.5 install-cozystack.md); 3.18.4 is the newest with a checksum recorded in kubespray.
HELM = helm("v3.18.4", "f8180838c23d7c7d797b208861fecb591d9ce1690d8704ed1e4cb8e2add966c1",
            "c0a45e67eef0c7416a8a8c9e9d5d2d30d70e4f4d3f7bea5de28241fffa8f3b89")  # fmt: skip


@dataclass(frozen=True)
class CozystackBuild:
    """CozyStack's images for one architecture: the Talos installer per node role, and
    for v1 the operator and the package collection it installs from."""

    talos: str
    """The Talos release the installer images carry."""
    images: dict[str, str]
    """Node role (gateway, compute) -> Talos installer image."""
    operator: str | None = None
    platform_source_url: str | None = None
    platform_source_ref: str | None = None
    source: str = ""
    caveat: str = ""
    """What a first run on real hardware must confirm."""

    @property
    def digest_pinned(self) -> bool:
        return all("@sha256:" in image for image in self.images.values())


@dataclass(frozen=True)
class CozystackRelease:
    version: str
    install: Literal["manifest", "helm"]
    """v0: the release's cozystack-installer.yaml and a ConfigMap; v1: the cozy-installer chart and a Package."""
    builds: dict[str, CozystackBuild]
    """Architecture -> the images to run it; an architecture missing here has no build."""
    chart_sha256: str | None = None
    """v1: sha256 of the cozy-installer chart archive (one chart for every architecture;
    arm64 differs in values only). None: recorded nowhere we could read."""


def _upstream(talos: str, operator: str | None = None, packages: str | None = None, tag: str | None = None) -> CozystackBuild:
    # CozyStack publishes its Talos image as talos:<Talos release> (Makefile settag; v1's
    # tags workflow with PUBLISH_VERSIONED=1); its digest is recorded in no repository.
    image = f"{UPSTREAM_TALOS_IMAGE}:{tag or talos}"
    return CozystackBuild(
        talos=talos,
        images={"gateway": image, "compute": image},
        operator=operator,
        platform_source_url="oci://ghcr.io/cozystack/cozystack/cozystack-packages" if packages else None,
        platform_source_ref=f"digest=sha256:{packages}" if packages else None,
        source="cozystack/cozystack: packages/core/talos/images/talos/profiles/installer.yaml, "
        "packages/core/installer/values.yaml at the release tag",
    )


COZYSTACK_RELEASES: dict[str, CozystackRelease] = {
    release.version: release
    for release in (
        CozystackRelease("v0.41.11", "manifest", {"amd64": _upstream("v1.11.6")}),
        CozystackRelease("v1.3.5", "helm", {"amd64": _upstream(
            "v1.12.7",
            operator="ghcr.io/cozystack/cozystack/cozystack-operator:v1.3.5@sha256:"
            "12c29c9edcf2c7b97174156f41fd6e6872c4ec61f85945eadd87b0a111a28d99",
            packages="acb2341a3df7fa6b9bd29577c6954b33f66302cad3f11034d1c3197b1e57d26d",
        )}),
        CozystackRelease("v1.5.1", "helm", {
            "amd64": _upstream(
                "v1.13.0",
                operator="ghcr.io/cozystack/cozystack/cozystack-operator:v1.5.1@sha256:"
                "8f0a898c1e1f75b432b8224bcedf1fdb17c8961e7da64b2919ae24fb4393c883",
                packages="978596eada21f88a78e5654bfa9a6da97937242e69259a64dc0e85f0b766d980",
            ),
            "arm64": CozystackBuild(
                talos="v1.13.5",
                images={
                    "gateway": f"{DEFAULT_IMAGE_BASE}/cozystack-spin-tailscale/talos@sha256:"
                    "33d9eed04d7df425df17819837cef1b7617d48f706f793e77857ea4076d4b192",
                    "compute": f"{DEFAULT_IMAGE_BASE}/cozystack-spin-only/talos@sha256:"
                    "57e5a8fe35c42a8508d37c2e34f206de114bf7917a34e4f28d8c15afdd8a0f86",
                },
                operator=f"{OWNERS_ASSETS}/cozystack-operator@sha256:"
                "73047678e4e8e2ac021fa91b7e99a3496c6559b94578470e16d713870c978255",
                platform_source_url=f"oci://{OWNERS_ASSETS}/cozystack-packages",
                platform_source_ref="digest=sha256:dec6a6f764c65d54d71c24b579903143efccc86a59f389e7bdb0e2c2b1034e36",
                source="urmanac/cozystack-moon-and-back: docs/SAGE-19-V1.5.1-1.13.5-3-RELEASE.md",
                caveat="the design owners' build v1.5.1-1.13.5-3: tested by them on Raspberry Pi CM4 boards, "
                "never on EC2; built on their own kernel (ENA and NVMe drivers not checked); its "
                "grafana-dashboards image is the amd64 one that their next build (THYME-20) fixes",
            ),
        }),
        CozystackRelease("v1.6.2", "helm", {"amd64": _upstream(
            "v1.13.6",
            operator="ghcr.io/cozystack/cozystack/cozystack-operator:v1.6.2@sha256:"
            "41ea5ca9c6a7d471105920b09fc8ed68279b8ca0dbffe7f839dccd530b42e4c7",
            packages="251626e80efad3e87561b138e03301d8b63c15a42895359716aa18802b04fed5",
        )}),
    )
}  # fmt: skip
DEFAULT_COZYSTACK = "v1.5.1"
# v0.38.0 is the first CozyStack on Talos v1.11, the oldest Talos this tool writes
# configs for (installer.yaml at each tag).
OLDEST_COZYSTACK = (0, 38, 0)
# The bundles each major release knows, its default first (v0: cozystack/website
# docs/v0 configmap reference; v1: cozystack/cozystack packages/core/platform/values.yaml).
COZYSTACK_BUNDLES = {0: ("paas-full", "distro-full"), 1: ("isp-full", "isp-full-generic", "isp-hosted", "distro-full")}
