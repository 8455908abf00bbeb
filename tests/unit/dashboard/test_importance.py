"""fANOVA main effects over a random forest: checked against functions whose variance decomposition is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hyperjob.dashboard.importance import fanova_importance, tree_main_effects


def test_exact_decomposition_of_a_piecewise_constant_function():
    # f = 1 on x0 < 0.5 else 0, plus 2 on x1 < 0.25: the four boxes of the product of the two splits
    lo = np.array([[0, 0], [0.5, 0], [0, 0.25], [0.5, 0.25]])
    hi = np.array([[0.5, 0.25], [1, 0.25], [0.5, 1], [1, 1]])
    values = np.array([3.0, 2.0, 1.0, 0.0])
    effects, total = tree_main_effects(lo, hi, values)
    assert effects[0] == pytest.approx(0.25)  # var of a 0/1 step at 0.5
    assert effects[1] == pytest.approx(4 * 0.25 * 0.75)  # var of 2 * Bernoulli(0.25)
    assert total == pytest.approx(effects.sum())  # additive: no interaction


def test_forest_shares_match_the_analytic_ones():
    rng = np.random.default_rng(1)
    x = rng.random((1500, 4))
    y = 10 * x[:, 0] + 2 * np.sin(6 * x[:, 1]) + rng.normal(0, 0.05, len(x))
    result = fanova_importance(x, y, ["a", "b", "c", "d"], n_trees=16, seed=0)
    var_a = 100 / 12
    var_b = 4 * ((0.5 - math.sin(12) / 24) - ((1 - math.cos(6)) / 6) ** 2)
    assert result.shares["a"] == pytest.approx(var_a / (var_a + var_b), abs=0.03)
    assert result.shares["b"] == pytest.approx(var_b / (var_a + var_b), abs=0.03)
    assert result.shares["c"] < 0.01 and result.shares["d"] < 0.01
    assert result.n == 1500


def test_a_pure_interaction_has_no_main_effect():
    rng = np.random.default_rng(2)
    x = rng.random((1000, 2))
    y = (x[:, 0] - 0.5) * (x[:, 1] - 0.5)
    result = fanova_importance(x, y, ["a", "b"], n_trees=16)
    assert max(result.shares.values()) < 0.05 and result.interactions > 0.9


def test_too_little_data_or_a_constant_objective_gives_zeros():
    assert fanova_importance(np.zeros((2, 1)), [1.0, 2.0], ["a"]).shares == {"a": 0.0}
    flat = fanova_importance(np.random.default_rng(0).random((10, 2)), [1.0] * 10, ["a", "b"])
    assert flat.shares == {"a": 0.0, "b": 0.0} and flat.interactions == 0.0


def test_same_data_same_seed_same_answer():
    rng = np.random.default_rng(3)
    x, y = rng.random((300, 3)), rng.random(300)
    assert fanova_importance(x, y, ["a", "b", "c"], seed=4) == fanova_importance(x, y, ["a", "b", "c"], seed=4)
