"""The multi-fidelity benchmark's own machinery: learning curves, epoch accounting, curves and targets.

Loads ``benchmarks/multifidelity.py`` by path (benchmarks are not a package). Trains a handful of epochs of the
breast_cancer MLP only (milliseconds each).
"""

from __future__ import annotations

import math
import sys

import pytest

from _benchmarks import load_benchmark

mf = load_benchmark("multifidelity")
curves = sys.modules["_curves"]

GOOD = {"lr": 0.01, "weight_decay": 1e-4, "optimizer": "adam", "momentum": 0.9, "hidden": 32, "layers": 1,
        "dropout": 0.1, "batch_size": 128}


class Stop(BaseException):
    """Stands for hyperjob's StopTrainingJob / Optuna's TrialPruned."""


def test_training_is_deterministic_and_learns() -> None:
    problem = curves.problem("cancer_mlp")
    first: list[tuple[int, float, float]] = []
    second: list[tuple[int, float, float]] = []
    problem.train(GOOD, lambda e, v, t: first.append((e, v, t)), max_epochs=6)
    problem.train(dict(GOOD, epochs=27), lambda e, v, t: second.append((e, v, t)), max_epochs=6)
    assert first == second  # static hyperparameters do not change the seed
    assert [e for e, _, _ in first] == [1, 2, 3, 4, 5, 6]
    assert first[-1][1] < first[0][1] < math.log(2) + 0.05  # the validation log-loss goes down
    other: list[float] = []
    problem.train(dict(GOOD, lr=0.002), lambda e, v, t: other.append(v), max_epochs=6)
    assert other != [v for _, v, _ in first]


def test_diverging_loss_is_capped() -> None:
    problem = curves.problem("cancer_mlp")
    values: list[float] = []
    problem.train(dict(GOOD, optimizer="sgd", lr=1.0, momentum=0.99, weight_decay=1e-6), lambda e, v, t: values.append(v),
                  max_epochs=4)
    assert all(math.isfinite(v) and v <= curves.LOSS_CAP for v in values)


def test_run_counts_epochs_and_ends_at_the_budget() -> None:
    run = mf.Run(curves.problem("cancer_mlp"), budget=5)
    stops_at = {3}

    def report(epoch: int, value: float) -> None:
        if epoch in stops_at:
            raise Stop()

    with pytest.raises(Stop):
        run.train(GOOD, report)
    assert run.spent == 3 and run.jobs == [[3, "stopped"]]
    with pytest.raises(mf.BudgetSpent):
        run.train(dict(GOOD, lr=0.003), report)
    assert run.spent == 5 and run.jobs[1] == [2, "budget"]
    # improvements are strictly better (lower loss), at increasing epoch counts
    spent = [s for s, _, _ in run.improvements]
    values = [v for _, v, _ in run.improvements]
    assert spent == sorted(spent) and all(b < a for a, b in zip(values, values[1:]))
    assert run.best_at(0) is None
    assert run.best_at(5)[0] == values[-1]


def _record(method: str, seed: int, improvements: list, jobs: list, budget: int = 54, problem: str = "digits_mlp"):
    return {"method": method, "problem": problem, "seed": seed, "budget": budget, "status": "ok",
            "spent": sum(j[0] for j in jobs), "wall_s": 1.0, "improvements": improvements, "jobs": jobs, "info": {}}


def test_targets_on_hand_made_curves() -> None:
    # budget 54 = 2 full jobs of 27 epochs; maximize
    records = []
    for seed in (0, 1):
        records.append(_record("random_full", seed, [(27, 0.90, 0.89), (54, 0.95, 0.94)], [[27, "completed"]] * 2))
        # hyperband: 0.96 after 18 epochs (= B/3), better than random's final 0.95
        records.append(_record("hb_bayes", seed, [(3, 0.5, 0.5), (18, 0.96, 0.95)], [[1, "stopped"]] * 54))
        records.append(_record("optuna_hb", seed, [(3, 0.6, 0.6), (40, 0.97, 0.95)], [[1, "stopped"]] * 54))
        # auto: first 2 jobs spent 27 + 9 = 36 epochs (saving 1/3), best 0.95 (same as off)
        records.append(_record("random_auto", seed, [(20, 0.95, 0.93)], [[27, "completed"], [9, "stopped"], [18, "x"]]))
    summary = mf.summarize(records, ["digits_mlp"], full_jobs=2)
    t = summary["targets"]["digits_mlp"]
    third = t["hyperband_third"]
    assert third["met"] and third["hb_bayes@B/3"] == pytest.approx(0.96) and third["random_full@B"] == pytest.approx(0.95)
    assert third["epochs_to_reach"] == 18
    auto = t["random_auto_saving"]
    assert auto["epochs_auto"] == 72 and auto["epochs_off"] == 108
    assert auto["saving"] == pytest.approx(1 / 3) and auto["relative_gap"] == pytest.approx(0.0) and auto["met"]
    rows = {r["budget"]: r for r in t["hyperband_vs_optuna"]["rows"]}
    assert rows["B/9"]["met"] is False  # 0.5 < 0.6 at 6 epochs
    assert rows["B/3"]["met"] is True and rows["2B/3"]["met"] is True  # optuna reaches 0.97 after 40 > 36
    assert rows["B"]["met"] is False and rows["B"]["seeds_as_good"] == "0/2"  # 0.96 < 0.97
    assert t["hyperband_vs_optuna"]["met"] is False
    table = summary["table"]["digits_mlp"]
    assert table["random_full"]["B"][0] == pytest.approx(0.95) and table["bayes_auto"] is None
    text = mf.markdown(summary, ["digits_mlp"], full_jobs=2, seeds=2)
    assert "**missed**" in text and "saving 33.3 %" in text


def test_auto_target_missed_when_the_best_is_more_than_one_percent_worse() -> None:
    records = [
        _record("bayes_off", 0, [(27, 0.10, 0.1)], [[27, "completed"]] * 2, problem="cancer_mlp"),
        _record("bayes_auto", 0, [(10, 0.102, 0.1)], [[10, "stopped"], [10, "stopped"]], problem="cancer_mlp"),
    ]
    auto = mf.summarize(records, ["cancer_mlp"], full_jobs=2)["targets"]["cancer_mlp"]["bayes_auto_saving"]
    assert auto["saving"] == pytest.approx(1 - 20 / 54)
    assert auto["relative_gap"] == pytest.approx(0.02)  # minimize: 0.102 is 2 % worse than 0.100
    assert not auto["met"]
