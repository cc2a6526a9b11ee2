"""Planned maintenance through the official SDK: a cluster created on the machine's
redis-server, a server restarted with a newer patch installed (a wrapper saying 7.0.99),
then MaintenanceService List/Get/Reschedule and ClusterService.RescheduleMaintenance as
Terraform and the CLI call them, refusals included."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import grpc
import pytest
from yandex.cloud.maintenance.v2 import common_pb2 as mp
from yandex.cloud.mdb.redis.v1 import cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as cs
from yandex.cloud.mdb.redis.v1 import maintenance_service_pb2 as ms
from yandex.cloud.mdb.redis.v1.cluster_service_pb2_grpc import ClusterServiceStub
from yandex.cloud.mdb.redis.v1.maintenance_service_pb2_grpc import MaintenanceServiceStub

from tests.support.clusters import FOLDER
from tests.support.patch_release import NEW, OLD, write_wrapper
from tests.support.processes import kill_all
from tests.support.sdk_operations import create_two_host_cluster, wait_result
from tests.support.server import RunningServer, host_network, running_server, wait_until

Servers = tuple[RunningServer, str]  # the server with the new patch installed, the cluster planned for


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    network = host_network()
    data_dir = tmp_path_factory.mktemp("sdk-maintenance")
    wrapper, _ = write_wrapper(tmp_path_factory.mktemp("binaries"))
    env = {"MREDIS_HOST_NETWORK": network, "MREDIS_DEFAULT_VERSION": "7.0", "MREDIS_MAINTENANCE_PERIOD_S": "86400"}
    try:
        with running_server(data_dir, env=env) as before:
            cluster = create_two_host_cluster(before.sdk(), "sdk-maintained")
            assert cluster.config.full_version == OLD and not cluster.HasField("planned_operation")
        with running_server(data_dir, env={**env, "MREDIS_REDIS_BINARIES": str(wrapper)}) as server:
            yield server, cluster.id
    finally:
        kill_all(network)


def test_list_get_and_reschedule(upgraded: Servers) -> None:
    server, cluster_id = upgraded
    sdk = server.sdk()
    clusters = sdk.client(ClusterServiceStub)
    maintenances = sdk.client(MaintenanceServiceStub)

    planned = clusters.Get(cs.GetClusterRequest(cluster_id=cluster_id)).planned_operation
    assert planned.info == f"Update Redis {OLD} to {NEW}"
    listed = maintenances.List(mp.ListMaintenancesRequest(folder_id=FOLDER, filter='status = "SCHEDULED"'))
    (maintenance,) = [m for m in listed.maintenances if m.resource_path[0].id == cluster_id]
    assert maintenance.status == mp.Maintenance.SCHEDULED and maintenance.user_controllable
    assert maintenance.start_scheduled_at == planned.delayed_until
    assert [(r.id, r.type) for r in maintenance.resource_path] == [
        (cluster_id, "managed-redis.cluster"),
        (FOLDER, "resource-manager.folder"),
    ]
    assert maintenances.Get(mp.GetMaintenanceRequest(maintenance_id=maintenance.id)) == maintenance
    by_cluster = maintenances.List(mp.ListMaintenancesRequest(resource_id=cluster_id, order_by="created_at desc"))
    assert [m.id for m in by_cluster.maintenances] == [maintenance.id]

    first = maintenance.start_scheduled_at.ToDatetime(dt.UTC)
    request = mp.RescheduleMaintenanceRequest(
        maintenance_id=maintenance.id, reschedule_type=mp.RescheduleMaintenanceRequest.SPECIFIC_TIME
    )
    request.scheduled_at.FromDatetime(first + dt.timedelta(days=2))
    moved = wait_result(
        sdk,
        maintenances.Reschedule(request),
        response_type=mp.Maintenance,
        meta_type=ms.RescheduleMaintenanceV2Metadata,
    )
    assert moved.meta.reschedule_type == mp.RescheduleMaintenanceRequest.SPECIFIC_TIME
    assert moved.response.start_scheduled_at.ToDatetime(dt.UTC) == first + dt.timedelta(days=2)

    back = wait_result(
        sdk,
        clusters.RescheduleMaintenance(
            cs.RescheduleMaintenanceRequest(
                cluster_id=cluster_id, reschedule_type=cs.RescheduleMaintenanceRequest.NEXT_AVAILABLE_WINDOW
            )
        ),
        response_type=cluster_pb2.Cluster,
        meta_type=cs.RescheduleMaintenanceMetadata,
    )
    assert back.meta.cluster_id == cluster_id
    assert back.response.planned_operation.delayed_until == back.meta.delayed_until

    too_late = cs.RescheduleMaintenanceRequest(
        cluster_id=cluster_id, reschedule_type=cs.RescheduleMaintenanceRequest.SPECIFIC_TIME
    )
    too_late.delayed_until.FromDatetime(first + dt.timedelta(days=15))
    with pytest.raises(grpc.RpcError) as refused:
        clusters.RescheduleMaintenance(too_late)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "delayed_until" in refused.value.details()
    with pytest.raises(grpc.RpcError) as cloud:
        maintenances.List(mp.ListMaintenancesRequest(cloud_id="b1gcloud"))
    assert cloud.value.code() == grpc.StatusCode.UNIMPLEMENTED
    with pytest.raises(grpc.RpcError) as bad_filter:
        maintenances.List(mp.ListMaintenancesRequest(folder_id=FOLDER, filter="status > 1"))
    assert bad_filter.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "filter" in bad_filter.value.details()

    now = mp.RescheduleMaintenanceRequest(
        maintenance_id=maintenance.id, reschedule_type=mp.RescheduleMaintenanceRequest.IMMEDIATE
    )
    wait_result(
        sdk, maintenances.Reschedule(now), response_type=mp.Maintenance, meta_type=ms.RescheduleMaintenanceV2Metadata
    )
    wait_until(
        lambda: (
            maintenances.Get(mp.GetMaintenanceRequest(maintenance_id=maintenance.id)).status == mp.Maintenance.SUCCEEDED
        ),
        timeout_s=120,
        message="the immediate maintenance did not finish",
    )
    after = clusters.Get(cs.GetClusterRequest(cluster_id=cluster_id))
    assert after.config.full_version == NEW and not after.HasField("planned_operation")


def test_nothing_planned_is_a_failed_precondition(upgraded: Servers) -> None:
    server, _ = upgraded
    sdk = server.sdk()
    fresh = create_two_host_cluster(sdk, "sdk-fresh")  # created on the new patch: nothing to do
    assert fresh.config.full_version == NEW
    with pytest.raises(grpc.RpcError) as refused:
        sdk.client(ClusterServiceStub).RescheduleMaintenance(
            cs.RescheduleMaintenanceRequest(
                cluster_id=fresh.id, reschedule_type=cs.RescheduleMaintenanceRequest.IMMEDIATE
            )
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"no maintenance is planned for cluster {fresh.id}" in refused.value.details()
