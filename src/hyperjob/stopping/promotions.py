"""Hyperband with promotions: asynchronous successive halving that pauses and resumes (ASHA as published).

The ``hyperband`` strategy's default (:mod:`hyperjob.stopping.rungs`) is SageMaker's: a training job that is
among the best at a rung simply goes on. With ``promotions: true`` it is the promotion variant of ASHA (Li et
al., "A System for Massively Parallel Hyperparameter Tuning", MLSys 2020, Algorithm 2):

- **Pause at each rung.** A training job trains up to the next rung of its bracket, reports its value there and
  is *paused* (:attr:`~hyperjob.stopping.base.Action.PAUSE`): stopped after it wrote its checkpoint. Its value
  is recorded at that rung.
- **Promote when a worker is free.** Before a new configuration is started, the rungs are searched from the
  highest down: a paused training job whose value is among the best ⌊n/η⌋ of the n values recorded at its rung
  (of its bracket) and that was not promoted from there yet is *promoted*: resumed from its checkpoint and
  trained to the next rung. Only when no job can be promoted does a new configuration start at the bottom rung.
  So a promoted job trains only the epochs beyond its rung, and the first jobs are not trained to the end
  before anything is known about the others (the weakness of the stop-only variant at small budgets).
- **At max_resource** a promoted job ends as in the stop-only variant (stopped there, or left to complete when
  its program ends there by itself).
- **No checkpoint, no pause.** A training job that cannot be resumed (``can_pause(job)`` is false: the Tuner
  finds no file in its checkpoint folder) falls back to the stop-only rule for the rest of its life: it goes on
  or is stopped at its rungs, as with ``promotions: false``.
- **Ties**: values equal to the ⌊n/η⌋-th best are among the best; among equals the earlier job goes first.

Every pause and promotion is a :class:`~hyperjob.stopping.base.Decision` (``rule`` ``"rung"`` with action
``pause``, and ``"promotion"``), kept in the store before the Tuner acts, and :meth:`PromotionStopper.restore`
rebuilds the paused set and the promotions from them on resume.
"""

from __future__ import annotations

import math
from typing import Callable

from hyperjob.records import Objective
from hyperjob.stopping.base import Action, Decision
from hyperjob.stopping.rungs import RungLadder, RungStopper


class PromotionStopper(RungStopper):
    """ASHA with promotions (module docstring).

    Args:
        ladder: the rungs and brackets.
        objective: the objective (its direction decides what "best" means).
        ends_at: the resource at which the training program ends by itself, if known.
        can_pause: whether a training job can be resumed from a checkpoint (default: every job can).
    """

    name = "hyperband (promotions)"

    def __init__(
        self,
        ladder: RungLadder,
        objective: Objective,
        *,
        ends_at: int | None = None,
        can_pause: Callable[[str], bool] | None = None,
    ) -> None:
        super().__init__(ladder, objective, ends_at=ends_at)
        self.can_pause: Callable[[str], bool] = can_pause or (lambda _job: True)
        #: training job -> (bracket, rung level, index) where it is paused now
        self.paused: dict[str, tuple[int, int, int]] = {}
        #: training job -> the resource it may train to before its next pause (absent: its bracket's first rung)
        self.granted: dict[str, int] = {}
        #: (training job, rung level) it was promoted from
        self.promoted: set[tuple[str, int]] = set()
        #: training jobs without checkpoints: the stop-only rule decides on them
        self.stop_only: set[str] = set()

    # -- decisions on values --------------------------------------------------------------------------------
    def decide(self, training_job_id: str, index: int, step: int, value: float) -> Decision | None:
        """Record the value at the rungs it reaches; pause the job at its granted rung."""
        if math.isnan(value) or training_job_id in self.stop_only:
            return super().decide(training_job_id, index, step, value)
        bracket = self.ladder.bracket(index)
        levels = self.ladder.levels(bracket)
        grant = self.granted.get(training_job_id, levels[0] if levels else self.ladder.max_resource)
        passed = self._passed.get(training_job_id, 0)
        pause_at: int | None = None
        while passed < len(levels) and step >= levels[passed]:
            level = levels[passed]
            self.rungs.setdefault((bracket, level), {})[training_job_id] = value
            passed += 1
            self._passed[training_job_id] = passed
            if level >= grant and pause_at is None:
                pause_at = level
        if pause_at is None:  # between rungs, or beyond the last one: max_resource is the stop-only rule's
            return super().decide(training_job_id, index, step, value)
        values = self.rungs[(bracket, pause_at)]
        if not self.can_pause(training_job_id):  # no checkpoint: the stop-only rule from here on
            self.stop_only.add(training_job_id)
            verdict = self._at_rung(bracket, pause_at, step, value, values)
            return Decision(
                verdict.action, verdict.rule, verdict.step, verdict.value, verdict.threshold, verdict.compared,
                verdict.rung, verdict.bracket,
                verdict.reason + " (no checkpoint to resume from: the stop-only rule decides on this training job)",
            )
        self.paused[training_job_id] = (bracket, pause_at, index)
        n = len(values)
        rank = 1 + sum(1 for v in values.values() if self.objective.loss(v) < self.objective.loss(value))
        where = self._where(bracket, pause_at)
        return Decision(
            Action.PAUSE, "rung", int(step), float(value), None, n, pause_at, bracket,
            f"hyperband: paused at {where} (step {step}) with the objective {value:.6g}, rank {rank} of {n}: it "
            "resumes from its checkpoint if it is promoted",
        )

    # -- promotions -----------------------------------------------------------------------------------------
    def promotable(self) -> list[str]:
        """Paused training jobs that may be promoted now, the first to promote first (highest rung, best value)."""
        eta = self.ladder.reduction_factor
        out: list[str] = []
        keys = sorted(self.rungs, key=lambda k: (-k[1], k[0]))
        for bracket, level in keys:
            values = self.rungs[(bracket, level)]
            keep = len(values) // eta
            if keep == 0:
                continue
            ranked = sorted(values.items(), key=lambda kv: self.objective.loss(kv[1]))  # stable: earlier first
            cutoff = self.objective.loss(ranked[keep - 1][1])
            for job, v in ranked:
                if self.objective.loss(v) > cutoff:
                    break
                where = self.paused.get(job)
                if where is not None and where[:2] == (bracket, level) and (job, level) not in self.promoted:
                    out.append(job)
        return out

    def promote(self, training_job_id: str) -> Decision:
        """Promote a paused training job to the next rung of its bracket (or to max_resource)."""
        bracket, level, _index = self.paused.pop(training_job_id)
        levels = self.ladder.levels(bracket)
        i = levels.index(level)
        target = levels[i + 1] if i + 1 < len(levels) else self.ladder.max_resource
        self.promoted.add((training_job_id, level))
        self.granted[training_job_id] = target
        values = self.rungs[(bracket, level)]
        value = values[training_job_id]
        keep = len(values) // self.ladder.reduction_factor
        return Decision(
            Action.CONTINUE, "promotion", int(level), float(value), None, len(values), target, bracket,
            f"hyperband: promoted from {self._where(bracket, level)} to {target}: its objective {value:.6g} is "
            f"among the best {keep} of {len(values)} there",
        )

    def discard(self, training_job_id: str) -> None:
        """The training job ended for good (never to be promoted): it keeps its values at the rungs."""
        self.paused.pop(training_job_id, None)

    # -- resume and reruns ----------------------------------------------------------------------------------
    def restore(self, training_job_id: str, decision: Decision) -> None:
        """Put back a rung decision, a pause or a promotion read from the store (in the order they were made)."""
        if decision.rule == "promotion" and decision.bracket is not None:
            self.paused.pop(training_job_id, None)
            self.promoted.add((training_job_id, decision.step))
            if decision.rung is not None:
                self.granted[training_job_id] = decision.rung
            return
        super().restore(training_job_id, decision)
        if decision.action is Action.PAUSE and decision.rung is not None and decision.bracket is not None:
            self.paused[training_job_id] = (decision.bracket, decision.rung, -1)

    def forget(self, training_job_id: str) -> None:
        """Drop a training job that runs again from the start."""
        super().forget(training_job_id)
        self.paused.pop(training_job_id, None)
        self.granted.pop(training_job_id, None)
        self.stop_only.discard(training_job_id)
        self.promoted = {p for p in self.promoted if p[0] != training_job_id}

    def _where(self, bracket: int, level: int) -> str:
        return f"rung {level}" + (f" of bracket {bracket}" if self.ladder.brackets > 1 else "")


__all__ = ["PromotionStopper"]
