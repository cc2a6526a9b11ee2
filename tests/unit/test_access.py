"""Roles, permissions and the tokens file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from managed_redis.api.auth import Authenticator, TokensFileError, ensure_admin_token, parse_tokens_file
from managed_redis.errors import NotFound, PermissionDenied, Unauthenticated
from managed_redis.services.access import Permission, Principal


def test_roles_grant_their_permissions_per_folder() -> None:
    viewer = Principal("v", {"f1": frozenset({"managed-redis.viewer"})})
    editor = Principal("e", {"f1": frozenset({"managed-redis.editor"})})
    assert viewer.can("f1", Permission.READ) and not viewer.can("f1", Permission.MUTATE)
    assert editor.can("f1", Permission.MUTATE) and not editor.can("f1", Permission.MANAGE_ACCESS)
    assert not editor.can("f2", Permission.READ)
    with pytest.raises(PermissionDenied, match=r"managed-redis\.editor or stronger"):
        viewer.require("f1", Permission.MUTATE)


def test_wildcard_folder_and_admin_everywhere() -> None:
    everywhere = Principal("w", {"*": frozenset({"managed-redis.viewer"})})
    assert everywhere.can("any", Permission.READ)
    admin = Principal("admin", admin_everywhere=True)
    assert admin.can("any", Permission.MANAGE_ACCESS)


def test_admin_token_file_is_created_private(tmp_path: Path) -> None:
    token, created = ensure_admin_token(tmp_path / "admin-token", None)
    assert created and len(token) >= 40
    assert (tmp_path / "admin-token").stat().st_mode & 0o777 == 0o600
    assert ensure_admin_token(tmp_path / "admin-token", None) == (token, False)


def test_tokens_file_is_read_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    auth = Authenticator("admin-secret", path)
    assert auth.authenticate("Bearer admin-secret").admin_everywhere
    with pytest.raises(Unauthenticated):
        auth.authenticate("Bearer alice-token")
    path.write_text(
        json.dumps({"tokens": [{"subject": "alice", "token": "alice-token", "roles": {"f": ["managed-redis.viewer"]}}]})
    )
    alice = auth.authenticate("Bearer alice-token")
    assert alice.subject_id == "alice" and alice.can("f", Permission.READ)
    with pytest.raises(Unauthenticated, match="Bearer"):
        auth.authenticate("Basic abc")
    with pytest.raises(Unauthenticated):
        auth.authenticate(None)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"tokens": [{"token": "x"}]},
        {"tokens": [{"subject": "a"}]},
        {"tokens": [{"subject": "a", "token": "x", "roles": {"f": ["managed-redis.superuser"]}}]},
    ],
)
def test_malformed_tokens_files_are_refused(data: dict[str, Any]) -> None:
    with pytest.raises(TokensFileError):
        parse_tokens_file(data)


def test_a_caller_who_cannot_see_a_resource_is_told_it_does_not_exist() -> None:
    outsider = Principal("o", {"f2": frozenset({"managed-redis.admin"})})
    with pytest.raises(NotFound) as hidden:
        outsider.require_on("cluster c1", "f1", Permission.MUTATE)
    # The same words a missing cluster gets, and no folder named.
    assert hidden.value.message == "cluster c1 does not exist" and "f1" not in hidden.value.message


def test_a_caller_who_sees_a_resource_but_lacks_the_right_is_denied_without_its_folder() -> None:
    viewer = Principal("v", {"f1": frozenset({"managed-redis.viewer"})})
    with pytest.raises(PermissionDenied, match=r"may not change on cluster c1.*managed-redis\.editor") as denied:
        viewer.require_on("cluster c1", "f1", Permission.MUTATE)
    assert "f1" not in denied.value.message
    viewer.require_on("cluster c1", "f1", Permission.READ)
    # A role bound on the resource lets one see it, and do what that role allows.
    bound = Principal("b")
    bound.require_on("cluster c1", "f1", Permission.MUTATE, frozenset({"managed-redis.editor"}))
    with pytest.raises(PermissionDenied):
        bound.require_on("cluster c1", "f1", Permission.MANAGE_ACCESS, frozenset({"managed-redis.editor"}))
