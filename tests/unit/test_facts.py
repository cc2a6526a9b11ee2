"""Two looks at a host compared: as values (``HostFacts.same_as``, the supervisor's pass) and
as stored JSON (``HostFacts.same``) they must agree, counters that move every second aside."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from managed_redis.engine.facts import HostFacts, ProcessState, RedisFacts, Role, SentinelFacts, redis_facts

BASE = HostFacts(
    RedisFacts(
        ProcessState.RUNNING,
        answered=True,
        role=Role.MASTER,
        offset=1000,
        replid="a" * 40,
        replica_lags={"127.0.0.2": 0, "127.0.0.3": 1},
        min_replicas=1,
        aof_enabled=True,
    ),
    SentinelFacts(ProcessState.RUNNING, answered=True, master_address="127.0.0.1"),
)


def with_redis(**changes: Any) -> HostFacts:
    return dataclasses.replace(BASE, redis=dataclasses.replace(BASE.redis, **changes))


@pytest.mark.parametrize(
    ("other", "same"),
    [
        (BASE, True),
        (with_redis(offset=2000), True),
        (with_redis(master_last_io_s=3), True),
        (with_redis(replica_lags={"127.0.0.3": 5, "127.0.0.2": 2}), True),
        (with_redis(replica_lags={"127.0.0.2": 0}), False),
        (with_redis(role=Role.REPLICA), False),
        (with_redis(answered=False, error="no answer within 1.0 s"), False),
        (with_redis(files_present=False), False),
        (with_redis(min_replicas=0), False),
        (with_redis(open_slots=(5,)), False),
        (dataclasses.replace(BASE, sentinel=None), False),
        (dataclasses.replace(BASE, sentinel=SentinelFacts(ProcessState.STOPPED, error="no answer")), False),
    ],
)
def test_looks_compared_as_values_and_as_json_agree(other: HostFacts, same: bool) -> None:
    assert BASE.same_as(other) is same
    assert other.same_as(BASE) is same
    assert HostFacts.same(BASE.to_json(), other.to_json()) is same
    restored = HostFacts.from_json(other.to_json())
    assert BASE.same_as(restored) is same


@pytest.mark.parametrize(
    ("lines", "down_s", "syncing"),
    [
        ("master_link_status:up\r\nmaster_sync_in_progress:0\r\n", None, False),
        ("master_link_status:down\r\nmaster_sync_in_progress:1\r\nmaster_link_down_since_seconds:-1\r\n", -1, True),
        ("master_link_status:down\r\nmaster_sync_in_progress:0\r\nmaster_link_down_since_seconds:7\r\n", 7, False),
    ],
)
def test_a_replicas_link_history_is_read_from_info(lines: str, down_s: int | None, syncing: bool) -> None:
    info = "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:6379\r\n" + lines
    facts = redis_facts(ProcessState.RUNNING, True, info, None)
    assert (facts.link_down_s, facts.syncing) == (down_s, syncing)
    assert facts.link_up is (down_s is None)
