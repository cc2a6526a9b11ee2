"""ListLogs and StreamLogs through the official SDK: a follower sees what a Backup and a
failover write, and its stream ends when the cluster is deleted."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from google.protobuf import empty_pb2
from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as cs
from yandex.cloud.mdb.redis.v1.cluster_service_pb2_grpc import ClusterServiceStub

from tests.support.sdk_operations import create_two_host_cluster, wait_result
from tests.support.server import RunningServer


def _follow(stream: Any, out: queue.Queue[Any]) -> None:
    try:
        for item in stream:
            out.put(item)
        out.put("ended")
    except Exception as error:
        out.put(error)


def _until(items: queue.Queue[Any], wanted: Callable[[Any], bool], timeout_s: float = 90) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        item = items.get(timeout=max(0.1, deadline - time.monotonic()))
        if wanted(item):
            return item
        assert not isinstance(item, Exception), item


def _says(*words: str) -> Callable[[Any], bool]:
    return lambda item: (
        isinstance(item, cs.StreamLogRecord) and any(word in item.record.message["message"] for word in words)
    )


def test_sdk_lists_and_follows_logs(cluster_server: RunningServer) -> None:
    sdk = cluster_server.sdk()
    clusters = sdk.client(ClusterServiceStub)
    created = create_two_host_cluster(sdk, "sdk-logs")
    hosts = {h.name for h in clusters.ListHosts(cs.ListClusterHostsRequest(cluster_id=created.id)).hosts}

    listed = clusters.ListLogs(
        cs.ListClusterLogsRequest(cluster_id=created.id, service_type=cs.ListClusterLogsRequest.REDIS, page_size=1000)
    )
    assert {r.message["hostname"] for r in listed.logs} == hosts
    assert {r.message["role"] for r in listed.logs} >= {"M", "S", "X"}

    items: queue.Queue[Any] = queue.Queue()
    stream = clusters.StreamLogs(cs.StreamClusterLogsRequest(cluster_id=created.id))
    threading.Thread(target=_follow, args=(stream, items), daemon=True).start()
    assert isinstance(items.get(timeout=30), cs.StreamLogRecord)

    wait_result(
        sdk,
        clusters.Backup(cs.BackupClusterRequest(cluster_id=created.id)),
        response_type=cluster_pb2.Cluster,
        meta_type=cs.BackupClusterMetadata,
    )
    _until(items, _says("DB saved on disk", "Background saving terminated with success"))

    wait_result(
        sdk,
        clusters.StartFailover(cs.StartClusterFailoverRequest(cluster_id=created.id)),
        response_type=cluster_pb2.Cluster,
        meta_type=cs.StartClusterFailoverMetadata,
    )
    _until(items, _says("+switch-master", "MASTER MODE enabled"))

    wait_result(
        sdk,
        clusters.Delete(cs.DeleteClusterRequest(cluster_id=created.id)),
        response_type=empty_pb2.Empty,
        meta_type=cs.DeleteClusterMetadata,
    )
    assert _until(items, lambda item: not isinstance(item, cs.StreamLogRecord)) == "ended"
