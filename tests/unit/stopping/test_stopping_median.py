"""SageMaker's median rule (early stopping auto) on hand-made curves with known answers."""

from __future__ import annotations

import math

import pytest

from hyperjob.errors import SpecError
from hyperjob.records import Direction, Objective
from hyperjob.stopping.base import Action, Decision
from hyperjob.stopping.median import MedianStopper

MAX = Objective("acc", Direction.MAXIMIZE)
MIN = Objective("loss", Direction.MINIMIZE)


def _fill(stopper: MedianStopper, curves: list[list[float]], first_step: int = 1) -> None:
    for index, curve in enumerate(curves):
        for step, value in enumerate(curve, start=first_step):
            stopper.record(f"job-{index}", index, step, value)


def test_median_of_running_averages_decides_when_maximizing():
    stopper = MedianStopper(MAX)
    # running averages at step 3: mean(1,2,3)=2, mean(2,4,6)=4, mean(0,0,9)=3 -> median 3
    _fill(stopper, [[1, 2, 3], [2, 4, 6], [0, 0, 9]])
    stopper.record("job-3", 3, 1, 5.0)
    stopper.record("job-3", 3, 2, 5.0)
    d = stopper.decide("job-3", 3, 3, 2.9)
    assert d is not None and d.action is Action.STOP
    assert d.threshold == pytest.approx(3.0)
    assert d.compared == 3 and d.step == 3 and d.value == pytest.approx(2.9) and d.rule == "median"
    assert "worse than 3, the median of the running averages of 3 earlier training jobs" in d.reason


def test_a_value_equal_to_the_median_goes_on():
    stopper = MedianStopper(MAX)
    _fill(stopper, [[1, 2, 3], [2, 4, 6], [0, 0, 9]])
    stopper.record("job-3", 3, 1, 5.0)
    d = stopper.decide("job-3", 3, 3, 3.0)
    assert d is not None and d.action is Action.CONTINUE


def test_minimizing_stops_values_above_the_median():
    stopper = MedianStopper(MIN)
    _fill(stopper, [[4, 2], [6, 4], [8, 6]])  # running averages at step 2: 3, 5, 7 -> median 5
    stopper.record("job-3", 3, 1, 1.0)
    assert stopper.decide("job-3", 3, 2, 5.5).action is Action.STOP
    # job-3 (stopped) now counts too, with its running average (1 + 5.5) / 2: median of 3, 5, 7, 3.25 = 4.125
    stopper.record("job-4", 4, 1, 1.0)
    d = stopper.decide("job-4", 4, 2, 4.0)
    assert d.action is Action.CONTINUE and d.threshold == pytest.approx(4.125) and d.compared == 4


def test_only_earlier_jobs_that_reached_the_step_count():
    stopper = MedianStopper(MAX)
    # job-1 stopped after step 1 (it did not reach step 2); job-5 is later than job-4 (index 5)
    stopper.record("job-0", 0, 1, 0.5); stopper.record("job-0", 0, 2, 0.7)
    stopper.record("job-1", 1, 1, 0.1)
    stopper.record("job-2", 2, 1, 0.6); stopper.record("job-2", 2, 2, 0.8)
    stopper.record("job-3", 3, 1, 0.9); stopper.record("job-3", 3, 2, 0.9)
    stopper.record("job-5", 5, 1, 0.0); stopper.record("job-5", 5, 2, 0.0)
    stopper.record("job-4", 4, 1, 0.5)
    d = stopper.decide("job-4", 4, 2, 0.66)
    # earlier jobs at step 2: job-0 (0.6), job-2 (0.7), job-3 (0.9): median 0.7 -> stop; job-1 and job-5 excluded
    assert d.compared == 3 and d.threshold == pytest.approx(0.7) and d.action is Action.STOP


def test_the_rule_waits_for_min_jobs_and_for_the_grace_values():
    stopper = MedianStopper(MAX, min_jobs=3, grace_values=1)
    _fill(stopper, [[1, 1], [1, 1]])
    stopper.record("job-2", 2, 1, 0.0)
    assert stopper.decide("job-2", 2, 2, 0.0) is None  # only 2 earlier jobs
    _fill(stopper, [[1, 1], [1, 1], [1, 1]])
    assert stopper.decide("job-3", 3, 1, 0.0) is None  # its first value: the grace
    assert stopper.decide("job-3", 3, 2, 0.0).action is Action.STOP
    assert MedianStopper(MAX, grace_values=0).decide("x", 0, 1, 0.0) is None  # no earlier jobs at all


def test_stopped_jobs_count_with_the_values_they_reported():
    stopper = MedianStopper(MIN)
    _fill(stopper, [[1.0, 1.0, 1.0], [9.0, 9.0], [2.0, 2.0, 2.0], [3.0]])
    stopper.record("job-4", 4, 1, 0.0)
    d = stopper.decide("job-4", 4, 2, 2.5)
    # at step 2: averages 1, 9, 2 (job-3 stopped at step 1 does not count) -> median 2 -> 2.5 is worse
    assert d.compared == 3 and d.threshold == pytest.approx(2.0) and d.action is Action.STOP


def test_nan_values_are_ignored_and_forget_drops_a_curve():
    stopper = MedianStopper(MAX)
    _fill(stopper, [[1, 1], [1, 1], [1, 1]])
    assert stopper.decide("job-3", 3, 2, math.nan) is None
    stopper.forget("job-0")
    stopper.record("job-3", 3, 1, 0.0)
    assert stopper.decide("job-3", 3, 2, 0.0) is None  # 2 earlier jobs left


@pytest.mark.parametrize("kw, path", [({"min_jobs": 0}, "min_jobs"), ({"grace_values": -1}, "grace_values"),
                                      ({"min_jobs": True}, "min_jobs")])
def test_bad_settings_are_spec_errors(kw, path):
    with pytest.raises(SpecError, match=rf"^early_stopping\.{path}: {path} must be an integer"):
        MedianStopper(MAX, **kw)


def test_decisions_round_trip_through_json():
    stopper = MedianStopper(MAX)
    _fill(stopper, [[1, 2], [1, 2], [1, 2]])
    stopper.record("job-3", 3, 1, 0.0)
    d = stopper.decide("job-3", 3, 2, 0.0)
    again = Decision.from_json(d.to_json())
    assert again == d and again.stop
