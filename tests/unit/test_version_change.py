"""Which version an Update may move a cluster to (services/cluster_checks.check_version_change)."""

from __future__ import annotations

import pytest

from managed_redis.catalog.versions import RedisVersion
from managed_redis.services.cluster_checks import check_version_change

V62 = RedisVersion("6.2", "redis", 6, 2, 14, "/bin/redis-6")
V70 = RedisVersion("7.0", "redis", 7, 0, 15, "/bin/redis-server")
V81 = RedisVersion("8.1-valkey", "valkey", 8, 1, 8, "/bin/valkey-server")
HERE = [V62, V70, V81]


@pytest.mark.parametrize(
    ("current", "requested", "expected"),
    [(V70, "", V70), (V70, "7.0", V70), (V70, "8.1-valkey", V81), (V62, "8.1-valkey", V81), (V62, "7.0", V70)],
)
def test_same_or_newer_version_is_taken(current: RedisVersion, requested: str, expected: RedisVersion) -> None:
    assert check_version_change(current, requested, HERE) == (expected, [])


@pytest.mark.parametrize(
    ("current", "requested", "message"),
    [
        (V81, "7.0", "cannot go from 8.1-valkey to 7.0 (no downgrade); 8.1-valkey may move to: none"),
        (V70, "6.2", "cannot go from 7.0 to 6.2 (no downgrade); 7.0 may move to: 8.1-valkey"),
        (V62, "9.9-valkey", "version '9.9-valkey' not found; 6.2 may move to: 7.0, 8.1-valkey"),
        (V70, "8.1", "version '8.1' not found; 7.0 may move to: 8.1-valkey"),
    ],
)
def test_downgrade_or_unknown_names_the_field_and_the_choices(
    current: RedisVersion, requested: str, message: str
) -> None:
    version, problems = check_version_change(current, requested, HERE)
    assert version is None
    assert [(p.field, p.description) for p in problems] == [("config_spec.version", message)]
