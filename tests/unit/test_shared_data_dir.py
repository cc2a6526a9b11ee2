"""Control-plane processes sharing one data dir: started at once on an empty one, they all end
up with the same secret key, CA and admin token; two log rotators take turns."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from managed_redis.operations.log_rotation import LogRotation
from managed_redis.settings import Settings

# What a starting control plane makes in its data dir, printed as one JSON line.
FIRST_START = """
import json, sys
from pathlib import Path
from managed_redis.api.auth import ensure_admin_token
from managed_redis.pki import CertificateAuthority
from managed_redis.vault import Vault

data = Path(sys.argv[1])
vault = Vault.open(data)
ca = CertificateAuthority(data / "tls")
token, _ = ensure_admin_token(data / "admin-token", None)
server = ca.issue(data / "tls" / "server", "managed-redis API", ["localhost", "127.0.0.1"])
print(json.dumps({
    "opens": vault.open_sealed(Vault.open(data).seal({"k": "v"})) == {"k": "v"},
    "key": (data / "secret.key").read_text(),
    "ca": ca.cert_pem.decode(),
    "token": token,
    "server": [server.cert_path.read_text(), server.key_path.read_text()],
}))
"""


def test_processes_starting_at_once_make_one_key_ca_and_token(tmp_path: Path) -> None:
    data = tmp_path / "data"
    starters = [
        subprocess.Popen([sys.executable, "-c", FIRST_START, str(data)], stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    made = [json.loads(starter.communicate(timeout=120)[0]) for starter in starters]
    assert all(starter.returncode == 0 for starter in starters)
    assert all(m["opens"] for m in made)
    for field in ("key", "ca", "token", "server"):
        assert len({json.dumps(m[field]) for m in made}) == 1, field
    # Each one's view is what is on disk: the server's certificate and key belong together.
    assert made[0]["server"] == [(data / "tls" / "server.pem").read_text(), (data / "tls" / "server.key").read_text()]


NOW = dt.datetime(2026, 11, 30, 19, 0, 0).astimezone()


def test_two_log_rotators_take_turns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    live = tmp_path / "hosts" / "127.0.0.5" / "redis.log"
    live.parent.mkdir(parents=True)
    live.write_text(f"1:M {NOW:%d %b %Y %H:%M:%S}.000 * {'x' * 2000}\n")
    settings = Settings(data_dir=tmp_path, host_log_rotate_mib=0.001)
    first, second = LogRotation(settings, now=NOW.timestamp), LogRotation(settings, now=NOW.timestamp)
    inside, go_on = threading.Event(), threading.Event()
    rotate = first.rotate_if_due

    def held_up(source: object) -> object:
        inside.set()
        go_on.wait(10)
        return rotate(source)  # type: ignore[arg-type]

    monkeypatch.setattr(first, "rotate_if_due", held_up)
    rotated: dict[str, list[Path]] = {}
    one = threading.Thread(target=lambda: rotated.update(first=first.run_once()))
    one.start()
    assert inside.wait(10)
    two = threading.Thread(target=lambda: rotated.update(second=second.run_once()))
    two.start()
    time.sleep(0.3)
    assert "second" not in rotated  # it waits while the first is in its pass
    go_on.set()
    one.join(10)
    two.join(10)
    # One rename; without turns both would rename to redis.log.1, the second over the first.
    assert rotated == {"first": [live.with_name("redis.log.1")], "second": []}
