"""What the shell offers on TAB for a CLUSTER argument (argcomplete's completers; ``mredis``
calls ``argcomplete.autocomplete`` when the shell asks): the names of the clusters in the
command's folder, read from the API with the command's endpoint, token and folder as a run of
the command would resolve them (``api_client.resolve_connection``).

A completion never prints an error into the shell's line nor keeps it waiting: any failure
(no folder, no server, a refusal, a bad profile) offers nothing, and the API gets
``COMPLETION_TIMEOUT_S`` to answer.
"""

from __future__ import annotations

import argparse
from typing import Any

CLUSTERS = "/managed-redis/v1/clusters"
COMPLETION_TIMEOUT_S = 3.0


def cluster_names(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    """The names, sorted, of the clusters in the folder of ``parsed_args`` (``--folder-id``,
    MREDIS_FOLDER_ID or the profile's) that start with ``prefix``; [] on any failure."""
    from managed_redis.client_cli.api_client import ApiClient, resolve_connection

    try:
        connection = resolve_connection(
            getattr(parsed_args, "endpoint", None),
            getattr(parsed_args, "token", None),
            getattr(parsed_args, "folder_id", None),
        )
        if not connection.folder_id:
            return []
        client = ApiClient(connection, timeout_s=COMPLETION_TIMEOUT_S)
        clusters = client.list_all(CLUSTERS, "clusters", {"folderId": connection.folder_id})
    except Exception:  # a completion offers nothing rather than break the shell's line
        return []
    names = {str(cluster.get("name", "")) for cluster in clusters}
    return sorted(name for name in names if name and name.startswith(prefix))
