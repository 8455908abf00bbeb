"""The rungs of the ``hyperband`` strategy: asynchronous successive halving (ASHA) with brackets.

The resource is what the training program reports as the step of the objective (epochs by default). With
``min_resource`` r, ``max_resource`` R and the reduction factor η (default 3):

- **Brackets.** Bracket ``b`` (0 = the most aggressive) has its rungs at r·η^b, r·η^(b+1), ... below R. A
  training job is given a bracket when it is created, drawn with Hyperband's proportions (bracket ``b`` gets
  about ⌈(s+1)⁻¹(s_max+1)·η^s⌉ of the configurations, s = s_max - b, s_max = ⌊log_η(R/r)⌋) from the seed and
  the training job's index, so a resumed tuning job gives the same brackets. ``brackets: 1`` (the default) is
  plain ASHA: every training job starts at r.
- **Rungs (the stopping variant of ASHA, as SageMaker's Hyperband).** When a training job first reports a
  step >= a rung's level, its value is recorded at that rung. It goes on if the value is among the best
  ⌈n/η⌉ of the n values recorded at that rung of its bracket (itself included; ties go on), else it is
  stopped. The first training job at a rung always goes on; later ones must beat the cut-off. Training jobs
  are never paused and resumed: a job that goes on simply keeps training, so no checkpoints are needed.
- **Never before min_resource, always at max_resource.** The first rung is at r·η^b >= r, and a training job
  that reports a step >= R is stopped there, unless its program ends at R by itself (its epochs
  hyperparameter is <= R), in which case it is left to complete.

Every decision at a rung (go on or stop) is returned as a :class:`~hyperjob.stopping.base.Decision`; the Tuner
writes it to the store before acting, and :meth:`RungStopper.restore` rebuilds the rungs from those records
on resume.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hyperjob.errors import SpecError
from hyperjob.records import Objective
from hyperjob.stopping.base import Action, Decision

_BRACKET_STREAM = 7


def check_whole(name: str, value: object, low: int) -> None:
    """A hyperband setting must be a whole number >= ``low``; SpecError at ``strategy.settings.<name>``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise SpecError(
            f"{name} must be a whole number >= {low}, got {value!r}. "
            + ("It is the factor by which each rung thins the training jobs, e.g. 3."
               if name == "reduction_factor" else "It is a number of epochs (or other resource units)."),
            path=f"strategy.settings.{name}",
        )


@dataclass(frozen=True)
class RungLadder:
    """The rung levels of every bracket and the bracket of every training job.

    Args:
        min_resource: r, the first rung of bracket 0 (>= 1).
        max_resource: R, where every training job ends (> r).
        reduction_factor: η (an integer >= 2): one in η goes on at each rung.
        brackets: how many brackets (1 .. s_max + 1); 1 is plain ASHA.
        seed: draws the brackets.
    """

    min_resource: int
    max_resource: int
    reduction_factor: int = 3
    brackets: int = 1
    seed: int = 0
    _levels: tuple[tuple[int, ...], ...] = field(init=False, repr=False, compare=False)
    _weights: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        r, R, eta = self.min_resource, self.max_resource, self.reduction_factor
        base = "strategy.settings"
        for name, v, low in (("min_resource", r, 1), ("max_resource", R, 2), ("reduction_factor", eta, 2)):
            check_whole(name, v, low)
        if r >= R:
            raise SpecError(
                f"max_resource must be greater than min_resource, got min_resource={r}, max_resource={R}. "
                "Raise max_resource or lower min_resource.",
                path=f"{base}.max_resource",
            )
        s_max = self.s_max
        if isinstance(self.brackets, bool) or not isinstance(self.brackets, (int, np.integer)) \
                or not 1 <= self.brackets <= s_max + 1:
            raise SpecError(
                f"brackets must be a whole number from 1 to {s_max + 1} (with min_resource={r}, max_resource={R} "
                f"and reduction_factor={eta}), got {self.brackets!r}. Use 1 for plain ASHA.",
                path=f"{base}.brackets",
            )
        levels = []
        for b in range(self.brackets):
            rungs, level = [], r * eta**b
            while level < R:
                rungs.append(int(level))
                level *= eta
            levels.append(tuple(rungs))
        object.__setattr__(self, "_levels", tuple(levels))
        n = np.array([math.ceil((s_max + 1) / (s + 1) * eta**s) for s in range(s_max, s_max - self.brackets, -1)],
                     dtype=float)
        object.__setattr__(self, "_weights", n / n.sum())

    @property
    def s_max(self) -> int:
        """The largest number of halvings: ⌊log_η(R/r)⌋."""
        ratio, s = self.max_resource / self.min_resource, 0
        while self.reduction_factor ** (s + 1) <= ratio * (1 + 1e-12):
            s += 1
        return s

    def levels(self, bracket: int) -> tuple[int, ...]:
        """The rung levels of ``bracket``, ascending, all below ``max_resource``."""
        return self._levels[bracket]

    def bracket(self, index: int) -> int:
        """The bracket of the training job with this index: a pure function of (seed, index)."""
        if self.brackets == 1:
            return 0
        rng = np.random.default_rng([self.seed, _BRACKET_STREAM, int(index)])
        return int(rng.choice(self.brackets, p=self._weights))


class RungStopper:
    """Decides at each rung whether a training job goes on (module docstring).

    Args:
        ladder: the rungs and brackets.
        objective: the objective (its direction decides what "best" means).
        ends_at: the resource at which the training program ends by itself (its epochs hyperparameter), if
            known; when it is <= ``max_resource`` the job is not stopped at ``max_resource``, it completes.
    """

    #: how messages name the rule
    name = "hyperband"

    def __init__(self, ladder: RungLadder, objective: Objective, *, ends_at: int | None = None) -> None:
        self.ladder = ladder
        self.objective = objective
        self.ends_at = ends_at
        #: (bracket, level) -> training job id -> value recorded there
        self.rungs: dict[tuple[int, int], dict[str, float]] = {}
        self._passed: dict[str, int] = {}  # training job -> how many of its bracket's rungs it has passed
        self._at_max: set[str] = set()

    def restore(self, training_job_id: str, decision: Decision) -> None:
        """Put back a rung decision read from the store (resume)."""
        if decision.rule != "rung" or decision.rung is None or decision.bracket is None:
            return
        if math.isnan(decision.value):
            return
        self.rungs.setdefault((decision.bracket, decision.rung), {})[training_job_id] = decision.value
        levels = self.ladder.levels(decision.bracket)
        if decision.rung in levels:
            passed = levels.index(decision.rung) + 1
            self._passed[training_job_id] = max(self._passed.get(training_job_id, 0), passed)

    def forget(self, training_job_id: str) -> None:
        """Drop a training job from every rung (it runs again from the start)."""
        for values in self.rungs.values():
            values.pop(training_job_id, None)
        self._passed.pop(training_job_id, None)
        self._at_max.discard(training_job_id)

    def record(self, training_job_id: str, index: int, step: int, value: float) -> None:
        """Record a value without deciding (the decisions are dropped)."""
        self.decide(training_job_id, index, step, value)

    def decide(self, training_job_id: str, index: int, step: int, value: float) -> Decision | None:
        """Record the value at every rung it reaches for the first time; decide there. ``None`` between rungs."""
        if math.isnan(value):
            return None
        bracket = self.ladder.bracket(index)
        levels = self.ladder.levels(bracket)
        passed = self._passed.get(training_job_id, 0)
        decision: Decision | None = None
        while passed < len(levels) and step >= levels[passed]:
            level = levels[passed]
            values = self.rungs.setdefault((bracket, level), {})
            values[training_job_id] = value
            passed += 1
            self._passed[training_job_id] = passed
            decision = self._at_rung(bracket, level, step, value, values)
            if decision.stop:
                return decision
        R = self.ladder.max_resource
        if step >= R and training_job_id not in self._at_max and (self.ends_at is None or self.ends_at > R):
            self._at_max.add(training_job_id)
            return Decision(
                Action.STOP, "max_resource", int(step), float(value), None, 0, None, bracket,
                f"hyperband: reached max_resource {R} (step {step}); the objective was {value:.6g}",
            )
        return decision

    def _at_rung(self, bracket: int, level: int, step: int, value: float, values: dict[str, float]) -> Decision:
        eta = self.ladder.reduction_factor
        n = len(values)
        keep = math.ceil(n / eta)
        ranked = sorted(values.values(), key=self.objective.loss)
        cutoff = ranked[keep - 1]
        goes_on = self.objective.loss(value) <= self.objective.loss(cutoff)
        where = f"rung {level}" + (f" of bracket {bracket}" if self.ladder.brackets > 1 else "")
        if goes_on:
            reason = (
                f"hyperband: at {where} (step {step}) the objective {value:.6g} is among the best {keep} of {n} "
                f"(cut-off {cutoff:.6g}): goes on"
            )
        else:
            reason = (
                f"hyperband: at {where} (step {step}) the objective {value:.6g} was not among the best {keep} of "
                f"the {n} training jobs that reached it (1 in {eta} goes on; cut-off {cutoff:.6g})"
            )
        return Decision(
            Action.CONTINUE if goes_on else Action.STOP, "rung", int(step), float(value), float(cutoff), n,
            level, bracket, reason,
        )


__all__ = ["RungLadder", "RungStopper", "check_whole"]
