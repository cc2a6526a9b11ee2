"""What Get shows as the cloud does (api.md §4, §10.5): isHa, config.fullVersion and
monitoring filled; a legacy ``redisConfig_7_0`` given on Create read back where it was
written; and a change refused while another operation holds the cluster naming that
operation in the words Terraform waits on (api.md §10.1)."""

from __future__ import annotations

import re
import subprocess

import grpc
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as cs
from yandex.cloud.mdb.redis.v1.cluster_service_pb2_grpc import ClusterServiceStub

from tests.support.clusters import PASSWORD, create_body, run, wait_operation
from tests.support.server import RunningServer


def server_version() -> str:
    output = subprocess.run(["redis-server", "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"v=(\d+\.\d+\.\d+)", output)
    assert match, output
    return match.group(1)


def test_get_fills_is_ha_full_version_monitoring_and_the_legacy_config(cluster_server: RunningServer) -> None:
    server = cluster_server
    body = create_body("fidelity-ha", hosts=3)
    body["configSpec"] = {
        "version": "7.0",
        "resources": {"resourcePresetId": "hm1.nano"},
        "redisConfig_7_0": {"password": PASSWORD, "maxmemoryPolicy": "ALLKEYS_LRU", "timeout": "30"},
    }
    created = run(server, "POST", "/managed-redis/v1/clusters", body)["response"]
    shown = server.rest("GET", f"/managed-redis/v1/clusters/{created['id']}").json()
    assert shown["isHa"] is True
    assert shown["config"]["version"] == "7.0" and shown["config"]["fullVersion"] == server_version()
    legacy = shown["config"]["redisConfig_7_0"]
    assert legacy["userConfig"] == {"maxmemoryPolicy": "ALLKEYS_LRU", "timeout": "30"}
    assert legacy["effectiveConfig"]["maxmemoryPolicy"] == "ALLKEYS_LRU" and "password" not in str(legacy)
    shards = server.rest("GET", f"/managed-redis/v1/clusters/{created['id']}/shards").json()["shards"]
    assert [shard.get("isHa") for shard in shards] == [True]
    monitoring = {m["name"]: m["link"] for m in shown["monitoring"]}
    hosts = server.rest("GET", monitoring["Hosts"])
    assert hosts.status_code == 200 and len(hosts.json()["hosts"]) == 3
    # The same over gRPC.
    channel = grpc.secure_channel(server.grpc_addr, grpc.ssl_channel_credentials(server.ca_pem))
    metadata = [("authorization", f"Bearer {server.admin_token}")]
    over_grpc = ClusterServiceStub(channel).Get(cs.GetClusterRequest(cluster_id=created["id"]), metadata=metadata)
    assert over_grpc.is_ha and over_grpc.config.full_version == server_version()
    assert over_grpc.config.redis_config_7_0.user_config.timeout.value == 30

    single = run(server, "POST", "/managed-redis/v1/clusters", create_body("fidelity-single", hosts=1))["response"]
    assert server.rest("GET", f"/managed-redis/v1/clusters/{single['id']}").json().get("isHa", False) is False
    [shard] = server.rest("GET", f"/managed-redis/v1/clusters/{single['id']}/shards").json()["shards"]
    assert shard.get("isHa", False) is False


def test_a_change_while_another_operation_runs_names_it_as_terraform_expects(cluster_server: RunningServer) -> None:
    server = cluster_server
    cluster = run(server, "POST", "/managed-redis/v1/clusters", create_body("fidelity-busy", hosts=1))["response"]
    path = f"/managed-redis/v1/clusters/{cluster['id']}"
    first = server.rest("POST", f"{path}:stop").json()
    # Whatever status the running operation put the cluster in, the refusal names it.
    for method, suffix, body in [
        ("PATCH", "", {"updateMask": "description", "description": "x"}),
        ("POST", ":start", {}),
        ("POST", ":backup", {}),
    ]:
        refused = server.rest(method, path + suffix, json=body)
        assert refused.status_code == 400 and refused.json()["code"] == 9, refused.text
        # Terraform's pattern (pkg/retry/retry.go): `Conflicting operation (.+) detected`.
        conflict = re.search(r"Conflicting operation (.+) detected", refused.json()["message"])
    assert conflict is not None and conflict.group(1) == first["id"]
    assert "error" not in wait_operation(server, first)
    started = run(server, "POST", f"{path}:start")
    assert started["response"]["status"] == "RUNNING"
