"""The winner test: its numbers are scipy's on the same values, its verdict says what they mean."""

from __future__ import annotations

import pytest
from scipy import stats

from hyperjob.records import Direction, Objective
from hyperjob.tuner.significance import paired_test

LOSS = Objective("loss", Direction.MINIMIZE)


def test_p_value_interval_and_sign_count_are_scipys():
    a = [0.91, 0.88, 0.95, 0.90, 0.87, 0.93, 0.89, 0.92]
    b = [0.95, 0.90, 0.94, 0.97, 0.93, 0.96, 0.91, 0.99]
    t = paired_test(a, b, LOSS)
    d = [y - x for x, y in zip(a, b)]  # a's advantage when lower is better
    assert t.p_value == pytest.approx(stats.wilcoxon(d).pvalue, rel=1e-12)
    low, high = stats.t.interval(0.95, len(d) - 1, loc=sum(d) / len(d), scale=stats.sem(d))
    assert (t.ci_low, t.ci_high) == (pytest.approx(low, rel=1e-12), pytest.approx(high, rel=1e-12))
    assert (t.n, t.better, t.worse) == (8, 7, 1)
    assert t.significant and t.verdict.startswith("better than the runner-up at 95 % (signed-rank p = 0.0156")


def test_a_maximized_objective_counts_higher_as_better():
    acc = Objective("accuracy", Direction.MAXIMIZE)
    t = paired_test([0.9] * 6, [0.8, 0.85, 0.7, 0.82, 0.81, 0.79], acc)
    assert t.mean_difference > 0 and t.better == 6 and t.significant
    worse = paired_test([0.8, 0.85, 0.7, 0.82, 0.81, 0.79], [0.9] * 6, acc)
    assert not worse.significant and worse.verdict.startswith("worse than the runner-up at 95 %")


def test_three_periods_can_never_reach_95_percent_and_the_verdict_says_so():
    t = paired_test([0.1, 0.2, 0.3], [0.5, 0.6, 0.7], LOSS)
    assert t.better == 3 and t.p_value == pytest.approx(0.25) and not t.significant
    assert "not distinguishable from the runner-up at 95 % (better in 3 of 3 periods" in t.verdict
    assert "cannot go below p = 0.25: use at least 6 periods" in t.verdict


def test_identical_values_and_one_period():
    same = paired_test([0.5, 0.5], [0.5, 0.5], LOSS)
    assert same.p_value is None and same.mean_difference == 0 and "no period differs" in same.verdict
    one = paired_test([0.4], [0.5], LOSS, against="c3")
    assert one.ci_low is None and one.p_value is None and one.verdict.startswith("not distinguishable from c3")
