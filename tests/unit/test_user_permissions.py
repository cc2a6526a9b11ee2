"""domain/users.py: every rule a user's name, password and permissions must keep, as a table:
what passes becomes the ACL rules shown, what does not names its field and its token."""

from __future__ import annotations

import pytest
from google.protobuf import wrappers_pb2
from yandex.cloud.mdb.redis.v1 import user_pb2

from managed_redis.domain.users import (
    DEFAULT_PERMISSIONS,
    Permissions,
    acl_options,
    check_field,
    check_name,
    check_password,
    permissions_of,
)

ACCEPTED = [
    ("patterns", "~app:*"),
    ("patterns", "~a:* ~b:* %R~ro:* %W~wo:* %RW~rw:*"),
    ("patterns", "allkeys"),
    ("patterns", "resetkeys"),
    ("patterns", "allkeys resetkeys ~x"),
    ("patterns", "~x ~*"),
    ("patterns", ""),
    ("pub_sub_channels", "&*"),
    ("pub_sub_channels", "&news:* &alerts"),
    ("pub_sub_channels", "resetchannels"),
    ("pub_sub_channels", "allchannels"),
    ("categories", "+@set +@hash"),
    ("categories", "-@all +@geo"),
    ("categories", "+@all"),
    ("categories", "-@admin"),
    ("categories", "+@dangerous"),
    ("categories", "+@READ"),
    ("commands", "+get +set"),
    ("commands", "+ping -set"),
    ("commands", "+client|setname +client"),
    ("commands", "-config"),
    ("commands", "+role"),
    ("commands", "-client|kill"),
    ("commands", "+GET"),
    ("databases", "alldbs"),
    ("databases", ""),
    ("sanitize_payload", "sanitize-payload"),
    ("sanitize_payload", "skip-sanitize-payload"),
]

# (field, value, words the refusal must hold)
REFUSED = [
    ("patterns", "+get", "is not a key pattern"),
    ("patterns", "&x", "is not a key pattern"),
    ("patterns", "on", "is not a key pattern"),
    ("patterns", ">password1", "is not a key pattern"),
    ("patterns", "nopass", "is not a key pattern"),
    ("patterns", "~", "is not a key pattern"),
    ("patterns", '~a"b', "is not a key pattern"),
    ("patterns", "~a'b", "is not a key pattern"),
    ("patterns", "allkeys ~x", "follows allkeys"),
    ("patterns", "~* %R~x", "follows allkeys"),
    ("patterns", "~x\t~y", "printable ASCII"),
    ("patterns", "~x\n~y", "printable ASCII"),
    ("patterns", "~ключ", "printable ASCII"),
    ("patterns", "~x" * 3000, "at most 4096"),
    ("pub_sub_channels", "~x", "is not a channel pattern"),
    ("pub_sub_channels", "allchannels &x", "follows allchannels"),
    ("pub_sub_channels", "&* &x", "follows allchannels"),
    ("pub_sub_channels", "off", "is not a channel pattern"),
    ("categories", "+@admin", "administrative"),
    ("categories", "+@ADMIN", "administrative"),
    ("categories", "+@nosuch", "names no ACL category"),
    ("categories", "+get", "is not a category rule"),
    ("categories", "reset", "is not a category rule"),
    ("categories", "allcommands", "is not a category rule"),
    ("commands", "~x", "is not a command rule"),
    ("commands", "+@set", "is not a command rule"),
    ("commands", "+nosuch", "names no Redis command"),
    ("commands", "+get|x", "GET has no subcommands"),
    ("commands", "+client|nosuch", "names no Redis command"),
    ("commands", "+config", "administrative or unavailable"),
    ("commands", "+config|get", "administrative or unavailable"),
    ("commands", "+acl|whoami", "administrative or unavailable"),
    ("commands", "+migrate", "administrative or unavailable"),
    ("commands", "+object|freq", "administrative or unavailable"),
    ("commands", "+client|kill", "administrative or unavailable"),
    ("commands", "+shutdown", "administrative or unavailable"),
    ("commands", "+monitor", "administrative or unavailable"),
    ("commands", "+cluster|setslot", "administrative or unavailable"),
    ("commands", "+cluster|reset", "administrative or unavailable"),
    ("commands", "+flushall nopass", "is not a command rule"),
    ("commands", "+get #" + "0" * 64, "is not a command rule"),
    ("commands", "+get (~x +set)", "is not a command rule"),
    ("commands", "allcommands", "is not a command rule"),
    ("databases", "0,1,5", "no per-database ACL"),
    ("databases", "resetdbs", "no per-database ACL"),
    ("databases", "db=0", "no per-database ACL"),
    ("sanitize_payload", "on", "sanitize-payload or skip-sanitize-payload"),
]


@pytest.mark.parametrize(("field", "value"), ACCEPTED)
def test_tokens_of_the_fields_kind_pass(field: str, value: str) -> None:
    assert check_field(field, value, f"user_spec.permissions.{field}") == []


@pytest.mark.parametrize(("field", "value", "words"), REFUSED)
def test_other_tokens_are_refused_naming_the_field(field: str, value: str, words: str) -> None:
    problems = check_field(field, value, f"user_spec.permissions.{field}")
    assert len(problems) == 1
    assert problems[0].field == f"user_spec.permissions.{field}"
    assert words in problems[0].description


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("", "required"),
        ("default", "reserved"),
        ("mredis", "reserved"),
        ("a" * 33, "1-32 characters"),
        ("-app", "1-32 characters"),
        ("app user", "1-32 characters"),
        ("app\n", "1-32 characters"),
        ("app>x", "1-32 characters"),
    ],
)
def test_bad_names_are_refused(name: str, words: str) -> None:
    (problem,) = check_name(name, "user_spec.name")
    assert problem.field == "user_spec.name" and words in problem.description


@pytest.mark.parametrize("name", ["app", "a", "App_1", "svc@team.prod-1", "_x", "Default", "a" * 32])
def test_good_names_pass(name: str) -> None:
    assert check_name(name, "user_spec.name") == []


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("short1", "8-128"),
        ("x" * 129, "8-128"),
        ("with space", "may hold only"),
        ("quote'quote", "may hold only"),
        ("newline\nnewline", "may hold only"),
        ("пароль-пароль", "may hold only"),
    ],
)
def test_bad_passwords_are_refused_without_quoting_them(password: str, words: str) -> None:
    (problem,) = check_password(password, "user_spec.passwords[0]")
    assert words in problem.description and password not in problem.description


@pytest.mark.parametrize("password", ["12345678", "Aa1@=+?*.,!&#$^<>_-", "x" * 128])
def test_good_passwords_pass(password: str) -> None:
    assert check_password(password, "user_spec.passwords[0]") == []


def test_unset_fields_take_the_documented_defaults() -> None:
    only_channels = user_pb2.Permissions(pub_sub_channels=wrappers_pb2.StringValue(value="resetchannels"))
    permissions, problems = permissions_of(only_channels, "user_spec.permissions")
    assert problems == []
    assert permissions == Permissions(
        patterns="allkeys", pub_sub_channels="resetchannels", categories="", commands="", databases="alldbs"
    )


def test_a_field_set_to_empty_means_nothing_of_its_kind() -> None:
    empty = user_pb2.Permissions(patterns=wrappers_pb2.StringValue(value=""))
    permissions, _ = permissions_of(empty, "p")
    assert permissions.patterns == "" and permissions.acl_rules().split()[0] == "allchannels"


def test_only_the_listed_fields_change_over_a_base() -> None:
    base = Permissions(patterns="~a:*", commands="+get")
    message = user_pb2.Permissions(commands=wrappers_pb2.StringValue(value="+set"))
    permissions, _ = permissions_of(message, "permissions", base, frozenset({"commands", "categories"}))
    assert permissions == Permissions(patterns="~a:*", commands="+set", categories="")


def test_every_bad_field_is_named_at_once() -> None:
    message = user_pb2.Permissions(
        patterns=wrappers_pb2.StringValue(value="+get"), commands=wrappers_pb2.StringValue(value="+config")
    )
    _, problems = permissions_of(message, "user_spec.permissions")
    assert [p.field for p in problems] == ["user_spec.permissions.patterns", "user_spec.permissions.commands"]


@pytest.mark.parametrize(
    ("permissions", "rules"),
    [
        (Permissions(patterns="~app:*", commands="+get +set"), "~app:* allchannels +get +set -@admin"),
        (Permissions(categories="+@all"), "allkeys allchannels +@all -@admin"),
        (Permissions(categories="+@all", commands="+role"), "allkeys allchannels +@all +role -@admin +role"),
        (Permissions(commands="+role -role"), "allkeys allchannels +role -role -@admin"),
        (DEFAULT_PERMISSIONS, "allkeys allchannels -@admin"),
    ],
)
def test_rules_end_denying_admin_commands(permissions: Permissions, rules: str) -> None:
    assert permissions.acl_rules() == rules


def test_acl_options_leave_out_password_hashes() -> None:
    described = "user app on sanitize-payload #" + "a" * 64 + " ~app:* resetchannels -@all +get +set"
    assert acl_options(described) == "on ~app:* resetchannels -@all +get +set"


def test_permissions_round_trip_through_json_and_proto() -> None:
    permissions = Permissions(patterns="~x", commands="+get")
    assert Permissions.from_json(permissions.to_json()) == permissions
    proto = permissions.to_proto()
    assert proto.patterns.value == "~x" and proto.HasField("categories") and proto.categories.value == ""
