"""Many readers polling an HTTP route, each at its own pace: the latencies they saw.

wrk paces readers with a fixed start: all of them ask at the same instant, then again a
second later, which measures a burst rather than readers polling. Here each reader starts
at a random moment within its first period and then waits a random 0.5-1.5 s between
requests, as independent dashboards and scripts do; the first second is not counted.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time

import aiohttp


async def _reader(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    until: float,
    counted_from: float,
    out: list[float],
) -> int:
    errors = 0
    await asyncio.sleep(random.uniform(0, 1.0))
    while time.monotonic() < until:
        started = time.monotonic()
        async with session.get(url, headers=headers) as response:
            await response.read()
            ok = response.status == 200
        if started >= counted_from:
            out.append(time.monotonic() - started)
            errors += not ok
        await asyncio.sleep(random.uniform(0.5, 1.5))
    return errors


async def _poll(url: str, token: str | None, readers: int, seconds: float) -> tuple[list[float], int]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=readers)
    async with aiohttp.ClientSession(connector=connector) as session:
        now = time.monotonic()
        tasks = [_reader(session, url, headers, now + seconds, now + 1.0, latencies) for _ in range(readers)]
        errors = await asyncio.gather(*tasks)
    return latencies, sum(errors)


def poll(url: str, token: str | None, readers: int, seconds: float) -> dict[str, float]:
    """p50/p99 latency (ms), requests/s and non-200 answers of ``readers`` polling readers."""
    latencies, errors = asyncio.run(_poll(url, token, readers, seconds))
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "p50": statistics.median(ordered) * 1000,
        "p99": p99 * 1000,
        "rps": len(ordered) / max(seconds - 1.0, 1.0),
        "errors": float(errors),
    }
