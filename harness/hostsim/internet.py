"""The simulated internet's content: a test CA, GitHub's release assets, a large file.

One HTTPS server answers as github.com and ghcr.io (IPv4 only, as the real ones) and as
the AWS API endpoints (`*.amazonaws.com` IPv4 only, `*.api.aws` dual-stack). It also
answers as dl.k8s.io, and as the hosts their downloads redirect to, as the real ones do
(a 302: github.com's Talos release assets to release-assets.githubusercontent.com,
dl.k8s.io to cdn.dl.k8s.io; all IPv4 here), so a download without `curl -L` gets
nothing. Talos' releases carry the talosctl stand-in and `sha256sum.txt` naming every
asset; dl.k8s.io the kubectl stand-in and its `kubectl.sha256` (tools/); get.helm.sh the
helm stand-in's release tarball and its `.sha256sum`; ghcr.io, as an OCI registry for the
paths helm pulls (`/v2/<repo>/manifests/<tag>`, `/v2/<repo>/blobs/<digest>`, files here,
without ghcr.io's token step), the cozy-installer chart the harness builds. A real
registry (Debian's docker-registry, the CNCF distribution program) plays the upstream
registries the caches proxy (Docker Hub, registry.k8s.io, quay.io, gcr.io). The
distribution release the bastion downloads is that same program, packed as the release's
tarball (`registry` inside) with its `.sha256` file. Instances trust the test CA through
their own CA bundle; their hosts file names the servers.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

from . import tools
from .hosts import run

GITHUB = "203.0.113.10"
AWS_API_IPV4 = "203.0.113.20"
AWS_API_IPV6 = "2001:db8:aa::20"
UPSTREAM_REGISTRY = "203.0.113.30"
UPSTREAM_REGISTRY_NAMES = ("registry-1.docker.io", "registry.k8s.io", "quay.io", "gcr.io")
REGISTRY_PROGRAM = "/usr/bin/docker-registry"
ASSET = "boot-to-talos-linux-arm64.tar.gz"
CHECKSUMS = "boot-to-talos-checksums.txt"
LARGE_FILE = "large.bin"
LARGE_FILE_BYTES = 6 * 1024 * 1024
STUB_RECORD = "/var/log/boot-to-talos-stub.record"
# Where downloads redirect (served by the same server, on GitHub's address).
REDIRECTS = {"github.com": ("/siderolabs/talos/releases/download/", "release-assets.githubusercontent.com"),
             "dl.k8s.io": ("/release/", "cdn.dl.k8s.io")}  # fmt: skip
DOWNLOAD_HOSTS = ("dl.k8s.io", "cdn.dl.k8s.io", "release-assets.githubusercontent.com", "get.helm.sh")
TALOSCTL_ASSETS = ("talosctl-linux-amd64", "talosctl-linux-arm64", "talosctl-darwin-arm64")

# boot-to-talos stand-in: records how it was started (arguments, working directory, the
# file systems of itself and its working directory, its open files), then exits 0.
STUB = f"""#!/bin/bash
record={STUB_RECORD}
: > "$record"
for arg in "$@"; do echo "arg $arg" >> "$record"; done
echo "cwd $PWD" >> "$record"
echo "cwd_fs $(stat -f -c %T .)" >> "$record"
echo "exe_fs $(stat -f -c %T "$0")" >> "$record"
find /proc/$$/fd -mindepth 1 -printf 'fd %f %l\\n' >> "$record"
"""


def release_tarball(stub: str = STUB) -> bytes:
    """The release asset: a gzipped tar holding `boot-to-talos`, byte-identical for the same stub."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.GNU_FORMAT) as archive:
        data = stub.encode()
        member = tarfile.TarInfo("boot-to-talos")
        member.size, member.mode, member.mtime = len(data), 0o755, 0
        archive.addfile(member, io.BytesIO(data))
    # gzip's header carries a time stamp; zero it so the digest is stable.
    raw = bytearray(buffer.getvalue())
    raw[4:8] = b"\0\0\0\0"
    return bytes(raw)


def release_sha256() -> str:
    return hashlib.sha256(release_tarball()).hexdigest()


def single_file_tarball(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        member = tarfile.TarInfo(name)
        member.size, member.mode, member.mtime = len(data), 0o755, 0
        archive.addfile(member, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), compresslevel=1, mtime=0)


@functools.cache
def registry_tarball() -> bytes:
    """The distribution release asset: Debian's registry program as `registry`."""
    return single_file_tarball("registry", Path(REGISTRY_PROGRAM).read_bytes())


def registry_asset(version: str) -> str:
    return f"registry_{version[1:]}_linux_arm64.tar.gz"


def large_file() -> bytes:
    return hashlib.shake_256(b"talos-sandbox").digest(LARGE_FILE_BYTES)


@dataclass
class Internet:
    workdir: Path

    @property
    def root(self) -> Path:
        return self.workdir / "www"

    @property
    def ca_cert(self) -> Path:
        return self.workdir / "ca.pem"

    @property
    def cert(self) -> Path:
        return self.workdir / "server.pem"

    @property
    def key(self) -> Path:
        return self.workdir / "server.key"

    @property
    def access_log(self) -> Path:
        return self.workdir / "access.log"

    def release_dir(self, version: str) -> Path:
        return self.root / "cozystack" / "boot-to-talos" / "releases" / "download" / version

    def prepare(self, region: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "index.html").write_text("simulated github.com\n")
        (self.root / LARGE_FILE).write_bytes(large_file())
        self._certificates(region)

    def publish_release(self, version: str, tarball: bytes | None = None, checksums: str | None = None) -> None:
        tarball = release_tarball() if tarball is None else tarball
        directory = self.release_dir(version)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / ASSET).write_bytes(tarball)
        digest = hashlib.sha256(tarball).hexdigest()
        (directory / CHECKSUMS).write_text(checksums if checksums is not None else f"{digest}  {ASSET}\n")

    def talosctl_dir(self, version: str) -> Path:
        return self.root / "siderolabs" / "talos" / "releases" / "download" / version

    def publish_talosctl(self, version: str, arm64: bytes | None = None, checksums: str | None = None) -> None:
        """The release's talosctl assets (the stand-in, per architecture) and sha256sum.txt naming each."""
        directory = self.talosctl_dir(version)
        directory.mkdir(parents=True, exist_ok=True)
        lines = []
        for asset in TALOSCTL_ASSETS:
            _, os_name, arch = asset.split("-")
            data = tools.talosctl_release(version, arch) if (os_name, arch) != ("linux", "arm64") or arm64 is None else arm64
            (directory / asset).write_bytes(data)
            lines.append(f"{hashlib.sha256(data).hexdigest()}  {asset}")
        (directory / "sha256sum.txt").write_text(checksums if checksums is not None else "\n".join(lines) + "\n")

    def kubectl_path(self, version: str, arch: str = "arm64") -> Path:
        return self.root / "release" / version / "bin" / "linux" / arch / "kubectl"

    def publish_kubectl(self, version: str, data: bytes | None = None, digest: str | None = None) -> None:
        """dl.k8s.io's kubectl (the stand-in) and its .sha256 (the bare digest), per architecture."""
        for arch in ("amd64", "arm64"):
            path = self.kubectl_path(version, arch)
            path.parent.mkdir(parents=True, exist_ok=True)
            binary = data if data is not None and arch == "arm64" else tools.kubectl_release(version, arch)
            path.write_bytes(binary)
            listed = digest if digest is not None and arch == "arm64" else hashlib.sha256(binary).hexdigest()
            path.with_name("kubectl.sha256").write_text(listed)

    def helm_path(self, version: str, arch: str = "arm64") -> Path:
        return self.root / f"helm-{version}-linux-{arch}.tar.gz"

    def publish_helm(self, version: str, tarball: bytes | None = None, listed: str | None = None) -> None:
        """get.helm.sh's tarball per architecture and its .sha256sum ("<digest>  <file>")."""
        for arch in ("amd64", "arm64"):
            path = self.helm_path(version, arch)
            data = tarball if tarball is not None and arch == "arm64" else tools.helm_release(version, arch)
            path.write_bytes(data)
            digest = listed if listed is not None and arch == "arm64" else hashlib.sha256(data).hexdigest()
            path.with_name(f"{path.name}.sha256sum").write_text(f"{digest}  {path.name}\n")

    def publish_chart(self, reference: str, version: str, chart: bytes | None = None) -> str:
        """An OCI chart on the simulated registry: its manifest under the tag, the layer and
        config blobs by digest (a consistent manifest: only a pin can tell a tampered chart).
        Returns the layer's sha256."""
        host, _, repository = reference.removeprefix("oci://").partition("/")
        chart = tools.cozy_installer_chart(version) if chart is None else chart
        base = self.root / "v2" / repository
        (base / "manifests").mkdir(parents=True, exist_ok=True)
        (base / "blobs").mkdir(parents=True, exist_ok=True)
        config = json.dumps({"name": repository.rsplit("/", 1)[-1], "version": version, "apiVersion": "v2"}).encode()
        layers = []
        for data, media in ((config, "application/vnd.cncf.helm.config.v1+json"),
                            (chart, "application/vnd.cncf.helm.chart.content.v1.tar+gzip")):  # fmt: skip
            digest = hashlib.sha256(data).hexdigest()
            (base / "blobs" / f"sha256:{digest}").write_bytes(data)
            layers.append({"mediaType": media, "digest": f"sha256:{digest}", "size": len(data)})
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": layers[0], "layers": [layers[1]]}  # fmt: skip
        (base / "manifests" / version).write_text(json.dumps(manifest))
        return layers[1]["digest"].split(":", 1)[1]

    def publish_registry_release(self, version: str, tarball: bytes | None = None) -> None:
        """The distribution release: the tarball and its .sha256 (the digest of the genuine one)."""
        directory = self.root / "distribution" / "distribution" / "releases" / "download" / version
        directory.mkdir(parents=True, exist_ok=True)
        (directory / registry_asset(version)).write_bytes(registry_tarball() if tarball is None else tarball)
        digest = hashlib.sha256(registry_tarball()).hexdigest()
        (directory / f"{registry_asset(version)}.sha256").write_text(digest + "\n")

    def upstream_registry_config(self, storage: Path) -> str:
        """A plain (not proxying) registry over TLS: the upstream the caches pull from."""
        return (
            "version: 0.1\n"
            f"storage:\n  filesystem:\n    rootdirectory: {storage}\n"
            f"http:\n  addr: {UPSTREAM_REGISTRY}:443\n  tls:\n    certificate: {self.cert}\n    key: {self.key}\n"
        )

    def addresses(self) -> tuple[str, ...]:
        return (f"{GITHUB}/32", f"{AWS_API_IPV4}/32", f"{AWS_API_IPV6}/128", f"{UPSTREAM_REGISTRY}/32")

    def hosts_file(self, region: str) -> str:
        ipv4_only = " ".join(f"{service}.{region}.amazonaws.com" for service in ("ssm", "ec2"))
        dual_stack = " ".join(f"{service}.{region}.api.aws" for service in ("ssm", "ec2"))
        return (
            f"{GITHUB} github.com ghcr.io {' '.join(DOWNLOAD_HOSTS)}\n{AWS_API_IPV4} {ipv4_only}\n"
            f"{AWS_API_IPV6} {dual_stack}\n{AWS_API_IPV4} {dual_stack}\n"
            f"{UPSTREAM_REGISTRY} {' '.join(UPSTREAM_REGISTRY_NAMES)}\n"
        )

    def _certificates(self, region: str) -> None:
        ca_key = self.workdir / "ca.key"
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=talos-sandbox test CA",
             "-keyout", str(ca_key), "-out", str(self.ca_cert)])  # fmt: skip
        request = self.workdir / "server.csr"
        run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=github.com",
             "-keyout", str(self.key), "-out", str(request)])  # fmt: skip
        extensions = self.workdir / "san.cnf"
        endpoints = [f"*.{region}.amazonaws.com", f"*.{region}.api.aws"]  # a wildcard covers one label
        names = ",".join(f"DNS:{name}" for name in ("github.com", "ghcr.io", *DOWNLOAD_HOSTS, *endpoints, *UPSTREAM_REGISTRY_NAMES))
        extensions.write_text(f"subjectAltName={names},IP:{UPSTREAM_REGISTRY}\n")
        run(["openssl", "x509", "-req", "-in", str(request), "-CA", str(self.ca_cert), "-CAkey", str(ca_key),
             "-CAcreateserial", "-days", "2", "-extfile", str(extensions), "-out", str(self.cert)])  # fmt: skip
