"""The cluster's unattended bring-up: talos-sandbox-cluster.service on the bastion, as
synthesized, against Talos node stand-ins behind the simulated VPC (harness/hostsim/
talos_node.py), with the talosctl and kubectl stand-ins it downloads and verifies, and
SSM, KMS and IAM as the simulated AWS API enforces them.

Two worlds. The default sandbox (three control planes, WireGuard egress) is shared by the
tests of this module in order: nodes before and long after the bastion, then what must
hold once it is up (no secret outside the parameters, the role's limits), a changed
patch, the bastion rebooted and replaced, a node replaced. Five nodes with two workers
(Elastic IP egress) show the rest in one world: a tampered talosctl, the bastion rebooted
and replaced mid-way, a refused SSM write.
"""

from __future__ import annotations

import json

import pytest

from harness.hostsim import aws_api
from harness.hostsim.tools import talos_formats as formats
from harness.hostsim.tools import talosctl_release
from harness.wait import wait_for

from .conftest import _build

UNIT = "talos-sandbox-cluster.service"
INSTALL_LOG = "/var/log/talos-sandbox-install.log"
TOOLS = "/var/lib/talos-sandbox/tools"
ARGV_LOG = "/var/lib/talos-sandbox/stand-in-argv.jsonl"
EXIT_TAMPERED = 65
READY_SECONDS = 150


# --- reading the world ---------------------------------------------------------------------


def parameter(sandbox, key: str) -> dict:
    with aws_api.account(sandbox.world.account) as state:
        return state["ssm"][f"/{sandbox.config.name}/cluster/{key}"]


def status(sandbox) -> dict:
    value = parameter(sandbox, "status")["value"]
    return json.loads(value) if value != "pending" else {}


def calls(sandbox) -> list[dict]:
    path = sandbox.world.account.with_name(sandbox.world.account.name + ".calls.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def wait_status(sandbox, what: str, condition, timeout: float = READY_SECONDS) -> dict:
    def reached():
        found = status(sandbox)
        return found if found and condition(found) else None

    try:
        return wait_for(reached, timeout, interval=1, what=what)
    except TimeoutError:
        bastion = sandbox.world.bastion
        console = bastion.machine.console()[-4000:] if bastion else "(no bastion)"
        raise AssertionError(f"timed out waiting for {what}; status: {status(sandbox)}\n{console}") from None


def wait_ready(sandbox, after: str = "", timeout: float = READY_SECONDS, also=lambda: True) -> dict:
    """The status says ready with no error and every node configured, written after `after`
    (an earlier status's `updated`), once `also()` holds. (The unit keeps the phase `ready`
    while a round of an up cluster fails; last_error then says why.)"""
    return wait_status(sandbox, f"ready (after {after or 'the start'})", lambda s: s["phase"] == "ready"
                       and s["last_error"] is None and s.get("updated", "") > after and also()
                       and all(n["state"] == "configured" for n in s["nodes"].values()), timeout)  # fmt: skip


def last_update(sandbox) -> str:
    return status(sandbox).get("updated", "")


def applies(sandbox) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for event in sandbox.world.talos.events("apply"):
        found.setdefault(event["hostname"], []).append(event)
    return found


def bootstrap_calls(sandbox) -> list[dict]:
    return [e for e in sandbox.world.talos.record() if e["event"].startswith("bootstrap")]


def errors_on_console(sandbox) -> set[str]:
    """Every distinct `last error` the unit printed."""
    found = set()
    for line in sandbox.world.bastion.machine.console().splitlines():
        if "talos-sandbox cluster: " in line and "; last error: " in line:
            found.add(line.split("; last error: ", 1)[1].strip())
    return found


def assert_one_cluster(sandbox, applies_per_node: dict[str, int]) -> None:
    """One bootstrap call in all (it succeeded); each node applied exactly as often as given."""
    assert [e["event"] for e in bootstrap_calls(sandbox)] == ["bootstrap"], bootstrap_calls(sandbox)
    found = {name: len(events) for name, events in applies(sandbox).items()}
    assert found == applies_per_node, f"applies per node: {found}, expected {applies_per_node}"


def bastion_run(sandbox, *argv: str, check: bool = False):
    return sandbox.world.bastion.machine.run(*argv, check=check)


# --- the default sandbox, shared by the tests below in order -------------------------------


@pytest.fixture(scope="module")
def cluster(synth, keys, tmp_path_factory):
    sandbox = _build("cluster-default", keys, synth, tmp_path_factory.mktemp("world-cluster-default"))
    yield sandbox
    sandbox.world.close()


def test_nodes_before_and_long_after_the_bastion_make_one_cluster(cluster):
    sandbox, world = cluster, cluster.world
    first, second, third = sorted(sandbox.stack.node_user_data)
    names = {str(n.private_ip): n.name for n in sandbox.config.nodes}
    early = world.launch_node(first)  # before the bastion: it waits for IPv4 egress
    wait_for(lambda: "no IPv4 egress through the bastion yet" in early.machine.read(INSTALL_LOG), 120,
             what="the early node waiting for the bastion")  # fmt: skip
    sandbox.boot_bastion()
    world.launch_node(second)
    wait_status(sandbox, "the first two configured and etcd bootstrapped", lambda s: s["bootstrapped"] and
                [s["nodes"][names[ip]]["state"] for ip in (str(first), str(second))] == ["configured"] * 2)  # fmt: skip
    rounds = len(calls(sandbox))
    wait_for(lambda: len(calls(sandbox)) > rounds + 20, 60, what="the unit to go on waiting for the third node")
    assert status(sandbox)["last_error"] == f"waiting for {names[str(third)]} (Talos API on port 50000)"
    world.launch_node(third)  # long after the bastion
    found = wait_ready(sandbox)

    assert found["last_error"] is None and found["talos"] == sandbox.config.talos_version
    assert {name: (node["ip"], node["state"]) for name, node in found["nodes"].items()} == {
        n.name: (str(n.private_ip), "configured") for n in sandbox.config.nodes}
    assert all(len(node["config"]) == 64 for node in found["nodes"].values())
    assert_one_cluster(sandbox, {name: 1 for name in names.values()})
    assert all(event["insecure"] for events in applies(sandbox).values() for event in events)
    assert bootstrap_calls(sandbox)[0]["hostname"] == sandbox.config.first_control_plane.name
    assert "phase ready" in world.bastion.machine.console()
    # Nothing went wrong on the way: the only errors were waits.
    assert all(error.startswith("waiting for") for error in errors_on_console(sandbox)), errors_on_console(sandbox)
    for key in ("talosconfig", "kubeconfig", "secrets"):
        written = parameter(sandbox, key)
        assert written["value"] != "pending" and written["type"] == "SecureString", key
        assert written["key"] == sandbox.stack.kms_aliases[f"alias/{sandbox.config.name}-cluster"], key
    kubeconfig = formats.load_kubeconfig(parameter(sandbox, "kubeconfig")["value"])
    assert kubeconfig["server"] == "https://127.0.0.1:6443", "the operator's port forward"
    # The published talosconfig is the cluster's: the bastion's talosctl reaches a node with it.
    bastion_run(sandbox, "sh", "-c", f"umask 077; cat > /root/talosconfig <<'EOF'\n{parameter(sandbox, 'talosconfig')['value']}\nEOF")
    version = bastion_run(sandbox, f"{TOOLS}/talosctl", "--talosconfig", "/root/talosconfig", "-e", str(first), "-n",
                          str(first), "version")  # fmt: skip
    assert version.returncode == 0 and f"Tag:         {sandbox.config.talos_version}" in version.stdout, version.stderr


def secrets_of(sandbox) -> dict[str, str]:
    """The actual secret bytes: the bundle's keys (as stored, and the base64 inside each PEM
    block) and tokens, and the client keys of the talosconfig and kubeconfig."""
    bundle = formats.load_nested(parameter(sandbox, "secrets")["value"])
    found = {"cluster secret": bundle["cluster"]["secret"], "bootstrap token": bundle["secrets"]["bootstraptoken"],
             "trustd token": bundle["trustdinfo"]["token"],
             "secretbox secret": bundle["secrets"]["secretboxencryptionsecret"]}  # fmt: skip
    for name, ca in bundle["certs"].items():
        found[f"{name} CA key"] = ca["key"]
        found[f"{name} CA key (decoded)"] = formats.pem_body(ca["key"])[:48]
    context = next(iter(formats.load_talosconfig(parameter(sandbox, "talosconfig")["value"])["contexts"].values()))
    found["talosconfig client key"] = context["key"]
    found["kubeconfig client key"] = formats.load_kubeconfig(parameter(sandbox, "kubeconfig")["value"])["client-key-data"]
    return found


SEARCHED = ["/etc", "/var", "/run", "/home", "/root", "/usr/local", "/tmp"]


def test_no_secret_outside_the_parameters(cluster):
    sandbox = cluster
    machine = sandbox.world.bastion.machine
    console, journal = machine.console(), machine.journal()
    processes = machine.run("ps", "-eo", "args", "--no-headers").stdout
    argv = machine.read(ARGV_LOG)
    assert '"talosctl", "gen", "secrets"' in argv and '"aws", "ssm", "put-parameter"' in argv, "every command line is logged"
    user_data = [sandbox.stack.bastion_user_data, *sandbox.stack.node_user_data.values()]
    stack_json = json.dumps(sandbox.stack.parameters)
    for what, secret in secrets_of(sandbox).items():
        assert secret not in console, f"{what} on the console"
        assert secret not in journal, f"{what} in the journal"
        assert secret not in processes, f"{what} in the process list"
        assert secret not in argv, f"{what} on a command line"
        assert not any(secret in text for text in user_data), f"{what} in user-data"
        assert secret not in stack_json, f"{what} in Terraform's parameters"
        readable = machine.run("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "grep", "-rlsF", "--",
                               secret, *SEARCHED, check=False).stdout.split()  # fmt: skip
        assert readable == [], f"{what} readable by others in {readable}"
        logs = machine.run("grep", "-rlsF", "--", secret, "/var/log", check=False).stdout.split()
        assert logs == [], f"{what} in the logs {logs}"
    held = machine.run("grep", "-rlF", "--", secrets_of(sandbox)["os CA key"], "/run", check=False).stdout.split()
    assert held and all(path.startswith("/run/talos-sandbox-cluster/") for path in held), f"the search works: {held}"


def test_the_bastion_may_write_only_its_own_parameters(cluster):
    sandbox = cluster
    name, region = sandbox.config.name, sandbox.config.region
    put = ["env", "AWS_USE_DUALSTACK_ENDPOINT=true", "aws", "ssm", "put-parameter", "--region", region, "--type",
           "SecureString", "--tier", "Standard", "--overwrite", "--value", "x"]  # fmt: skip
    patch = bastion_run(sandbox, *put, "--name", f"/{name}/cluster/patches/{sandbox.config.nodes[0].name}",
                        "--key-id", f"alias/{name}-cluster")  # fmt: skip
    assert patch.returncode == 254 and "(AccessDeniedException)" in patch.stderr and "ssm:PutParameter" in patch.stderr
    other_key = next(arn for arn in sandbox.stack.kms_keys if arn != sandbox.stack.kms_aliases[f"alias/{name}-cluster"])
    keyed = bastion_run(sandbox, *put, "--name", f"/{name}/cluster/status", "--key-id", other_key)
    assert keyed.returncode == 254 and "kms:Encrypt" in keyed.stderr, keyed.stderr
    assert status(sandbox)["phase"] == "ready", "neither write landed"


def test_a_changed_patch_reconfigures_only_its_node(cluster):
    sandbox = cluster
    node = sandbox.config.nodes[-1].name
    before = {name: len(events) for name, events in applies(sandbox).items()}
    since = last_update(sandbox)
    with aws_api.account(sandbox.world.account) as state:  # what `terraform apply` of a changed patch does
        patch = state["ssm"][f"/{sandbox.config.name}/cluster/patches/{node}"]
        assert "- 169.254.169.123" in patch["value"]
        patch.update(value=patch["value"].replace("- 169.254.169.123", "- 169.254.169.124"), version=patch["version"] + 1)
    found = wait_ready(sandbox, since, 60, also=lambda: len(applies(sandbox)[node]) > before[node])
    assert_one_cluster(sandbox, {**before, node: before[node] + 1})
    [again] = applies(sandbox)[node][before[node]:]
    assert not again["insecure"] and again["changed"], "a configured node gets its new config over the secure API"
    assert found["nodes"][node]["state"] == "configured"


def test_the_bastion_rebooted_and_replaced_after_completion(cluster):
    sandbox, world = cluster, cluster.world
    secrets = parameter(sandbox, "secrets")
    before = {name: len(events) for name, events in applies(sandbox).items()}
    since = last_update(sandbox)
    world.reboot(world.bastion)
    wait_ready(sandbox, since)
    assert "phase ready" in world.bastion.machine.console().split("talos-sandbox bastion boot: done")[-1]
    world.terminate_bastion()
    since = last_update(sandbox)
    sandbox.boot_bastion()
    wait_ready(sandbox, since)
    assert parameter(sandbox, "secrets") == secrets, "the same secrets, never written again"
    assert_one_cluster(sandbox, before)


def test_a_replaced_control_plane_gets_its_config_and_rejoins_etcd(cluster):
    sandbox, world = cluster, cluster.world
    replaced = sandbox.config.nodes[1]
    before = {name: len(events) for name, events in applies(sandbox).items()}
    since = last_update(sandbox)
    world.terminate_node(replaced.private_ip)  # and at once a new instance: Talos in maintenance mode
    world.launch_node(replaced.private_ip, preinstalled=True)
    wait_ready(sandbox, since, also=lambda: len(applies(sandbox)[replaced.name]) > before[replaced.name])
    assert_one_cluster(sandbox, {**before, replaced.name: before[replaced.name] + 1})
    assert applies(sandbox)[replaced.name][-1]["insecure"], "the new instance was in maintenance mode"
    [removed] = world.talos.events("remove-member")
    assert removed["removed_hostname"] == replaced.name and removed["hostname"] != replaced.name
    [cluster_id] = world.talos.etcd()
    members = sorted(m["hostname"] for m in world.talos.etcd()[cluster_id]["members"].values())
    assert members == sorted(n.name for n in sandbox.config.nodes if n.machine_type == "controlplane")


# --- five nodes: a tampered download, the bastion replaced mid-way, a refused write ---------


def test_five_nodes_through_a_tampered_download_bastions_replaced_mid_way_and_a_refused_write(new_sandbox):
    sandbox = new_sandbox("cluster-five")
    world, config = sandbox.world, sandbox.config
    version = config.talos_release.talosctl.version
    # Another program under the genuine name, and a checksum file that lists it: only the pin catches it.
    world.internet.publish_talosctl(version, arm64=talosctl_release(version) + b"\n# tampered\n")
    bastion = sandbox.boot_bastion()
    state = sandbox.wait_for_unit(bastion, UNIT, lambda s: s["ActiveState"] == "failed", "failed", timeout=60)
    assert (state["ExecMainStatus"], state["NRestarts"]) == (str(EXIT_TAMPERED), "0"), f"final, not retried: {state}"
    failed = status(sandbox)
    assert failed["phase"] == "failed" and "talosctl-linux-arm64" in failed["last_error"] and "pinned" in failed["last_error"]
    assert "FATAL" in bastion.machine.console() and failed["last_error"] in bastion.machine.console()
    assert bastion_run(sandbox, "test", "-e", f"{TOOLS}/talosctl").returncode != 0, "the download never became a tool"
    assert parameter(sandbox, "secrets")["value"] == "pending", "nothing ran"

    world.internet.publish_talosctl(version)  # the genuine release again; a new bastion
    world.terminate_bastion()
    sandbox.boot_bastion()
    nodes = {n.name: n for n in config.nodes}
    control_planes = [n for n in config.nodes if n.machine_type == "controlplane"]
    workers = [n for n in config.nodes if n.machine_type == "worker"]
    for node in (control_planes[0], workers[0]):
        world.launch_node(node.private_ip, preinstalled=True)
    wait_status(sandbox, "etcd bootstrapped, two nodes configured", lambda s: s["bootstrapped"] and
                [s["nodes"][n.name]["state"] for n in (control_planes[0], workers[0])] == ["configured"] * 2)  # fmt: skip
    secrets = parameter(sandbox, "secrets")
    # Mid-way: rebooted, then replaced, while three nodes are still to come.
    since = last_update(sandbox)
    world.reboot(world.bastion)
    wait_status(sandbox, "the rebooted bastion at work", lambda s: s["updated"] > since and s["bootstrapped"], 60)
    world.terminate_bastion()
    since = last_update(sandbox)
    bastion = sandbox.boot_bastion()
    wait_status(sandbox, "the new bastion at work", lambda s: s["updated"] > since and s["phase"] == "configuring", 60)

    # A refused write: the kubeconfig's. The status and the console say why; the unit retries.
    kubeconfig = f"/{config.name}/cluster/kubeconfig"
    with aws_api.account(world.account) as account:
        account["refuse_put"] = [kubeconfig]
    for node in (*control_planes[1:], *workers[1:]):
        world.launch_node(node.private_ip, preinstalled=True)
    refused = wait_status(sandbox, "the refused write in the status",
                          lambda s: "AccessDeniedException" in (s["last_error"] or ""), 90)  # fmt: skip
    assert f"cannot write {kubeconfig}" in refused["last_error"] and refused["phase"] != "ready"
    assert refused["last_error"].strip() in bastion.machine.console()
    wait_for(lambda: sum(c["name"] == kubeconfig and bool(c["error"]) for c in calls(sandbox)) >= 2, 60,
             what="the unit to retry the write")  # fmt: skip
    with aws_api.account(world.account) as account:
        account["refuse_put"] = []
    found = wait_ready(sandbox)
    assert parameter(sandbox, "kubeconfig")["value"] != "pending"
    assert parameter(sandbox, "secrets") == secrets, "the same secrets across both bastions"
    assert set(found["nodes"]) == set(nodes) and all(n["state"] == "configured" for n in found["nodes"].values())
    assert_one_cluster(sandbox, {name: 1 for name in nodes})
