"""scripts/with_pg.sh: runs a command against a throwaway PostgreSQL, passes its exit code, cleans up."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "with_pg.sh"

COMMAND = """
import os, sys
from sqlalchemy import text
from hyperjob.store import open_store
with open_store(os.environ["HYPERJOB_DB_URL"]) as store:
    store.create_tuning_job("via-script", {"name": "via-script"})
    print("created", store.url, [t.name for t in store.list_tuning_jobs()])
    with store._engine.connect() as conn:
        print("datadir", conn.execute(text("SHOW data_directory")).scalar())
sys.exit(3)
"""


@pytest.mark.postgres
def test_with_pg_runs_the_command_against_a_fresh_server(pg_bin: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    proc = subprocess.run(
        [str(SCRIPT), sys.executable, "-c", COMMAND],
        env={**os.environ, "PGPORT": str(port)},
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 3, proc.stderr  # the command's own exit code
    assert f"created postgresql+psycopg://postgres@127.0.0.1:{port}/hyperjob ['via-script']" in proc.stdout
    datadir = proc.stdout.split("datadir ")[1].strip()
    assert datadir.startswith("/tmp/hj-pg.")
    assert not Path(datadir).exists()  # the data dir is gone
    # and the server is stopped
    probe = subprocess.run([str(pg_bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True)
    assert probe.returncode != 0
