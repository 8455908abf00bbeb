"""Schema version 1 -> 2: stopping decisions get their own table, the objective its own columns.

Version 1 kept the decisions in ``training_jobs.extra["decisions"]`` (a JSON list) and the objective only
inside the spec JSON. This step

1. adds ``tuning_jobs.objective_metric`` and ``tuning_jobs.objective_direction`` and fills them from each
   stored spec (:func:`objective_from_v1_spec`: the only place that reads the objective out of a spec);
2. creates the ``decisions`` table and moves every readable entry of ``extra["decisions"]`` into it, in
   their order, attempts included; an entry it cannot read stays in ``extra["decisions"]``, so nothing is lost.

The tables are declared here as they are at version 2, not taken from :mod:`hyperjob.store.models`, so that
this step keeps doing the same thing when later versions change the models.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    text,
    update,
)

from hyperjob.errors import SpecError
from hyperjob.records import Direction

_meta = MetaData()
_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")

# what this step reads and writes of the version-1 tables
_TUNING_JOBS = Table(
    "tuning_jobs", _meta,
    Column("name", String(256), primary_key=True),
    Column("spec", JSON),
    Column("objective_metric", String(256)),
    Column("objective_direction", String(16)),
)
_TRAINING_JOBS = Table(
    "training_jobs", _meta,
    Column("id", String(300), primary_key=True),
    Column("created_at", Double),
    Column("extra", JSON),
)
#: the decisions table as version 2 creates it (the same as ``models.KeptDecision``)
DECISIONS = Table(
    "decisions", _meta,
    Column("id", _BIG_ID, primary_key=True, autoincrement=True),
    Column("training_job", String(300), ForeignKey("training_jobs.id", ondelete="CASCADE"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("action", String(16), nullable=False),
    Column("rule", String(32), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("value", Double),
    Column("threshold", Double),
    Column("compared", Integer, nullable=False),
    Column("rung", BigInteger),
    Column("bracket", Integer),
    Column("reason", Text, nullable=False),
    Column("at", Double, nullable=False),
    Index("ix_decisions_training_job_attempt", "training_job", "attempt"),
)


def objective_from_v1_spec(spec: Any) -> tuple[str, str] | None:
    """The (metric, direction value) of a version-1 spec JSON (native, or SageMaker's spelling); None if absent.

    >>> objective_from_v1_spec({"objective": {"metric": "acc", "type": "maximize"}})
    ('acc', 'Maximize')
    >>> objective_from_v1_spec({"objective": {"MetricName": "loss"}}), objective_from_v1_spec({"name": "x"})
    (('loss', 'Minimize'), None)
    """
    objective = spec.get("objective") if isinstance(spec, Mapping) else None
    if not isinstance(objective, Mapping):
        return None
    metric = objective.get("metric") or objective.get("MetricName")
    if not isinstance(metric, str) or not metric.strip():
        return None
    try:
        direction = Direction.parse(objective.get("type") or objective.get("Type") or "minimize")
    except SpecError:
        return None  # not written by hyperjob's spec validation: leave it unknown
    return metric, direction.value


def _finite_or_none(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _decision_row(training_job: str, created_at: float | None, entry: Any) -> dict[str, Any] | None:
    """The ``decisions`` row of one version-1 entry of ``extra["decisions"]``; None if it cannot be read."""
    if not isinstance(entry, Mapping):
        return None
    try:
        action = str(entry.get("action") or "continue")
        if action not in ("continue", "stop") or not entry.get("rule"):
            return None
        return {
            "training_job": training_job,
            "attempt": int(entry.get("attempt") or 0),
            "action": action,
            "rule": str(entry["rule"]),
            "step": int(entry["step"]),
            "value": _finite_or_none(entry.get("value")),
            "threshold": _finite_or_none(entry.get("threshold")),
            "compared": int(entry.get("compared") or 0),
            "rung": None if entry.get("rung") is None else int(entry["rung"]),
            "bracket": None if entry.get("bracket") is None else int(entry["bracket"]),
            "reason": str(entry.get("reason") or ""),
            "at": float(entry.get("time") or created_at or 0.0),
        }
    except (KeyError, TypeError, ValueError):
        return None


def upgrade_1_to_2(conn: Connection) -> None:
    """Upgrade a version-1 database to version 2 (inside the caller's transaction, under the schema lock)."""
    conn.execute(text("ALTER TABLE tuning_jobs ADD COLUMN objective_metric VARCHAR(256)"))
    conn.execute(text("ALTER TABLE tuning_jobs ADD COLUMN objective_direction VARCHAR(16)"))
    for name, spec in conn.execute(select(_TUNING_JOBS.c.name, _TUNING_JOBS.c.spec)).all():
        found = objective_from_v1_spec(spec)
        if found is not None:
            conn.execute(
                update(_TUNING_JOBS)
                .where(_TUNING_JOBS.c.name == name)
                .values(objective_metric=found[0], objective_direction=found[1])
            )

    DECISIONS.create(conn)
    rows: list[dict[str, Any]] = []
    for job_id, created_at, extra in conn.execute(
        select(_TRAINING_JOBS.c.id, _TRAINING_JOBS.c.created_at, _TRAINING_JOBS.c.extra).order_by(_TRAINING_JOBS.c.id)
    ).all():
        if not isinstance(extra, Mapping) or "decisions" not in extra:
            continue
        entries = extra["decisions"] if isinstance(extra["decisions"], list) else [extra["decisions"]]
        unread = []
        for entry in entries:
            row = _decision_row(job_id, created_at, entry)
            if row is None:
                unread.append(entry)
            else:
                rows.append(row)
        rest = {k: v for k, v in extra.items() if k != "decisions"}
        if unread:
            rest["decisions"] = unread
        conn.execute(update(_TRAINING_JOBS).where(_TRAINING_JOBS.c.id == job_id).values(extra=rest))
    if rows:
        conn.execute(insert(DECISIONS), rows)
