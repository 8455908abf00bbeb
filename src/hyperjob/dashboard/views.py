"""What the dashboard's pages show, read through the Store protocol and shaped as JSON-able data.

The tuning job page starts from ``describe_tuning_job`` (what ``hyperjob describe`` answers) so that the
browser and the terminal tell the same truth; the rest (the training jobs in columns, learning curves with the
stopping decisions, importance, lineage, comparisons) is read from the same store calls ``trials`` and
``export`` use. Nothing here reads a file or takes a path from a request.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from hyperjob.errors import HyperjobError
from hyperjob.records import TrainingJobStatus, TuningJobRecord
from hyperjob.store.base import Store
from hyperjob.tuner.describe import describe_tuning_job, objective_of

#: describe's keys that the job page shows in its own sections; any other key (a later addition to describe,
#: e.g. another engineer's periods or winner test) is shown as it is, under "More from describe".
SHOWN_KEYS = frozenset({
    "HyperParameterTuningJobName", "HyperParameterTuningJobStatus", "CreationTime", "HyperParameterTuningEndTime",
    "HyperParameterTuningJobConfig", "TrainingJobStatusCounters", "ObjectiveStatusCounters", "ConsumedResources",
    "BestTrainingJob", "WarmStartConfig", "OverallBestTrainingJob", "StoppedEarly", "EarlyStoppingNote",
    "TunerHoldsJob", "TunerNote", "FailureReason", "TuningJobCompletionDetails", "Outcomes", "ParetoFront",
    "InfeasibleTrainingJobs",
})

#: at most this many learning curves in one request
MAX_CURVES = 200


class ReadOnce:
    """The read half of a Store whose answers are kept for the life of the object (one page's data): describe,
    the training jobs' columns and the lineage each list the same training jobs, and read them once this way.

    Only reads (the dashboard writes through the store itself); a method the Store protocol adds later that
    describe calls must be added here too (the browser tests render describe through this class).
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._memo: dict[tuple[Any, ...], Any] = {}

    def _once(self, method: str, *args: Any, **kwargs: Any) -> Any:
        key = (method, args, tuple(sorted(kwargs.items())))
        if key not in self._memo:
            self._memo[key] = getattr(self._store, method)(*args, **kwargs)
        return self._memo[key]

    def get_tuning_job(self, name: str) -> Any:
        return self._once("get_tuning_job", name)

    def list_tuning_jobs(self) -> Any:
        return self._once("list_tuning_jobs")

    def lease_holder(self, name: str) -> Any:
        return self._store.lease_holder(name)  # not kept: it expires

    def get_training_job(self, training_job_id: str) -> Any:
        return self._once("get_training_job", training_job_id)

    def list_training_jobs(self, tuning_job: str) -> Any:
        return list(self._once("list_training_jobs", tuning_job))

    def get_decisions(self, training_job_id: str, *, all_attempts: bool = False) -> Any:
        return self._once("get_decisions", training_job_id, all_attempts=all_attempts)

    def list_decisions(self, tuning_job: str, *, all_attempts: bool = False) -> Any:
        return self._once("list_decisions", tuning_job, all_attempts=all_attempts)

    def get_metrics(self, training_job_id: str) -> Any:
        return self._once("get_metrics", training_job_id)

    def get_all_metrics(self, tuning_job: str) -> Any:
        return self._once("get_all_metrics", tuning_job)

    def tally_training_jobs(self) -> Any:
        return self._once("tally_training_jobs")


def page_view(store: Store, name: str) -> dict[str, Any]:
    """The tuning job page's data in one answer: :func:`job_view` and :func:`training_jobs_view`, each store
    read done once (:class:`ReadOnce`)."""
    once = ReadOnce(store)
    return {"job": job_view(once, name), "training_jobs": training_jobs_view(once, name)}  # type: ignore[arg-type]


def finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None`` (strict JSON for the browser)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def _several_outcomes(spec: Mapping[str, Any]) -> bool:
    """Whether the spec declares more than one objective or a constraint (then the best needs describe's rule)."""
    return len(spec.get("objectives") or ()) > 1 or bool(spec.get("constraints"))


def list_rows(store: Store) -> list[dict[str, Any]]:
    """The list page: every tuning job with its status, progress, best value, strategy, parents and children.

    Two store calls whatever the number of tuning jobs (``list_tuning_jobs`` and ``tally_training_jobs``); a
    tuning job with several objectives or constraints takes describe's best (its own rule).
    """
    tunings = store.list_tuning_jobs()
    tally = store.tally_training_jobs()
    children: dict[str, list[str]] = {}
    for t in tunings:
        for p in t.parents:
            children.setdefault(p, []).append(t.name)
    rows = []
    for t in tunings:
        objective = objective_of(t)
        counts = tally.get(t.name, {})
        done = counts.get(TrainingJobStatus.COMPLETED, (0, None, None))
        best = done[2] if objective.maximize else done[1]
        spec = t.spec or {}
        if _several_outcomes(spec):
            found = describe_tuning_job(store, t.name).get("BestTrainingJob") or {}
            best = (found.get("FinalHyperParameterTuningJobObjectiveMetric") or {}).get("Value")
        rows.append({
            "name": t.name,
            "status": t.status.value,
            "reason": t.status_reason,
            "strategy": str((spec.get("strategy") or {}).get("name", "bayesian")),
            "objective": {"metric": objective.metric, "direction": objective.direction.value},
            "created_at": t.created_at,
            "ended_at": t.ended_at,
            "training_jobs": sum(c[0] for c in counts.values()),
            "counts": {s.value: c[0] for s, c in counts.items()},
            "max_jobs": (spec.get("limits") or {}).get("max_jobs"),
            "best": best,
            "parents": list(t.parents),
            "children": children.get(t.name, []),
        })
    return finite(rows)


def status_view(store: Store, name: str) -> dict[str, Any]:
    """What the job page polls while it watches: the tuning job's status and its training jobs' counts."""
    tuning = store.get_tuning_job(name)
    counts = store.tally_training_jobs().get(name, {})
    return {
        "name": name,
        "status": tuning.status.value,
        "reason": tuning.status_reason,
        "counts": {s.value: c[0] for s, c in counts.items()},
        "training_jobs": sum(c[0] for c in counts.values()),
    }


def _lineage(store: Store, tuning: TuningJobRecord) -> dict[str, Any]:
    """The parents (what each contributed, as the warm start loads them) and the children of a tuning job."""
    children = [t.name for t in store.list_tuning_jobs() if tuning.name in t.parents]
    out: dict[str, Any] = {"parents": [], "children": children, "summary": None, "error": None}
    if not tuning.parents:
        return out
    spec = tuning.spec or {}
    warm_type = (spec.get("warm_start") or {}).get("type", "identical_data_and_algorithm")
    used: dict[str, int] = {}
    seeds: list[dict[str, Any]] = []
    try:
        from hyperjob.formats.spec import TuningJobSpec
        from hyperjob.tuner.warm_start import load_warm_start

        parsed = TuningJobSpec.from_json(dict(spec))
        warm = load_warm_start(store, tuning.parents, warm_type, parsed.build_space(), objective_of(tuning),
                               int((spec.get("limits") or {}).get("max_jobs") or 0))
        out["summary"] = warm.summary()
        for o in warm.observations:
            used[o.parent] = used.get(o.parent, 0) + 1
        if warm.type == "transfer_learning":
            seeds = [dict(c) for c in warm.seeds()]
    except HyperjobError as exc:  # a parent changed or was removed since: say so, show the rest
        out["error"] = str(exc)
    out["type"] = warm_type
    out["seeds"] = seeds
    for p in tuning.parents:
        try:
            parent = store.get_tuning_job(p)
            records = store.list_training_jobs(p)
        except HyperjobError:
            out["parents"].append({"name": p, "missing": True})
            continue
        from hyperjob.tuner.describe import best_training_job

        best = best_training_job(records, objective_of(parent))
        out["parents"].append({
            "name": p, "status": parent.status.value, "training_jobs": len(records), "used": used.get(p, 0),
            "best": None if best is None else best.final_objective, "best_training_job": None if best is None else best.id,
        })
    return out


def _periods(store: Store, tuning: TuningJobRecord, objective: Any) -> dict[str, Any] | None:
    """A tuning job with evaluation periods: every configuration's value in each period, and the winner test of
    the best against the runner-up (``hyperjob.tuner.periods``, what ``describe`` says); ``None`` without periods."""
    spec = tuning.spec or {}
    if not spec.get("periods"):
        return None
    try:
        from hyperjob.tuner.periods import configurations, period_labels, winner_report
    except ImportError:  # pragma: no cover - a hyperjob without periods
        return None
    records = store.list_training_jobs(tuning.name)
    how = (spec.get("periods") or {}).get("aggregate") or "mean"
    labels = period_labels(records)
    try:
        report = winner_report(records, spec, objective)
    except HyperjobError as exc:
        report = {"error": str(exc)}
    return {"labels": labels, "report": report,
            "configurations": [c.to_json(labels) for c in configurations(records, objective, how)]}


def job_view(store: Store, name: str) -> dict[str, Any]:
    """The tuning job page's header and sections: describe, the spec's ranges and limits, lineage, the rest."""
    described = describe_tuning_job(store, name)
    tuning = store.get_tuning_job(name)
    spec = dict(tuning.spec or {})
    objective = objective_of(tuning)
    return finite({
        "describe": described,
        "periods": _periods(store, tuning, objective),
        "more": {k: v for k, v in described.items() if k not in SHOWN_KEYS},
        "objective": {"metric": objective.metric, "direction": objective.direction.value},
        "ranges": spec.get("hyperparameter_ranges") or {},
        "static": spec.get("static_hyperparameters") or {},
        "limits": spec.get("limits") or {},
        "strategy": spec.get("strategy") or {},
        "early_stopping": spec.get("early_stopping", "off"),
        "lineage": _lineage(store, tuning),
        "terminal": tuning.status.terminal,
    })


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def training_jobs_view(store: Store, name: str) -> dict[str, Any]:
    """Every training job of a tuning job, in columns (one list per field: compact for 10,000 rows).

    ``why`` is the reason of the last stop decision kept about the training job's current attempt (what
    ``trials`` shows), ``rungs`` how many hyperband rung verdicts it met; ``extra`` holds the records' scalar
    extra values (e.g. a period), by key.
    """
    records = store.list_training_jobs(name)
    decisions = store.list_decisions(name)
    hp_names = sorted({k for r in records for k in r.config})
    extra_keys = sorted({k for r in records for k, v in r.extra.items() if _scalar(_label(v))})[:12]
    why, rungs = [], []
    for r in records:
        kept = [k.decision for k in decisions.get(r.id, ()) if k.attempt == r.attempt]
        stop = next((d for d in reversed(kept) if d.stop), None)
        why.append(None if stop is None else stop.reason)
        rungs.append(sum(1 for d in kept if d.rule == "rung"))
    return finite({
        "ids": [r.id for r in records],
        "index": [r.index for r in records],
        "status": [r.status.value for r in records],
        "objective": [r.final_objective for r in records],
        "created": [r.created_at for r in records],
        "started": [r.started_at for r in records],
        "ended": [r.ended_at for r in records],
        "failure": [r.failure_reason for r in records],
        "attempt": [r.attempt for r in records],
        "why": why,
        "rungs": rungs,
        "hp_names": hp_names,
        "hps": {n: [_json_value(r.config.get(n)) for r in records] for n in hp_names},
        "extra": {k: [_json_value(_label(r.extra.get(k))) if _scalar(_label(r.extra.get(k))) else None
                      for r in records] for k in extra_keys},
    })


def _label(value: Any) -> Any:
    """An extra value as a table shows it: a period (``{index, start, end}`` or ``{index, seed}``) by its label."""
    if isinstance(value, Mapping) and "index" in value and ("start" in value or "seed" in value):
        try:
            from hyperjob.formats.periods import Period

            return Period.from_json(value).label
        except (ImportError, KeyError, TypeError, ValueError):
            return None
    return value


def _json_value(value: Any) -> Any:
    return value if _scalar(value) else str(value)


def curves_view(store: Store, name: str, ids: Sequence[str], metric: str | None = None) -> dict[str, Any]:
    """Learning curves of the named training jobs: the metric (default: the objective) against the resource
    (epochs done, as the stoppers count them), with the stopping decisions kept about each (stops and
    hyperband rungs' verdicts, with their reasons).

    Raises:
        StoreError: the tuning job, or one of the training jobs, is unknown; SpecError: too many ids, or a
            training job of another tuning job.
    """
    from hyperjob.errors import SpecError
    from hyperjob.tuner.loop import resource_offset

    tuning = store.get_tuning_job(name)
    metric = metric or objective_of(tuning).metric
    if len(ids) > MAX_CURVES:
        raise SpecError(f"at most {MAX_CURVES} learning curves at once, got {len(ids)}. Ask for fewer ids.",
                        path="ids")
    curves = []
    for job_id in ids:
        record = store.get_training_job(job_id)
        if record.tuning_job != name:
            raise SpecError(f"training job {job_id!r} belongs to tuning job {record.tuning_job!r}, not {name!r}.",
                            path="ids")
        values = [v for v in store.get_metrics(job_id) if v.name == metric]
        offset = resource_offset(min(v.step for v in values)) if values else 0
        decisions = [k.decision for k in store.get_decisions(job_id)]
        curves.append({
            "id": job_id,
            "status": record.status.value,
            "x": [v.step + offset for v in values],
            "y": [v.value for v in values],
            "decisions": [
                {"action": d.action.value, "rule": d.rule, "step": d.step, "value": d.value,
                 "threshold": d.threshold, "rung": d.rung, "compared": d.compared, "reason": d.reason}
                for d in decisions
            ],
        })
    return finite({"metric": metric, "curves": curves})


def importance_view(store: Store, name: str, *, n_trees: int = 16, max_rows: int = 1000) -> dict[str, Any]:
    """fANOVA main effects of the tuned hyperparameters on the objective (completed training jobs with a finite
    value), in the spec's unit cube; ``note`` says why there is nothing to show when that is so."""
    from hyperjob.dashboard.importance import fanova_importance
    from hyperjob.formats.spec import TuningJobSpec

    tuning = store.get_tuning_job(name)
    records = [r for r in store.list_training_jobs(name)
               if r.status is TrainingJobStatus.COMPLETED and r.final_objective is not None
               and math.isfinite(r.final_objective)]
    try:
        space = TuningJobSpec.from_json(dict(tuning.spec)).build_space()
    except HyperjobError as exc:
        return {"shares": {}, "interactions": None, "n": len(records), "note": f"its spec cannot be read: {exc}"}
    names = list(space.names)
    if len(records) < 3 or not names:
        return {"shares": {}, "interactions": None, "n": len(records),
                "note": "needs at least 3 completed training jobs with a value and a tuned hyperparameter."}
    points, values = [], []
    for r in records:
        try:
            points.append(space.to_unit(r.config))
        except (KeyError, ValueError, TypeError):
            continue
        values.append(float(r.final_objective))  # type: ignore[arg-type]
    result = fanova_importance(points, values, names, n_trees=n_trees, max_rows=max_rows)
    return finite({"shares": result.shares, "interactions": result.interactions, "n": result.n, "note": None})


def compare_view(store: Store, names: Sequence[str]) -> dict[str, Any]:
    """Two or more tuning jobs side by side: each one's summary, objective values and best-so-far by training
    job, and a note when their objectives differ (their values then do not compare)."""
    from hyperjob.tuner.describe import best_training_job

    jobs = []
    for n in names:
        tuning = store.get_tuning_job(n)
        objective = objective_of(tuning)
        records = sorted(store.list_training_jobs(n), key=lambda r: r.index)
        best_so_far: list[float | None] = []
        best: float | None = None
        values: list[float | None] = []
        for r in records:
            ok = (r.status is TrainingJobStatus.COMPLETED and r.final_objective is not None
                  and math.isfinite(r.final_objective))
            values.append(r.final_objective if ok else None)
            if ok and (best is None or objective.is_better(r.final_objective, best)):
                best = r.final_objective
            best_so_far.append(best)
        found = best_training_job(records, objective)
        spec = tuning.spec or {}
        jobs.append({
            "name": n, "status": tuning.status.value,
            "strategy": str((spec.get("strategy") or {}).get("name", "bayesian")),
            "objective": {"metric": objective.metric, "direction": objective.direction.value},
            "training_jobs": len(records),
            "completed": sum(1 for r in records if r.status is TrainingJobStatus.COMPLETED),
            "best": None if found is None else found.final_objective,
            "best_training_job": None if found is None else found.id,
            "best_hyperparameters": None if found is None else dict(found.config),
            "values": values, "best_so_far": best_so_far,
            "ranges": spec.get("hyperparameter_ranges") or {},
        })
    objectives = {(j["objective"]["metric"], j["objective"]["direction"]) for j in jobs}
    note = None
    if len(objectives) > 1:
        note = ("these tuning jobs do not share one objective (" + "; ".join(
            f"{j['name']}: {j['objective']['direction']} {j['objective']['metric']}" for j in jobs)
            + "): their values do not compare.")
    return finite({"jobs": jobs, "note": note})

