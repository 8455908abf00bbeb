"""Early stopping ``auto``: SageMaker's median rule.

After each step (epoch) a training job reports its objective. For every *earlier* training job that reached
that step, take the running average of its objective up to that step; take the median of those averages; stop
the job if its current value is worse than that median (in the objective's direction).

The details SageMaker leaves open, decided here (``docs/early-stopping.md``):

- **Earlier** means created before this one (a lower index), whatever its state now: running, completed,
  stopped or failed. A training job that reported values up to step ``t`` "reached" every step up to ``t``.
  Stopped and failed training jobs count with the values they reported; they reached the steps they reached.
- **Running average up to step t**: the mean of the job's values at steps ``<= t`` (a job that reports every
  other epoch averages what it reported).
- **Not before enough data**: the rule acts only when at least ``min_jobs`` (default 3) earlier training jobs
  reached the step, so the first training jobs always run to the end.
- **Not at the first steps**: the rule does not act on a training job's first ``grace_values`` (default 1)
  reported values: the first epoch says little about where a curve ends.
- **Worse** is strictly worse: a value equal to the median goes on.

Example:
    >>> from hyperjob.records import Direction, Objective
    >>> stopper = MedianStopper(Objective("accuracy", Direction.MAXIMIZE))
    >>> for index, curve in enumerate([[0.5, 0.7], [0.6, 0.8], [0.4, 0.6]]):
    ...     for step, value in enumerate(curve, start=1):
    ...         stopper.record(f"job-{index}", index, step, value)
    >>> stopper.decide("job-3", 3, 1, 0.1) is None      # its first value: the rule waits
    True
    >>> stopper.decide("job-3", 3, 2, 0.55).action.value   # running averages 0.6, 0.7, 0.5: median 0.6
    'stop'
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from hyperjob.errors import SpecError
from hyperjob.records import Objective
from hyperjob.stopping.base import Action, Decision

#: Defaults of the rule (see the module docstring).
DEFAULT_MIN_JOBS = 3
DEFAULT_GRACE_VALUES = 1


class _Curve:
    """One training job's objective values by step, with prefix sums for running averages."""

    __slots__ = ("index", "steps", "values", "sums")

    def __init__(self, index: int) -> None:
        self.index = index
        self.steps: list[int] = []
        self.values: list[float] = []
        self.sums: list[float] = []  # sums[i] = values[0] + ... + values[i]

    def add(self, step: int, value: float) -> None:
        if self.steps and step <= self.steps[-1]:
            if step == self.steps[-1]:  # the same step again: the latest value counts
                self.values[-1] = value
                self.sums[-1] = (self.sums[-2] if len(self.sums) > 1 else 0.0) + value
                return
            # out of order (rare): rebuild
            pairs = dict(zip(self.steps, self.values))
            pairs[step] = value
            self.steps, self.values, self.sums = [], [], []
            for s in sorted(pairs):
                self.add(s, pairs[s])
            return
        self.steps.append(step)
        self.values.append(value)
        self.sums.append((self.sums[-1] if self.sums else 0.0) + value)

    def running_average(self, step: int) -> float | None:
        """The mean of the values at steps <= ``step``, or ``None`` if the job did not reach ``step``."""
        if not self.steps or self.steps[-1] < step:
            return None
        n = bisect.bisect_right(self.steps, step)
        if n == 0:
            return None
        return self.sums[n - 1] / n


class MedianStopper:
    """SageMaker's median rule (module docstring).

    Args:
        objective: the objective (its direction decides what "worse" means).
        min_jobs: the rule acts only when at least this many earlier training jobs reached the step (>= 1).
        grace_values: the rule does not act on a training job's first ``grace_values`` values (>= 0).
    """

    #: how messages name the rule
    name = "early stopping 'auto'"

    def __init__(
        self, objective: Objective, *, min_jobs: int = DEFAULT_MIN_JOBS, grace_values: int = DEFAULT_GRACE_VALUES
    ) -> None:
        for name, v, low in (("min_jobs", min_jobs, 1), ("grace_values", grace_values, 0)):
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise SpecError(f"{name} must be an integer >= {low}, got {v!r}.", path=f"early_stopping.{name}")
        self.objective = objective
        self.min_jobs = min_jobs
        self.grace_values = grace_values
        self._curves: dict[str, _Curve] = {}

    def record(self, training_job_id: str, index: int, step: int, value: float) -> None:
        """Record a value without deciding. NaN values are ignored."""
        if math.isnan(value):
            return
        curve = self._curves.get(training_job_id)
        if curve is None:
            curve = self._curves[training_job_id] = _Curve(index)
        curve.add(int(step), float(value))

    def restore(self, training_job_id: str, decision: Decision) -> None:
        """Nothing to put back: the rule decides from the values alone, which come back through :meth:`record`."""

    def forget(self, training_job_id: str) -> None:
        """Drop a training job's values (it runs again from the start)."""
        self._curves.pop(training_job_id, None)

    def decide(self, training_job_id: str, index: int, step: int, value: float) -> Decision | None:
        """Record the value and apply the rule; ``None`` while the rule does not act (too early, too few jobs)."""
        self.record(training_job_id, index, step, value)
        if math.isnan(value):
            return None
        curve = self._curves[training_job_id]
        if len(curve.steps) <= self.grace_values:
            return None
        averages = [
            avg
            for other_id, other in self._curves.items()
            if other.index < index and other_id != training_job_id
            and (avg := other.running_average(step)) is not None
        ]
        if len(averages) < self.min_jobs:
            return None
        median = float(np.median(averages))
        worse = self.objective.is_better(median, value)
        if worse:
            reason = (
                f"early stopping (auto): at step {step} the objective {value:.6g} was worse than {median:.6g}, "
                f"the median of the running averages of {len(averages)} earlier training jobs at that step"
            )
        else:
            reason = (
                f"early stopping (auto): at step {step} the objective {value:.6g} was not worse than the median "
                f"{median:.6g} of {len(averages)} earlier training jobs"
            )
        return Decision(
            Action.STOP if worse else Action.CONTINUE, "median", int(step), float(value), median,
            len(averages), reason=reason,
        )


__all__ = ["DEFAULT_GRACE_VALUES", "DEFAULT_MIN_JOBS", "MedianStopper"]
