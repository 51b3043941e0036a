"""talosctl stand-in: the subcommands the bastion's cluster unit runs, against the node stand-ins.

Published on the simulated GitHub as the release asset `talosctl-linux-<arch>` of each
pinned talosctl version (a Python zipapp, see tools/__init__.py). Strict where the product
could go wrong: it accepts exactly the flags the CLI reference of its release lists for
these subcommands (talosctl-flags.json, parsed as cobra/pflag do, tools/cobra.py), fails
on anything else as talosctl does (the error, a blank line, the usage; exit 1), refuses
to overwrite files without --force, and talks to the nodes over the simulated network
(tools/talos_wire.py) with the talosconfig's credentials, or none with --insecure. It
answers the subcommands: gen secrets, gen config, apply-config, bootstrap, etcd members,
etcd remove-member, get (disks, and volumestatus with `-o jsonpath={.spec.location}`,
answered from the node's applied config: talos_node.py), health (server-side),
kubeconfig, version. Another real
subcommand fails with exit 2 naming it; see tools/talos_formats.py for what it writes.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

from . import cobra, talos_formats as formats
from .talos_wire import RpcError, call

CONTROL_PLANE_PORT = 6443


class Failure(Exception):
    """What talosctl prints to stderr before exiting 1."""


# --- the client side of talosctl (pkg/talos/global) ------------------------------------


def talosconfig_path(values: dict) -> tuple[str, bool]:
    if values.get("talosconfig"):
        return values["talosconfig"], True
    if os.environ.get("TALOSCONFIG"):
        return os.environ["TALOSCONFIG"], True
    return str(Path(os.environ.get("HOME", "/root")) / ".talos" / "config"), False


def secure_client(values: dict, need_nodes: bool = True) -> tuple[tuple[str, str], list[str], list[str]]:
    """(credentials, endpoints, nodes) as WithClient resolves them."""
    path, explicit = talosconfig_path(values)
    try:
        config = formats.load_talosconfig(Path(path).read_text())
    except FileNotFoundError:
        if explicit:
            raise Failure(f'failed to open config file "{path}": open {path}: no such file or directory') from None
        config = {"context": None, "contexts": {}}
    name = values.get("context") or config["context"]
    context = config["contexts"].get(name) if name else None
    if context is None:
        raise Failure("error constructing client: failed to determine endpoints: no context selected")
    endpoints = values.get("endpoints") or context.get("endpoints", [])
    if not endpoints:
        raise Failure("error constructing client: failed to determine endpoints")
    nodes = values.get("nodes") or context.get("nodes", [])
    if need_nodes and not nodes:
        raise Failure("nodes are not set for the command: please use `--nodes` flag or configuration file to set the "
                      "nodes to run the command against")  # fmt: skip
    return (context.get("crt", ""), context.get("key", "")), endpoints, nodes


def rpc(endpoints: list[str], method: str, request: dict, credentials=None, node: str | None = None,
        timeout: float = 30) -> dict:  # fmt: skip
    """The first endpoint that answers (the client fails over between endpoints)."""
    last = None
    for endpoint in endpoints:
        try:
            return call(endpoint, method, request, credentials, node, timeout)
        except RpcError as error:
            if error.code != "Unavailable":
                raise
            last = error
    raise last


def each_node(values: dict, method: str, request: dict, what: str) -> list[dict]:
    credentials, endpoints, nodes = secure_client(values)
    replies = []
    for node in nodes:
        try:
            replies.append(rpc(endpoints, method, request, credentials, node))
        except RpcError as error:
            raise Failure(f"{what}: {error}") from None
    return replies


def maintenance_nodes(values: dict) -> list[str]:
    nodes = values.get("nodes") or []
    if not nodes:
        raise Failure("failed to determine endpoints")
    return nodes


# --- gen ---------------------------------------------------------------------------------


def _create(path: str, data: str, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(data)


def contract(version: str) -> str:
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?(?:-[0-9A-Za-z.-]+)?", version)
    if match is None:
        raise Failure(f"invalid talos-version: error parsing version {version!r}")
    return f"v{match.group(1)}.{match.group(2)}"


def gen_secrets(values: dict, positional: list[str]) -> None:
    if values.get("talos-version"):
        contract(values["talos-version"])
    for unsupported in ("from-controlplane-config", "from-kubernetes-pki"):
        if values.get(unsupported):
            raise Failure(f"talosctl stand-in: --{unsupported} is not modelled")
    output = values.get("output-file", "secrets.yaml")
    text = formats.bundle_text(formats.new_bundle())
    if output == "-":
        sys.stdout.write(text)
        return
    if not values.get("force") and os.path.exists(output):
        raise Failure(f'file "{output}" already exists, use --force to overwrite')
    _create(output, text, 0o600)


def load_patches(specs: list[str]) -> list[tuple[str, str]]:
    patches = []
    for spec in specs:
        if spec.startswith("@"):
            try:
                text = Path(spec[1:]).read_text()
            except OSError as error:
                raise Failure(f"error parsing config JSON patch: open {spec[1:]}: {error.strerror.lower()}") from None
        else:
            text = spec
        docs = formats.documents(text)
        if not docs:
            raise Failure(f"error parsing config JSON patch: {spec}: empty patch")
        for doc in docs:
            first = next(l for l in doc.splitlines() if l.strip() and not l.lstrip().startswith("#"))
            if first.lstrip().startswith(("[", "-")):
                raise Failure(f"error parsing config JSON patch: {spec}: the stand-in applies strategic merge patches only")
            if not re.match(r"^[A-Za-z0-9_$.-]+:", first):
                raise Failure(f"error parsing config JSON patch: {spec}: not a YAML mapping: {first.strip()!r}")
        patches.append((spec, text))
    return patches


def gen_config(values: dict, positional: list[str]) -> None:
    cluster, endpoint = positional
    if not endpoint.startswith("https://"):
        hint = endpoint if "://" in endpoint else f"https://{endpoint}"
        raise Failure(f"no scheme specified for the cluster endpoint URL\ntry: {hint!r}")
    if values.get("version", "v1alpha1") != "v1alpha1":
        raise Failure(f'unknown config version: "{values["version"]}"')
    types = values.get("output-types", ["controlplane", "worker", "talosconfig"])
    bad = [t for t in types if t not in ("controlplane", "worker", "talosconfig")]
    if bad:
        raise Failure("\n".join(f'invalid output type: "{t}"' for t in bad))
    output = values.get("output", "")
    if len(types) > 1 and output == "-":
        raise Failure("can't use multiple output types with stdout")
    talos_version = contract(values["talos-version"]) if values.get("talos-version") else CONTRACT
    if values.get("with-secrets"):
        try:
            bundle = formats.load_nested(Path(values["with-secrets"]).read_text())
            formats.validate_bundle(bundle)
        except (OSError, ValueError) as error:
            raise Failure(f"failed to load secrets bundle: {error}") from None
    else:
        bundle = formats.new_bundle()
    common = load_patches(values.get("config-patch", []))
    per_type = {"controlplane": common + load_patches(values.get("config-patch-control-plane", [])),
                "worker": common + load_patches(values.get("config-patch-worker", []))}  # fmt: skip
    kubernetes = values.get("kubernetes-version", KUBERNETES).removeprefix("v")
    options = {key: values[key] for key in ("install-disk", "install-image", "with-docs", "with-examples") if key in values}
    if output in ("", "-") or len(types) == 1:
        paths = {t: output or os.path.join(os.getcwd(), "talosconfig" if t == "talosconfig" else f"{t}.yaml") for t in types}
    else:
        paths = {t: os.path.join(output, "talosconfig" if t == "talosconfig" else f"{t}.yaml") for t in types}
    for kind in types:
        if kind == "talosconfig":
            data = formats.talosconfig(bundle, cluster, [])
        else:
            data = formats.machine_config(bundle, cluster, endpoint, kind, talos_version, kubernetes, per_type[kind], options)
        if paths[kind] == "-":
            sys.stdout.write(data)
            continue
        if not values.get("force") and os.path.exists(paths[kind]):
            raise Failure(f'file "{paths[kind]}" already exists, use --force to overwrite')
        os.makedirs(os.path.dirname(paths[kind]) or ".", exist_ok=True)
        _create(paths[kind], data, 0o644)
        print(f"Created {paths[kind]}", file=sys.stderr)


# --- talking to nodes --------------------------------------------------------------------


def apply_config(values: dict, positional: list[str]) -> None:
    if positional:
        raise Failure("expected no positional arguments" if positional[0] in ("config", "machineconfig")
                      else f"unknown positional argument {positional[0]}")  # fmt: skip
    if not values.get("file"):
        raise Failure("no filename supplied for configuration")
    try:
        data = Path(values["file"]).read_text()
    except OSError as error:
        raise Failure(f'failed to read configuration from "{values["file"]}": {error.strerror.lower()}') from None
    if not data:
        raise Failure("no configuration data read")
    for _, text in load_patches(values.get("config-patch", [])):
        data = data.rstrip("\n") + "\n---\n" + text
    request = {"data": data, "mode": values.get("mode", "auto"), "dry_run": values.get("dry-run", False)}
    if values.get("insecure"):
        for node in maintenance_nodes(values):
            try:
                reply = call(node, "ApplyConfiguration", request)
            except RpcError as error:
                raise Failure(f"error applying new configuration: {error}") from None
            _print_apply(reply)
        return
    for reply in each_node(values, "ApplyConfiguration", request, "error applying new configuration"):
        _print_apply(reply)


def _print_apply(reply: dict) -> None:
    for message in reply.get("messages", []):
        for warning in message.get("warnings", []):
            print(f"Warning: {warning}", file=sys.stderr)
        if message.get("mode_details"):
            print(message["mode_details"])


def bootstrap(values: dict, positional: list[str]) -> None:
    if len(values.get("nodes") or []) > 1:
        raise Failure('command "bootstrap" is not supported with multiple nodes')
    if values.get("recover-from"):
        raise Failure("talosctl stand-in: --recover-from is not modelled")
    each_node(values, "Bootstrap", {}, "error executing bootstrap")


def etcd_members(values: dict, positional: list[str]) -> None:
    replies = each_node(values, "EtcdMemberList", {"query_local": True}, "error getting members")
    rows = [["NODE", "ID", "HOSTNAME", "PEER URLS", "CLIENT URLS", "LEARNER"]]
    for reply in replies:
        for message in reply["messages"]:
            for member in message["members"]:
                rows.append([message["node"], f"{member['id']:016x}", member["hostname"], ",".join(member["peer_urls"]),
                             ",".join(member["client_urls"]), "true" if member["is_learner"] else "false"])  # fmt: skip
    print(tabulate(rows))


def tabulate(rows: list[list[str]]) -> str:
    """Go's tabwriter with padding 3, as talosctl's tables."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("".join(cell.ljust(width + 3) for cell, width in zip(row, widths)) + row[-1] for row in rows)


def etcd_remove_member(values: dict, positional: list[str]) -> None:
    try:
        member = int(positional[0], 16)
    except ValueError:
        raise Failure(f'error parsing member ID: error parsing etcd member id: strconv.ParseUint: parsing '
                      f'"{positional[0]}": invalid syntax') from None  # fmt: skip
    each_node(values, "EtcdRemoveMemberByID", {"member_id": member}, "error removing member")


def get(values: dict, positional: list[str]) -> None:
    request = {"type": positional[0], "id": positional[1] if len(positional) > 1 else None,
               "namespace": values.get("namespace")}  # fmt: skip
    output = values.get("output", "table")
    path = None
    if output.startswith("jsonpath="):
        # talosctl's `-o jsonpath=<template>`; only a plain field path such as {.spec.location} is modelled.
        template = output[len("jsonpath="):]
        match = re.fullmatch(r"\{((?:\.[A-Za-z0-9_]+)+)\}", template)
        if match is None:
            raise Failure(f"talosctl stand-in: the jsonpath template {template!r} is not modelled (only {{.a.b}})")
        output, path = "jsonpath", match.group(1).split(".")[1:]
    if output not in ("json", "yaml", "table", "jsonpath"):
        raise Failure(f"unknown output format: {output!r}")
    if values.get("insecure"):
        replies = []
        for node in maintenance_nodes(values):
            try:
                replies.append(call(node, "ResourceList", request))
            except RpcError as error:
                raise Failure(str(error)) from None
    else:
        replies = each_node(values, "ResourceList", request, "error listing resources")
    for reply in replies:
        for resource in reply["messages"]:
            if path is not None:
                found = resource
                for part in path:
                    found = found.get(part) if isinstance(found, dict) else None
                print("" if found is None else found if isinstance(found, str) else json.dumps(found))
            elif output == "json":
                print(json.dumps(resource, indent=4))
            else:
                print(f"{resource['node']}   {resource['metadata']['namespace']}   {resource['metadata']['type']}   "
                      f"{resource['metadata']['id']}   {resource['metadata']['version']}")  # fmt: skip


def kubeconfig(values: dict, positional: list[str]) -> None:
    if len(values.get("nodes") or []) > 1:
        raise Failure('command "kubeconfig" is not supported with multiple nodes')
    merge = values.get("merge", True)
    path = positional[0] if positional else (str(Path.home() / ".kube" / "config") if merge else os.getcwd())
    if os.path.isdir(path):
        path = os.path.join(path, "kubeconfig")
    exists = os.path.exists(path)
    if exists and not (values.get("force") or merge):
        raise Failure(f'kubeconfig file already exists, use --force to overwrite: "{path}"')
    if exists and merge:
        raise Failure("talosctl stand-in: merging into an existing kubeconfig is not modelled")
    [reply] = each_node(values, "Kubeconfig", {}, "error copying")
    data = reply["messages"][0]["kubeconfig"]
    if path == "-":
        sys.stdout.write(data)
        return
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    _create(path, data, 0o600)


def version(values: dict, positional: list[str]) -> None:
    print("Client:")
    print(f"\tTag:         {VERSION}" if not values.get("short") else f"Talos {VERSION}")
    if values.get("client"):
        return
    print("Server:")
    if values.get("insecure"):
        replies = []
        for node in maintenance_nodes(values):
            try:
                replies.append(call(node, "Version", {}))
            except RpcError as error:
                raise Failure(f"error getting version: {error}") from None
    else:
        replies = each_node(values, "Version", {}, "error getting version")
    for reply in replies:
        for message in reply["messages"]:
            print(f"\tNODE:        {message['node']}")
            print(f"\tTag:         {message['tag']}")
            print("\tEnabled:     RBAC")


def health(values: dict, positional: list[str]) -> None:
    if values.get("run-e2e") or values.get("server") is False:
        raise Failure("talosctl stand-in: only the server-side health check is modelled")
    credentials, endpoints, nodes = secure_client(values)
    if len(nodes) > 1:
        raise Failure('command "health" is not supported with multiple nodes')
    control_planes = list(values.get("control-plane-nodes", [])) + ([values["init-node"]] if values.get("init-node") else [])
    request = {"control_plane_nodes": control_planes, "worker_nodes": values.get("worker-nodes", []),
               "force_endpoint": values.get("k8s-endpoint")}  # fmt: skip
    deadline = time.monotonic() + values.get("wait-timeout", 1200.0)
    printed: dict[str, str] = {}
    while True:
        try:
            checks = rpc(endpoints, "ClusterHealthCheck", request, credentials, nodes[0], timeout=20)["checks"]
        except RpcError as error:
            raise Failure(str(error)) from None
        for check in checks:
            line = f"waiting for {check['name']}: {check['detail'] if not check['ok'] else 'OK'}"
            if printed.get(check["name"]) != line:
                print(line, file=sys.stderr)
                printed[check["name"]] = line
            if not check["ok"]:
                break
        failing = [c for c in checks if not c["ok"]]
        if not failing:
            return
        if time.monotonic() > deadline:
            raise Failure(f"healthcheck error: rpc error: code = DeadlineExceeded desc = waiting for {failing[0]['name']}: "
                          f"{failing[0]['detail']}")  # fmt: skip
        time.sleep(1)


HANDLERS = {
    "talosctl gen secrets": gen_secrets, "talosctl gen config": gen_config, "talosctl apply-config": apply_config,
    "talosctl bootstrap": bootstrap, "talosctl etcd members": etcd_members, "talosctl etcd remove-member": etcd_remove_member,
    "talosctl get": get, "talosctl kubeconfig": kubeconfig, "talosctl version": version, "talosctl health": health,
}  # fmt: skip
# Set by the build (tools/__init__.py) for the release published.
VERSION = "v0.0.0"
CONTRACT = "v0.0"
KUBERNETES = "1.0.0"


def main(argv: list[str], table: dict) -> int:
    root = cobra.tree(table["commands"])
    try:
        command, values, positional = cobra.resolve(root, argv)
    except NotImplementedError as missing:
        print(f"talosctl stand-in: `{missing}` is a talosctl command this stand-in does not answer", file=sys.stderr)
        return 2
    except cobra.UsageError as error:
        print(error, file=sys.stderr)
        print(f"\nUsage:\n  {root.name} [command] [flags]", file=sys.stderr)
        return 1
    try:
        HANDLERS[command.name](values, positional)
    except Failure as error:
        print(error, file=sys.stderr)
        return 1
    return 0
