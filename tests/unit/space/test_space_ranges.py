"""Ranges, scaling, unit coordinates, increment grids, tiers and the search space."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from hyperjob.errors import SpecError
from hyperjob.space import (
    CategoricalRange,
    ContinuousRange,
    DiscreteRange,
    IntegerRange,
    Scaling,
    SearchSpace,
    Tier,
    increment_range,
    tuned_tiers,
    value_key,
)

RNG = np.random.default_rng(20240611)
#: unit points: random, the ends, just inside and outside them, and cell boundaries
UNIT_POINTS = np.concatenate(
    [RNG.random(2000), [0.0, 1.0, 0.5, 1e-12, 1 - 1e-12, -0.3, 1.7, np.nextafter(1.0, 0.0)], np.linspace(0, 1, 257)]
)

ALL_RANGES = [
    ContinuousRange("c_lin", min_value=-2.0, max_value=3.0, scaling="linear"),
    ContinuousRange("c_log", min_value=1e-5, max_value=1e-1, scaling="logarithmic"),
    ContinuousRange("c_rlog", min_value=0.9, max_value=0.9999, scaling="reverse_logarithmic"),
    IntegerRange("i_lin", min_value=-3, max_value=7, scaling="linear"),
    IntegerRange("i_log", min_value=1, max_value=1000, scaling="logarithmic"),
    DiscreteRange("d_p2", values=(16, 32, 64, 128), integer=True, scaling="logarithmic"),
    CategoricalRange("cat", values=("a", 1, 2.5, True, [10, 30])),
    increment_range("inc_float", 0.0, 0.5, integer=False, inc_strategy="linear", inc_val=0.1),
    increment_range("inc_int", 0, 8, integer=True, inc_strategy="linear", inc_val=2),
    increment_range("p2_float", 0.001, 0.01, integer=False, inc_strategy="power2"),
    increment_range("p2_int", 10, 100, integer=True, inc_strategy="power2"),
]


# -- unit coordinates ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("r", ALL_RANGES, ids=lambda r: r.name)
def test_every_from_unit_value_is_contained_by_its_range(r):
    for u in UNIT_POINTS:
        value = r.from_unit(float(u))
        assert r.contains(value), (r.name, u, value)
        assert r.coerce(value) == value or value_key(r.coerce(value)) == value_key(value)


@pytest.mark.parametrize("r", ALL_RANGES, ids=lambda r: r.name)
def test_to_unit_lies_in_unit_interval_and_round_trips(r):
    for u in UNIT_POINTS[:300]:
        value = r.from_unit(float(u))
        back = r.from_unit(r.to_unit(value))
        assert 0.0 <= r.to_unit(value) <= 1.0
        if isinstance(r, ContinuousRange):
            assert back == pytest.approx(value, rel=1e-9, abs=1e-12)
        else:
            assert value_key(back) == value_key(value)


@pytest.mark.parametrize(
    "r, expected",
    [
        (increment_range("a", 16, 128, integer=True, inc_strategy="power2"), (16, 32, 64, 128)),
        (increment_range("b", 10, 100, integer=True, inc_strategy="power2"), (16, 32, 64)),
        (increment_range("c", 128, 4096, integer=True, inc_strategy="power2"), (128, 256, 512, 1024, 2048, 4096)),
        (increment_range("d", 0.2, 3, integer=False, inc_strategy="power2"), (0.25, 0.5, 1.0, 2.0)),
        (increment_range("e", 1, 3, integer=True, inc_strategy="power2"), (1, 2)),
        (increment_range("f", 0, 8, integer=True, inc_strategy="linear", inc_val=2), (0, 2, 4, 6, 8)),
        (increment_range("g", 5, 30, integer=True, inc_strategy="linear", inc_val=5), (5, 10, 15, 20, 25, 30)),
        (increment_range("h", 0.0, 0.5, integer=False, inc_strategy="linear", inc_val=0.1),
         (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)),
        (increment_range("i", 0.1, 0.7, integer=False, inc_strategy="linear", inc_val=0.2), (0.1, 0.3, 0.5, 0.7)),
    ],
    ids=lambda x: getattr(x, "name", ""),
)
def test_increment_grids_produce_exactly_the_documented_values(r, expected):
    assert isinstance(r, DiscreteRange)
    assert r.values == expected
    assert all(type(v) is type(expected[0]) for v in r.values)
    drawn = {r.from_unit(float(u)) for u in UNIT_POINTS}
    assert drawn == set(expected)  # every value reachable, no other value ever produced


def test_int_linear_grid_with_step_one_is_every_integer():
    r = increment_range("num-epochs", 3, 30, integer=True, inc_strategy="linear", inc_val=1)
    assert isinstance(r, IntegerRange) and (r.min_value, r.max_value, r.scaling) == (3, 30, Scaling.LINEAR)
    assert {r.from_unit(float(u)) for u in UNIT_POINTS} == set(range(3, 31))


@pytest.mark.parametrize(
    "strategy, integer, cls, scaling",
    [
        ("linear", True, IntegerRange, Scaling.LINEAR),
        ("linear", False, ContinuousRange, Scaling.LINEAR),
        (None, False, ContinuousRange, Scaling.LINEAR),
        ("log", True, IntegerRange, Scaling.LOGARITHMIC),
        ("LOG", False, ContinuousRange, Scaling.LOGARITHMIC),
    ],
)
def test_increment_strategies_without_inc_val(strategy, integer, cls, scaling):
    r = increment_range("x", 1, 1000, integer=integer, inc_strategy=strategy)
    assert isinstance(r, cls) and r.scaling is scaling and (r.min_value, r.max_value) == (1, 1000)


def test_log_scaling_maps_geometric_mean_to_half():
    r = ContinuousRange("lr", min_value=1e-4, max_value=1e-1, scaling="logarithmic")
    assert r.to_unit(math.sqrt(1e-4 * 1e-1)) == pytest.approx(0.5, abs=1e-12)
    assert r.from_unit(0.5) == pytest.approx(math.sqrt(1e-4 * 1e-1), rel=1e-12)
    assert r.from_unit(0.25) == pytest.approx(10 ** (-4 + 0.75), rel=1e-9)  # a quarter of the decades


def test_reverse_log_scaling_maps_to_half_at_the_geometric_mean_of_one_minus_x():
    r = ContinuousRange("momentum", min_value=0.9, max_value=0.9999, scaling="reverse_logarithmic")
    assert r.from_unit(0.5) == pytest.approx(1 - math.sqrt(0.1 * 0.0001), rel=1e-12)
    assert r.to_unit(0.99) == pytest.approx(1 / 3, abs=1e-9)  # 1 - x = 0.01: one of three decades


def test_integers_get_equal_shares_of_the_unit_interval_when_linear():
    r = IntegerRange("n", min_value=1, max_value=7, scaling="linear")
    counts = Counter(r.from_unit(u) for u in (np.arange(7000) + 0.5) / 7000)
    assert set(counts) == set(range(1, 8))
    assert set(counts.values()) == {1000}
    assert [r.to_unit(k) for k in range(1, 8)] == pytest.approx([(k - 0.5) / 7 for k in range(1, 8)])


def test_log_integers_get_shares_proportional_to_their_log_cell():
    r = IntegerRange("n", min_value=1, max_value=8, scaling="logarithmic")
    n = 20_000
    counts = Counter(r.from_unit(u) for u in (np.arange(n) + 0.5) / n)
    total = math.log(8.5 / 0.5)
    for k in range(1, 9):  # a share is exact up to one grid point (1/n)
        assert counts[k] / n == pytest.approx(math.log((k + 0.5) / (k - 0.5)) / total, abs=1.5 / n)


def test_listed_ranges_give_each_value_one_nth():
    r = CategoricalRange("opt", values=("sgd", "adam", "rmsprop", "nag"))
    counts = Counter(r.from_unit(u) for u in (np.arange(4000) + 0.5) / 4000)
    assert set(counts.values()) == {1000}
    assert r.to_unit("adam") == pytest.approx(0.375)


# -- scaling -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "cls, lo, hi, expected",
    [
        (ContinuousRange, 1e-5, 1e-1, Scaling.LOGARITHMIC),
        (ContinuousRange, 1.0, 100.0, Scaling.LOGARITHMIC),  # exactly two decades
        (ContinuousRange, 1.0, 99.0, Scaling.LINEAR),
        (ContinuousRange, 0.0, 1e-1, Scaling.LINEAR),  # min 0: no log
        (ContinuousRange, 0.9, 0.9999, Scaling.REVERSE_LOGARITHMIC),
        (ContinuousRange, 0.0, 0.99, Scaling.REVERSE_LOGARITHMIC),
        (ContinuousRange, 0.0, 0.5, Scaling.LINEAR),
        (ContinuousRange, -1.0, 1.0, Scaling.LINEAR),
        (IntegerRange, 16, 4096, Scaling.LOGARITHMIC),
        (IntegerRange, 1, 10, Scaling.LINEAR),
        (IntegerRange, 0, 1000, Scaling.LINEAR),
    ],
)
def test_auto_scaling_rule(cls, lo, hi, expected):
    assert cls("x", min_value=lo, max_value=hi).scaling is expected
    assert cls("x", min_value=lo, max_value=hi, scaling="Auto").scaling is expected


@pytest.mark.parametrize(
    "text, expected",
    [("Logarithmic", Scaling.LOGARITHMIC), ("logarithmic", Scaling.LOGARITHMIC), ("log", Scaling.LOGARITHMIC),
     ("ReverseLogarithmic", Scaling.REVERSE_LOGARITHMIC), ("reverse_logarithmic", Scaling.REVERSE_LOGARITHMIC),
     ("linear", Scaling.LINEAR), (None, Scaling.AUTO), ("auto", Scaling.AUTO)],
)
def test_scaling_names(text, expected):
    assert Scaling.parse(text) is expected


# -- values ----------------------------------------------------------------------------------------------------
def test_value_identity_rules():
    cat = CategoricalRange("x", values=(1, "1", True, [1, 2]))
    assert cat.index(1.0) == 0 and cat.index("1") == 1 and cat.index(True) == 2 and cat.index((1, 2)) == 3
    assert not cat.contains(False) and not cat.contains(2)
    grid = DiscreteRange("g", values=(4, 1, 2), integer=True)
    assert grid.values == (1, 2, 4)
    assert grid.contains(np.int64(2)) and grid.contains(2.0) and not grid.contains(True)
    assert grid.coerce(4.0) == 4 and type(grid.coerce(4.0)) is int
    i = IntegerRange("i", min_value=0, max_value=10)
    assert i.contains(np.int64(3)) and i.contains(3.0) and not i.contains(3.5) and not i.contains(True)


def test_list_values_are_copied_out_so_a_configuration_cannot_mutate_the_range():
    r = CategoricalRange("fanout", values=([10, 30], [15, 30]))
    drawn = r.from_unit(0.1)
    drawn.append(99)
    assert r.values[0] == [10, 30]


def test_defaults_are_coerced_to_the_range_type():
    assert IntegerRange("i", min_value=0, max_value=4, default=2.0).default == 2
    assert type(ContinuousRange("c", min_value=0, max_value=4, default=2).default) is float
    assert CategoricalRange("c", values=(1, 2), default=2.0).default == 2


# -- tiers -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "max_jobs, tiers",
    [(1, {Tier.ONE}), (2, {Tier.ONE}), (10, {Tier.ONE}), (11, {Tier.ONE, Tier.TWO}), (50, {Tier.ONE, Tier.TWO}),
     (51, {Tier.ONE, Tier.TWO, Tier.THREE}), (500, {Tier.ONE, Tier.TWO, Tier.THREE})],
)
def test_tuned_tiers_boundaries(max_jobs, tiers):
    assert tuned_tiers(max_jobs) == tiers


def _tiered_space() -> SearchSpace:
    return SearchSpace(
        ranges=(
            ContinuousRange("lr", min_value=1e-4, max_value=1e-1, tier=Tier.ONE),
            ContinuousRange("dropout", min_value=0, max_value=0.5, default=0.3, tier="2"),
            DiscreteRange("batch", values=(128, 256, 512), integer=True, default=256, tier=3),
            ContinuousRange("wd", min_value=1e-3, max_value=1e-2, tier=Tier.TWO),
            CategoricalRange("opt", values=("adam", "sgd")),  # no tier: always tuned
        ),
        static={"epochs": 5},
        off_range_defaults={"wd": 0.0},
    )


@pytest.mark.parametrize(
    "max_jobs, tuned, static",
    [
        (10, ("lr", "opt"), {"epochs": 5, "dropout": 0.3, "batch": 256, "wd": 0.0}),
        (11, ("lr", "dropout", "wd", "opt"), {"epochs": 5, "batch": 256}),
        (50, ("lr", "dropout", "wd", "opt"), {"epochs": 5, "batch": 256}),
        (51, ("lr", "dropout", "batch", "wd", "opt"), {"epochs": 5}),
    ],
)
def test_for_budget_tunes_the_tiers_and_fixes_the_rest_at_their_defaults(max_jobs, tuned, static):
    space = _tiered_space().for_budget(max_jobs)
    assert space.names == tuned
    assert space.static == static
    assert set(space.off_range_defaults) == ({"wd"} if "wd" in tuned else set())


def test_for_budget_off_range_default_is_never_suggested():
    space = _tiered_space().for_budget(11)
    assert all(space["wd"].from_unit(u) >= 1e-3 for u in UNIT_POINTS)
    assert space.default_of("wd") == 0.0 and space.default_of("dropout") == 0.3


# -- the space -------------------------------------------------------------------------------------------------
def test_space_configurations():
    space = SearchSpace(
        ranges=(IntegerRange("n", min_value=1, max_value=3), CategoricalRange("act", values=("relu", "tanh"))),
        static={"epochs": 10},
    )
    assert space.validate({"n": 2.0, "act": "tanh", "epochs": 10}) == {"n": 2, "act": "tanh"}
    assert space.full({"n": 2, "act": "relu"}) == {"epochs": 10, "n": 2, "act": "relu"}
    assert space.key({"act": "relu", "n": 2}) == space.key({"n": 2, "act": "relu"})
    assert space.contains({"n": 3, "act": "relu"}) and not space.contains({"n": 4, "act": "relu"})
    assert space.cardinality == 6
    u = space.to_unit({"n": 3, "act": "relu"})
    assert u.shape == (2,) and space.from_unit(u) == {"n": 3, "act": "relu"}


def test_grid_enumerates_categorical_combinations_last_fastest():
    space = SearchSpace(ranges=(CategoricalRange("a", values=(1, 2)), CategoricalRange("b", values=("x", "y", "z"))))
    grid = list(space.grid())
    assert len(grid) == 6 and grid[0] == {"a": 1, "b": "x"} and grid[1] == {"a": 1, "b": "y"}
    assert grid[-1] == {"a": 2, "b": "z"}


def test_grid_refuses_a_non_categorical_range_at_once():
    space = SearchSpace(ranges=(CategoricalRange("a", values=(1, 2)), IntegerRange("n", min_value=1, max_value=3)))
    with pytest.raises(SpecError, match=r"hyperparameters\.n: grid search takes categorical ranges only"):
        space.grid()  # no iteration needed


def test_continuous_ends_are_exact_in_every_scaling():
    from hyperjob.space import ContinuousRange

    for scaling, lo, hi in (("logarithmic", 1e-6, 0.1), ("linear", 0.1, 0.7), ("reverse_logarithmic", 0.9, 0.9999)):
        r = ContinuousRange(name="v", min_value=lo, max_value=hi, scaling=scaling)
        assert r.from_unit(0.0) == lo and r.from_unit(-1.0) == lo
        assert r.from_unit(1.0) == hi and r.from_unit(2.0) == hi
