"""StartFailover's four types, as the service checks them and the handler follows them:
which requests are refused, which masters stay, which replicas may take over."""

from __future__ import annotations

import datetime as dt

import pytest
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.domain.failover import FailoverAsk, FailoverType
from managed_redis.errors import InvalidArgument
from managed_redis.statuses import HostState
from managed_redis.store.clusters import HostRecord

TO = FailoverType.SWITCH_TO_HOSTNAMES
FROM = FailoverType.SWITCH_FROM_HOSTNAMES
ZONE = FailoverType.SWITCH_FROM_ZONE
ANY = FailoverType.FAILOVER_TYPE_UNSPECIFIED


def host(name: str, zone: str = "ru-central1-a", shard: str = "shard1") -> HostRecord:
    return HostRecord(
        name=name,
        cluster_id="c9q",
        shard_name=shard,
        zone_id=zone,
        address="127.0.0.1",
        state=HostState.ACTIVE,
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )


def ask(kind: FailoverType.ValueType, names: tuple[str, ...] = (), zone: str = "") -> FailoverAsk:
    request = service_pb.StartClusterFailoverRequest(failover_type=kind, host_names=names, zone_id=zone)
    return FailoverAsk.of(request)


@pytest.mark.parametrize(
    ("kind", "names", "zone", "sharded", "field", "reason"),
    [
        (ZONE, (), "", False, "zone_id", "required for SWITCH_FROM_ZONE"),
        (TO, (), "", False, "host_names", "required for this failover_type"),
        (FROM, (), "", False, "host_names", "required for this failover_type"),
        (ANY, (), "", True, "host_names", "required for a sharded cluster: name the masters to move away from"),
    ],
)
def test_a_request_without_what_its_type_needs_is_refused_naming_the_field(
    kind: FailoverType.ValueType, names: tuple[str, ...], zone: str, sharded: bool, field: str, reason: str
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        ask(kind, names, zone).check(sharded)
    assert [(v.field, v.description) for v in raised.value.violations] == [(field, reason)]


@pytest.mark.parametrize(
    ("kind", "names", "zone", "sharded"),
    [
        (ANY, (), "", False),
        (ZONE, (), "ru-central1-a", True),
        (TO, ("h2",), "", True),
        (FROM, ("h1",), "", False),
    ],
)
def test_a_complete_request_passes(
    kind: FailoverType.ValueType, names: tuple[str, ...], zone: str, sharded: bool
) -> None:
    ask(kind, names, zone).check(sharded)


@pytest.mark.parametrize(
    ("request_ask", "stays"),
    [
        (ask(ZONE, zone="ru-central1-b"), True),
        (ask(ZONE, zone="ru-central1-a"), False),
        (ask(FROM, ("h2",)), True),
        (ask(FROM, ("h1",)), False),
        (ask(TO, ("h1",)), True),
        (ask(TO, ("h2",)), False),
        (ask(ANY, ("h1",)), False),
        (ask(ANY), False),
    ],
)
def test_a_master_stays_only_where_the_request_is_already_met(request_ask: FailoverAsk, stays: bool) -> None:
    assert request_ask.master_may_stay(host("h1", zone="ru-central1-a")) is stays


def takers(request_ask: FailoverAsk) -> list[str]:
    master = host("h1", zone="ru-central1-a")
    replicas = [host("h2", zone="ru-central1-a"), host("h3", zone="ru-central1-b"), host("h4", zone="ru-central1-d")]
    return [replica.name for replica in replicas if request_ask.may_take_over(replica, master)]


@pytest.mark.parametrize(
    ("request_ask", "names"),
    [
        (ask(TO, ("h3",)), ["h3"]),
        (ask(FROM, ("h1", "h3")), ["h2", "h4"]),
        (ask(ZONE, zone="ru-central1-a"), ["h3", "h4"]),
        (ask(ANY, ("h4",)), ["h4"]),
        # The master named alone names no target: any replica will do.
        (ask(ANY, ("h1",)), ["h2", "h3", "h4"]),
        (ask(ANY), ["h2", "h3", "h4"]),
    ],
)
def test_the_replicas_that_may_take_over_are_those_the_type_allows(request_ask: FailoverAsk, names: list[str]) -> None:
    assert takers(request_ask) == names


def test_only_the_named_hosts_of_a_shard_count_there() -> None:
    within = ask(TO, ("h1", "x9")).within(["h1", "h2"])
    assert within.host_names == frozenset({"h1"})
    assert within.master_may_stay(host("h1"))


@pytest.mark.parametrize(
    ("request_ask", "sharded", "shards", "needs_replica"),
    [
        (ask(ANY), False, ["shard1"], True),
        (ask(TO, ("h3",)), True, ["s2"], True),
        (ask(FROM, ("h1", "h3", "h2")), True, ["s1", "s2"], True),
        (ask(ZONE, ("h3",), "ru-central1-a"), True, ["s1", "s2", "s3"], False),
    ],
)
def test_the_shards_involved(request_ask: FailoverAsk, sharded: bool, shards: list[str], needs_replica: bool) -> None:
    shard_of = {"h1": "s1", "h2": "s1", "h3": "s2"}
    all_shards = ["s1", "s2", "s3"] if sharded else ["shard1"]
    assert request_ask.shards(sharded, all_shards, shard_of.__getitem__) == shards
    assert request_ask.needs_replica_in_each_shard(sharded) is needs_replica
