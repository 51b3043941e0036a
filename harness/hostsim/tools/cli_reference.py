"""The flag tables of the talosctl stand-in, extracted from Talos' own CLI reference.

    python -m harness.hostsim.tools.cli_reference [MIRROR]   # rewrites talosctl-flags.json

For each talosctl release the product pins (talos_sandbox/facts/releases.py), it reads
`website/content/<minor>/reference/cli.md` at that release's tag of siderolabs/talos (a
git mirror, by default /work/.mirror/siderolabs+talos/repo) and keeps, for the commands
the stand-in answers and their parents, only data: each flag's short form, long name and
value type (the reference's "Options" and "Options inherited from parent commands"
blocks, which list every flag cobra accepts there), and the names of each parent's
subcommands (its "SEE ALSO" links). No prose is kept. Positional-argument rules are not
in the reference; they are in ARGS below, read from the command sources at the same tag.
tests/hostsim/test_stand_ins.py checks the JSON against the mirror when it is present.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

DEFAULT_MIRROR = "/work/.mirror/siderolabs+talos/repo"
TABLE = Path(__file__).with_name("talosctl-flags.json")
# The commands the stand-in answers (the product's calls), and their parents.
COMMANDS = (
    "talosctl", "talosctl apply-config", "talosctl bootstrap", "talosctl etcd", "talosctl etcd members",
    "talosctl etcd remove-member", "talosctl gen", "talosctl gen config", "talosctl gen secrets", "talosctl get",
    "talosctl health", "talosctl kubeconfig", "talosctl version",
)  # fmt: skip
# cobra's Args and Aliases of those commands, from cmd/talosctl/cmd/{talos,mgmt/gen}/*.go at
# the same tags (identical in v1.11.5, v1.12.5, v1.13.0 and v1.13.5): [min, max] positional
# arguments (max None: any), and aliases.
ARGS = {
    "talosctl apply-config": {"args": [0, 1], "aliases": ["apply"]},
    "talosctl bootstrap": {"args": [0, 0]},
    "talosctl etcd members": {"args": [0, 0]},
    "talosctl etcd remove-member": {"args": [1, 1]},
    "talosctl gen config": {"args": [2, 2]},
    "talosctl gen secrets": {"args": [0, 0]},
    "talosctl get": {"args": [1, 2], "aliases": ["g"]},
    "talosctl health": {"args": [0, 0]},
    "talosctl kubeconfig": {"args": [0, 1]},
    "talosctl version": {"args": [0, 0]},
}
_FLAG = re.compile(r"^\s+(?:-(?P<short>[A-Za-z0-9]), )?--(?P<long>[a-z0-9][a-z0-9-]*)(?: (?P<type>\S.*?))?(?:\s{2,}.*)?$")


def talosctl_versions() -> list[str]:
    from talos_sandbox.facts.releases import TALOS_RELEASES

    return sorted({release.talosctl.version for release in TALOS_RELEASES.values()})


def reference_path(version: str) -> str:
    minor = ".".join(version.split(".")[:2])
    return f"website/content/{minor}/reference/cli.md"


def sections(markdown: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    current = None
    for line in markdown.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            found[current] = []
        elif current is not None:
            found[current].append(line)
    return found


def flags_of(lines: list[str]) -> list[list[str]]:
    """[short, long, type] of every flag in the section's Options blocks ("" type: a bool)."""
    flags, in_options, in_block = {}, False, False
    for line in lines:
        if line.startswith("### "):
            in_options = line.strip() in ("### Options", "### Options inherited from parent commands")
        elif line.startswith("```") and in_options:
            in_block = not in_block
        elif in_block:
            match = _FLAG.match(line)
            if match is None:
                raise ValueError(f"not a flag line: {line!r}")
            kind = (match.group("type") or "").strip()
            flags[match.group("long")] = [match.group("short") or "", match.group("long"), kind]
    return sorted(flags.values(), key=lambda flag: flag[1])


def subcommands_of(name: str, lines: list[str]) -> list[str]:
    prefix = f"* [{name} "
    return sorted(line[len(prefix):].split("]", 1)[0] for line in lines if line.startswith(prefix))


def extract(markdown: str) -> dict:
    found = sections(markdown)
    table = {}
    for name in COMMANDS:
        entry = {"flags": flags_of(found[name])}
        subcommands = subcommands_of(name, found[name])
        if subcommands:
            entry["subcommands"] = subcommands
        entry.update(ARGS.get(name, {}))
        table[name] = entry
    return table


def build(mirror: str = DEFAULT_MIRROR) -> dict:
    tables = {}
    for version in talosctl_versions():
        path = reference_path(version)
        markdown = subprocess.run(["git", "-C", mirror, "show", f"{version}:{path}"], capture_output=True, text=True,
                                  check=True).stdout  # fmt: skip
        tables[version] = {"source": f"siderolabs/talos@{version}:{path}", "commands": extract(markdown)}
    return tables


def load() -> dict:
    return json.loads(TABLE.read_text())


if __name__ == "__main__":
    TABLE.write_text(json.dumps(build(*sys.argv[1:2]), indent=1, sort_keys=True) + "\n")
