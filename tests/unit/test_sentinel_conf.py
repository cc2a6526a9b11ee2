"""A Sentinel's ``default`` user (the clients'): ``nopass`` without ``auth_sentinel``, the
cluster password's digest with it, in a fresh config and in a stopped Sentinel's kept one;
the control plane's own Sentinel user is the same either way."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from managed_redis.engine import conf
from managed_redis.engine.local import LocalEngine
from managed_redis.engine.model import Credentials, Sentinel

CREDENTIALS = Credentials(password="Cluster-Password-1", admin_password="admin-secret")


def sentinel(directory: Path, auth: bool) -> Sentinel:
    return Sentinel(
        name="host-a",
        address="10.0.0.1",
        directory=directory,
        binary="redis-server",
        credentials=CREDENTIALS,
        master_name="cache",
        master_address="10.0.0.1",
        quorum=2,
        down_after_ms=5000,
        sentinel_ids={"10.0.0.1": "a" * 40},
        auth=auth,
    )


def users(text: str) -> dict[str, str]:
    return {line.split()[1]: line for line in text.splitlines() if line.startswith("user ")}


def test_the_default_user_needs_the_cluster_password_only_with_auth(tmp_path: Path) -> None:
    open_conf = users(conf.sentinel_conf(sentinel(tmp_path, auth=False)))
    auth_conf = users(conf.sentinel_conf(sentinel(tmp_path, auth=True)))
    digest = conf.sha256(CREDENTIALS.password)
    assert " nopass " in open_conf["default"] and digest not in open_conf["default"]
    assert f" #{digest} " in auth_conf["default"] and "nopass" not in auth_conf["default"]
    assert CREDENTIALS.password not in conf.sentinel_conf(sentinel(tmp_path, auth=True))
    assert open_conf["default"].replace("nopass", f"#{digest}") == auth_conf["default"]
    assert open_conf["mredis"] == auth_conf["mredis"]


def test_a_stopped_sentinels_kept_config_gets_the_new_rule_and_keeps_the_rest(tmp_path: Path) -> None:
    stopped = sentinel(tmp_path, auth=False)
    kept = conf.sentinel_conf(stopped) + "sentinel current-epoch 7\n"
    stopped.conf_file.write_text(kept)
    LocalEngine().set_sentinel_auth(dataclasses.replace(stopped, auth=True))
    text = stopped.conf_file.read_text()
    assert users(text)["default"] == f"user {conf.sentinel_default_user(dataclasses.replace(stopped, auth=True))}"
    assert [line for line in text.splitlines() if not line.startswith("user default ")] == [
        line for line in kept.splitlines() if not line.startswith("user default ")
    ]
