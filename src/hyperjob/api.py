"""The Python API: ``hyperjob.tune(train, space, objective=..., max_jobs=...)``."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from hyperjob.errors import SpecError
from hyperjob.records import Configuration, TrainingJobRecord, TrainingJobStatus
from hyperjob.space import SearchSpace


@dataclass(frozen=True)
class TuningResult:
    """What ``hyperjob.tune`` returns.

    Attributes:
        name: the tuning job's name in the store.
        status: how the tuning job ended (``Completed``, ``Stopped``, ``Failed``).
        reason: why it ended.
        best_config: the best training job's hyperparameters (tuned and static), or ``None``.
        best_value: its objective value, or ``None``.
        best_training_job: its name, or ``None``.
        jobs: one row per training job: ``name``, ``index``, ``status``, ``value`` (the objective of a completed
            training job, else ``None``), ``last_value`` and ``last_step`` (its last objective value and the
            resource it was reported at, also for a job stopped early), ``config`` and ``failure_reason`` (for a
            stopped job: why it was stopped).
        store_url: where everything is recorded.
    """

    name: str
    status: str
    reason: str
    best_config: Configuration | None
    best_value: float | None
    best_training_job: str | None
    jobs: tuple[dict[str, Any], ...]
    store_url: str
    #: several objectives or constraints: the training jobs on the Pareto front (``name``, ``config``,
    #: ``values``: each objective's and constraint's metric), in creation order; with one objective, the best
    front: tuple[dict[str, Any], ...] = ()

    def table(self) -> str:
        """The training jobs as a plain-text table, best first."""
        rows = sorted(self.jobs, key=lambda j: (j["value"] is None, j["index"]))
        names = sorted({k for j in rows for k in j["config"]})
        head = ["training job", "status", "objective", *names]
        body = [
            [j["name"], j["status"], "" if j["value"] is None else f"{j['value']:.6g}",
             *[str(j["config"].get(n, "")) for n in names]]
            for j in rows
        ]
        widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        return "\n".join(fmt.format(*r) for r in [head, *body])

    def __str__(self) -> str:
        best = (
            f"best {self.best_training_job}: {self.best_value:.6g} with {self.best_config}"
            if self.best_training_job
            else "no training job reported the objective"
        )
        return f"tuning job {self.name}: {self.status} ({self.reason}); {best}"


def tune(
    train: Callable[..., Any] | Sequence[str] | str,
    space: SearchSpace | Mapping[str, Any],
    *,
    objective: str = "objective",
    maximize: bool = False,
    max_jobs: int | None = 20,
    max_parallel_jobs: int = 1,
    strategy: str = "bayesian",
    strategy_settings: Mapping[str, Any] | None = None,
    early_stopping: str | Mapping[str, Any] = "off",
    static: Mapping[str, Any] | None = None,
    metric_definitions: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    seed: int | None = None,
    name: str | None = None,
    store: str | None = None,
    output_dir: str | os.PathLike[str] = "hyperjob-runs",
    timeout_s: float | None = None,
    max_runtime_s: float | None = None,
    target_value: float | None = None,
    max_jobs_not_improving: int | None = None,
    max_failed_jobs: int | None = None,
    resource_budget: int | None = None,
    progress: bool = False,
    resume: bool = False,
    warm_start: Mapping[str, Any] | None = None,
    objectives: Sequence[Mapping[str, Any]] | None = None,
    constraints: Sequence[Mapping[str, Any]] | None = None,
    executor: str | Mapping[str, Any] | None = None,
    resources: Mapping[str, Any] | None = None,
) -> TuningResult:
    """Tune ``train`` over ``space`` and return the best configuration.

    The arguments are read into a :class:`~hyperjob.formats.spec.TuningJobSpec`
    (:func:`hyperjob.formats.python_api.tune_spec`), which checks them by the rules and with the messages of a
    job.yaml (a bad value is reported at its spec field: ``early_stopping``, ``limits.max_jobs``,
    ``hyperparameter_ranges.lr.scaling``...); the Tuner runs ``TuningPlan.from_spec(spec, function=train)``.
    A Python function cannot be stored as JSON: the spec names it (``program.function``, ``"module:qualname"``)
    and the function itself goes beside the spec, so the store keeps a real spec (warm start and ``describe``
    read it back) and only Python can continue the tuning job (``resume=True``; ``hyperjob resume`` refuses).

    Args:
        train: a Python function called with one dict of hyperparameters (tuned and static), returning the
            objective value (a float), a dict of metrics, or ``None`` after calling
            ``hyperjob.report(step=..., **metrics)``; or a command (a list of arguments, never run through a
            shell, started in the current directory) that receives ``--name value`` per hyperparameter and
            prints or reports its metrics.
        space: a :class:`~hyperjob.space.SearchSpace`, or a dict in job.yaml's ``hyperparameter_ranges`` syntax
            (``inc_strategy``, ``discrete``, tiers included; a :mod:`hyperjob.space` range works too); plain
            values in it are static hyperparameters.
        objective: the metric to optimize.
        maximize: maximize the objective (default: minimize).
        max_jobs: training jobs in total (>= 1); ``None`` lets grid search take the number of combinations.
            With tiers, it picks the tuned tiers (as in a job.yaml).
        max_parallel_jobs: training jobs at once (>= 1).
        strategy: ``bayesian`` (default), ``random``, ``grid`` or ``hyperband``.
        strategy_settings: the strategy's settings, e.g. for hyperband ``{"min_resource": 1, "max_resource":
            27, "reduction_factor": 3, "model": "bayesian"}`` (``docs/early-stopping.md``).
        early_stopping: ``off`` (default) or ``auto``: SageMaker's median rule, exactly: stop a training job
            whose objective at a step is worse than the median of earlier training jobs' running averages at
            that step, judged from its first value (``train`` must report the objective every epoch with
            ``hyperjob.report(step=epoch, ...)``). A warm-up is a dict of the rule's settings, as in a job.yaml:
            ``{"rule": "median", "min_jobs": 3, "grace_values": 1}`` (``docs/early-stopping.md``). Not with
            ``hyperband``.
        static: more static hyperparameters. Static values are recorded as JSON (strings, numbers, booleans,
            lists, dicts); give a function anything else through a closure or ``functools.partial``.
        metric_definitions: for a command, ``{metric name: regex}`` read from its log lines.
        seed: random seed (>= 0); the same seed and results give the same configurations.
        name: the tuning job's name (default: ``tune-<timestamp>``).
        store: store URL or SQLite path (default: ``<output_dir>/hyperjob.db``).
        output_dir: where training-job directories go.
        timeout_s: limit per training job, seconds. max_runtime_s: limit of the whole tuning job, seconds.
        target_value, max_jobs_not_improving: completion criteria (see ``hyperjob.tuner.completion``).
        max_failed_jobs: the tuning job fails once this many training jobs failed.
        resource_budget: epochs (the steps the objective is reported at) all training jobs may train together;
            when they have, running jobs are stopped and the tuning job completes (``hyperjob.tuner.budget``).
        progress: draw a progress bar on the terminal.
        resume: continue the tuning job ``name`` (after a crash or Ctrl-C) instead of starting it.
        warm_start: learn from earlier tuning jobs of the same store:
            ``{"parents": ["job-a", ...], "type": "identical_data_and_algorithm"}`` (1 to 5 parents; type
            ``identical_data_and_algorithm``, the default, or ``transfer_learning``). See ``docs/warm-start.md``.
        objectives: several objectives instead of ``objective``/``maximize``: ``[{"metric": "error", "type":
            "minimize"}, {"metric": "latency_ms", "type": "minimize"}]`` (``train`` returns a dict with each);
            the result's ``front`` is the Pareto front (``docs/objectives.md``).
        constraints: outcome constraints, ``[{"metric": "memory_mb", "max": 2000}]``: a training job that
            violates one (or does not report its metric) is infeasible, never the best nor on the front.
        executor: where the training jobs run, as job.yaml's ``executor``: ``"local"`` (default) or ``"ray"`` (a
            private local Ray cluster), or ``{"type": "ray", "address": "host:port"}`` (docs/cluster.md). Ray runs
            commands only: ``train`` must be a command there.
        resources: what each training job needs, as job.yaml's ``resources``: ``{"cpus": 1, "gpus": 0.25,
            "memory_mb": 2000, "custom": {...}}`` (placement on Ray; GPU sharing on this machine).

    Returns:
        A :class:`TuningResult`.

    Raises:
        SpecError: for bad arguments, with what was wrong, where (the spec field) and how to fix it.
        WarmStartError: a parent breaks a warm-start rule (nothing is recorded).
    """
    from hyperjob.formats.python_api import tune_spec
    from hyperjob.store import open_store
    from hyperjob.tuner.loop import Tuner
    from hyperjob.tuner.plan import TuningPlan

    if resume and not name:
        raise SpecError("resume=True needs the name of the tuning job to continue. Pass name='...'.", path="name")
    store_url = store or str(Path(output_dir) / "hyperjob.db")
    spec = tune_spec(
        train, space, objective=objective, maximize=maximize, max_jobs=max_jobs,
        max_parallel_jobs=max_parallel_jobs, strategy=strategy, strategy_settings=strategy_settings,
        early_stopping=early_stopping, static=static, metric_definitions=metric_definitions, seed=seed, name=name,
        store=store_url, output_dir=output_dir, timeout_s=timeout_s, max_runtime_s=max_runtime_s,
        target_value=target_value, max_jobs_not_improving=max_jobs_not_improving, max_failed_jobs=max_failed_jobs,
        resource_budget=resource_budget, warm_start=warm_start, objectives=objectives, constraints=constraints,
        executor=executor, resources=resources,
    )
    plan = TuningPlan.from_spec(spec, function=train if spec.program_is_function else None)
    db = open_store(store_url)
    listener = None
    if progress:
        from hyperjob.cli.progress import ProgressListener

        listener = ProgressListener(plan)
    try:
        outcome = Tuner(plan, db, listener=listener).run(resume=resume)
        front = _front(db, plan)
    finally:
        db.close()
    return replace(result_from_outcome(outcome, plan.space, store_url), front=front)


def _front(db: Any, plan: Any) -> tuple[dict[str, Any], ...]:
    """The Pareto front's training jobs, as :attr:`TuningResult.front` lists them."""
    from hyperjob.tuner.describe import pareto_front

    outcomes, front, values = pareto_front(db, db.get_tuning_job(plan.name), db.list_training_jobs(plan.name))
    return tuple(
        {"name": r.id, "config": plan.space.full(r.config),
         "values": {m: (values.get(r.id) or {m: r.final_objective}).get(m) for m in outcomes.metrics}}
        for r in front
    )


def result_from_outcome(outcome: Any, space: SearchSpace, store_url: str) -> TuningResult:
    """Turn a :class:`~hyperjob.tuner.loop.TuningOutcome` into a :class:`TuningResult`."""
    best: TrainingJobRecord | None = outcome.best
    jobs = tuple(
        {
            "name": r.id,
            "index": r.index,
            "status": r.status.value,
            "value": r.final_objective if r.status is TrainingJobStatus.COMPLETED else None,
            "last_value": r.final_objective,
            "last_step": r.extra.get("objective_step"),
            "config": space.full(r.config),
            "failure_reason": r.failure_reason,
        }
        for r in outcome.training_jobs
    )
    return TuningResult(
        name=outcome.name,
        status=outcome.status.value,
        reason=outcome.reason,
        best_config=space.full(best.config) if best else None,
        best_value=best.final_objective if best else None,
        best_training_job=best.id if best else None,
        jobs=jobs,
        store_url=store_url,
    )
