"""The Talos node stand-in: what a node answers on port 50000 (and 6443) once it "is" Talos.

    python -m harness.hostsim.talos_node --ip IP --hostname NAME --machine-type TYPE \
        --cluster NAME --talos vX.Y.Z --instance ID --state DIR --world DIR

Runs in the node's network namespace (started by talos_nodes.py when boot-to-talos has
run), so the bastion reaches it through the simulated VPC. Its state (maintenance or
configured, the config applied, its etcd data) is in DIR on the instance's disk: a
reboot keeps it, a replaced instance starts in maintenance mode. Strict where Talos is:
- maintenance mode answers only insecure calls, and of those only `apply-config` and
  read-only `get` (`version` is refused: "API is not implemented in maintenance mode",
  as Talos' maintenance service refuses callers without the admin role); a call with
  credentials fails as TLS does against the maintenance certificate;
- apply-config takes only a config the talosctl stand-in wrote for this cluster name and
  this node's machine type, whose patches set exactly this node's hostname, of a Talos
  contract not newer than the node's, and on a worker no `cluster.etcd`; once
  configured, only a config of the same secrets bundle (a stand-in rule: Talos would
  take it and break), and every call needs the talosconfig of that bundle;
- bootstrap: on a configured control plane whose etcd data is empty, else AlreadyExists
  "etcd data directory is not empty" (Talos' message); on a worker: Unimplemented;
- etcd: a configured control plane joins the cluster's etcd once it is bootstrapped,
  unless a member with its hostname or peer URL is still listed (a replaced node's stale
  member), until `etcd remove-member` removes it; `etcd members` needs the node's own
  etcd to be a member (Talos queries the local etcd), `remove-member` does not;
- the Kubernetes API stand-in listens on :6443 on every control plane that is an etcd
  member and answers /readyz, /livez, /version to the kubeconfig's credentials;
- health (server-side, as talosctl's default): the node asks every named node over the
  network, then checks etcd and the Kubernetes API, and names what it waits for;
- `get volumestatus r-linstor`: from the applied config's RawVolumeConfig `linstor` (see
  linstor_partition); without one, NotFound as COSI says it. The node's disks: the system
  disk nvme0n1 and, with --data-disk-bytes, the data volume nvme1n1 (`get disks`).
Cross-node state: etcd membership is a world file (etcd.json under DIR of --world),
standing in for etcd's own replicated state; everything else one node learns of
another goes over the network. Every apply, bootstrap (and refused bootstrap), etcd join
and member removal is appended to record.jsonl there, for tests to count. What this cannot show: Talos itself (its config
validation beyond these rules, its install, networking, kubelet), TLS, gRPC.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import http.server
import json
import secrets
import threading
import time
from pathlib import Path

from .kube_api import SharedState
from .tools import talos_formats as formats
from .tools.talos_wire import PORT, RpcError, call

REBOOT_SECONDS = 2.0
VOLUME_STATUS = ("volumestatus", "volumestatuses", "VolumeStatuses.block.talos.dev")
# Talos' partitions on a UEFI system disk (systemd-boot, as arm64 installs): the LINSTOR
# partition of the single-disk layout comes after them.
SYSTEM_PARTITIONS = ("EFI", "META", "STATE", "EPHEMERAL")
MAINTENANCE_METHODS = {"ApplyConfiguration", "ResourceList"}
NOT_IN_MAINTENANCE = "API is not implemented in maintenance mode"
UNKNOWN_AUTHORITY = ('connection error: desc = "transport: authentication handshake failed: tls: failed to verify '
                     'certificate: x509: certificate signed by unknown authority"')  # fmt: skip
CERTIFICATE_REQUIRED = 'connection error: desc = "transport: authentication handshake failed: remote error: tls: certificate required"'
BAD_CERTIFICATE = 'connection error: desc = "transport: authentication handshake failed: remote error: tls: bad certificate"'


class Refused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def minor(version: str) -> tuple[int, int]:
    major, minor_, *_ = version.lstrip("v").split(".")
    return int(major), int(minor_)


class World(SharedState):
    """The files nodes share: etcd.json (membership per cluster id, registered nodes and their
    LINSTOR partitions), kube.json (the Kubernetes objects, kube_api.py) and record.jsonl."""

    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def etcd(self):
        with open(self.directory / "etcd.json.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            path = self.directory / "etcd.json"
            state = json.loads(path.read_text()) if path.exists() else {}
            yield state
            path.write_text(json.dumps(state, indent=1))

    def record(self, **event) -> None:
        with open(self.directory / "record.jsonl", "a") as log:
            log.write(json.dumps({"time": time.time(), **event}) + "\n")


class Node:
    def __init__(self, options: argparse.Namespace):
        self.options = options
        self.ip, self.hostname = options.ip, options.hostname
        self.world = World(Path(options.world))
        self.state_path = Path(options.state) / "state.json"
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.state = json.loads(self.state_path.read_text()) if self.state_path.exists() else {"mode": "maintenance"}
        self.state["boots"] = self.state.get("boots", 0) + 1
        self.rebooting_until = 0.0
        self.kube: http.server.ThreadingHTTPServer | None = None
        self.last_credentials: tuple[str, str] | None = None
        self._save()

    def _save(self) -> None:
        self.state_path.write_text(json.dumps(self.state, indent=1))

    def record(self, event: str, **details) -> None:
        self.world.record(event=event, node=self.ip, hostname=self.hostname, instance=self.options.instance, **details)

    @property
    def config(self) -> dict | None:
        return formats.parse_machine_config(self.state["config"])[0] if self.state.get("config") else None

    @property
    def control_plane(self) -> bool:
        return self.options.machine_type == "controlplane"

    # --- the API -----------------------------------------------------------------------

    def handle(self, method: str, request: dict, credentials: tuple[str, str] | None, target: str | None) -> dict:
        with self.lock:
            if time.monotonic() < self.rebooting_until:
                raise Refused("Unavailable", f'connection error: desc = "transport: Error while dialing: dial tcp '
                                             f'{self.ip}:{PORT}: connect: connection refused"')  # fmt: skip
            configured = self.state["mode"] == "configured"
            if not configured:
                if credentials is not None:
                    raise Refused("Unavailable", UNKNOWN_AUTHORITY)
                if method not in MAINTENANCE_METHODS or target not in (None, self.ip):
                    raise Refused("Unimplemented", NOT_IN_MAINTENANCE)
            else:
                if credentials is None:
                    raise Refused("Unavailable", CERTIFICATE_REQUIRED)
                if not formats.accepts(self.config["machine"]["ca"]["crt"], *credentials):
                    raise Refused("Unavailable", BAD_CERTIFICATE)
                self.last_credentials = credentials
        if target not in (None, self.ip):
            try:
                return call(target, method, request, credentials)
            except RpcError as error:
                raise Refused(error.code, error.message) from None
        handler = getattr(self, f"do_{method}", None)
        if handler is None:
            raise Refused("Unimplemented", f"the Talos stand-in does not answer {method}")
        return handler(request)

    def do_Version(self, request: dict) -> dict:  # noqa: N802 - Talos' method names
        return {"messages": [{"node": self.ip, "tag": self.options.talos}]}

    def do_ResourceList(self, request: dict) -> dict:  # noqa: N802
        if request["type"] in VOLUME_STATUS:
            return self._volume_status(request.get("id"))
        if request["type"] not in ("disks", "disk", "Disks.block.talos.dev"):
            raise Refused("NotFound", f'resource "{request["type"]}" is not registered')
        messages = []
        for disk, size in (("nvme0n1", self.options.disk_bytes), ("nvme1n1", self.options.data_disk_bytes)):
            if not size:
                continue
            spec = {"dev_path": f"/dev/{disk}", "size": size, "model": "Amazon Elastic Block Store",
                    "transport": "nvme", "rotational": False, "readonly": False, "cdrom": False}  # fmt: skip
            metadata = {"namespace": "runtime", "type": "Disks.block.talos.dev", "id": disk, "version": 1,
                        "owner": "block.DisksController", "phase": "running"}  # fmt: skip
            messages.append({"node": self.ip, "metadata": metadata, "spec": spec})
        return {"messages": messages}

    def linstor_partition(self) -> tuple[bool, str]:
        """(declared, kernel path or "") of the RawVolumeConfig `linstor` in the applied config:
        a selector that excludes the system disk takes the data disk's first partition (none
        without a data disk: Talos waits for a matching disk); one on the system disk the
        partition after EPHEMERAL, which needs EPHEMERAL capped (a VolumeConfig with maxSize,
        else it fills the disk and the raw volume finds no space)."""
        if not self.config:
            return False, ""
        _, documents = formats.parse_machine_config(self.state["config"])
        raw = [d for d in documents if formats.scalar(d, ["kind"]) == "RawVolumeConfig" and formats.scalar(d, ["name"]) == "linstor"]
        if not raw:
            return False, ""
        selector = formats.scalar(raw[0], ["provisioning", "diskSelector", "match"]) or ""
        if "!system_disk" in selector.replace(" ", ""):
            return True, "/dev/nvme1n1p1" if self.options.data_disk_bytes else ""
        if "system_disk" in selector:
            capped = any(formats.scalar(d, ["kind"]) == "VolumeConfig" and formats.scalar(d, ["name"]) == "EPHEMERAL"
                         and formats.scalar(d, ["provisioning", "maxSize"]) for d in documents)  # fmt: skip
            return True, f"/dev/nvme0n1p{len(SYSTEM_PARTITIONS) + 1}" if capped else ""
        return True, ""

    def _volume_status(self, volume: str | None) -> dict:
        declared, location = self.linstor_partition()
        if volume != "r-linstor" or not declared:
            raise Refused("NotFound", f"resource VolumeStatuses.block.talos.dev(runtime/{volume}@undefined) doesn't exist")
        spec = {"phase": "ready" if location else "waiting", "type": "partition", "location": location,
                "parentLocation": location.rsplit("p", 1)[0] if location else "", "partitionIndex": int(location.rsplit("p", 1)[1]) if location else 0,
                "filesystem": "none", "mountLocation": ""}  # fmt: skip
        metadata = {"namespace": "runtime", "type": "VolumeStatuses.block.talos.dev", "id": volume, "version": 1,
                    "owner": "block.VolumeManagerController", "phase": "running"}  # fmt: skip
        return {"messages": [{"node": self.ip, "metadata": metadata, "spec": spec}]}

    def do_ApplyConfiguration(self, request: dict) -> dict:  # noqa: N802
        data, mode = request["data"], request.get("mode", "auto")
        with self.lock:
            configured = self.state["mode"] == "configured"
            if not configured and mode not in ("auto", "reboot", "try"):
                raise Refused("Unimplemented", f"apply configuration --mode='{mode}' is not supported in maintenance mode")
            generated = self.validate(data)
            if configured and generated["cluster"]["id"] != self.config["cluster"]["id"]:
                raise Refused("InvalidArgument", "the Talos stand-in refuses a config of another secrets bundle "
                                                 "(cluster id changed)")  # fmt: skip
            if request.get("dry_run"):
                return {"messages": [{"node": self.ip, "mode_details": "Dry run summary: no changes applied"}]}
            digest = hashlib.sha256(data.encode()).hexdigest()
            self.record("apply", digest=digest, insecure=not configured, changed=digest != self.state.get("digest"))
            self.state.update(mode="configured", config=data, digest=digest)
            self._save()
            if not configured:
                self.rebooting_until = time.monotonic() + self.options.reboot_seconds
        return {"messages": [{"node": self.ip, "mode_details": "Applied configuration without a reboot" if configured else ""}]}

    def validate(self, data: str) -> dict:
        try:
            generated, patches = formats.parse_machine_config(data)
        except ValueError as error:
            raise Refused("InvalidArgument", f"failed to parse config: {error}") from None
        problems = []
        if generated["cluster"]["clusterName"] != self.options.cluster:
            problems.append(f"cluster name {generated['cluster']['clusterName']!r}, this node's cluster is {self.options.cluster!r}")
        if generated["machine"]["type"] != self.options.machine_type:
            problems.append(f"machine type {generated['machine']['type']}, this node is a {self.options.machine_type}")
        names = formats.hostnames(patches)
        if names != [self.hostname]:
            problems.append(f"hostname {names or 'not set'}, this node is {self.hostname!r}")
        wanted = generated[formats.MARKER]["talosVersion"]
        if minor(wanted) > minor(self.options.talos):
            problems.append(f"config for Talos {wanted}, this node runs {self.options.talos}")
        if not self.control_plane and any(formats.has_key(doc, ["cluster", "etcd"]) for doc in patches):
            problems.append("etcd config is only allowed on control plane machines")
        if problems:
            raise Refused("InvalidArgument", "configuration validation failed: " + "; ".join(problems))
        return generated

    def _require_control_plane(self, api: str) -> None:
        if not self.control_plane:
            raise Refused("Unimplemented", f"{api} is only available on control plane nodes")

    def do_Bootstrap(self, request: dict) -> dict:  # noqa: N802
        if not self.control_plane:
            self.record("bootstrap-refused", reason="worker")
        self._require_control_plane("bootstrap")
        with self.lock:
            if self.state.get("etcd_data"):
                self.record("bootstrap-refused", reason="AlreadyExists")
                raise Refused("AlreadyExists", "etcd data directory is not empty")
            cluster = self.config["cluster"]["id"]
            member = self._new_member()
            with self.world.etcd() as etcd:
                entry = etcd.setdefault(cluster, {"members": {}, "bootstraps": 0})
                entry["bootstraps"] += 1
                entry["members"][str(member["id"])] = member
            self.state.update(etcd_data=True, member_id=member["id"])
            self._save()
            self.record("bootstrap", member=f"{member['id']:016x}")
        return {"messages": [{"node": self.ip}]}

    def _new_member(self) -> dict:
        return {"id": secrets.randbits(63), "hostname": self.hostname, "peer_urls": [f"https://{self.ip}:2380"],
                "client_urls": [f"https://{self.ip}:2379"], "is_learner": False, "instance": self.options.instance}  # fmt: skip

    def members(self) -> dict[str, dict] | None:
        """The cluster's etcd members, None before bootstrap."""
        with self.world.etcd() as etcd:
            entry = etcd.get(self.config["cluster"]["id"])
            return None if entry is None or not entry["members"] else dict(entry["members"])

    def is_member(self) -> bool:
        found = self.members() or {}
        return str(self.state.get("member_id")) in found

    def do_EtcdMemberList(self, request: dict) -> dict:  # noqa: N802
        self._require_control_plane("member list")
        if not self.is_member():
            raise Refused("Unavailable", "etcd is not running on this node (not a member of the cluster yet): "
                                         "dial tcp 127.0.0.1:2379: connect: connection refused")  # fmt: skip
        members = sorted(self.members().values(), key=lambda m: m["hostname"])
        return {"messages": [{"node": self.ip, "members": [{k: m[k] for k in ("id", "hostname", "peer_urls",
                "client_urls", "is_learner")} for m in members]}]}  # fmt: skip

    def do_EtcdRemoveMemberByID(self, request: dict) -> dict:  # noqa: N802
        self._require_control_plane("etcd remove member")
        with self.world.etcd() as etcd:
            entry = etcd.get(self.config["cluster"]["id"])
            if entry is None or not entry["members"]:
                raise Refused("Unknown", "failed to create etcd client: no control plane endpoints with etcd")
            removed = entry["members"].pop(str(request["member_id"]), None)
        if removed is None:
            raise Refused("NotFound", "etcdserver: member not found")
        self.record("remove-member", member=f"{request['member_id']:016x}", removed_hostname=removed["hostname"])
        return {"messages": [{"node": self.ip}]}

    def do_Kubeconfig(self, request: dict) -> dict:  # noqa: N802
        self._require_control_plane("kubeconfig")
        return {"messages": [{"node": self.ip, "kubeconfig": formats.kubeconfig(self.config)}]}

    def do_NodeStatus(self, request: dict) -> dict:  # noqa: N802 - the stand-in's own, for health
        return {"mode": self.state["mode"], "cluster_id": self.config["cluster"]["id"], "hostname": self.hostname,
                "machine_type": self.options.machine_type, "member": self.is_member()}  # fmt: skip

    def do_ClusterHealthCheck(self, request: dict) -> dict:  # noqa: N802
        from .talos_health import checks  # the checks, over the network

        return {"checks": checks(self, request)}

    # --- etcd joining and the Kubernetes API -------------------------------------------

    def tick(self) -> None:
        with self.lock:
            if self.state["mode"] != "configured":
                return
            self._register()
            if not self.control_plane:
                return
            if not self.state.get("etcd_data"):
                self._try_join()
            self._kube(self.is_member())

    def _register(self) -> None:
        """The kubelet's Node object: registered once the cluster was bootstrapped (its API
        exists), kept under the cluster's entry; a replaced node registers again."""
        with self.world.etcd() as etcd:
            entry = etcd.get(self.config["cluster"]["id"])
            if entry and entry["members"]:
                entry.setdefault("nodes", {})[self.hostname] = self.ip
                # What the node's LINSTOR satellite would see as its partition (kube_api.py checks
                # create-device-pool against it); standing in for the satellite's own view.
                entry.setdefault("devices", {})[self.hostname] = self.linstor_partition()[1] or None

    def _try_join(self) -> None:
        with self.world.etcd() as etcd:
            entry = etcd.get(self.config["cluster"]["id"])
            if entry is None or not entry["members"]:
                self.state["etcd_status"] = "waiting for the cluster to be bootstrapped"
                return
            stale = [m for m in entry["members"].values() if m["hostname"] == self.hostname
                     or f"https://{self.ip}:2380" in m["peer_urls"]]
            if stale:
                self.state["etcd_status"] = f"cannot join: member {stale[0]['id']:016x} ({stale[0]['hostname']}) is still listed"
                return
            member = self._new_member()
            entry["members"][str(member["id"])] = member
        self.state.update(etcd_data=True, member_id=member["id"], etcd_status="member")
        self._save()
        self.record("join", member=f"{member['id']:016x}")

    def _kube(self, running: bool) -> None:
        if running and self.kube is None:
            from .talos_health import kube_server

            self.kube = kube_server(self)
            threading.Thread(target=self.kube.serve_forever, daemon=True).start()
        elif not running and self.kube is not None:
            self.kube.shutdown()
            self.kube.server_close()
            self.kube = None


def serve(node: Node) -> None:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args) -> None:  # noqa: A002
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            client = self.headers.get("X-Talos-Client")
            credentials = tuple(client.split(" ", 1)) if client else None
            method = self.path.rsplit("/", 1)[-1]
            try:
                reply = node.handle(method, body, credentials, self.headers.get("X-Talos-Node"))
            except Refused as refused:
                reply = {"error": {"code": refused.code, "message": str(refused)}}
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = http.server.ThreadingHTTPServer((node.ip, PORT), Handler)
    server.daemon_threads = True

    def ticks() -> None:
        while True:
            node.tick()
            time.sleep(0.5)

    threading.Thread(target=ticks, daemon=True).start()
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("ip", "hostname", "machine-type", "cluster", "talos", "instance", "state", "world"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--disk-bytes", type=int, default=50 * 1024**3)
    parser.add_argument("--data-disk-bytes", type=int, default=0, help="the EBS data volume (nvme1n1), 0: none")
    parser.add_argument("--reboot-seconds", type=float, default=REBOOT_SECONDS)
    serve(Node(parser.parse_args()))


if __name__ == "__main__":
    main()
