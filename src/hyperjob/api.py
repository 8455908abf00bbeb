"""The Python API: ``hyperjob.tune(train, space, objective=..., max_jobs=...)``."""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from hyperjob.errors import SpecError
from hyperjob.executors.base import MetricDefinition, Program
from hyperjob.records import Configuration, Direction, Objective, TrainingJobRecord, TrainingJobStatus
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


def _build_space(space: SearchSpace | Mapping[str, Any], static: Mapping[str, Any] | None) -> SearchSpace:
    if isinstance(space, SearchSpace):
        if static:
            return SearchSpace(ranges=space.ranges, static={**space.static, **static})
        return space
    if not isinstance(space, Mapping):
        raise SpecError(
            f"space must be a SearchSpace or a dict of ranges, got {type(space).__name__}. "
            "Write e.g. {'lr': {'type': 'continuous', 'min_value': 1e-4, 'max_value': 0.1, 'scaling': 'logarithmic'}}.",
            path="space",
        )
    from hyperjob.formats.spec import build_ranges

    range_items = {k: v for k, v in space.items() if isinstance(v, Mapping)}
    static_items = {k: v for k, v in space.items() if not isinstance(v, Mapping)}
    ranges = build_ranges(range_items, path="space")
    return SearchSpace(ranges=tuple(ranges), static={**static_items, **(static or {})})


def tune(
    train: Callable[..., Any] | Sequence[str] | str,
    space: SearchSpace | Mapping[str, Any],
    *,
    objective: str = "objective",
    maximize: bool = False,
    max_jobs: int = 20,
    max_parallel_jobs: int = 1,
    strategy: str = "bayesian",
    strategy_settings: Mapping[str, Any] | None = None,
    early_stopping: str = "off",
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
    progress: bool = False,
    resume: bool = False,
    warm_start: Mapping[str, Any] | None = None,
) -> TuningResult:
    """Tune ``train`` over ``space`` and return the best configuration.

    Args:
        train: a Python function called with one dict of hyperparameters (tuned and static), returning the
            objective value (a float), a dict of metrics, or ``None`` after calling
            ``hyperjob.report(step=..., **metrics)``; or a command (a list of arguments, never run through a
            shell) that receives ``--name value`` per hyperparameter and prints or reports its metrics.
        space: a :class:`~hyperjob.space.SearchSpace`, or a dict in job.yaml's ``hyperparameter_ranges`` syntax
            (plain values in it are static hyperparameters).
        objective: the metric to optimize.
        maximize: maximize the objective (default: minimize).
        max_jobs: training jobs in total (>= 1).
        max_parallel_jobs: training jobs at once (>= 1).
        strategy: ``bayesian`` (default), ``random``, ``grid`` or ``hyperband``.
        strategy_settings: the strategy's settings, e.g. for hyperband ``{"min_resource": 1, "max_resource":
            27, "reduction_factor": 3, "model": "bayesian"}`` (``docs/early-stopping.md``).
        early_stopping: ``off`` (default) or ``auto``: stop a training job whose objective at a step is worse
            than the median of earlier training jobs' running averages at that step (``train`` must report
            the objective every epoch with ``hyperjob.report(step=epoch, ...)``). Not with ``hyperband``.
        metric_definitions: for a command, ``{metric name: regex}`` read from its log lines.
        seed: random seed; the same seed and results give the same configurations.
        name: the tuning job's name (default: ``tune-<timestamp>``).
        store: store URL or SQLite path (default: ``<output_dir>/hyperjob.db``).
        output_dir: where training-job directories go.
        timeout_s: limit per training job, seconds. max_runtime_s: limit of the whole tuning job, seconds.
        target_value, max_jobs_not_improving: completion criteria (see ``hyperjob.tuner.completion``).
        progress: draw a progress bar on the terminal.
        resume: continue the tuning job ``name`` (after a crash or Ctrl-C) instead of starting it.
        warm_start: learn from earlier tuning jobs of the same store:
            ``{"parents": ["job-a", ...], "type": "identical_data_and_algorithm"}`` (1 to 5 parents; type
            ``identical_data_and_algorithm``, the default, or ``transfer_learning``). See ``docs/warm-start.md``.

    Returns:
        A :class:`TuningResult`.

    Raises:
        SpecError: for bad arguments, with what was wrong and how to fix it.
        WarmStartError: a parent breaks a warm-start rule (nothing is recorded).
    """
    from hyperjob.store import open_store
    from hyperjob.tuner.loop import Tuner
    from hyperjob.tuner.plan import TuningPlan

    search_space = _build_space(space, static)
    early = early_stopping.strip().lower() if isinstance(early_stopping, str) else early_stopping
    if early not in ("off", "auto"):
        raise SpecError(f"early_stopping must be 'off' or 'auto', got {early_stopping!r}.", path="early_stopping")
    from hyperjob.strategies.registry import normalize_strategy_name

    strategy = normalize_strategy_name(strategy)
    if strategy == "hyperband":
        if early == "auto":
            raise SpecError(
                "early_stopping 'auto' cannot be used with the 'hyperband' strategy, which stops training jobs "
                "itself (SageMaker's rule). Pass early_stopping='off', or use another strategy.",
                path="early_stopping",
            )
        from hyperjob.strategies.hyperband import resolve_settings

        resolve_settings(search_space, dict(strategy_settings or {}))
    if callable(train):
        program = Program(function=train)
    elif isinstance(train, str):
        raise SpecError(
            f"train must be a function or a list of arguments, got the string {train!r}. Commands are never run "
            "through a shell: write it as a list, e.g. ['python', 'train.py'].",
            path="train",
        )
    else:
        argv = tuple(str(a) for a in train)
        if not argv:
            raise SpecError("train is an empty command. Give e.g. ['python', 'train.py'].", path="train")
        program = Program(command=argv, working_dir=os.getcwd())
    defs: tuple[MetricDefinition, ...] = ()
    if metric_definitions:
        items = metric_definitions.items() if isinstance(metric_definitions, Mapping) else metric_definitions
        defs = tuple(MetricDefinition(n, r) for n, r in items)
    if resume and not name:
        raise SpecError("resume=True needs the name of the tuning job to continue.", path="name")
    name = name or "tune-" + _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")[:-3]
    warm = _warm_start_json(warm_start)
    from hyperjob.tuner.warm_start import space_to_json
    plan = TuningPlan(
        name=name,
        space=search_space,
        objective=Objective(objective, Direction.MAXIMIZE if maximize else Direction.MINIMIZE),
        program=program,
        metric_definitions=defs,
        strategy=strategy,
        strategy_settings=dict(strategy_settings or {}),
        early_stopping=early,
        max_jobs=max_jobs,
        max_parallel_jobs=max_parallel_jobs,
        max_runtime_s=max_runtime_s,
        timeout_s=timeout_s,
        max_failed_jobs=max_failed_jobs,
        target_value=target_value,
        max_jobs_not_improving=max_jobs_not_improving,
        seed=seed,
        output_dir=Path(output_dir),
        spec_json={
            "name": name,
            "objective": {"metric": objective, "type": "maximize" if maximize else "minimize"},
            "strategy": {"name": strategy, **({"settings": dict(strategy_settings)} if strategy_settings else {})},
            "early_stopping": early,
            "limits": {"max_jobs": max_jobs, "max_parallel_jobs": max_parallel_jobs},
            "python_api": True,
            **space_to_json(search_space),
            **({"warm_start": warm} if warm else {}),
        },
        parents=tuple(warm["parents"]) if warm else (),
    )
    store_url = store or str(Path(output_dir) / "hyperjob.db")
    db = open_store(store_url)
    listener = None
    if progress:
        from hyperjob.cli.progress import ProgressListener

        listener = ProgressListener(plan)
    try:
        outcome = Tuner(plan, db, listener=listener).run(resume=resume)
    finally:
        db.close()
    return result_from_outcome(outcome, plan.space, store_url)


def _warm_start_json(warm_start: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``{"parents": [...], "type": ...}`` from the ``warm_start`` argument (the rules are checked by the Tuner)."""
    if warm_start is None:
        return None
    from hyperjob.errors import WarmStartError

    if not isinstance(warm_start, Mapping) or "parents" not in warm_start:
        raise WarmStartError(
            f"warm_start must be a dict with 'parents' (and 'type'), got {warm_start!r}. Write e.g. "
            "{'parents': ['my-earlier-job'], 'type': 'identical_data_and_algorithm'}.",
            path="warm_start",
        )
    parents = warm_start["parents"]
    if isinstance(parents, str) or not isinstance(parents, Sequence) or not all(isinstance(p, str) for p in parents):
        raise WarmStartError(
            f"warm_start['parents'] must be a list of tuning job names, got {parents!r}. Write e.g. ['job-a'].",
            path="warm_start.parents",
        )
    unknown = sorted(set(warm_start) - {"parents", "type"})
    if unknown:
        raise WarmStartError(
            f"warm_start has the unknown key {unknown[0]!r}. Use 'parents' and 'type'.", path=f"warm_start.{unknown[0]}"
        )
    raw_type = str(warm_start.get("type", "identical_data_and_algorithm"))
    key = "".join(ch for ch in raw_type.lower() if ch.isalpha())
    kind = {"identicaldataandalgorithm": "identical_data_and_algorithm",
            "transferlearning": "transfer_learning"}.get(key, raw_type)
    return {"parents": list(parents), "type": kind}


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
