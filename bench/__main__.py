"""``python -m bench [name ...]``: run the named benchmarks (all by default) and print figures."""

from __future__ import annotations

import sys

from bench import (
    backup,
    cluster_create,
    control_plane,
    failover,
    logs,
    metrics,
    metrics_store,
    sharding,
    supervision,
    upgrade,
)

BENCHMARKS = {
    "create": cluster_create.main,
    "failover": failover.main,
    "backup": backup.main,
    "sharding": sharding.main,
    "supervision": supervision.main,
    "logs": logs.main,
    "upgrade": upgrade.main,
    "metrics": metrics.main,
    "metrics-store": metrics_store.main,
    "control-plane": control_plane.main,
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmarks {unknown}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    for name in names:
        BENCHMARKS[name]()
    return 0


raise SystemExit(main(sys.argv[1:]))
