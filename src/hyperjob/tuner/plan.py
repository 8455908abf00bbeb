"""A tuning job, resolved: what the Tuner needs, built from its spec (:meth:`TuningPlan.from_spec`), whichever way
the user declared it (a spec file, or a Python call read into a spec by :mod:`hyperjob.formats.python_api`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from hyperjob.errors import SpecError
from hyperjob.outcomes import Outcomes
from hyperjob.records import MetricDefinition, Objective, Program
from hyperjob.space import SearchSpace
from hyperjob.stopping.base import MedianRule

if TYPE_CHECKING:  # pragma: no cover
    from hyperjob.formats.spec import TuningJobSpec


@dataclass(frozen=True)
class TuningPlan:
    """Everything the Tuner needs to run one tuning job.

    Attributes:
        name: the tuning job's name (unique in its store).
        space: tuned ranges and static hyperparameters (tiers already applied for the budget).
        objective: the objective metric and its direction.
        program: the training program (a command, or a Python callable).
        metric_definitions: regexes that read metrics from the program's log lines.
        strategy: strategy name (``bayesian``, ``random``, ``grid``) and its settings.
        max_jobs: training jobs to run in total (the budget).
        max_parallel_jobs: training jobs running at once.
        max_runtime_s: wall-clock limit of the whole tuning job, counted across resumes.
        timeout_s: wall-clock limit of each training job.
        max_failed_jobs: the tuning job fails once this many training jobs failed (``None``: the first
            ``min(max_jobs, max(3, max_parallel_jobs))`` training jobs all failing stops it).
        target_value: stop as soon as a training job reaches this objective value.
        max_jobs_not_improving: stop when the best objective has not improved by at least 1 % over this many
            consecutive completed training jobs (>= 3).
        convergence: stop when convergence is detected (rule in ``hyperjob.tuner.completion``).
        seed: random seed of the strategy.
        output_dir: where training-job directories go (``<output_dir>/<name>/<training job>/``).
        early_stopping: the median rule's settings (``MedianRule()``: early stopping ``auto``), or ``None`` (off).
        grace_period_s: SIGTERM-to-SIGKILL delay when stopping a training job.
        spec_json: the spec as JSON-able data (``TuningJobSpec.to_json``), kept in the store; ``None`` only for
            a plan built by hand (tests).
        warnings: things the user should be told once (unknown fields, features not run yet).
    """

    name: str
    space: SearchSpace
    objective: Objective
    program: Program
    metric_definitions: tuple[MetricDefinition, ...] = ()
    strategy: str = "bayesian"
    strategy_settings: Mapping[str, Any] = field(default_factory=dict)
    max_jobs: int = 10
    max_parallel_jobs: int = 1
    max_runtime_s: float | None = None
    timeout_s: float | None = None
    max_failed_jobs: int | None = None
    #: epochs (resource units) all training jobs may train together (hyperjob.tuner.budget); None: no such limit
    resource_budget: int | None = None
    #: where training jobs run and what each needs (the spec's ExecutorSpec and ResourcesSpec; None: local, 1 CPU)
    executor: Any = None
    resources: Any = None
    max_retry_attempts: int = 0  # a training job whose node was lost runs again at most this many times
    target_value: float | None = None
    max_jobs_not_improving: int | None = None
    convergence: bool = False
    seed: int | None = None
    output_dir: Path = Path("hyperjob-runs")
    early_stopping: MedianRule | None = None
    #: evaluation periods (hyperjob.formats.periods): each configuration is one training job per period, and
    #: ``max_jobs`` counts training jobs (the spec's ``limits.max_jobs`` times the periods)
    periods: tuple[Any, ...] = ()
    results: Any = None  # the spec's ResultsSpec: the results CSV written as training jobs end (hyperjob.results)
    grace_period_s: float = 10.0
    spec_json: Mapping[str, Any] | None = None
    parents: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    #: the objectives (the first is ``objective``) and outcome constraints; ``None``: ``objective`` alone
    outcomes: Outcomes | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.max_jobs, int) or self.max_jobs < 1:
            raise SpecError(f"max_jobs must be a whole number >= 1, got {self.max_jobs!r}.", path="limits.max_jobs")
        if not isinstance(self.max_parallel_jobs, int) or self.max_parallel_jobs < 1:
            raise SpecError(
                f"max_parallel_jobs must be a whole number >= 1, got {self.max_parallel_jobs!r}.",
                path="limits.max_parallel_jobs",
            )
        if self.max_jobs_not_improving is not None and self.max_jobs_not_improving < 3:
            raise SpecError(
                f"max_jobs_not_improving must be at least 3 (SageMaker's rule), got {self.max_jobs_not_improving!r}.",
                path="completion.max_jobs_not_improving",
            )
        for what in ("max_runtime_s", "timeout_s"):
            v = getattr(self, what)
            if v is not None and (not isinstance(v, (int, float)) or v <= 0 or math.isnan(v)):
                raise SpecError(f"{what} must be a positive number of seconds, got {v!r}.", path=f"limits.{what}")
        object.__setattr__(self, "output_dir", Path(self.output_dir))
        if self.outcomes is None:
            object.__setattr__(self, "outcomes", Outcomes.single(self.objective))

    @property
    def fail_fast_window(self) -> int:
        """The first this-many training jobs all failing stops the tuning job."""
        return min(self.max_jobs, max(3, self.max_parallel_jobs))

    @classmethod
    def from_spec(cls, spec: "TuningJobSpec", function: Callable[..., Any] | None = None) -> "TuningPlan":
        """Resolve a validated spec (``hyperjob.formats``) into a plan.

        Args:
            spec: the tuning job.
            function: the training function, when the spec's program is one (``program.function`` names it;
                a spec cannot hold the callable itself); ``None`` for a command or an algorithm.

        Raises:
            SpecError: a function program without its callable, or a callable for a command.
        """
        limits = spec.limits
        completion = spec.completion
        from hyperjob.formats.periods import resolve_periods

        periods = resolve_periods(spec)
        parents: tuple[str, ...] = ()
        if spec.warm_start is not None:
            parents = tuple(spec.warm_start.parents)
        return cls(
            name=spec.name,
            space=spec.build_space(),
            objective=spec.build_objective(),
            program=spec.build_program(function),
            metric_definitions=tuple(spec.build_metric_definitions()),
            strategy=spec.strategy.name,
            strategy_settings=dict(spec.strategy.settings),
            max_jobs=int(limits.max_jobs) * max(1, len(periods)),
            max_parallel_jobs=int(limits.max_parallel_jobs),
            max_runtime_s=limits.max_runtime_s,
            timeout_s=limits.timeout_s,
            max_failed_jobs=limits.max_failed_jobs,
            resource_budget=limits.resource_budget,
            executor=spec.executor,
            resources=spec.resources,
            max_retry_attempts=spec.retry.max_retry_attempts,
            target_value=completion.target_value,
            max_jobs_not_improving=completion.max_jobs_not_improving,
            convergence=completion.convergence == "auto",
            seed=spec.random_seed,
            output_dir=Path(spec.output_dir),
            early_stopping=spec.build_early_stopping(),
            periods=periods,
            results=spec.results,
            spec_json=spec.to_json(),
            parents=parents,
            warnings=tuple(spec.warnings),
            outcomes=spec.build_outcomes(),
        )
