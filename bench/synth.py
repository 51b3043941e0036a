"""Synth speed and memory benchmark (`make bench`).

Runs, alternately and in fresh processes, after one warm-up of each:
- the project's synth: `python main.py` for the default sandbox;
- the naive baseline: `python -c "from cdktf_cdktf_provider_aws.vpc import Vpc"`, which
  runs the provider package's `__init__` (all ~2,100 resource modules);
then the same synth for a 3-node and a 30-node config. Prints medians, the ratio to the
baseline, the peak memory of the synth's whole process tree (Python plus the jsii node
process, sampled from /proc) and the 3-vs-30 scaling, against the targets of the speed
issue. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
NAIVE_IMPORT = "from cdktf_cdktf_provider_aws.vpc import Vpc"

TARGET_RATIO = 0.30
TARGET_PEAK_MIB = 650
TARGET_SCALING = 1.10


def _tree_rss_kib(root_pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue
        pid = int(entry)
        parents[pid] = int(fields.get("PPid", "0").strip())
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
    members, frontier = {root_pid}, [root_pid]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in members:
                members.add(pid)
                frontier.append(pid)
    return sum(rss.get(pid, 0) for pid in members)


def run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak MiB of the whole process tree."""
    peak = 0
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def sample() -> None:
        nonlocal peak
        while process.poll() is None:
            peak = max(peak, _tree_rss_kib(process.pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    elapsed = time.perf_counter() - started
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr.decode()}")
    return elapsed, peak / 1024


def node_config(count: int) -> str:
    nodes = "\n".join(
        f"  - name: node-{index}\n    private_ip: 10.10.0.{10 + index}\n    role: {'gateway' if index == 0 else 'compute'}"
        for index in range(count)
    )
    return f"name: bench-{count}\nnodes:\n{nodes}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="measured runs of each command (default 9)")
    args = parser.parse_args(argv)

    python = sys.executable
    scratch = Path(tempfile.mkdtemp(prefix="talos-sandbox-bench-"))
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "CDKTF_OUTDIR": str(scratch / "out")}
    configs = {}
    for count in (3, 30):
        path = scratch / f"nodes-{count}.yaml"
        path.write_text(node_config(count))
        configs[count] = {**env, "TALOS_SANDBOX_CONFIG": str(path)}

    commands = {
        "synth": ([python, "main.py"], env),
        "naive import": ([python, "-c", NAIVE_IMPORT], env),
        "synth 3 nodes": ([python, "main.py"], configs[3]),
        "synth 30 nodes": ([python, "main.py"], configs[30]),
    }
    for command, command_env in commands.values():  # warm-up: bytecode and jsii caches
        run(command, command_env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    peaks: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.rounds):
        for name, (command, command_env) in commands.items():  # alternating, round by round
            elapsed, peak = run(command, command_env)
            times[name].append(elapsed)
            peaks[name].append(peak)

    median = {name: statistics.median(values) for name, values in times.items()}
    ratio = median["synth"] / median["naive import"]
    peak_mib = max(peaks["synth"] + peaks["synth 30 nodes"])
    scaling = median["synth 30 nodes"] / median["synth 3 nodes"]

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"rounds: {args.rounds} after one warm-up, alternating\n")
    print(f"{'command':<16} {'median s':>9} {'min s':>7} {'max s':>7} {'peak MiB':>9}")
    for name in commands:
        print(
            f"{name:<16} {median[name]:>9.2f} {min(times[name]):>7.2f} {max(times[name]):>7.2f} "
            f"{max(peaks[name]):>9.0f}"
        )
    checks = [
        (f"synth / naive import = {ratio:.2f}", f"<= {TARGET_RATIO:.2f}", ratio <= TARGET_RATIO),
        (f"synth peak memory = {peak_mib:.0f} MiB", f"<= {TARGET_PEAK_MIB} MiB", peak_mib <= TARGET_PEAK_MIB),
        (f"30 nodes / 3 nodes = {scaling:.3f}", f"<= {TARGET_SCALING:.2f}", scaling <= TARGET_SCALING),
    ]
    print()
    for measured, target, ok in checks:
        print(f"{'ok  ' if ok else 'MISS'} {measured:<36} target {target}")
    return 0 if all(ok for _, _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
