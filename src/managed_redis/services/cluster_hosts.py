"""ClusterService changes to hosts: add, delete, change them, and switch masters."""

from __future__ import annotations

from sqlalchemy.engine import Connection
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb
from yandex.cloud.operation import operation_pb2

from managed_redis.domain.cluster_spec import declared_of
from managed_redis.domain.topology import DEFAULT_SHARD, MAX_HOSTS_NON_SHARDED
from managed_redis.engine.addresses import allocate
from managed_redis.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from managed_redis.services import new_clusters
from managed_redis.services.cluster_base import ClusterServiceBase
from managed_redis.services.cluster_checks import (
    check_host_specs,
    raise_if_any,
)
from managed_redis.services.context import Caller
from managed_redis.store import clusters as cluster_store
from managed_redis.store.clusters import ADDING, REMOVING, ClusterRecord


class ClusterHosts(ClusterServiceBase):
    def start_failover(
        self, request: service_pb.StartClusterFailoverRequest, caller: Caller
    ) -> operation_pb2.Operation:
        record = self._changeable(request.cluster_id, caller, "switching its master")
        plan = self._plan(record)
        known = {host.name for host in plan.hosts}
        unknown = [name for name in request.host_names if name not in known]
        if unknown:
            raise InvalidArgument.field("host_names", f"not hosts of cluster {record.id}: {', '.join(unknown)}")
        kind = request.failover_type
        if kind == service_pb.StartClusterFailoverRequest.SWITCH_FROM_ZONE and not request.zone_id:
            raise InvalidArgument.field("zone_id", "required for SWITCH_FROM_ZONE")
        if (
            kind
            in (
                service_pb.StartClusterFailoverRequest.SWITCH_TO_HOSTNAMES,
                service_pb.StartClusterFailoverRequest.SWITCH_FROM_HOSTNAMES,
            )
            and not request.host_names
        ):
            raise InvalidArgument.field("host_names", "required for this failover_type")
        if len(plan.hosts) < 2:
            raise FailedPrecondition(f"cluster {record.id} has one host; there is no replica to switch to")
        return self._change(
            caller,
            record.id,
            "cluster.failover",
            "Start manual failover on Redis cluster",
            request,
            service_pb.StartClusterFailoverMetadata(
                cluster_id=record.id, host_names=list(request.host_names), zone_id=request.zone_id
            ),
            doing="switching its master",
        )

    def add_hosts(self, request: service_pb.AddClusterHostsRequest, caller: Caller) -> operation_pb2.Operation:
        record = self._changeable(request.cluster_id, caller, "adding hosts")
        declared = declared_of(record)
        raise_if_any(check_host_specs(request.host_specs, declared.tls_enabled, record.sharded))
        metadata = service_pb.AddClusterHostsMetadata(cluster_id=record.id)

        def check(conn: Connection, current: ClusterRecord) -> None:
            hosts = cluster_store.list_hosts(conn, current.id)
            total = len(hosts) + len(request.host_specs)
            if total > MAX_HOSTS_NON_SHARDED:
                raise FailedPrecondition(
                    f"cluster {current.id} would have {total} hosts; a cluster has at most {MAX_HOSTS_NON_SHARDED}"
                )
            now = self.queue.clock.now()
            addresses = allocate(
                self.deps.settings.host_network, cluster_store.used_addresses(conn), len(request.host_specs)
            )
            for spec, address in zip(request.host_specs, addresses, strict=True):
                host = new_clusters.host_record(current.id, DEFAULT_SHARD, spec, address, now)
                host.state = ADDING
                cluster_store.insert_host(conn, host)
                metadata.host_names.append(host.name)

        return self._change(
            caller,
            record.id,
            "cluster.add_hosts",
            "Add hosts to Redis cluster",
            request,
            metadata,
            doing="adding hosts",
            check=check,
        )

    def delete_hosts(self, request: service_pb.DeleteClusterHostsRequest, caller: Caller) -> operation_pb2.Operation:
        record = self._changeable(request.cluster_id, caller, "deleting hosts")

        def check(conn: Connection, current: ClusterRecord) -> None:
            hosts = {host.name: host for host in cluster_store.list_hosts(conn, current.id)}
            unknown = [name for name in request.host_names if name not in hosts]
            if unknown:
                raise NotFound(f"cluster {current.id} has no hosts {', '.join(unknown)}")
            if len(set(request.host_names)) >= len(hosts):
                raise FailedPrecondition(f"cluster {current.id} must keep at least one host")
            for name in set(request.host_names):
                cluster_store.update_host(conn, name, state=REMOVING)

        return self._change(
            caller,
            record.id,
            "cluster.delete_hosts",
            "Delete hosts from Redis cluster",
            request,
            service_pb.DeleteClusterHostsMetadata(cluster_id=record.id, host_names=list(request.host_names)),
            doing="deleting hosts",
            check=check,
        )

    def update_hosts(self, request: service_pb.UpdateClusterHostsRequest, caller: Caller) -> operation_pb2.Operation:
        record = self._changeable(request.cluster_id, caller, "changing hosts")
        plan = self._plan(record)
        known = {host.name for host in plan.hosts}
        problems = []
        for index, spec in enumerate(request.update_host_specs):
            path = f"update_host_specs[{index}]"
            if spec.host_name not in known:
                problems.append(FieldViolation(f"{path}.host_name", f"not a host of cluster {record.id}"))
            unknown = set(spec.update_mask.paths) - {"replica_priority", "assign_public_ip"}
            if unknown:
                problems.append(FieldViolation(f"{path}.update_mask", f"unknown paths: {', '.join(sorted(unknown))}"))
            if spec.assign_public_ip and not plan.tls_enabled:
                problems.append(
                    FieldViolation(f"{path}.assign_public_ip", "a public address needs a TLS cluster (tls_enabled)")
                )
            if spec.HasField("replica_priority") and spec.replica_priority.value < 0:
                problems.append(FieldViolation(f"{path}.replica_priority", "must be >=0"))
        raise_if_any(problems)
        return self._change(
            caller,
            record.id,
            "cluster.update_hosts",
            "Modify hosts in Redis cluster",
            request,
            service_pb.UpdateClusterHostsMetadata(
                cluster_id=record.id, host_names=[spec.host_name for spec in request.update_host_specs]
            ),
            doing="changing hosts",
        )
