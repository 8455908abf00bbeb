"""The warm-start benchmark's own arithmetic: matching, tolerance, the narrowed child space and the summary table."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from _benchmarks import BENCHMARKS, load_benchmark

pytest.importorskip("hyperjob.bench")

W = load_benchmark("warm_start")


def test_first_match_and_tolerance():
    assert W.first_match([3.0, 2.0, 1.0005, 0.9], 1.001) == 3
    assert W.first_match([3.0, 2.0], 1.0) is None
    # 0.1 % of the gap between the median (2.0) and the best (1.0)
    assert W.tolerance([1.0, 2.0, 3.0, float("inf")]) == pytest.approx(0.001)


def test_narrowed_keeps_half_the_width_around_the_best():
    from hyperjob.space import CategoricalRange, ContinuousRange, SearchSpace

    space = SearchSpace(ranges=(ContinuousRange(name="x", min_value=0.0, max_value=10.0),
                                CategoricalRange(name="c", values=("a", "b"))))
    child = W.narrowed(space, {"x": 9.0, "c": "a"})
    assert (child["x"].min_value, child["x"].max_value) == pytest.approx((5.0, 10.0))  # clipped at the top end
    assert child["c"] == space["c"]


def row(problem: str, seed: int, ident: int | None, t10: float, c10: float) -> dict:
    return {"problem": problem, "seed": seed, "identical_jobs_to_match": ident, "transfer_jobs_to_match": None,
            "transfer_best10": t10, "cold_best10": c10, "transfer_best20": 1.0, "cold_best20": 2.0,
            "transfer_best30": 1.0, "cold_best30": 1.0}


def test_summary_counts_a_miss_as_one_more_than_the_budget(tmp_path):
    rows = [row("p", 0, 2, 1.0, 3.0), row("p", 1, None, 2.0, 4.0), row("p", 2, 16, 3.0, 5.0)]
    table = W.summarize(rows, ["p"])
    line = table.splitlines()[-1]
    assert "| 2, >30, 16 | 1/3 | 16 / 16.3 |" in line  # median 16, mean (2 + 31 + 16) / 3
    assert "| 2 / 4 |" in line  # mean best@10 transfer / cold
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps(rows))
    out = subprocess.run([sys.executable, str(BENCHMARKS / "warm_start.py"), "--from-json", str(saved)],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == table
