"""Hyperband with promotions (ASHA that pauses and resumes) against a reference written from the paper."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hyperjob import AskTell
from hyperjob.errors import SpecError
from hyperjob.records import Direction, Objective
from hyperjob.stopping.base import Action
from hyperjob.stopping.promotions import PromotionStopper
from hyperjob.stopping.rungs import RungLadder

RUNGS = (1, 3, 9)
MAX = 27
ETA = 3


def _curve(x: float, t: int) -> float:
    """A loss that falls with epochs, whose final order is not the order at the first epoch."""
    return (x - 0.3) ** 2 + 0.4 * math.sin(9 * x) ** 2 / t + 0.5 / t


class ReferenceAsha:
    """Li et al. 2020, Algorithm 2 (promotion-based ASHA, one bracket), minimizing; rungs RUNGS, then MAX."""

    def __init__(self) -> None:
        self.rungs: dict[int, dict[int, float]] = {r: {} for r in RUNGS}
        self.promoted: dict[int, set[int]] = {r: set() for r in RUNGS}

    def get_job(self) -> tuple[str, int | None]:
        for k in reversed(RUNGS):
            values = self.rungs[k]
            top = sorted(values, key=lambda j: (values[j], j))[: len(values) // ETA]
            candidates = [j for j in top if j not in self.promoted[k]]
            if candidates:
                self.promoted[k].add(candidates[0])
                return "promote", candidates[0]
        return "new", None

    def report(self, job: int, rung: int, value: float) -> None:
        self.rungs[rung][job] = value


def _run(n_asks: int, seed: int) -> tuple[list[tuple[str, int | None]], list[tuple[str, int | None]], dict[int, list[int]]]:
    at = AskTell({"x": {"type": "continuous", "min_value": 0.0, "max_value": 1.0}}, objective="loss",
                 strategy="hyperband", seed=seed, min_resource=1, max_resource=MAX, model="random", promotions=True)
    ref = ReferenceAsha()
    ours, theirs = [], []
    trained: dict[int, list[int]] = {}
    for _ in range(n_asks):
        theirs.append(ref.get_job())
        s = at.ask()
        ours.append(("new", None) if s.resume_from is None else ("promote", s.id))
        epochs = trained.setdefault(s.id, [])
        assert (s.resume_from or 0) == len(epochs), "a resumed job starts where it paused"
        for t in range((s.resume_from or 0) + 1, MAX + 1):
            epochs.append(t)
            value = _curve(s.config["x"], t)
            result = at.tell(s, value, step=t)
            if t in RUNGS:
                ref.report(s.id, t, value)
            if result.stop:
                assert t == s.until, f"paused or stopped at {t}, told it would be {s.until}"
                assert result.pause == (t < MAX)
                break
    return ours, theirs, trained


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_promotions_equal_the_reference_asha_decision_by_decision(seed: int) -> None:
    ours, theirs, trained = _run(150, seed)
    assert ours == theirs
    promotions = sum(1 for kind, _ in ours if kind == "promote")
    assert promotions > 30  # the comparison covers many promotions, at every rung
    for epochs in trained.values():  # no epoch trained twice, none skipped
        assert epochs == list(range(1, len(epochs) + 1))
    assert max(len(e) for e in trained.values()) == MAX


def test_promotion_saves_epochs_over_the_stop_only_rule() -> None:
    """The stop-only rule trains the first jobs to the end; with promotions the same budget reaches further."""
    _, _, trained = _run(120, 0)
    at = AskTell({"x": {"type": "continuous", "min_value": 0.0, "max_value": 1.0}}, objective="loss",
                 strategy="hyperband", seed=0, min_resource=1, max_resource=MAX, model="random")
    spent = 0
    for _ in range(120):
        s = at.ask()
        for t in range(1, MAX + 1):
            spent += 1
            if at.tell(s, _curve(s.config["x"], t), step=t).stop:
                break
    assert sum(len(e) for e in trained.values()) < spent


def _stopper(can_pause=None) -> PromotionStopper:
    return PromotionStopper(RungLadder(1, MAX, ETA), Objective("loss", Direction.MINIMIZE), can_pause=can_pause)


def test_a_job_without_a_checkpoint_falls_back_to_the_stop_only_rule() -> None:
    stopper = _stopper(can_pause=lambda job: job != "b")
    first = stopper.decide("a", 0, 1, 0.5)
    assert first.action is Action.PAUSE and first.rung == 1
    fallback = stopper.decide("b", 1, 1, 0.4)  # the best at rung 1: goes on, not paused
    assert fallback.action is Action.CONTINUE and "no checkpoint" in fallback.reason
    assert stopper.decide("b", 1, 2, 0.3) is None  # between rungs, it trains on
    later = stopper.decide("b", 1, 3, 0.3)
    assert later.action is Action.CONTINUE and later.rung == 3
    worse = stopper.decide("c", 2, 1, 0.9)
    assert worse.action is Action.PAUSE  # c can pause: paused even though it is the worst
    assert "b" not in stopper.paused and set(stopper.paused) == {"a", "c"}


def test_restore_rebuilds_pauses_and_promotions() -> None:
    live = _stopper()
    decisions = []
    for i, v in enumerate([0.5, 0.2, 0.9, 0.4, 0.1, 0.7]):
        decisions.append((str(i), live.decide(str(i), i, 1, v)))
    promoted = live.promotable()
    assert promoted == ["4", "1"]  # floor(6 / 3) = 2 of rung 1, the best first
    decisions.append(("4", live.promote("4")))
    decisions.append(("4", live.decide("4", 4, 3, 0.05)))
    fresh = _stopper()
    for job, decision in decisions:
        fresh.restore(job, decision)
    assert fresh.promotable() == live.promotable() == ["1"]
    assert fresh.paused.keys() == live.paused.keys()
    assert fresh.granted == live.granted


def test_promotions_must_be_a_boolean() -> None:
    with pytest.raises(SpecError) as info:
        AskTell({"x": {"min_value": 0.0, "max_value": 1.0}}, objective="loss", strategy="hyperband",
                min_resource=1, max_resource=9, promotions="yes")
    assert info.value.path == "strategy.settings.promotions"


def test_a_paused_suggestion_is_not_pending_and_cannot_be_told() -> None:
    at = AskTell({"x": {"min_value": 0.0, "max_value": 1.0}}, objective="loss", strategy="hyperband", seed=0,
                 min_resource=1, max_resource=9, model="random", promotions=True)
    s = at.ask()
    assert s.until == 1 and s.resume_from is None
    result = at.tell(s, 0.5, step=1)
    assert result.stop and result.pause
    assert at.pending == [] and [p.id for p in at.paused] == [s.id]
    with pytest.raises(SpecError, match="paused"):
        at.tell(s, 0.4, step=2)
    np.testing.assert_equal(len(at.ask(2)), 2)  # nothing promotable yet (1 value at rung 1): two new ones
