#!/usr/bin/python3
"""talos-sandbox cluster bring-up, run on the bastion by talos-sandbox-cluster.service.

It works from /etc/talos-sandbox/cluster.json (the plan synth wrote into the user-data)
and converges, round after round, until the cluster is up, then keeps it so:
  tools        talosctl and kubectl of the release matrix, each checked against the sha256
               the plan pins and against its release's own checksum file (a mismatch: the
               status says which, the program exits 65 and the unit does not restart it);
  secrets      read from their SSM parameter; generated once when it still holds the
               placeholder, never again once the cluster was bootstrapped;
  configuring  every node's config generated from the secrets and its patches (each an SSM
               parameter Terraform writes); a node in maintenance mode gets it (a new or a
               replaced instance), a configured node whose patches changed gets it again,
               nothing else is touched;
  bootstrapping  etcd on the first control plane, exactly once: the status parameter
               records it, and an "already bootstrapped" answer counts as done;
  kubernetes   the admin kubeconfig from Talos, then the API server's /readyz;
  health       `talosctl health` with every node named;
  ready        talosconfig and kubeconfig (pointing at the operator's port forward) in
               their SSM parameters.
Progress is the status parameter (JSON: phase, per-node state, last error, time) and the
console. Secrets live only in SSM and under the unit's runtime directory (tmpfs, 0700,
removed when the unit stops); no value ever goes on a command line or into the journal.
Python 3.9's standard library only (Amazon Linux 2023's python3).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import subprocess
import sys
import time

PLAN_FILE = "/etc/talos-sandbox/cluster.json"
RUN_DIR = os.environ.get("RUNTIME_DIRECTORY", "/run/talos-sandbox-cluster")
TOOLS_DIR = os.path.join(os.environ.get("STATE_DIRECTORY", "/var/lib/talos-sandbox"), "tools")
EXIT_TAMPERED = 65
TRY_SECONDS = 30  # one call to a node or to AWS
DOWNLOAD_SECONDS = 300
# Between rounds while the cluster is coming up, and once it is up (the plan's poll_seconds).
RETRY_SECONDS = int(os.environ.get("CLUSTER_RETRY_SECONDS", "10"))
ALREADY_BOOTSTRAPPED = ("AlreadyExists", "etcd data directory is not empty")


class Failed(Exception):
    """A step that did not work this round; the next round tries again."""


class Tampered(Exception):
    """A download that failed its check: nothing it brought may run."""


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def say(message: str) -> None:
    print(f"talos-sandbox cluster: {message}", flush=True)


def run(args: list[str], timeout: int = TRY_SECONDS, env: dict | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, 124, "", f"no answer within {timeout} s")


def reason(result: subprocess.CompletedProcess) -> str:
    """The last line a failed command printed (its error), kept short."""
    lines = [line.strip() for line in (result.stderr or result.stdout or "").splitlines() if line.strip()]
    return (lines[-1] if lines else f"exit status {result.returncode}")[:300]


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_private(path: str, text: str) -> None:
    """A file only root can read (the umask is 077 too)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        stream.write(text)


def same_value(stored: str | None, written: str) -> bool:
    """Whether a parameter holds what a file gave it: the CLI stores a file:// value as it is,
    its final newline too, and prints it with one more (Ssm.read drops that one)."""
    return stored is not None and stored.rstrip("\n") == written.rstrip("\n")


def read_text(path: str) -> str:
    with open(path) as stream:
        return stream.read()


class Ssm:
    """The parameters, through the AWS CLI over the dual-stack (IPv6) endpoint."""

    def __init__(self, plan: dict) -> None:
        self.region, self.key_id, self.placeholder = plan["region"], plan["key_id"], plan["placeholder"]
        self.env = {**os.environ, "AWS_USE_DUALSTACK_ENDPOINT": "true"}

    def read(self, name: str) -> str | None:
        """The value, or None while it is Terraform's placeholder."""
        result = run(["aws", "ssm", "get-parameter", "--region", self.region, "--name", name, "--with-decryption",
                      "--query", "Parameter.Value", "--output", "text"], env=self.env)  # fmt: skip
        if result.returncode != 0:
            raise Failed(f"cannot read {name}: {reason(result)}")
        value = result.stdout[:-1] if result.stdout.endswith("\n") else result.stdout
        return None if value == self.placeholder else value

    def write(self, name: str, tier: str, path: str) -> None:
        """The file's content as the value: read by the CLI, never on a command line."""
        result = run(["aws", "ssm", "put-parameter", "--region", self.region, "--name", name, "--type", "SecureString",
                      "--key-id", self.key_id, "--tier", tier, "--overwrite", "--value", f"file://{path}"],
                     env=self.env)  # fmt: skip
        if result.returncode != 0:
            raise Failed(f"cannot write {name}: {reason(result)}")


class Status:
    """The status parameter's document, published when it changes (and shown on the console)."""

    def __init__(self, plan: dict, ssm: Ssm) -> None:
        self.ssm, self.parameter = ssm, plan["parameters"]["status"]
        self.doc: dict = {
            "phase": "starting",
            "talos": plan["talos_version"],
            "bootstrapped": False,
            "last_error": None,
            "nodes": {node["name"]: {"ip": node["ip"], "state": "waiting", "config": None} for node in plan["nodes"]},
        }
        self.loaded = False
        self._published: str | None = None
        self._shown: str | None = None

    def load(self) -> None:
        """What an earlier bastion recorded: whether etcd was bootstrapped, what each node got."""
        value = self.ssm.read(self.parameter["name"])
        if value is not None:
            try:
                earlier = json.loads(value)
            except ValueError:
                raise Failed(f"{self.parameter['name']} holds no JSON; refusing to guess whether etcd was bootstrapped")
            self.doc["bootstrapped"] = bool(earlier.get("bootstrapped"))
            for name, node in earlier.get("nodes", {}).items():
                if name in self.doc["nodes"] and node.get("config"):
                    self.doc["nodes"][name]["config"] = node["config"]
        self.loaded = True

    def node(self, name: str) -> dict:
        return self.doc["nodes"][name]

    def update(self, **changes) -> None:
        self.doc.update(changes)
        self.publish()

    def publish(self) -> None:
        content = json.dumps(self.doc, sort_keys=True)
        if content != self._shown:
            self._shown = content
            nodes = ", ".join(f"{name} {node['state']}" for name, node in sorted(self.doc["nodes"].items()))
            error = f"; last error: {self.doc['last_error']}" if self.doc["last_error"] else ""
            say(f"phase {self.doc['phase']}; {nodes}{error}")
        if content == self._published or not self.loaded:
            return  # an unread earlier status must not be overwritten
        path = os.path.join(RUN_DIR, "status.json")
        write_private(path, json.dumps({**self.doc, "updated": now()}, indent=1, sort_keys=True) + "\n")
        try:
            self.ssm.write(self.parameter["name"], self.parameter["tier"], path)
            self._published = content
        except Failed as error:
            say(f"the status is not published: {error}")


class Cluster:
    def __init__(self, plan: dict) -> None:
        self.plan = plan
        self.ssm = Ssm(plan)
        self.status = Status(plan, self.ssm)
        self.talosctl = os.path.join(TOOLS_DIR, "talosctl")
        self.kubectl = os.path.join(TOOLS_DIR, "kubectl")
        self.secrets = os.path.join(RUN_DIR, "secrets.yaml")
        self.talosconfig = os.path.join(RUN_DIR, "talosconfig")
        self.kubeconfig = os.path.join(RUN_DIR, "kubeconfig")
        self.have_secrets = False
        self.digests: dict[str, str] = {}
        self.healthy = False
        self.bootstrap_node = next(n for n in plan["nodes"] if n["name"] == plan["bootstrap_node"])

    # --- tools -----------------------------------------------------------------------

    def install_tools(self) -> None:
        os.makedirs(TOOLS_DIR, mode=0o755, exist_ok=True)
        for tool in self.plan["tools"].values():
            self._install(tool)

    def _install(self, tool: dict) -> None:
        target = os.path.join(TOOLS_DIR, tool["name"])
        file_name = tool["url"].rsplit("/", 1)[1]
        if not tool["sha256"]:
            raise Tampered(f"{file_name}: the plan pins no sha256; refusing to run an unchecked download")
        if os.path.exists(target) and sha256_of(target) == tool["sha256"]:
            return
        part, sums = f"{target}.part", f"{target}.checksums"
        for url, path in ((tool["url"], part), (tool["checksums_url"], sums)):
            result = run(["curl", "-fsSL", "--max-time", str(DOWNLOAD_SECONDS), "-o", path, url], timeout=DOWNLOAD_SECONDS + 10)
            if result.returncode != 0:
                raise Failed(f"downloading {url} failed (no IPv4 egress yet?): {reason(result)}")
        digest = sha256_of(part)
        listed = self._listed_digest(read_text(sums), tool["checksum_format"], file_name)
        if digest != tool["sha256"]:
            os.unlink(part)
            raise Tampered(f"{file_name} {tool['version']}: sha256 {digest} is not the pinned {tool['sha256']}")
        if listed != digest:
            os.unlink(part)
            raise Tampered(f"{file_name} {tool['version']}: the release's checksum file says {listed or 'nothing'}, "
                           f"the download is {digest}")  # fmt: skip
        os.chmod(part, 0o755)
        os.replace(part, target)
        say(f"installed {tool['name']} {tool['version']} (sha256 {digest}, pinned and listed by the release)")

    @staticmethod
    def _listed_digest(text: str, checksum_format: str, file_name: str) -> str | None:
        if checksum_format == "bare":
            words = text.split()
            return words[0] if words else None
        for line in text.splitlines():
            words = line.split()
            if len(words) == 2 and words[1].lstrip("*") == file_name:
                return words[0]
        return None

    def talos(self, *args: str, node: dict | None = None, timeout: int = TRY_SECONDS) -> subprocess.CompletedProcess:
        """talosctl with the cluster's talosconfig, aimed at one node (endpoint and target)."""
        target = ["--endpoints", node["ip"], "--nodes", node["ip"]] if node else []
        return run([self.talosctl, "--talosconfig", self.talosconfig, *target, *args], timeout=timeout)

    # --- secrets and configs ---------------------------------------------------------

    def ensure_secrets(self) -> None:
        if self.have_secrets:
            return
        parameter = self.plan["parameters"]["secrets"]
        value = self.ssm.read(parameter["name"])
        if value is None:
            if self.status.doc["bootstrapped"]:
                raise Failed(f"{parameter['name']} is empty but etcd was bootstrapped with secrets from it: "
                             "refusing to make new ones (restore the parameter)")  # fmt: skip
            result = run([self.talosctl, "gen", "secrets", "--output-file", self.secrets])
            if result.returncode != 0:
                raise Failed(f"talosctl gen secrets: {reason(result)}")
            self.ssm.write(parameter["name"], parameter["tier"], self.secrets)
            if not same_value(self.ssm.read(parameter["name"]), read_text(self.secrets)):
                raise Failed(f"{parameter['name']} does not read back as written")
            say(f"generated the cluster's secrets into {parameter['name']}")
        else:
            write_private(self.secrets, value + "\n")
        result = run([self.talosctl, "gen", "config", self.plan["cluster_name"], self.plan["endpoint"],
                      "--with-secrets", self.secrets, "--talos-version", self.plan["talos_minor"],
                      "--output-types", "talosconfig", "--output", self.talosconfig, "--force"])  # fmt: skip
        if result.returncode != 0:
            raise Failed(f"talosctl gen config (talosconfig): {reason(result)}")
        self.have_secrets = True

    def render_configs(self) -> None:
        """Every node's config from its patches as SSM holds them now; digests of the inputs."""
        patches: dict[str, str] = {}
        os.makedirs(os.path.join(RUN_DIR, "patches"), exist_ok=True)
        for node in self.plan["nodes"]:
            for name in node["patches"]:
                if name not in patches:
                    value = self.ssm.read(name)
                    if value is None:
                        raise Failed(f"the patch {name} is empty")
                    patches[name] = value + "\n"
            inputs = {key: self.plan[key] for key in ("talos_version", "kubernetes_version", "endpoint")}
            inputs.update(machine_type=node["machine_type"], patches=[patches[name] for name in node["patches"]])
            digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
            config = self._config_file(node)
            if self.digests.get(node["name"]) == digest and os.path.exists(config):
                continue
            arguments = []
            for index, name in enumerate(node["patches"]):
                path = os.path.join(RUN_DIR, "patches", f"{node['name']}-{index}.yaml")
                write_private(path, patches[name])
                arguments += ["--config-patch", f"@{path}"]
            result = run([self.talosctl, "gen", "config", self.plan["cluster_name"], self.plan["endpoint"],
                          "--with-secrets", self.secrets, "--kubernetes-version", self.plan["kubernetes_version"],
                          "--talos-version", self.plan["talos_minor"], "--output-types", node["machine_type"],
                          "--with-examples=false", "--with-docs=false", *arguments,
                          "--output", config, "--force"])  # fmt: skip
            if result.returncode != 0:
                raise Failed(f"talosctl gen config for {node['name']}: {reason(result)}")
            self.digests[node["name"]] = digest

    @staticmethod
    def _config_file(node: dict) -> str:
        return os.path.join(RUN_DIR, f"{node['name']}.yaml")

    # --- nodes -----------------------------------------------------------------------

    def converge_node(self, node: dict) -> bool:
        """Give the node its config if it needs it; True when it got one this round."""
        known, wanted = self.status.node(node["name"]), self.digests[node["name"]]
        if self.talos("version", "--short", node=node).returncode == 0:
            changed = known["config"] != wanted
            if changed:
                result = self.talos("apply-config", "--file", self._config_file(node), node=node)
                if result.returncode != 0:
                    raise Failed(f"{node['name']}: apply-config: {reason(result)}")
                say(f"{node['name']}: its patches changed; applied the new config")
            known.update(state="configured", config=wanted)
            return changed
        probe = run([self.talosctl, "--nodes", node["ip"], "get", "disks", "--insecure", "--output", "json"])
        if probe.returncode != 0:
            known["state"] = "unreachable" if known["config"] else "waiting"
            return False
        known["state"] = "maintenance"
        self.status.publish()
        if known["config"] and node["machine_type"] == "controlplane" and self.status.doc["bootstrapped"]:
            self.remove_old_member(node)  # a replaced control plane cannot join while its old self is listed
        result = run([self.talosctl, "apply-config", "--insecure", "--nodes", node["ip"], "--file", self._config_file(node)])
        if result.returncode != 0:
            raise Failed(f"{node['name']}: apply-config --insecure: {reason(result)}")
        say(f"{node['name']}: was in maintenance mode; applied its config")
        known.update(state="configured", config=wanted)
        self.status.publish()
        return True

    def remove_old_member(self, node: dict) -> None:
        others = [n for n in self.plan["nodes"] if n["machine_type"] == "controlplane" and n is not node
                  and self.status.node(n["name"])["state"] == "configured"]  # fmt: skip
        if not others:
            say(f"{node['name']}: the only configured control plane was replaced; its etcd data is gone (README)")
            return
        for other in others:
            listed = self.talos("etcd", "members", node=other)
            if listed.returncode != 0:
                continue
            for line in listed.stdout.splitlines()[1:]:
                columns = line.split()
                if len(columns) >= 3 and columns[2] == node["name"]:
                    result = self.talos("etcd", "remove-member", columns[1], node=other)
                    if result.returncode != 0:
                        raise Failed(f"removing {node['name']}'s old etcd member {columns[1]}: {reason(result)}")
                    say(f"{node['name']}: removed its old etcd member {columns[1]} (the instance was replaced)")
            return
        raise Failed(f"{node['name']}: no control plane answers `etcd members`; its old member stays listed")

    # --- the cluster -----------------------------------------------------------------

    def ensure_bootstrapped(self) -> None:
        if self.status.doc["bootstrapped"]:
            return
        node = self.bootstrap_node
        if self.status.node(node["name"])["state"] != "configured":
            raise Failed(f"waiting for {node['name']} to be configured before bootstrapping etcd on it")
        self.status.update(phase="bootstrapping")
        result = self.talos("bootstrap", node=node)
        output = f"{result.stdout}\n{result.stderr}"
        if result.returncode != 0 and not any(answer in output for answer in ALREADY_BOOTSTRAPPED):
            raise Failed(f"bootstrap on {node['name']}: {reason(result)}")
        say(f"etcd bootstrapped on {node['name']}")
        self.status.update(bootstrapped=True)

    def ensure_healthy(self) -> None:
        node = self.bootstrap_node
        self.status.update(phase="kubernetes")
        result = self.talos("kubeconfig", self.kubeconfig, "--force", "--merge=false", node=node)
        if result.returncode != 0:
            raise Failed(f"talosctl kubeconfig from {node['name']}: {reason(result)}")
        result = run([self.kubectl, "--kubeconfig", self.kubeconfig, "--request-timeout=10s", "get", "--raw=/readyz"])
        if result.returncode != 0:
            raise Failed(f"waiting for the Kubernetes API on {node['name']}: {reason(result)}")
        self.status.update(phase="health")
        nodes = self.plan["nodes"]
        arguments = ["--control-plane-nodes", ",".join(n["ip"] for n in nodes if n["machine_type"] == "controlplane")]
        workers = [n["ip"] for n in nodes if n["machine_type"] == "worker"]
        if workers:
            arguments += ["--worker-nodes", ",".join(workers)]
        minutes = self.plan["health_timeout_minutes"]
        result = self.talos("health", *arguments, "--wait-timeout", f"{minutes}m", node=node, timeout=minutes * 60 + 60)
        if result.returncode != 0:
            raise Failed(f"talosctl health: {reason(result)}")
        self.publish_credentials()
        self.healthy = True

    def publish_credentials(self) -> None:
        """talosconfig as generated; the kubeconfig pointed at the operator's port forward."""
        kubeconfig = read_text(self.kubeconfig)
        if self.plan["endpoint"] not in kubeconfig:
            raise Failed(f"the kubeconfig does not name {self.plan['endpoint']}")
        operator = os.path.join(RUN_DIR, "kubeconfig.operator")
        write_private(operator, kubeconfig.replace(self.plan["endpoint"], self.plan["operator_api_server"]))
        for key, path in (("talosconfig", self.talosconfig), ("kubeconfig", operator)):
            parameter = self.plan["parameters"][key]
            if not same_value(self.ssm.read(parameter["name"]), read_text(path)):
                self.ssm.write(parameter["name"], parameter["tier"], path)
                say(f"wrote the {key} into {parameter['name']}")

    def round(self) -> None:
        self.status.update(phase="secrets" if not self.have_secrets else self.status.doc["phase"])
        self.ensure_secrets()
        self.render_configs()
        if not self.healthy:
            self.status.update(phase="configuring")
        changed, errors = False, []
        for node in self.plan["nodes"]:
            try:
                changed = self.converge_node(node) or changed
            except Failed as error:
                errors.append(str(error))
        self.status.publish()
        self.ensure_bootstrapped()
        if errors:
            raise Failed("; ".join(errors))
        waiting = [name for name, node in sorted(self.status.doc["nodes"].items()) if node["state"] != "configured"]
        if waiting:
            raise Failed(f"waiting for {', '.join(waiting)} (Talos API on port 50000)")
        if changed or not self.healthy:
            self.healthy = False
            self.ensure_healthy()
        self.status.update(phase="ready", last_error=None)


def main() -> int:
    os.umask(0o077)
    with open(PLAN_FILE) as stream:
        plan = json.load(stream)
    poll_seconds = int(os.environ.get("CLUSTER_POLL_SECONDS", plan["poll_seconds"]))
    cluster = Cluster(plan)
    status = cluster.status
    # First what an earlier bastion recorded: until it is read, nothing may be decided.
    while not status.loaded:
        try:
            status.load()
        except Failed as error:
            status.doc["last_error"] = str(error)
            status.publish()
            time.sleep(RETRY_SECONDS)
    while True:
        try:
            status.update(phase="tools")
            cluster.install_tools()
            break
        except Tampered as error:
            status.update(phase="failed", last_error=str(error))
            say(f"FATAL: {error}; nothing downloaded runs (the unit is not restarted)")
            return EXIT_TAMPERED
        except Failed as error:
            status.update(last_error=str(error))
            time.sleep(RETRY_SECONDS)
    while True:
        try:
            cluster.round()
            time.sleep(poll_seconds)
        except Failed as error:
            status.update(last_error=str(error))
            time.sleep(RETRY_SECONDS)


if __name__ == "__main__":
    sys.exit(main())
