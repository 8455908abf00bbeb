"""The store against a real PostgreSQL server: real errors classified, and a write never applied twice.

A COMMIT whose answer is lost is simulated at the driver: the connection's real ``commit()`` runs on the server
and the connection is then closed under it (the answer lost), or it is closed before (the COMMIT never sent).
The store must find out which by the transaction id and run the transaction again only in the second case.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, event, make_url, text
from sqlalchemy import exc as sa_exc

from _root_conftest import free_port  # tests/conftest.py (another folder's conftest may be 'conftest')
from hyperjob.errors import StoreError, StoreUnavailableError
from hyperjob.records import TrainingJobStatus
from hyperjob.store import SqlStore
from hyperjob.store._retry import is_unreachable

pytestmark = pytest.mark.postgres


def _raised(fn: Any) -> sa_exc.DBAPIError:
    with pytest.raises(sa_exc.DBAPIError) as caught:
        fn()
    return caught.value


def test_real_errors_of_a_real_server_are_classified(pg_url: str) -> None:
    url = make_url(pg_url)
    engine = create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (id int PRIMARY KEY)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))

        def duplicate() -> None:
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (1)"))

        def bad_sql() -> None:
            with engine.connect() as conn:
                conn.execute(text("SELEC 1"))

        def statement_timeout() -> None:
            with engine.connect() as conn:
                conn.execute(text("SET statement_timeout = 50"))
                conn.execute(text("SELECT pg_sleep(2)"))

        def terminated() -> None:  # what pg_ctl stop -m fast does to every session
            with engine.connect() as conn, engine.connect() as other:
                pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                other.commit()
                conn.execute(text("SELECT 1"))

        def refused() -> None:
            create_engine(url.set(port=free_port()), connect_args={"connect_timeout": 5}).connect()

        def unknown_role() -> None:
            create_engine(url.set(username="no_such_role_hj"), connect_args={"connect_timeout": 5}).connect()

        def unknown_database() -> None:
            create_engine(url.set(database="no_such_db_hj"), connect_args={"connect_timeout": 5}).connect()

        for fn in (duplicate, bad_sql, statement_timeout, unknown_role, unknown_database):
            err = _raised(fn)
            assert not is_unreachable(err, sqlite=False), (fn.__name__, err)
        for fn in (terminated, refused):
            err = _raised(fn)
            assert is_unreachable(err, sqlite=False), (fn.__name__, err)
    finally:
        engine.dispose()


def _lose_the_commit(store: SqlStore, monkeypatch: pytest.MonkeyPatch, *, sent: bool) -> list[int]:
    """Make the next COMMIT fail as on a dropped connection: after the server committed (``sent``), or before."""
    dialect = store._engine.dialect
    real = dialect.do_commit
    calls: list[int] = []

    def do_commit(dbapi_connection: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raw = dbapi_connection.dbapi_connection  # the psycopg connection under the pool's proxy
            if sent:
                raw.commit()  # the server committed; its answer is lost with the connection
            raw.close()
            raw.commit()  # raises: the connection is closed
        real(dbapi_connection)

    monkeypatch.setattr(dialect, "do_commit", do_commit)
    return calls


@pytest.mark.parametrize("sent", [True, False], ids=["committed-answer-lost", "never-committed"])
def test_a_write_whose_commit_answer_is_lost_is_applied_exactly_once(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, sent: bool
) -> None:
    store = SqlStore(pg_url, retry_s=30)
    told: list[str] = []
    store.set_outage_listener(told.append)
    try:
        store.create_tuning_job("once", {"name": "once"})
        calls = _lose_the_commit(store, monkeypatch, sent=sent)
        record = store.add_training_job("once", {"x": 1})  # not idempotent: a second run adds a second job
        # committed: the store asked the server and stopped; not committed: it ran the transaction again at once
        assert len(calls) == (1 if sent else 2)
        assert record.id == "once-000"
        assert [r.id for r in store.list_training_jobs("once")] == ["once-000"]
        if sent:  # the server answered the question at once: no outage to tell of
            assert told == []
        else:  # the lost connection is told, and the end of it
            assert len(told) == 2 and "unreachable (" in told[0] and "reachable again after" in told[1], told

        calls = _lose_the_commit(store, monkeypatch, sent=sent)
        store.set_status("once-000", TrainingJobStatus.COMPLETED, final_objective=0.5)
        assert store.get_training_job("once-000").final_objective == 0.5
        calls = _lose_the_commit(store, monkeypatch, sent=sent)
        created = store.create_tuning_job("twice", {"name": "twice"})  # a conflict if it ran twice
        assert created.name == "twice" and [t.name for t in store.list_tuning_jobs()] == ["once", "twice"]
    finally:
        store.close()


def test_opening_a_store_that_is_not_there_fails_at_once_with_the_reason(pg_url: str) -> None:
    url = make_url(pg_url).set(port=free_port()).render_as_string(hide_password=False)
    with pytest.raises(StoreError, match="could not connect: .*Connection refused.*PostgreSQL server is running") as e:
        SqlStore(url, retry_s=60)
    assert not isinstance(e.value, StoreUnavailableError) and type(e.value) is StoreError


def test_with_retries_off_a_lost_connection_raises_store_unavailable_at_once(
    pg_url: str, pg_admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqlStore(pg_url, retry_s=0)
    try:
        store.create_tuning_job("x", {})
        database = make_url(pg_url).database
        with pg_admin.connect() as conn:  # end every session of the test's database, as a server restart does
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d "
                              "AND pid <> pg_backend_pid()"), {"d": database})
        assert store.get_tuning_job("x").name == "x"  # pool_pre_ping: a dead idle connection is replaced

        def drop_the_connection(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.startswith("INSERT INTO training_jobs"):  # mid-transaction, before its COMMIT
                conn.connection.dbapi_connection.close()

        event.listen(store._engine, "before_cursor_execute", drop_the_connection)
        try:
            with pytest.raises(StoreUnavailableError, match="retries are off"):
                store.add_training_job("x", {"a": 1})
        finally:
            event.remove(store._engine, "before_cursor_execute", drop_the_connection)
        assert store.list_training_jobs("x") == []
        assert store.add_training_job("x", {"a": 1}).id == "x-000"  # reachable again: the outage is over
    finally:
        store.close()
