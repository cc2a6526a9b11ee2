"""Backup and restore with the official SDK."""

from __future__ import annotations

from yandex.cloud.mdb.redis.v1 import backup_pb2, cluster_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as cs
from yandex.cloud.mdb.redis.v1.backup_service_pb2 import GetBackupRequest
from yandex.cloud.mdb.redis.v1.backup_service_pb2_grpc import BackupServiceStub
from yandex.cloud.mdb.redis.v1.cluster_service_pb2_grpc import ClusterServiceStub

from tests.support.clusters import FOLDER, client
from tests.support.dataset import fill, picture
from tests.support.sdk_operations import config, create_two_host_cluster, master, wait_result
from tests.support.server import RunningServer


def test_backup_list_restore(cluster_server: RunningServer) -> None:
    sdk = cluster_server.sdk()
    clusters = sdk.client(ClusterServiceStub)
    created = create_two_host_cluster(sdk, "sdk-backup-source")
    source = client(master(clusters, created.id))
    fill(source, 3000)
    expected = picture(source)

    backed_up = wait_result(
        sdk,
        clusters.Backup(cs.BackupClusterRequest(cluster_id=created.id)),
        response_type=cluster_pb2.Cluster,
        meta_type=cs.BackupClusterMetadata,
    )
    assert backed_up.meta.cluster_id == created.id and backed_up.response.status == cluster_pb2.Cluster.RUNNING
    backups = clusters.ListBackups(cs.ListClusterBackupsRequest(cluster_id=created.id)).backups
    assert len(backups) == 1 and backups[0].type == backup_pb2.Backup.MANUAL
    fetched = sdk.client(BackupServiceStub).Get(GetBackupRequest(backup_id=backups[0].id))
    assert fetched.source_cluster_id == created.id and list(fetched.source_shard_names) == ["shard1"]

    restored = wait_result(
        sdk,
        clusters.Restore(
            cs.RestoreClusterRequest(
                backup_id=backups[0].id,
                name="sdk-restored",
                environment=cluster_pb2.Cluster.PRESTABLE,
                config_spec=config(),
                host_specs=[cs.HostSpec(zone_id="ru-central1-d")],
            )
        ),
        response_type=cluster_pb2.Cluster,
        meta_type=cs.RestoreClusterMetadata,
    )
    assert restored.meta.backup_id == backups[0].id
    assert restored.response.folder_id == FOLDER and restored.response.status == cluster_pb2.Cluster.RUNNING
    assert picture(client(master(clusters, restored.response.id))) == expected
