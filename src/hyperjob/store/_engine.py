"""Engines and connections of :class:`~hyperjob.store.sql.SqlStore`: URLs, SQLite settings, JSON, error text.

Private to the store: ``SqlStore`` is the interface.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, cast, create_engine, event, func, make_url
from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.types import Double

from hyperjob.errors import StoreError

#: How long a SQLite writer waits for another one before giving up.
SQLITE_BUSY_TIMEOUT_S = 30.0
#: How long connecting to PostgreSQL may take (unless the URL sets ``connect_timeout``).
PG_CONNECT_TIMEOUT_S = 10
#: Execution options of writing transactions: read by the SQLite "begin" hook (BEGIN IMMEDIATE).
WRITE_OPTIONS = {"hyperjob_begin": "IMMEDIATE"}


def normalize_url(url: str | URL) -> URL:
    """Parse a store URL; ``postgresql://`` and ``postgres://`` become ``postgresql+psycopg://``."""
    if isinstance(url, URL):
        return url
    raw = url.strip()
    for prefix in ("postgresql://", "postgres://"):
        if raw.startswith(prefix):
            raw = "postgresql+psycopg://" + raw[len(prefix) :]
    try:
        return make_url(raw)
    except sa_exc.ArgumentError as exc:
        raise StoreError(
            f"store URL {raw.split('@')[-1]!r} is not a database URL ({exc}). Use a path to a SQLite file, "
            f"sqlite:///path/to/hyperjob.db, or postgresql://user:password@host:port/database."
        ) from exc


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy scalars and arrays, torch tensors
        return value.tolist()
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} {value!r} cannot be stored as JSON")


#: how a non-finite float is written inside a JSON column: ``{"$float": "inf"}`` (also ``"-inf"``, ``"nan"``).
#: PostgreSQL's JSON refuses the ``Infinity``/``NaN`` tokens that Python writes, so the store writes this on every
#: database and :func:`json_loads` reads it back as the float (older SQLite files with the tokens still read).
FLOAT_TAG = "$float"
_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def _tagged(value: Any) -> Any:
    """``value`` with every non-finite float replaced by its :data:`FLOAT_TAG` object."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {FLOAT_TAG: "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, dict):
        return {k: _tagged(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_tagged(v) for v in value]
    if value is None or isinstance(value, (str, int)):
        return value
    return _tagged(_json_default(value))


def _untag(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and FLOAT_TAG in obj and obj[FLOAT_TAG] in _NON_FINITE:
        return _NON_FINITE[obj[FLOAT_TAG]]
    return obj


def json_dumps(value: Any) -> str:
    """JSON text of ``value`` as the store writes it: numpy scalars and arrays become numbers and lists, and a
    non-finite float its :data:`FLOAT_TAG` object (strict JSON, which PostgreSQL accepts)."""
    try:
        return json.dumps(value, default=_json_default, allow_nan=False)
    except ValueError:  # a non-finite float somewhere (rare): the slow path
        return json.dumps(_tagged(value), allow_nan=False)


def json_loads(text: str | bytes) -> Any:
    """What :func:`json_dumps` wrote, read back (the tagged non-finite floats as floats)."""
    if isinstance(text, bytes):  # decoded once, for the tag's test and the parse
        text = text.decode()
    if FLOAT_TAG not in text:  # the common case: no hook per object
        return json.loads(text)
    return json.loads(text, object_hook=_untag)


def json_copy(value: Any, what: str) -> Any:
    """What the database gives back for ``value`` (tuples become lists, numpy scalars plain numbers).

    Raises:
        StoreError: ``value`` cannot be written as JSON (``what`` says whose value it is).
    """
    try:
        return json_loads(json_dumps(value))
    except (TypeError, ValueError) as exc:
        raise StoreError(
            f"{what} cannot be stored: {exc}. Use JSON values (numbers, strings, booleans, lists, dicts)."
        ) from exc


def nan_to_none(value: float | None) -> float | None:
    """NaN as None (SQLite stores NaN as NULL: this makes both databases agree)."""
    return None if value is None or math.isnan(value) else value


def same_value(a: float, b: float) -> bool:
    """Equality of metric values, where NaN equals NaN."""
    return a == b or (math.isnan(a) and math.isnan(b))


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # the driver must not open transactions itself: the "begin" hook does
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        _sqlite_use_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")  # durable against a process crash in WAL mode
    finally:
        cursor.close()


def _sqlite_use_wal(cursor: Any) -> None:
    """Switch the file to WAL (persistent; an in-memory database stays 'memory').

    The switch needs the database to itself and SQLite answers "locked" at once, without waiting for the busy
    timeout, while another connection writes (an upgrade by a second opener): wait and try again meanwhile.
    """
    if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() in ("wal", "memory"):
        return
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_on_begin(conn: Any) -> None:
    conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get('hyperjob_begin', 'DEFERRED')}")


def create_store_engine(url: URL, safe_url: str) -> Engine:
    """A pooled engine for a SQLite or PostgreSQL store (creating the SQLite file's directory).

    Args:
        url: the parsed URL (backend ``sqlite`` or ``postgresql``).
        safe_url: the URL with the password hidden, for messages.

    Raises:
        StoreError: the directory cannot be created, or the driver is missing.
    """
    sqlite = url.get_backend_name() == "sqlite"
    kwargs: dict[str, Any] = {"json_serializer": json_dumps, "json_deserializer": json_loads}
    database = url.database or ""
    if sqlite:
        if database in ("", ":memory:") or "mode=memory" in database:  # one database for all threads
            kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
        else:
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
            if not database.startswith("file:"):
                directory = Path(database).expanduser().parent
                try:
                    directory.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(
                        f"store {safe_url}: cannot create the directory {str(directory)!r} of the SQLite file: "
                        f"{exc.strerror or exc}. Choose a path in a writable directory."
                    ) from exc
    else:
        kwargs["pool_pre_ping"] = True  # survive a server restart between calls
        if "connect_timeout" not in url.query:
            kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
    try:
        engine = create_engine(url, **kwargs)
    except ImportError as exc:
        if not sqlite:
            raise StoreError(
                f"store {safe_url}: PostgreSQL needs the driver {url.get_driver_name()!r}, which is not "
                f"installed ({exc}). Install it with: pip install 'hyperjob[pg]'"
            ) from exc
        raise StoreError(f"store {safe_url}: the SQLite driver cannot be loaded ({exc}).") from exc
    except sa_exc.SQLAlchemyError as exc:
        raise StoreError(
            f"store {safe_url}: {exc}. Use sqlite:///path/to/hyperjob.db, or "
            f"postgresql://user:password@host:port/database."
        ) from exc
    if sqlite:
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def db_now(sqlite: bool) -> ColumnElement[float]:
    """The database clock as seconds since the epoch (a SQL expression)."""
    if sqlite:
        return (func.julianday("now") - 2440587.5) * 86400.0
    return cast(func.extract("epoch", func.clock_timestamp()), Double)


def error_reason(exc: BaseException, password: str | None) -> str:
    """The driver's message of a database error, on one line, with the password hidden."""
    orig = getattr(exc, "orig", None) or exc
    reason = " ".join(line.strip() for line in str(orig).strip().splitlines() if line.strip())
    if password:
        reason = reason.replace(password, "***")
    return reason[:500] or type(orig).__name__


def error_hint(exc: BaseException, sqlite: bool) -> str:
    """What to do about an operational error (a server down, a database locked)."""
    if not sqlite:
        return "Check that the PostgreSQL server is running and reachable, and that the URL is right."
    if "locked" in str(exc) or "busy" in str(exc):
        return (
            f"Another process kept the database busy for more than {SQLITE_BUSY_TIMEOUT_S:g} s; try again, "
            f"or use PostgreSQL for many concurrent writers."
        )
    return (
        "Check that the file is a hyperjob database on a local disk with free space "
        "(network file systems break SQLite's locking)."
    )
