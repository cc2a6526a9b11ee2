"""What deploy/grafana/managed-redis.json computes from the series of ``GET /metrics``: a
replica's lag from its master's one INFO reading, never from two hosts read at different
times (the series it may name at all: ``test_metric_families``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "managed-redis.json"


def exprs() -> dict[str, list[str]]:
    """Each panel's queries, by panel title."""
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return {panel["title"]: [target["expr"] for target in panel["targets"]] for panel in dashboard["panels"]}


def test_no_query_sets_a_masters_offset_against_a_replicas_own() -> None:
    """The server reads each host in turn, up to a metrics period apart: a replica's own
    ``redis_slave_repl_offset`` against its master's offset shows KiB of lag on an idle
    cluster, or none on a busy one."""
    mixed = [
        expr
        for queries in exprs().values()
        for expr in queries
        if "redis_master_repl_offset" in expr and "redis_slave_repl_offset" in expr
    ]
    assert mixed == []


def test_offset_behind_the_master_comes_from_the_masters_own_reading() -> None:
    (expr,) = exprs()["Replication offset behind the master"]
    assert "redis_connected_slave_offset_bytes" in expr and "redis_master_repl_offset" in expr
    joined_on = re.search(r"\bon\s*\(([^)]*)\)", expr)
    assert joined_on is not None, expr
    labels = {label.strip() for label in joined_on.group(1).split(",")}
    assert "host" in labels, f"both sides must be the same host's series: {expr}"
