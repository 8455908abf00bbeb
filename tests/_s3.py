"""A real S3-compatible server on 127.0.0.1 for the tests: moto's ``ThreadedMotoServer``.

The session fixture ``s3_server`` (tests/conftest.py) starts one :class:`S3Server` per test session; the
per-test fixture ``s3_env`` sets what a client needs (``AWS_DEFAULT_REGION``, fake keys, ``AWS_ENDPOINT_URL``,
which subprocesses inherit) with ``monkeypatch``, so nothing leaks into other tests. Use them as::

    def test_x(s3_server, s3_env):
        bucket = s3_server.bucket()                       # a new, empty bucket with a unique name
        s3_server.put(f"{bucket}/data/train.csv", b"x,y\\n")
        url = f"s3://{bucket}/data"                         # hyperjob.remote reads it through the env's endpoint

Needs ``moto[server]``, ``boto3`` and ``s3fs`` (the ``test`` extra). Without them the fixture skips, except in
CI (``CI`` set), where it fails.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any

REGION = "us-east-1"
ACCESS_KEY = "hyperjob-test-key"
SECRET_KEY = "hyperjob-test-secret"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def env_for(endpoint: str) -> dict[str, str]:
    """The environment a client of the test server needs (also right for subprocesses)."""
    return {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_ENDPOINT_URL": endpoint,
    }


@dataclass
class S3Server:
    """A running moto S3 server: its ``endpoint`` URL and helpers that call it with boto3."""

    endpoint: str
    _server: Any = field(repr=False, default=None)

    def client(self) -> Any:
        """A boto3 S3 client for this server (explicit keys and region: no environment needed)."""
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)

    def bucket(self, name: str | None = None) -> str:
        """Create a bucket (a unique name when none is given) and return its name."""
        name = name or f"hj-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def put(self, key: str, body: bytes | str) -> str:
        """Write one object at ``bucket/key/...`` and return its ``s3://`` URL."""
        bucket, _, rest = key.partition("/")
        self.client().put_object(Bucket=bucket, Key=rest, Body=body.encode() if isinstance(body, str) else body)
        return f"s3://{key}"

    def upload_dir(self, local: str | os.PathLike[str], prefix: str) -> str:
        """Upload every file under ``local`` to ``bucket/prefix`` and return the prefix's ``s3://`` URL."""
        from pathlib import Path

        base = Path(local)
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            self.put(f"{prefix.rstrip('/')}/{path.relative_to(base).as_posix()}", path.read_bytes())
        return f"s3://{prefix.rstrip('/')}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def start() -> S3Server:
    """Start moto's threaded server on a free port of 127.0.0.1 (ImportError when moto is missing)."""
    from moto.server import ThreadedMotoServer

    errors = []
    for _ in range(3):  # the port may be taken between the probe and the bind
        port = _free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        try:
            server.start()
        except OSError as exc:
            errors.append(str(exc))
            continue
        return S3Server(endpoint=f"http://127.0.0.1:{port}", _server=server)
    raise RuntimeError(f"moto's server did not start: {' | '.join(errors)}")
