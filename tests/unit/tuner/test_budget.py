"""The resource budget (hyperjob.tuner.budget): counted as a tuning job counts it, in AskTell and in a real
tuning job (the program's own ledger is the truth of what was trained)."""

from __future__ import annotations

import collections
import sys
from pathlib import Path

import pytest

import hyperjob
from hyperjob import AskTell
from hyperjob.errors import SpecError, StrategyError
from hyperjob.tuner.budget import ResourceBudget

PROGRAM = str(Path(__file__).parents[2] / "fixtures" / "programs" / "checkpointed.py")


def test_each_job_counts_the_units_beyond_what_it_had_reached():
    b = ResourceBudget(10)
    b.add("a", 3)
    b.add("a", 3)  # the same value read again (a reattached job): not counted twice
    b.add("b", 2)
    b.add("a", 5)
    assert (b.spent, b.left, b.reached) == (7, 3, False)
    b.restart("b")  # run again from the start: what it trains counts again
    b.add("b", 3)
    assert (b.spent, b.reached) == (10, True)
    assert "10 of 10" in b.reason()


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
def test_a_budget_that_is_not_a_positive_integer_is_refused_at_its_path(bad):
    with pytest.raises(SpecError) as err:
        ResourceBudget(bad)
    assert err.value.path == "limits.resource_budget" and "positive integer" in str(err.value)
    with pytest.raises(SpecError) as err:
        AskTell({"x": {"min_value": 0.0, "max_value": 1.0}}, objective="loss", strategy="random",
                resource_budget=bad)
    assert err.value.path == "resource_budget"


def test_asktell_ends_at_its_budget_without_an_exception_in_the_loop():
    at = AskTell({"x": {"min_value": 0.0, "max_value": 1.0}}, objective="loss", strategy="random", seed=0,
                 resource_budget=25)
    trained = 0
    while not at.done:
        s = at.ask()
        for epoch in range(1, 11):
            trained += 1
            result = at.tell(s, (s.config["x"] - 0.3) ** 2 + 1 / epoch, step=epoch)
            if result is not None and result.stop:
                break
        else:
            at.tell(s, (s.config["x"] - 0.3) ** 2 + 0.1)
    assert trained == 25 and at.budget.spent == 25
    assert at.ask(3) == []
    with pytest.raises(StrategyError, match="resource budget reached"):
        at.ask()
    assert len(at.results) == 3 and at.best is not None  # two finished, the third stopped by the budget


def test_a_tuning_job_stops_at_its_resource_budget(tmp_path):
    ledger = tmp_path / "ledger.txt"
    result = hyperjob.tune(
        [sys.executable, PROGRAM], {"x": {"type": "continuous", "min_value": 0.0, "max_value": 1.0}},
        objective="loss", max_jobs=50, max_parallel_jobs=2, strategy="random", resource_budget=20,
        metric_definitions={"loss": r"loss=([0-9.eE+-]+)"}, static={"epochs": 8, "ledger": str(ledger),
                                                                    "sleep": 0.2},
        seed=0, output_dir=tmp_path / "runs", name="budget", store=str(tmp_path / "hj.db"),
    )
    assert result.status == "Completed" and result.reason.startswith("resource budget reached")
    trained = collections.Counter(line.split()[1] for line in ledger.read_text().splitlines()
                                  if line.startswith("epoch "))
    # the running jobs are stopped once 20 epochs are told; each may train on for a moment while its stop arrives
    assert 20 <= sum(trained.values()) <= 20 + 2 * 2
    assert len(result.jobs) < 50 and sum(1 for j in result.jobs if j["status"] == "Completed") == 2
