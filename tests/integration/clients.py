"""Thin clients for the real APIs the integration tests check: Vault's HTTP API and a kubectl port-forward.

hvac is not a dependency, so Vault is spoken to with urllib; every path comes from the program's Layout.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Response:
    """An HTTP status and the decoded JSON body (``{}`` when there is none)."""

    status: int
    body: dict[str, Any]


def _call(request: urllib.request.Request, timeout: float, context: Any = None) -> Response:
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as reply:
            raw = reply.read()
            return Response(reply.status, json.loads(raw) if raw else {})
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            body = {"raw": raw.decode(errors="replace")}
        return Response(error.code, body)


@dataclass(frozen=True)
class VaultApi:
    """Vault's HTTP API at ``address`` with ``token`` (the dev server's root token), verified against ``ca_file``."""

    address: str
    token: str
    ca_file: str
    """The laptop Vault's CA (``vault.tls.caCertFile``, written by dev-up): every request verifies Vault with it."""

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Response:
        """``<method> /v1/<path>`` with the token; JSON in, JSON out."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.address.rstrip('/')}/v1/{path.lstrip('/')}",
            data=data,
            method=method,
            headers={"X-Vault-Token": self.token, "Content-Type": "application/json"},
        )
        return _call(request, timeout=30, context=ssl.create_default_context(cafile=self.ca_file))

    def read(self, path: str) -> Response:
        """GET a Vault path."""
        return self.request("GET", path)

    def write(self, path: str, body: dict[str, Any]) -> Response:
        """POST to a Vault path."""
        return self.request("POST", path, body)


def https_get(url: str, headers: dict[str, str], context: Any) -> Response:
    """GET over TLS with a caller-built ``ssl.SSLContext`` (the program's own CA chain)."""
    return _call(urllib.request.Request(url, headers=headers, method="GET"), timeout=30, context=context)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def port_forward(context: str, namespace: str, service: str, remote_port: int) -> Iterator[int]:
    """``kubectl port-forward service/<service>`` to a free local port for the duration; yields the port."""
    local_port = free_port()
    process = subprocess.Popen(
        [
            "kubectl",
            "--context",
            context,
            "--namespace",
            namespace,
            "port-forward",
            "--address",
            "127.0.0.1",
            f"service/{service}",
            f"{local_port}:{remote_port}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                raise RuntimeError(f"kubectl port-forward to {namespace}/{service} exited: {output}")
            try:
                with socket.create_connection(("127.0.0.1", local_port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"port-forward to {namespace}/{service} did not open in 30 s") from None
                time.sleep(0.5)
        yield local_port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
