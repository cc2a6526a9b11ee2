"""The logs' ``filter`` grammar: what each filter admits, and where a bad one goes wrong."""

from __future__ import annotations

import pytest

from managed_redis.domain.log_filter import parse_log_filter
from managed_redis.errors import InvalidArgument

HOSTS = ("a.db", "b.db", "c.db")


@pytest.mark.parametrize(
    ("text", "admitted"),
    [
        ("", HOSTS),
        ("   ", HOSTS),
        ("message.hostname='a.db'", ("a.db",)),
        ('message.hostname = "b.db"', ("b.db",)),
        ("message.hostname != 'a.db'", ("b.db", "c.db")),
        ("message.hostname IN ('a.db', \"c.db\")", ("a.db", "c.db")),
        ("message.hostname in ('a.db')", ("a.db",)),
        ("message.hostname NOT IN ('a.db', 'b.db')", ("c.db",)),
        ("message.hostname not in('a.db')", ("b.db", "c.db")),
        ("message.hostname != 'a.db' AND message.hostname != 'b.db'", ("c.db",)),
        ("message.hostname = 'a.db' and message.hostname = 'b.db'", ()),
        ("message.hostname = 'x.db'", ()),
    ],
)
def test_a_filter_admits_the_hosts_it_names(text: str, admitted: tuple[str, ...]) -> None:
    log_filter = parse_log_filter(text)
    assert tuple(host for host in HOSTS if log_filter.admits_host(host)) == admitted


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("message.hostname = 'a' OR message.hostname = 'b'", "position 24"),
        ("message.hostname = 'a' AND", "position 24"),
        ("message.hostname == 'a'", "position 19"),
        ("hostname = 'a'", "position 1"),
        ("message.hostname = a", "position 20"),
        ("message.hostname = 'a", "position 20"),
        ("message.hostname IN ()", "position 22"),
        ("message.hostname IN ('a',)", "position 25"),
        ("message.role = 'M'", "cannot filter on message.role (position 1)"),
        ("message.hostname = 'A.db'", "'A.db' at position 20"),
        ("message.hostname IN ('a', 'b_c')", "'b_c' at position 27"),
        ("message.hostname = ''", "position 20"),
    ],
)
def test_a_bad_filter_is_invalid_argument_naming_the_position(text: str, says: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_log_filter(text)
    assert caught.value.violations[0].field == "filter"
    assert says in str(caught.value)
