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
  health       `talosctl health` with every node named; with CozyStack's patches (no CNI
               until CozyStack installs one, so the nodes stay NotReady) every node
               registered with Kubernetes instead;
  cozystack    (CozyStack v1, the plan's `cozystack`) the cozy-installer chart, pulled by
               version and checked against its pinned sha256, installed once per values
               (the status records it); the platform Package once the operator's
               PackageSource exists; LINSTOR's storage classes; a storage pool on every
               node's LINSTOR partition; then every HelmRelease Ready (a failed one is
               named in the status);
  ready        talosconfig and kubeconfig (pointing at the operator's port forward) in
               their SSM parameters (written as soon as Kubernetes answers).
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
import tarfile
import time

PLAN_FILE = "/etc/talos-sandbox/cluster.json"
RUN_DIR = os.environ.get("RUNTIME_DIRECTORY", "/run/talos-sandbox-cluster")
STATE_DIR = os.environ.get("STATE_DIRECTORY", "/var/lib/talos-sandbox")
TOOLS_DIR = os.path.join(STATE_DIR, "tools")
EXIT_TAMPERED = 65
TRY_SECONDS = 30  # one call to a node or to AWS
DOWNLOAD_SECONDS = 300
# Between rounds while the cluster is coming up, and once it is up (the plan's poll_seconds).
RETRY_SECONDS = int(os.environ.get("CLUSTER_RETRY_SECONDS", "10"))
ALREADY_BOOTSTRAPPED = ("AlreadyExists", "etcd data directory is not empty")
# The status must fit a standard parameter (4 KB) with every node in it: errors are cut short.
LAST_ERROR_CHARS = 1000
HELM_SECONDS = 300  # helm upgrade --install --wait: the operator's deployment ready
# A HelmRelease whose Ready is False for one of these reasons is on its way (Flux's
# helm-controller); any other False reason is a failure the status names.
WAITING_REASONS = ("Progressing", "DependencyNotReady", "ProgressingWithRetry", "")
FAILED_SHOWN = 3  # HelmReleases named in the status (the count says how many in all)
MESSAGE_CHARS = 150


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
        if "cozystack" in plan:
            self.doc["cozystack"] = {"installed": None, "pools": {}, "helmreleases": None, "failed": []}
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
                earlier = None
            if not isinstance(earlier, dict):
                raise Failed(f"{self.parameter['name']} holds no JSON object; refusing to guess whether etcd was bootstrapped")
            self.doc["bootstrapped"] = bool(earlier.get("bootstrapped"))
            for name, node in earlier.get("nodes", {}).items():
                if name in self.doc["nodes"] and node.get("config"):
                    self.doc["nodes"][name]["config"] = node["config"]
            if "cozystack" in self.doc and isinstance(earlier.get("cozystack"), dict):
                # What was installed and which pools exist: never done twice.
                before = earlier["cozystack"]
                self.doc["cozystack"]["installed"] = before.get("installed")
                nodes = self.doc["nodes"]
                self.doc["cozystack"]["pools"] = {n: p for n, p in (before.get("pools") or {}).items() if n in nodes}
        self.loaded = True

    def node(self, name: str) -> dict:
        return self.doc["nodes"][name]

    def update(self, **changes) -> None:
        self.doc.update(changes)
        self.publish()

    def publish(self) -> None:
        if self.doc["last_error"]:
            self.doc["last_error"] = self.doc["last_error"][:LAST_ERROR_CHARS]
        content = json.dumps(self.doc, sort_keys=True)
        if content != self._shown:
            self._shown = content
            nodes = ", ".join(f"{name} {node['state']}" for name, node in sorted(self.doc["nodes"].items()))
            error = f"; last error: {self.doc['last_error']}" if self.doc["last_error"] else ""
            say(f"phase {self.doc['phase']}; {nodes}{error}")
        if content == self._published or not self.loaded:
            return  # an unread earlier status must not be overwritten
        path = os.path.join(RUN_DIR, "status.json")
        write_private(path, json.dumps({**self.doc, "updated": now()}, separators=(",", ":"), sort_keys=True) + "\n")
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
        self.helm = os.path.join(TOOLS_DIR, "helm")
        self.cozystack = CozyStack(self) if "cozystack" in plan else None
        self.secrets = os.path.join(RUN_DIR, "secrets.yaml")
        self.talosconfig = os.path.join(RUN_DIR, "talosconfig")
        self.kubeconfig = os.path.join(RUN_DIR, "kubeconfig")
        self.have_secrets = False
        self.digests: dict[str, str] = {}
        self._control_plane_changed = False
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
        if tool.get("archive_member"):
            self._unpack(part, tool["archive_member"], target)
            os.unlink(part)
        else:
            os.chmod(part, 0o755)
            os.replace(part, target)
        say(f"installed {tool['name']} {tool['version']} (sha256 {digest}, pinned and listed by the release)")

    @staticmethod
    def _unpack(archive: str, member: str, target: str) -> None:
        """The one file the plan names, from an archive already checked."""
        with tarfile.open(archive, "r:gz") as tar:
            found = next((m for m in tar.getmembers() if m.name == member and m.isfile()), None)
            if found is None:
                raise Tampered(f"{os.path.basename(archive)} holds no {member}")
            source = tar.extractfile(found)
            with open(f"{target}.new", "wb") as stream:
                stream.write(source.read())
        os.chmod(f"{target}.new", 0o755)
        os.replace(f"{target}.new", target)

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

    def kube(self, *args: str) -> subprocess.CompletedProcess:
        """kubectl with the admin kubeconfig (the first control plane's API server)."""
        return run([self.kubectl, "--kubeconfig", self.kubeconfig, "--request-timeout=10s", *args])

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
            # --force: a file left by a round whose write failed is made anew, not refused.
            result = run([self.talosctl, "gen", "secrets", "--output-file", self.secrets, "--force"])
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
            if known["config"] == wanted:
                known["state"] = "configured"  # answering with the cluster's credentials: it is up
                return False
            if node["machine_type"] == "controlplane" and self._control_plane_changed:
                known["state"] = "configured"
                return False  # one control plane a round: a change that reboots must not cost etcd its quorum
            result = self.talos("apply-config", "--file", self._config_file(node), node=node)
            if result.returncode != 0:
                raise Failed(f"{node['name']}: apply-config: {reason(result)}")
            say(f"{node['name']}: its patches changed; applied the new config")
            self._control_plane_changed |= node["machine_type"] == "controlplane"
            self._applied(known, wanted)
            return True
        probe = run([self.talosctl, "--nodes", node["ip"], "get", "disks", "--insecure", "--output", "json"])
        if probe.returncode != 0:
            known["state"] = "unreachable" if known["config"] else "waiting"
            return False
        known["state"] = "maintenance"
        self.status.publish()
        if known["config"] and node["machine_type"] == "controlplane" and self.status.doc["bootstrapped"]:
            self.remove_old_member(node)  # a replaced control plane cannot join while its old self is listed
        if known["config"] and "cozystack" in self.status.doc:
            # A new instance: its disks are new, so is the LINSTOR partition its pool was on.
            self.status.doc["cozystack"]["pools"].pop(node["name"], None)
        result = run([self.talosctl, "apply-config", "--insecure", "--nodes", node["ip"], "--file", self._config_file(node)])
        if result.returncode != 0:
            raise Failed(f"{node['name']}: apply-config --insecure: {reason(result)}")
        say(f"{node['name']}: was in maintenance mode; applied its config")
        self._applied(known, wanted)
        return True

    def _applied(self, known: dict, wanted: str) -> None:
        """Recorded at once (so no later bastion applies it again); `configured` only once the
        node answers with the cluster's credentials, after its reboot."""
        known.update(state="applied", config=wanted)
        self.healthy = False
        self.status.publish()

    def remove_old_member(self, node: dict) -> None:
        # The others that were ever configured (their state is unknown right after a restart).
        others = [n for n in self.plan["nodes"] if n["machine_type"] == "controlplane" and n is not node
                  and self.status.node(n["name"])["config"]]  # fmt: skip
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
        if self.plan["cni"] == "cozystack":
            self._wait_registered()
        else:
            self._talos_health()
        self.publish_credentials()
        self.healthy = True

    def _wait_registered(self) -> None:
        """Without a CNI yet (CozyStack brings it) the nodes are NotReady: each must have registered."""
        result = run([self.kubectl, "--kubeconfig", self.kubeconfig, "--request-timeout=10s", "get", "nodes",
                      "--no-headers", "-o", "custom-columns=NAME:.metadata.name"])  # fmt: skip
        if result.returncode != 0:
            raise Failed(f"kubectl get nodes: {reason(result)}")
        missing = sorted({n["name"] for n in self.plan["nodes"]} - set(result.stdout.split()))
        if missing:
            raise Failed(f"waiting for {', '.join(missing)} to register with Kubernetes")

    def _talos_health(self) -> None:
        node = self.bootstrap_node
        nodes = self.plan["nodes"]
        arguments = ["--control-plane-nodes", ",".join(n["ip"] for n in nodes if n["machine_type"] == "controlplane")]
        workers = [n["ip"] for n in nodes if n["machine_type"] == "worker"]
        if workers:
            arguments += ["--worker-nodes", ",".join(workers)]
        minutes = self.plan["health_timeout_minutes"]
        result = self.talos("health", *arguments, "--wait-timeout", f"{minutes}m", node=node, timeout=minutes * 60 + 60)
        if result.returncode != 0:
            raise Failed(f"talosctl health: {reason(result)}")

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
        self._control_plane_changed = False
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
        if self.cozystack is not None:
            self.cozystack.converge()
        self.status.update(phase="ready", last_error=None)


class CozyStack:
    """CozyStack v1 on the cluster, the way its install guide gives it, one idempotent round
    at a time: chart, platform Package, storage classes, LINSTOR pools, HelmReleases."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster, self.plan = cluster, cluster.plan["cozystack"]
        self.status = cluster.status
        self.dir = os.path.join(RUN_DIR, "cozystack")
        self.applied: str | None = None  # digest of the manifests applied by this bastion
        self.settled_total: int | None = None
        self.done = False
        self.helm_env = {**os.environ, **{f"HELM_{kind.upper()}_HOME": os.path.join(STATE_DIR, "helm", kind)
                                          for kind in ("cache", "config", "data")}}  # fmt: skip

    @property
    def doc(self) -> dict:
        return self.status.doc["cozystack"]

    def converge(self) -> None:
        if not self.done:
            self.status.update(phase="cozystack")
        try:
            files = self._files()
            self._install_chart(files["values"])
            self._apply(files)
            failed = self._count_helmreleases()
            try:
                self._pools()  # LINSTOR may be up while another release failed
                pools = ""
            except Failed as error:
                if not failed:
                    raise
                pools = f"; {error}"
            if failed:  # named first: a failed release is what the operator must see
                raise Failed("HelmRelease failed: " + "; ".join(f"{f['name']} {f['reason']}: {f['message']}"
                                                                for f in failed) + pools)  # fmt: skip
            self._done()
        except Failed:
            self.done = False
            self.status.update(phase="cozystack")
            raise
        self.done = True

    def _files(self) -> dict[str, str]:
        """The install's files as SSM holds them now (Terraform writes them), on tmpfs."""
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        found = {}
        for stem, name in self.plan["files"].items():
            value = self.cluster.ssm.read(name)
            if value is None:
                raise Failed(f"CozyStack's {stem} parameter {name} is empty")
            path = os.path.join(self.dir, f"{stem}.yaml")
            write_private(path, value + "\n")
            found[stem] = path
        return found

    def _install_chart(self, values: str) -> None:
        chart = self.plan["chart"]
        wanted = hashlib.sha256(json.dumps({"chart": chart, "values": read_text(values)}, sort_keys=True).encode()).hexdigest()
        if self.doc["installed"] == wanted:
            return
        if not chart["sha256"]:
            raise Failed(f"the release matrix records no sha256 for the cozy-installer chart {chart['version']}: "
                         "set cozystack.chart_sha256 (README, \"CozyStack\"); nothing unchecked is installed")  # fmt: skip
        folder = os.path.join(RUN_DIR, "chart")
        os.makedirs(folder, mode=0o700, exist_ok=True)
        archive = os.path.join(folder, f"{chart['ref'].rsplit('/', 1)[1]}-{chart['version']}.tgz")
        if os.path.exists(archive):
            os.unlink(archive)
        result = run([self.cluster.helm, "pull", chart["ref"], "--version", chart["version"], "--destination", folder],
                     timeout=DOWNLOAD_SECONDS, env=self.helm_env)  # fmt: skip
        if result.returncode != 0 or not os.path.exists(archive):
            raise Failed(f"helm pull {chart['ref']} {chart['version']}: {reason(result)}")
        digest = sha256_of(archive)
        if digest != chart["sha256"]:
            os.unlink(archive)
            raise Tampered(f"{os.path.basename(archive)}: sha256 {digest} is not the pinned {chart['sha256']}")
        result = run([self.cluster.helm, "upgrade", "--install", self.plan["release"], archive,
                      "--namespace", self.plan["namespace"], "--create-namespace", "--values", values,
                      "--wait", "--timeout", f"{HELM_SECONDS}s", "--kubeconfig", self.cluster.kubeconfig],
                     timeout=HELM_SECONDS + 60, env=self.helm_env)  # fmt: skip
        if result.returncode != 0:
            raise Failed(f"helm upgrade --install {self.plan['release']}: {reason(result)}")
        say(f"installed CozyStack {self.plan['version']}'s chart (sha256 {digest}, pinned)")
        self.doc["installed"] = wanted
        self.applied = None  # a new operator: apply the Package again
        self.status.publish()

    def _apply(self, files: dict[str, str]) -> None:
        """The platform Package (once the operator's PackageSource exists) and the classes."""
        manifests = [files["platform-package"], files["storage-classes"]]
        digest = hashlib.sha256("".join(read_text(path) for path in manifests).encode()).hexdigest()
        if self.applied == digest:
            return
        source = self.plan["package_source"]
        result = self.cluster.kube("get", "packagesources.cozystack.io", source, "-o", "name")
        if result.returncode != 0:
            raise Failed(f"waiting for the CozyStack operator's PackageSource {source}: {reason(result)}")
        for path in manifests:
            result = self.cluster.kube("apply", "-f", path)
            if result.returncode != 0:
                raise Failed(f"kubectl apply {os.path.basename(path)}: {reason(result)}")
        say("applied the platform Package and LINSTOR's storage classes")
        self.applied = digest

    def _count_helmreleases(self) -> list[dict]:
        """Ready of all in the status; the failed ones, returned."""
        result = self.cluster.kube("get", "helmreleases.helm.toolkit.fluxcd.io", "--all-namespaces", "-o", "json")
        if result.returncode != 0:
            raise Failed(f"kubectl get helmreleases: {reason(result)}")
        try:
            items = json.loads(result.stdout)["items"]
        except (ValueError, KeyError, TypeError):
            raise Failed("kubectl get helmreleases printed no list") from None
        ready, failed = 0, []
        for item in items:
            conditions = {c.get("type"): c for c in (item.get("status") or {}).get("conditions") or []}
            condition = conditions.get("Ready") or {}
            if condition.get("status") == "True":
                ready += 1
            elif condition.get("status") == "False" and condition.get("reason", "") not in WAITING_REASONS:
                name = f"{item['metadata'].get('namespace')}/{item['metadata']['name']}"
                failed.append({"name": name, "reason": condition.get("reason"),
                               "message": (condition.get("message") or "")[:MESSAGE_CHARS]})  # fmt: skip
        failed.sort(key=lambda entry: entry["name"])
        self.doc.update(helmreleases={"ready": ready, "total": len(items), "failed": len(failed)},
                        failed=failed[:FAILED_SHOWN])  # fmt: skip
        self.status.publish()
        if failed:
            self.settled_total = None
        return failed

    def _pools(self) -> None:
        """A storage pool on every node's LINSTOR partition (LINSTOR runs once its release is)."""
        linstor = self.plan["linstor"]
        missing = [node for node in self.cluster.plan["nodes"] if node["name"] not in self.doc["pools"]]
        if not missing:
            return
        try:
            listed = self._linstor("--machine-readable", "storage-pool", "list")
        except Failed as error:  # the controller comes with CozyStack's linstor release: a wait, not a failure
            raise Failed(f"waiting for LINSTOR: {error}") from None
        existing = self._pools_listed(listed.stdout)
        for node in missing:
            name = node["name"]
            location = self.cluster.talos("get", "volumestatus", linstor["volume"], "-o", "jsonpath={.spec.location}",
                                          node=node)  # fmt: skip
            path = location.stdout.strip()
            if location.returncode != 0 or not path.startswith("/dev/"):
                raise Failed(f"{name}: no LINSTOR partition ({linstor['volume']}): {reason(location)}")
            if (name, linstor["pool"]) not in existing:
                self._linstor("physical-storage", "create-device-pool", "zfs", name, path,
                              "--pool-name", linstor["pool"], "--storage-pool", linstor["pool"])  # fmt: skip
                say(f"{name}: created LINSTOR's storage pool {linstor['pool']} on {path}")
            self._failmode(name)
            self.doc["pools"][name] = path
            self.status.publish()

    def _linstor(self, *args: str) -> subprocess.CompletedProcess:
        namespace = self.plan["linstor"]["namespace"]
        result = self.cluster.kube("--namespace", namespace, "exec", "deploy/linstor-controller", "--", "linstor", *args)
        if result.returncode != 0:
            command = " ".join(a for a in args if not a.startswith("-"))
            raise Failed(f"LINSTOR ({namespace}/linstor-controller) `linstor {command}`: {reason(result)}")
        return result

    @staticmethod
    def _pools_listed(text: str) -> set[tuple[str, str]]:
        """(node, pool) of `linstor --machine-readable storage-pool list` (a list of lists)."""
        try:
            answer = json.loads(text)
        except ValueError:
            raise Failed("linstor storage-pool list printed no JSON") from None
        found = set()
        for group in answer if isinstance(answer, list) else []:
            for pool in group if isinstance(group, list) else []:
                if isinstance(pool, dict):
                    found.add((pool.get("node_name"), pool.get("storage_pool_name")))
        return found

    def _failmode(self, name: str) -> None:
        """ZFS keeps serving when a disk errs instead of blocking the node (the install guide)."""
        namespace, pool = self.plan["linstor"]["namespace"], self.plan["linstor"]["pool"]
        pods = self.cluster.kube("--namespace", namespace, "get", "pods", "--selector", self.plan["linstor"]["satellites"],
                                 "--field-selector", f"spec.nodeName={name}", "-o", "name")  # fmt: skip
        pod = pods.stdout.split()[0] if pods.returncode == 0 and pods.stdout.split() else None
        if pod is None:
            raise Failed(f"{name}: no LINSTOR satellite pod yet: {reason(pods)}")
        result = self.cluster.kube("--namespace", namespace, "exec", pod, "--container", "linstor-satellite", "--",
                                   "zpool", "set", "failmode=continue", pool)  # fmt: skip
        if result.returncode != 0:
            raise Failed(f"{name}: zpool set failmode=continue {pool}: {reason(result)}")

    def _done(self) -> None:
        counted = self.doc["helmreleases"]
        if counted["total"] < self.plan["helmreleases_at_least"] or counted["ready"] < counted["total"]:
            self.settled_total = None
            raise Failed(f"waiting for CozyStack's HelmReleases: {counted['ready']} of {counted['total']} ready")
        if self.settled_total != counted["total"]:
            # The platform adds releases as others become ready: the same count twice running.
            self.settled_total = counted["total"]
            raise Failed(f"waiting for one more round: all {counted['total']} HelmReleases ready; checking that no more appear")


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
            return tampered(status, error)
        except Failed as error:
            status.update(last_error=str(error))
            time.sleep(RETRY_SECONDS)
    while True:
        try:
            cluster.round()
            time.sleep(poll_seconds)
        except Tampered as error:
            return tampered(status, error)
        except Failed as error:
            status.update(last_error=str(error))
            time.sleep(RETRY_SECONDS)


def tampered(status: Status, error: Tampered) -> int:
    status.update(phase="failed", last_error=str(error))
    say(f"FATAL: {error}; nothing downloaded runs (the unit is not restarted)")
    return EXIT_TAMPERED


if __name__ == "__main__":
    sys.exit(main())
