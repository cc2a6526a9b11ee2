"""A real S3-protocol server for tests: moto's standalone server, in a process of its own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "mredis-test",
    "AWS_SECRET_ACCESS_KEY": "mredis-test-secret",
    "AWS_REGION": "us-east-1",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def s3_server(bucket: str) -> Iterator[dict[str, str]]:
    """Start moto_server, create ``bucket``; yield the environment a client needs."""
    port = _free_port()
    binary = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(binary), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    env = {**CREDENTIALS, "MREDIS_S3_ENDPOINT_URL": endpoint}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.05)
        client(env).create_bucket(Bucket=bucket)
        yield env
    finally:
        process.terminate()
        process.wait(10)


def client(env: dict[str, str]) -> Any:
    """A boto3 S3 client of the server ``env`` names (Any: boto3 ships no type hints)."""
    saved = {k: os.environ.get(k) for k in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    try:
        return boto3.client("s3", endpoint_url=env["MREDIS_S3_ENDPOINT_URL"], region_name="us-east-1")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
