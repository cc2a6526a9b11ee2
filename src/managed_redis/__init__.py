"""managed-redis: a self-hosted Managed Service for Redis API that runs real Redis."""

__version__ = "0.1.0"
