"""The Kubernetes API stand-in's objects, and a simulated CozyStack on top of them.

Served by every control plane's API stand-in (talos_health.py kube_server, after its fixed
ROUTES); the objects are the cluster's, kept in the world's shared state (`kube.json` beside
etcd.json, under the cluster's id), as etcd keeps them: they survive a bastion replacement
and every control plane answers the same. Stdlib only.

**The API** (JSON over plain HTTP, the credentials as talos_health.py checks them):
- discovery: `GET /api` and `GET /apis` answer an aggregated-discovery-like list
  (`{"resources": [{"resource", "group", "version", "kind", "namespaced"}]}`, a stand-in
  shape): the built-in kinds below and every CRD that exists. kubectl and helm (the
  stand-ins) resolve names with it, so a CustomResource before its CRD is "the server
  doesn't have a resource type", as kubectl says;
- objects: `/api/v1[/namespaces/NS]/PLURAL[/NAME]` and `/apis/GROUP/VERSION[/namespaces/NS]/PLURAL[/NAME]`:
  GET (one, or a list; a namespaced list without NS is across all namespaces; `labelSelector`
  k=v[,k=v] and `fieldSelector` spec.nodeName=x on pods), POST (create: 409 AlreadyExists),
  PUT (replace: 404 if absent). Errors are Status objects with kubectl's messages
  (`packagesources.cozystack.io "x" not found`). A namespaced object needs its namespace;
- exec: `POST /api/v1/namespaces/NS/pods/NAME/exec` with `{"command": [...]}` answers
  `{"stdout", "stderr", "code"}` (kubectl's SPDY/WebSocket streams are not modelled). Pods
  run only what their container has: the LINSTOR controller's container `linstor-controller`
  runs `linstor`, a satellite's `linstor-satellite` runs `zpool`; `"container"` in the request
  picks one (kubectl's -c), an unknown one is refused as the API server refuses it.

**Refused, as the real cluster would:** a namespaced object in a namespace that does not
exist (`namespaces "x" not found`); a Package whose PackageSource does not exist yet
(CozyStack's admission webhook refuses it: a stand-in rule that makes the order visible);
a kind whose CRD is not installed.

**The simulated CozyStack** (advanced on every request from the times recorded, so every
control plane sees the same): a Deployment becomes ready READY_SECONDS after it is created.
The cozystack-operator Deployment (the installer chart's) ready: OPERATOR_SECONDS later its
CRDs exist (packages/packagesources.cozystack.io, Flux's helmreleases), PACKAGESOURCE_SECONDS
later the PackageSource `cozystack.cozystack-platform`. The Package `cozystack.cozystack-platform`
applied: the HelmReleases of PLATFORM appear one by one (HELMRELEASE_STEP apart), each
Ready=Unknown (Progressing) then Ready=True HELMRELEASE_READY later. The linstor HelmRelease
Ready: Deployment linstor-controller (ready) and its pod, and one satellite pod per registered
node (`linstor-satellite.<node>-<hash>`, label app.kubernetes.io/component=linstor-satellite,
spec.nodeName) appear, and LINSTOR knows those nodes (Online, each with DfltDisklessStorPool).
Knob: `faults.json` in the world directory, `{"helmreleases": {"ns/name": {"reason", "message"}}}`:
that HelmRelease is Ready=False with that reason while listed; removed, it becomes Ready.

**linstor** (in the controller's pod; linstor-client's syntax for these commands only):
`node list`, `storage-pool list` (`-m/--machine-readable`: a list of replies, each a list of
LINSTOR REST objects, as linstor-client prints v1), `physical-storage create-device-pool zfs
NODE DEVICE --pool-name P --storage-pool S`: refused (exit 10, LINSTOR's ERROR block) for a
node LINSTOR does not know, a device that is not the node's LINSTOR partition (what the node
published from its Talos config, talos_node.py), or a storage pool that exists there; else
the zpool and the storage pool exist. **zpool** (in a satellite): `zpool set failmode=continue
POOL` only where that zpool exists ("cannot open 'x': no such pool", exit 1). Every write, exec
and release is appended to record.jsonl (event kube-create/kube-replace/exec, and kube-refused
for a write the API refused) for tests to count.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import time
import urllib.parse
from pathlib import Path

READY_SECONDS = 1.0
OPERATOR_SECONDS = 1.5
PACKAGESOURCE_SECONDS = 1.5
HELMRELEASE_STEP = 0.2
HELMRELEASE_READY = 1.5
# More than 10, as the product waits for (CozyStack's e2e waits for more than 10; the guide lists 24).
PLATFORM = ("cozy-cert-manager/cert-manager", "cozy-cert-manager/cert-manager-issuers", "cozy-cilium/cilium",
            "cozy-kubeovn/kubeovn", "cozy-linstor/piraeus-operator", "cozy-linstor/linstor", "cozy-metallb/metallb",
            "cozy-snapshot-controller/snapshot-controller", "cozy-victoria-metrics-operator/victoria-metrics-operator",
            "cozy-kubevirt/kubevirt-operator", "cozy-cozystack-api/cozystack-api",
            "cozy-cozystack-controller/cozystack-controller", "cozy-dashboard/dashboard", "tenant-root/tenant-root")  # fmt: skip
PLATFORM_PACKAGE = "cozystack.cozystack-platform"
OPERATOR = "cozystack-operator"
LINSTOR_NAMESPACE = "cozy-linstor"
SATELLITE_LABEL = ("app.kubernetes.io/component", "linstor-satellite")
CONTROLLER_LABEL = ("app.kubernetes.io/component", "linstor-controller")
PROGRESSING = ("Progressing", "Reconciliation in progress")

# plural.group -> (group, version, kind, namespaced)
BUILTIN = {
    "namespaces": ("", "v1", "Namespace", False), "pods": ("", "v1", "Pod", True),
    "secrets": ("", "v1", "Secret", True), "configmaps": ("", "v1", "ConfigMap", True),
    "deployments.apps": ("apps", "v1", "Deployment", True),
    "storageclasses.storage.k8s.io": ("storage.k8s.io", "v1", "StorageClass", False),
    "customresourcedefinitions.apiextensions.k8s.io": ("apiextensions.k8s.io", "v1", "CustomResourceDefinition", False),
}  # fmt: skip
OPERATOR_CRDS = {
    "packages.cozystack.io": ("cozystack.io", "v1alpha1", "Package", False),
    "packagesources.cozystack.io": ("cozystack.io", "v1alpha1", "PackageSource", False),
    "helmreleases.helm.toolkit.fluxcd.io": ("helm.toolkit.fluxcd.io", "v2", "HelmRelease", True),
}


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str):
        super().__init__(message)
        self.code, self.reason = code, reason

    def body(self) -> bytes:
        return json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": str(self),
                           "reason": self.reason, "code": self.code}).encode()  # fmt: skip


def _hash(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:5]


class Store:
    """One cluster's objects and simulated state (held under the world's lock while used)."""

    def __init__(self, state: dict, world, now: float, cluster_id: str):
        self.state, self.world, self.now, self.cluster_id = state, world, now, cluster_id
        state.setdefault("objects", {})
        state.setdefault("times", {})  # object key -> {"created", "ready", "healed"}: the simulation's clock
        state.setdefault("linstor", {"nodes": {}, "pools": {}, "zpools": {}})

    # --- resources ------------------------------------------------------------------

    def resources(self) -> dict[str, tuple]:
        found = dict(BUILTIN)
        for key, crd in self.objects("customresourcedefinitions.apiextensions.k8s.io"):
            spec = crd["spec"]
            found[crd["metadata"]["name"]] = (spec["group"], spec["versions"][0]["name"], spec["names"]["kind"],
                                              spec["scope"] == "Namespaced")  # fmt: skip
        return found

    def objects(self, resource: str, namespace: str | None = None):
        prefix = f"{resource}/"
        for key, obj in sorted(self.state["objects"].items()):
            if key.startswith(prefix) and (namespace is None or obj["metadata"].get("namespace") == namespace):
                yield key, obj

    @staticmethod
    def key(resource: str, namespace: str | None, name: str) -> str:
        return f"{resource}/{namespace or ''}/{name}"

    def get(self, resource: str, namespace: str | None, name: str) -> dict | None:
        return self.state["objects"].get(self.key(resource, namespace, name))

    def put(self, resource: str, obj: dict, event: str | None = "kube-create") -> dict:
        metadata = obj.setdefault("metadata", {})
        key = self.key(resource, metadata.get("namespace"), metadata["name"])
        self.state["times"].setdefault(key, {"created": self.now})
        metadata.setdefault("creationTimestamp", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.now)))
        metadata.setdefault("uid", _hash(resource, metadata.get("namespace", ""), metadata["name"], str(self.now)))
        self.state["objects"][key] = obj
        if event:
            self.world.record(event=event, resource=resource, namespace=metadata.get("namespace"), name=metadata["name"])
        return obj

    # --- the simulation ---------------------------------------------------------------

    def advance(self, faults: dict) -> None:
        now = self.now
        times = self.state["times"]
        for key, deployment in self.objects("deployments.apps"):
            status = deployment.setdefault("status", {})
            if not status.get("readyReplicas") and now >= times[key]["created"] + READY_SECONDS:
                replicas = deployment.get("spec", {}).get("replicas", 1)
                status.update(replicas=replicas, readyReplicas=replicas, availableReplicas=replicas)
                times[key]["ready"] = now
        operator = next((k for k, d in self.objects("deployments.apps") if d["metadata"]["name"] == OPERATOR), None)
        ready_at = times[operator].get("ready") if operator else None
        if ready_at is not None and now >= ready_at + OPERATOR_SECONDS:
            for name, (group, version, kind, namespaced) in OPERATOR_CRDS.items():
                if self.get("customresourcedefinitions.apiextensions.k8s.io", None, name) is None:
                    plural = name.split(".", 1)[0]
                    self.put("customresourcedefinitions.apiextensions.k8s.io", {
                        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": name},
                        "spec": {"group": group, "names": {"kind": kind, "plural": plural},
                                 "scope": "Namespaced" if namespaced else "Cluster", "versions": [{"name": version}]}})  # fmt: skip
            if now >= ready_at + OPERATOR_SECONDS + PACKAGESOURCE_SECONDS and \
                    self.get("packagesources.cozystack.io", None, PLATFORM_PACKAGE) is None:
                self.put("packagesources.cozystack.io", {"apiVersion": "cozystack.io/v1alpha1", "kind": "PackageSource",
                         "metadata": {"name": PLATFORM_PACKAGE}, "spec": {"variants": [{"name": "isp-full"}]}})  # fmt: skip
        package = self.get("packages.cozystack.io", None, PLATFORM_PACKAGE)
        if package is not None:
            applied = times[self.key("packages.cozystack.io", None, PLATFORM_PACKAGE)]["created"]
            for index, ref in enumerate(PLATFORM):
                namespace, name = ref.split("/")
                appears = applied + HELMRELEASE_STEP * (index + 1)
                if now < appears:
                    continue
                self._namespace(namespace)
                release = self.get("helmreleases.helm.toolkit.fluxcd.io", namespace, name)
                if release is None:
                    release = self.put("helmreleases.helm.toolkit.fluxcd.io", {
                        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                        "metadata": {"name": name, "namespace": namespace},
                        "spec": {"chart": {"spec": {"chart": name}}}, "status": {}})  # fmt: skip
                clock = times[self.key("helmreleases.helm.toolkit.fluxcd.io", namespace, name)]
                fault = faults.get("helmreleases", {}).get(ref)
                if fault:
                    condition = ("False", fault.get("reason", "InstallFailed"), fault.get("message", "install failed"))
                    clock.pop("healed", None)
                elif clock.get("failed"):
                    clock.setdefault("healed", now)
                    ready = now >= clock["healed"] + HELMRELEASE_READY
                    condition = ("True", "InstallSucceeded", "Helm install succeeded") if ready else ("Unknown", *PROGRESSING)
                else:
                    ready = now >= clock["created"] + HELMRELEASE_READY
                    condition = ("True", "InstallSucceeded", "Helm install succeeded") if ready else ("Unknown", *PROGRESSING)
                if condition[0] == "False":
                    clock["failed"] = True
                elif condition[0] == "True":
                    clock["failed"] = False
                release["status"]["conditions"] = [{"type": "Ready", "status": condition[0], "reason": condition[1],
                                                    "message": condition[2]}]  # fmt: skip
        linstor = self.get("helmreleases.helm.toolkit.fluxcd.io", LINSTOR_NAMESPACE, "linstor")
        if linstor is not None and linstor["status"]["conditions"][0]["status"] == "True":
            self._linstor()

    def _namespace(self, name: str) -> None:
        if self.get("namespaces", None, name) is None:
            self.put("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, event=None)

    def _linstor(self) -> None:
        if self.get("deployments.apps", LINSTOR_NAMESPACE, "linstor-controller") is None:
            self.put("deployments.apps", {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
                "name": "linstor-controller", "namespace": LINSTOR_NAMESPACE}, "spec": {"replicas": 1},
                "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}}, event=None)  # fmt: skip
            self._pod(f"linstor-controller-{_hash('controller')}-{_hash('pod')}", dict([CONTROLLER_LABEL]), None, "linstor-controller", "linstor")
        registered = self.world.registered(self.cluster_id)
        for node in sorted(registered):
            if node not in self.state["linstor"]["nodes"]:
                self._pod(f"linstor-satellite.{node}-{_hash(node)}", dict([SATELLITE_LABEL]), node, "linstor-satellite", "zpool")
                self.state["linstor"]["nodes"][node] = {"ip": registered[node]}
                self.state["linstor"]["pools"].setdefault(node, {"DfltDisklessStorPool": {"provider_kind": "DISKLESS"}})

    def _pod(self, name: str, labels: dict, node: str | None, container: str, runs: str) -> None:
        self.put("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": LINSTOR_NAMESPACE,
                 "labels": labels}, "spec": {"nodeName": node, "containers": [{"name": container, "command": [runs]}]},
                 "status": {"phase": "Running"}}, event=None)  # fmt: skip


# --- the HTTP side -----------------------------------------------------------------------


def parse_path(path: str) -> tuple[str, str, str | None, str | None, str | None, dict]:
    """(group, version, namespace, plural, name, query); name may end in '/exec'."""
    raw, _, query = path.partition("?")
    parts = [p for p in raw.split("/") if p]
    if parts[:1] == ["api"]:
        group, rest = "", parts[1:]
    elif parts[:1] == ["apis"]:
        group, rest = parts[1], parts[2:]
    else:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    if not rest:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    version, rest = rest[0], rest[1:]
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":  # else the namespaces themselves
        namespace, rest = rest[1], rest[2:]
    plural = rest[0] if rest else None
    name = "/".join(rest[1:]) or None
    return group, version, namespace, plural, name, dict(urllib.parse.parse_qsl(query))


def _selected(obj: dict, query: dict) -> bool:
    for term in filter(None, query.get("labelSelector", "").split(",")):
        key, _, value = term.partition("=")
        if obj["metadata"].get("labels", {}).get(key) != value.lstrip("="):
            return False
    for term in filter(None, query.get("fieldSelector", "").split(",")):
        key, _, value = term.partition("=")
        if key != "spec.nodeName":
            raise ApiError(400, "BadRequest", f'"{key}" is not a known field selector: only "spec.nodeName" is modelled')
        if obj.get("spec", {}).get("nodeName") != value.lstrip("="):
            return False
    return True


class Objects:
    """The request handler's side: one call, under the world's lock."""

    def __init__(self, world, cluster_id: str):
        self.world, self.cluster_id = world, cluster_id

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        with self.world.kube(self.cluster_id) as state:
            store = Store(state, self.world, time.time(), self.cluster_id)
            store.advance(self.world.faults())
            try:
                return self._handle(store, method, path, body)
            except ApiError as error:
                if method != "GET":  # a refused write, for tests to show the product never tried one
                    self.world.record(event="kube-refused", method=method, path=path.split("?")[0], reason=error.reason,
                                      message=str(error))  # fmt: skip
                return error.code, error.body()

    def _handle(self, store: Store, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if method == "GET" and path.split("?")[0] in ("/api", "/apis"):
            listed = [{"resource": name.split(".", 1)[0], "group": group, "version": version, "kind": kind, "namespaced": namespaced}
                      for name, (group, version, kind, namespaced) in sorted(store.resources().items())]  # fmt: skip
            return 200, json.dumps({"resources": listed}).encode()
        group, version, namespace, plural, name, query = parse_path(path)
        resource = plural if not group else f"{plural}.{group}"
        known = store.resources().get(resource)
        if known is None or known[1] != version:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        namespaced = known[3]
        if namespace is not None and not namespaced:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if name and name.endswith("/exec") and resource == "pods" and method == "POST":
            return self._exec(store, namespace, name[:-5], json.loads(body or b"{}"))
        if method == "GET":
            if name:
                obj = store.get(resource, namespace, name)
                if obj is None:
                    raise ApiError(404, "NotFound", f'{resource} "{name}" not found')
                return 200, json.dumps(obj).encode()
            items = [obj for _, obj in store.objects(resource, namespace) if _selected(obj, query)]
            return 200, json.dumps({"kind": f"{known[2]}List", "apiVersion": "v1", "items": items}).encode()
        if method in ("POST", "PUT"):
            obj = json.loads(body)
            obj_name = obj.get("metadata", {}).get("name")
            if not obj_name or (method == "PUT" and obj_name != name):
                raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
            if namespaced:
                if namespace is None:
                    raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
                obj["metadata"]["namespace"] = namespace
                if store.get("namespaces", None, namespace) is None:
                    raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found')
            existing = store.get(resource, namespace, obj_name)
            if method == "POST" and existing is not None:
                raise ApiError(409, "AlreadyExists", f'{resource} "{obj_name}" already exists')
            if method == "PUT" and existing is None:
                raise ApiError(404, "NotFound", f'{resource} "{obj_name}" not found')
            if resource == "packages.cozystack.io" and method == "POST" and \
                    store.get("packagesources.cozystack.io", None, obj_name) is None:
                raise ApiError(400, "BadRequest", f'admission webhook "vpackage.cozystack.io" denied the request: '
                                                  f'PackageSource "{obj_name}" not found')  # fmt: skip
            if existing is not None:
                obj["metadata"]["creationTimestamp"] = existing["metadata"]["creationTimestamp"]
                obj["metadata"]["uid"] = existing["metadata"]["uid"]
                if "status" in existing and "status" not in obj:
                    obj["status"] = existing["status"]
            store.put(resource, obj, event="kube-create" if method == "POST" else "kube-replace")
            return 201 if method == "POST" else 200, json.dumps(obj).encode()
        raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on the requested resource")

    # --- exec: what the pods' containers run ------------------------------------------

    def _exec(self, store: Store, namespace: str, pod_name: str, request: dict) -> tuple[int, bytes]:
        pod = store.get("pods", namespace, pod_name)
        if pod is None:
            raise ApiError(404, "NotFound", f'pods "{pod_name}" not found')
        command = list(request.get("command", []))
        containers = {c["name"]: c["command"][0] for c in pod["spec"]["containers"]}
        container = request.get("container") or next(iter(containers))
        if container not in containers:
            raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {pod_name}")
        program = containers[container]
        if not command:
            code, out, err = 126, "", "you must specify at least one command for the container"
        elif command[0] != program:
            code, out, err = 127, "", (f'OCI runtime exec failed: exec failed: unable to start container process: exec: '
                                       f'"{command[0]}": executable file not found in $PATH: unknown')  # fmt: skip
        elif program == "linstor":
            code, out, err = linstor(store, command[1:])
        else:
            code, out, err = zpool(store, pod["spec"]["nodeName"], command[1:])
        self.world.record(event="exec", namespace=namespace, pod=pod_name, node=pod["spec"]["nodeName"], command=command,
                          code=code)  # fmt: skip
        return 200, json.dumps({"stdout": out, "stderr": err, "code": code}).encode()


# --- linstor and zpool -----------------------------------------------------------------


def _linstor_error(description: str) -> tuple[int, str, str]:
    return 10, f"ERROR:\nDescription:\n    {description}\n", ""


def linstor(store: Store, args: list[str]) -> tuple[int, str, str]:
    machine = False
    while args and args[0].startswith("-"):
        if args[0] in ("-m", "--machine-readable"):
            machine = True
            args = args[1:]
        else:
            return 2, "", f"usage: linstor [-h] [--version] ...\nlinstor: error: the linstor stand-in does not model {args[0]}\n"
    state = store.state["linstor"]
    if args in (["node", "list"], ["n", "l"]):
        nodes = [{"name": name, "type": "SATELLITE", "connection_status": "ONLINE", "props": {},
                  "net_interfaces": [{"name": "default", "address": node["ip"], "satellite_port": 3367}]}
                 for name, node in sorted(state["nodes"].items())]  # fmt: skip
        if machine:
            return 0, json.dumps([nodes], indent=2) + "\n", ""
        return 0, "".join(f"| {n['name']} | SATELLITE | {n['net_interfaces'][0]['address']}:3367 (PLAIN) | Online |\n" for n in nodes), ""
    if args in (["storage-pool", "list"], ["sp", "l"]):
        pools = []
        for node, found in sorted(state["pools"].items()):
            for name, pool in sorted(found.items()):
                pools.append({"storage_pool_name": name, "node_name": node, "provider_kind": pool["provider_kind"],
                              "props": {"StorDriver/ZPool": pool["zpool"]} if pool.get("zpool") else {},
                              "static_traits": {}, "free_capacity": pool.get("kib", 0), "total_capacity": pool.get("kib", 0),
                              "free_space_mgr_name": f"{node};{name}", "uuid": _hash(node, name), "supports_snapshots":
                              pool["provider_kind"] == "ZFS", "reports": []})  # fmt: skip
        if machine:
            return 0, json.dumps([pools], indent=2) + "\n", ""
        return 0, "".join(f"| {p['storage_pool_name']} | {p['node_name']} | {p['provider_kind']} |\n" for p in pools), ""
    if args[:2] in (["physical-storage", "create-device-pool"], ["ps", "cdp"]):
        rest = args[2:]
        options, positional = {}, []
        while rest:
            word = rest.pop(0)
            if word in ("--pool-name", "--storage-pool"):
                if not rest:
                    return 2, "", f"linstor: error: argument {word}: expected one argument\n"
                options[word] = rest.pop(0)
            elif word.startswith("-"):
                return 2, "", f"linstor: error: the linstor stand-in does not model {word}\n"
            else:
                positional.append(word)
        if len(positional) != 3 or positional[0].lower() not in ("zfs", "zfsthin", "lvm", "lvmthin"):
            return 2, "", "usage: linstor physical-storage create-device-pool [-h] ... {LVM,LVMTHIN,ZFS,ZFSTHIN} node_name device_paths\n"
        kind, node, device = positional
        if kind.lower() != "zfs":
            return 2, "", "linstor stand-in: only zfs device pools are modelled\n"
        if "--pool-name" not in options:
            return 2, "", "linstor: error: the following arguments are required: --pool-name\n"
        if node not in state["nodes"]:
            return _linstor_error(f"Node '{node}' not found.")
        partition = store.world.devices(store.cluster_id).get(node)
        if device != partition:
            return _linstor_error(f"Failed to create the zpool {options['--pool-name']} on node '{node}': device "
                                  f"'{device}' is not an unused block device there (its LINSTOR partition is "
                                  f"{partition or 'not present'})")  # fmt: skip
        zpool = options["--pool-name"]
        if zpool in state["zpools"].get(node, {}):
            return _linstor_error(f"Failed to create the zpool {zpool} on node '{node}': cannot create '{zpool}': pool already exists")
        pool_name = options.get("--storage-pool")
        if pool_name and pool_name in state["pools"].get(node, {}):
            return _linstor_error(f"A storage pool with the name '{pool_name}' already exists on node '{node}'.")
        state["zpools"].setdefault(node, {})[zpool] = {"device": device, "failmode": "wait"}
        if pool_name:
            state["pools"].setdefault(node, {})[pool_name] = {"provider_kind": "ZFS", "zpool": zpool, "device": device,
                                                              "kib": 256 * 1024 * 1024}  # fmt: skip
        return 0, (f"SUCCESS:\n    Successfully created the zpool {zpool} on {node} ({device})\n"
                   f"SUCCESS:\n    New storage pool '{pool_name}' on node '{node}' registered.\n"), ""  # fmt: skip
    return 2, "", f"linstor stand-in: `linstor {' '.join(args)}` is not modelled\n"


def zpool(store: Store, node: str, args: list[str]) -> tuple[int, str, str]:
    if len(args) == 3 and args[0] == "set" and "=" in args[1]:
        prop, _, value = args[1].partition("=")
        pool = store.state["linstor"]["zpools"].get(node, {}).get(args[2])
        if pool is None:
            return 1, "", f"cannot open '{args[2]}': no such pool\n"
        if prop != "failmode" or value not in ("wait", "continue", "panic"):
            return 1, "", f"cannot set property for '{args[2]}': the zpool stand-in models failmode=wait|continue|panic only\n"
        pool["failmode"] = value
        return 0, "", ""
    return 2, "", f"zpool stand-in: `zpool {' '.join(args)}` is not modelled\n"


# --- the world's side (talos_node.World gets these) ------------------------------------


class SharedState:
    """Mixed into talos_node.World: kube.json and faults.json beside etcd.json."""

    directory: Path

    @contextlib.contextmanager
    def kube(self, cluster_id: str):
        with open(self.directory / "kube.json.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            path = self.directory / "kube.json"
            everything = json.loads(path.read_text()) if path.exists() else {}
            yield everything.setdefault(cluster_id, {})
            path.write_text(json.dumps(everything, indent=1))

    def faults(self) -> dict:
        path = self.directory / "faults.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def registered(self, cluster_id: str) -> dict[str, str]:
        with self.etcd() as etcd:
            return dict((etcd.get(cluster_id) or {}).get("nodes", {}))

    def devices(self, cluster_id: str) -> dict[str, str | None]:
        with self.etcd() as etcd:
            return dict((etcd.get(cluster_id) or {}).get("devices", {}))
