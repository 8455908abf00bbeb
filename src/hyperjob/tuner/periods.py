"""Evaluation periods in the Tuner: a configuration is one training job per period, judged on the aggregate.

The seam: what the strategy suggests is a *configuration*; the Tuner records one training job per period for
it (``extra["configuration"]``: the configuration's number, ``extra["period"]``: its period), each a normal
training job that receives its period as arguments and environment (:meth:`PeriodRuns.request`). The strategy
hears of a configuration once: pending while any of its periods is out, then ``Final`` with the aggregate
(mean by default) when every period is in, or ``Failed`` when one failed. The best of the tuning job and the
completion criteria work on aggregates. :class:`PeriodRuns` is the Tuner's part that does this (called from
small hooks in ``tuner/loop.py``); :func:`configurations` reads the same grouping back from the store for
``describe``, ``best`` and the results.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from hyperjob.formats.periods import Period
from hyperjob.records import Final, Objective, TrainingJobRecord, TrainingJobStatus, TuningJobStatus

if TYPE_CHECKING:  # pragma: no cover
    from hyperjob.executors.base import LaunchRequest
    from hyperjob.tuner.loop import Tuner
    from hyperjob.tuner.plan import TuningPlan


def aggregate(values: Sequence[float], how: str, objective: Objective) -> float:
    """The configuration's objective over its periods: ``mean``, ``median`` or ``worst``."""
    if how == "median":
        return float(statistics.median(values))
    if how == "worst":
        return float(min(values) if objective.maximize else max(values))
    return float(sum(values) / len(values))


def configuration_of(record: TrainingJobRecord) -> int | None:
    """The configuration number of a training job of a tuning job with periods (``None`` without)."""
    value = record.extra.get("configuration")
    return None if value is None else int(value)


def period_of(record: TrainingJobRecord) -> Period | None:
    data = record.extra.get("period")
    return Period.from_json(data) if isinstance(data, Mapping) else None


class PeriodRuns:
    """The Tuner's side of evaluation periods (one per Tuner; ``plan.periods`` is not empty).

    Args:
        plan: the plan (its ``periods``, ``objective`` and the spec's ``periods.aggregate``).
    """

    def __init__(self, plan: "TuningPlan") -> None:
        self.periods: tuple[Period, ...] = tuple(plan.periods)
        self.n = len(self.periods)
        self.objective = plan.objective
        self.how = ((plan.spec_json or {}).get("periods") or {}).get("aggregate") or "mean"
        self._values: dict[int, dict[int, float]] = {}
        self._failed: set[int] = set()
        self._done: set[int] = set()
        self._pending: set[int] = set()

    @classmethod
    def of(cls, plan: "TuningPlan") -> "PeriodRuns | None":
        return cls(plan) if plan.periods else None

    # -- launching ------------------------------------------------------------------------------------------
    def configurations_wanted(self, want: int, budget_left: int) -> int:
        """How many configurations to ask the strategy for: enough to fill ``want`` free slots, within the
        budget (``budget_left`` training jobs: whole configurations only)."""
        return min(-(-want // self.n), budget_left // self.n)

    def training_jobs(self, n_records: int) -> list[dict[str, Any]]:
        """The ``extra`` of each training job of the next configuration (``n_records``: training jobs so far)."""
        k = n_records // self.n
        return [{"configuration": k, "period": p.to_json()} for p in self.periods]

    def request(self, request: "LaunchRequest", record: TrainingJobRecord) -> "LaunchRequest":
        """The launch request with the training job's period as arguments and environment."""
        period = period_of(record)
        if period is None:
            return request
        program = replace(request.program, env={**request.program.env, **period.env()})
        return replace(request, hyperparameters={**request.hyperparameters, **period.arguments()}, program=program)

    # -- telling the strategy -------------------------------------------------------------------------------
    def tells_pending(self, record: TrainingJobRecord) -> bool:
        """Whether a ``Pending`` of this training job is told (once per configuration, on resume)."""
        k = configuration_of(record)
        if k is None or k in self._pending or k in self._done or k in self._failed:
            return k is None
        self._pending.add(k)
        return True

    def account(self, tuner: "Tuner", record: TrainingJobRecord, *, replay: bool = False) -> bool:
        """A training job of a configuration ended: keep its value; when every period is in, tell the strategy
        the aggregate, update the best and the completion criteria. Returns True when it handled the training
        job; False for one that failed or has no objective value (the Tuner's own path: the configuration is
        told ``Failed`` then, and never ``Final``).
        """
        k = configuration_of(record)
        if k is None:
            return False
        value = record.final_objective
        ok = record.status is TrainingJobStatus.COMPLETED and value is not None and math.isfinite(value)
        if not ok:
            first_failure = k not in self._failed and k not in self._done
            self._failed.add(k)
            return not first_failure  # the first failure is told (Failed); the others only counted
        period = period_of(record)
        self._values.setdefault(k, {})[period.index if period else 0] = float(value)  # type: ignore[arg-type]
        got = self._values[k]
        if len(got) < self.n or k in self._failed or k in self._done:
            return True
        self._done.add(k)
        agg = aggregate([got[i] for i in range(self.n)], self.how, self.objective)
        first = next((r for r in tuner.records.values() if configuration_of(r) == k and
                      (period_of(r) or Period(0)).index == 0), record)
        labels = {p.label: got[p.index] for p in self.periods}
        configuration = replace(first, final_objective=agg, status=TrainingJobStatus.COMPLETED,
                                extra={**first.extra, "periods": labels, "aggregate": self.how})
        tuner.strategy.observe(Final(dict(record.config), agg, training_job=first.id))
        if tuner.best is None or self.objective.is_better(agg, tuner.best.final_objective):
            tuner.best = configuration
            if not replay:
                tuner.listener.on_new_best(configuration)
        reason = tuner.completion.add(agg)
        if reason and not replay:
            tuner._request_end(TuningJobStatus.COMPLETED, reason)
        return True


# ---------------------------------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class ConfigurationResult:
    """A configuration of a tuning job with periods, as the store holds it.

    Attributes:
        number: the configuration's number (0, 1, ...); ``name`` is ``c<number>``.
        config: its tuned hyperparameters.
        training_jobs: its training jobs, by period.
        values: their objective values (``None``: not in, or failed).
        status: ``Completed`` (every period has a value), ``Failed`` (one failed) or ``InProgress``.
        aggregate: the aggregate of the values when Completed.
    """

    number: int
    config: Mapping[str, Any]
    training_jobs: tuple[str, ...]
    values: tuple[float | None, ...]
    status: str
    aggregate: float | None

    @property
    def name(self) -> str:
        return f"c{self.number}"

    def to_json(self, labels: Sequence[str] = ()) -> dict[str, Any]:
        out: dict[str, Any] = {"Configuration": self.name, "Status": self.status,
                               "TunedHyperParameters": dict(self.config), "TrainingJobs": list(self.training_jobs),
                               "Values": list(self.values), "Aggregate": self.aggregate}
        if labels:
            out["Periods"] = list(labels)
        return out


def period_labels(records: Sequence[TrainingJobRecord]) -> list[str]:
    """The periods' labels in period order (from the training jobs' records)."""
    seen: dict[int, str] = {}
    for r in records:
        p = period_of(r)
        if p is not None:
            seen.setdefault(p.index, p.label)
    return [seen[i] for i in sorted(seen)]


def configurations(records: Sequence[TrainingJobRecord], objective: Objective, how: str = "mean"
                   ) -> list[ConfigurationResult]:
    """The configurations of a tuning job with periods, in the order they were suggested."""
    n = len(period_labels(records))
    groups: dict[int, dict[int, TrainingJobRecord]] = {}
    for r in records:
        k = configuration_of(r)
        if k is not None:
            p = period_of(r)
            groups.setdefault(k, {})[p.index if p else 0] = r
    out = []
    for k in sorted(groups):
        by_period = groups[k]
        jobs = tuple(by_period[i].id if i in by_period else "" for i in range(n))
        values: list[float | None] = []
        failed = False
        for i in range(n):
            r = by_period.get(i)
            v = r.final_objective if r is not None and r.status is TrainingJobStatus.COMPLETED else None
            if r is not None and r.status.terminal and (v is None or not math.isfinite(v)):
                failed = True
                v = None
            values.append(v)
        complete = all(v is not None for v in values) and not failed
        status = "Completed" if complete else "Failed" if failed else "InProgress"
        agg = aggregate([v for v in values if v is not None], how, objective) if complete else None
        config = next(iter(by_period.values())).config
        out.append(ConfigurationResult(k, dict(config), jobs, tuple(values), status, agg))
    return out


def ranked(results: Sequence[ConfigurationResult], objective: Objective) -> list[ConfigurationResult]:
    """The complete configurations, best aggregate first (the first suggested on ties)."""
    done = [c for c in results if c.aggregate is not None]
    return sorted(done, key=lambda c: (objective.loss(c.aggregate), c.number))  # type: ignore[arg-type]


def winner_report(records: Sequence[TrainingJobRecord], spec: Mapping[str, Any], objective: Objective,
                  compare: tuple[str, str] | None = None) -> dict[str, Any] | None:
    """What ``describe``, ``best`` and the results say about a tuning job with periods: the periods, the best
    configuration, the runner-up and the paired test between them (or between the two configurations named in
    ``compare``, e.g. ``("c3", "c5")``); ``None`` for a tuning job without periods.

    Raises:
        SpecError: a configuration named in ``compare`` is unknown or not complete.
    """
    from hyperjob.errors import SpecError
    from hyperjob.tuner.significance import paired_test

    periods = spec.get("periods") or {}
    if not periods:
        return None
    how = periods.get("aggregate") or "mean"
    confidence = float(periods.get("confidence") or 0.95)
    labels = period_labels(records)
    results = configurations(records, objective, how)
    order = ranked(results, objective)
    out: dict[str, Any] = {"Periods": labels, "Aggregate": how, "Confidence": confidence,
                           "Configurations": {s: sum(1 for c in results if c.status == s)
                                              for s in ("Completed", "InProgress", "Failed")}}
    if compare is not None:
        by_name = {c.name: c for c in results}
        pair = []
        for i, name in enumerate(compare):
            c = by_name.get(name)
            if c is None or c.aggregate is None:
                known = ", ".join(x.name for x in order) or "none yet"
                why = "unknown" if c is None else f"not complete ({c.status})"
                raise SpecError(f"configuration {name!r} is {why}. Name complete configurations: {known}.",
                                path=f"compare[{i}]")
            pair.append(c)
        a, b = pair
        against = b.name
    else:
        if not order:
            return out
        a, b = order[0], (order[1] if len(order) > 1 else None)
        against = "the runner-up"
    out["BestConfiguration" if compare is None else "A"] = a.to_json(labels)
    if b is None:
        out["WinnerTest"] = {"verdict": "only one configuration is complete: nothing to compare it with"}
        return out
    out["RunnerUp" if compare is None else "B"] = b.to_json(labels)
    test = paired_test([float(v) for v in a.values if v is not None], [float(v) for v in b.values if v is not None],
                       objective, confidence=confidence, names=(a.name, b.name), against=against)
    out["WinnerTest"] = test.to_json()
    return out


def winner_lines(report: Mapping[str, Any], metric: str) -> list[str]:
    """``winner_report`` in a few lines for the terminal."""
    lines = [f"periods ({len(report['Periods'])}, {report['Aggregate']} of each configuration): "
             + ", ".join(report["Periods"])]
    counts = report["Configurations"]
    lines.append(f"configurations: {counts['Completed']} complete, {counts['InProgress']} in progress, "
                 f"{counts['Failed']} failed")
    for key, what in (("BestConfiguration", "best configuration"), ("RunnerUp", "runner-up"), ("A", "A"), ("B", "B")):
        c = report.get(key)
        if c:
            values = ", ".join(f"{v:.4g}" if v is not None else "-" for v in c["Values"])
            lines.append(f"{what}: {c['Configuration']} {metric} = {c['Aggregate']:.6g} (periods: {values}) "
                         f"{c['TunedHyperParameters']}")
    test = report.get("WinnerTest")
    if test:
        if "mean_difference" in test:
            ci = ("" if test["ci_low"] is None else
                  f" ({test['confidence'] * 100:g} % CI {test['ci_low']:.4g} .. {test['ci_high']:.4g})")
            lines.append(f"  mean advantage of {test['a']} over {test['b']}: {test['mean_difference']:.4g}{ci}")
        lines.append(f"  verdict: {test['a'] if 'a' in test else ''} {test['verdict']}".replace("   ", " "))
    return lines
