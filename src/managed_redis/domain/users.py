"""What a Redis user of the API means: its name, password and permissions checked, and its
permissions turned into the ACL rules every host of its cluster holds (api.md §3.7, §10.1).

Permissions are five strings of space-separated ACL tokens, each field its own kind:

=================  =====================================================  ===============
field              tokens                                                  unset means
=================  =====================================================  ===============
patterns           ``~glob``, ``%R~glob``, ``%W~glob``, ``%RW~glob``,       ``allkeys``
                   ``allkeys``, ``resetkeys``
pub_sub_channels   ``&glob``, ``allchannels``, ``resetchannels``           ``allchannels``
categories         ``+@cat``, ``-@cat`` (Redis's ``ACL CAT``)              ``""`` (none)
commands           ``+cmd``, ``-cmd``, ``+cmd|sub``, ``-cmd|sub``          ``""`` (none)
databases          ``alldbs`` only (see below)                              ``alldbs``
=================  =====================================================  ===============

``patterns``, ``commands`` and ``categories`` default as the cloud answers a user created
without them (api.md §10.1); for channels and databases the cloud's default is not public:
here they are "all", like keys, since a user holds only the commands granted anyway. A
field set to ``""`` means nothing of its kind.

Refused, with INVALID_ARGUMENT naming the field (``user_spec.permissions.commands``):

- a token not of the field's kind, so nothing else of the ACL grammar (``on``, ``off``,
  ``nopass``, ``>password``, ``#hash``, ``reset``, selectors) can pass as a permission;
  anything but printable ASCII, and quotes, which ``users.acl`` would read as quoting;
- a command or category the cluster's version does not know (``catalog/acl_commands.py``,
  one vocabulary per version: Valkey 8.1 has commands Redis 7.0 lacks): Redis refuses such a
  rule, and a ``users.acl`` holding it stops ``redis-server`` from starting;
- ``+@admin``, and granting any command of ``@admin`` or one the cloud makes unavailable
  (``engine/conf.py``); ``+@all`` is allowed: every user's rules end with ``-@admin`` and
  the unavailable commands' denials, so it means "all but those", as for ``default``.
  ``ROLE`` (``@admin`` in Redis, harmless, asked by client libraries) may be granted;
- a key or channel pattern after "all" of its kind (``allkeys ~x``, ``~* ~x``): Redis refuses it;
- ``databases`` other than ``alldbs``: Redis 7.0 has no per-database ACL (Valkey 9.1's
  ``db=``), so ``resetdbs`` or a list like ``0,1,5`` could not be kept.

``sanitize_payload`` is deprecated and ignored by the cloud: either of its two values is
accepted and nothing of it is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace

from google.protobuf import wrappers_pb2
from yandex.cloud.mdb.redis.v1 import user_pb2

from managed_redis.catalog.acl_commands import REDIS_7_0, AclVocabulary
from managed_redis.engine.conf import (
    CUSTOMER_RULES,
    UNAVAILABLE_CLUSTER_SUBCOMMANDS,
    UNAVAILABLE_COMMANDS,
    customer_denials,
    sha256,
)
from managed_redis.engine.model import ADMIN_USER
from managed_redis.errors import FieldViolation, Unimplemented

DEFAULT_USER = "default"
RESERVED_NAMES = frozenset({DEFAULT_USER, ADMIN_USER})
NAME_LENGTH = 32
_NAME = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9_@.-]*")
PASSWORD_LENGTH = (8, 128)
PASSWORD_CHARACTERS = "a-zA-Z0-9@=+?*.,!&#$^<>_-"
_PASSWORD = re.compile(f"[{PASSWORD_CHARACTERS}]*")
# No descriptor bounds a permission string; this keeps one user's ACL line sane.
FIELD_LENGTH = 4096
SANITIZE_PAYLOAD = frozenset({"", "sanitize-payload", "skip-sanitize-payload"})
# Commands of @admin a user may still be granted: ROLE only reports the replication role,
# and Sentinel-aware client libraries ask it (the ``default`` user has it too).
GRANTABLE_ADMIN = frozenset({"role"})

_PRINTABLE = re.compile(r"[ -~]*")
_GLOB = r"[!#-&(-~]+"  # printable ASCII but space and quotes
_KEY_PATTERN = re.compile(rf"(?:~|%(?:R|W|RW|WR)~)({_GLOB})", re.IGNORECASE)
_CHANNEL_PATTERN = re.compile(rf"&({_GLOB})")
_CATEGORY = re.compile(r"([+-])@([a-z]+)", re.IGNORECASE)
_COMMAND = re.compile(r"([+-])([a-z0-9_-]+)(?:\|([a-z0-9_-]+))?", re.IGNORECASE)
_ALL_KEYS = re.compile(r"allkeys|~\*", re.IGNORECASE)
_ALL_CHANNELS = re.compile(r"allchannels|&\*", re.IGNORECASE)


@dataclass(frozen=True)
class Permissions:
    """A user's permissions as the API shows them: each field's tokens, as given (defaults
    filled in)."""

    patterns: str = "allkeys"
    pub_sub_channels: str = "allchannels"
    categories: str = ""
    commands: str = ""
    databases: str = "alldbs"

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> Permissions:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    def to_proto(self) -> user_pb2.Permissions:
        return user_pb2.Permissions(
            **{name: wrappers_pb2.StringValue(value=value) for name, value in asdict(self).items()}
        )

    def acl_rules(self) -> str:
        """The ACL rules these permissions are, to follow ``reset`` (or start a users.acl line):
        keys, channels, categories, commands, then ``-@admin`` (and ``+role`` again if granted),
        so no grant reaches an admin command. The unavailable commands' denials are the
        engine's to append (``conf.customer_denials``). Pure."""
        commands = self.commands.split()
        regrant = [f"+{name}" for name in sorted(GRANTABLE_ADMIN) if _last_says(commands, name) == "+"]
        parts = [self.patterns, self.pub_sub_channels, self.categories, self.commands, "-@admin", *regrant]
        return " ".join(part for part in " ".join(parts).split())


PERMISSION_FIELDS = tuple(f.name for f in fields(Permissions))
DEFAULT_PERMISSIONS = Permissions()


def _last_says(commands: list[str], name: str) -> str | None:
    """``+`` or ``-``: what the last of ``commands`` naming ``name`` itself does to it."""
    for token in reversed(commands):
        if token[1:].lower() == name:
            return token[0]
    return None


def check_name(name: str, path: str) -> list[FieldViolation]:
    """A user's name: required, at most 32 of ``[a-zA-Z0-9_@.-]`` not starting with ``@.-``,
    and not one of the reserved names (``default``, the control plane's own user)."""
    if not name:
        return [FieldViolation(path, "required")]
    if len(name) > NAME_LENGTH or not _NAME.fullmatch(name):
        return [FieldViolation(path, f"must be 1-{NAME_LENGTH} characters of [a-zA-Z0-9_@.-], not starting with @.-")]
    if name in RESERVED_NAMES:
        return [FieldViolation(path, f"{name!r} is reserved; choose another name")]
    return []


def check_password(password: str, path: str) -> list[FieldViolation]:
    """One password: 8-128 characters of ``[a-zA-Z0-9@=+?*.,!&#$^<>_-]`` (api.md §3.7). The
    password itself is never quoted back."""
    low, high = PASSWORD_LENGTH
    if not low <= len(password) <= high:
        return [FieldViolation(path, f"must be {low}-{high} characters long")]
    if not _PASSWORD.fullmatch(password):
        return [FieldViolation(path, f"may hold only the characters {PASSWORD_CHARACTERS}")]
    return []


def _shown(token: str) -> str:
    return repr(token) if len(token) <= 40 else repr(token[:40]) + "..."


@dataclass(frozen=True)
class _Patterns:
    """One kind of pattern field: keys or channels, in Redis's words."""

    kind: str  # "key", "channel"
    every: str  # "allkeys": what stands for every pattern
    reset: str  # "resetkeys": what empties the list
    pattern: re.Pattern[str]
    forms: str  # the pattern forms, for messages
    everything: re.Pattern[str]  # tokens meaning every pattern (Redis refuses a pattern after one)

    def problem(self, token: str, after_all: bool) -> str | None:
        word = token.lower()
        if word == self.reset:
            return None
        if word != self.every and not self.pattern.fullmatch(token):
            return f"is not a {self.kind} pattern ({self.forms}, {self.every} or {self.reset})"
        if after_all:
            return f"follows {self.every} (or a * pattern), which already covers it; start with {self.reset}"
        return None

    def covers_all_after(self, token: str, after_all: bool) -> bool:
        """Whether every pattern is granted once ``token`` is read."""
        return (after_all or bool(self.everything.fullmatch(token))) and token.lower() != self.reset


_KEYS = _Patterns("key", "allkeys", "resetkeys", _KEY_PATTERN, "~glob, %R~glob, %W~glob, %RW~glob", _ALL_KEYS)
_CHANNELS = _Patterns("channel", "allchannels", "resetchannels", _CHANNEL_PATTERN, "&glob", _ALL_CHANNELS)


def _category_problem(token: str, vocabulary: AclVocabulary) -> str | None:
    match = _CATEGORY.fullmatch(token)
    if match is None:
        return "is not a category rule (+@category or -@category)"
    sign, name = match.group(1), match.group(2).lower()
    if name != "all" and name not in vocabulary.categories:
        return f"names no ACL category; known: all, {', '.join(sorted(vocabulary.categories))}"
    if sign == "+" and name == "admin":
        return "grants the administrative commands, which users may never have"
    return None


def _command_problem(token: str, vocabulary: AclVocabulary) -> str | None:
    match = _COMMAND.fullmatch(token)
    if match is None:
        return "is not a command rule (+command, -command, +command|subcommand or -command|subcommand)"
    sign, parent, sub = match.group(1), match.group(2).lower(), (match.group(3) or "").lower()
    name = f"{parent}|{sub}" if sub else parent
    if sub and parent not in vocabulary.parent_commands:
        return f"{parent.upper()} has no subcommands"
    if name not in vocabulary.commands:
        return f"names no Redis command in {vocabulary.source}"
    if sign == "-":
        return None
    unavailable = parent in UNAVAILABLE_COMMANDS or (parent == "cluster" and sub in UNAVAILABLE_CLUSTER_SUBCOMMANDS)
    if unavailable or (name in vocabulary.admin_commands and name not in GRANTABLE_ADMIN):
        return "is an administrative or unavailable command, which users may never have"
    return None


def _database_problem(token: str) -> str | None:
    if token.lower() == "alldbs":
        return None
    return "Redis 7.0 has no per-database ACL: every user reaches every database, so only alldbs can be kept"


def check_field(field: str, value: str, path: str, vocabulary: AclVocabulary = REDIS_7_0) -> list[FieldViolation]:
    """The problems of one permission ``field`` (a name of ``PERMISSION_FIELDS`` or
    ``sanitize_payload``) set to ``value``: at most one, naming ``path`` and the first bad token.
    Commands and categories are those of ``vocabulary`` (the cluster's version)."""
    if len(value) > FIELD_LENGTH:
        return [FieldViolation(path, f"must be at most {FIELD_LENGTH} characters long")]
    if not _PRINTABLE.fullmatch(value):
        return [FieldViolation(path, "tokens are printable ASCII separated by spaces; no other characters")]
    if field == "sanitize_payload":
        if value.strip() not in SANITIZE_PAYLOAD:
            return [FieldViolation(path, "must be sanitize-payload or skip-sanitize-payload (and is ignored)")]
        return []
    after_all = False
    for token in value.split():
        if field in ("patterns", "pub_sub_channels"):
            patterns = _KEYS if field == "patterns" else _CHANNELS
            problem = patterns.problem(token, after_all)
            after_all = patterns.covers_all_after(token, after_all)
        elif field == "categories":
            problem = _category_problem(token, vocabulary)
        elif field == "commands":
            problem = _command_problem(token, vocabulary)
        else:
            problem = _database_problem(token)
        if problem is not None:
            return [FieldViolation(path, f"{_shown(token)} {problem}")]
    return []


def permissions_of(
    message: user_pb2.Permissions,
    path: str,
    base: Permissions = DEFAULT_PERMISSIONS,
    only: frozenset[str] | None = None,
    vocabulary: AclVocabulary = REDIS_7_0,
) -> tuple[Permissions, list[FieldViolation]]:
    """``message`` read over ``base``: each field of ``only`` (default: every field) takes the
    message's value, or its default when the message leaves it unset; the rest keep ``base``'s.
    Returns the permissions and the problems of every field read (``path.<field>``), commands and
    categories checked against ``vocabulary`` (the cluster's version)."""
    problems: list[FieldViolation] = []
    changes: dict[str, str] = {}
    present: dict[str, str] = {described.name: value.value for described, value in message.ListFields()}
    for name in (*PERMISSION_FIELDS, "sanitize_payload"):
        if only is not None and name not in only:
            continue
        if name in present:
            problems += check_field(name, present[name], f"{path}.{name}", vocabulary)
        if name != "sanitize_payload":
            changes[name] = present.get(name, getattr(DEFAULT_PERMISSIONS, name))
    return replace(base, **changes), problems


def acl_options(described: str) -> str:
    """A user as Redis describes it (``ACL LIST``'s line less ``user <name>``) in the API's
    shape (``on ~data:* &* -@all +get +set``): without its password hashes, and without
    ``sanitize-payload`` (the deprecated, ignored setting). Pure."""
    kept = [t for t in described.split() if not t.startswith(("#", ">", "<", "!")) and t != "sanitize-payload"]
    if kept[:1] == ["user"]:
        kept = kept[2:]
    return " ".join(kept)


@dataclass(frozen=True)
class DeclaredUser:
    """A user as a request declares it: its password already a SHA-256 digest."""

    name: str
    password_sha256: tuple[str, ...]
    permissions: Permissions
    enabled: bool


def rules_described(enabled: bool, permissions: Permissions) -> str:
    """``acl_options`` as the rules say, for a user no host has described yet. Pure."""
    return f"{'on' if enabled else 'off'} {permissions.acl_rules()}"


def refuse_generated_password(asked: bool, field: str) -> None:
    """Raise Unimplemented naming ``field`` when a generated password is ``asked`` for: the
    cloud hands it over through its Connection Manager (a Lockbox secret), which this server
    does not have, and no answer of the API has a field for a password."""
    if asked:
        raise Unimplemented(
            f"{field}: this server has no Connection Manager to keep a generated password where you "
            "could read it (a User has no password field); send passwords instead"
        )


def user_of_spec(
    spec: user_pb2.UserSpec, path: str, vocabulary: AclVocabulary = REDIS_7_0
) -> tuple[DeclaredUser, list[FieldViolation]]:
    """The user ``spec`` declares (``path``: where the spec is in its request, for messages)
    and every problem of it: name, exactly one password, permissions (against ``vocabulary``,
    the cluster's version), auth type. ``enabled`` unset means enabled. Raises Unimplemented
    for ``generate_password``."""
    refuse_generated_password(spec.generate_password.value, f"{path}.generate_password")
    problems = check_name(spec.name, f"{path}.name")
    if len(spec.passwords) != 1:
        problems.append(FieldViolation(f"{path}.passwords", "one password is required"))
    else:
        problems += check_password(spec.passwords[0], f"{path}.passwords[0]")
    if spec.auth_type == user_pb2.AuthType.AUTH_TYPE_IAM:
        problems.append(
            FieldViolation(f"{path}.auth_type", "only AUTH_TYPE_PASSWORD: Redis users here log in by password")
        )
    permissions, more = permissions_of(spec.permissions, f"{path}.permissions", vocabulary=vocabulary)
    enabled = spec.enabled.value if spec.HasField("enabled") else True
    digests = tuple(sha256(password) for password in spec.passwords[:1])
    return DeclaredUser(spec.name, digests, permissions, enabled), problems + more


def users_of_specs(
    specs: Sequence[user_pb2.UserSpec], path: str, vocabulary: AclVocabulary = REDIS_7_0
) -> tuple[list[DeclaredUser], list[FieldViolation]]:
    """The users a cluster's request declares (``user_specs``) and every problem of them
    (commands and categories against ``vocabulary``), a name given twice among them. Raises
    Unimplemented for ``generate_password``."""
    users: list[DeclaredUser] = []
    problems: list[FieldViolation] = []
    for index, spec in enumerate(specs):
        user, more = user_of_spec(spec, f"{path}[{index}]", vocabulary)
        if any(other.name == user.name for other in users):
            more.append(FieldViolation(f"{path}[{index}].name", f"{user.name!r} is declared twice"))
        users.append(user)
        problems += more
    return users, problems


def without_passwords(specs: Iterable[user_pb2.UserSpec]) -> None:
    """Clear the passwords of ``specs`` in place: what is stored of a request never holds one."""
    for spec in specs:
        del spec.passwords[:]


def user_proto(cluster_id: str, name: str, permissions: Permissions, enabled: bool, acl_options: str) -> user_pb2.User:
    """The User the API shows: never a password."""
    return user_pb2.User(
        name=name,
        cluster_id=cluster_id,
        permissions=permissions.to_proto(),
        enabled=enabled,
        acl_options=acl_options,
        auth_type=user_pb2.AuthType.AUTH_TYPE_PASSWORD,
    )


# ``default`` as the engine makes it (``conf.CUSTOMER_RULES``), in the fields of Permissions.
DEFAULT_USER_PERMISSIONS = Permissions(
    patterns="~*", pub_sub_channels="&*", categories="+@all -@admin", commands="+role", databases="alldbs"
)


def default_user_proto(cluster_id: str, sharded: bool) -> user_pb2.User:
    """The ``default`` user every cluster has: its password is the cluster's, its rules the
    engine's (every command but the administrative and unavailable ones), always on."""
    acl = f"on {CUSTOMER_RULES} {customer_denials(sharded)}"
    return user_proto(cluster_id, DEFAULT_USER, DEFAULT_USER_PERMISSIONS, True, acl)
