"""The stand-ins of the tools the bastion downloads, and how they are published.

talosctl (`talosctl.py`), kubectl (`kubectl.py`) and helm (`helm.py`) are Python programs
(stdlib only, but PyYAML where kubectl and helm read YAML: the bastion's python3 has it as
cloud-init's dependency) that run inside the simulated bastion in place of the Go
binaries; `cobra.py` parses their command lines as spf13/cobra and pflag do. `build()` packs one as a zipapp (a
`#!/usr/bin/python3` line, then a zip of this folder's modules, its flag table and its
release), byte-identical for the same inputs, so its sha256 is stable within a run:
the simulated internet publishes it (internet.py) and the test stacks pin that digest
in place of the real release's (tests/hostsim/conftest.py, `stand_in_pins`). The flag
table of talosctl comes from Talos' CLI reference (`cli_reference.py`), kubectl's from
`kubectl-flags.json` (see there), helm's from helm's sources (`helm_flags.py`). helm is
published as its release is, a tarball (`helm_release`, member `linux-<arch>/helm`).

The cozy-installer chart (`cozy_installer_chart`) is a deterministic archive the harness
builds (Chart.yaml, values.yaml, a template of the cozystack-operator Deployment whose
image and platform source come from the values); the simulated ghcr.io serves it
(internet.py publish_chart) and `stand_in_pins` pins its sha256 where the product pins
the chart's, so the product checks a real digest and a test can publish a tampered one.

Run by a unit with a StateDirectory (the bastion's cluster unit), a stand-in appends its
command line to `stand-in-argv.jsonl` there (the aws stand-in too), so a test can show
that no secret was ever on a command line, however short-lived the command (a process
list sampled now and then could miss one).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gzip
import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHEBANG = b"#!/usr/bin/python3\n"
_MODULES = {"talosctl": ("cobra", "talos_formats", "talos_wire", "talosctl"), "kubectl": ("cobra", "kubectl"),
            "helm": ("cobra", "kubectl", "helm")}
_MAIN = """import json, os, pkgutil, sys, time
log = os.environ.get("STATE_DIRECTORY")
if log:  # every command line, for the tests' search for secrets (see tools/__init__.py)
    with open(os.path.join(log.split(":")[0], "stand-in-argv.jsonl"), "a") as record:
        record.write(json.dumps({{"time": time.time(), "argv": ["{tool}", *sys.argv[1:]]}}) + "\\n")
from standin import {tool}
release = json.loads(pkgutil.get_data("standin", "release.json"))
for key, value in release["constants"].items():
    setattr({tool}, key, value)
sys.exit({tool}.main(sys.argv[1:], json.loads(pkgutil.get_data("standin", "flags.json"))))
"""


def flag_table(tool: str, version: str) -> dict:
    if tool == "talosctl":
        return json.loads((HERE / "talosctl-flags.json").read_text())[version]
    return json.loads((HERE / f"{tool}-flags.json").read_text())


@functools.cache
def build(tool: str, version: str, arch: str = "arm64", constants: tuple = ()) -> bytes:
    """The stand-in as a single executable file (a zipapp); `constants` are (name, value) pairs."""
    files = {f"standin/{module}.py": (HERE / f"{module}.py").read_bytes() for module in _MODULES[tool]}
    files["standin/__init__.py"] = b""
    files["standin/flags.json"] = json.dumps(flag_table(tool, version), sort_keys=True).encode()
    release = {"tool": tool, "version": version, "arch": arch, "constants": {"VERSION": version, **dict(constants)}}
    files["standin/release.json"] = json.dumps(release, sort_keys=True).encode()
    files["__main__.py"] = _MAIN.format(tool=tool).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return SHEBANG + buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the releases the simulated internet publishes, and the pins the test stacks carry --


def talosctl_release(version: str, arch: str = "arm64") -> bytes:
    """The talosctl stand-in as release `version` publishes it: its contract and default Kubernetes."""
    from talos_sandbox.facts.releases import TALOS_RELEASES, talos_minor

    kubernetes = next(r.kubernetes for r in TALOS_RELEASES.values() if r.talosctl.version == version)
    return build("talosctl", version, arch, (("CONTRACT", talos_minor(version)), ("KUBERNETES", kubernetes)))


def kubectl_release(version: str, arch: str = "arm64") -> bytes:
    return build("kubectl", version, arch)


def archive(members: dict[str, tuple[bytes, int]]) -> bytes:
    """A gzipped tar of the members (name -> (data, mode)), byte-identical for the same input."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, (data, mode) in members.items():
            member = tarfile.TarInfo(name)
            member.size, member.mode, member.mtime = len(data), mode, 0
            tar.addfile(member, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), compresslevel=6, mtime=0)


@functools.cache
def helm_release(version: str, arch: str = "arm64") -> bytes:
    """get.helm.sh's helm-<v>-linux-<arch>.tar.gz: the stand-in as `linux-<arch>/helm`."""
    return archive({f"linux-{arch}/helm": (build("helm", version, arch), 0o755)})


CHART_NAME = "cozy-installer"
CHART_TEMPLATE = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: cozystack-operator
  namespace: {{ .Release.Namespace }}
  labels:
    app.kubernetes.io/name: cozystack-operator
    app.kubernetes.io/instance: {{ .Release.Name }}
spec:
  replicas: 1
  template:
    spec:
      hostNetwork: true
      containers:
        - name: cozystack-operator
          image: "{{ .Values.cozystackOperator.image }}"
          args:
            - --install-flux=true
            - --install-crds=true
            - --platform-source-name=cozystack-platform
            - --platform-source-url={{ .Values.cozystackOperator.platformSourceUrl }}
            - --platform-source-ref={{ .Values.cozystackOperator.platformSourceRef }}
            - --variant={{ .Values.cozystackOperator.variant }}
"""


@functools.cache
def cozy_installer_chart(version: str) -> bytes:
    """The chart archive as `helm package` lays it out (<name>/Chart.yaml, values.yaml, templates/)."""
    chart = f"apiVersion: v2\nname: {CHART_NAME}\nversion: {version}\nappVersion: {version}\ntype: application\n"
    values = ("cozystackOperator:\n  variant: talos\n  image: ghcr.io/cozystack/cozystack/cozystack-operator:v"
              f"{version}\n  platformSourceUrl: oci://ghcr.io/cozystack/cozystack/cozystack-packages\n"
              "  platformSourceRef: digest=sha256:0000000000000000000000000000000000000000000000000000000000000000\n")
    return archive({f"{CHART_NAME}/Chart.yaml": (chart.encode(), 0o644), f"{CHART_NAME}/values.yaml": (values.encode(), 0o644),
                    f"{CHART_NAME}/templates/cozystack-operator.yaml": (CHART_TEMPLATE.encode(), 0o644)})


@contextlib.contextmanager
def stand_in_pins():
    """While synthesizing: every talosctl, kubectl and helm pin of the release matrix is the
    stand-in's digest, and every CozyStack v1 release's cozy-installer chart pin the digest of
    the harness's chart (cozy_installer_chart), which the simulated ghcr.io serves.

    The one place the test stacks differ from the product's facts. The product's own checks
    (the pinned sha256, then the release's checksum file) run unchanged against the
    stand-ins, so a tampered asset is refused by them."""
    from talos_sandbox.facts import releases

    def pinned(tool: releases.PinnedTool, make) -> releases.PinnedTool:
        return dataclasses.replace(tool, sha256={arch: sha256(make(tool.version, arch)) for arch in tool.sha256})

    original = dict(releases.TALOS_RELEASES)
    patched = {version: dataclasses.replace(release, talosctl=pinned(release.talosctl, talosctl_release),
                                            kubectl=pinned(release.kubectl, kubectl_release))
               for version, release in original.items()}  # fmt: skip
    releases.TALOS_RELEASES.update(patched)
    # CozyStack v1's chart: the harness's archive, by the version the plan pulls.
    original_cozystack = dict(releases.COZYSTACK_RELEASES)
    releases.COZYSTACK_RELEASES.update({
        version: dataclasses.replace(release, chart_sha256=sha256(cozy_installer_chart(version.removeprefix("v"))))
        for version, release in original_cozystack.items() if release.install == "helm"})  # fmt: skip
    # Modules that imported HELM by name hold the object: each such name is swapped.
    swapped = _swap(releases.HELM, pinned(releases.HELM, helm_release))
    try:
        yield
    finally:
        releases.TALOS_RELEASES.update(original)
        releases.COZYSTACK_RELEASES.update(original_cozystack)
        for module, name, value in swapped:
            setattr(module, name, value)


def _swap(old, new) -> list[tuple]:
    import sys

    swapped = []
    for module_name, module in list(sys.modules.items()):
        if module_name.split(".")[0] != "talos_sandbox" or module is None:
            continue
        for name, value in list(vars(module).items()):
            if value is old:
                setattr(module, name, new)
                swapped.append((module, name, old))
    return swapped
