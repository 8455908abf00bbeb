"""Completion criteria: when a tuning job has done enough (SageMaker's three, plus our limits).

All three look at completed training jobs with an objective value, in the order they completed:

- **Target reached**: a value at least as good as ``target_value``.
- **Best not improving**: the best value has not improved by at least 1 % for ``max_jobs_not_improving``
  consecutive completed training jobs. "Improved by 1 %" means better than the previous best by at least
  ``0.01 * |previous best|`` (any improvement counts when the previous best is 0).
- **Convergence** (``convergence: auto``; SageMaker leaves its rule unstated, this one is ours): with at least
  ``CONVERGENCE_MIN_JOBS`` completed training jobs, the tuning job has converged when the best value over the
  last ``w = max(CONVERGENCE_MIN_WINDOW, completed // 4)`` completed jobs improved the previous best by less
  than ``CONVERGENCE_TOLERANCE`` (0.1 %) of the spread of all values seen (max - min). The window grows with
  the tuning job, so a long job needs a long flat stretch before it stops.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hyperjob.records import Objective

IMPROVEMENT_FRACTION = 0.01
CONVERGENCE_MIN_JOBS = 10
CONVERGENCE_MIN_WINDOW = 5
CONVERGENCE_TOLERANCE = 1e-3


@dataclass
class CompletionTracker:
    """Follows completed objective values and says when a completion criterion is met."""

    objective: Objective
    target_value: float | None = None
    max_jobs_not_improving: int | None = None
    convergence: bool = False
    values: list[float] = field(default_factory=list)
    best: float | None = None
    #: consecutive completed training jobs without a 1 % improvement
    not_improving: int = 0

    def add(self, value: float) -> str | None:
        """Record a completed training job's objective value; return the reason to complete, if any."""
        loss = self.objective.loss(value)
        if self.best is None:
            self.not_improving = 0
        else:
            best_loss = self.objective.loss(self.best)
            needed = IMPROVEMENT_FRACTION * abs(best_loss)
            improved_enough = (best_loss - loss) >= needed if needed > 0 else loss < best_loss
            self.not_improving = 0 if improved_enough else self.not_improving + 1
        if self.best is None or self.objective.is_better(value, self.best):
            self.best = value
        self.values.append(value)
        return self.reason()

    def reason(self) -> str | None:
        if self.target_value is not None and self.best is not None:
            if self.objective.loss(self.best) <= self.objective.loss(self.target_value):
                return (
                    f"TargetObjectiveMetricValue reached: {self.objective.metric} = {self.best:g} "
                    f"({'>=' if self.objective.maximize else '<='} {self.target_value:g})"
                )
        if self.max_jobs_not_improving is not None and self.not_improving >= self.max_jobs_not_improving:
            return (
                f"BestObjectiveNotImproving: the best {self.objective.metric} ({self.best:g}) did not improve by "
                f"1% or more for {self.not_improving} training jobs"
            )
        if self.convergence and self.converged():
            return f"ConvergenceDetected: the best {self.objective.metric} ({self.best:g}) stopped improving"
        return None

    def converged(self) -> bool:
        n = len(self.values)
        if n < CONVERGENCE_MIN_JOBS:
            return False
        window = max(CONVERGENCE_MIN_WINDOW, n // 4)
        losses = [self.objective.loss(v) for v in self.values]
        before = min(losses[:-window]) if n > window else None
        if before is None:
            return False
        recent = min(losses[-window:])
        spread = max(losses) - min(losses)
        if spread <= 0:
            return True
        return (before - recent) < CONVERGENCE_TOLERANCE * spread
