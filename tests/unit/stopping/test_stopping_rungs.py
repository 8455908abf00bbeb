"""Hyperband's rungs (ASHA, stopping variant) on hand-made values with known answers."""

from __future__ import annotations

import pytest

from hyperjob.errors import SpecError
from hyperjob.records import Direction, Objective
from hyperjob.stopping.base import Action, Decision
from hyperjob.stopping.rungs import RungLadder, RungStopper

MAX = Objective("acc", Direction.MAXIMIZE)
MIN = Objective("loss", Direction.MINIMIZE)


def test_levels_of_each_bracket():
    ladder = RungLadder(1, 27, 3, brackets=4)
    assert ladder.s_max == 3
    assert [ladder.levels(b) for b in range(4)] == [(1, 3, 9), (3, 9), (9,), ()]
    assert RungLadder(2, 30, 2).levels(0) == (2, 4, 8, 16)


def test_brackets_are_drawn_with_hyperbands_proportions_from_the_seed_and_index():
    ladder = RungLadder(1, 27, 3, brackets=4, seed=5)
    draws = [ladder.bracket(i) for i in range(4000)]
    assert draws == [RungLadder(1, 27, 3, brackets=4, seed=5).bracket(i) for i in range(4000)]  # pure function
    # Hyperband's n_s for s = 3, 2, 1, 0 with eta 3: 27, 12, 6, 4 -> shares 27/49, 12/49, 6/49, 4/49
    for b, share in enumerate([27 / 49, 12 / 49, 6 / 49, 4 / 49]):
        assert draws.count(b) / len(draws) == pytest.approx(share, abs=0.03)
    assert {RungLadder(1, 27, 3).bracket(i) for i in range(50)} == {0}


def test_promotion_keeps_the_best_third_at_each_rung():
    stopper = RungStopper(RungLadder(1, 27, 3), MAX)
    # at rung 1, in arrival order: 0.5 (1 of 1 goes on), 0.4 (best 1 of 2 is 0.5: stop), 0.6 (goes on)
    a = stopper.decide("a", 0, 1, 0.5)
    b = stopper.decide("b", 1, 1, 0.4)
    c = stopper.decide("c", 2, 1, 0.6)
    assert (a.action, b.action, c.action) == (Action.CONTINUE, Action.STOP, Action.CONTINUE)
    assert b.rung == 1 and b.compared == 2 and b.threshold == pytest.approx(0.5) and b.rule == "rung"
    assert "not among the best 1 of the 2 training jobs" in b.reason
    # a 4th value: ceil(4/3) = 2 go on; values 0.5, 0.4, 0.6, 0.55 -> cut-off 0.55 (the 2nd best): goes on
    d = stopper.decide("d", 3, 1, 0.55)
    assert d.action is Action.CONTINUE and d.threshold == pytest.approx(0.55)
    # between rungs: no decision
    assert stopper.decide("a", 0, 2, 0.7) is None
    # rung 3 is a separate competition
    assert stopper.decide("a", 0, 3, 0.7).action is Action.CONTINUE
    assert stopper.decide("c", 2, 3, 0.65).action is Action.STOP


def test_minimizing_and_a_jump_over_several_rungs():
    stopper = RungStopper(RungLadder(1, 27, 3), MIN)
    stopper.decide("a", 0, 1, 1.0)
    # b reports first at step 10: it reaches rungs 1, 3 and 9 at once; at rung 1 (1.0 vs 2.0) it loses
    d = stopper.decide("b", 1, 10, 2.0)
    assert d.action is Action.STOP and d.rung == 1
    e = stopper.decide("c", 2, 10, 0.5)  # wins rungs 1, 3 and 9: the last decision is rung 9's
    assert e.action is Action.CONTINUE and e.rung == 9


def test_never_before_min_resource_and_always_at_max_resource():
    stopper = RungStopper(RungLadder(3, 10, 3), MAX, ends_at=20)
    stopper.decide("a", 0, 3, 0.9)
    assert stopper.decide("b", 1, 1, 0.0) is None and stopper.decide("b", 1, 2, 0.0) is None  # before rung 3
    d = stopper.decide("a", 0, 10, 0.95)
    assert d.action is Action.STOP and d.rule == "max_resource"
    assert stopper.decide("a", 0, 11, 0.95) is None  # decided once
    # a program that ends at max_resource by itself is left to complete
    ends = RungStopper(RungLadder(3, 10, 3), MAX, ends_at=10)
    ends.decide("a", 0, 3, 0.9)
    last = ends.decide("a", 0, 10, 0.95)
    assert last.rule == "rung" and last.rung == 9 and last.action is Action.CONTINUE  # no max_resource stop


def test_brackets_have_their_own_rungs():
    ladder = RungLadder(1, 9, 3, brackets=2, seed=0)
    by_bracket = {}
    for i in range(40):
        by_bracket.setdefault(ladder.bracket(i), i)
    i0, i1 = by_bracket[0], by_bracket[1]
    stopper = RungStopper(ladder, MAX)
    assert stopper.decide("b1", i1, 1, 0.0) is None  # bracket 1 starts at rung 3
    assert stopper.decide("b1", i1, 3, 0.1).bracket == 1
    d = stopper.decide("b0", i0, 3, 0.0)  # bracket 0: rung 1 and rung 3 (not compared with bracket 1's 0.1)
    assert d.action is Action.CONTINUE and d.bracket == 0 and d.compared == 1


def test_restore_rebuilds_the_rungs_from_kept_decisions():
    first = RungStopper(RungLadder(1, 27, 3), MAX)
    kept = [("a", first.decide("a", 0, 1, 0.5)), ("b", first.decide("b", 1, 1, 0.7))]
    again = RungStopper(RungLadder(1, 27, 3), MAX)
    for job, d in kept:
        again.restore(job, Decision.from_json(d.to_json()))
    assert again.rungs == first.rungs
    assert again.decide("c", 2, 1, 0.6).action is Action.STOP  # 0.6 is not the best of 3
    assert again.decide("a", 0, 1, 0.5) is None  # a already passed rung 1
    again.forget("c")
    assert "c" not in again.rungs[(0, 1)]


@pytest.mark.parametrize("args, message", [
    ((0, 27, 3), r"strategy\.settings\.min_resource: min_resource must be a whole number >= 1, got 0"),
    ((1, 27, 1), r"strategy\.settings\.reduction_factor: reduction_factor must be a whole number >= 2"),
    ((5, 5, 3), r"strategy\.settings\.max_resource: max_resource must be greater than min_resource, got "
                r"min_resource=5, max_resource=5"),
    ((1, 27.5, 3), r"strategy\.settings\.max_resource: max_resource must be a whole number >= 2, got 27\.5"),
])
def test_bad_ladders_are_spec_errors(args, message):
    with pytest.raises(SpecError, match="^" + message):
        RungLadder(*args)


def test_too_many_brackets_names_the_limit():
    with pytest.raises(SpecError, match=r"^strategy\.settings\.brackets: brackets must be a whole number from 1 to 4 "):
        RungLadder(1, 27, 3, brackets=5)
