"""`mredis worker` runs operations for a server that runs none itself; Cancel stops an
operation no worker has started; the Idempotency-Key header and metadata return the first
operation again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import grpc
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as cs
from yandex.cloud.mdb.redis.v1.cluster_service_pb2_grpc import ClusterServiceStub

from tests.support.clusters import create_body, wait_operation
from tests.support.processes import kill_all
from tests.support.server import host_network, running_server


def test_separate_worker_cancel_and_idempotency(tmp_path: Path) -> None:
    network = host_network()
    data_dir = tmp_path / "data"
    env = {"MREDIS_HOST_NETWORK": network}
    worker = None
    try:
        with running_server(data_dir, "--embedded-worker", "false", env=env) as server:
            # Nothing runs operations yet: this one can be cancelled, and undoes itself.
            pending = server.rest("POST", "/managed-redis/v1/clusters", json=create_body("cancelled-one", hosts=1))
            assert pending.status_code == 200 and "done" not in pending.json()  # false is omitted in JSON
            cluster_id = pending.json()["metadata"]["clusterId"]
            assert server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}").json()["status"] == "CREATING"
            cancelled = server.rest("POST", f"/operations/{pending.json()['id']}:cancel").json()
            assert cancelled["done"] is True and cancelled["error"]["code"] == 1
            assert server.rest("GET", f"/managed-redis/v1/clusters/{cluster_id}").status_code == 404

            # The same Idempotency-Key gives back the same operation, on both transports.
            headers = {"Idempotency-Key": "7f1e1a52-1f0e-4b5e-9d7a-2a9f0d7c1b11"}
            body = create_body("worker-made", hosts=1)
            first = server.rest("POST", "/managed-redis/v1/clusters", json=body, headers=dict(headers)).json()
            again = server.rest("POST", "/managed-redis/v1/clusters", json=body, headers=dict(headers)).json()
            assert again["id"] == first["id"]
            stub = ClusterServiceStub(
                grpc.secure_channel(server.grpc_addr, grpc.ssl_channel_credentials(server.ca_pem))
            )
            from google.protobuf import json_format

            request = json_format.ParseDict(body, cs.CreateClusterRequest())
            metadata = [
                ("authorization", f"Bearer {server.admin_token}"),
                ("idempotency-key", headers["Idempotency-Key"]),
            ]
            assert stub.Create(request, metadata=metadata).id == first["id"]

            worker = subprocess.Popen(
                [sys.executable, "-m", "managed_redis", "worker", "--data-dir", str(data_dir)],
                env={**os.environ, **env},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            done = wait_operation(server, first, timeout_s=60)
            assert done["response"]["status"] == "RUNNING"
            # A started operation is not cancelled: Cancel returns it as it is.
            assert server.rest("GET", f"/operations/{first['id']}:cancel").json() == done
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(30) == 0
            assert worker.stdout is not None
            output = worker.stdout.read()
            assert "worker" in output and "running" in output
            worker = None
    finally:
        if worker is not None:
            worker.kill()
        kill_all(network)


def test_serve_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    with running_server(tmp_path / "data") as server:
        process = server.process
    assert process.returncode == 0
