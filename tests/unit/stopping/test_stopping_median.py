"""SageMaker's median rule (early stopping auto) on hand-made curves with known answers; its warm-up settings."""

from __future__ import annotations

import math

import pytest

from hyperjob.records import Direction, Objective
from hyperjob.stopping.base import Action, Decision, MedianRule
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


def test_auto_judges_the_first_value_against_a_single_earlier_job():
    stopper = MedianStopper(MAX)
    assert stopper.rule == MedianRule() and stopper.rule.exact and stopper.name == "early stopping 'auto'"
    assert stopper.decide("job-0", 0, 1, 0.5) is None  # no earlier job reached step 1: no median, it goes on
    d = stopper.decide("job-1", 1, 1, 0.4)  # its first value, one earlier job: judged
    assert d.action is Action.STOP and d.threshold == pytest.approx(0.5) and d.compared == 1
    assert d.reason.startswith("early stopping (auto): at step 1 the objective 0.4 was worse than 0.5")
    assert stopper.decide("job-2", 2, 1, 0.45).action is Action.CONTINUE  # median of 0.5, 0.4 is 0.45: a tie
    assert stopper.decide("job-3", 3, 2, 0.0) is None  # nobody earlier reached step 2


def test_min_jobs_waits_for_that_many_earlier_jobs_at_the_step():
    stopper = MedianStopper(MAX, MedianRule(min_jobs=3))
    _fill(stopper, [[1, 1], [1, 1]])
    assert stopper.decide("job-2", 2, 1, 0.0) is None  # its first value is judged, but only 2 earlier jobs
    assert stopper.decide("job-2", 2, 2, 0.0) is None
    _fill(stopper, [[1, 1], [1, 1], [1, 1]])
    d = stopper.decide("job-3", 3, 1, 0.0)  # 3 earlier jobs: the first value is judged (grace_values 0)
    assert d.action is Action.STOP and d.compared == 3
    assert stopper.name == "early stopping (median rule, min_jobs=3, grace_values=0)"
    assert d.reason.startswith(f"{stopper.name}: at step 1")


def test_grace_values_leaves_a_jobs_first_values_unjudged():
    stopper = MedianStopper(MAX, MedianRule(grace_values=2))
    _fill(stopper, [[1, 1, 1, 1]])
    assert stopper.decide("job-1", 1, 1, 0.0) is None
    assert stopper.decide("job-1", 1, 2, 0.0) is None
    assert stopper.decide("job-1", 1, 3, 0.0).action is Action.STOP  # its third value: judged, 1 earlier job
    # the grace counts the job's values, not steps: a job reporting every other epoch is judged at its third
    stopper.record("job-2", 2, 1, 0.0)
    stopper.record("job-2", 2, 3, 0.0)
    d = stopper.decide("job-2", 2, 4, 0.0)  # at step 4 only job-0 counts (job-1 reached step 3)
    assert d.action is Action.STOP and d.compared == 1
    stopper.forget("job-2")
    stopper.record("job-2", 2, 1, 0.0)
    stopper.record("job-2", 2, 2, 0.0)
    assert stopper.decide("job-2", 2, 3, 5.0).action is Action.CONTINUE  # better than the median 0.5


def test_warm_up_settings_combine():
    stopper = MedianStopper(MAX, MedianRule(min_jobs=3, grace_values=1))
    _fill(stopper, [[1, 1], [1, 1]])
    stopper.record("job-2", 2, 1, 0.0)
    assert stopper.decide("job-2", 2, 2, 0.0) is None  # only 2 earlier jobs
    _fill(stopper, [[1, 1], [1, 1], [1, 1]])
    assert stopper.decide("job-3", 3, 1, 0.0) is None  # its first value: the grace
    assert stopper.decide("job-3", 3, 2, 0.0).action is Action.STOP


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
    assert stopper.decide("job-3", 3, 2, 0.0).compared == 2  # 2 earlier jobs left


def test_decisions_round_trip_through_json():
    stopper = MedianStopper(MAX)
    _fill(stopper, [[1, 2], [1, 2], [1, 2]])
    stopper.record("job-3", 3, 1, 0.0)
    d = stopper.decide("job-3", 3, 2, 0.0)
    again = Decision.from_json(d.to_json())
    assert again == d and again.stop
