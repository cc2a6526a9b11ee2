"""What a StartFailover request asks for: its four failover types, read in one place.

``FailoverAsk`` is the request in its own terms; the service checks it with ``check`` and
``needs_replica_in_each_shard`` before submitting, and the handler asks it which shards it
touches, whether a shard's master may stay, and which replicas may take over:

- SWITCH_TO_HOSTNAMES: the master moves to one of the named hosts (it stays when it is one).
- SWITCH_FROM_HOSTNAMES: the master moves off the named hosts, to a host not named.
- SWITCH_FROM_ZONE: the master moves out of ``zone_id``; every shard of a sharded cluster.
- FAILOVER_TYPE_UNSPECIFIED: the master moves; to one of the named hosts, if any are named.

Hosts are named as in the API (``host_names``); in a sharded cluster only the named hosts'
shards take part, unless the type is SWITCH_FROM_ZONE.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.errors import InvalidArgument
from managed_redis.store.clusters import HostRecord

FailoverType = service_pb.StartClusterFailoverRequest.FailoverType
_BY_HOST_NAMES = (FailoverType.SWITCH_TO_HOSTNAMES, FailoverType.SWITCH_FROM_HOSTNAMES)


@dataclass(frozen=True)
class FailoverAsk:
    """A StartClusterFailoverRequest's type, named hosts and zone."""

    type: FailoverType.ValueType
    host_names: frozenset[str]
    zone_id: str

    @classmethod
    def of(cls, request: service_pb.StartClusterFailoverRequest) -> FailoverAsk:
        return cls(request.failover_type, frozenset(request.host_names), request.zone_id)

    @property
    def from_zone(self) -> bool:
        return self.type == FailoverType.SWITCH_FROM_ZONE

    def check(self, sharded: bool) -> None:
        """Refuse a request that lacks what its type needs.

        Raises:
            InvalidArgument: naming ``zone_id`` (SWITCH_FROM_ZONE without a zone) or
                ``host_names`` (a by-hostnames type, or a sharded cluster, without hosts).
        """
        if self.from_zone and not self.zone_id:
            raise InvalidArgument.field("zone_id", "required for SWITCH_FROM_ZONE")
        if self.type in _BY_HOST_NAMES and not self.host_names:
            raise InvalidArgument.field("host_names", "required for this failover_type")
        if sharded and not self.host_names and not self.from_zone:
            raise InvalidArgument.field(
                "host_names", "required for a sharded cluster: name the masters to move away from"
            )

    def shards(self, sharded: bool, all_shards: Iterable[str], shard_of: Callable[[str], str]) -> list[str]:
        """The shards whose master may move, by name: every shard of a non-sharded cluster
        (its one) or for SWITCH_FROM_ZONE; otherwise the named hosts' shards."""
        if not sharded or self.from_zone:
            return list(all_shards)
        return sorted({shard_of(name) for name in self.host_names})

    def needs_replica_in_each_shard(self, sharded: bool) -> bool:
        """Whether each shard taking part must have a replica to switch to: not for
        SWITCH_FROM_ZONE on a sharded cluster, where a shard may have nothing in the zone."""
        return not sharded or not self.from_zone

    def within(self, shard_hosts: Iterable[str]) -> FailoverAsk:
        """The same ask, counting only the named hosts among ``shard_hosts``."""
        return FailoverAsk(self.type, self.host_names & frozenset(shard_hosts), self.zone_id)

    def master_may_stay(self, master: HostRecord) -> bool:
        """Whether ``master`` already satisfies the ask, so its shard needs no switch."""
        if self.type == FailoverType.SWITCH_FROM_ZONE:
            return master.zone_id != self.zone_id
        if self.type == FailoverType.SWITCH_FROM_HOSTNAMES:
            return master.name not in self.host_names
        if self.type == FailoverType.SWITCH_TO_HOSTNAMES:
            return master.name in self.host_names
        return False

    def may_take_over(self, replica: HostRecord, master: HostRecord) -> bool:
        """Whether ``replica`` (of ``master``'s shard) is a host the ask lets become master."""
        wanted = self.host_names - {master.name}
        if self.type == FailoverType.SWITCH_TO_HOSTNAMES or (
            self.type == FailoverType.FAILOVER_TYPE_UNSPECIFIED and wanted
        ):
            return replica.name in wanted
        if self.type == FailoverType.SWITCH_FROM_HOSTNAMES:
            return replica.name not in self.host_names
        if self.type == FailoverType.SWITCH_FROM_ZONE:
            return replica.zone_id != self.zone_id
        return True
