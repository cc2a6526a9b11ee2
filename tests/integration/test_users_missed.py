"""A host that runs but does not answer while the users change (here: stopped by SIGSTOP) keeps
the old users in memory when it comes back; the supervisor gives it the declared ones without
restarting it. The server here waits long before it deems a silent replica hung, so that no
restart (which would read users.acl anyway) hides what is tested."""

from __future__ import annotations

import os
import signal

import pytest

from tests.integration.test_users import APP_PASSWORD, APP_SPEC, NEW_PASSWORD, logs_in, refused_login, users_path
from tests.support.clusters import create_cluster, hosts_of, run
from tests.support.processes import pid_of
from tests.support.server import RunningServer, wait_until


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"MREDIS_FENCE_AFTER_S": "300"}


def test_a_replica_silent_while_the_password_changed_is_corrected_when_it_answers(
    server: RunningServer, network: str
) -> None:
    cluster = create_cluster(server, "users-missed", hosts=2, userSpecs=[APP_SPEC])
    cluster_id = cluster["id"]
    replica = next(h["name"] for h in hosts_of(server, cluster_id) if h.get("role") == "REPLICA")
    assert logs_in(replica, APP_PASSWORD)
    pid = pid_of(network, f"{replica}:6379")
    os.kill(pid, signal.SIGSTOP)
    try:
        run(server, "PATCH", users_path(cluster_id, "app"), {"updateMask": "passwords", "passwords": [NEW_PASSWORD]})
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_until(lambda: logs_in(replica, NEW_PASSWORD), timeout_s=60, message="the replica kept the old users")
    assert refused_login(replica, APP_PASSWORD)
    assert pid_of(network, f"{replica}:6379") == pid  # given the users live, not restarted
