"""The multi-fidelity benchmark's simulator, reference methods and metric, on hand-made tables (no training)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from _benchmarks import load_benchmark

mf = load_benchmark("multifidelity")
tab = sys.modules["_tabulated"]


def _table(val: np.ndarray, maximize: bool = True) -> object:
    task = tab.Task("toy", {"x": {"type": "continuous", "min_value": 0.0, "max_value": 1.0}}, "acc", maximize,
                    len(val), lambda c, s: ([], []))
    return tab.Table(task, [{"x": i / max(1, len(val) - 1)} for i in range(len(val))], val, val)


def test_nearest_row_in_the_normalized_space() -> None:
    t = _table(np.zeros((5, 27)))
    assert t.nearest({"x": 0.26}) == 1 and t.nearest({"x": 0.99}) == 4


def test_simulator_spends_exactly_the_cap_and_asha_resumes_from_checkpoints() -> None:
    rows = np.array([[0.1 * (i + 1) + 0.001 * e for e in range(27)] for i in range(9)])
    t = _table(rows)
    trace = mf.simulate(mf.AshaMethod(t, seed=0), t, workers=1, cap=20)
    assert trace.spent == 20 and trace.time == 20
    assert trace.resumed >= 1  # a promoted job trains only the epochs beyond its rung
    trace4 = mf.simulate(mf.AshaMethod(t, seed=0), t, workers=4, cap=20)
    assert trace4.spent == 20 and trace4.time == 5  # 4 epochs per time unit
    spent = [s for s, *_ in trace.improvements]
    assert spent == sorted(spent) and [v for *_, v, _ in trace.improvements] == sorted(v for *_, v, _ in trace.improvements)


def test_median_rule_stops_a_job_worse_than_the_median_of_earlier_running_averages() -> None:
    t = _table(np.array([[0.9] * 27, [0.5] * 27]))
    m = mf.MedianRuleMethod(t, seed=0)
    a, b = mf._Job(0), mf._Job(1)
    m.jobs = [a, b]
    assert m.on_epoch(a, 1, 0.9) is False  # no earlier job: no warm-up, but nothing to compare
    assert m.on_epoch(b, 1, 0.5) is True   # 0.5 < median of [0.9]


def test_epochs_to_target_and_speedup() -> None:
    rec = {"improvements": [(3, 1, 0.5, 0.5), (10, 4, 0.8, 0.7)], "cap": 100}
    assert mf.epochs_to(rec, 0.8, True) == 10 and mf.epochs_to(rec, 0.9, True) is None
    assert mf.epochs_to(rec, 0.6, False) == 3
    s = mf.speedup([100.0, 200.0], [20.0, 40.0], np.random.default_rng(0), reps=200)
    assert s["mean_ratio"] == pytest.approx(5.0) and s["median_ratio"] == pytest.approx(5.0)
    assert s["ci95"][0] <= 5.0 <= s["ci95"][1]
