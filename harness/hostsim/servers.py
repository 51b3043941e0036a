"""The simulated world's servers, each started inside its own network namespace.

    python -m harness.hostsim.servers https DIR CERT KEY LOG   # GitHub, GHCR and AWS APIs
    python -m harness.hostsim.servers imds ADDRESS ROLE         # instance metadata (IMDSv2)

`https` serves DIR on port 443 of every address of its namespace (IPv4 and IPv6) and
logs each request's client address, so tests see whose address reached the internet.
`imds` answers the IMDSv2 token and role-credentials requests the AWS CLI makes.
"""

from __future__ import annotations

import http.server
import json
import socket
import ssl
import sys
import uuid
from functools import partial
from pathlib import Path


class _DualStackServer(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


class _Files(http.server.SimpleHTTPRequestHandler):
    log_path: Path

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        client = self.client_address[0].removeprefix("::ffff:")
        with self.log_path.open("a") as log:
            log.write(f"{client} {self.headers.get('Host', '-')} {self.requestline}\n")


def serve_https(directory: str, cert: str, key: str, log: str) -> None:
    handler = type("Files", (_Files,), {"log_path": Path(log)})
    server = _DualStackServer(("::", 443), partial(handler, directory=directory))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


class _Metadata(http.server.BaseHTTPRequestHandler):
    role = "sandbox-role"
    tokens: set[str] = set()

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
        prefix = "/latest/meta-data/iam/security-credentials/"
        if self.path == prefix:
            return self._reply(200, self.role)
        if self.path == prefix + self.role:
            credentials = {"Code": "Success", "AccessKeyId": "ASIASIMULATED", "SecretAccessKey": "simulated",
                           "Token": "simulated", "Expiration": "2099-01-01T00:00:00Z"}  # fmt: skip
            return self._reply(200, json.dumps(credentials))
        self._reply(404, "")


def serve_imds(address: str, role: str) -> None:
    handler = type("Metadata", (_Metadata,), {"role": role, "tokens": set()})
    http.server.ThreadingHTTPServer((address, 80), handler).serve_forever()


if __name__ == "__main__":
    kind, *arguments = sys.argv[1:]
    {"https": serve_https, "imds": serve_imds}[kind](*arguments)
