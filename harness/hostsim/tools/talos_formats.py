"""The documents the talosctl stand-in writes and the Talos node stand-in reads: a secrets
bundle, machine configs, a talosconfig, a kubeconfig. Stdlib only (it runs in the bastion).

- **Secrets bundle**: the shape of `talosctl gen secrets` (cluster id and secret, bootstrap
  and trustd tokens, the etcd, Kubernetes, aggregator, service-account and Talos API CAs,
  each certificate and key base64 of a PEM block), with random bytes where real PEM
  blocks hold DER. About as large as a real one, so size limits are met as they would be.
- **Machine config**: one generated document (JSON, which is YAML) with what Talos reads
  from the v1alpha1 document here (machine type, cluster name, id, endpoint, the CAs the
  machine type gets, the versions) and a `talosctlStandIn` block; then every patch, in
  the order given, as documents of its own. The stand-in does not merge patches into the
  generated document; it carries them, and the node reads from them what it checks (the
  hostname, etcd settings on a worker).
- **Credentials**: a talosconfig's client key is derived from the bundle's Talos API CA
  key, and its "certificate" is an HMAC of that key keyed with the CA certificate, which
  every node's config carries; a node accepts a client whose certificate it can
  recompute. The kubeconfig is the same for the Kubernetes CA. This tells bundles apart,
  as mutual TLS does; it is not cryptography, and the wire is plain HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets as random

MARKER = "talosctlStandIn"
CA_NAMES = ("etcd", "k8s", "k8saggregator", "os")


def _b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def _pem(kind: str, body: bytes) -> str:
    text = _b64(body)
    lines = [text[i:i + 64] for i in range(0, len(text), 64)]
    return _b64(f"-----BEGIN {kind}-----\n" + "\n".join(lines) + f"\n-----END {kind}-----\n")


def pem_body(value: str) -> str:
    """The base64 text inside a bundle value's PEM block (what a decoded copy would show)."""
    lines = base64.b64decode(value).decode().splitlines()
    return "".join(line for line in lines if not line.startswith("-----"))


def _token(size: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(random.choice(alphabet) for _ in range(size))


# --- the secrets bundle -----------------------------------------------------------------


def new_bundle() -> dict:
    certs = {name: {"crt": _pem("CERTIFICATE", random.token_bytes(380)),
                    "key": _pem("EC PRIVATE KEY" if name != "os" else "ED25519 PRIVATE KEY", random.token_bytes(121))}
             for name in CA_NAMES}  # fmt: skip
    certs["k8sserviceaccount"] = {"key": _pem("EC PRIVATE KEY", random.token_bytes(121))}
    return {
        "cluster": {"id": _b64(random.token_bytes(32)), "secret": _b64(random.token_bytes(32))},
        "secrets": {"bootstraptoken": f"{_token(6)}.{_token(16)}", "secretboxencryptionsecret": _b64(random.token_bytes(32))},
        "trustdinfo": {"token": f"{_token(6)}.{_token(16)}"},
        "certs": certs,
    }


def dump_nested(document: dict, indent: int = 0) -> str:
    """A mapping of mappings and scalars as block YAML with 4-space indentation (talosctl's style)."""
    out = []
    for key, value in document.items():
        if isinstance(value, dict):
            out.append(" " * indent + f"{key}:")
            out.append(dump_nested(value, indent + 4))
        else:
            out.append(" " * indent + f"{key}: {value}")
    return "\n".join(line for line in out if line)


def load_nested(text: str) -> dict:
    """The inverse of dump_nested (and of a real bundle's layout): indentation-nested scalars."""
    root: dict = {}
    stack = [(-1, root)]
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        key, sep, value = raw.strip().partition(":")
        if not sep:
            raise ValueError(f"not a mapping line: {raw!r}")
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        value = value.strip()
        if value:
            parent[key] = value.strip("'\"")
        else:
            parent[key] = {}
            stack.append((indent, parent[key]))
    return root


def bundle_text(bundle: dict) -> str:
    return dump_nested(bundle) + "\n"


def validate_bundle(bundle: dict) -> None:
    """What `secretsBundle.Validate()` refuses: a part missing."""
    for path in ("cluster.id", "cluster.secret", "secrets.bootstraptoken", "trustdinfo.token", "certs.os.key",
                 "certs.os.crt", "certs.k8s.key", "certs.etcd.key", "certs.k8sserviceaccount.key"):  # fmt: skip
        node = bundle
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if not node:
            raise ValueError(f"{path} is required")


# --- credentials ------------------------------------------------------------------------


def client_key(ca_key: str, role: str) -> str:
    return _pem("ED25519 PRIVATE KEY", hmac.new(ca_key.encode(), f"client:{role}".encode(), hashlib.sha256).digest())


def client_certificate(ca_crt: str, key: str) -> str:
    return _pem("CERTIFICATE", hmac.new(ca_crt.encode(), key.encode(), hashlib.sha256).digest())


def accepts(ca_crt: str, crt: str, key: str) -> bool:
    return bool(crt and key) and hmac.compare_digest(client_certificate(ca_crt, key), crt)


def talosconfig(bundle: dict, cluster: str, endpoints: list[str]) -> str:
    os_ca = bundle["certs"]["os"]
    key = client_key(os_ca["key"], "os:admin")
    lines = [f"context: {cluster}", "contexts:", f"    {cluster}:", "        endpoints:" + ("" if endpoints else " []")]
    lines += [f"            - {endpoint}" for endpoint in endpoints]
    lines += [f"        ca: {os_ca['crt']}", f"        crt: {client_certificate(os_ca['crt'], key)}", f"        key: {key}"]
    return "\n".join(lines) + "\n"


def load_talosconfig(text: str) -> dict:
    """{"context": name, "contexts": {name: {"endpoints": [...], "nodes": [...], "ca", "crt", "key"}}}."""
    found: dict = {"context": None, "contexts": {}}
    context = listing = None
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        indent, line = len(raw) - len(raw.lstrip(" ")), raw.strip()
        if indent == 0 and line.startswith("context:"):
            found["context"] = line.split(":", 1)[1].strip() or None
        elif indent == 4 and line.endswith(":"):
            context = found["contexts"].setdefault(line[:-1], {"endpoints": [], "nodes": []})
        elif context is not None and line.startswith("- ") and listing:
            context[listing].append(line[2:].strip())
        elif context is not None and ":" in line:
            key, value = (part.strip() for part in line.split(":", 1))
            listing = key if key in ("endpoints", "nodes") and not value else None
            if key in ("endpoints", "nodes"):
                context[key] = [] if value in ("", "[]") else [v.strip() for v in value.strip("[]").split(",")]
            else:
                context[key] = value
    return found


def kubeconfig(config: dict) -> str:
    """The admin kubeconfig a control plane hands out (`talosctl kubeconfig`)."""
    cluster = config["cluster"]
    name, k8s = cluster["clusterName"], cluster["ca"]
    key = client_key(k8s["key"], "system:masters")
    return "\n".join([
        "apiVersion: v1", "kind: Config", "clusters:",
        f"- name: {name}", "  cluster:", f"    server: {cluster['controlPlane']['endpoint']}",
        f"    certificate-authority-data: {k8s['crt']}",
        "users:", f"- name: admin@{name}", "  user:",
        f"    client-certificate-data: {client_certificate(k8s['crt'], key)}", f"    client-key-data: {key}",
        "contexts:", f"- context:", f"    cluster: {name}", "    namespace: default", f"    user: admin@{name}",
        f"  name: admin@{name}", f"current-context: admin@{name}", "",
    ])  # fmt: skip


def load_kubeconfig(text: str) -> dict:
    """The current context's server and client credentials (the one cluster and user talosctl writes)."""
    found = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(":")
        if key in ("server", "client-certificate-data", "client-key-data", "certificate-authority-data"):
            found[key] = value.strip()
    return found


# --- machine configs --------------------------------------------------------------------


def machine_config(bundle: dict, cluster: str, endpoint: str, machine_type: str, talos_version: str,
                   kubernetes_version: str, patches: list[tuple[str, str]], options: dict) -> str:  # fmt: skip
    """The generated document and the patches (source, text) after it."""
    certs, control_plane = bundle["certs"], machine_type == "controlplane"

    def ca(name: str) -> dict:
        return {"crt": certs[name]["crt"], "key": certs[name]["key"] if control_plane else ""}

    generated = {
        "version": "v1alpha1",
        "machine": {"type": machine_type, "token": bundle["trustdinfo"]["token"], "ca": ca("os"),
                    "install": {"disk": options.get("install-disk", "/dev/sda"),
                                "image": options.get("install-image", "ghcr.io/siderolabs/installer:latest")},
                    "kubelet": {"image": f"ghcr.io/siderolabs/kubelet:v{kubernetes_version}"}},
        "cluster": {"id": bundle["cluster"]["id"], "secret": bundle["cluster"]["secret"], "clusterName": cluster,
                    "controlPlane": {"endpoint": endpoint}, "token": bundle["secrets"]["bootstraptoken"],
                    "ca": ca("k8s")},
        MARKER: {"talosVersion": talos_version, "kubernetesVersion": kubernetes_version,
                 "patches": [{"source": source, "sha256": hashlib.sha256(text.encode()).hexdigest()} for source, text in patches],
                 "withDocs": options.get("with-docs", True), "withExamples": options.get("with-examples", True)},
    }  # fmt: skip
    if control_plane:
        generated["cluster"].update(etcd={"ca": ca("etcd")}, aggregatorCA=ca("k8saggregator"),
                                    serviceAccount={"key": certs["k8sserviceaccount"]["key"]})  # fmt: skip
    parts = [json.dumps(generated, indent=2)]
    for source, text in patches:
        parts.append(f"# patch {source}\n" + text.strip("\n"))
    return "\n---\n".join(parts) + "\n"


def documents(text: str) -> list[str]:
    """A multi-document YAML stream's documents (split on `---` lines), empty ones dropped."""
    found, current = [], []
    for line in text.splitlines():
        if line.rstrip() == "---":
            found.append("\n".join(current))
            current = []
        else:
            current.append(line)
    found.append("\n".join(current))
    return [doc for doc in found if any(l.strip() and not l.lstrip().startswith("#") for l in doc.splitlines())]


def parse_machine_config(text: str) -> tuple[dict, list[str]]:
    """(the generated document, the patch documents); ValueError if the stand-in did not write it."""
    docs = documents(text)
    try:
        generated = json.loads(docs[0]) if docs else None
    except ValueError:
        generated = None
    if not isinstance(generated, dict) or MARKER not in generated:
        raise ValueError("not a machine config of the talosctl stand-in for this simulation")
    return generated, docs[1:]


def _lookup(document: str, path: list[str]) -> tuple[bool, str | None]:
    """(found, scalar) for a key path of a block-YAML document (comments and quotes ignored)."""
    depth, indents = 0, []
    for raw in document.splitlines():
        line = raw.split(" #", 1)[0].rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        while indents and indent <= indents[-1]:
            indents.pop()
            depth -= 1
        key, sep, value = line.strip().partition(":")
        if not sep or depth >= len(path) or key.strip("'\"") != path[depth]:
            continue
        if depth == len(path) - 1:
            return True, value.strip().strip("'\"") or None
        indents.append(indent)
        depth += 1
    return False, None


def scalar(document: str, path: list[str]) -> str | None:
    return _lookup(document, path)[1]


def has_key(document: str, path: list[str]) -> bool:
    return _lookup(document, path)[0]


def hostnames(patch_documents: list[str]) -> list[str]:
    """Every hostname the documents set: HostnameConfig (v1.12+) or machine.network.hostname."""
    found = []
    for doc in patch_documents:
        if scalar(doc, ["kind"]) == "HostnameConfig":
            found.append(scalar(doc, ["hostname"]))
        elif (name := scalar(doc, ["machine", "network", "hostname"])) is not None:
            found.append(name)
    return [name for name in found if name]
