"""The clusters' part of ``GET /metrics`` (every Redis host's series and each cluster's
health), each cluster's lines written again only when what they show changed.

200 clusters are ~16,000 lines, ~2.8 MB; writing them all takes ~15 ms of the process's one
Python thread at a time, which a busy control plane (its supervisor, its API) stretches
far past that. Between two scrapes little changes: a host's lines when its load is read
anew (each host once per ``metrics_period_s``), when it goes up or down, or when its
cluster's revision moves (a name, a role); a cluster's health line with its health. So the
lines are kept at three levels, each with what it was written from:

- a host's lines (``host_families.host_text``): its labels, whether it is up, its load
  (the very ``RedisStats`` object read; a new read is a new object);
- a cluster's block (per family, its hosts' lines joined, then its health lines): its
  hosts' states and its health;
- the page: the blocks it joined, in order.

A scrape compares what it reads with what was kept (identity first: a tuple of the same
objects compares at once), writes what changed, and joins the rest.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence, Set
from typing import NamedTuple

from managed_redis.engine.stats import RedisStats
from managed_redis.services.cluster_views import HostLabels
from managed_redis.services.host_families import FAMILIES, HEADERS, HostSeries, host_text
from managed_redis.services.metric_families import HEALTH_HEADER, cluster_health_lines

# The page's families in order: the hosts' (FAMILIES), then mredis_cluster_health.
_HEADERS = tuple(header.encode() for header in (*HEADERS, HEALTH_HEADER))
_NO_LINES = [b""] * len(FAMILIES)


class ClusterState(NamedTuple):
    """What one cluster's lines show: its hosts' labels (``host_families.HOST_LABELS``
    order; the first three are the cluster's own), whether each is up, each one's load
    (None: none to show), and the cluster's health as the API names it."""

    hosts: tuple[HostLabels, ...]
    up: tuple[bool, ...]
    stats: tuple[RedisStats | None, ...]
    health: str
    cluster_id: str
    cluster_labels: tuple[str, str, str]


_HostKey = tuple[HostLabels, bool, RedisStats | None]


class _Block(NamedTuple):
    state: ClusterState
    # Each host's lines (host_text) and the block's, per family then the health lines.
    host_lines: tuple[tuple[str, ...], ...]
    lines: tuple[bytes, ...]


class ClusterBlocks:
    """The clusters' text kept between scrapes (see the module docstring). Thread-safe: one
    scrape writes at a time, and a scrape that waited finds what the other wrote."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._blocks: dict[str, _Block] = {}
        # The blocks joined last, the page they made, and what came after them.
        self._page: tuple[tuple[_Block, ...], bytes, bytes] = ((), b"".join(_HEADERS), b"")
        # The page's pieces (each family's header, then its lines of each block), then ``after``.
        self._pieces = _pieces(())

    def text(self, clusters: Sequence[ClusterState], known: Set[str], after: bytes = b"") -> bytes:
        """The families of ``HEADERS`` and ``mredis_cluster_health`` for ``clusters``, in
        their order, in Prometheus' text format (0.0.4, UTF-8), then ``after`` (other
        families: the page's bytes are copied once). What is kept of a cluster not in
        ``known`` (the ids of every cluster there is) is dropped."""
        with self._lock:
            blocks = tuple(self._block(state) for state in clusters)
            kept, _, kept_after = self._page
            if len(blocks) != len(kept):
                changed = None
                self._pieces = _pieces(blocks)
            else:
                # The same number of clusters: only the changed blocks' places are filled again.
                changed = [i for i, (block, old) in enumerate(zip(blocks, kept, strict=True)) if block is not old]
                for i in changed:
                    for index, lines in enumerate(blocks[i].lines):
                        self._pieces[index * (len(blocks) + 1) + 1 + i] = lines
            if changed is None or changed or after != kept_after:
                # One copy of the page's bytes: every piece joined at once.
                self._pieces[-1] = after
                self._page = (blocks, b"".join(self._pieces), after)
            if len(self._blocks) > len(known):
                self._blocks = {cid: block for cid, block in self._blocks.items() if cid in known}
            return self._page[1]

    def _block(self, state: ClusterState) -> _Block:
        kept = self._blocks.get(state.cluster_id)
        if kept is not None and (kept.state is state or _same(kept.state, state)):
            return kept
        host_lines = tuple(
            self._host_lines(kept, index, key)
            for index, key in enumerate(zip(state.hosts, state.up, state.stats, strict=True))
        )
        # Per family, the hosts' lines one after another; then the cluster's health.
        families = [text.encode() for text in map("".join, zip(*host_lines, strict=True))] if host_lines else _NO_LINES
        lines = (*families, cluster_health_lines(state.cluster_labels, state.health).encode())
        block = self._blocks[state.cluster_id] = _Block(state, host_lines, lines)
        return block

    @staticmethod
    def _host_lines(kept: _Block | None, index: int, key: _HostKey) -> tuple[str, ...]:
        """The lines of the cluster's host ``index``: those kept if it shows the same."""
        if kept is not None and index < len(kept.host_lines):
            old = kept.state
            if old.stats[index] is key[2] and (old.hosts[index], old.up[index]) == key[:2]:
                return kept.host_lines[index]
        return host_text(HostSeries(*key))


def _pieces(blocks: Sequence[_Block]) -> list[bytes]:
    """The pieces of a page of ``blocks``: per family its header then each block's lines, then
    a place for what comes after (empty)."""
    pieces = [b""] * (len(_HEADERS) * (len(blocks) + 1) + 1)
    for index, header in enumerate(_HEADERS):
        at = index * (len(blocks) + 1)
        pieces[at] = header
        pieces[at + 1 : at + 1 + len(blocks)] = [block.lines[index] for block in blocks]
    return pieces


def _same(kept: ClusterState, now: ClusterState) -> bool:
    """Whether two states show the same: equal labels, ups and health, the same load objects
    (a load read anew is another object; its numbers are not compared)."""
    if kept.hosts != now.hosts or kept.up != now.up or kept.health != now.health:
        return False
    if kept.cluster_labels != now.cluster_labels:
        return False
    return all(a is b for a, b in zip(kept.stats, now.stats, strict=True))
