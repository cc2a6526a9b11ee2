"""The client side of the REST API: where the server is, the token, one call, its errors.

``ApiClient.call`` sends one request and returns the JSON object answered; any answer that
is not 2xx raises ``AnswerError`` carrying the ``google.rpc.Status`` the server sent (code and
message), and a server that cannot be reached raises ``AnswerError`` with code UNAVAILABLE.

Where the server and the token come from, first found wins: ``--endpoint`` /
``MREDIS_ENDPOINT`` / the profile file's ``endpoint`` / the server's own default REST
address; ``--token`` / ``MREDIS_TOKEN`` / the profile's ``token`` / the local admin-token
file (``<data dir>/admin-token``, data dir from ``MREDIS_DATA_DIR`` or the server's default).
The profile is a TOML file (``MREDIS_CLI_CONFIG``, default ``~/.config/mredis/config.toml``)
with ``endpoint``, ``token`` and ``folder-id`` keys.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from managed_redis.errors import InternalError
from managed_redis.settings import Settings, default_data_dir

UNAVAILABLE = 14
_HTTP_TIMEOUT_S = 60


class AnswerError(InternalError):
    """An error the API answered (a ``google.rpc.Status``: its code is ``rpc_code``) or the
    server could not be reached (UNAVAILABLE). The client prints it and exits 1."""

    def __init__(self, rpc_code: int, message: str) -> None:
        super().__init__(message)
        self.rpc_code = rpc_code
        self.message = message


@dataclass(frozen=True)
class Connection:
    """Where the API is (``endpoint``, a base URL), the bearer token, the default folder."""

    endpoint: str
    token: str | None
    folder_id: str | None


def profile_path() -> Path:
    """The profile file: ``MREDIS_CLI_CONFIG`` or ``$XDG_CONFIG_HOME/mredis/config.toml``."""
    if os.environ.get("MREDIS_CLI_CONFIG"):
        return Path(os.environ["MREDIS_CLI_CONFIG"])
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "mredis" / "config.toml"


def read_profile(path: Path) -> dict[str, Any]:
    """The profile's keys, or {} when there is no file. Raises AnswerError(3) if it is not TOML."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise AnswerError(3, f"profile {path}: {exc}") from exc


def default_endpoint() -> str:
    """The REST address ``mredis serve`` listens on by default, as a URL."""
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    return f"http://{fields['rest_addr'].default}"


def _local_admin_token() -> str | None:
    data_dir = Path(os.environ["MREDIS_DATA_DIR"]) if os.environ.get("MREDIS_DATA_DIR") else default_data_dir()
    try:
        return (data_dir / "admin-token").read_text().strip() or None
    except OSError:
        return None


def resolve_connection(endpoint: str | None, token: str | None, folder_id: str | None) -> Connection:
    """The connection from flags (None when not given), else the environment, else the profile,
    else the local defaults (see the module docstring)."""
    profile = read_profile(profile_path())
    endpoint = endpoint or os.environ.get("MREDIS_ENDPOINT") or profile.get("endpoint") or default_endpoint()
    if "://" not in endpoint:
        endpoint = f"http://{endpoint}"
    token = token or os.environ.get("MREDIS_TOKEN") or profile.get("token") or _local_admin_token()
    folder_id = folder_id or os.environ.get("MREDIS_FOLDER_ID") or profile.get("folder-id")
    return Connection(endpoint=endpoint.rstrip("/"), token=token, folder_id=folder_id)


def unreachable_reason(exc: requests.RequestException) -> str:
    """Why a request got no answer, in a few words: the operating system's reason found in
    the exception's chain (``Connection refused``, ``Name or service not known``), or what
    kind of failure it was; never the HTTP library's internals (pools, retries, classes)."""
    if isinstance(exc, requests.Timeout):
        return f"no answer within {_HTTP_TIMEOUT_S} s"
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        error = stack.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, OSError) and error.strerror:
            return error.strerror
        linked = (error.__cause__, error.__context__, getattr(error, "reason", None), *error.args)
        stack += [e for e in linked if isinstance(e, BaseException)]
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return "not a valid URL"
    return "no connection"


class ApiClient:
    """Calls the REST API at ``connection.endpoint`` with its bearer token, waiting up to
    ``timeout_s`` for each answer (a shell's completion waits less than a command)."""

    def __init__(self, connection: Connection, timeout_s: float = _HTTP_TIMEOUT_S) -> None:
        self.connection = connection
        self.timeout_s = timeout_s
        self._session = requests.Session()
        if connection.token:
            self._session.headers["Authorization"] = f"Bearer {connection.token}"

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """``method`` on ``path`` (e.g. ``/managed-redis/v1/clusters``) with a JSON ``body``
        and ``query`` parameters (lists repeat); the JSON object answered. Raises AnswerError."""
        url = self.connection.endpoint + path
        params = {k: v for k, v in (query or {}).items() if v not in (None, "", [])}
        try:
            response = self._session.request(method, url, json=body, params=params, timeout=self.timeout_s)
        except requests.RequestException as exc:
            why = unreachable_reason(exc)
            raise AnswerError(UNAVAILABLE, f"cannot reach the API at {self.connection.endpoint}: {why}") from exc
        try:
            answer = response.json() if response.content else {}
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise AnswerError(UNAVAILABLE, f"{method} {path}: HTTP {response.status_code}, not the API's JSON")
        if response.status_code >= 300:
            raise AnswerError(int(answer.get("code", 2)), str(answer.get("message") or f"HTTP {response.status_code}"))
        return answer

    def list_all(self, path: str, key: str, query: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every item under ``key`` of every page of a List method, following nextPageToken."""
        items: list[dict[str, Any]] = []
        query = dict(query or {})
        while True:
            page = self.call("GET", path, query=query)
            items += page.get(key, [])
            token = page.get("nextPageToken")
            if not token:
                return items
            query["pageToken"] = token
