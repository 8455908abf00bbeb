"""The database schema of the store (SQLAlchemy 2 ORM), version :data:`SCHEMA_VERSION`.

::

    schema_version      one row per schema version applied (the highest is the database's version)
    tuning_jobs         name PK, spec JSON, objective metric and direction, status, reason, times, consumed
                        runtime, lease owner/expiry
    tuning_job_parents  (child, position) PK -> parent: warm-start parents in the order they were given
    training_jobs       id PK ("<tuning job>-<index:03d>"), tuning job FK, index (unique per tuning job),
                        config JSON, status, times, failure reason, final objective, attempt, pid, extra JSON
    metrics             every metric value: training job FK, attempt, name, step, seq, value, timestamp;
                        unique on (training_job, attempt, name, step, seq)
    decisions           every kept stopping decision (version 2), append-only: id PK (recorded order), training
                        job FK, attempt, action, rule, step, value, threshold, compared, rung, bracket, reason,
                        time; indexed on (training_job, attempt)

Times are seconds since the epoch (double precision). Statuses are the string values of
:class:`~hyperjob.records.TrainingJobStatus` / :class:`~hyperjob.records.TuningJobStatus`.

A metric value of NaN is stored as NULL (SQLite cannot store NaN) and read back as NaN; so is a decision's.

Changing this schema means: bump :data:`SCHEMA_VERSION`, add a migration in
:mod:`hyperjob.store.migrations`, and commit a small SQLite database of the previous version under
``tests/fixtures/`` for the upgrade test.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Double, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: The schema version this hyperjob writes and reads. Append-only history: 1 = the first schema; 2 = the
#: ``decisions`` table and the objective columns of ``tuning_jobs`` (decisions were in ``training_jobs.extra``).
SCHEMA_VERSION = 2

#: The tables this module defines (used to recognize a hyperjob database).
TABLE_NAMES = ("schema_version", "tuning_jobs", "tuning_job_parents", "training_jobs", "metrics", "decisions")

_NAME = String(256)
_STATUS = String(16)
# an auto-incremented 64-bit key (SQLite only auto-increments an INTEGER PRIMARY KEY)
_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base of the store's tables."""

    type_annotation_map = {dict[str, Any]: JSON, float: Double, str: Text}


class SchemaVersion(Base):
    """A schema version applied to this database (one row per version, never deleted)."""

    __tablename__ = "schema_version"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    applied_at: Mapped[float]
    hyperjob_version: Mapped[str] = mapped_column(String(32))


class TuningJob(Base):
    """A tuning job, with the lease of the tuner that runs it."""

    __tablename__ = "tuning_jobs"

    name: Mapped[str] = mapped_column(_NAME, primary_key=True)
    spec: Mapped[dict[str, Any]]
    #: the objective's metric name, NULL for a tuning job recorded without one (never by the Tuner)
    objective_metric: Mapped[str | None] = mapped_column(_NAME)
    #: ``Maximize`` or ``Minimize`` (:class:`~hyperjob.records.Direction`), NULL when the metric is
    objective_direction: Mapped[str | None] = mapped_column(_STATUS)
    status: Mapped[str] = mapped_column(_STATUS)
    status_reason: Mapped[str | None]
    created_at: Mapped[float]
    ended_at: Mapped[float | None]
    consumed_runtime_s: Mapped[float] = mapped_column(default=0.0)
    #: who holds the lease (``host:pid`` of a tuner), NULL when free
    lease_owner: Mapped[str | None] = mapped_column(_NAME)
    #: when the lease expires, in the database clock (seconds since the epoch)
    lease_expires_at: Mapped[float | None]


class TuningJobParent(Base):
    """A warm-start parent of a tuning job, at its position in the list the user gave."""

    __tablename__ = "tuning_job_parents"
    __table_args__ = (UniqueConstraint("child", "parent", name="uq_tuning_job_parents_child_parent"),)

    child: Mapped[str] = mapped_column(_NAME, ForeignKey("tuning_jobs.name", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    parent: Mapped[str] = mapped_column(_NAME, ForeignKey("tuning_jobs.name"), index=True)


class TrainingJob(Base):
    """A training job: one configuration of a tuning job."""

    __tablename__ = "training_jobs"
    __table_args__ = (UniqueConstraint("tuning_job", "index", name="uq_training_jobs_tuning_job_index"),)

    id: Mapped[str] = mapped_column(String(300), primary_key=True)
    tuning_job: Mapped[str] = mapped_column(_NAME, ForeignKey("tuning_jobs.name", ondelete="CASCADE"))
    #: 0-based creation order within the tuning job
    index: Mapped[int] = mapped_column(Integer)
    config: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(_STATUS)
    created_at: Mapped[float]
    started_at: Mapped[float | None]
    ended_at: Mapped[float | None]
    failure_reason: Mapped[str | None]
    final_objective: Mapped[float | None]
    #: 0 for the first run, +1 each time the training job is reset to run again
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    pid: Mapped[int | None] = mapped_column(Integer)
    extra: Mapped[dict[str, Any]]


class Metric(Base):
    """One value of one metric of one attempt of a training job.

    ``seq`` numbers the distinct values of the same metric at the same step (0, 1, ...), so that a metric
    reported twice at one step with different values keeps both, while the same value appended again is
    recognized and not stored twice (see :meth:`hyperjob.store.sql.SqlStore.append_metrics`).
    """

    __tablename__ = "metrics"
    __table_args__ = (
        UniqueConstraint("training_job", "attempt", "name", "step", "seq", name="uq_metrics_value"),
    )

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    training_job: Mapped[str] = mapped_column(String(300), ForeignKey("training_jobs.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(_NAME)
    step: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int] = mapped_column(Integer)
    #: NULL stands for NaN
    value: Mapped[float | None]
    timestamp: Mapped[float]


class KeptDecision(Base):
    """A stopping decision the Tuner kept (a stop, or a hyperband rung's verdict), before it acted on it.

    Append-only: a rerun of the training job (a higher ``attempt``) adds rows and keeps the earlier ones.
    The columns are the fields of :class:`hyperjob.stopping.base.Decision`; ``at`` is when it was made.
    """

    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_training_job_attempt", "training_job", "attempt"),)

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    training_job: Mapped[str] = mapped_column(String(300), ForeignKey("training_jobs.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    #: :class:`~hyperjob.stopping.base.Action` value: ``continue`` or ``stop``
    action: Mapped[str] = mapped_column(_STATUS)
    rule: Mapped[str] = mapped_column(String(32))
    #: the step (resource) of the value decided on
    step: Mapped[int] = mapped_column(BigInteger)
    #: NULL stands for NaN
    value: Mapped[float | None]
    threshold: Mapped[float | None]
    compared: Mapped[int] = mapped_column(Integer)
    rung: Mapped[int | None] = mapped_column(BigInteger)
    bracket: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str]
    #: when the decision was made (seconds since the epoch, the client's clock)
    at: Mapped[float]
