"""The flag table of the helm stand-in, extracted from helm's own sources.

    python -m harness.hostsim.tools.helm_flags [MIRROR]   # rewrites helm-flags.json

Reads, at tag VERSION of helm/helm (a git mirror, by default /work/.mirror/helm+helm/repo),
the Go sources that declare the flags of the commands the stand-in answers (`helm pull`,
`helm upgrade`) and of the root (persistent flags): cmd/helm/pull.go, cmd/helm/upgrade.go,
cmd/helm/flags.go (chart-path, values, output and post-render flags), pkg/cli/environment.go
(EnvSettings.AddFlags, the root's persistent flags) and cmd/helm/root.go (the subcommands).
It keeps data only: each flag's short form, long name and pflag value type, as
talosctl-flags.json does. Two things are not in those files and are written here by hand:
klog's flags (KLOG, from k8s.io/klog/v2 InitFlags, which root.go adds hidden) and the
positional-argument rules (ARGS, read from the same files' `Args:` lines). `--help`/`-h`
is cobra's own. tests/harness/test_cozystack_stand_ins.py checks the JSON against the
mirror when it is present.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

VERSION = "v3.18.4"
DEFAULT_MIRROR = "/work/.mirror/helm+helm/repo"
TABLE = Path(__file__).with_name("helm-flags.json")
# pflag's kind of each declaring function (cobra.py's names; unknown kinds are taken as strings).
KINDS = {"Bool": "", "String": "string", "StringSlice": "strings", "StringArray": "stringArray",
         "Duration": "duration", "Int": "int", "Float32": "float32", "StringToString": "stringToString"}  # fmt: skip
_DECLARATION = re.compile(r'\b(?:f|fs|flags)\.(?P<fn>[A-Za-z0-9]+?)Var(?P<p>P?)\(&[^,]+, "(?P<long>[a-z0-9-]+)"'
                          r'(?:, "(?P<short>[A-Za-z0-9])")?')  # fmt: skip
_SPECIAL = {  # flags declared through Var/VarP with helm's own value types (cmd/helm/flags.go)
    "bindOutputFlag": ["o", "output", "table, json, yaml"],
    "postRenderFlag": ["", "post-renderer", "string"],
    "postRenderArgsFlag": ["", "post-renderer-args", "stringArray"],
}
# k8s.io/klog/v2 InitFlags (klog.go), underscores made hyphens as root.go's normalize does.
KLOG = [["", name, kind] for name, kind in (
    ("add-dir-header", ""), ("alsologtostderr", ""), ("legacy-stderr-threshold-behavior", ""), ("log-backtrace-at", "string"),
    ("log-dir", "string"), ("log-file", "string"), ("log-file-max-size", "uint64"), ("logtostderr", ""),
    ("one-output", ""), ("skip-headers", ""), ("skip-log-headers", ""), ("stderrthreshold", "string"), ("v", "string"),
    ("vmodule", "string"))]  # fmt: skip
HELP = ["h", "help", ""]
ARGS = {"helm pull": [1, None], "helm upgrade": [2, 2]}  # require.MinimumNArgs(1), require.ExactArgs(2)


def _declared(source: str, function: str | None = None) -> list[list[str]]:
    if function is not None:
        start = source.index(f"func {function}(")
        source = source[start:source.index("\n}\n", start)]
    flags = []
    for match in _DECLARATION.finditer(source):
        kind = KINDS[match.group("fn")]
        short = match.group("short") if match.group("p") else ""
        flags.append([short or "", match.group("long"), kind])
    return flags


def _show(mirror: str, path: str) -> str:
    return subprocess.run(["git", f"--git-dir={mirror}", "show", f"{VERSION}:{path}"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip


def build(mirror: str = DEFAULT_MIRROR) -> dict:
    flags_go = _show(mirror, "cmd/helm/flags.go")
    chart_path = _declared(flags_go, "addChartPathOptionsFlags")
    value_options = _declared(flags_go, "addValueOptionsFlags")
    root = [*_declared(_show(mirror, "pkg/cli/environment.go"), "(s *EnvSettings) AddFlags"), *KLOG, HELP]
    pull = _declared(_show(mirror, "cmd/helm/pull.go"), "newPullCmd") + chart_path
    upgrade_go = _show(mirror, "cmd/helm/upgrade.go")
    upgrade = _declared(upgrade_go, "newUpgradeCmd") + chart_path + value_options
    for marker, flag in _SPECIAL.items():
        if marker in upgrade_go or (marker.startswith("postRender") and "bindPostRenderFlag" in upgrade_go):
            upgrade.append(flag)
    subcommands = sorted(set(re.findall(r"\n\t\tnew([A-Z][a-zA-Z]*)Cmd\(", _show(mirror, "cmd/helm/root.go"))))
    # newReleaseTestCmd is `helm test`; the others are their constructor's name, hyphenated.
    names = sorted({{"ReleaseTest": "test"}.get(name, re.sub(r"(?<!^)([A-Z])", r"-\1", name).lower()) for name in subcommands})

    def table(own: list[list[str]]) -> list[list[str]]:
        merged = {flag[1]: flag for flag in (*root, *own)}
        return sorted(merged.values(), key=lambda flag: flag[1])

    return {
        "source": f"helm/helm@{VERSION}: cmd/helm/{{pull,upgrade,flags,root}}.go, pkg/cli/environment.go "
                  "(klog's flags from k8s.io/klog/v2 InitFlags, written in tools/helm_flags.py)",
        "commands": {
            "helm": {"flags": sorted(root, key=lambda flag: flag[1]), "subcommands": names},
            "helm pull": {"flags": table(pull), "args": ARGS["helm pull"]},
            "helm upgrade": {"flags": table(upgrade), "args": ARGS["helm upgrade"]},
        },
    }


def load() -> dict:
    return json.loads(TABLE.read_text())


if __name__ == "__main__":
    TABLE.write_text(json.dumps(build(*sys.argv[1:2]), indent=1, sort_keys=True) + "\n")
