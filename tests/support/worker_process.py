"""``python -m tests.support.worker_process <database-url> <lease-s>``: a worker for tests.

The real ``mredis worker`` plus the test-only ``test.steps`` operation kind.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from managed_redis.app import build_components, run_worker
from managed_redis.settings import load_settings
from tests.support.step_handler import handlers


def main() -> int:
    database_url, lease_s = sys.argv[1], sys.argv[2]
    data_dir = Path(tempfile.mkdtemp(prefix="mredis-worker-"))
    settings = load_settings(
        flags={
            "database_url": database_url,
            "lease_s": lease_s,
            "data_dir": str(data_dir),
            "worker_poll_s": "0.1",
        },
        env={},
    )
    return run_worker(settings, build_components(settings, handlers=handlers()))


if __name__ == "__main__":
    raise SystemExit(main())
