"""kubectl stand-in: the calls the bastion makes to the cluster's Kubernetes API stand-in.

Published on the simulated dl.k8s.io as `release/<v>/bin/linux/<arch>/kubectl` with its
`kubectl.sha256` (a Python zipapp, tools/__init__.py). It accepts exactly the flags of
kubectl-flags.json for the commands it answers (parsed as cobra/pflag do) and fails on
others as kubectl does. It reads the kubeconfig (--kubeconfig, else $KUBECONFIG, else
~/.kube/config) and calls the server it names with the client credentials in it, over
plain HTTP although the URL says https (the node stand-in's API, harness/hostsim/
talos_node.py, checks the credentials the way tools/talos_formats.py describes; no TLS).
Answers (issue 21 added the forms the CozyStack phase runs, nothing more):
- `get --raw=<path>`; `get nodes --no-headers -o custom-columns=NAME:.metadata.name`;
- `get <resource> <name> -o name` (prints `<kind>.<group>/<name>`);
- `get <resource> -A -o json` (a `List`, 4-space indented as kubectl prints it);
- `get pods -l k=v --field-selector spec.nodeName=<node> -o name` (`pod/<name>` lines;
  none: "No resources found in <ns> namespace." on stderr, exit 0);
- `apply -f <file>`: every document of a multi-document YAML file (PyYAML, which the
  bastion's python3 has as cloud-init's dependency; a file it cannot parse is refused as
  kubectl refuses it), client-side apply as kubectl does it: GET, then POST (`created`)
  or PUT (`configured`) with the last-applied annotation, `unchanged` when equal;
- `exec <pod|pod/x|deploy/x> -- <command...>`: the API stand-in runs it in the pod
  (harness/hostsim/kube_api.py: `linstor` in the LINSTOR controller, `zpool` in a
  satellite); its output is printed and a non-zero exit is kubectl's "command terminated
  with exit code N", exit N. Without `--` it is refused, as kubectl 1.36 does.
Names resolve through the API's discovery (`/apis`, the built-in kinds and the CRDs that
exist): plural, singular or short name, with or without `.group`. Errors are kubectl's:
`error: the server doesn't have a resource type "x"`, `Error from server (NotFound):
packagesources.cozystack.io "x" not found`, `error: resource mapping not found for name:
... ensure CRDs are installed first`. Other forms of these verbs are refused (exit 1, the
stand-in names what is not modelled), never guessed.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from . import cobra

VERSION = "v0.0.0"


class Failure(Exception):
    pass


class Api:
    """The API server of the current context, with its credentials and the request timeout."""

    def __init__(self, values: dict):
        path = values.get("kubeconfig") or os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
        try:
            text = Path(path).read_text()
        except OSError:
            raise Failure(f"error: stat {path}: no such file or directory") from None
        found = {}
        for line in text.splitlines():
            key, _, value = line.strip().partition(":")
            found.setdefault(key, value.strip())
        self.server = values.get("server") or found.get("server")
        if not self.server:
            raise Failure("error: no server found for cluster")
        self.credentials = (found.get("client-certificate-data", ""), found.get("client-key-data", ""))
        self.namespace = found.get("namespace")
        timeout = values.get("request-timeout", "0")
        try:
            self.timeout = cobra.parse_duration(timeout) if not timeout.isdigit() else float(timeout)
        except ValueError:
            raise Failure("error: invalid request timeout: use a value with a unit (1s, 2m, 3h)") from None

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        parsed = urllib.parse.urlsplit(self.server)
        url = f"http://{parsed.netloc}{path}"
        headers = {"X-Kube-Client": " ".join(self.credentials), "Accept": "application/json, */*"}
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout or None) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, ConnectionRefusedError):
                raise Failure(f"The connection to the server {parsed.netloc} was refused - did you specify the right "
                              "host or port?") from None  # fmt: skip
            if isinstance(reason, (socket.timeout, TimeoutError)):
                raise Failure("Unable to connect to the server: net/http: request canceled (Client.Timeout exceeded "
                              "while awaiting headers)") from None  # fmt: skip
            raise Failure(f"Unable to connect to the server: {reason}") from None


def server_error(status: int, body: bytes) -> Failure:
    if status == 401:
        return Failure("error: You must be logged in to the server (Unauthorized)")
    if status == 403:
        return Failure(f"Error from server (Forbidden): {body.decode(errors='replace').strip()}")
    if status == 404:
        return Failure("Error from server (NotFound): the server could not find the requested resource")
    text = body.decode(errors="replace").strip()
    return Failure(f'Error from server (InternalError): an error on the server ("{text}") has prevented the request '
                   "from succeeding")  # fmt: skip


# `get nodes` with these output forms only; anything else is refused, not guessed.
NAME_COLUMN = ".metadata.name"


def get_nodes(values: dict) -> None:
    output = values.get("output", "")
    header, _, path = output.removeprefix("custom-columns=").partition(":")
    if not output.startswith("custom-columns=") or path != NAME_COLUMN or "," in output:
        raise Failure(f"kubectl stand-in: `get nodes` only with -o custom-columns=NAME:{NAME_COLUMN}")
    status, body = Api(values).request("GET", "/api/v1/nodes")
    if not 200 <= status < 300:
        raise server_error(status, body)
    names = [item["metadata"]["name"] for item in json.loads(body)["items"]]
    if not names:
        print("No resources found", file=sys.stderr)
    lines = ([] if values.get("no-headers") else [header]) + names
    sys.stdout.write("".join(f"{line}\n" for line in lines))


def get(values: dict, positional: list[str]) -> None:
    if "raw" not in values:
        return get_nodes(values)
    if positional:
        raise Failure("error: arguments may not be passed when --raw is specified")
    status, body = Api(values).request("GET", values["raw"])
    if not 200 <= status < 300:
        raise server_error(status, body)
    sys.stdout.write(body.decode(errors="replace"))


SHORT_NAMES = {"po": "pods", "deploy": "deployments", "sc": "storageclasses", "hr": "helmreleases", "ns": "namespaces",
               "crd": "customresourcedefinitions", "crds": "customresourcedefinitions"}  # fmt: skip


class Resource:
    def __init__(self, entry: dict):
        self.plural, self.group, self.version = entry["resource"], entry["group"], entry["version"]
        self.kind, self.namespaced = entry["kind"], entry["namespaced"]

    @property
    def full(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def name_of(self, name: str) -> str:
        return f"{self.kind.lower()}{'.' + self.group if self.group else ''}/{name}"

    def path(self, namespace: str | None, name: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        scope = f"/namespaces/{namespace}" if self.namespaced and namespace else ""
        return f"{base}{scope}/{self.plural}" + (f"/{name}" if name else "")


def discover(api: Api) -> list[Resource]:
    status, body = api.request("GET", "/apis")
    if not 200 <= status < 300:
        raise server_error(status, body)
    return [Resource(entry) for entry in json.loads(body)["resources"]]


def resolve_resource(api: Api, typed: str) -> Resource:
    word, _, group = typed.partition(".")
    word = SHORT_NAMES.get(word, word)
    for resource in discover(api):
        if word in (resource.plural, resource.kind.lower()) and (not group or group == resource.group):
            return resource
    raise Failure(f'error: the server doesn\'t have a resource type "{typed.partition(".")[0]}"')


def namespace_of(api: Api, values: dict) -> str:
    return values.get("namespace") or api.namespace or "default"


def _ok(status: int, body: bytes, what: str = "") -> dict:
    if 200 <= status < 300:
        return json.loads(body)
    try:
        found = json.loads(body)
    except ValueError:
        raise server_error(status, body) from None
    if found.get("kind") == "Status" and found.get("reason"):
        prefix = f"error when {what}: " if what else ""
        raise Failure(f"Error from server ({found['reason']}): {prefix}{found['message']}")
    raise server_error(status, body)


def get_objects(values: dict, positional: list[str]) -> None:
    api = Api(values)
    output = values.get("output", "")
    if output not in ("name", "json"):
        raise Failure(f"kubectl stand-in: `get {' '.join(positional)}` only with -o name or -o json")
    resource = resolve_resource(api, positional[0])
    all_namespaces = values.get("all-namespaces", False)
    namespace = None if all_namespaces else namespace_of(api, values)
    if len(positional) > 2:
        raise Failure("kubectl stand-in: one name at most")
    if len(positional) == 2:
        if all_namespaces:
            raise Failure("error: a resource cannot be retrieved by name across all namespaces")
        if values.get("selector") or values.get("field-selector"):
            raise Failure("error: name cannot be provided when a selector is specified")
        found = _ok(*api.request("GET", resource.path(namespace, positional[1])))
        items = [found]
    else:
        query = {key: values[flag] for key, flag in (("labelSelector", "selector"), ("fieldSelector", "field-selector"))
                 if values.get(flag)}  # fmt: skip
        path = resource.path(namespace) + (f"?{urllib.parse.urlencode(query)}" if query else "")
        items = _ok(*api.request("GET", path))["items"]
        if not items and output == "name":
            scope = f" in {namespace} namespace" if resource.namespaced and namespace else ""
            print(f"No resources found{scope}.", file=sys.stderr)
    if output == "name":
        sys.stdout.write("".join(f"{resource.name_of(item['metadata']['name'])}\n" for item in items))
    elif len(positional) == 2:
        print(json.dumps(items[0], indent=4))
    else:
        print(json.dumps({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}, indent=4))


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def apply(values: dict, positional: list[str]) -> None:
    if positional:
        raise Failure(f"error: Unexpected args: {positional}")
    files = values.get("filename", [])
    if len(files) != 1 or any(values.get(flag) for flag in ("kustomize", "server-side", "prune", "dry-run", "selector")):
        raise Failure("kubectl stand-in: only `apply -f <one file>` (client-side) is modelled")
    path = files[0]
    try:
        text = Path(path).read_text()
    except OSError:
        raise Failure(f'error: the path "{path}" does not exist') from None
    try:
        import yaml
    except ImportError:
        raise Failure("kubectl stand-in: reading YAML needs PyYAML (python3-yaml)") from None
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as error:
        raise Failure(f'error: error parsing {path}: error converting YAML to JSON: {str(error).splitlines()[0]}') from None
    if not documents:
        raise Failure("error: no objects passed to apply")
    api = Api(values)
    resources = discover(api)
    failures = []
    for document in documents:
        if not isinstance(document, dict) or not document.get("kind") or not document.get("apiVersion"):
            raise Failure(f'error: error validating "{path}": error validating data: [apiVersion not set, kind not set]')
        name = (document.get("metadata") or {}).get("name")
        group, _, version = document["apiVersion"].rpartition("/")
        resource = next((r for r in resources if r.kind == document["kind"] and r.group == group and r.version == version), None)
        if resource is None:
            failures.append(f'error: resource mapping not found for name: "{name}" namespace: "" from "{path}": no matches '
                            f'for kind "{document["kind"]}" in version "{document["apiVersion"]}"\nensure CRDs are installed first')
            continue
        namespace = (document["metadata"].get("namespace") or namespace_of(api, values)) if resource.namespaced else None
        if resource.namespaced:
            document["metadata"]["namespace"] = namespace
        applied = json.dumps(document, sort_keys=True)
        status, body = api.request("GET", resource.path(namespace, name))
        obj = {**document, "metadata": {**document["metadata"], "annotations": {
            **(document["metadata"].get("annotations") or {}), LAST_APPLIED: applied}}}
        try:
            if status == 404:
                _ok(*api.request("POST", resource.path(namespace), json.dumps(obj).encode()), f'creating "{path}"')
                print(f"{resource.name_of(name)} created")
                continue
            existing = _ok(status, body)
            if (existing["metadata"].get("annotations") or {}).get(LAST_APPLIED) == applied:
                print(f"{resource.name_of(name)} unchanged")
                continue
            _ok(*api.request("PUT", resource.path(namespace, name), json.dumps(obj).encode()), f'applying patch to "{path}"')
            print(f"{resource.name_of(name)} configured")
        except Failure as error:
            failures.append(str(error))
    if failures:
        raise Failure("\n".join(failures))


def exec_(values: dict, positional: list[str]) -> None:
    dash = ARGV.index("--") if "--" in ARGV else -1
    if not positional:
        raise Failure("error: expected 'exec (POD | TYPE/NAME) [-c CONTAINER] [flags] -- COMMAND [args...]'.\n"
                      "POD or TYPE/NAME is a required argument for the exec command")  # fmt: skip
    if dash < 0:
        raise Failure("error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead")
    target, command = positional[0], positional[1:]
    if not command:
        raise Failure("error: you must specify at least one command for the container")
    if values.get("stdin") or values.get("tty"):
        raise Failure("kubectl stand-in: exec without -i/-t only (the product runs no terminal)")
    api = Api(values)
    namespace = namespace_of(api, values)
    kind, _, name = target.rpartition("/")
    pods = resolve_resource(api, "pods")
    if kind and kind not in ("pod", "pods", "po"):
        workload = resolve_resource(api, kind)
        if workload.plural != "deployments":
            raise Failure(f"kubectl stand-in: exec into a {workload.kind} is not modelled")
        _ok(*api.request("GET", workload.path(namespace, name)))
        candidates = [p["metadata"]["name"] for p in _ok(*api.request("GET", pods.path(namespace)))["items"]
                      if p["metadata"]["name"].startswith(f"{name}-")]  # fmt: skip
        if not candidates:
            raise Failure(f"error: cannot attach to {target}: it has no running pods")
        name = candidates[0]
    reply = _ok(*api.request("POST", pods.path(namespace, name) + "/exec", json.dumps({"command": command, "container": values.get("container")}).encode()))
    sys.stdout.write(reply["stdout"])
    sys.stderr.write(reply["stderr"])
    if reply["code"]:
        raise Exited(reply["code"])


class Exited(Exception):
    def __init__(self, code: int):
        super().__init__(f"command terminated with exit code {code}")
        self.code = code


def get_any(values: dict, positional: list[str]) -> None:
    if "raw" in values or positional == ["nodes"]:
        return get(values, positional)
    if not positional:
        raise Failure("error: Required resource not specified.")
    return get_objects(values, positional)


ARGV: list[str] = []
COMMANDS = {"kubectl get": get_any, "kubectl apply": apply, "kubectl exec": exec_}


def main(argv: list[str], table: dict) -> int:
    root = cobra.tree(table["commands"])
    try:
        command, values, positional = cobra.resolve(root, argv)
    except NotImplementedError as missing:
        print(f"kubectl stand-in: `{missing}` is a kubectl command this stand-in does not answer", file=sys.stderr)
        return 2
    except cobra.UsageError as error:
        print(f"error: {error}\nSee '{' '.join(root.path)} --help' for usage.", file=sys.stderr)
        return 1
    ARGV[:] = argv
    try:
        COMMANDS[command.name](values, positional)
    except Failure as error:
        print(error, file=sys.stderr)
        return 1
    except Exited as exited:
        print(exited, file=sys.stderr)
        return exited.code
    return 0


if __name__ == "__main__":  # pragma: no cover - the zipapp's __main__ calls main()
    sys.exit(main(sys.argv[1:], json.loads((Path(__file__).with_name("kubectl-flags.json")).read_text())))
