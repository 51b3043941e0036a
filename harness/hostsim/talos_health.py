"""The Talos node stand-in's cluster health check and its Kubernetes API stand-in.

Health (`talosctl health`, server-side): the endpoint node runs the checks in order and
stops at the first that fails, as Talos' check loop waits on each in turn; talosctl asks
again until all pass or --wait-timeout ends. Each other node is asked over the network
(its port 50000, with the caller's talosconfig credentials), so a node the endpoint
cannot reach fails the check. The checks:
1. all nodes configured, of this cluster (same secrets bundle), each in its named role;
2. etcd bootstrapped exactly once (a second bootstrap makes a second etcd cluster);
3. etcd's members are exactly the named control planes (by hostname), each a member;
4. the Kubernetes API on the first control plane (the kubeconfig's server) answers
   /readyz to the kubeconfig's credentials.

The Kubernetes API stand-in (:6443 on each control plane that is an etcd member) answers
/readyz, /livez and /healthz ("ok"), /version and /api/v1/nodes (every configured node
registers once the cluster was bootstrapped), to clients whose X-Kube-Client header
carries the kubeconfig's certificate and key (tools/talos_formats.py); 401 otherwise.
ROUTES maps a fixed path to its answer; every other /api and /apis path is the object
store and the simulated CozyStack of kube_api.py (GET, POST, PUT; exec on pods).
"""

from __future__ import annotations

import http.server
import json
import urllib.error
import urllib.request

from .kube_api import Objects
from .tools import talos_formats as formats
from .tools.talos_wire import RpcError, call

KUBE_PORT = 6443


def _status(node, ip: str, credentials) -> tuple[dict | None, str]:
    if ip == node.ip:
        return node.do_NodeStatus({}), ""
    try:
        return call(ip, "NodeStatus", {}, credentials, timeout=5), ""
    except RpcError as error:
        return None, str(error)


def checks(node, request: dict) -> list[dict]:
    found: list[dict] = []

    def check(name: str, problem: str | None) -> bool:
        found.append({"name": name, "ok": problem is None, "detail": problem or "OK"})
        return problem is None

    control_planes, workers = request.get("control_plane_nodes", []), request.get("worker_nodes", [])
    config = node.config
    credentials = _own_credentials(node)
    statuses, problems = {}, []
    for ip, role in [*((ip, "controlplane") for ip in control_planes), *((ip, "worker") for ip in workers)]:
        status, error = _status(node, ip, credentials)
        if status is None:
            problems.append(f"{ip}: {error}")
        elif status["cluster_id"] != config["cluster"]["id"]:
            problems.append(f"{ip}: configured for another cluster")
        elif status["machine_type"] != role:
            problems.append(f"{ip}: is a {status['machine_type']}, named as a {role}")
        else:
            statuses[ip] = status
    if not control_planes:
        problems.append("no control plane nodes named")
    if not check("all nodes to be configured", "; ".join(problems) or None):
        return found
    with node.world.etcd() as etcd:
        entry = etcd.get(config["cluster"]["id"]) or {"members": {}, "bootstraps": 0}
    if not check("etcd to be healthy", None if entry["bootstraps"] == 1 and entry["members"] else
                 "etcd is not bootstrapped" if not entry["bootstraps"] else
                 f"etcd was bootstrapped {entry['bootstraps']} times" if entry["bootstraps"] > 1 else "etcd has no members"):
        return found
    expected = sorted(statuses[ip]["hostname"] for ip in control_planes)
    members = sorted(m["hostname"] for m in entry["members"].values())
    not_joined = [ip for ip in control_planes if not statuses[ip]["member"]]
    detail = None
    if members != expected:
        detail = f"expected members {expected}, got {members}"
    elif not_joined:
        detail = f"{', '.join(not_joined)} not a member"
    if not check("etcd members to be control plane nodes", detail):
        return found
    check("kube-apiserver to report ready", _readyz(config))
    return found


def _own_credentials(node) -> tuple[str, str]:
    """The credentials the caller presented (health is asked with the talosconfig's)."""
    return node.last_credentials


def _readyz(config: dict) -> str | None:
    kube = formats.load_kubeconfig(formats.kubeconfig(config))
    host = kube["server"].split("://", 1)[1]
    request = urllib.request.Request(f"http://{host}/readyz", headers={
        "X-Kube-Client": f"{kube['client-certificate-data']} {kube['client-key-data']}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return None if answer.read().strip() == b"ok" else "not ok"
    except urllib.error.HTTPError as error:
        return f"{kube['server']}/readyz answered {error.code}"
    except OSError as error:
        return f"{kube['server']}: {getattr(error, 'reason', error)}"


def _version(node) -> tuple[int, bytes]:
    generated = node.config[formats.MARKER]
    major, minor = generated["kubernetesVersion"].split(".")[:2]
    body = {"major": major, "minor": minor, "gitVersion": f"v{generated['kubernetesVersion']}"}
    return 200, json.dumps(body).encode()


def _nodes(node) -> tuple[int, bytes]:
    """The Node objects the cluster's kubelets registered (NotReady: no CNI is modelled)."""
    with node.world.etcd() as etcd:
        registered = (etcd.get(node.config["cluster"]["id"]) or {}).get("nodes", {})
    items = [{"metadata": {"name": name}, "status": {"addresses": [{"type": "InternalIP", "address": ip}]}}
             for name, ip in sorted(registered.items())]  # fmt: skip
    return 200, json.dumps({"kind": "NodeList", "apiVersion": "v1", "items": items}).encode()


ROUTES = {"/readyz": lambda node: (200, b"ok"), "/livez": lambda node: (200, b"ok"),
          "/healthz": lambda node: (200, b"ok"), "/version": _version, "/api/v1/nodes": _nodes}  # fmt: skip


def kube_server(node) -> http.server.ThreadingHTTPServer:
    k8s = node.config["cluster"]["ca"]

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args) -> None:  # noqa: A002
            pass

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _authorized(self) -> bool:
            crt, _, key = (self.headers.get("X-Kube-Client") or "").partition(" ")
            if formats.accepts(k8s["crt"], crt, key):
                return True
            self._reply(401, b'{"kind":"Status","status":"Failure","message":"Unauthorized","code":401}')
            return False

        def _objects(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
            if not self.path.startswith(("/api/", "/apis/")) and self.path.split("?")[0] not in ("/api", "/apis"):
                return self._reply(404, b'{"kind":"Status","status":"Failure","reason":"NotFound","code":404}')
            self._reply(*Objects(node.world, node.config["cluster"]["id"]).handle(method, self.path, body))

        def do_GET(self) -> None:  # noqa: N802
            if not self._authorized():
                return
            route = ROUTES.get(self.path.split("?", 1)[0])
            if route is None:
                return self._objects("GET")
            self._reply(*route(node))

        def do_POST(self) -> None:  # noqa: N802
            if self._authorized():
                self._objects("POST")

        def do_PUT(self) -> None:  # noqa: N802
            if self._authorized():
                self._objects("PUT")

    server = http.server.ThreadingHTTPServer((node.ip, KUBE_PORT), Handler)
    server.daemon_threads = True
    return server
