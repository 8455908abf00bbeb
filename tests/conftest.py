"""Shared fixtures.

The shared corpus
-----------------
Tests that read ``../shared/corpus`` (real inputs written by others) use ``tests/_corpus.py``
(``CORPUS_ROOT``, ``need``): without the corpus they skip, except in CI (``CI`` set), where they fail.

PostgreSQL (owned by the store area)
------------------------------------
``pg_server`` (session): the URL of a PostgreSQL server, in this order:

1. ``HYPERJOB_DB_URL`` if set (e.g. by ``scripts/with_pg.sh``);
2. else, when running as root with ``/usr/lib/postgresql/*/bin/postgres`` installed, a throwaway server
   started for the session: ``initdb`` as the ``postgres`` user (trust auth) in a temp dir, ``pg_ctl start``
   on a free port of 127.0.0.1 with fsync off; stopped and removed at the end;
3. else the test is skipped, except when the ``CI`` environment variable is set (and not ``0``/``false``):
   then it fails, so that CI never passes without having run the PostgreSQL tests.

``pg_url`` (per test): a fresh, empty database on that server (``CREATE DATABASE`` with a unique name,
dropped afterwards); if the role may not create databases, the hyperjob tables of the given database are
dropped instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any, Iterator


import pytest

PG_URL_ENV = "HYPERJOB_DB_URL"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pg_unavailable(reason: str) -> None:
    """Skip the test for lack of PostgreSQL, or fail it in CI (``CI`` set)."""
    if _in_ci():
        pytest.fail(f"PostgreSQL is required in CI (CI is set) but {reason}", pytrace=False)
    pytest.skip(
        f"no PostgreSQL: {reason}. Set {PG_URL_ENV}, or run the tests as root with PostgreSQL installed "
        f"(scripts/with_pg.sh)."
    )


def _version_key(path: str) -> tuple[int, ...]:
    parts = Path(path).parts[-3].split(".")  # /usr/lib/postgresql/<version>/bin/postgres
    return tuple(int(p) if p.isdigit() else 0 for p in parts)


@pytest.fixture(scope="session")
def pg_bin() -> Path:
    """The newest ``/usr/lib/postgresql/*/bin`` (root only); skips (or fails in CI) when unusable."""
    if os.geteuid() != 0:
        pg_unavailable("the tests do not run as root, so they cannot start a throwaway server")
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=_version_key)
    if not found:
        pg_unavailable("no server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
    if shutil.which("runuser") is None:
        pg_unavailable("`runuser` is missing")
    return Path(found[-1]).parent


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command as the ``postgres`` user (from ``/``, which it can read)."""
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *args], cwd="/", capture_output=True, text=True, timeout=120, check=check
    )


@pytest.fixture(scope="session")
def pg_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a PostgreSQL server (its ``postgres`` database, or the database of HYPERJOB_DB_URL)."""
    url = os.environ.get(PG_URL_ENV, "").strip()
    if url:
        yield url
        return
    pg_bin: Path = request.getfixturevalue("pg_bin")
    datadir = tempfile.mkdtemp(prefix="hj-pg-test-")
    started = False
    try:
        shutil.chown(datadir, "postgres", "postgres")
        os.chmod(datadir, 0o700)
        try:
            initdb = str(pg_bin / "initdb")
            _as_postgres(initdb, "-D", datadir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "-N")  # -N: no fsync
        except (subprocess.SubprocessError, OSError) as exc:
            pg_unavailable(f"initdb failed: {getattr(exc, 'stderr', '') or exc}")
        pg_ctl = str(pg_bin / "pg_ctl")
        errors = []
        for _ in range(3):  # the free port may be taken between the probe and the start
            port = free_port()
            options = (
                f"-p {port} -c listen_addresses=127.0.0.1 -k {datadir} -c fsync=off "
                f"-c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                _as_postgres(pg_ctl, "-D", datadir, "-l", f"{datadir}/server.log", "-w", "-t", "30", "-o", options,
                             "start")
                started = True
                break
            except (subprocess.SubprocessError, OSError) as exc:
                log = Path(datadir, "server.log")
                tail = log.read_text()[-500:] if log.exists() else ""
                errors.append(f"{getattr(exc, 'stderr', '') or exc} {tail}")
        if not started:
            pg_unavailable(f"pg_ctl start failed: {' | '.join(errors)}")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:  # a throwaway server: no need for a clean shutdown
            _as_postgres(str(pg_bin / "pg_ctl"), "-D", datadir, "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(datadir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_admin(pg_server: str) -> Iterator[Any]:
    """A SQLAlchemy engine (AUTOCOMMIT) on the PostgreSQL server, shared by the session."""
    try:
        import psycopg  # noqa: F401 - the driver the store uses
        from sqlalchemy import create_engine, make_url, text
        from sqlalchemy import exc as sa_exc
    except ImportError as exc:
        pg_unavailable(f"a Python package is missing ({exc}): pip install 'hyperjob[pg]'")
    server = make_url(pg_server.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except sa_exc.OperationalError as exc:
        admin.dispose()
        pg_unavailable(f"cannot connect to {server.render_as_string(hide_password=True)}: {exc.orig}")
    yield admin
    admin.dispose()


@pytest.fixture
def pg_url(pg_admin: Any) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (its URL, with the psycopg driver)."""
    from sqlalchemy import exc as sa_exc
    from sqlalchemy import text

    name = f"hj_test_{uuid.uuid4().hex[:12]}"
    try:
        with pg_admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except sa_exc.ProgrammingError:  # no CREATEDB privilege: empty the given database instead
        from hyperjob.store.models import Base

        Base.metadata.drop_all(pg_admin)
        yield pg_admin.url.render_as_string(hide_password=False)
        Base.metadata.drop_all(pg_admin)
        return
    yield pg_admin.url.set(database=name).render_as_string(hide_password=False)
    with pg_admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# S3 (owned by issue 17: hyperjob.remote) -------------------------------------------------------------------
@pytest.fixture(scope="session")
def s3_server() -> Iterator[Any]:
    """A real S3-compatible server (moto) on 127.0.0.1 for the session: a ``tests/_s3.py`` ``S3Server``
    (``.endpoint``, ``.bucket()``, ``.put()``, ``.upload_dir()``). Skips without moto, except in CI (fails)."""
    import _s3

    try:
        import boto3  # noqa: F401
        import s3fs  # noqa: F401
        server = _s3.start()
    except ImportError as exc:
        if _in_ci():
            pytest.fail(f"moto[server], boto3 and s3fs are required in CI but {exc}", pytrace=False)
        pytest.skip(f"no S3 test server: {exc} (pip install 'hyperjob[test]')")
    yield server
    server.stop()


@pytest.fixture
def s3_env(s3_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The environment a client of ``s3_server`` needs (region, fake keys, ``AWS_ENDPOINT_URL``, which
    training jobs started as subprocesses inherit), set for one test; returns the server."""
    import _s3

    for name, value in _s3.env_for(s3_server.endpoint).items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    return s3_server


# Ray (owned by the Ray executor's area)
# ---------------------------------------
# ``ray_cluster`` (session): ONE real local Ray cluster of two nodes for the whole test session
# (``ray.cluster_utils.Cluster``, on 127.0.0.1 only), and this process connected to it. The head has 2 CPUs and the
# resource ``head``; the worker node has 2 CPUs, one (fake) GPU and the resources ``worker`` and ``spot``. A test
# may add nodes of its own (and remove them); it must leave these two. Only this cluster's processes are stopped.
@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    from types import SimpleNamespace

    for key, value in {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled",
                       "RAY_USAGE_STATS_ENABLED": "0"}.items():
        os.environ.setdefault(key, value)
    ray = pytest.importorskip("ray", reason="pip install 'hyperjob[ray]'")
    from ray.cluster_utils import Cluster

    store = 80 * 2**20
    # a node killed in a test is declared dead after ~1 s (Ray's default health checks take longer)
    fast_health = {"health_check_period_ms": 500, "health_check_failure_threshold": 2,
                   "health_check_initial_delay_ms": 0}
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 2, "resources": {"head": 1}, "object_store_memory": store, "include_dashboard": False,
        "_system_config": fast_health})
    worker = cluster.add_node(num_cpus=2, num_gpus=1, resources={"worker": 1, "spot": 1}, object_store_memory=store)
    try:
        ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
        cluster.wait_for_nodes()
        yield SimpleNamespace(cluster=cluster, worker=worker, address=cluster.address, object_store_memory=store)
    finally:
        ray.shutdown()
        cluster.shutdown()
