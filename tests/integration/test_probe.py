"""The prober and the engine's look at hosts, against real redis-servers: answers in order,
a frozen server costs the round its deadline and nothing more, its late reply is never taken
for a later round's, and the facts say what each process is (running, stopped, gone)."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from managed_redis.engine.connections import Endpoint
from managed_redis.engine.facts import ProcessState, Role
from managed_redis.engine.local import LocalEngine
from managed_redis.engine.model import Credentials, WatchedHost
from managed_redis.engine.probe import Prober, Question
from tests.support.processes import kill_all
from tests.support.server import host_network, wait_until

PASSWORD = "Probe-Pass-1"


def start_redis(address: str, directory: Path, replica_of: str | None = None) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "redis.conf").write_text(
        f'bind {address}\nport 6379\nsave ""\ndir {directory}\npidfile {directory}/redis.pid\n'
        f"daemonize yes\nlogfile {directory}/redis.log\nuser default off\n"
        f"user mredis on >{PASSWORD} ~* &* +@all\nmasteruser mredis\nmasterauth {PASSWORD}\n"
        f"replica-announce-ip {address}\nbind-source-addr {address}\n"
        + (f"replicaof {replica_of} 6379\n" if replica_of else "")
    )
    subprocess.run(["redis-server", str(directory / "redis.conf")], check=True)
    pidfile = directory / "redis.pid"
    wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), timeout_s=10)
    return int(pidfile.read_text())


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[dict[str, tuple[str, int, Path]]]:
    """name -> (address, pid, directory): a master and its replica."""
    network = host_network()
    base = network.rsplit(".", 1)[0]
    master, replica = f"{base}.1", f"{base}.2"
    try:
        found = {"m": (master, start_redis(master, tmp_path / "m"), tmp_path / "m")}
        found["r"] = (replica, start_redis(replica, tmp_path / "r", replica_of=master), tmp_path / "r")
        yield found
    finally:
        kill_all(network)


def endpoint(address: str) -> Endpoint:
    return Endpoint(address, 6379, "mredis", PASSWORD)


def test_answers_come_in_order_and_a_closed_port_is_said_so(servers: dict[str, tuple[str, int, Path]]) -> None:
    prober = Prober()
    (m, _, _), (r, _, _) = servers["m"], servers["r"]
    closed = m.rsplit(".", 1)[0] + ".9"
    answers = prober.ask(
        [
            Question(endpoint(m), (("ECHO", "one"), ("ECHO", "two"))),
            Question(endpoint(closed), (("PING",),)),
            Question(endpoint(r), (("ECHO", "three"),)),
        ],
        1.0,
    )
    assert answers[0].replies == ("one", "two")
    assert not answers[1].answered and "refused" in answers[1].error
    assert answers[2].replies == ("three",)
    wrong = Prober().ask([Question(Endpoint(m, 6379, "mredis", "wrong"), (("PING",),))], 1.0)[0]
    assert not wrong.answered and "authentication" in wrong.error


def test_a_frozen_server_costs_its_deadline_and_its_late_reply_is_skipped(
    servers: dict[str, tuple[str, int, Path]],
) -> None:
    prober = Prober()
    (m, _, _), (r, pid, _) = servers["m"], servers["r"]
    assert prober.ask([Question(endpoint(r), (("ECHO", "warm"),))], 1.0)[0].replies == ("warm",)
    os.kill(pid, signal.SIGSTOP)
    try:
        answers = prober.ask(
            [Question(endpoint(r), (("ECHO", "late"),)), Question(endpoint(m), (("ECHO", "fine"),))], 0.5
        )
        assert not answers[0].answered and "no answer" in answers[0].error
        assert answers[1].replies == ("fine",)
    finally:
        os.kill(pid, signal.SIGCONT)
    # The reply to "late" arrives now, on the kept connection: it must not answer this round.
    assert prober.ask([Question(endpoint(r), (("ECHO", "next"),))], 2.0)[0].replies == ("next",)
    assert prober.ask([Question(endpoint(r), (("ECHO", "after"),))], 2.0)[0].replies == ("after",)


@pytest.mark.parametrize("rounds_between", [1, 3])
def test_a_late_reply_or_a_close_arriving_while_not_asked_is_read_between_rounds(
    servers: dict[str, tuple[str, int, Path]], rounds_between: int
) -> None:
    """A kept connection stays registered between rounds: a late reply (or the server
    closing it) that comes while its endpoint is not asked must neither stall those rounds
    nor be read as a later answer."""
    prober = Prober()
    (m, _, _), (r, pid, _) = servers["m"], servers["r"]
    assert prober.ask([Question(endpoint(r), (("ECHO", "warm"),))], 1.0)[0].replies == ("warm",)
    os.kill(pid, signal.SIGSTOP)
    try:
        assert not prober.ask([Question(endpoint(r), (("ECHO", "late"),))], 0.3)[0].answered
    finally:
        os.kill(pid, signal.SIGCONT)
    for index in range(rounds_between):  # r's late reply comes in while only m is asked
        assert prober.ask([Question(endpoint(m), (("ECHO", f"m{index}"),))], 2.0)[0].replies == (f"m{index}",)
    assert prober.ask([Question(endpoint(r), (("ECHO", "now"),))], 2.0)[0].replies == ("now",)

    admin = Prober()  # the server closes r's kept connection while only m is asked
    killed = admin.ask([Question(endpoint(r), (("CLIENT", "KILL", "USER", "mredis"),))], 2.0)[0]
    assert killed.answered and int(str(killed.replies[0])) >= 1
    for index in range(rounds_between):
        assert prober.ask([Question(endpoint(m), (("ECHO", f"k{index}"),))], 2.0)[0].replies == (f"k{index}",)
    assert prober.ask([Question(endpoint(r), (("ECHO", "again"),))], 2.0)[0].replies == ("again",)
    admin.close()
    prober.close()


def test_a_ping_only_look_says_only_whether_redis_answers(servers: dict[str, tuple[str, int, Path]]) -> None:
    engine = LocalEngine()
    credentials = Credentials(password="unused", admin_password=PASSWORD)
    (m, mpid, mdir) = servers["m"]
    host = WatchedHost("m", m, mdir, credentials, ping_only=True)
    seen = engine.observe([host])["m"].redis
    assert (seen.process, seen.answered, seen.files_present, seen.role) == (ProcessState.RUNNING, True, True, None)
    assert engine.watch.pid(host.marker) == mpid  # found by its pidfile, watched from then on
    os.kill(mpid, signal.SIGSTOP)
    try:
        frozen = engine.observe([host], timeout_s=0.5)["m"].redis
        assert (frozen.process, frozen.answered) == (ProcessState.STOPPED, False)
    finally:
        os.kill(mpid, signal.SIGCONT)


def test_the_engine_says_what_each_process_is(servers: dict[str, tuple[str, int, Path]]) -> None:
    engine = LocalEngine()
    credentials = Credentials(password="unused", admin_password=PASSWORD)
    (m, _, mdir), (r, rpid, rdir) = servers["m"], servers["r"]
    hosts = [WatchedHost("m", m, mdir, credentials), WatchedHost("r", r, rdir, credentials)]
    # The replica's link is up a moment before its master counts it online: wait for both.
    wait_until(
        lambda: (seen := engine.observe(hosts))["r"].redis.link_up and r in seen["m"].redis.replica_lags,
        timeout_s=10,
    )
    seen = engine.observe(hosts)
    assert seen["m"].redis.role == Role.MASTER and seen["m"].redis.replica_lags.keys() == {r}
    assert seen["r"].redis.role == Role.REPLICA and seen["r"].redis.master_address == m
    assert seen["m"].sentinel is None

    os.kill(rpid, signal.SIGSTOP)
    try:
        stopped = engine.observe(hosts, timeout_s=0.5)["r"].redis
        assert (stopped.process, stopped.answered) == (ProcessState.STOPPED, False)
    finally:
        os.kill(rpid, signal.SIGCONT)

    (rdir / "redis.conf").unlink()
    (rdir / "redis.pid").unlink()
    moved = engine.observe(hosts)["r"].redis
    assert moved.answered and not moved.files_present  # found without its pidfile, files reported gone

    os.kill(rpid, signal.SIGKILL)
    wait_until(lambda: engine.observe(hosts)["r"].redis.process == ProcessState.GONE, timeout_s=10)
