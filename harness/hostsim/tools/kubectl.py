"""kubectl stand-in: the calls the bastion makes to the cluster's Kubernetes API stand-in.

Published on the simulated dl.k8s.io as `release/<v>/bin/linux/<arch>/kubectl` with its
`kubectl.sha256` (a Python zipapp, tools/__init__.py). It accepts exactly the flags of
kubectl-flags.json for the commands it answers (parsed as cobra/pflag do) and fails on
others as kubectl does. It reads the kubeconfig (--kubeconfig, else $KUBECONFIG, else
~/.kube/config) and calls the server it names with the client credentials in it, over
plain HTTP although the URL says https (the node stand-in's API, harness/hostsim/
talos_node.py, checks the credentials the way tools/talos_formats.py describes; no TLS).
Answers today: `get --raw=<path>`. To add a command (issue 21: apply, wait, get of
objects), add its flags to kubectl-flags.json and a handler to COMMANDS using Api.
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
        if positional == ["nodes"]:
            return get_nodes(values)
        raise Failure("kubectl stand-in: only `get --raw` and `get nodes` are modelled")
    if positional:
        raise Failure("error: arguments may not be passed when --raw is specified")
    status, body = Api(values).request("GET", values["raw"])
    if not 200 <= status < 300:
        raise server_error(status, body)
    sys.stdout.write(body.decode(errors="replace"))


COMMANDS = {"kubectl get": get}


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
    try:
        COMMANDS[command.name](values, positional)
    except Failure as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover - the zipapp's __main__ calls main()
    sys.exit(main(sys.argv[1:], json.loads((Path(__file__).with_name("kubectl-flags.json")).read_text())))
