"""helm stand-in: `helm pull` of an OCI chart and `helm upgrade --install` of a chart archive.

Published on the simulated get.helm.sh as `helm-<v>-linux-<arch>.tar.gz` (member
`linux-<arch>/helm`, a Python zipapp, tools/__init__.py) with its `.sha256sum`
("<digest>  <file>"). It accepts exactly the flags of helm-flags.json (helm v3.18.4's own
declarations, tools/helm_flags.py), parsed as cobra/pflag do; another helm command fails
with exit 2 naming it. Errors are printed as helm does (`Error: ...`, exit 1).

- `pull oci://HOST/REPO --version V [--destination D] [--plain-http]`: the OCI distribution calls helm
  makes (GET /v2/REPO/manifests/V, then the chart layer's blob) over HTTPS to the simulated
  registry (internet.py publish_chart; the token dance of ghcr.io is not modelled), the
  layer checked against its descriptor digest as oras does, and written unchanged to
  D/<name>-V.tgz (sha256 of the file = the layer digest). Refused: no --version (the
  tag listing is not modelled), a missing destination directory (helm's atomic write fails),
  a tag the registry does not have, any other chart reference form.
- `upgrade --install RELEASE CHART.tgz [--namespace N] [--create-namespace] [--values F]...
  [--wait] [--timeout T] --kubeconfig K`: reads the archive (Chart.yaml, values.yaml,
  templates/*.yaml), merges the values files over the chart's values, renders the
  templates (only `{{ .Release.Name }}`, `{{ .Release.Namespace }}` and `{{ .Values.a.b }}`
  are modelled; anything else in `{{ }}` is refused), and talks to the Kubernetes API stand-in
  with the kubeconfig's credentials: the namespace (created with --create-namespace, else
  `namespaces "N" not found`), every object created or replaced, and the release recorded
  as helm 3 does, a Secret `sh.helm.release.v1.RELEASE.vN` (type helm.sh/release.v1, labels
  name/owner/status/version, data.release base64 of gzip of the release JSON: name, version,
  namespace, info.status, chart metadata, config = the user-supplied values, manifest).
  With --wait, every Deployment must be ready within --timeout (else "context deadline
  exceeded", the release `failed`). Without --install a missing release is refused.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import re
import ssl
import sys
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from . import cobra
from .kubectl import Api, Failure, _ok, discover

VERSION = "v0.0.0"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CHART_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
_TEMPLATE = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")


def _fetch(url: str, accept: str) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": f"Helm/{VERSION.lstrip('v')}"})
    try:
        with urllib.request.urlopen(request, timeout=60, context=ssl.create_default_context()) as answer:
            return answer.read()
    except urllib.error.HTTPError as error:
        raise
    except (urllib.error.URLError, OSError) as error:
        raise Failure(f'Error: failed to do request: Get "{url}": {getattr(error, "reason", error)}') from None


def pull(values: dict, positional: list[str]) -> None:
    if len(positional) != 1 or not positional[0].startswith("oci://"):
        raise Failure("helm stand-in: only `helm pull oci://<registry>/<repository> --version <tag>` is modelled")
    version = values.get("version")
    if not version:
        raise Failure("helm stand-in: pulling without --version (the registry's tag list) is not modelled")
    if any(values.get(flag) for flag in ("untar", "prov", "verify", "repo", "username")):
        raise Failure("helm stand-in: --untar, --prov, --verify, --repo and --username are not modelled")
    scheme = "http" if values.get("plain-http") else "https"
    reference = positional[0][len("oci://"):]
    if "@" in reference or ":" in reference.rsplit("/", 1)[-1]:
        raise Failure("helm stand-in: a tag or digest in the reference is not modelled; use --version")
    host, _, repository = reference.partition("/")
    destination = values.get("destination", ".")
    name = repository.rsplit("/", 1)[-1]
    try:
        manifest_bytes = _fetch(f"{scheme}://{host}/v2/{repository}/manifests/{version}", OCI_MANIFEST)
    except urllib.error.HTTPError as error:
        if error.code == 404:
            raise Failure(f"Error: {reference}:{version}: not found") from None
        raise Failure(f"Error: unexpected status from GET request to https://{host}/v2/{repository}/manifests/{version}: "
                      f"{error.code}") from None  # fmt: skip
    manifest = json.loads(manifest_bytes)
    layers = [layer for layer in manifest.get("layers", []) if layer.get("mediaType") == CHART_LAYER]
    if len(layers) != 1:
        raise Failure(f"Error: manifest does not contain exactly 1 layer of type {CHART_LAYER}")
    digest = layers[0]["digest"]
    try:
        data = _fetch(f"{scheme}://{host}/v2/{repository}/blobs/{digest}", "*/*")
    except urllib.error.HTTPError as error:
        raise Failure(f"Error: failed to fetch {digest}: {error.code}") from None
    if "sha256:" + hashlib.sha256(data).hexdigest() != digest or len(data) != layers[0].get("size", len(data)):
        raise Failure(f"Error: failed to fetch {digest}: digest mismatch")
    target = os.path.join(destination, f"{name}-{version}.tgz")
    if not os.path.isdir(destination):
        raise Failure(f"Error: open {target}: no such file or directory")
    partial = f"{target}.{os.getpid()}"
    with open(partial, "wb") as stream:
        stream.write(data)
    os.chmod(partial, 0o644)
    os.replace(partial, target)
    print(f"Pulled: {reference}:{version}")
    print(f"Digest: sha256:{hashlib.sha256(manifest_bytes).hexdigest()}")


# --- upgrade --install ---------------------------------------------------------------------


def _yaml():
    try:
        import yaml
    except ImportError:
        raise Failure("helm stand-in: reading YAML needs PyYAML (python3-yaml)") from None
    return yaml


def load_chart(path: str) -> tuple[dict, dict, dict[str, str]]:
    """(Chart.yaml, values.yaml, templates by name) of a chart archive."""
    if not os.path.exists(path):
        raise Failure(f'Error: path "{path}" not found')
    yaml = _yaml()
    try:
        with tarfile.open(path, "r:gz") as archive:
            files = {m.name: archive.extractfile(m).read().decode() for m in archive.getmembers() if m.isfile()}
    except (tarfile.TarError, OSError, EOFError):
        raise Failure(f"Error: file '{path}' does not appear to be a gzipped archive; got 'application/octet-stream'") from None
    roots = {name.split("/", 1)[0] for name in files}
    if len(roots) != 1 or f"{next(iter(roots))}/Chart.yaml" not in files:
        raise Failure("Error: Chart.yaml file is missing")
    root = next(iter(roots))
    chart = yaml.safe_load(files[f"{root}/Chart.yaml"])
    defaults = yaml.safe_load(files.get(f"{root}/values.yaml", "")) or {}
    templates = {name[len(root) + 1:]: text for name, text in sorted(files.items())
                 if name.startswith(f"{root}/templates/") and name.endswith(".yaml")}  # fmt: skip
    return chart, defaults, templates


def merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    return merged


def render(text: str, release: str, namespace: str, values: dict) -> str:
    def substitute(match: re.Match) -> str:
        expression = match.group(1)
        if expression == ".Release.Name":
            return release
        if expression == ".Release.Namespace":
            return namespace
        if re.fullmatch(r"\.Values(\.[A-Za-z0-9_]+)+", expression):
            found = values
            for part in expression.split(".")[2:]:
                if not isinstance(found, dict) or part not in found:
                    return ""  # Go templates print <no value>; helm renders missing values empty
                found = found[part]
            return found if isinstance(found, str) else json.dumps(found)
        raise Failure(f"helm stand-in: the template expression {{{{ {expression} }}}} is not modelled")

    return _TEMPLATE.sub(substitute, text)


def _release_secret(name: str, namespace: str, revision: int, status: str, chart: dict, config: dict, manifest: str) -> dict:
    release = {"name": name, "namespace": namespace, "version": revision, "info": {"status": status},
               "chart": {"metadata": chart}, "config": config, "manifest": manifest}  # fmt: skip
    data = base64.b64encode(gzip.compress(json.dumps(release).encode(), mtime=0)).decode()
    return {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
            "metadata": {"name": f"sh.helm.release.v1.{name}.v{revision}", "namespace": namespace,
                         "labels": {"name": name, "owner": "helm", "status": status, "version": str(revision)}},
            "data": {"release": base64.b64encode(data.encode()).decode()}}  # fmt: skip


def upgrade(values: dict, positional: list[str]) -> None:
    release, chart_path = positional
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", release) or len(release) > 53:
        raise Failure(f'Error: invalid release name, must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ and the length must '
                      f'not be longer than 53')  # fmt: skip
    if chart_path.startswith("oci://") or not chart_path.endswith(".tgz"):
        raise Failure("helm stand-in: only a local chart archive (.tgz) is modelled")
    for flag in ("set", "set-string", "set-file", "set-json", "set-literal", "reuse-values", "reset-then-reuse-values",
                 "atomic", "dry-run", "post-renderer", "take-ownership"):  # fmt: skip
        if values.get(flag):
            raise Failure(f"helm stand-in: --{flag} is not modelled")
    chart, defaults, templates = load_chart(chart_path)
    yaml = _yaml()
    supplied: dict = {}
    for path in values.get("values", []):
        try:
            text = Path(path).read_text()
        except OSError:
            raise Failure(f"Error: open {path}: no such file or directory") from None
        try:
            loaded = yaml.safe_load(text) or {}
        except yaml.YAMLError as error:
            raise Failure(f"Error: failed to parse {path}: error converting YAML to JSON: {str(error).splitlines()[0]}") from None
        if not isinstance(loaded, dict):
            raise Failure(f"Error: failed to parse {path}: error unmarshaling JSON: cannot unmarshal into map[string]interface {{}}")
        supplied = merge(supplied, loaded)
    api = Api(values)
    namespace = values.get("namespace") or api.namespace or "default"
    resources = {(r.group, r.version, r.kind): r for r in discover(api)}
    namespaces, secrets = resources[("", "v1", "Namespace")], resources[("", "v1", "Secret")]
    status, body = api.request("GET", namespaces.path(None, namespace))
    if status == 404:
        if not values.get("create-namespace"):
            raise Failure(f'Error: create: failed to create: namespaces "{namespace}" not found')
        _ok(*api.request("POST", namespaces.path(None), json.dumps({"apiVersion": "v1", "kind": "Namespace",
                                                                     "metadata": {"name": namespace}}).encode()))  # fmt: skip
    else:
        _ok(status, body)
    history = _ok(*api.request("GET", secrets.path(namespace) + f"?labelSelector=owner%3Dhelm%2Cname%3D{release}"))["items"]
    revisions = sorted(int(s["metadata"]["labels"]["version"]) for s in history)
    if not revisions and not values.get("install"):
        raise Failure(f'Error: UPGRADE FAILED: "{release}" has no deployed releases')
    revision = (revisions[-1] if revisions else 0) + 1
    rendered = merge(defaults, supplied)
    manifest = "\n---\n".join(render(text, release, namespace, rendered) for text in templates.values())
    objects = [doc for doc in yaml.safe_load_all(manifest) if doc]
    if not revisions:
        print(f'Release "{release}" does not exist. Installing it now.')
    secret = _release_secret(release, namespace, revision, "pending-install" if not revisions else "pending-upgrade",
                             chart, supplied, manifest)  # fmt: skip
    _ok(*api.request("POST", secrets.path(namespace), json.dumps(secret).encode()))
    deployments = []
    for obj in objects:
        group, _, version = obj["apiVersion"].rpartition("/")
        resource = resources.get((group, version, obj["kind"]))
        if resource is None:
            raise Failure(f'Error: unable to build kubernetes objects from release manifest: resource mapping not found for '
                          f'name: "{obj["metadata"]["name"]}" namespace: "" from "": no matches for kind "{obj["kind"]}" '
                          f'in version "{obj["apiVersion"]}"\nensure CRDs are installed first')  # fmt: skip
        target = namespace if resource.namespaced else None
        if resource.namespaced:
            obj["metadata"]["namespace"] = namespace
        found, _ = api.request("GET", resource.path(target, obj["metadata"]["name"]))
        if found == 404:
            _ok(*api.request("POST", resource.path(target), json.dumps(obj).encode()))
        else:
            _ok(*api.request("PUT", resource.path(target, obj["metadata"]["name"]), json.dumps(obj).encode()))
        if obj["kind"] == "Deployment":
            deployments.append(resource.path(target, obj["metadata"]["name"]))
    final = "deployed"
    if values.get("wait"):
        deadline = time.monotonic() + values.get("timeout", 300.0)
        waiting = list(deployments)
        while waiting and time.monotonic() < deadline:
            waiting = [path for path in waiting if not _ready(_ok(*api.request("GET", path)))]
            if waiting:
                time.sleep(0.5)
        if waiting:
            final = "failed"
    _ok(*api.request("PUT", secrets.path(namespace, secret["metadata"]["name"]),
                     json.dumps(_release_secret(release, namespace, revision, final, chart, supplied, manifest)).encode()))
    if final == "failed":
        raise Failure(f"Error: {'UPGRADE' if revisions else 'INSTALL'} FAILED: context deadline exceeded")
    for old in revisions:
        previous = next(s for s in history if s["metadata"]["labels"]["version"] == str(old))
        if previous["metadata"]["labels"]["status"] == "deployed":
            earlier = json.loads(gzip.decompress(base64.b64decode(base64.b64decode(previous["data"]["release"]))))
            replaced = _release_secret(release, namespace, old, "superseded", earlier["chart"]["metadata"], earlier["config"],
                                       earlier["manifest"])  # fmt: skip
            _ok(*api.request("PUT", secrets.path(namespace, previous["metadata"]["name"]), json.dumps(replaced).encode()))
    if revisions:
        print(f'Release "{release}" has been upgraded. Happy Helming!')
    print(f"NAME: {release}\nLAST DEPLOYED: {time.strftime('%a %b %d %H:%M:%S %Y')}\nNAMESPACE: {namespace}\n"
          f"STATUS: deployed\nREVISION: {revision}\nTEST SUITE: None")  # fmt: skip


def _ready(deployment: dict) -> bool:
    wanted = deployment.get("spec", {}).get("replicas", 1)
    return deployment.get("status", {}).get("readyReplicas", 0) >= wanted


HANDLERS = {"helm pull": pull, "helm upgrade": upgrade}


def main(argv: list[str], table: dict) -> int:
    root = cobra.tree(table["commands"])
    try:
        command, values, positional = cobra.resolve(root, argv)
    except NotImplementedError as missing:
        print(f"helm stand-in: `{missing}` is a helm command this stand-in does not answer", file=sys.stderr)
        return 2
    except cobra.UsageError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    try:
        HANDLERS[command.name](values, positional)
    except Failure as error:
        message = str(error)
        print(message if message.startswith(("Error", "helm stand-in")) else f"Error: {message}", file=sys.stderr)
        return 1
    return 0
