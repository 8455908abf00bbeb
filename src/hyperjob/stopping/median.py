"""Early stopping ``auto``: SageMaker's median rule, exactly.

SageMaker's "Stop Training Jobs Early" page (How Early Stopping Works) evaluates each training job so:

    - After each epoch of training, get the value of the objective metric.
    - Compute the running average of the objective metric for all previous training jobs up to the same
      epoch, and then compute the median of all of the running averages.
    - If the value of the objective metric for the current training job is worse (higher when minimizing or
      lower when maximizing the objective metric) than the median value of running averages of the objective
      metric for previous training jobs up to the same epoch, SageMaker stops the current training job.

The points that text leaves open are decided here, in :meth:`MedianStopper.decide` and nowhere else
(``docs/early-stopping.md`` has the table):

- **Previous** training jobs are those created before this one (a lower index), in any state: running,
  completed, stopped or failed. With parallel training jobs an earlier one that is still running counts with
  the values it has reported when the decision is made; a later one never counts, even if it is further on.
- An earlier job **reached** step ``t`` when it reported a value at ``t`` or later; its **running average up to
  step t** is the mean of its values at steps ``<= t``. Stopped and failed jobs count with what they reported.
- **No earlier job reached the step**: there is no median; the job goes on (no decision).
- **Worse** is strictly worse: a value equal to the median goes on. The median of an even number of running
  averages is the mean of the middle two.
- The rule judges from the first value: ``early_stopping: auto`` has no warm-up. A warm-up is a setting that
  must be asked for (:class:`~hyperjob.stopping.base.MedianRule`: ``min_jobs`` earlier jobs at the step,
  ``grace_values`` first values not judged).

Example:
    >>> from hyperjob.records import Direction, Objective
    >>> stopper = MedianStopper(Objective("accuracy", Direction.MAXIMIZE))
    >>> stopper.decide("job-0", 0, 1, 0.5) is None           # no earlier training job: no median, it goes on
    True
    >>> stopper.decide("job-1", 1, 1, 0.4).action.value      # judged from its first value: 0.4 < 0.5
    'stop'
    >>> for step, value in enumerate([0.6, 0.8], start=1):
    ...     stopper.record("job-2", 2, step, value)
    >>> stopper.decide("job-0", 0, 2, 0.7) is None           # job-2 is later than job-0: it never counts
    True
    >>> stopper.decide("job-3", 3, 1, 0.5).action.value      # running averages 0.5, 0.4, 0.6: median 0.5, a tie
    'continue'
    >>> stopper.decide("job-3", 3, 2, 0.61).action.value     # at step 2: 0.6 (job-0), 0.7 (job-2): median 0.65
    'stop'
    >>> warm = MedianStopper(Objective("accuracy", Direction.MAXIMIZE), MedianRule(min_jobs=3, grace_values=1))
    >>> warm.record("job-0", 0, 1, 0.5)
    >>> warm.decide("job-1", 1, 1, 0.1) is None              # a warm-up asked for: its first value is not judged
    True
    >>> warm.decide("job-1", 1, 2, 0.1) is None              # ... nor a step fewer than 3 earlier jobs reached
    True
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from hyperjob.records import Objective
from hyperjob.stopping.base import Action, Decision, MedianRule


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
    """SageMaker's median rule (module docstring), with an optional warm-up.

    Args:
        objective: the objective (its direction decides what "worse" means).
        rule: the rule's settings, already validated (the spec's ``early_stopping``); ``None``: SageMaker's rule
            exactly (``MedianRule()``: one earlier training job at the step suffices, the first value is judged).
    """

    def __init__(self, objective: Objective, rule: MedianRule | None = None) -> None:
        self.objective = objective
        self.rule = MedianRule() if rule is None else rule
        #: how messages name the rule (``early stopping 'auto'``, or the rule with its warm-up)
        self.name = self.rule.name
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
        """Record the value and apply the rule.

        Args:
            training_job_id: the training job.
            index: its creation order (0 for the first training job): lower indexes are the "previous" jobs.
            step: the step (resource, epochs done) of the value.
            value: the objective's value at that step.

        Returns:
            ``STOP`` when the value is strictly worse than the median of the earlier training jobs' running
            averages at ``step``, else ``CONTINUE``; ``None`` when the rule does not act: no earlier job reached
            the step (no median), a NaN value, or a warm-up asked for in :class:`MedianRule` (too few earlier
            jobs, one of the job's first ``grace_values`` values).
        """
        self.record(training_job_id, index, step, value)
        if math.isnan(value):
            return None
        curve = self._curves[training_job_id]
        if len(curve.steps) <= self.rule.grace_values:
            return None
        averages = [
            avg
            for other_id, other in self._curves.items()
            if other.index < index and other_id != training_job_id
            and (avg := other.running_average(step)) is not None
        ]
        if not averages or len(averages) < self.rule.min_jobs:  # no earlier job reached the step: no median
            return None
        median = float(np.median(averages))
        worse = self.objective.is_better(median, value)  # strictly: a value equal to the median goes on
        what = "early stopping (auto)" if self.rule.exact else self.name
        if worse:
            reason = (
                f"{what}: at step {step} the objective {value:.6g} was worse than {median:.6g}, "
                f"the median of the running averages of {len(averages)} earlier training jobs at that step"
            )
        else:
            reason = (
                f"{what}: at step {step} the objective {value:.6g} was not worse than the median "
                f"{median:.6g} of {len(averages)} earlier training jobs"
            )
        return Decision(
            Action.STOP if worse else Action.CONTINUE, "median", int(step), float(value), median,
            len(averages), reason=reason,
        )


__all__ = ["MedianRule", "MedianStopper"]
