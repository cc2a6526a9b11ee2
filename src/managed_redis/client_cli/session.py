"""What one client command works with: the API client, the output format, the default folder,
and the steps every command shares (find a cluster by id or name, run a mutating call and
wait for it, print the result)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Collection, Sequence
from typing import Any
from urllib.parse import quote

from managed_redis.client_cli import waiting
from managed_redis.client_cli.api_client import AnswerError, ApiClient, profile_path, resolve_connection
from managed_redis.client_cli.output import emit, without_type

CLUSTERS = "/managed-redis/v1/clusters"
NOT_FOUND = 5
INVALID_ARGUMENT = 3


class Session:
    """One command's client, format and folder, made from its parsed ``args``."""

    def __init__(self, args: argparse.Namespace) -> None:
        connection = resolve_connection(args.endpoint, args.token, args.folder_id)
        self.client = ApiClient(connection)
        self.folder_id = connection.folder_id
        self.format: str = args.format
        self.run_async: bool = bool(getattr(args, "run_async", False))

    def folder(self) -> str:
        """The folder of the command. Raises AnswerError(INVALID_ARGUMENT) when none was given."""
        if not self.folder_id:
            where = f"--folder-id, MREDIS_FOLDER_ID or folder-id in {profile_path()}"
            raise AnswerError(INVALID_ARGUMENT, f"folder_id: required (give {where})")
        return self.folder_id

    def cluster_id(self, id_or_name: str) -> str:
        """The id of the cluster ``id_or_name`` names: a cluster with that id, else the one of that
        name in the folder. Raises AnswerError (NOT_FOUND, or the API's own error)."""
        try:
            cluster = self.client.call("GET", f"{CLUSTERS}/{quote(id_or_name, safe='')}")
            return str(cluster["id"])
        except AnswerError as exc:
            if exc.rpc_code != NOT_FOUND or not self.folder_id:
                raise
        clusters = self.client.list_all(CLUSTERS, "clusters", {"folderId": self.folder_id})
        for cluster in clusters:
            if cluster.get("name") == id_or_name:
                return str(cluster["id"])
        raise AnswerError(NOT_FOUND, f"cluster {id_or_name} not found (by id, nor by name in folder {self.folder_id})")

    def show(self, value: Any, columns: Sequence[str] = (), booleans: Collection[str] = ()) -> None:
        """Print ``value`` in the command's format (``output.emit``: ``booleans`` are the
        columns shown ``false`` when absent)."""
        emit(value, self.format, columns, booleans=booleans)

    def mutate(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Call a mutating method. With ``--async``: print the operation and return None.
        Else wait for it (progress on stderr) and return its response (``@type`` dropped).
        Raises AnswerError when the call or the operation fails."""
        operation = self.client.call(method, path, body)
        if self.run_async:
            self.show(operation)
            return None
        done = waiting.wait(self.client, operation, sys.stderr)
        return without_type(done.get("response") or {})

    def mutate_and_show(
        self, method: str, path: str, body: dict[str, Any] | None = None, columns: Sequence[str] = ()
    ) -> None:
        """``mutate``, then print the resulting resource (nothing in text for an empty one)."""
        result = self.mutate(method, path, body)
        if result is None:
            return
        if result or self.format != "text":
            self.show(result, columns)
