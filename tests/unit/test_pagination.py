from __future__ import annotations

import datetime as dt

import pytest

from managed_redis.errors import InvalidArgument
from managed_redis.services.pagination import decode_time_key, encode_time_key, page_of


def test_offset_pages_walk_the_whole_list():
    items = list(range(7))
    seen, token = [], ""
    while True:
        page, token = page_of(items, 3, token)
        seen += page
        if not token:
            break
    assert seen == items


def test_zero_page_size_means_one_hundred():
    page, token = page_of(list(range(150)), 0, "")
    assert len(page) == 100 and token


def test_time_keys_round_trip_and_fit_the_token_limit():
    when = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    token = encode_time_key(when, "c9qabcdefghijklmnopq")
    assert len(token) <= 100
    assert decode_time_key(token) == (when, "c9qabcdefghijklmnopq")


@pytest.mark.parametrize("token", ["%%%", "bm9wZQ", "eHgfeXk"])
def test_foreign_tokens_are_rejected(token):
    with pytest.raises(InvalidArgument, match="page_token"):
        decode_time_key(token)
