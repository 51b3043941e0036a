"""The wire between the talosctl stand-in and the Talos node stand-ins (stdlib only).

Real Talos speaks gRPC over TLS on port 50000 (mutual TLS once configured, server-only
TLS in maintenance mode). The stand-ins speak JSON over plain HTTP on the same port: a
POST to /machine/<Method> with the request as the body. A secure call carries the
talosconfig's client certificate and key in the X-Talos-Client header; an insecure
(maintenance) call carries none. X-Talos-Node names the node the endpoint should
forward the call to (apid's proxying), when it is not the endpoint itself. Errors come
back as {"error": {"code": <gRPC code name>, "message": ...}} and talosctl prints them as
gRPC does: `rpc error: code = <code> desc = <message>`.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

PORT = 50000
CONNECT_SECONDS = 5


class RpcError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(f"rpc error: code = {code} desc = {message}")
        self.code, self.message = code, message


def call(endpoint: str, method: str, request: dict, credentials: tuple[str, str] | None = None,
         node: str | None = None, timeout: float = 30) -> dict:  # fmt: skip
    headers = {"Content-Type": "application/json"}
    if credentials is not None:
        headers["X-Talos-Client"] = " ".join(credentials)
    if node is not None and node != endpoint:
        headers["X-Talos-Node"] = node
    host = f"[{endpoint}]" if ":" in endpoint else endpoint
    http = urllib.request.Request(f"http://{host}:{PORT}/machine/{method}", data=json.dumps(request).encode(),
                                  headers=headers, method="POST")  # fmt: skip
    try:
        with urllib.request.urlopen(http, timeout=timeout) as answer:
            reply = json.loads(answer.read())
    except urllib.error.HTTPError as error:
        reply = _error_body(error)
    except (urllib.error.URLError, socket.timeout, ConnectionError, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, ConnectionRefusedError):
            detail = "connect: connection refused"
        elif isinstance(reason, (socket.timeout, TimeoutError)):
            detail = "i/o timeout"
        else:
            detail = str(reason)
        raise RpcError("Unavailable", f'connection error: desc = "transport: Error while dialing: dial tcp '
                                      f'{endpoint}:{PORT}: {detail}"') from None  # fmt: skip
    if "error" in reply:
        raise RpcError(reply["error"]["code"], reply["error"]["message"])
    return reply


def _error_body(error: urllib.error.HTTPError) -> dict:
    try:
        return json.loads(error.read())
    except ValueError:
        return {"error": {"code": "Unknown", "message": f"HTTP {error.code}"}}
