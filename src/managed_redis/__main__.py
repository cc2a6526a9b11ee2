"""``python -m managed_redis`` is the ``mredis`` command."""

from managed_redis.cli import main

raise SystemExit(main())
