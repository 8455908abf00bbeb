"""The multi-fidelity benchmark against the real hyperjob.tune and Optuna, on a tiny budget.

Checks that the benchmark's own epoch accounting agrees with what hyperjob recorded (training jobs, statuses)
and that every run spends exactly its budget. Three full trainings' worth of epochs (81) of the breast_cancer MLP
per method: a few seconds.
"""

from __future__ import annotations

import sys

import pytest

from _benchmarks import load_benchmark

mf = load_benchmark("multifidelity")
curves = sys.modules["_curves"]


@pytest.mark.parametrize("method", ["random_full", "random_auto", "hb_random", "optuna_hb"])
def test_a_run_spends_exactly_its_budget_and_agrees_with_the_tuner(method: str) -> None:
    problem = curves.problem("cancer_mlp")
    rec = mf.run_method(method, problem, seed=0, full_jobs=3)
    assert rec["status"] == "ok"
    assert rec["budget"] == 81 and rec["spent"] == 81
    assert sum(j[0] for j in rec["jobs"]) == 81  # every epoch belongs to one training job
    assert [j[1] for j in rec["jobs"]][-1] == "budget"  # the last one was cut by the budget
    ended = {}
    for _, how in rec["jobs"]:
        ended[how] = ended.get(how, 0) + 1
    info = rec["info"]
    if method == "random_full":
        # three full trainings; the third one is cut at the budget's last epoch (3 x 27 = 81)
        assert rec["jobs"] == [[27, "completed"], [27, "completed"], [27, "budget"]]
    if method.startswith("optuna"):
        assert info["states"].get("PRUNED", 0) == ended.get("stopped", 0)
        assert info["states"].get("COMPLETE", 0) == ended.get("completed", 0)
    else:
        # the job cut by the budget fails (max_failed_jobs=1 ends the tuning job); the others match one to one
        assert info["tuning_job_status"] == "Failed"
        assert info["statuses"].get("Stopped", 0) == ended.get("stopped", 0)
        assert info["statuses"].get("Completed", 0) == ended.get("completed", 0)
        assert info["statuses"].get("Failed", 0) == 1
    if method == "hb_random":
        assert ended.get("stopped", 0) >= 2  # 81 epochs: some training jobs stopped at low rungs
        assert all(e in (1, 3, 9) for e, how in rec["jobs"] if how == "stopped") or info["late_stops"] > 0
    # the curve of best values only improves (lower loss), at increasing epoch counts
    values = [v for _, v, _ in rec["improvements"]]
    assert all(b < a for a, b in zip(values, values[1:]))
    assert rec["improvements"][-1][0] <= 81
