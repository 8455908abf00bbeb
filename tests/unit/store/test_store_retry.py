"""The store's outage rules: which database errors are retried, the bounded backoff, and what the user is told.

The errors are the driver's own exception classes (psycopg), wrapped by SQLAlchemy exactly as it wraps them at
run time (``DBAPIError.instance``); the same errors raised by a real server are in
tests/integration/test_store_outage_errors.py.
"""

from __future__ import annotations

import random
import sqlite3

import psycopg
import psycopg.errors as pg_errors
import pytest
from sqlalchemy import exc as sa_exc

from hyperjob.errors import SpecError, StoreUnavailableError
from hyperjob.store._retry import DEFAULT_RETRY_S, MAX_DELAY_S, RETRY_ENV, Outage, is_unreachable, retry_bound


def wrapped(orig: Exception, *, invalidated: bool = False, dbapi: type = psycopg.Error) -> sa_exc.DBAPIError:
    """``orig`` as SQLAlchemy raises it (the subclass is chosen by the driver's class, as in the engine)."""
    err = sa_exc.DBAPIError.instance("SELECT 1", {}, orig, dbapi, connection_invalidated=invalidated)
    assert isinstance(err, sa_exc.DBAPIError)
    return err


REFUSED = (
    'connection failed: connection to server at "127.0.0.1", port 5432 failed: Connection refused\n'
    "\tIs the server running on that host and accepting TCP/IP connections?"
)

RETRIED = {
    "connection refused": psycopg.OperationalError(REFUSED),
    "connection timed out": psycopg.OperationalError(
        'connection failed: connection to server at "10.0.0.9", port 5432 failed: timeout expired'),
    "server closed the connection": psycopg.OperationalError(
        "consuming input failed: server closed the connection unexpectedly"),
    "admin shutdown (pg_ctl stop -m fast)": pg_errors.AdminShutdown("terminating connection due to administrator command"),
    "crash shutdown": pg_errors.CrashShutdown("terminating connection because of crash of another server process"),
    "starting up (SQLSTATE 57P03)": pg_errors.CannotConnectNow("the database system is starting up"),
    "connection failure (class 08)": pg_errors.ConnectionFailure("connection failure"),
    "too many connections": pg_errors.TooManyConnections("sorry, too many clients already"),
    "starting up, at connect time (no SQLSTATE)": psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  the database system '
        "is starting up"),
    "shutting down, at connect time": psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  the database system '
        "is shutting down"),
}

NOT_RETRIED = {
    "unique violation": pg_errors.UniqueViolation('duplicate key value violates unique constraint "tuning_jobs_pkey"'),
    "foreign key violation": pg_errors.ForeignKeyViolation("insert or update violates foreign key constraint"),
    "bad SQL": pg_errors.SyntaxError('syntax error at or near "selec"'),
    "unknown table": pg_errors.UndefinedTable('relation "nope" does not exist'),
    "bad data": pg_errors.InvalidTextRepresentation('invalid input syntax for type integer: "x"'),
    "statement timeout": pg_errors.QueryCanceled("canceling statement due to statement timeout"),
    "deadlock": pg_errors.DeadlockDetected("deadlock detected"),
    "wrong password, at connect time": psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  password '
        'authentication failed for user "hj"'),
    "no such database, at connect time": psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  database "nope" '
        "does not exist"),
}


@pytest.mark.parametrize("case", sorted(RETRIED))
def test_an_unreachable_server_is_retried(case: str) -> None:
    assert is_unreachable(wrapped(RETRIED[case]), sqlite=False)


@pytest.mark.parametrize("case", sorted(NOT_RETRIED))
def test_an_error_of_the_statement_or_a_refusal_for_good_is_not_retried(case: str) -> None:
    assert not is_unreachable(wrapped(NOT_RETRIED[case]), sqlite=False)


def test_a_connection_that_sqlalchemy_invalidated_is_retried_whatever_the_driver_says() -> None:
    err = wrapped(psycopg.InterfaceError("the connection is lost"), invalidated=True)
    assert isinstance(err, sa_exc.InterfaceError) and is_unreachable(err, sqlite=False)
    assert not is_unreachable(wrapped(psycopg.InterfaceError("cursor already closed")), sqlite=False)


def test_a_constraint_violation_is_never_retried_even_on_an_invalidated_connection() -> None:
    err = wrapped(pg_errors.UniqueViolation("duplicate key"), invalidated=True)
    assert isinstance(err, sa_exc.IntegrityError) and not is_unreachable(err, sqlite=False)


def test_sqlite_errors_are_never_retried_locked_waits_through_busy_timeout() -> None:
    locked = wrapped(sqlite3.OperationalError("database is locked"), dbapi=sqlite3.Error)
    assert isinstance(locked, sa_exc.OperationalError)
    assert not is_unreachable(locked, sqlite=True)
    assert not is_unreachable(wrapped(sqlite3.OperationalError("disk I/O error"), dbapi=sqlite3.Error), sqlite=True)


def test_errors_that_are_not_database_errors_are_not_retried() -> None:
    assert not is_unreachable(ValueError("no"), sqlite=False)
    assert not is_unreachable(sa_exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"), sqlite=False)


# ------------------------------------------------------------------------------------------- the bound
def test_the_bound_comes_from_the_argument_then_the_environment_then_the_default(monkeypatch) -> None:
    monkeypatch.delenv(RETRY_ENV, raising=False)
    assert retry_bound(None) == DEFAULT_RETRY_S == 120.0
    monkeypatch.setenv(RETRY_ENV, "30")
    assert retry_bound(None) == 30.0
    assert retry_bound(5) == 5.0  # the argument wins
    assert retry_bound(0) == 0.0  # retries off


@pytest.mark.parametrize("bad", ["abc", "-1", "nan", "inf"])
def test_a_bad_bound_in_the_environment_is_refused_naming_the_variable(monkeypatch, bad: str) -> None:
    monkeypatch.setenv(RETRY_ENV, bad)
    with pytest.raises(SpecError, match=f"environment variable {RETRY_ENV} is '{bad}'.*seconds >= 0"):
        retry_bound(None)


def test_a_bad_bound_argument_is_refused_naming_it() -> None:
    with pytest.raises(SpecError, match=r"retry_s \(--store-retry\) is -2.*Use e.g. 120"):
        retry_bound(-2)


# ------------------------------------------------------------------------------------------- backoff
class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def outage(bound_s: float, t: FakeTime, seed: int = 0) -> tuple[Outage, list[str]]:
    told: list[str] = []
    o = Outage(bound_s, "postgresql+psycopg://hj:***@db/hj", sleep=t.sleep, clock=t.clock, rng=random.Random(seed))
    o.listener = told.append
    return o, told


def test_the_waits_double_from_half_a_second_up_to_the_cap_with_jitter_in_the_upper_half() -> None:
    t = FakeTime()
    o, _ = outage(10_000, t)
    for _ in range(12):
        o.failed("connection refused")
    bases = [min(MAX_DELAY_S, 0.5 * 2**i) for i in range(12)]
    assert all(b / 2 <= s <= b for s, b in zip(t.sleeps, bases)), list(zip(t.sleeps, bases))
    assert max(t.sleeps) <= MAX_DELAY_S and t.sleeps[-1] >= MAX_DELAY_S / 2
    assert len(set(t.sleeps)) == len(t.sleeps)  # jittered: no two tuners retry in lockstep


def test_each_attempt_is_told_and_so_is_the_end_of_the_outage() -> None:
    t = FakeTime()
    o, told = outage(120, t)
    for _ in range(3):
        o.failed("connection refused")
    t.now += 10
    o.reached()
    assert len(told) == 4
    assert told[0].startswith("store postgresql+psycopg://hj:***@db/hj unreachable (connection refused): "
                              "retrying for up to 120 s (attempt 1, next in ")
    assert "(attempt 3, next in " in told[2]
    assert told[3].startswith("store postgresql+psycopg://hj:***@db/hj reachable again after ")
    assert f"after {sum(t.sleeps) + 10:.0f} s (3 failed attempts)" in told[3]
    o.reached()  # no outage: nothing to tell
    assert len(told) == 4


def test_past_the_bound_it_raises_saying_how_long_and_how_to_go_on_and_fails_at_once_afterwards() -> None:
    t = FakeTime()
    o, told = outage(20, t)
    with pytest.raises(StoreUnavailableError) as caught:
        for _ in range(100):
            o.failed("connection refused")
    assert sum(t.sleeps) == pytest.approx(20.0)  # the last wait ends exactly at the bound
    message = str(caught.value)
    assert "unreachable (connection refused) for 20 s, past the retry bound of 20 s" in message
    assert "--store-retry SECONDS or HYPERJOB_STORE_RETRY_S" in message
    assert caught.value.exit_code == 75
    n_told, n_slept = len(told), len(t.sleeps)
    with pytest.raises(StoreUnavailableError):  # the same outage: no second wait
        o.failed("connection refused")
    assert (len(told), len(t.sleeps)) == (n_told, n_slept)
    o.reached()  # the database is back: a new outage gets the whole bound again
    o.failed("connection refused")
    assert len(t.sleeps) == n_slept + 1


def test_with_retries_off_the_first_failure_raises() -> None:
    t = FakeTime()
    o, told = outage(0, t)
    with pytest.raises(StoreUnavailableError, match="retries are off"):
        o.failed("connection refused")
    assert told == [] and t.sleeps == []


def test_a_listener_that_raises_does_not_break_the_retry(caplog) -> None:
    t = FakeTime()
    o, _ = outage(60, t)

    def broken(message: str) -> None:
        raise RuntimeError("listener bug")

    o.listener = broken
    o.failed("connection refused")  # no exception: it sleeps and the call is tried again
    assert len(t.sleeps) == 1 and "unreachable" in caplog.text


def test_after_a_wait_is_interrupted_the_same_outage_fails_at_once() -> None:
    t = FakeTime()
    o, told = outage(120, t)

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    o._sleep = interrupted
    with pytest.raises(KeyboardInterrupt):
        o.failed("connection refused")
    o._sleep = t.sleep
    with pytest.raises(StoreUnavailableError, match="its retries were interrupted"):  # the clean-up on the way out
        o.failed("connection refused")
    assert t.sleeps == []
    o.reached()
    o.failed("connection refused")  # a new outage waits again
    assert len(t.sleeps) == 1
