"""Backups of real data and restores into new clusters, on the file store and on S3."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support import s3
from tests.support.clusters import client, create_body, create_cluster, hosts_of, master_of, run, wait_operation
from tests.support.dataset import fill, picture
from tests.support.processes import kill_all, redis_processes
from tests.support.server import RunningServer, host_network, running_server, wait_until

KEYS = 100_000


@contextmanager
def server_with_store(kind: str, tmp_path: Path) -> Iterator[tuple[RunningServer, dict[str, str] | None]]:
    network = host_network()
    env = {"MREDIS_HOST_NETWORK": network}
    try:
        if kind == "file":
            with running_server(tmp_path / "data", env=env) as server:
                yield server, None
        else:
            with s3.s3_server("mredis-backups") as s3_env:
                env.update(s3_env, MREDIS_BACKUP_STORE="s3://mredis-backups/test-prefix")
                with running_server(tmp_path / "data", env=env) as server:
                    yield server, s3_env
    finally:
        kill_all(network)


def restore_body(backup_id: str, name: str, hosts: int = 2) -> dict[str, Any]:
    body = create_body(name, hosts)
    body.pop("folderId")
    body["backupId"] = backup_id
    return body


@pytest.mark.parametrize("store", ["file", "s3"])
def test_round_trip_keeps_exactly_the_snapshot(store: str, tmp_path: Path) -> None:
    with server_with_store(store, tmp_path) as (server, s3_env):
        cluster = create_cluster(server, f"backup-src-{store}", hosts=3)
        cluster_id = cluster["id"]
        source = client(master_of(server, cluster_id))
        fill(source, KEYS)
        replicas = [h["name"] for h in hosts_of(server, cluster_id) if h["role"] == "REPLICA"]
        wait_until(lambda: all(client(r).dbsize() == KEYS for r in replicas), timeout_s=60)
        snapshot = picture(source)
        assert len(snapshot) == KEYS

        done = run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:backup")
        assert done["response"]["status"] == "RUNNING"
        # Writes after the backup must not be in the restore; deletions must not matter.
        source.set("written-after-backup", "x")
        source.delete("d:string:0")
        backups = server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}/backups").json()["backups"]
        assert len(backups) == 1 and backups[0]["type"] == "MANUAL" and backups[0]["sourceShardNames"] == ["shard1"]
        backup_id = backups[0]["id"]
        assert backup_id.startswith(f"{cluster_id}:")
        if s3_env:
            listed = s3.client(s3_env).list_objects_v2(Bucket="mredis-backups", Prefix="test-prefix/")
            assert [o["Key"] for o in listed["Contents"]] == [
                f"test-prefix/{backup_id.replace(':', '/')}/shard1.rdb.zst"
            ]

        restored = run(
            server, "POST", "/managed-redis/v1/clusters:restore", restore_body(backup_id, f"restored-{store}")
        )
        assert restored["metadata"]["backupId"] == backup_id
        new_id = restored["response"]["id"]
        assert new_id != cluster_id and restored["response"]["status"] == "RUNNING"
        new_hosts = hosts_of(server, new_id)
        target = client(master_of(server, new_id))
        assert picture(target) == snapshot
        replica = next(h["name"] for h in new_hosts if h["role"] == "REPLICA")
        assert picture(client(replica)) == snapshot
        # The replica loaded the snapshot beside its master and linked up without a full copy.
        stats = target.info("stats")
        assert (stats["sync_full"], stats["sync_partial_ok"]) == (0, 1)
        assert server.rest("GET", f"/managed-redis/v1/clusters/{new_id}").json()["health"] == "ALIVE"


def test_corrupt_or_missing_backup_fails_cleanly(tmp_path: Path) -> None:
    with server_with_store("file", tmp_path) as (server, _):
        cluster = create_cluster(server, "backup-corrupt-src", hosts=1)
        fill(client(master_of(server, cluster["id"])), 20_000)  # big enough to be damaged mid-stream
        run(server, "POST", f"/managed-redis/v1/clusters/{cluster['id']}:backup")
        backup_id = server.rest("GET", f"/managed-redis/v1/clusters/{cluster['id']}/backups").json()["backups"][0]["id"]
        stored = server.data_dir / "backups" / backup_id.replace(":", "/") / "shard1.rdb.zst"
        data = bytearray(stored.read_bytes())
        data[len(data) // 2] ^= 0xFF
        stored.write_bytes(bytes(data))
        before = set(redis_processes(server.network))

        response = server.rest(
            "POST", "/managed-redis/v1/clusters:restore", json=restore_body(backup_id, "from-corrupt")
        )
        done = wait_operation(server, response.json())
        assert done["error"]["code"] == 15
        assert "corrupt" in done["error"]["message"] and backup_id in done["error"]["message"]
        new_id = done["metadata"]["clusterId"]
        assert server.rest("GET", f"/managed-redis/v1/clusters/{new_id}").json()["status"] == "ERROR"
        assert set(redis_processes(server.network)) == before
        assert not any((server.data_dir / "hosts").glob("*/dump.rdb.restoring"))

        stored.unlink()
        response = server.rest(
            "POST", "/managed-redis/v1/clusters:restore", json=restore_body(backup_id, "from-missing")
        )
        done = wait_operation(server, response.json())
        assert done["error"]["code"] == 15 and "missing" in done["error"]["message"]
        assert set(redis_processes(server.network)) == before

        unknown = server.rest(
            "POST", "/managed-redis/v1/clusters:restore", json=restore_body("c9qnone:20200101T000000", "x")
        )
        assert unknown.status_code == 404


def test_backup_refused_on_a_stopped_cluster_and_backups_outlive_their_cluster(tmp_path: Path) -> None:
    with server_with_store("file", tmp_path) as (server, _):
        cluster = create_cluster(server, "backup-rules", hosts=1)
        cluster_id = cluster["id"]
        run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:backup")
        run(server, "POST", f"/managed-redis/v1/clusters/{cluster_id}:stop")
        refused = server.rest("POST", f"/managed-redis/v1/clusters/{cluster_id}:backup")
        assert refused.status_code == 400 and "STOPPED" in refused.json()["message"]
        run(server, "DELETE", f"/managed-redis/v1/clusters/{cluster_id}")
        from tests.support.clusters import FOLDER

        listed = server.rest("GET", f"/managed-redis/v1/backups?folderId={FOLDER}").json()["backups"]
        assert [b["sourceClusterId"] for b in listed] == [cluster_id]
        backup_id = listed[0]["id"]
        deleted = run(server, "DELETE", f"/managed-redis/v1/backups/{backup_id}")
        assert deleted["metadata"]["backupId"] == backup_id
        assert server.rest("GET", f"/managed-redis/v1/backups/{backup_id}").status_code == 404
        assert not (server.data_dir / "backups" / backup_id.replace(":", "/")).joinpath("shard1.rdb.zst").exists()
