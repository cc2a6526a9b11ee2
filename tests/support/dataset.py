"""A dataset of every Redis type (some keys with TTLs), and an exact picture of a database.

``fill`` writes ``count`` keys spread over strings, hashes, lists, sets, sorted sets and
streams, a tenth of them with an absolute expiry; ``picture`` reads every key back as
(type, value, absolute expiry in ms), so two databases compare with ``==``.
"""

from __future__ import annotations

import time
from typing import Any

import redis
from redis.typing import KeyT

KINDS = ("string", "hash", "list", "set", "zset", "stream")


def fill(client: redis.Redis, count: int, prefix: str = "d", batch: int = 2000) -> None:
    expire_at_ms = int(time.time() * 1000) + 3_600_000  # an hour from now: far enough for any test
    pipe = client.pipeline(transaction=False)
    for number in range(count):
        kind = KINDS[number % len(KINDS)]
        key = f"{prefix}:{kind}:{number}"
        if kind == "string":
            pipe.set(key, f"value-{number}")
        elif kind == "hash":
            pipe.hset(key, mapping={"a": number, "b": f"x{number}", "c": number * 2})
        elif kind == "list":
            pipe.rpush(key, *[f"item{n}" for n in range(number % 5 + 1)])
        elif kind == "set":
            pipe.sadd(key, *[f"member{n}" for n in range(number % 4 + 1)])
        elif kind == "zset":
            pipe.zadd(key, {f"m{n}": n * 1.5 + number for n in range(number % 3 + 1)})
        else:
            pipe.xadd(key, {"field": number}, id=f"{number + 1}-1")
        if number % 10 == 0:
            pipe.pexpireat(key, expire_at_ms + number)
        if len(pipe) >= batch:
            pipe.execute()
    pipe.execute()


def _queue_value(pipe: redis.client.Pipeline, key: KeyT, kind: str) -> None:
    if kind == "string":
        pipe.get(key)
    elif kind == "hash":
        pipe.hgetall(key)
    elif kind == "list":
        pipe.lrange(key, 0, -1)
    elif kind == "set":
        pipe.smembers(key)
    elif kind == "zset":
        pipe.zrange(key, 0, -1, withscores=True)
    elif kind == "stream":
        pipe.xrange(key)
    else:
        raise AssertionError(f"unexpected type {kind!r} of {key!r}")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def picture(client: redis.Redis, batch: int = 2000) -> dict[Any, tuple[str, Any, int]]:
    """Every key: its type, its value, and its absolute expiry (-1 when none)."""
    keys = list(client.scan_iter(count=5000))
    result = {}
    for start in range(0, len(keys), batch):
        chunk = keys[start : start + batch]
        pipe = client.pipeline(transaction=False)
        for key in chunk:
            pipe.type(key)
        kinds = [_text(kind) for kind in pipe.execute()]
        pipe = client.pipeline(transaction=False)
        for key, kind in zip(chunk, kinds, strict=True):
            _queue_value(pipe, key, kind)
            pipe.execute_command("PEXPIRETIME", key)
        replies = pipe.execute()
        for index, (key, kind) in enumerate(zip(chunk, kinds, strict=True)):
            value, expiry = replies[2 * index], replies[2 * index + 1]
            if kind == "set":
                value = sorted(value)
            result[key] = (kind, value, expiry)
    return result
