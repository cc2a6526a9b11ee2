"""The engine's reading of Sentinels against real ones: which master each names, and whether
one is failing the master over (what keeps the supervisor from forcing a second failover)."""

from __future__ import annotations

from managed_redis.app import build_components
from managed_redis.operations.loaded_cluster import LoadedCluster
from managed_redis.settings import load_settings
from tests.support.clusters import admin_client, create_body, master_of, run, wait_alive
from tests.support.server import RunningServer, wait_until


def test_a_sentinel_failing_over_says_so_and_then_names_the_new_master(server: RunningServer) -> None:
    cluster_id = run(server, "POST", "/managed-redis/v1/clusters", create_body("failing-over", hosts=3))["response"][
        "id"
    ]
    wait_alive(server, cluster_id)
    settings = load_settings(env={"MREDIS_DATA_DIR": str(server.data_dir), "MREDIS_HOST_NETWORK": server.network})
    components = build_components(settings)
    engine = components.deps.engine
    loaded = LoadedCluster.load(components.db, components.deps, cluster_id)
    master = next(host for host in loaded.hosts if host.name == master_of(server, cluster_id))
    sentinels = [loaded.sentinel(host, master) for host in loaded.hosts]
    assert [engine.failing_over(s) for s in sentinels] == [False, False, False]
    assert {engine.master_seen_by(s) for s in sentinels} == {master.address}

    asked = sentinels[0]
    admin_client(server, asked.address, port=asked.port).execute_command("SENTINEL", "FAILOVER", asked.master_name)
    assert engine.failing_over(asked)  # from the moment it takes the command
    wait_until(lambda: not engine.failing_over(asked), timeout_s=60, message="the failover never ended")
    wait_until(
        lambda: {engine.master_seen_by(s) for s in sentinels} - {master.address, None} != set(),
        timeout_s=60,
        message="no Sentinel named a new master",
    )
    wait_alive(server, cluster_id)
    components.db.dispose()
