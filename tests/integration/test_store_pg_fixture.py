"""The PostgreSQL fixture skips without a server, but fails in CI, so that CI never silently skips them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run_one_pg_test(ci: str | None) -> subprocess.CompletedProcess[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])  # nobody listens there
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["HYPERJOB_DB_URL"] = f"postgresql+psycopg://postgres@127.0.0.1:{port}/nowhere"
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
         "tests/contracts/test_store_contract.py::test_satisfies_the_store_protocol[postgresql]"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )


def test_without_a_server_the_postgresql_tests_are_skipped() -> None:
    proc = _run_one_pg_test(None)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 skipped" in proc.stdout and "no PostgreSQL: cannot connect" in proc.stdout


def test_in_ci_the_postgresql_tests_fail_without_a_server() -> None:
    proc = _run_one_pg_test("true")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "PostgreSQL is required in CI (CI is set) but cannot connect" in proc.stdout
    assert "1 error" in proc.stdout and "skipped" not in proc.stdout
