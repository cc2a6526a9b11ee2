"""HTTP/1.1 requests written byte by byte, for requests no client library would send."""

from __future__ import annotations

import http.client
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RawReply:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes


def send_raw(base_url: str, data: bytes, timeout_s: float = 30) -> RawReply:
    """Send ``data`` as it is to the server at ``base_url`` and read one reply."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout_s) as sock:
        sock.sendall(data)
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
        return RawReply(response.status, {k.lower(): v for k, v in response.getheaders()}, body)


def request_bytes(
    method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b"", host: str = "api"
) -> bytes:
    """An HTTP/1.1 request as bytes; ``target`` and header values are sent as given (latin-1)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + body
