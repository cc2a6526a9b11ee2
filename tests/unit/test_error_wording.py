"""What callers read in errors: no server paths, the right code for what ran short or is missing."""

from __future__ import annotations

import ipaddress
from types import SimpleNamespace

import pytest
from google.rpc import code_pb2

from managed_redis.engine.addresses import AddressesExhausted, allocate
from managed_redis.errors import ApiError, FailedPrecondition, Internal, NotFound, without_paths
from managed_redis.operations.deps import Deps
from managed_redis.operations.loaded_cluster import LoadedCluster
from managed_redis.operations.worker import status_of


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "redis on rc1a-1 exited while starting; see /tmp/pytest-of-ci/e2e0/data/hosts/rc1a-1/redis.log",
            "redis on rc1a-1 exited while starting; see …/redis.log",
        ),
        (
            "[Errno 2] No such file or directory: '/var/lib/mredis/dump.rdb'",
            "[Errno 2] No such file or directory: '…/dump.rdb'",
        ),
        ("the host network 127.20.0.0/16 is full", "the host network 127.20.0.0/16 is full"),
        ("bucket at http://127.0.0.1:9000/backups/c9q", "bucket at http://127.0.0.1:9000/backups/c9q"),
        ("use shard-1/ or a/b/c", "use shard-1/ or a/b/c"),
    ],
)
def test_without_paths_keeps_everything_but_server_paths(text: str, shown: str) -> None:
    assert without_paths(text) == shown


def test_an_operation_error_names_no_server_path() -> None:
    error = Internal("BGSAVE on rc1a-1 failed; see /srv/mredis/hosts/rc1a-1/redis.log")
    status = status_of(error)
    assert status.code == code_pb2.INTERNAL
    assert status.message == "BGSAVE on rc1a-1 failed; see …/redis.log"


def test_a_full_host_network_is_resource_exhausted_saying_what_is_short() -> None:
    network = ipaddress.IPv4Network("127.30.0.0/29")  # .1 to .6
    used = ["127.30.0.1", "127.30.0.2", "127.30.0.3"]
    assert allocate(network, used, 3) == ["127.30.0.4", "127.30.0.5", "127.30.0.6"]
    with pytest.raises(AddressesExhausted) as caught:
        allocate(network, used, 4)
    assert isinstance(caught.value, ApiError) and caught.value.code == code_pb2.RESOURCE_EXHAUSTED
    assert caught.value.message.startswith("the host network 127.30.0.0/29 has 3 free addresses and 4 hosts need")
    assert "MREDIS_HOST_NETWORK" in caught.value.message


def test_not_found_is_a_lookup_error_for_code_that_looks_things_up() -> None:
    with pytest.raises(LookupError):
        raise NotFound("host rc1a-9 is not part of cluster c9q1")


def test_what_operations_look_up_and_miss_is_the_callers_error_not_internal() -> None:
    # Only the parts a lookup reads are real: a cluster id, and no hosts or shards.
    plan = LoadedCluster(deps=None, record=SimpleNamespace(id="c9q1"), hosts=[], shards=[])  # type: ignore[arg-type]
    with pytest.raises(NotFound, match="^host rc1a-9 is not part of cluster c9q1$"):
        plan.host("rc1a-9")
    # Only the versions are read; nothing else may be touched.
    deps = Deps(settings=None, engine=None, vault=None, ca=None, versions=(), backups=None)  # type: ignore[arg-type]
    with pytest.raises(FailedPrecondition, match="^Redis 6.0 is not available on this machine any more$"):
        deps.version("6.0")
