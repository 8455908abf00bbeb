"""Opening a store: default file, plain paths, URLs, SQLite settings, and the errors when it cannot be opened."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hyperjob.errors import StoreError
from hyperjob.records import TrainingJobStatus
from hyperjob.store import open_store
from hyperjob.store.sql import SqlStore


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nobody listens on it once the socket is closed


@pytest.mark.parametrize("arg", [None, "", "  "])
def test_default_is_a_sqlite_file_under_the_current_directory(tmp_path: Path, monkeypatch, arg) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store(arg) as store:
        store.create_tuning_job("tj", {"name": "tj"})
        assert store.url == f"sqlite:///{tmp_path}/hyperjob-runs/hyperjob.db"
    assert (tmp_path / "hyperjob-runs" / "hyperjob.db").is_file()
    with open_store(f"sqlite:///{tmp_path}/hyperjob-runs/hyperjob.db") as again:
        assert again.get_tuning_job("tj").name == "tj"


def test_a_plain_path_is_a_sqlite_file_and_its_directories_are_created(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store("runs/deep/er/my.db") as store:
        store.create_tuning_job("tj", {"name": "tj"})
    assert (tmp_path / "runs" / "deep" / "er" / "my.db").is_file()
    with open_store(tmp_path / "runs" / "deep" / "er" / "my.db") as again:  # a PathLike works too
        assert [t.name for t in again.list_tuning_jobs()] == ["tj"]
    with open_store(f"sqlite:///{tmp_path}/other/dir/x.db") as by_url:  # so does a URL's directory
        assert by_url.list_tuning_jobs() == []
    assert (tmp_path / "other" / "dir" / "x.db").is_file()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    with SqlStore(f"sqlite:///{tmp_path}/s.db") as store:
        with store._engine.connect() as conn:
            pragma = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") == 30_000
            assert pragma("synchronous") == 1  # NORMAL


def test_a_writer_waits_for_another_one_instead_of_failing(tmp_path: Path) -> None:
    """A second process that holds the write lock for a moment delays a write; it does not break it."""
    db = tmp_path / "busy.db"
    with SqlStore(f"sqlite:///{db}") as store:
        store.create_tuning_job("tj", {"name": "tj"})
        holder = subprocess.Popen(
            [sys.executable, "-c",
             "import sqlite3, sys, time\n"
             "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
             "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(1.0); c.execute('COMMIT')",
             str(db)],
            stdout=subprocess.PIPE, text=True,
        )
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        job = store.add_training_job("tj", {"a": 1})  # waits for the lock (busy_timeout), then succeeds
        assert holder.wait(timeout=30) == 0
        holder.stdout.close()
        assert store.get_training_job(job.id).status is TrainingJobStatus.PENDING


def test_an_in_memory_store_works_within_one_process() -> None:
    with SqlStore("sqlite://") as store:
        store.create_tuning_job("tj", {"name": "tj"})
        assert store.add_training_job("tj", {"a": 1}).id == "tj-000"


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_an_unreachable_server_names_the_url_without_the_password(scheme: str) -> None:
    port = _closed_port()
    with pytest.raises(StoreError) as info:
        open_store(f"{scheme}://tuner:s3cr3t-pw@127.0.0.1:{port}/hyperjob")
    message = str(info.value)
    assert f"postgresql+psycopg://tuner:***@127.0.0.1:{port}/hyperjob" in message  # rewritten to psycopg
    assert "s3cr3t-pw" not in message
    assert "PostgreSQL server is running" in message


def test_a_missing_postgresql_driver_names_the_install_command(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg now raises ImportError
    with pytest.raises(StoreError, match=r"pip install 'hyperjob\[pg\]'") as info:
        open_store("postgresql://tuner:pw@127.0.0.1:5432/hyperjob")
    assert "pw@" not in str(info.value)


@pytest.mark.parametrize("url", ["mysql://u@localhost/db", "mongodb://localhost/db"])
def test_other_databases_are_refused(url: str) -> None:
    with pytest.raises(StoreError, match=r"SQLite or PostgreSQL, not '(mysql|mongodb)'"):
        open_store(url)


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a SQLite database" * 100)
    with pytest.raises(StoreError, match=r"junk.db: could not connect: file is not a database"):
        open_store(junk)


def test_a_database_with_hyperjob_tables_but_no_version_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "foreign.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE tuning_jobs (name TEXT PRIMARY KEY)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match=r"has the tables tuning_jobs but no schema_version table"):
        open_store(db)


@pytest.mark.postgres
def test_a_postgresql_url_without_driver_opens_with_psycopg(pg_url: str) -> None:
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with open_store(plain) as store:
        assert store.url.startswith("postgresql+psycopg://")
        assert store._engine.dialect.driver == "psycopg"
        store.create_tuning_job("tj", {"name": "tj"})
    with open_store(pg_url) as again:
        assert again.get_tuning_job("tj").name == "tj"


def test_importing_the_store_package_does_not_import_sqlalchemy() -> None:
    code = "import sys, hyperjob.store, hyperjob.store.base; print('sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
