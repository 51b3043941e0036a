"""Shell commands that download a pinned tool and verify it twice before it is used:
against the sha256 the release matrix pins (when one is recorded) and against the
release's own checksum file. Any mismatch stops the chain (`&&`) before `install`."""

from __future__ import annotations

from ..facts.releases import PinnedTool

INSTALL_DIR = "$HOME/.local/bin"


def _file_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def verified_install(tool: PinnedTool, arch: str) -> str:
    """One command line: download, check both sums, install into INSTALL_DIR."""
    url, checksums = tool.download_url(arch), tool.release_checksum_url(arch)
    name, checksum_file = _file_name(url), _file_name(checksums)
    pinned = tool.sha256.get(arch)
    steps = [f"curl -fsSLO {url}", f"curl -fsSLO {checksums}"]
    if pinned:
        steps.append(f"echo '{pinned}  {name}' | sha256sum -c -")
    if tool.name == "kubectl":  # dl.k8s.io's .sha256 holds the bare digest
        steps.append(f"echo \"$(cat {checksum_file})  {name}\" | sha256sum -c -")
    else:  # "digest  file" lines; the talosctl list names every asset of the release
        steps.append(f"sha256sum -c --ignore-missing {checksum_file}")
    if name.endswith(".tar.gz"):
        steps.append(f"tar -xzf {name} linux-{arch}/{tool.name} && install -m 0755 linux-{arch}/{tool.name} {INSTALL_DIR}/{tool.name}")
    else:
        steps.append(f"install -m 0755 {name} {INSTALL_DIR}/{tool.name}")
    return " \\\n  && ".join(steps)
