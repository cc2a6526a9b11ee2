"""ClusterService.ListLogs and StreamLogs: the redis-server and redis-sentinel logs of a
cluster's hosts, read from their files (``services/log_records.py``).

Reading logs needs ``managed-redis.viewer`` or stronger (the READ_LOGS permission): an auditor
sees the cluster but is refused its logs. A stopped cluster's logs are there as its files are;
a deleted host's go with its directory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import cached_property
from pathlib import Path

from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb

from managed_redis.services.access import Permission
from managed_redis.services.cluster_base import ClusterServiceBase
from managed_redis.services.context import Caller
from managed_redis.services.log_follow import LogWatcher
from managed_redis.services.log_pages import newest_first, oldest_first
from managed_redis.services.log_query import LogQuery, log_query
from managed_redis.services.log_records import Entry, Position
from managed_redis.services.pagination import page_size
from managed_redis.store import clusters as cluster_store


class ClusterLogs(ClusterServiceBase):
    def list_logs(
        self, request: service_pb.ListClusterLogsRequest, caller: Caller
    ) -> service_pb.ListClusterLogsResponse:
        query = self._log_query(request, caller, request.page_token, "page_token", request.order_by)
        page, more = self._log_page(query, page_size(request.page_size))
        token = ""
        if page and (more or request.always_next_page_token):
            token = page[-1].position.token()
        elif request.always_next_page_token:
            token = request.page_token or Position.before(query.from_ms or 0).token()
        return service_pb.ListClusterLogsResponse(logs=[query.record(entry) for entry in page], next_page_token=token)

    @staticmethod
    def _log_page(query: LogQuery, size: int) -> tuple[list[Entry], bool]:
        if query.audit:
            return [], False
        return newest_first(query, size) if query.descending else oldest_first(query, size)

    def stream_logs(
        self, request: service_pb.StreamClusterLogsRequest, caller: Caller
    ) -> AsyncIterator[service_pb.StreamLogRecord]:
        """The records, then (without ``to_time``) new ones as they come: an async iterator the
        transport drives on its event loop (``LogWatcher.follow``)."""
        query = self._log_query(request, caller, request.record_token, "record_token")
        return self.log_watcher.follow(request.cluster_id, query)

    def _log_query(
        self,
        request: service_pb.ListClusterLogsRequest | service_pb.StreamClusterLogsRequest,
        caller: Caller,
        token: str,
        token_field: str,
        order_by: str = "",
    ) -> LogQuery:
        record = self._cluster(request.cluster_id, caller, Permission.READ_LOGS)
        loaded = self._loaded(record)
        hosts: list[tuple[str, Path]] = [(host.name, loaded.directory(host)) for host in loaded.hosts]
        return log_query(request, hosts, token, token_field, order_by)

    @cached_property
    def log_watcher(self) -> LogWatcher:
        return LogWatcher(self._existing_clusters)

    def _existing_clusters(self, cluster_ids: list[str]) -> set[str]:
        with self.db.read() as conn:
            return {record.id for record in cluster_store.get_many(conn, cluster_ids)}
