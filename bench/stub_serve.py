"""``python -m bench.stub_serve serve|worker [mredis flags]``: ``mredis`` with the stub engine
(``bench/stub_engine.py``) in place of the data plane, for the control-plane throughput bench
only: the API, store, workers and supervisor run as they do in production, and no operation
waits on a Redis process. Nothing in the product's settings can choose this engine.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping

from bench.stub_engine import StubEngine
from managed_redis import app, cli
from managed_redis.clock import SYSTEM_CLOCK, Clock
from managed_redis.operations.worker import AnyKind
from managed_redis.settings import Settings

_build_components = app.build_components


def build_stubbed_components(
    settings: Settings, handlers: Mapping[str, AnyKind] | None = None, clock: Clock = SYSTEM_CLOCK
) -> app.Components:
    """``app.build_components``, then the stub engine in place of the configured one."""
    components = _build_components(settings, handlers, clock)
    components.deps = dataclasses.replace(components.deps, engine=StubEngine())
    return components


if __name__ == "__main__":
    app.build_components = build_stubbed_components  # what serve and run_worker call
    raise SystemExit(cli.main(sys.argv[1:]))
