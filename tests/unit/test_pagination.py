from __future__ import annotations

import base64
import datetime as dt

import pytest

from managed_redis.errors import InvalidArgument
from managed_redis.services.pagination import decode_time_key, encode_time_key, page_of


def test_offset_pages_walk_the_whole_list() -> None:
    items = list(range(7))
    seen, token = [], ""
    while True:
        page, token = page_of(items, 3, token)
        seen += page
        if not token:
            break
    assert seen == items


def test_zero_page_size_means_one_hundred() -> None:
    page, token = page_of(list(range(150)), 0, "")
    assert len(page) == 100 and token


def test_time_keys_round_trip_and_fit_the_token_limit() -> None:
    when = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    token = encode_time_key(when, "c9qabcdefghijklmnopq")
    assert len(token) <= 100
    assert decode_time_key(token) == (when, "c9qabcdefghijklmnopq")


@pytest.mark.parametrize("token", ["%%%", "bm9wZQ", "eHgfeXk"])
def test_foreign_tokens_are_rejected(token: str) -> None:
    with pytest.raises(InvalidArgument, match="page_token"):
        decode_time_key(token)


def _token(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "ÿÿÿÿ",  # not ASCII: base64 raises a plain ValueError
        "\x00\x01",
        _token("9" * 40 + "\x1fc9qabc"),  # microseconds past year 9999
        _token("²\x1fc9qabc"),  # a Unicode digit int() would take
        _token("123\x1fc9q\x00abc"),  # a NUL PostgreSQL refuses in text
        _token("123\x1f"),
        _token("123\x1f" + "a" * 500),
    ],
)
def test_crafted_time_tokens_are_invalid_argument(token: str) -> None:
    with pytest.raises(InvalidArgument, match="^page_token: not a token this server issued$"):
        decode_time_key(token)


@pytest.mark.parametrize("token", ["ÿ", _token("²"), _token("-1"), _token("9" * 40), _token("1\x1f2")])
def test_crafted_offset_tokens_are_invalid_argument(token: str) -> None:
    with pytest.raises(InvalidArgument, match="page_token"):
        page_of(list(range(5)), 2, token)
