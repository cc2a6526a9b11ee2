"""Runs ``mredis serve`` as a user does, in a subprocess with its own data dir and ports.

The server listens on ports the OS picks; the readiness line it prints says which. Each
server gets its own /24 of loopback addresses for Redis hosts, so servers of parallel
test processes never share an address.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import requests

if TYPE_CHECKING:
    import yandexcloud

T = TypeVar("T")
READY = re.compile(r"serving REST on (http://\S+) and gRPC\+TLS on (\S+) \(CA (\S+)\)")
_counter = itertools.count()


def host_network() -> str:
    """A loopback /24 for one server: 127.<second>.<n>.0/24, where this test process holds
    ``second`` for its lifetime (``_own_second``), so that test processes going on at once,
    of one run or of several, never share addresses (the product kills what it finds on its
    addresses)."""
    global _second
    if _second is None:
        _second = _own_second()
    return f"127.{_second}.{next(_counter) % 250 + 1}.0/24"


_second: int | None = None
_second_lock: IO[bytes] | None = None


# The second octets test servers may take: not the product's default 127.20, nor bench/'s
# 127.25-29.
_SECONDS = list(range(30, 130))


def _own_second() -> int:
    """The first of ``_SECONDS`` whose lock file this process can hold (flock, released when
    the process exits); an xdist worker starts its search at its own number."""
    global _second_lock
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    start = int(worker[2:]) if worker[2:].isdigit() else 0
    for offset in range(len(_SECONDS)):
        second = _SECONDS[(start + offset) % len(_SECONDS)]
        handle = open(f"/tmp/mredis-test-net-127.{second}.lock", "wb")  # noqa: SIM115 - held for life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        _second_lock = handle
        return second
    raise RuntimeError("every loopback network of 127.30-127.129 is held by another test process")


def json_object(response: requests.Response) -> dict[str, Any]:
    """The response's body, a JSON object."""
    body = response.json()
    assert isinstance(body, dict), body
    return body


@dataclass
class RunningServer:
    process: subprocess.Popen[str]
    data_dir: Path
    rest_url: str
    grpc_addr: str
    ca_pem: bytes
    admin_token: str
    network: str = ""
    output: list[str] = field(default_factory=list)

    def rest(self, method: str, path: str, token: str | None = "admin", **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token == "admin":
            token = self.admin_token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.rest_url + path, headers=headers, timeout=60, **kwargs)

    def sdk(self, token: str | None = "admin") -> yandexcloud.SDK:
        import yandexcloud

        return yandexcloud.SDK(
            iam_token=self.admin_token if token == "admin" else token,
            endpoint=self.grpc_addr,
            root_certificates=self.ca_pem,
        )

    def log(self) -> str:
        return "".join(self.output)


def write_tokens(data_dir: Path, tokens: list[dict[str, Any]]) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "tokens.json").write_text(json.dumps({"tokens": tokens}))


@contextmanager
def running_server(data_dir: Path, *extra_args: str, env: dict[str, str] | None = None) -> Iterator[RunningServer]:
    command = [
        sys.executable,
        "-m",
        "managed_redis",
        "serve",
        "--data-dir",
        str(data_dir),
        "--rest-addr",
        "127.0.0.1:0",
        "--grpc-addr",
        "127.0.0.1:0",
        *extra_args,
    ]
    environment = {**os.environ, **(env or {})}
    environment.setdefault("MREDIS_HOST_NETWORK", host_network())
    # Test servers run many small clusters whose presets promise far more memory than they use;
    # admission itself is tested with a small machine set explicitly (tests/e2e/test_capacity.py).
    environment.setdefault("MREDIS_MEMORY_OVERCOMMIT", "1000")
    # The clusters of a suite run at 22:00 UTC are inside the default backup window: a server's
    # own scheduler would back them up and change the backup lists tests compare. Automatic
    # backups are tested on a clock the test drives (tests/integration/test_automatic_backups.py).
    environment.setdefault("MREDIS_SCHEDULER_PERIOD_S", "86400")
    # A cluster whose request names no version runs this one (TEST_VERSION=8.1-valkey runs the
    # suite's clusters on Valkey).
    environment.setdefault("MREDIS_DEFAULT_VERSION", os.environ.get("TEST_VERSION", "7.0"))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment)
    output: list[str] = []
    ready = threading.Event()
    found: dict[str, str] = {}

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            match = READY.search(line)
            if match and not ready.is_set():
                found.update(rest=match.group(1), grpc=match.group(2), ca=match.group(3))
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        if not ready.wait(60) or not found:
            raise RuntimeError("mredis serve did not become ready:\n" + "".join(output))
        token = environment.get("MREDIS_ADMIN_TOKEN") or (data_dir / "admin-token").read_text().strip()
        yield RunningServer(
            process=process,
            data_dir=data_dir,
            rest_url=found["rest"],
            grpc_addr=found["grpc"],
            ca_pem=Path(found["ca"]).read_bytes(),
            admin_token=token,
            network=environment["MREDIS_HOST_NETWORK"],
            output=output,
        )
    finally:
        stop(process)


def stop(process: subprocess.Popen[str], timeout_s: float = 30) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until(predicate: Callable[..., T], timeout_s: float = 30, interval_s: float = 0.1, message: str = "") -> T:
    """The first truthy value ``predicate()`` returns, asked every ``interval_s``; AssertionError
    with ``message`` if none came within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met within {timeout_s} s")
        time.sleep(interval_s)
