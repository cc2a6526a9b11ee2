"""Sending commands again that a node refused ``NOREPLICAS`` because its replicas lag.

Valkey 8 replicates ``CLUSTER SETSLOT`` to a master's online replicas before applying it, and
if one has not acknowledged within the command's timeout (2 s by default; the ``TIMEOUT``
argument, which Redis 7.0 does not take) answers ``NOREPLICAS`` without applying it on the
master (valkey ``clusterCommandSetSlot``, valkey-io/valkey#445 and #879; its own
``valkey-cli --cluster`` tolerates the error, #928). A replica still replaying a big key's
RESTORE, or paused, lags that long. It is not ``min-replicas-to-write``: SETSLOT is no write
command. ``MIGRATE``, a write, is refused ``NOREPLICAS`` by its source (or its target's
RESTORE is) while ``min-replicas-to-write`` finds too few replicas within
``min-replicas-max-lag``. Each refusal leaves the command undone (a MIGRATE's keys stay on its
source), so a command safe to apply twice (SETSLOT; MIGRATE with REPLACE) is sent again until
the replicas catch up, for at most ``REPLICA_CATCH_UP_S``: longer than a master waits on a
replica that acknowledges nothing (``repl-timeout``, 60 s by default) before it drops it and
SETSLOT stops waiting for it. Redis 7.0 never refuses SETSLOT so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import redis

log = logging.getLogger(__name__)

# How long commands refused NOREPLICAS are sent again, and the pause between rounds (a
# refused SETSLOT has itself waited its timeout first).
REPLICA_CATCH_UP_S = 90.0
RETRY_PAUSE_S = 0.5


def refused_for_replicas(reply: object) -> bool:
    """Whether ``reply`` is the ``NOREPLICAS`` refusal (replicas lagging), which leaves the
    command undone on the node that answered it. Pure: never raises."""
    if not isinstance(reply, redis.ResponseError):
        return False
    message = str(reply)
    return message.startswith("NOREPLICAS") or "replied with error: NOREPLICAS" in message


def patiently(
    client: redis.Redis,
    commands: Sequence[tuple[object, ...]],
    patience_s: float = REPLICA_CATCH_UP_S,
    pause_s: float = RETRY_PAUSE_S,
) -> list[object]:
    """Send ``commands`` in one round trip; if one is refused ``NOREPLICAS``, send it and
    every command after it again (so they still apply in order), after ``pause_s``, until none
    is, for at most ``patience_s``; every command must be safe to apply twice. Returns the
    replies in the order of ``commands``.
    Raises the first other error among the replies, or a NOREPLICAS refusal that outlasted
    ``patience_s``; redis.RedisError if ``client`` cannot be asked."""
    deadline = time.monotonic() + patience_s
    replies: list[object] = [None] * len(commands)
    pending = list(range(len(commands)))
    while True:
        pipe = client.pipeline(transaction=False)
        for index in pending:
            pipe.execute_command(*commands[index])
        for index, reply in zip(pending, pipe.execute(raise_on_error=False), strict=True):
            replies[index] = reply
            if isinstance(reply, Exception) and not refused_for_replicas(reply):
                raise reply
        refused = [index for index in pending if refused_for_replicas(replies[index])]
        if not refused:
            return replies
        first = replies[refused[0]]
        if time.monotonic() > deadline and isinstance(first, Exception):
            raise first
        pending = pending[pending.index(refused[0]) :]
        log.info(
            "%d command(s) refused while replicas catch up (%s); sending %d again", len(refused), first, len(pending)
        )
        time.sleep(pause_s)
