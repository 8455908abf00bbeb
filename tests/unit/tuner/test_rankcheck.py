"""rankcheck's numbers (scipy's Spearman and Kendall, Fisher-z intervals), its full-mode spec, and the listed
strategy that runs exactly the fast job's top configurations."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from hyperjob.errors import SpecError
from hyperjob.formats.spec import TuningJobSpec
from hyperjob.records import Final, Objective
from hyperjob.strategies.registry import create_strategy
from hyperjob.tuner.rankcheck import full_spec_json, rank_agreement, verdict


def test_correlations_are_scipys_with_fisher_z_intervals():
    fast = [0.1, 0.3, 0.2, 0.5, 0.4, 0.7, 0.6, 0.8]
    full = [0.15, 0.2, 0.3, 0.45, 0.5, 0.6, 0.75, 0.7]
    rho, (lo, hi), tau, (tlo, thi) = rank_agreement(fast, full)
    assert rho == pytest.approx(stats.spearmanr(fast, full).statistic)
    assert tau == pytest.approx(stats.kendalltau(fast, full).statistic)
    half = stats.norm.ppf(0.975) * math.sqrt(1.06 / (len(fast) - 3))
    assert (lo, hi) == (pytest.approx(math.tanh(math.atanh(rho) - half)), pytest.approx(math.tanh(math.atanh(rho) + half)))
    assert tlo < tau < thi and lo < rho < hi
    assert lo == pytest.approx(0.444, abs=1e-3)  # 8 configurations, rho 0.88: the interval is still wide
    assert verdict(rho, lo, 0.95).startswith("fast mode's ranking goes with full mode's, but weakly")
    assert verdict(0.97, 0.8, 0.95).startswith("fast mode ranks these configurations as full mode does")
    assert "cannot be trusted" in verdict(0.1, -0.6, 0.95)


def test_a_perfect_ranking_of_five_is_not_certain():
    rho, (lo, hi), tau, (tlo, thi) = rank_agreement([1, 2, 3, 4, 5], [10, 20, 30, 40, 50])
    assert (rho, tau, hi, thi) == (pytest.approx(1), pytest.approx(1), pytest.approx(1), pytest.approx(1))
    assert 0 < lo < 0.2 and tlo < 0.5  # centred on the nearest imperfect ranking: five prove little


def test_four_configurations_are_too_few():
    with pytest.raises(SpecError, match="at least 5 configurations"):
        rank_agreement([1, 2, 3, 4], [1, 2, 3, 4])


def test_the_full_mode_spec_runs_the_listed_configurations_without_fast_mode():
    fast = TuningJobSpec.model_validate({
        "name": "f", "program": {"command": ["python", "t.py"]},
        "hyperparameter_ranges": {"x": {"type": "categorical", "values": [1, 2, 3, 4, 5, 6]}},
        "objective": {"metric": "loss", "type": "minimize"}, "strategy": {"name": "grid"},
        "periods": {"seeds": 3}, "fast": {"static_hyperparameters": {"epochs": 1}, "enabled": True},
    })
    data = full_spec_json(fast.to_json(), [{"x": 3}, {"x": 1}, {"x": 6}], "f", "f-full")
    full = TuningJobSpec.from_json(data)
    assert full.name == "f-full" and not full.fast.enabled and full.limits.max_jobs == 3
    assert full.strategy.name == "listed" and full.strategy.settings["of"] == "f"
    strategy = create_strategy("listed", full.build_space(), Objective("loss"), **full.strategy.settings)
    assert strategy.suggest(2) == [{"x": 3}, {"x": 1}]
    strategy.observe(Final({"x": 6}, 0.5))  # known from an event (replayed on resume): not suggested again
    assert strategy.suggest(5) == []


def test_the_listed_strategy_checks_its_configurations_against_the_space():
    base = {"name": "f", "program": {"command": ["python", "t.py"]},
            "hyperparameter_ranges": {"x": {"type": "categorical", "values": [1, 2]}},
            "objective": {"metric": "loss", "type": "minimize"}, "limits": {"max_jobs": 1}}
    with pytest.raises(SpecError, match=r"strategy.settings.configurations\[1\]"):
        TuningJobSpec.model_validate({**base, "strategy": {"name": "listed",
                                                           "settings": {"configurations": [{"x": 1}, {"x": 9}]}}})
    with pytest.raises(SpecError, match="needs a non-empty list of configurations"):
        TuningJobSpec.model_validate({**base, "strategy": {"name": "listed", "settings": {}}})
