"""HTTP/1.1 requests written byte by byte, for requests no client library would send."""

from __future__ import annotations

import contextlib
import http.client
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RawReply:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes
    complete: bool = True  # False: the body was still coming after body_timeout_s


def send_raw(base_url: str, data: bytes, timeout_s: float = 30, body_timeout_s: float | None = None) -> RawReply:
    """Send ``data`` as it is to the server at ``base_url`` and read one reply.

    With ``body_timeout_s``, a body still coming after that long (a stream that follows) is
    left unread: the reply then has ``complete`` False and an empty body.
    """
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout_s) as sock:
        # The server may answer and close before taking it all: its answer is still there to read.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        response = http.client.HTTPResponse(sock)
        response.begin()
        headers = {k.lower(): v for k, v in response.getheaders()}
        if body_timeout_s is not None:
            sock.settimeout(body_timeout_s)
        try:
            return RawReply(response.status, headers, response.read())
        except TimeoutError:
            return RawReply(response.status, headers, b"", complete=False)


def request_bytes(
    method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b"", host: str = "api"
) -> bytes:
    """An HTTP/1.1 request as bytes; ``target`` and header values are sent as given (latin-1)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + body
