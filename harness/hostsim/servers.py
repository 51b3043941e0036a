"""The simulated world's servers, each started inside its own network namespace.

    python -m harness.hostsim.servers https DIR CERT KEY LOG ACCOUNT   # GitHub, GHCR and AWS APIs
    python -m harness.hostsim.servers imds ADDRESS ACCOUNT              # instance metadata (IMDSv2)

`https` serves DIR on port 443 of every address of its namespace (IPv4 and IPv6) and
logs each request's client address, so tests see whose address reached the internet;
a GET of a download that redirects in reality redirects here too (internet.py REDIRECTS);
a POST to an AWS endpoint is an API call (harness/hostsim/aws_api.py, state in ACCOUNT),
each one logged with its outcome to ACCOUNT's `.calls.jsonl` (what tests count).
`imds` answers, with IMDSv2 only, what the instance at the client's address reads: its
instance-id, placement, MAC and its role's name and credentials.
"""

from __future__ import annotations

import http.server
import json
import socket
import ssl
import sys
import threading
import uuid
from functools import partial
from pathlib import Path

from . import aws_api
from .internet import REDIRECTS


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Files(http.server.SimpleHTTPRequestHandler):
    log_path: Path
    account: Path

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        host = self.headers.get("Host", "").split(":")[0]
        prefix, target = REDIRECTS.get(host, (None, None))
        if prefix is not None and self.path.startswith(prefix):
            self.send_response(302)
            self.send_header("Location", f"https://{target}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        host = self.headers.get("Host", "")
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not (host.endswith(".amazonaws.com") or host.endswith(".api.aws")):
            return self.send_error(405)
        request = json.loads(body)
        try:
            with aws_api.account(self.account) as state:
                status, reply = 200, aws_api.answer(state, request)
        except aws_api.ApiError as error:
            code, _, message = str(error).partition(": ")
            status, reply = 400, {"__type": code, "message": message or code}
        call = {"operation": f"{request.get('service')} {request.get('operation')}", "client": self.client_address[0],
                "name": request.get("parameters", {}).get("name"), "error": reply.get("__type") if status != 200 else None}
        with open(f"{self.account}.calls.jsonl", "a") as calls:
            calls.write(json.dumps(call) + "\n")
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        client = self.client_address[0].removeprefix("::ffff:")
        with self.log_path.open("a") as log:
            log.write(f"{client} {self.headers.get('Host', '-')} {self.requestline}\n")


def serve_https(directory: str, cert: str, key: str, log: str, account: str, *addresses: str) -> None:
    """On port 443 of each address given (the upstream registry has its own address's 443)."""
    handler = type("Files", (_Files,), {"log_path": Path(log), "account": Path(account)})
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    servers = []
    for address in addresses:
        server = (_Server6 if ":" in address else _Server)((address, 443), partial(handler, directory=directory))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        servers.append(server)
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    servers[0].serve_forever()


class _Metadata(http.server.BaseHTTPRequestHandler):
    tokens: set[str] = set()
    account: Path

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass

    def _reply(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
        if self.path != "/latest/api/token" or "X-aws-ec2-metadata-token-ttl-seconds" not in self.headers:
            return self._reply(400, "")
        token = uuid.uuid4().hex
        self.tokens.add(token)
        self._reply(200, token)

    def do_GET(self) -> None:  # noqa: N802
        if self.headers.get("X-aws-ec2-metadata-token") not in self.tokens:
            return self._reply(401, "")  # IMDSv2 only, as the launch template requires
        with aws_api.account(self.account) as state:
            instances = [i for i, found in state.get("instances", {}).items() if found["ip"] == self.client_address[0]]
            instance = {"id": instances[0], **state["instances"][instances[0]]} if instances else None
        if instance is None:
            return self._reply(404, "")
        facts = {
            "/latest/meta-data/instance-id": instance["id"],
            "/latest/meta-data/placement/availability-zone": instance["az"],
            "/latest/meta-data/placement/region": instance["az"][:-1],
            "/latest/meta-data/mac": instance["mac"],
        }
        if self.path in facts:
            return self._reply(200, facts[self.path])
        prefix = "/latest/meta-data/iam/security-credentials/"
        role = instance.get("role") or ""
        if self.path == prefix and role:
            return self._reply(200, role)
        if self.path == prefix + role and role:
            credentials = {"Code": "Success", "AccessKeyId": aws_api.access_key(instance["id"]), "SecretAccessKey": "simulated",
                           "Token": "simulated", "Expiration": "2099-01-01T00:00:00Z"}  # fmt: skip
            return self._reply(200, json.dumps(credentials))
        self._reply(404, "")


def serve_imds(address: str, account: str) -> None:
    handler = type("Metadata", (_Metadata,), {"tokens": set(), "account": Path(account)})
    http.server.ThreadingHTTPServer((address, 80), handler).serve_forever()


if __name__ == "__main__":
    kind, *arguments = sys.argv[1:]
    {"https": serve_https, "imds": serve_imds}[kind](*arguments)
