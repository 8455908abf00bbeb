"""``SqlStore``: the store on SQLite (the default, no set-up) or PostgreSQL (a URL), with SQLAlchemy 2.

Durability and concurrency:

- Every method is one short transaction, committed before it returns: a caller that acts after a store call
  returns (launches a process, tells the strategy) never acts on something the store could lose.
- SQLite: WAL journal, ``synchronous=NORMAL``, ``foreign_keys=ON``, ``busy_timeout`` 30 s. In WAL mode,
  ``synchronous=NORMAL`` makes every commit durable against a crash of the process (a SIGKILL of the tuner,
  which is what the fault tests do); a power loss or OS crash may lose the last commits, but never corrupts
  the database. Writing transactions start with ``BEGIN IMMEDIATE``: two processes queue on the write lock
  up front (waiting up to ``busy_timeout``) instead of failing when a read upgrades to a write. Reading
  transactions start with a plain ``BEGIN`` and never block writers.
- PostgreSQL: READ COMMITTED. ``add_training_job`` locks the tuning job's row (``SELECT ... FOR UPDATE``)
  before it reads the highest index, so processes that add training jobs at once get different indices.
- The lease is one conditional ``UPDATE`` whose row count says whether it was taken.

Clocks: timestamps of records (``created_at``, ``started_at``, ``ended_at``, metric timestamps) are the
client's clock (``time.time()``). Lease expiry is the database's clock, read and compared inside the
database, so that tuners on machines whose clocks differ agree on when a lease expires (on SQLite the
database clock is the machine's clock).

Database outages (PostgreSQL): a call whose transaction fails because the server cannot be reached (refused,
reset, restarting, shut down) is run again, with exponential backoff and jitter, for up to ``retry_s`` seconds
(default 120, or ``HYPERJOB_STORE_RETRY_S``); each outage is reported to the outage listener, and past the bound
the call raises :class:`~hyperjob.errors.StoreUnavailableError`. The rules are in ``store/_retry.py``. A write
is never applied twice: a transaction that failed before its COMMIT was sent did not happen and is run again;
one whose COMMIT was sent but not answered is looked up by its transaction id (``txid_status``) once the server
answers again, and is run again only if it did not commit. Opening a store does not retry (a wrong URL fails at
once); SQLite is never retried (its "database is locked" waits through ``busy_timeout``).

Metric idempotency: see :meth:`SqlStore.append_metrics`. Stopping decisions are append-only rows
(:meth:`SqlStore.add_decision`), read back for the training jobs' current attempts unless asked for all.
"""

from __future__ import annotations

import functools
import math
import os
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence, TypeVar

from sqlalchemy import URL, and_, bindparam, case, delete, func, insert, or_, select, text, update
from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, sessionmaker

from hyperjob import __version__
from hyperjob.errors import HyperjobError, LeaseError, SpecError, StoreError, StoreUnavailableError
from hyperjob.records import (
    Configuration,
    DecisionRecord,
    Direction,
    MetricValue,
    Objective,
    TrainingJobRecord,
    TrainingJobStatus,
    TuningJobRecord,
    TuningJobStatus,
)
from hyperjob.store._engine import (
    WRITE_OPTIONS,
    create_store_engine,
    db_now,
    error_hint,
    error_reason,
    json_copy,
    nan_to_none,
    normalize_url,
    same_value,
)
from hyperjob.stopping.base import Action, Decision
from hyperjob.store._retry import Outage, is_unreachable, retry_bound
from hyperjob.store.migrations import upgrade
from hyperjob.store.models import (
    SCHEMA_VERSION,
    TABLE_NAMES,
    Base,
    KeptDecision,
    Metric,
    SchemaVersion,
    TrainingJob,
    TuningJob,
    TuningJobParent,
)

__all__ = ["DEFAULT_PATH", "SqlStore", "open_store", "training_job_id"]

#: Where ``open_store(None)`` puts the SQLite file, relative to the current directory.
DEFAULT_PATH = Path("hyperjob-runs") / "hyperjob.db"

#: Key of the PostgreSQL advisory lock taken while the schema is created or upgraded ("hyjob").
_SCHEMA_LOCK_KEY = 0x68796A6F62

#: For each status, the statuses a training job may have before it (``set_status``). A finished training
#: job only changes through ``reset_for_rerun``; setting the same status again updates its fields.
_ALLOWED_FROM: dict[TrainingJobStatus, frozenset[TrainingJobStatus]] = {
    TrainingJobStatus.PENDING: frozenset({TrainingJobStatus.PENDING}),
    TrainingJobStatus.IN_PROGRESS: frozenset({TrainingJobStatus.PENDING, TrainingJobStatus.IN_PROGRESS}),
    TrainingJobStatus.STOPPING: frozenset(
        {TrainingJobStatus.PENDING, TrainingJobStatus.IN_PROGRESS, TrainingJobStatus.STOPPING}
    ),
    **{
        end: frozenset({TrainingJobStatus.PENDING, TrainingJobStatus.IN_PROGRESS, TrainingJobStatus.STOPPING, end})
        for end in (TrainingJobStatus.COMPLETED, TrainingJobStatus.FAILED, TrainingJobStatus.STOPPED)
    },
}


# statements of the hot path (append_metrics), built once
_ATTEMPT_OF = select(TrainingJob.attempt).where(TrainingJob.id == bindparam("job"))
_VALUES_SEEN = (
    select(Metric.name, Metric.step, Metric.value)
    .where(
        Metric.training_job == bindparam("job"),
        Metric.attempt == bindparam("attempt"),
        Metric.name.in_(bindparam("names", expanding=True)),
        Metric.step.between(bindparam("lo"), bindparam("hi")),
    )
    .order_by(Metric.seq)
)
_INSERT_VALUES = insert(Metric.__table__)
# the id of a PostgreSQL write transaction, taken before its COMMIT, and what became of it (PostgreSQL >= 10)
_TXID = text("SELECT txid_current()")
_TXID_STATUS = text("SELECT txid_status(:xid)")


class _Unreachable(StoreError):
    """A transaction failed because the database could not be reached: the call may be run again.

    ``SqlStore``'s public methods catch it and retry (``_retried``); where nothing retries (opening the store)
    it is the StoreError it is, with the usual message.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


_M = TypeVar("_M", bound=Callable[..., Any])


def _retried(method: _M) -> _M:
    """Run a store method again while the database is unreachable, within the store's retry bound.

    Each method is one transaction, so running it again runs that transaction again; ``_transaction`` has
    made sure that one which may have committed did not (or swallowed the error: it did).
    """

    @functools.wraps(method)
    def wrapper(self: "SqlStore", *args: Any, **kwargs: Any) -> Any:
        while True:
            try:
                result = method(self, *args, **kwargs)
            except _Unreachable as exc:
                self._outage.failed(exc.reason)  # sleeps, or raises StoreUnavailableError past the bound
                continue
            except StoreUnavailableError:  # past the bound while checking a commit: the outage goes on
                raise
            except HyperjobError:  # the database answered (a conflict, an unknown name): it is reachable
                self._outage.reached()
                raise
            self._outage.reached()
            return result

    return wrapper  # type: ignore[return-value]


def training_job_id(tuning_job: str, index: int) -> str:
    """The id of a training job: ``f"{tuning_job}-{index:03d}"`` (wider past 999), as SageMaker names them.

    >>> training_job_id("mnist", 7), training_job_id("mnist", 1234)
    ('mnist-007', 'mnist-1234')
    """
    return f"{tuning_job}-{index:03d}"


def open_store(url_or_path: str | os.PathLike[str] | None = None, *, retry_s: float | None = None) -> "SqlStore":
    """Open the store named by a URL or a path, creating it (and its directory) if needed.

    Args:
        url_or_path: ``None`` or ``""``: the SQLite file ``hyperjob-runs/hyperjob.db`` under the current
            directory. A plain path: that SQLite file. A URL: ``sqlite:///path``, or
            ``postgresql://user:password@host:port/db`` (``postgresql://`` and ``postgres://`` are read as
            ``postgresql+psycopg://``).
        retry_s: how long to ride out a database outage (see :class:`SqlStore`).

    Returns:
        The open store; close it with :meth:`SqlStore.close` (or use it as a context manager).

    Raises:
        StoreError: the driver is missing, the server cannot be reached, or the database was written by a
            newer hyperjob.
    """
    raw = "" if url_or_path is None else os.fspath(url_or_path).strip()
    if not raw:
        return SqlStore(URL.create("sqlite", database=str(Path.cwd() / DEFAULT_PATH)), retry_s=retry_s)
    if "://" in raw:
        return SqlStore(raw, retry_s=retry_s)
    return SqlStore(URL.create("sqlite", database=str(Path(raw).expanduser().resolve())), retry_s=retry_s)


class SqlStore:
    """The store in a SQL database: SQLite (a file) or PostgreSQL. Implements :class:`~hyperjob.store.base.Store`.

    Safe to use from several threads (each call takes a pooled connection) and from several processes at
    once (each opens its own ``SqlStore``). Opening creates the tables on an empty database, and checks the
    schema version of an existing one.

    Args:
        url: a SQLAlchemy URL: ``sqlite:///path/to/file.db``, ``sqlite://`` (in memory, one process), or
            ``postgresql+psycopg://user:password@host:port/database`` (``postgresql://`` works too). Use
            :func:`open_store` to open a plain path or the default file.
        retry_s: how long (seconds, from the first failure) a call keeps retrying while the PostgreSQL server
            is unreachable, before it raises :class:`~hyperjob.errors.StoreUnavailableError`; ``None``: the
            environment variable ``HYPERJOB_STORE_RETRY_S``, else 120; 0: no retry. Opening never retries.

    Raises:
        StoreError: the URL names another database, the driver is missing, the database cannot be reached,
            or it was written by a newer hyperjob.
        SpecError: ``retry_s`` (or ``HYPERJOB_STORE_RETRY_S``) is not a number of seconds >= 0.

    Example:
        >>> from hyperjob.records import TrainingJobStatus
        >>> with SqlStore("sqlite://") as store:
        ...     _ = store.create_tuning_job("demo", {"strategy": "random"})
        ...     job = store.add_training_job("demo", {"lr": 0.1})
        ...     store.set_status(job.id, TrainingJobStatus.COMPLETED, final_objective=0.93)
        ...     store.get_training_job("demo-000").final_objective
        0.93
    """

    def __init__(self, url: str | URL, *, retry_s: float | None = None) -> None:
        self._url = normalize_url(url)
        #: the URL with the password hidden (safe to print)
        self.url: str = self._url.render_as_string(hide_password=True)
        #: the outage in progress, if any, and the retry bound (``retry_s``)
        self._outage = Outage(retry_bound(retry_s), self.url)
        backend = self._url.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise StoreError(
                f"store {self.url}: hyperjob keeps its records in SQLite or PostgreSQL, not {backend!r}. "
                f"Use sqlite:///path/to/hyperjob.db, or postgresql://user:password@host:port/database."
            )
        self._sqlite = backend == "sqlite"
        self._engine = create_store_engine(self._url, self.url)
        self._read_sessions = sessionmaker(self._engine, expire_on_commit=False)
        writer = self._engine.execution_options(**WRITE_OPTIONS) if self._sqlite else self._engine
        self._write_sessions = sessionmaker(writer, expire_on_commit=False)
        self._db_now = db_now(self._sqlite)
        try:
            self._open_schema()  # not retried: a server that is not there at the start is most often a wrong URL
        except _Unreachable as exc:
            self._engine.dispose()
            raise StoreError(str(exc)) from exc.__cause__
        except BaseException:
            self._engine.dispose()
            raise

    # ------------------------------------------------------------------------------------------- set-up
    def _open_schema(self) -> None:
        with self._transaction("connect") as session:
            version = self._schema_version(session)
        if version == SCHEMA_VERSION:
            return
        with self._transaction("create the tables", write=True) as session:
            conn = session.connection()
            if not self._sqlite:  # SQLite's BEGIN IMMEDIATE already excludes other writers
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
            version = self._schema_version(session)  # again, under the lock: another process may have won
            if version is None:
                Base.metadata.create_all(conn)
                reached = [SCHEMA_VERSION]
            elif version < SCHEMA_VERSION:
                reached = upgrade(conn, version, self.url)
            else:
                return
            now = time.time()
            session.add_all(SchemaVersion(version=v, applied_at=now, hyperjob_version=__version__) for v in reached)

    def _schema_version(self, session: Session) -> int | None:
        """The database's schema version, None if it holds no hyperjob table; StoreError if unusable."""
        tables = set(sa_inspect(session.connection()).get_table_names())
        if "schema_version" not in tables:
            ours = sorted(tables & set(TABLE_NAMES))
            if ours:
                raise StoreError(
                    f"store {self.url}: the database has the tables {', '.join(ours)} but no schema_version "
                    f"table, so hyperjob did not create it (or it is damaged). Use another database or file."
                )
            return None
        version = session.scalar(select(func.max(SchemaVersion.version)))
        if version is None:
            raise StoreError(
                f"store {self.url}: the schema_version table is empty, so the database is damaged or was "
                f"not created by hyperjob. Use another database or file."
            )
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"store {self.url}: the database has schema version {version}, written by a newer hyperjob; "
                f"this hyperjob ({__version__}) reads versions up to {SCHEMA_VERSION}. "
                f"Upgrade hyperjob (pip install -U hyperjob) to open it."
            )
        return int(version)

    @contextmanager
    def _transaction(self, what: str, *, write: bool = False, conflict: str | None = None) -> Iterator[Session]:
        """One transaction, committed on exit; database errors become StoreError saying what failed.

        An unreachable database raises :class:`_Unreachable` (the caller may run the transaction again), except
        when the COMMIT of a PostgreSQL write was sent and its answer lost: then the transaction's id says
        whether it committed (it returns normally: the caller's result stands) or not (``_Unreachable``).
        """
        sessions = self._write_sessions if write else self._read_sessions
        xid: int | None = None  # set once the body is done: a failure after it is one of the COMMIT
        try:
            with sessions() as session:
                session.begin()
                try:
                    yield session
                    if write and not self._sqlite:
                        xid = int(session.scalar(_TXID))
                    session.commit()
                except BaseException:
                    try:
                        session.rollback()
                    except sa_exc.SQLAlchemyError:  # a broken connection: nothing to roll back on the server
                        pass
                    raise
        except HyperjobError:
            raise
        except sa_exc.SQLAlchemyError as exc:
            if conflict is not None and isinstance(exc, sa_exc.IntegrityError):
                raise StoreError(conflict) from exc
            reason = error_reason(exc, self._url.password)
            message = f"store {self.url}: could not {what}: {reason}."
            if isinstance(exc, sa_exc.OperationalError):
                message = f"{message} {error_hint(exc, self._sqlite)}"
            if not is_unreachable(exc, self._sqlite):
                raise StoreError(message) from exc
            if xid is not None and self._committed(xid, reason):
                return  # the COMMIT went through; only its answer was lost
            raise _Unreachable(message, reason) from exc  # it did not happen: the caller may run it again

    def _committed(self, xid: int, reason: str) -> bool:
        """Whether the PostgreSQL transaction ``xid``, whose COMMIT got no answer, committed.

        Asks the server (``txid_status``) as soon as it answers, waiting through the outage like any call.
        'in progress' (its old connection not yet gone on the server's side) is asked again. An unknown id
        (a server that lost it in a crash, with fsync off) did not commit.

        Raises:
            StoreUnavailableError: the server did not answer within the retry bound.
        """
        while True:
            try:
                with self._engine.connect() as conn:
                    status = conn.execute(_TXID_STATUS, {"xid": xid}).scalar()
            except sa_exc.SQLAlchemyError as exc:
                if not is_unreachable(exc, self._sqlite):
                    return False  # e.g. "transaction ID is in the future": the server lost it
                self._outage.failed(f"{reason}; the outcome of a commit is being checked")
                continue
            if status == "in progress":
                self._outage.failed(f"{reason}; a commit is still in progress on the server")
                continue
            return status == "committed"

    def set_outage_listener(self, listener: Callable[[str], None] | None) -> None:
        """Who is told of each database outage: one line per failed attempt and one when it is over.

        The listener is called from the thread whose call met the outage, before it sleeps; ``None`` (the
        default) writes the lines to the ``hyperjob.store`` logger as warnings. The Tuner passes its
        listener's ``on_warning``, so that ``hyperjob tune`` shows them.
        """
        self._outage.listener = listener

    def close(self) -> None:
        """Close the pooled connections. The store must not be used afterwards."""
        self._engine.dispose()

    def __enter__(self) -> "SqlStore":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqlStore({self.url!r})"

    # ------------------------------------------------------------------------------------- tuning jobs
    def _unknown_tuning_job(self, name: str) -> StoreError:
        return StoreError(
            f"store {self.url}: no tuning job named {name!r}. List the tuning jobs with `hyperjob list`."
        )

    @_retried
    def create_tuning_job(
        self, name: str, spec: Mapping[str, Any], parents: Sequence[str] = (), *, objective: Objective | None = None
    ) -> TuningJobRecord:
        """Record a new tuning job (status InProgress) with its objective and warm-start parents, in their order.

        Args:
            name: unique name of the tuning job.
            spec: the validated spec as JSON-able data.
            parents: names of parent tuning jobs, which must be in the store.
            objective: the spec's objective (the Tuner passes its plan's); ``None`` records none, and the
                record's ``objective`` is then ``None``.

        Raises:
            StoreError: the name is taken, or a parent is not in the store.
        """
        parents = tuple(parents)
        if len(set(parents)) != len(parents):
            twice = sorted({p for p in parents if parents.count(p) > 1})
            raise StoreError(f"tuning job {name!r}: parents {twice} are listed twice. Name each parent once.")
        spec_json = json_copy(dict(spec), f"the spec of tuning job {name!r}")
        now = time.time()
        conflict = (
            f"store {self.url}: a tuning job named {name!r} already exists. Choose another name, or continue "
            f"it with `hyperjob resume {name}`."
        )
        with self._transaction(f"create tuning job {name!r}", write=True, conflict=conflict) as session:
            if session.get(TuningJob, name) is not None:
                raise StoreError(conflict)
            if parents:
                found = set(session.scalars(select(TuningJob.name).where(TuningJob.name.in_(parents))))
                missing = [p for p in parents if p not in found]
                if missing:
                    raise StoreError(
                        f"store {self.url}: tuning job {name!r} names parents {missing} that are not in the "
                        f"store. Run them first, or remove them from the parents (see `hyperjob list`)."
                    )
            session.add(
                TuningJob(
                    name=name,
                    spec=spec_json,
                    objective_metric=None if objective is None else objective.metric,
                    objective_direction=None if objective is None else objective.direction.value,
                    status=TuningJobStatus.IN_PROGRESS.value,
                    status_reason=None,
                    created_at=now,
                    ended_at=None,
                    consumed_runtime_s=0.0,
                )
            )
            session.flush()
            session.add_all(TuningJobParent(child=name, position=i, parent=p) for i, p in enumerate(parents))
        return TuningJobRecord(
            name=name, spec=spec_json, status=TuningJobStatus.IN_PROGRESS, created_at=now, parents=parents,
            objective=objective,
        )

    @staticmethod
    def _tuning_record(row: TuningJob, parents: Sequence[str]) -> TuningJobRecord:
        return TuningJobRecord(
            name=row.name,
            spec=row.spec,
            status=TuningJobStatus(row.status),
            created_at=row.created_at,
            ended_at=row.ended_at,
            status_reason=row.status_reason,
            parents=tuple(parents),
            consumed_runtime_s=row.consumed_runtime_s,
            objective=(
                None if row.objective_metric is None
                else Objective(row.objective_metric, Direction(row.objective_direction or Direction.MINIMIZE.value))
            ),
        )

    @_retried
    def get_tuning_job(self, name: str) -> TuningJobRecord:
        """The tuning job named ``name``. Raises StoreError if there is none."""
        with self._transaction(f"read tuning job {name!r}") as session:
            row = session.get(TuningJob, name)
            if row is None:
                raise self._unknown_tuning_job(name)
            parents = session.scalars(
                select(TuningJobParent.parent).where(TuningJobParent.child == name).order_by(TuningJobParent.position)
            ).all()
            return self._tuning_record(row, parents)

    @_retried
    def list_tuning_jobs(self) -> list[TuningJobRecord]:
        """Every tuning job, oldest first."""
        with self._transaction("list tuning jobs") as session:
            rows = session.scalars(select(TuningJob).order_by(TuningJob.created_at, TuningJob.name)).all()
            parents: dict[str, list[str]] = {}
            for child, parent in session.execute(
                select(TuningJobParent.child, TuningJobParent.parent).order_by(
                    TuningJobParent.child, TuningJobParent.position
                )
            ):
                parents.setdefault(child, []).append(parent)
            return [self._tuning_record(row, parents.get(row.name, ())) for row in rows]

    @_retried
    def set_tuning_job_status(self, name: str, status: TuningJobStatus, reason: str | None = None) -> None:
        """Set the status and its reason (``None`` clears it).

        A terminal status sets ``ended_at`` (kept if already set); a non-terminal one (a resume) clears it.
        """
        status = TuningJobStatus(status)
        ended_at: Any = func.coalesce(TuningJob.ended_at, time.time()) if status.terminal else None
        with self._transaction(f"set the status of tuning job {name!r}", write=True) as session:
            result = session.execute(
                update(TuningJob)
                .where(TuningJob.name == name)
                .values(status=status.value, status_reason=reason, ended_at=ended_at)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:
                raise self._unknown_tuning_job(name)

    @_retried
    def add_consumed_runtime(self, name: str, seconds: float) -> None:
        """Add ``seconds`` (finite, >= 0) of tuner run time to the tuning job, atomically."""
        seconds = float(seconds)
        if not math.isfinite(seconds) or seconds < 0:
            raise SpecError(f"the runtime to add must be a finite number of seconds >= 0, got {seconds!r}.", "seconds")
        with self._transaction(f"add runtime to tuning job {name!r}", write=True) as session:
            result = session.execute(
                update(TuningJob)
                .where(TuningJob.name == name)
                .values(consumed_runtime_s=TuningJob.consumed_runtime_s + seconds)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:
                raise self._unknown_tuning_job(name)

    # ------------------------------------------------------------------------------------------- lease
    def _lease_holder(self, session: Session, name: str) -> tuple[str | None, float | None, float]:
        row = session.execute(
            select(TuningJob.lease_owner, TuningJob.lease_expires_at, self._db_now).where(TuningJob.name == name)
        ).one_or_none()
        if row is None:
            raise self._unknown_tuning_job(name)
        return row[0], row[1], float(row[2])

    @staticmethod
    def _until(expires_at: float, now: float) -> tuple[str, int]:
        when = datetime.fromtimestamp(expires_at, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        return when, max(0, math.ceil(expires_at - now))

    @staticmethod
    def _check_ttl(ttl_s: float) -> float:
        ttl_s = float(ttl_s)
        if not math.isfinite(ttl_s) or ttl_s <= 0:
            raise SpecError(f"a lease needs a finite time to live > 0 seconds, got {ttl_s!r}.", "ttl_s")
        return ttl_s

    @_retried
    def acquire_lease(self, name: str, owner: str, ttl_s: float) -> None:
        """Take the tuning job's lease for ``ttl_s`` seconds: only one tuner runs a tuning job.

        Succeeds if the lease is free, expired, or already held by ``owner`` (then it is extended). Atomic:
        one conditional UPDATE; expiry is judged by the database clock.

        Args:
            name: the tuning job.
            owner: who takes it, ``host:pid`` of the tuner.
            ttl_s: seconds until the lease expires unless renewed (> 0).

        Raises:
            LeaseError: another owner holds an unexpired lease (the message names it, until when, and how
                to proceed).
            StoreError: the tuning job is unknown.
        """
        ttl_s = self._check_ttl(ttl_s)
        with self._transaction(f"take the lease of tuning job {name!r}", write=True) as session:
            result = session.execute(
                update(TuningJob)
                .where(
                    TuningJob.name == name,
                    or_(
                        TuningJob.lease_owner.is_(None),
                        TuningJob.lease_owner == owner,
                        TuningJob.lease_expires_at.is_(None),
                        TuningJob.lease_expires_at <= self._db_now,
                    ),
                )
                .values(lease_owner=owner, lease_expires_at=self._db_now + ttl_s)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                return
            holder, expires_at, now = self._lease_holder(session, name)
        when, wait_s = self._until(expires_at or now, now)
        raise LeaseError(
            f"tuning job {name!r} is being run by another tuner ({holder}), which holds its lease until {when} "
            f"({wait_s} s from now). Stop it with `hyperjob stop {name}`, or wait {wait_s} s if it crashed, "
            f"then run the command again."
        )

    @_retried
    def renew_lease(self, name: str, owner: str, ttl_s: float) -> None:
        """Extend ``owner``'s lease to ``ttl_s`` seconds from now (even if it expired, as long as nobody took it).

        Raises:
            LeaseError: the lease was released or taken by another owner: stop running the tuning job.
            StoreError: the tuning job is unknown.
        """
        ttl_s = self._check_ttl(ttl_s)
        with self._transaction(f"renew the lease of tuning job {name!r}", write=True) as session:
            result = session.execute(
                update(TuningJob)
                .where(TuningJob.name == name, TuningJob.lease_owner == owner)
                .values(lease_expires_at=self._db_now + ttl_s)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                return
            holder, expires_at, now = self._lease_holder(session, name)
        if holder is None:
            raise LeaseError(
                f"tuner {owner} lost the lease of tuning job {name!r}: it was released, so this tuner must not "
                f"run it any more. Continue the tuning job with `hyperjob resume {name}`."
            )
        when, _ = self._until(expires_at or now, now)
        raise LeaseError(
            f"tuner {owner} lost the lease of tuning job {name!r}: it expired and {holder} took it (until "
            f"{when}), so this tuner must stop. Renew the lease more often than its time to live ({ttl_s:g} s)."
        )

    @_retried
    def lease_holder(self, name: str) -> str | None:
        """Who holds the tuning job's unexpired lease (``None`` if nobody)."""
        with self._transaction(f"read the lease of tuning job {name!r}") as session:
            holder, expires_at, now = self._lease_holder(session, name)
        if holder is None or expires_at is None or expires_at <= now:
            return None
        return holder

    @_retried
    def take_over_lease(self, name: str, dead_owner: str, owner: str, ttl_s: float) -> bool:
        """Take the lease from ``dead_owner`` (a tuner known to have died) if it still holds it. Atomic.

        Returns:
            True if ``owner`` now holds the lease; False if ``dead_owner`` no longer held it.
        """
        ttl_s = self._check_ttl(ttl_s)
        with self._transaction(f"take over the lease of tuning job {name!r}", write=True) as session:
            result = session.execute(
                update(TuningJob)
                .where(TuningJob.name == name, TuningJob.lease_owner == dead_owner)
                .values(lease_owner=owner, lease_expires_at=self._db_now + ttl_s)
                .execution_options(synchronize_session=False)
            )
            return result.rowcount == 1

    @_retried
    def release_lease(self, name: str, owner: str) -> None:
        """Give the lease back if ``owner`` holds it; otherwise do nothing."""
        with self._transaction(f"release the lease of tuning job {name!r}", write=True) as session:
            session.execute(
                update(TuningJob)
                .where(TuningJob.name == name, TuningJob.lease_owner == owner)
                .values(lease_owner=None, lease_expires_at=None)
                .execution_options(synchronize_session=False)
            )

    # ----------------------------------------------------------------------------------- training jobs
    def _unknown_training_job(self, training_job_id: str) -> StoreError:
        return StoreError(
            f"store {self.url}: no training job {training_job_id!r}. List the training jobs of a tuning job "
            f"with `hyperjob trials TUNING_JOB`."
        )

    @staticmethod
    def _training_record(row: TrainingJob) -> TrainingJobRecord:
        return TrainingJobRecord(
            id=row.id,
            tuning_job=row.tuning_job,
            index=row.index,
            config=row.config,
            status=TrainingJobStatus(row.status),
            created_at=row.created_at,
            started_at=row.started_at,
            ended_at=row.ended_at,
            failure_reason=row.failure_reason,
            final_objective=row.final_objective,
            attempt=row.attempt,
            pid=row.pid,
            extra=row.extra or {},
        )

    @_retried
    def add_training_job(
        self, tuning_job: str, config: Configuration, *, extra: Mapping[str, Any] | None = None
    ) -> TrainingJobRecord:
        """Record a new training job (Pending) with the next index of its tuning job, allocated atomically.

        Args:
            tuning_job: the tuning job's name.
            config: the configuration (JSON-able; numpy scalars are stored as numbers).
            extra: free-form JSON-able data kept with the record.

        Returns:
            The record, with id ``f"{tuning_job}-{index:03d}"``.

        Raises:
            StoreError: the tuning job is unknown.
        """
        config_json = json_copy(dict(config), f"a configuration of tuning job {tuning_job!r}")
        extra_json = json_copy(dict(extra or {}), f"the extra data of a training job of {tuning_job!r}")
        now = time.time()
        with self._transaction(f"add a training job to tuning job {tuning_job!r}", write=True) as session:
            # lock the tuning job's row (PostgreSQL; SQLite's BEGIN IMMEDIATE already serializes writers)
            found = session.scalar(select(TuningJob.name).where(TuningJob.name == tuning_job).with_for_update())
            if found is None:
                raise self._unknown_tuning_job(tuning_job)
            index = session.scalar(
                select(func.coalesce(func.max(TrainingJob.index) + 1, 0)).where(TrainingJob.tuning_job == tuning_job)
            )
            row = TrainingJob(
                id=training_job_id(tuning_job, int(index)),
                tuning_job=tuning_job,
                index=int(index),
                config=config_json,
                status=TrainingJobStatus.PENDING.value,
                created_at=now,
                attempt=0,
                extra=extra_json,
            )
            session.add(row)
            session.flush()
            return self._training_record(row)

    @_retried
    def get_training_job(self, training_job_id: str) -> TrainingJobRecord:
        """The training job with this id. Raises StoreError if there is none."""
        with self._transaction(f"read training job {training_job_id!r}") as session:
            row = session.get(TrainingJob, training_job_id)
            if row is None:
                raise self._unknown_training_job(training_job_id)
            return self._training_record(row)

    @_retried
    def list_training_jobs(self, tuning_job: str) -> list[TrainingJobRecord]:
        """The tuning job's training jobs in creation order. Raises StoreError if the tuning job is unknown."""
        with self._transaction(f"list the training jobs of {tuning_job!r}") as session:
            rows = session.scalars(
                select(TrainingJob).where(TrainingJob.tuning_job == tuning_job).order_by(TrainingJob.index)
            ).all()
            if not rows and session.get(TuningJob, tuning_job) is None:
                raise self._unknown_tuning_job(tuning_job)
            return [self._training_record(row) for row in rows]

    @_retried
    def set_status(
        self,
        training_job_id: str,
        status: TrainingJobStatus,
        reason: str | None = None,
        *,
        final_objective: float | None = None,
        pid: int | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a status change of a training job.

        ``InProgress`` sets ``started_at`` (once); a terminal status sets ``ended_at`` (once). ``reason``,
        ``final_objective`` (NaN counts as none), ``pid`` and ``extra`` (merged into the record's extra) are
        written when given and kept otherwise.

        Allowed changes: Pending -> any other status; InProgress -> Stopping or an end status (Completed,
        Failed, Stopped); Stopping -> an end status. Setting the status a training job already has is allowed
        (it updates the fields). An end status never changes: a finished training job runs again only through
        :meth:`reset_for_rerun`. The check and the change are one conditional UPDATE.

        Raises:
            StoreError: the training job is unknown, or the change is not allowed.
        """
        status = TrainingJobStatus(status)
        allowed = _ALLOWED_FROM[status]
        now = time.time()
        values: dict[str, Any] = {"status": status.value}
        if status is TrainingJobStatus.IN_PROGRESS:
            values["started_at"] = func.coalesce(TrainingJob.started_at, now)
        if status.terminal:
            values["ended_at"] = func.coalesce(TrainingJob.ended_at, now)
        if reason is not None:
            values["failure_reason"] = reason
        if final_objective is not None:
            values["final_objective"] = nan_to_none(float(final_objective))
        if pid is not None:
            values["pid"] = int(pid)
        with self._transaction(f"set the status of training job {training_job_id!r}", write=True) as session:
            if extra:
                current = session.scalar(
                    select(TrainingJob.extra).where(TrainingJob.id == training_job_id).with_for_update()
                )
                values["extra"] = {**(current or {}), **json_copy(dict(extra), f"extra of {training_job_id!r}")}
            result = session.execute(
                update(TrainingJob)
                .where(TrainingJob.id == training_job_id, TrainingJob.status.in_([s.value for s in allowed]))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                return
            current_status = session.scalar(select(TrainingJob.status).where(TrainingJob.id == training_job_id))
        if current_status is None:
            raise self._unknown_training_job(training_job_id)
        raise StoreError(
            f"training job {training_job_id!r} is {current_status}; it cannot become {status.value} "
            f"(allowed from {', '.join(sorted(s.value for s in allowed))}). A finished training job runs again "
            f"only after reset_for_rerun (which `hyperjob resume` does for interrupted ones)."
        )

    @_retried
    def update_extra(self, training_job_id: str, extra: Mapping[str, Any]) -> None:
        """Merge ``extra`` into the training job's extra data (top-level keys replaced), whatever its status.

        Free-form data only: the stopping decisions have their own rows (:meth:`add_decision`).

        Raises:
            StoreError: the training job is unknown, or ``extra`` is not JSON-able.
        """
        data = json_copy(dict(extra), f"extra of {training_job_id!r}")
        with self._transaction(f"update the extra data of training job {training_job_id!r}", write=True) as session:
            current = session.scalar(
                select(TrainingJob.extra).where(TrainingJob.id == training_job_id).with_for_update()
            )
            if current is None and session.get(TrainingJob, training_job_id) is None:
                raise self._unknown_training_job(training_job_id)
            session.execute(
                update(TrainingJob)
                .where(TrainingJob.id == training_job_id)
                .values(extra={**(current or {}), **data})
                .execution_options(synchronize_session=False)
            )

    @_retried
    def reset_for_rerun(self, training_job_id: str) -> TrainingJobRecord:
        """Make a training job Pending again to run it anew (after a crash or an interrupted stop).

        Deletes its metric values, increments ``attempt``, and clears ``pid``, ``started_at``, ``ended_at``,
        ``failure_reason`` and ``final_objective``; keeps the configuration, index, ``extra`` and the decisions
        of earlier attempts (which reads of the current attempt no longer return).

        Returns:
            The updated record.

        Raises:
            StoreError: the training job is unknown.
        """
        with self._transaction(f"reset training job {training_job_id!r}", write=True) as session:
            result = session.execute(
                update(TrainingJob)
                .where(TrainingJob.id == training_job_id)
                .values(
                    status=TrainingJobStatus.PENDING.value,
                    attempt=TrainingJob.attempt + 1,
                    pid=None,
                    started_at=None,
                    ended_at=None,
                    failure_reason=None,
                    final_objective=None,
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:
                raise self._unknown_training_job(training_job_id)
            session.execute(delete(Metric).where(Metric.training_job == training_job_id))
            row = session.get(TrainingJob, training_job_id)
            assert row is not None  # updated above, in this transaction
            return self._training_record(row)

    @_retried
    def reopen_paused(self, training_job_id: str, extra: Mapping[str, Any]) -> TrainingJobRecord:
        """Make a paused training job Pending again, to resume it from its checkpoint (hyperband's promotions).

        Only a ``Stopped`` job can be reopened; it keeps its attempt, its metric values (the resumed run goes on
        from them) and its decisions; ``ended_at``, ``failure_reason``, ``final_objective`` and ``pid`` are
        cleared and ``extra`` is merged (the Tuner records the segment there).

        Raises:
            StoreError: the training job is unknown or not Stopped.
        """
        with self._transaction(f"reopen training job {training_job_id!r}", write=True) as session:
            current = session.scalar(
                select(TrainingJob.extra).where(TrainingJob.id == training_job_id).with_for_update()
            )
            merged = {**(current or {}), **json_copy(dict(extra), f"extra of {training_job_id!r}")}
            result = session.execute(
                update(TrainingJob)
                .where(TrainingJob.id == training_job_id, TrainingJob.status == TrainingJobStatus.STOPPED.value)
                .values(status=TrainingJobStatus.PENDING.value, pid=None, ended_at=None, failure_reason=None,
                        final_objective=None, extra=merged)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:
                if session.get(TrainingJob, training_job_id) is None:
                    raise self._unknown_training_job(training_job_id)
                raise StoreError(
                    f"training job {training_job_id!r} cannot be resumed: it is not Stopped (paused) any more"
                )
            row = session.get(TrainingJob, training_job_id)
            assert row is not None
            return self._training_record(row)

    # ------------------------------------------------------------------------------------------ metrics
    @_retried
    def append_metrics(self, training_job_id: str, values: Sequence[MetricValue]) -> None:
        """Record metric values of the training job's current attempt, in one transaction (one INSERT).

        Idempotency rule: a metric value is identified by (training job, attempt, name, step, value); its
        timestamp is informative only. A value already recorded is skipped, so appending the same values
        again (a retried call, a log read twice) changes nothing. Distinct values of one metric at one step
        are all kept, numbered by ``seq`` (0, 1, ...) in the order they first arrive. NaN equals NaN here.
        A timestamp of 0 (unknown) is recorded as the time of the call.

        Raises:
            StoreError: the training job is unknown, or a value is not a number.
        """
        if not values:
            return
        now = time.time()
        batch: list[tuple[str, int, float, float]] = []
        for v in values:
            try:
                batch.append((str(v.name), int(v.step), float(v.value), float(v.timestamp) or now))
            except (TypeError, ValueError) as exc:
                raise StoreError(
                    f"training job {training_job_id!r}: metric {v.name!r} at step {v.step!r} has value "
                    f"{v.value!r}; a metric value must be a number with an integer step."
                ) from exc
        names = sorted({b[0] for b in batch})
        lo, hi = min(b[1] for b in batch), max(b[1] for b in batch)
        with self._transaction(f"record metrics of training job {training_job_id!r}", write=True) as session:
            attempt = session.scalar(_ATTEMPT_OF, {"job": training_job_id})
            if attempt is None:
                raise self._unknown_training_job(training_job_id)
            seen: dict[tuple[str, int], list[float]] = {}
            for name, step, value in session.execute(
                _VALUES_SEEN, {"job": training_job_id, "attempt": attempt, "names": names, "lo": lo, "hi": hi}
            ):
                seen.setdefault((name, step), []).append(math.nan if value is None else value)
            rows = []
            for name, step, value, stamp in batch:
                known = seen.setdefault((name, step), [])
                if any(same_value(value, k) for k in known):
                    continue
                rows.append(
                    {
                        "training_job": training_job_id,
                        "attempt": attempt,
                        "name": name,
                        "step": step,
                        "seq": len(known),
                        "value": nan_to_none(value),
                        "timestamp": stamp,
                    }
                )
                known.append(value)
            if rows:
                session.execute(_INSERT_VALUES, rows)

    @staticmethod
    def _metric(name: str, value: float | None, step: int, stamp: float) -> MetricValue:
        return MetricValue(name=name, value=math.nan if value is None else value, step=step, timestamp=stamp)

    @_retried
    def get_metrics(self, training_job_id: str) -> list[MetricValue]:
        """The metric values of the training job's current attempt, in the order they were recorded."""
        with self._transaction(f"read metrics of training job {training_job_id!r}") as session:
            rows = session.execute(
                select(Metric.name, Metric.value, Metric.step, Metric.timestamp)
                .join(TrainingJob, and_(TrainingJob.id == Metric.training_job, TrainingJob.attempt == Metric.attempt))
                .where(Metric.training_job == training_job_id)
                .order_by(Metric.id)
            ).all()
            if not rows and session.get(TrainingJob, training_job_id) is None:
                raise self._unknown_training_job(training_job_id)
        return [self._metric(*row) for row in rows]

    @_retried
    def get_all_metrics(self, tuning_job: str) -> dict[str, list[MetricValue]]:
        """Every training job's metric values (current attempt), in one query.

        Returns:
            training job id -> its values in the order they were recorded; every training job of the tuning
            job is a key (in creation order), with ``[]`` when it has no values yet.

        Raises:
            StoreError: the tuning job is unknown.
        """
        with self._transaction(f"read metrics of tuning job {tuning_job!r}") as session:
            rows = session.execute(
                select(TrainingJob.id, Metric.name, Metric.value, Metric.step, Metric.timestamp)
                .select_from(TrainingJob)
                .outerjoin(Metric, and_(Metric.training_job == TrainingJob.id, Metric.attempt == TrainingJob.attempt))
                .where(TrainingJob.tuning_job == tuning_job)
                .order_by(TrainingJob.index, Metric.id)
            ).all()
            if not rows and session.get(TuningJob, tuning_job) is None:
                raise self._unknown_tuning_job(tuning_job)
        result: dict[str, list[MetricValue]] = {}
        for job_id, name, value, step, stamp in rows:
            values = result.setdefault(job_id, [])
            if name is not None:
                values.append(self._metric(name, value, step, stamp))
        return result

    # ---------------------------------------------------------------------------------------- decisions
    @_retried
    def add_decision(
        self, training_job_id: str, attempt: int, decision: Decision, at: float | None = None
    ) -> DecisionRecord:
        """Keep a stopping decision about one attempt of a training job (append-only), before acting on it.

        Called by the Tuner for every stop and every hyperband rung's verdict, before it sends the stop.
        A NaN value or threshold is stored as NULL and read back as NaN (value) or ``None`` (threshold).

        Args:
            training_job_id: the training job decided on.
            attempt: the attempt the decision is about (the record's ``attempt`` when it was made).
            decision: the decision, with its rule, step, value, threshold and reason.
            at: when it was made, seconds since the epoch; ``None`` for now.

        Returns:
            The record as :meth:`get_decisions` gives it back.

        Raises:
            StoreError: the training job is unknown, or ``attempt`` is negative.
        """
        attempt = int(attempt)
        if attempt < 0:
            raise StoreError(
                f"training job {training_job_id!r}: a decision is about attempt 0 or later, got attempt {attempt}."
            )
        stamp = time.time() if at is None else float(at)
        threshold = None if decision.threshold is None else nan_to_none(float(decision.threshold))
        row = KeptDecision(
            training_job=training_job_id,
            attempt=attempt,
            action=Action(decision.action).value,
            rule=str(decision.rule),
            step=int(decision.step),
            value=nan_to_none(float(decision.value)),
            threshold=threshold,
            compared=int(decision.compared),
            rung=None if decision.rung is None else int(decision.rung),
            bracket=None if decision.bracket is None else int(decision.bracket),
            reason=str(decision.reason),
            at=stamp,
        )
        with self._transaction(f"keep a decision about training job {training_job_id!r}", write=True) as session:
            if session.scalar(_ATTEMPT_OF, {"job": training_job_id}) is None:
                raise self._unknown_training_job(training_job_id)
            session.add(row)
        return self._decision_record(row)

    @staticmethod
    def _decision_record(row: KeptDecision) -> DecisionRecord:
        decision = Decision(
            action=Action(row.action),
            rule=row.rule,
            step=int(row.step),
            value=math.nan if row.value is None else row.value,
            threshold=row.threshold,
            compared=int(row.compared),
            rung=None if row.rung is None else int(row.rung),
            bracket=None if row.bracket is None else int(row.bracket),
            reason=row.reason,
        )
        return DecisionRecord(training_job=row.training_job, attempt=int(row.attempt), decision=decision, at=row.at)

    @_retried
    def get_decisions(self, training_job_id: str, *, all_attempts: bool = False) -> list[DecisionRecord]:
        """The decisions kept about a training job, in the order they were made.

        Args:
            all_attempts: also those about earlier attempts (before a rerun); by default only the current one's.

        Raises:
            StoreError: the training job is unknown.
        """
        query = select(KeptDecision).where(KeptDecision.training_job == training_job_id)
        if not all_attempts:
            current = and_(TrainingJob.id == KeptDecision.training_job, TrainingJob.attempt == KeptDecision.attempt)
            query = query.join(TrainingJob, current)
        with self._transaction(f"read the decisions about training job {training_job_id!r}") as session:
            rows = session.scalars(query.order_by(KeptDecision.id)).all()
            if not rows and session.get(TrainingJob, training_job_id) is None:
                raise self._unknown_training_job(training_job_id)
            return [self._decision_record(row) for row in rows]

    @_retried
    def list_decisions(self, tuning_job: str, *, all_attempts: bool = False) -> dict[str, list[DecisionRecord]]:
        """Every training job's kept decisions, in one query.

        Args:
            all_attempts: also those about earlier attempts (before a rerun); by default only the current ones'.

        Returns:
            training job id -> its decisions in the order they were made; every training job of the tuning job
            is a key (in creation order), with ``[]`` when none was kept.

        Raises:
            StoreError: the tuning job is unknown.
        """
        on = KeptDecision.training_job == TrainingJob.id
        if not all_attempts:
            on = and_(on, KeptDecision.attempt == TrainingJob.attempt)
        with self._transaction(f"read the decisions of tuning job {tuning_job!r}") as session:
            rows = session.execute(
                select(TrainingJob.id, KeptDecision)
                .select_from(TrainingJob)
                .outerjoin(KeptDecision, on)
                .where(TrainingJob.tuning_job == tuning_job)
                .order_by(TrainingJob.index, KeptDecision.id)
            ).all()
            if not rows and session.get(TuningJob, tuning_job) is None:
                raise self._unknown_tuning_job(tuning_job)
            result: dict[str, list[DecisionRecord]] = {}
            for job_id, row in rows:
                kept = result.setdefault(job_id, [])
                if row is not None:
                    kept.append(self._decision_record(row))
            return result

    # ------------------------------------------------------------------------------------------ summaries
    @_retried
    def tally_training_jobs(self) -> dict[str, dict[TrainingJobStatus, tuple[int, float | None, float | None]]]:
        """Every tuning job's training jobs counted by status, in one query (the dashboard's list page).

        Returns:
            tuning job name -> status -> ``(count, lowest, highest)``, where lowest and highest are the extremes
            of the finite final objectives of the training jobs with that status (``None`` when none has one).
            A tuning job without training jobs is not a key.
        """
        finite = TrainingJob.final_objective.between(-1.7976931348623157e308, 1.7976931348623157e308)
        with self._transaction("count the training jobs of every tuning job") as session:
            rows = session.execute(
                select(
                    TrainingJob.tuning_job,
                    TrainingJob.status,
                    func.count(),
                    func.min(case((finite, TrainingJob.final_objective))),
                    func.max(case((finite, TrainingJob.final_objective))),
                ).group_by(TrainingJob.tuning_job, TrainingJob.status)
            ).all()
        result: dict[str, dict[TrainingJobStatus, tuple[int, float | None, float | None]]] = {}
        for tuning_job, status, count, lowest, highest in rows:
            result.setdefault(tuning_job, {})[TrainingJobStatus(status)] = (int(count), lowest, highest)
        return result
