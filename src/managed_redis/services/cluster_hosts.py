"""ClusterService changes to hosts: add, delete, change them, and switch masters."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Connection
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb
from yandex.cloud.operation import operation_pb2

from managed_redis.domain.cluster_spec import declared_of
from managed_redis.domain.failover import FailoverAsk
from managed_redis.domain.topology import (
    DEFAULT_SHARD,
    MAX_HOSTS_NON_SHARDED,
    MAX_HOSTS_PER_SHARD,
    MAX_HOSTS_SHARDED,
)
from managed_redis.domain.update_masks import host_spec_problems
from managed_redis.engine.addresses import allocate
from managed_redis.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from managed_redis.operations import registry
from managed_redis.services import new_clusters
from managed_redis.services.capacity import admit_hosts, preset_of
from managed_redis.services.cluster_base import ClusterServiceBase
from managed_redis.services.cluster_checks import (
    check_host_names,
    check_host_specs,
    check_replica_priority,
    check_zone,
    raise_if_any,
)
from managed_redis.services.context import Caller
from managed_redis.statuses import HostState
from managed_redis.store import clusters as cluster_store
from managed_redis.store.clusters import ClusterRecord, HostRecord


class ClusterHosts(ClusterServiceBase):
    def start_failover(
        self, request: service_pb.StartClusterFailoverRequest, caller: Caller
    ) -> operation_pb2.Operation:
        record = self._changeable(request.cluster_id, caller, registry.START_FAILOVER)
        raise_if_any(check_host_names(request.host_names))
        if request.zone_id:
            raise_if_any(check_zone(request.zone_id, "zone_id"))
        plan = self._loaded(record)
        known = {host.name for host in plan.hosts}
        unknown = [name for name in request.host_names if name not in known]
        if unknown:
            raise InvalidArgument.field("host_names", f"not hosts of cluster {record.id}: {', '.join(unknown)}")
        ask = FailoverAsk.of(request)
        ask.check(record.sharded)
        if ask.needs_replica_in_each_shard(record.sharded):
            shards = ask.shards(record.sharded, (s.name for s in plan.shards), lambda name: plan.host(name).shard_name)
            lonely = sorted(name for name in shards if len(plan.shard_hosts(name)) < 2)
            if lonely:
                where = f"cluster {record.id}" if not record.sharded else f"shard {', '.join(lonely)}"
                raise FailedPrecondition(f"{where} has one host; there is no replica to switch to")
        return self._change(
            caller,
            record.id,
            registry.START_FAILOVER,
            request,
            service_pb.StartClusterFailoverMetadata(
                cluster_id=record.id, host_names=list(request.host_names), zone_id=request.zone_id
            ),
        )

    def add_hosts(self, request: service_pb.AddClusterHostsRequest, caller: Caller) -> operation_pb2.Operation:
        record = self._changeable(request.cluster_id, caller, registry.ADD_HOSTS)
        declared = declared_of(record)
        raise_if_any(check_host_specs(request.host_specs, declared.tls_enabled, record.sharded))
        metadata = service_pb.AddClusterHostsMetadata(cluster_id=record.id)

        def check(conn: Connection, current: ClusterRecord) -> None:
            hosts = cluster_store.list_hosts(conn, current.id)
            check_room(
                current, hosts, request.host_specs, {s.name for s in cluster_store.list_shards(conn, current.id)}
            )
            if (preset := preset_of(current)) is not None:
                admit_hosts(conn, self.deps.settings, preset, len(request.host_specs))
            now = self.queue.clock.now()
            addresses = allocate(
                self.deps.settings.host_network, cluster_store.used_addresses(conn), len(request.host_specs)
            )
            for spec, address in zip(request.host_specs, addresses, strict=True):
                shard_name = spec.shard_name if current.sharded else DEFAULT_SHARD
                host = new_clusters.host_record(current.id, shard_name, spec, address, now)
                host.state = HostState.ADDING
                cluster_store.insert_host(conn, host)
                metadata.host_names.append(host.name)

        return self._change(
            caller,
            record.id,
            registry.ADD_HOSTS,
            request,
            metadata,
            check=check,
        )

    def delete_hosts(self, request: service_pb.DeleteClusterHostsRequest, caller: Caller) -> operation_pb2.Operation:
        record = self._changeable(request.cluster_id, caller, registry.DELETE_HOSTS)
        raise_if_any(check_host_names(request.host_names))

        def check(conn: Connection, current: ClusterRecord) -> None:
            hosts = {host.name: host for host in cluster_store.list_hosts(conn, current.id)}
            unknown = [name for name in request.host_names if name not in hosts]
            if unknown:
                raise NotFound(f"cluster {current.id} has no hosts {', '.join(unknown)}")
            if len(set(request.host_names)) >= len(hosts):
                raise FailedPrecondition(f"cluster {current.id} must keep at least one host")
            for shard in {hosts[name].shard_name for name in request.host_names}:
                members = {name for name, host in hosts.items() if host.shard_name == shard}
                if members <= set(request.host_names):
                    raise FailedPrecondition(
                        f"shard {shard} would have no host left; delete the shard instead (DeleteShard)"
                    )
            for name in set(request.host_names):
                cluster_store.update_host(conn, name, state=HostState.REMOVING)

        return self._change(
            caller,
            record.id,
            registry.DELETE_HOSTS,
            request,
            service_pb.DeleteClusterHostsMetadata(cluster_id=record.id, host_names=list(request.host_names)),
            check=check,
        )

    def update_hosts(self, request: service_pb.UpdateClusterHostsRequest, caller: Caller) -> operation_pb2.Operation:
        record = self._changeable(request.cluster_id, caller, registry.UPDATE_HOSTS)
        plan = self._loaded(record)
        known = {host.name for host in plan.hosts}
        raise_if_any(check_host_names(request.update_host_specs, "update_host_specs"))
        problems = []
        for index, spec in enumerate(request.update_host_specs):
            path = f"update_host_specs[{index}]"
            if spec.host_name not in known:
                problems.append(FieldViolation(f"{path}.host_name", f"not a host of cluster {record.id}"))
            problems += host_spec_problems(spec, path)
            if spec.assign_public_ip and not plan.tls_enabled:
                problems.append(
                    FieldViolation(f"{path}.assign_public_ip", "a public address needs a TLS cluster (tls_enabled)")
                )
            problems += check_replica_priority(spec, f"{path}.replica_priority")
        raise_if_any(problems)
        return self._change(
            caller,
            record.id,
            registry.UPDATE_HOSTS,
            request,
            service_pb.UpdateClusterHostsMetadata(
                cluster_id=record.id, host_names=[spec.host_name for spec in request.update_host_specs]
            ),
        )


def check_room(
    cluster: ClusterRecord, hosts: list[HostRecord], specs: Sequence[service_pb.HostSpec], shards: set[str]
) -> None:
    """Whether ``specs`` fit: a known shard each (sharded), and the host limits of api.md §7.3."""
    if not cluster.sharded:
        total = len(hosts) + len(specs)
        if total > MAX_HOSTS_NON_SHARDED:
            raise FailedPrecondition(
                f"cluster {cluster.id} would have {total} hosts; a cluster has at most {MAX_HOSTS_NON_SHARDED}"
            )
        return
    problems = []
    for index, spec in enumerate(specs):
        if not spec.shard_name:
            problems.append(FieldViolation(f"host_specs[{index}].shard_name", "required for a sharded cluster"))
        elif spec.shard_name not in shards:
            problems.append(
                FieldViolation(f"host_specs[{index}].shard_name", f"cluster {cluster.id} has no such shard")
            )
    raise_if_any(problems)
    for shard in {spec.shard_name for spec in specs}:
        count = sum(1 for h in hosts if h.shard_name == shard) + sum(1 for s in specs if s.shard_name == shard)
        if count > MAX_HOSTS_PER_SHARD:
            raise FailedPrecondition(
                f"shard {shard} would have {count} hosts; a shard has at most {MAX_HOSTS_PER_SHARD}"
            )
    if len(hosts) + len(specs) > MAX_HOSTS_SHARDED:
        raise FailedPrecondition(f"a sharded cluster has at most {MAX_HOSTS_SHARDED} hosts")
