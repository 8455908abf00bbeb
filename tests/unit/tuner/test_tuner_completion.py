"""Completion criteria: target value, best-not-improving (1 %), convergence."""

import pytest

from hyperjob.records import Direction, Objective
from hyperjob.tuner.completion import CompletionTracker

MIN = Objective("loss", Direction.MINIMIZE)
MAX = Objective("acc", Direction.MAXIMIZE)


def test_target_reached_minimize():
    t = CompletionTracker(MIN, target_value=0.5)
    assert t.add(0.9) is None
    reason = t.add(0.5)
    assert reason is not None and "TargetObjectiveMetricValue" in reason and "0.5" in reason


def test_target_reached_maximize_only_when_at_least_target():
    t = CompletionTracker(MAX, target_value=0.95)
    assert t.add(0.94) is None
    assert t.add(0.2) is None
    assert "TargetObjectiveMetricValue" in t.add(0.951)


def test_not_improving_counts_consecutive_jobs_without_one_percent_gain():
    t = CompletionTracker(MIN, max_jobs_not_improving=3)
    assert t.add(1.0) is None
    assert t.add(0.995) is None  # 0.5 % better: not enough, counter 1
    assert t.add(0.999) is None  # counter 2
    assert t.not_improving == 2
    assert t.add(0.98) is None  # 1.5 % better than best 0.995: reset
    assert t.not_improving == 0
    assert t.add(2.0) is None
    assert t.add(2.0) is None
    reason = t.add(2.0)
    assert reason is not None and "BestObjectiveNotImproving" in reason and "3 training jobs" in reason


def test_not_improving_maximize_direction():
    t = CompletionTracker(MAX, max_jobs_not_improving=3)
    t.add(0.5)
    t.add(0.6)  # 20 % better: reset
    assert t.not_improving == 0
    t.add(0.601)  # < 1 %
    t.add(0.1)
    assert "BestObjectiveNotImproving" in t.add(0.3)


def test_not_improving_from_zero_best_counts_any_improvement():
    t = CompletionTracker(MIN, max_jobs_not_improving=3)
    t.add(0.0)
    t.add(-0.001)
    assert t.not_improving == 0


def test_convergence_needs_enough_jobs_and_a_flat_window():
    t = CompletionTracker(MIN, convergence=True)
    values = [10, 8, 6, 5, 4, 3.5, 3.2, 3.1, 3.05]
    for v in values:
        assert t.add(v) is None  # still improving, and fewer than 10 jobs
    # a long flat stretch converges
    reasons = [t.add(3.05 + 0.5) for _ in range(6)]
    assert reasons[-1] is not None and "ConvergenceDetected" in reasons[-1]


def test_convergence_not_detected_while_improving():
    t = CompletionTracker(MIN, convergence=True)
    for i in range(30):
        assert t.add(100.0 - i * 3) is None


@pytest.mark.parametrize("objective", [MIN, MAX])
def test_no_criteria_never_completes(objective):
    t = CompletionTracker(objective)
    for v in [1.0] * 50:
        assert t.add(v) is None
