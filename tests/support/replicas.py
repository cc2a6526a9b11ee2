"""Several control-plane processes on one database, as an operator runs them: ``mredis serve``
replicas and ``mredis worker`` processes sharing a data dir (the local engine's hosts) and a
PostgreSQL store, each of which a test may SIGKILL and start again.

Every life of every process keeps its output (``Replica.lives``), so a test can read what a
killed process said before it died.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.support.server import READY, stop

SERVE, WORKER = "serve", "worker"


@dataclass
class Life:
    """One run of a process: its output as it came, and the REST address it served."""

    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    rest_url: str | None = None
    ready: threading.Event = field(default_factory=threading.Event)

    def text(self) -> str:
        return "".join(self.output)


@dataclass
class Replica:
    role: str  # SERVE or WORKER
    index: int
    lives: list[Life] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.role}-{self.index}"

    @property
    def current(self) -> Life:
        return self.lives[-1]

    @property
    def alive(self) -> bool:
        return bool(self.lives) and self.current.process.poll() is None

    @property
    def rest_url(self) -> str | None:
        """The REST address of the running serve; None for a worker or a dead serve."""
        return self.current.rest_url if self.alive and self.current.ready.is_set() else None

    def text(self) -> str:
        """What every life of this process said, in order."""
        return "".join(life.text() for life in self.lives)


class ControlPlane:
    """``serves`` serve and ``workers`` worker processes on ``database_url`` and ``data_dir``."""

    def __init__(
        self,
        data_dir: Path,
        database_url: str,
        env: dict[str, str],
        serves: int,
        workers: int,
        module: str = "managed_redis",
    ) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.env = {**os.environ, **env}
        self.module = module  # what ``python -m`` runs: the product, or bench/'s stubbed one
        self.replicas = [Replica(SERVE, i) for i in range(serves)] + [Replica(WORKER, i) for i in range(workers)]
        self._lock = threading.Lock()

    @property
    def serves(self) -> list[Replica]:
        return [r for r in self.replicas if r.role == SERVE]

    def start(self, replica: Replica) -> Life:
        """Start a new life of ``replica`` (it must not be running); returns without waiting."""
        assert not replica.alive, f"{replica.name} is running"
        command = [sys.executable, "-m", self.module, replica.role, "--data-dir", str(self.data_dir)]
        command += ["--database-url", self.database_url]
        if replica.role == SERVE:
            command += ["--rest-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env)
        life = Life(process)
        with self._lock:
            replica.lives.append(life)
        threading.Thread(target=_pump, args=(replica, life), daemon=True).start()
        return life

    def kill(self, replica: Replica) -> None:
        """SIGKILL ``replica``'s running life, as a crash would, and reap it."""
        process = replica.current.process
        process.send_signal(signal.SIGKILL)
        process.wait(30)

    def all_running(self, timeout_s: float = 90) -> None:
        """Start every replica that is down, and wait until each is ready."""
        for replica in self.replicas:
            if not replica.alive:
                self.start(replica)
        for replica in self.replicas:
            life = replica.current
            if not life.ready.wait(timeout_s) or (replica.role == SERVE and replica.rest_url is None):
                raise RuntimeError(f"{replica.name} is not running:\n{life.text()}")

    def rest_urls(self) -> list[str]:
        return [url for url in (r.rest_url for r in self.serves) if url]

    def stop_all(self) -> None:
        """SIGTERM every running process and wait for it (SIGKILL after 30 s)."""
        for replica in self.replicas:
            if replica.lives:
                stop(replica.current.process)

    def all_text(self) -> str:
        """Everything every life of every process said."""
        return "".join(r.text() for r in self.replicas)

    def text(self) -> str:
        """The last lines of each process, for a failure's message."""
        return "\n".join(f"===== {r.name} =====\n{r.text()[-4000:]}" for r in self.replicas)


def _pump(replica: Replica, life: Life) -> None:
    assert life.process.stdout is not None
    for line in life.process.stdout:
        life.output.append(line)
        if life.ready.is_set():
            continue
        match = READY.search(line)
        if match:
            life.rest_url = match.group(1)
            life.ready.set()
        elif replica.role == WORKER and "running (pid" in line:
            life.ready.set()
    life.ready.set()


@contextmanager
def control_plane(
    data_dir: Path,
    database_url: str,
    env: dict[str, str],
    serves: int = 3,
    workers: int = 2,
    module: str = "managed_redis",
) -> Iterator[ControlPlane]:
    """``serves`` serve and ``workers`` worker processes, each ready; all stopped afterwards."""
    plane = ControlPlane(data_dir, database_url, env, serves, workers, module)
    try:
        plane.all_running()
        yield plane
    finally:
        plane.stop_all()


class Client:
    """Calls the REST API of whichever serve is up, like a client behind a load balancer: a
    call that fails to connect (its serve was killed) goes again to another one."""

    def __init__(self, plane: ControlPlane, token: str, rng: random.Random) -> None:
        self.plane = plane
        self.token = token
        self.rng = rng
        self._rng_lock = threading.Lock()

    def call(self, method: str, path: str, timeout_s: float = 120, **kwargs: Any) -> requests.Response:
        """The first answer any serve gives; retried on another serve while none answers."""
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            urls = self.plane.rest_urls()
            if not urls:
                time.sleep(0.1)
                continue
            with self._rng_lock:
                url = self.rng.choice(urls)
            try:
                return requests.request(method, url + path, headers=headers, timeout=30, **kwargs)
            except requests.ConnectionError:
                time.sleep(0.05)
        raise AssertionError(f"{method} {path}: no serve answered within {timeout_s} s")
