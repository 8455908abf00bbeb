"""What ``hyperjob describe`` and ``hyperjob trials`` answer: the store's records, shaped as SageMaker's API.

``describe_tuning_job`` mirrors ``DescribeHyperParameterTuningJob``; ``list_training_jobs`` mirrors
``ListTrainingJobsForHyperParameterTuningJob`` (with its sort keys). Values are as the store holds them; the
CLI writes them as strict JSON (a non-finite number, which no training job's objective can be, becomes null).
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any, Mapping, Sequence

from hyperjob._process import holder_is_dead
from hyperjob.errors import SpecError
from hyperjob.outcomes import Outcomes, best_job, best_of, front_jobs, job_values, outcomes_from_json
from hyperjob.records import (DecisionRecord, Direction, MetricValue, Objective, TrainingJobRecord,
                              TrainingJobStatus, TuningJobRecord)
from hyperjob.stopping.base import Decision
from hyperjob.store.base import Store
from hyperjob.strategies.registry import stopping_rule

SORT_KEYS = {
    "name": "Name",
    "creationtime": "CreationTime",
    "status": "Status",
    "objective": "FinalObjectiveMetricValue",
    "finalobjectivemetricvalue": "FinalObjectiveMetricValue",
}


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return _dt.datetime.fromtimestamp(ts, tz=_dt.timezone.utc).isoformat()


def objective_of(tuning: TuningJobRecord) -> Objective:
    """The objective the tuning job was recorded with (``TuningJobRecord.objective``).

    A tuning job recorded without one (by a tool or a test calling the store; the Tuner always records its
    spec's) reads as minimizing ``"objective"``.
    """
    return tuning.objective or Objective("objective")


#: words that make a metric's best value its smallest / largest (``export``'s ``:best`` column); a name is split
#: at ``:``, ``_``, ``-``, ``.``, ``/`` and spaces, and the first word found decides
_LOWER_IS_BETTER = frozenset({"loss", "error", "err", "mse", "rmse", "mae", "mape", "logloss", "perplexity", "time",
                              "latency", "regret", "cost", "seconds", "wer", "cer"})
_HIGHER_IS_BETTER = frozenset({"acc", "accuracy", "auc", "f1", "precision", "recall", "mrr", "map", "ndcg", "r2",
                               "score", "iou", "dice", "hits", "bleu", "rouge", "throughput"})


def metric_direction(tuning: TuningJobRecord, metric: str) -> Direction | None:
    """In which direction a metric's values are better: the one rule of ``export``'s ``:best`` columns.

    The objective's direction for the objective; a declared objective's or constraint's direction for those
    (a ``max`` constraint is better lower, a ``min`` one higher); else the metric's name decides
    (:data:`_LOWER_IS_BETTER`: ``train_loss``, ``validation:error``...; :data:`_HIGHER_IS_BETTER`:
    ``train:accuracy``, ``validation-auc``...); ``None`` when nothing says (the ``:best`` cell stays empty).
    """
    objective = objective_of(tuning)
    if metric == objective.metric:
        return objective.direction
    outcomes = outcomes_of(tuning)
    for o in outcomes.objectives:
        if o.metric == metric:
            return o.direction
    for c in outcomes.constraints:
        if c.metric == metric:
            return Direction.MINIMIZE if getattr(c, "max", None) is not None else Direction.MAXIMIZE
    import re

    for word in re.split(r"[:_\-./\s]+", metric.lower()):
        if word in _LOWER_IS_BETTER:
            return Direction.MINIMIZE
        if word in _HIGHER_IS_BETTER:
            return Direction.MAXIMIZE
    return None


def objective_status(record: TrainingJobRecord) -> str:
    """SageMaker's ObjectiveStatus of a training job: Succeeded, Pending or Failed."""
    if not record.status.terminal:
        return "Pending"
    return "Succeeded" if record.final_objective is not None else "Failed"


def training_job_summary(
    record: TrainingJobRecord, objective: Objective, decisions: Sequence[DecisionRecord] = ()
) -> dict[str, Any]:
    """One training job as ``HyperParameterTrainingJobSummary``.

    Args:
        decisions: the decisions kept about the training job's current attempt (``Store.get_decisions``).
    """
    out: dict[str, Any] = {
        "TrainingJobName": record.id,
        "TrainingJobStatus": record.status.value,
        "TunedHyperParameters": dict(record.config),
        "CreationTime": _iso(record.created_at),
        "TrainingStartTime": _iso(record.started_at),
        "TrainingEndTime": _iso(record.ended_at),
        "ObjectiveStatus": objective_status(record),
    }
    if record.final_objective is not None:
        out["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": objective.direction.value,
            "MetricName": objective.metric,
            "Value": record.final_objective,
        }
    if record.failure_reason:
        out["FailureReason"] = record.failure_reason
    kept = [k.decision for k in decisions if k.attempt == record.attempt]
    stop = next((d for d in reversed(kept) if d.stop), None)
    if stop is not None:  # hyperjob's addition: why the training job was stopped
        out["StoppingDecision"] = _decision_json(stop)
    rungs = [_decision_json(d) for d in kept if d.rule == "rung"]
    if rungs:
        out["Rungs"] = rungs
    return out


def _decision_json(decision: Decision) -> dict[str, Any]:
    """A kept stopping decision, in the Describe response's spelling (no NaN: a missing value is left out)."""
    d = decision.to_json()
    names = {"rule": "Rule", "action": "Action", "step": "Step", "value": "Value", "threshold": "Threshold",
             "compared": "Compared", "rung": "Rung", "bracket": "Bracket", "reason": "Reason"}
    return {names[k]: d[k] for k in names if d.get(k) is not None}


def objective_reported_once(store: Store, name: str, records: list[TrainingJobRecord], metric: str) -> list[str]:
    """Completed training jobs that reported the objective at a single step (none can be stopped early)."""
    done = [r for r in records if r.status is TrainingJobStatus.COMPLETED and r.final_objective is not None]
    if not done:
        return []
    metrics = store.get_all_metrics(name)
    return [
        r.id for r in done
        if len({v.step for v in metrics.get(r.id, ()) if v.name == metric}) == 1
    ]


def tuner_holds(store: Store, name: str) -> bool:
    """Whether a live tuner holds the tuning job's lease (a holder on another machine counts as live until its
    lease expires: only a process of this machine can be seen to be gone)."""
    holder = store.lease_holder(name)
    return holder is not None and not holder_is_dead(holder)


def best_training_job(records: list[TrainingJobRecord], objective: Objective, outcomes: Outcomes | None = None,
                      metrics: Mapping[str, Sequence[MetricValue]] | None = None) -> TrainingJobRecord | None:
    """The best completed training job (ties: the earlier one); a non-finite objective never wins, nor an
    infeasible one (the rule's owner: :func:`hyperjob.outcomes.best_of`).

    Args:
        outcomes: several objectives and constraints (:func:`outcomes_of`); ``None``: ``objective`` alone.
        metrics: the store's metric values by training job (``store.get_all_metrics``), for ``outcomes``.
    """
    return best_job(records, outcomes or Outcomes.single(objective), metrics)


def outcomes_of(tuning: TuningJobRecord) -> Outcomes:
    """The objectives and constraints the tuning job was created with (its stored spec)."""
    return outcomes_from_json(tuning.spec, objective_of(tuning))


def pareto_front(store: Store, tuning: TuningJobRecord, records: list[TrainingJobRecord]
                 ) -> tuple[Outcomes, list[TrainingJobRecord], dict[str, dict[str, float]]]:
    """``(outcomes, front, values)`` of a tuning job: the training jobs on its Pareto front (only the best one
    with one objective), and every completed training job's last metric values (``{}`` with one objective and
    no constraint)."""
    outcomes = outcomes_of(tuning)
    if outcomes.plain:
        best = best_job(records, outcomes)
        return outcomes, [best] if best else [], {}
    metrics = store.get_all_metrics(tuning.name)
    values = {r.id: job_values(r, outcomes, metrics.get(r.id, ())) or {} for r in records}
    return outcomes, front_jobs(records, outcomes, metrics), values


def describe_tuning_job(store: Store, name: str) -> dict[str, Any]:
    """``DescribeHyperParameterTuningJob`` for a tuning job in ``store``."""
    tuning = store.get_tuning_job(name)
    records = store.list_training_jobs(name)
    decisions = store.list_decisions(name)
    objective = objective_of(tuning)
    counts = {s: 0 for s in TrainingJobStatus}
    for r in records:
        counts[r.status] += 1
    obj_counts = {"Succeeded": 0, "Pending": 0, "Failed": 0}
    for r in records:
        obj_counts[objective_status(r)] += 1
    out: dict[str, Any] = {
        "HyperParameterTuningJobName": tuning.name,
        "HyperParameterTuningJobStatus": tuning.status.value,
        "CreationTime": _iso(tuning.created_at),
        "HyperParameterTuningEndTime": _iso(tuning.ended_at),
        "HyperParameterTuningJobConfig": _config_section(tuning, objective),
        "TrainingJobStatusCounters": {
            "Completed": counts[TrainingJobStatus.COMPLETED],
            "InProgress": counts[TrainingJobStatus.IN_PROGRESS]
            + counts[TrainingJobStatus.PENDING]
            + counts[TrainingJobStatus.STOPPING],
            "RetryableError": 0,
            "NonRetryableError": counts[TrainingJobStatus.FAILED],
            "Stopped": counts[TrainingJobStatus.STOPPED],
        },
        "ObjectiveStatusCounters": obj_counts,
        "ConsumedResources": {"RuntimeInSeconds": int(round(tuning.consumed_runtime_s or 0))},
        "TrainingJobDefinition": training_job_definition(tuning.spec or {}),
    }
    outcomes, front, values = pareto_front(store, tuning, records)
    best = best_job(front, outcomes, {}) if outcomes.plain else best_of(front, outcomes, lambda r: values[r.id])
    if best is not None:
        out["BestTrainingJob"] = training_job_summary(best, objective, decisions.get(best.id, ()))
    if not outcomes.plain:  # hyperjob's addition: several objectives, constraints (docs/objectives.md)
        out["Outcomes"] = outcomes.to_json()
        out["ParetoFront"] = [
            {"TrainingJobName": r.id, "TunedHyperParameters": {k: str(v) for k, v in r.config.items()},
             "Values": {m: values[r.id].get(m) for m in outcomes.metrics}} for r in front
        ]
        out["InfeasibleTrainingJobs"] = sum(1 for r in records if values.get(r.id) and
                                            not outcomes.feasible(values[r.id]))
    if tuning.parents:
        warm_type = (tuning.spec.get("warm_start") or {}).get("type", "identical_data_and_algorithm")
        out["WarmStartConfig"] = {
            "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": p} for p in tuning.parents],
            "WarmStartType": {"identical_data_and_algorithm": "IdenticalDataAndAlgorithm",
                              "transfer_learning": "TransferLearning"}.get(warm_type, warm_type),
        }
        if warm_type == "identical_data_and_algorithm":
            # across the child and its listed parents only (SageMaker: none for transfer learning, whose data
            # may differ)
            from hyperjob.tuner.warm_start import overall_best

            found = overall_best(store, tuning, objective)
            if found is not None:
                out["OverallBestTrainingJob"] = {
                    **training_job_summary(found[0], objective, store.get_decisions(found[0].id)),
                    "TuningJobName": found[1],
                }
    stopped = [
        {"TrainingJobName": r.id, **summary["StoppingDecision"]}
        for r in records
        if r.status is TrainingJobStatus.STOPPED  # (a job may complete before a stop decided on it lands)
        and "StoppingDecision" in (summary := training_job_summary(r, objective, decisions.get(r.id, ())))
    ]
    if stopped:  # hyperjob's addition: every training job stopped early, and why
        out["StoppedEarly"] = stopped
    spec = tuning.spec or {}
    what = stopping_rule((spec.get("strategy") or {}).get("name"), spec.get("early_stopping", "off"))
    if what is not None:  # something stops training jobs early: it needs the objective at every step
        once = objective_reported_once(store, name, records, objective.metric)
        if once:
            out["EarlyStoppingNote"] = (
                f"{len(once)} completed training job(s) (e.g. {once[0]}) reported the objective "
                f"{objective.metric!r} only once, at the end: {what} needs it after every epoch to stop training "
                "jobs early. Report it every epoch (a log line the metric definition reads, or "
                "hyperjob.report(step=epoch, ...))."
            )
    if not tuning.status.terminal:  # hyperjob's addition: is anyone running it?
        held = tuner_holds(store, name)
        out["TunerHoldsJob"] = held
        if not held:
            out["TunerNote"] = _no_tuner_note(tuning, records)
    reason = tuning.status_reason or ""
    if tuning.status.value == "Failed":
        out["FailureReason"] = reason
    elif reason:
        out["TuningJobCompletionDetails"] = _completion_details(reason, records, objective)
    return out


def _no_tuner_note(tuning: TuningJobRecord, records: list[TrainingJobRecord]) -> str:
    unfinished = sum(1 for r in records if not r.status.terminal)
    jobs = (f", and so are its {unfinished} unfinished training jobs (they may still run under their supervisor, "
            "or have ended meanwhile)") if unfinished else ""
    return (f"no tuner holds this tuning job (its tuner was killed or its lease expired): its status "
            f"{tuning.status.value} is as last recorded{jobs}. `hyperjob resume {tuning.name}` finds out what "
            f"became of them and continues; `hyperjob stop {tuning.name}` ends them.")


def _config_section(tuning: TuningJobRecord, objective: Objective) -> dict[str, Any]:
    spec = tuning.spec or {}
    limits = spec.get("limits") or {}
    strategy = spec.get("strategy") or {}
    settings = strategy.get("settings") or {}
    hyperband = {
        key: settings[name] for key, name in (("MinResource", "min_resource"), ("MaxResource", "max_resource"))
        if settings.get(name) is not None
    }
    section: dict[str, Any] = {
        "Strategy": str(strategy.get("name", "bayesian")).capitalize(),
        **({"StrategyConfig": {"HyperbandStrategyConfig": hyperband}}
           if strategy.get("name") == "hyperband" and hyperband else {}),
        "HyperParameterTuningJobObjective": {"Type": objective.direction.value, "MetricName": objective.metric},
        "ResourceLimits": {
            k: v
            for k, v in {
                "MaxNumberOfTrainingJobs": limits.get("max_jobs"),
                "MaxParallelTrainingJobs": limits.get("max_parallel_jobs"),
                "MaxRuntimeInSeconds": limits.get("max_runtime_s"),
            }.items()
            if v is not None
        },
        "TrainingJobEarlyStoppingType": "Off" if spec.get("early_stopping", "off") == "off" else "Auto",
    }
    if settings and strategy.get("name") != "hyperband":  # hyperjob's strategies' own settings, as given
        section["StrategyConfig"] = {"HyperjobStrategySettings": dict(settings)}
    ranges = parameter_ranges(spec)
    if ranges is not None:
        section["ParameterRanges"] = ranges
    if spec.get("random_seed") is not None:
        section["RandomSeed"] = spec["random_seed"]
    criteria = _completion_criteria(spec.get("completion") or {})
    if criteria:
        section["TuningJobCompletionCriteria"] = criteria
    return section


#: spec scaling -> SageMaker's ScalingType
_SCALING = {None: "Auto", "auto": "Auto", "linear": "Linear", "logarithmic": "Logarithmic",
            "reverse_logarithmic": "ReverseLogarithmic"}


def _str(value: Any) -> str:
    """A value as SageMaker's API writes hyperparameters: a string (numbers without a trailing ``.0`` noise)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        import json

        return json.dumps(value)
    return str(value)


def parameter_ranges(spec: Mapping[str, Any]) -> dict[str, Any] | None:
    """The stored spec's ranges as SageMaker's ``ParameterRanges`` (``MinValue``/``MaxValue``/``Values`` as
    strings). A discrete range (an ordered list of numbers, e.g. a Neptune grid) is a categorical one there.
    Each range also carries hyperjob's ``ResolvedScalingType``: what ``Auto`` resolved to (the space's rule,
    :mod:`hyperjob.space.ranges`), or the scaling given. ``None`` when the spec cannot be rebuilt."""
    raw = spec.get("hyperparameter_ranges") or {}
    resolved: dict[str, str] = {}
    try:
        from hyperjob.formats.spec import TuningJobSpec

        for r in TuningJobSpec.from_json(dict(spec)).build_space().ranges:
            scaling = getattr(r, "scaling", None)
            if scaling is not None:
                resolved[r.name] = getattr(scaling, "value", str(scaling))
    except Exception:  # noqa: BLE001 - a spec written by an older version: the ranges as stored, no resolution
        pass
    out: dict[str, list[dict[str, Any]]] = {"ContinuousParameterRanges": [], "IntegerParameterRanges": [],
                                            "CategoricalParameterRanges": []}
    for name, r in raw.items():
        kind = r.get("type")
        if kind in ("continuous", "integer"):
            entry = {"Name": name, "MinValue": _str(r.get("min_value")), "MaxValue": _str(r.get("max_value")),
                     "ScalingType": _SCALING.get(r.get("scaling"), str(r.get("scaling")))}
            if name in resolved:
                entry["ResolvedScalingType"] = resolved[name]
            out["ContinuousParameterRanges" if kind == "continuous" else "IntegerParameterRanges"].append(entry)
        else:
            out["CategoricalParameterRanges"].append({"Name": name, "Values": [_str(v) for v in r.get("values") or []]})
    return out


def _completion_criteria(completion: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if completion.get("target_value") is not None:
        out["TargetObjectiveMetricValue"] = completion["target_value"]
    if completion.get("max_jobs_not_improving") is not None:
        out["BestObjectiveNotImproving"] = {"MaxNumberOfTrainingJobsNotImproving": completion["max_jobs_not_improving"]}
    if completion.get("convergence") not in (None, "off"):
        out["ConvergenceDetected"] = {"CompleteOnConvergence": "Enabled"}
    return out


def training_job_definition(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The stored spec's training program as SageMaker's ``TrainingJobDefinition``.

    ``StaticHyperParameters`` are strings, as SageMaker returns them; ``InputDataConfig`` lists every channel
    with its ``S3Uri`` as the user gave it (a URL, or a local path: not the local copy of a fetched URL);
    hyperjob's program (command, algorithm or function, working directory) is under ``HyperjobProgram``.
    """
    program = spec.get("program") or {}
    limits = spec.get("limits") or {}
    definition: dict[str, Any] = {
        "StaticHyperParameters": {k: _str(v) for k, v in (spec.get("static_hyperparameters") or {}).items()},
        "AlgorithmSpecification": {
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": d.get("name"), "Regex": d.get("regex")}
                                  for d in spec.get("metric_definitions") or []],
        },
        "InputDataConfig": [
            {"ChannelName": name, "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": where}}}
            for name, where in sorted((program.get("channels") or {}).items())
        ],
        "HyperjobProgram": {k: v for k, v in {
            "Command": program.get("command"), "Algorithm": program.get("algorithm"),
            "Function": program.get("function"), "WorkingDirectory": program.get("working_dir")}.items()
            if v is not None},
    }
    if program.get("algorithm"):
        definition["AlgorithmSpecification"]["AlgorithmName"] = program["algorithm"]
    if program.get("env"):
        definition["Environment"] = dict(program["env"])
    if limits.get("timeout_s") is not None:
        definition["StoppingCondition"] = {"MaxRuntimeInSeconds": limits["timeout_s"]}
    return definition


def _completion_details(reason: str, records: list[TrainingJobRecord], objective: Objective) -> dict[str, Any]:
    done = [r for r in records if r.status is TrainingJobStatus.COMPLETED and r.final_objective is not None]
    done.sort(key=lambda r: (r.ended_at or 0, r.index))
    since = 0
    best = None
    for r in done:
        if best is None or objective.is_better(r.final_objective, best):
            best, since = r.final_objective, 0
        else:
            since += 1
    details: dict[str, Any] = {"Reason": reason, "NumberOfTrainingJobsObjectiveNotImproving": since}
    if reason.startswith("ConvergenceDetected") and done:
        details["ConvergenceDetectedTime"] = _iso(done[-1].ended_at)
    return details


def list_training_jobs(
    store: Store, name: str, *, sort_by: str = "CreationTime", descending: bool = False, status: str | None = None
) -> list[dict[str, Any]]:
    """``ListTrainingJobsForHyperParameterTuningJob``: summaries, filtered by status, sorted.

    Args:
        sort_by: ``Name``, ``CreationTime``, ``Status`` or ``FinalObjectiveMetricValue`` (also ``objective``).
            Sorting by the objective puts the best first (``descending`` reverses that) and jobs without a value
            last.
    """
    key = SORT_KEYS.get(sort_by.replace("_", "").replace("-", "").lower())
    if key is None:
        raise SpecError(
            f"unknown sort key {sort_by!r}. Use one of Name, CreationTime, Status, FinalObjectiveMetricValue.",
            path="--sort-by",
        )
    tuning = store.get_tuning_job(name)
    objective = objective_of(tuning)
    records = store.list_training_jobs(name)
    if status:
        wanted = {s.value.lower(): s for s in TrainingJobStatus}
        if status.lower() not in wanted:
            raise SpecError(
                f"unknown status {status!r}. Use one of {', '.join(s.value for s in TrainingJobStatus)}.",
                path="--status",
            )
        records = [r for r in records if r.status is wanted[status.lower()]]
    if key == "FinalObjectiveMetricValue":
        with_value = [r for r in records if r.final_objective is not None]
        without = [r for r in records if r.final_objective is None]
        with_value.sort(key=lambda r: objective.loss(r.final_objective), reverse=descending)
        records = with_value + without
    else:
        getters = {
            "Name": lambda r: r.id,
            "CreationTime": lambda r: (r.created_at, r.index),
            "Status": lambda r: (r.status.value, r.index),
        }
        records.sort(key=getters[key], reverse=descending)
    decisions = store.list_decisions(name)
    return [training_job_summary(r, objective, decisions.get(r.id, ())) for r in records]
