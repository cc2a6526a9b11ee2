"""Reads under load and the supervisor at scale, each beside a floor measured in the same run.

- **Reads**: GET of a cluster and List of a folder's 20 clusters with 200 concurrent
  readers, with every host up and with one host frozen (SIGSTOP), in two patterns: each
  reader polling about once a second (``bench/readers.py``: 200 dashboards or scripts), and
  back to back (wrk, closed loop: each reader asks again as soon as it is answered, a stress
  far beyond a control plane's load). The floor is the same load on the server's cheapest
  route (endpoint discovery: no token, no store).
- **Scale**: 200 clusters of 3 hosts (600 redis-servers, 600 Sentinels). The control plane's
  RSS and its idle CPU (no request for 30 s, the supervisor looking at every host each
  second) beside the idle CPU of the Redis and Sentinel processes themselves (an idle
  redis-server at its default ``hz 10`` uses ~0.15 % of a core, measured here: 1,200 of them
  are most of a 2-core machine, which then has no room left to create more), then one
  supervisor pass timed in this process (the server stopped, the Redis processes left
  running), beside the floor: one bare look at every process (the prober
  alone) and the RSS of a Python that only imports the package.

``BENCH_CLUSTERS`` changes the scale; ``BENCH_READ_S`` the length of each read run.
"""

from __future__ import annotations

import os
import re
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from bench import readers
from bench.common import BENCH_NETWORK, bench_server, figure
from managed_redis.app import build_components
from managed_redis.engine.addresses import SENTINEL_PORT
from managed_redis.engine.connections import Endpoint
from managed_redis.engine.model import Credentials
from managed_redis.engine.probe import Prober, Question
from managed_redis.operations.loaded_cluster import watched_host
from managed_redis.operations.supervisor import PassReport, Supervisor
from managed_redis.settings import load_settings
from managed_redis.store import clusters as cluster_store
from tests.support.clusters import FOLDER, create_body, hosts_of, wait_alive, wait_operation
from tests.support.processes import pid_of, redis_processes
from tests.support.server import RunningServer, stop, wait_until

CLUSTERS = int(os.environ.get("BENCH_CLUSTERS", "200"))
READ_S = int(os.environ.get("BENCH_READ_S", "10"))
READERS = 200
IDLE_S = 30
PASSES = 10


def load(url: str, token: str | None, paced: bool) -> dict[str, float]:
    """p50/p99 (ms) and requests/s of READERS readers on ``url`` for READ_S seconds."""
    if paced:
        return readers.poll(url, token, READERS, READ_S)
    return wrk(url, token)


def first_group(pattern: str, text: str) -> str:
    """The first group of ``pattern``'s first match in ``text``; AssertionError if none."""
    match = re.search(pattern, text)
    assert match, f"no {pattern!r} in {text[:500]!r}"
    return match.group(1)


def wrk(url: str, token: str | None) -> dict[str, float]:
    """Closed loop: each of READERS connections asks again as soon as it is answered."""
    command = ["wrk", "-t", "2", "-c", str(READERS), "-d", f"{READ_S}s", "--latency", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    figures = {"rps": float(first_group(r"Requests/sec:\s+([\d.]+)", output))}
    for percentile in ("50", "99"):
        match = re.search(rf"\s{percentile}%\s+([\d.]+)(us|ms|s)\b", output)
        assert match, output
        value = float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
        figures[f"p{percentile}"] = value
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    figures["errors"] = float(errors.group(1)) if errors else 0.0
    return figures


def show(name: str, result: dict[str, float], target: str = "") -> None:
    text = f"p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms, {result['rps']:.0f} req/s"
    if result["errors"]:
        text += f", {result['errors']:.0f} non-2xx"
    figure(name, text, target)


def create_many(server: RunningServer, count: int, first: int = 0) -> list[str]:
    """Submit ``count`` 3-host clusters at once (named from ``bench-<first>``); wait for all; their ids."""
    operations = []
    for index in range(first, first + count):
        response = server.rest("POST", "/managed-redis/v1/clusters", json=create_body(f"bench-{index}", 3))
        assert response.status_code == 200, response.text
        operations.append(response.json())
    ids = []
    for operation in operations:
        done = wait_operation(server, operation, timeout_s=1800)
        assert "error" not in done, done
        ids.append(done["response"]["id"])
    return ids


def rss_mb(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(first_group(r"VmRSS:\s+(\d+) kB", text)) / 1024


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu_percent(pids: list[int], seconds: float) -> float:
    """CPU the processes ``pids`` used together over ``seconds``, in % of one core (a
    process gone meanwhile counts what it used until then)."""

    def total() -> dict[int, float]:
        used = {}
        for pid in pids:
            with suppress(OSError):
                used[pid] = cpu_s(pid)
        return used

    before, started = total(), time.monotonic()
    time.sleep(seconds)
    after = total()
    spent = sum(after[pid] - before[pid] for pid in after if pid in before)
    return 100 * spent / (time.monotonic() - started)


@contextmanager
def frozen(pid: int) -> Iterator[None]:
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def reads(server: RunningServer, cluster_id: str) -> None:
    token = server.admin_token
    get_url = f"{server.rest_url}/managed-redis/v1/clusters/{cluster_id}"
    list_url = f"{server.rest_url}/managed-redis/v1/clusters?folderId={FOLDER}"
    replica = next(h["name"] for h in hosts_of(server, cluster_id) if h.get("role") == "REPLICA")
    for paced in (True, False):
        how = "each polling about once a second" if paced else "back to back (closed loop)"
        target = "p99 under 100 ms" if paced else ""
        print(f"reads: {READERS} concurrent readers, {how}, {READ_S} s each", flush=True)
        show("floor: endpoint discovery (no token, no store)", load(f"{server.rest_url}/endpoints", None, paced))
        show("GET cluster, all hosts up", load(get_url, token, paced), target)
        show("List of 20 clusters, all hosts up", load(list_url, token, paced), target)
        with frozen(pid_of(BENCH_NETWORK, f"{replica}:6379")):
            wait_until(
                lambda: server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}").json()["health"] == "DEGRADED",
                timeout_s=30,
            )
            show("GET cluster, one host frozen", load(get_url, token, paced), target)
            show("List of 20 clusters, one host frozen", load(list_url, token, paced), target)
        wait_alive(server, cluster_id)


def pass_in_process(data_dir: Path) -> tuple[float, float, float, PassReport]:
    """Mean wall and CPU seconds of one supervisor pass, and of the engine's look alone."""
    settings = load_settings(env={"MREDIS_DATA_DIR": str(data_dir), "MREDIS_HOST_NETWORK": BENCH_NETWORK})
    components = build_components(settings)
    supervisor = Supervisor(components.db, components.deps, components.clock)
    supervisor.run_once()  # connections made, facts stored once
    supervisor.wait_idle(120)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before, started = usage.ru_utime + usage.ru_stime, time.monotonic()
    observe = 0.0
    for _ in range(PASSES):
        report = supervisor.run_once()
        observe += report.observe_s
    usage = resource.getrusage(resource.RUSAGE_SELF)
    wall = (time.monotonic() - started) / PASSES
    cpu = (usage.ru_utime + usage.ru_stime - cpu_before) / PASSES
    supervisor.stop()
    return wall, cpu, observe / PASSES, report


def bare_look_s(data_dir: Path) -> tuple[float, float]:
    """The floor of a pass: the prober alone asking every process one question (wall, CPU)."""
    settings = load_settings(env={"MREDIS_DATA_DIR": str(data_dir), "MREDIS_HOST_NETWORK": BENCH_NETWORK})
    components = build_components(settings)
    questions = []
    with components.db.read() as conn:
        records = cluster_store.list_all(conn)
        hosts = cluster_store.hosts_of(conn, [r.id for r in records])
    for record in records:
        secrets = components.deps.vault.open_sealed(record.secrets or b"")
        credentials = Credentials(secrets["password"], secrets["admin_password"])
        for host in hosts[record.id]:
            watched = watched_host(components.deps, record, host, credentials, False)
            for port in (watched.port, SENTINEL_PORT):
                endpoint = Endpoint(host.address, port, credentials.admin_user, credentials.admin_password)
                questions.append(Question(endpoint, (("PING",),)))
    prober = Prober()
    prober.ask(questions, 5)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before, started = usage.ru_utime + usage.ru_stime, time.monotonic()
    for _ in range(PASSES):
        answers = prober.ask(questions, 5)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    assert all(answer.answered for answer in answers)
    prober.close()
    return (time.monotonic() - started) / PASSES, (usage.ru_utime + usage.ru_stime - cpu_before) / PASSES


def import_only_rss_mb() -> float:
    code = (
        "import managed_redis.app, re; print(re.search(r'VmRSS:\\s+(\\d+)', open('/proc/self/status').read()).group(1))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return int(output) / 1024


def main() -> None:
    with bench_server() as server:
        first = create_many(server, 20)
        reads(server, first[0])
        print(f"scale: {CLUSTERS} clusters of 3 hosts", flush=True)
        started = time.monotonic()
        create_many(server, CLUSTERS - len(first), first=len(first))
        figure(f"created {CLUSTERS - len(first)} more clusters in", f"{time.monotonic() - started:.0f} s")
        time.sleep(10)  # let the first passes over the new hosts settle
        pid = server.process.pid
        figure("control-plane RSS", f"{rss_mb(pid):.0f} MB", "under 300 MB")
        figure("floor: a Python that only imports the package", f"{import_only_rss_mb():.0f} MB")
        figure(
            f"control-plane idle CPU ({IDLE_S} s)", f"{idle_cpu_percent([pid], IDLE_S):.1f} % of one core", "under 5 %"
        )
        data_plane = sorted(redis_processes(BENCH_NETWORK))
        figure(
            f"floor: its {len(data_plane)} Redis and Sentinel processes, idle",
            f"{idle_cpu_percent(data_plane, IDLE_S):.1f} % of one core (of {100 * (os.cpu_count() or 1)} %)",
        )
        stop(server.process)
        wall, cpu, observe, report = pass_in_process(server.data_dir)
        figure(
            f"one supervisor pass ({report.clusters} clusters, {report.hosts} hosts looked at)",
            f"{wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU (looking: {observe * 1000:.0f} ms)",
        )
        bare_wall, bare_cpu = bare_look_s(server.data_dir)
        figure("floor: one bare PING to every process", f"{bare_wall * 1000:.0f} ms wall, {bare_cpu * 1000:.0f} ms CPU")
