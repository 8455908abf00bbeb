"""RandomStrategy: Sobol start, own scaling per range, pure function of (seed, i), duplicates, bookkeeping."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import qmc

from hyperjob.errors import SpecError
from hyperjob.records import Direction, Failed, Final, Intermediate, Objective, Pending
from hyperjob.space import CategoricalRange, ContinuousRange, DiscreteRange, IntegerRange, SearchSpace
from hyperjob.strategies.random import RandomStrategy

MIN = Objective("loss")
MAX = Objective("accuracy", Direction.MAXIMIZE)


def unit_square() -> SearchSpace:
    return SearchSpace(
        (
            ContinuousRange(name="a", min_value=0.0, max_value=1.0, scaling="linear"),
            ContinuousRange(name="b", min_value=0.0, max_value=1.0, scaling="linear"),
        )
    )


def mixed() -> SearchSpace:
    return SearchSpace(
        (
            ContinuousRange(name="lr", min_value=1e-5, max_value=1.0, scaling="logarithmic"),
            IntegerRange(name="layers", min_value=1, max_value=8),
            CategoricalRange(name="act", values=("relu", "tanh", "gelu")),
            DiscreteRange(name="batch", values=(16, 32, 64, 128), integer=True),
        ),
        static={"epochs": 3},
    )


def finite() -> SearchSpace:  # 3 x 2 x 2 = 12 configurations
    return SearchSpace(
        (
            CategoricalRange(name="opt", values=("sgd", "adam", "rmsprop")),
            IntegerRange(name="k", min_value=1, max_value=2),
            CategoricalRange(name="bn", values=(True, False)),
        )
    )


# -- Sobol start -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_first_16_points_fill_every_cell_of_a_4x4_grid(seed: int) -> None:
    configs = RandomStrategy(unit_square(), MIN, seed=seed).suggest(16)
    cells = {(min(int(c["a"] * 4), 3), min(int(c["b"] * 4), 3)) for c in configs}
    assert len(cells) == 16


def test_plain_uniform_draws_usually_miss_cells() -> None:
    """The coverage test above can fail: 16 uniform draws leave cells of the 4x4 grid empty."""
    misses = 0
    for seed in range(5):
        u = np.random.default_rng(seed).random((16, 2))
        misses += len({(int(x * 4), int(y * 4)) for x, y in u}) < 16
    assert misses == 5


def test_sobol_draws_have_lower_discrepancy_than_uniform_draws() -> None:
    space = SearchSpace(tuple(ContinuousRange(name=f"x{i}", min_value=0.0, max_value=1.0, scaling="linear")
                              for i in range(4)))
    sobol, uniform = [], []
    for seed in range(8):
        configs = RandomStrategy(space, MIN, seed=seed).suggest(64)
        sobol.append(qmc.discrepancy(np.array([space.to_unit(c) for c in configs])))
        uniform.append(qmc.discrepancy(np.random.default_rng(seed).random((64, 4))))
    assert max(sobol) < np.median(uniform)
    assert np.mean(sobol) < 0.5 * np.mean(uniform)


def test_no_worse_than_plain_uniform_random_on_a_quadratic_at_every_budget() -> None:
    """Best-so-far squared distance to a target (in unit coordinates), mean over 200 seeds."""
    space = SearchSpace(
        (
            ContinuousRange(name="a", min_value=0.0, max_value=1.0, scaling="linear"),
            ContinuousRange(name="b", min_value=1e-4, max_value=1.0, scaling="logarithmic"),
            ContinuousRange(name="c", min_value=-1.0, max_value=1.0, scaling="linear"),
        )
    )
    target = np.array([0.3, 0.62, 0.81])
    ours, plain = np.zeros((200, 64)), np.zeros((200, 64))
    for seed in range(200):
        u = np.array([space.to_unit(c) for c in RandomStrategy(space, MIN, seed=seed).suggest(64)])
        v = np.random.default_rng(seed).random((64, 3))
        ours[seed] = np.minimum.accumulate(((u - target) ** 2).sum(axis=1))
        plain[seed] = np.minimum.accumulate(((v - target) ** 2).sum(axis=1))
    for budget in (2, 4, 8, 16, 32, 64):
        assert ours[:, budget - 1].mean() < plain[:, budget - 1].mean(), budget


# -- scaling ---------------------------------------------------------------------------------------------------
def test_each_range_is_drawn_in_its_own_scaling() -> None:
    configs = RandomStrategy(mixed(), MIN, seed=3).suggest(256)
    lrs = np.array([c["lr"] for c in configs])
    # log-uniform over [1e-5, 1] (five decades): a fifth of the draws per decade, half below 10^-2.5
    assert abs(np.mean(lrs < 10**-2.5) - 0.5) < 0.05
    assert abs(np.mean(lrs < 1e-4) - 0.2) < 0.05
    layers = [c["layers"] for c in configs]
    assert all(isinstance(v, int) for v in layers)
    counts = np.bincount(layers, minlength=9)[1:]
    assert counts.min() >= 256 / 8 - 8  # every integer gets its share
    assert {c["act"] for c in configs} == {"relu", "tanh", "gelu"}
    assert {c["batch"] for c in configs} == {16, 32, 64, 128}
    assert all(set(c) == {"lr", "layers", "act", "batch"} for c in configs)  # tuned only, no static


# -- a pure function of (seed, i) ------------------------------------------------------------------------------
def test_same_seed_same_suggestions_and_batches_do_not_matter() -> None:
    one = RandomStrategy(mixed(), MIN, seed=11).suggest(10)
    batched = RandomStrategy(mixed(), MIN, seed=11)
    assert batched.suggest(3) + batched.suggest(1) + batched.suggest(6) == one


def test_values_observed_do_not_change_the_draws() -> None:
    a, b = RandomStrategy(mixed(), MIN, seed=5), RandomStrategy(mixed(), MAX, seed=5)
    for i, (ca, cb) in enumerate(zip(a.suggest(4), b.suggest(4), strict=True)):
        a.observe(Final(ca, float(i)))
        b.observe(Failed(cb, "crash") if i % 2 else Final(cb, -100.0 * i))
    assert a.suggest(4) == b.suggest(4)


def test_different_seeds_give_different_suggestions() -> None:
    assert RandomStrategy(mixed(), MIN, seed=0).suggest(4) != RandomStrategy(mixed(), MIN, seed=1).suggest(4)


def test_resumed_strategy_continues_the_sequence() -> None:
    """A strategy rebuilt by replaying the store's events suggests what the first one would have next."""
    first = RandomStrategy(mixed(), MIN, seed=7)
    done = first.suggest(6)
    for i, c in enumerate(done[:4]):
        first.observe(Final(c, float(i)))
    following = first.suggest(4)

    resumed = RandomStrategy(mixed(), MIN, seed=7)
    for i, c in enumerate(done[:4]):  # the store's record: 4 completed, 2 still running
        resumed.observe(Pending(c))
        resumed.observe(Intermediate(c, step=1, value=float(i) + 1))
        resumed.observe(Final(c, float(i)))
    for c in done[4:]:
        resumed.observe(Pending(c))
    assert resumed.suggest(4) == following


def test_seed_none_draws_a_seed_that_reproduces_the_run() -> None:
    a = RandomStrategy(mixed(), MIN)
    assert isinstance(a.seed, int) and a.seed >= 0
    assert RandomStrategy(mixed(), MIN, seed=a.seed).suggest(5) == a.suggest(5)


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_bad_seed_is_a_spec_error(seed: object) -> None:
    with pytest.raises(SpecError, match=r"seed: the seed must be a non-negative integer"):
        RandomStrategy(mixed(), MIN, seed=seed)  # type: ignore[arg-type]


@pytest.mark.parametrize("n", [-1, 1.0, "2", None])
def test_bad_n_is_a_spec_error(n: object) -> None:
    with pytest.raises(SpecError, match="suggest"):
        RandomStrategy(mixed(), MIN, seed=0).suggest(n)  # type: ignore[arg-type]


def test_suggest_zero_returns_nothing_and_changes_nothing() -> None:
    s = RandomStrategy(mixed(), MIN, seed=2)
    assert s.suggest(0) == []
    assert s.suggest(2) == RandomStrategy(mixed(), MIN, seed=2).suggest(2)


# -- duplicates in finite spaces -------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(4))
def test_finite_space_every_configuration_before_any_repeat(seed: int) -> None:
    s = RandomStrategy(finite(), MIN, seed=seed)
    configs = s.suggest(12)
    assert len({finite().key(c) for c in configs}) == 12
    more = s.suggest(5)  # fully parallel: still n, repeats once everything is known
    assert len(more) == 5 and all(finite().contains(c) for c in more)


def test_configurations_known_from_events_are_skipped() -> None:
    space = finite()
    everything = [dict(opt=o, k=k, bn=b) for o in ("sgd", "adam", "rmsprop") for k in (1, 2) for b in (True, False)]
    s = RandomStrategy(space, MIN, seed=0)
    for i, c in enumerate(everything[:9]):
        s.observe(Pending(c) if i % 3 == 0 else (Final(c, 1.0) if i % 3 == 1 else Failed(c, "oom")))
    rest = s.suggest(3)
    assert sorted(map(space.key, rest)) == sorted(map(space.key, everything[9:]))


def test_one_dimensional_categorical_space() -> None:
    space = SearchSpace((CategoricalRange(name="c", values=tuple("abcde")),))
    assert sorted(c["c"] for c in RandomStrategy(space, MIN, seed=9).suggest(5)) == list("abcde")


def test_space_without_tuned_hyperparameters() -> None:
    s = RandomStrategy(SearchSpace((), static={"epochs": 2}), MIN, seed=0)
    assert s.suggest(2) == [{}, {}]


# -- bookkeeping -----------------------------------------------------------------------------------------------
def test_pending_multiset() -> None:
    space = mixed()
    s = RandomStrategy(space, MIN, seed=1)
    a, b, c = s.suggest(3)
    assert len(s.pending) == 3
    s.observe(Pending(a))  # the tuner registering a suggestion it launched: not counted twice
    assert len(s.pending) == 3
    s.observe(Final(a, 0.5))
    s.observe(Failed(b, "exit code 1"))
    assert [space.key(x) for x in s.pending] == [space.key(c)]
    outside = space.from_unit([0.5, 0.5, 0.5, 0.5])
    s.observe(Pending(outside))
    s.observe(Pending(outside))  # the same configuration running twice
    assert len(s.pending) == 3
    s.observe(Final(outside, 1.0))
    assert len(s.pending) == 2
    s.observe(Final(outside, 1.0))
    s.observe(Final(outside, 1.0))  # more results than launches: never negative
    assert [space.key(x) for x in s.pending] == [space.key(c)]


def test_events_for_configurations_never_suggested_are_accepted() -> None:
    space = mixed()
    s = RandomStrategy(space, MIN, seed=4)
    s.observe(Intermediate({"lr": 0.01, "layers": 3.0, "act": "relu", "batch": 32}, step=2, value=0.4))
    s.observe(Final({"lr": 0.01, "layers": 3, "act": "relu", "batch": 32, "epochs": 3}, 0.3))
    s.observe(Final({"lr": 7.0, "layers": 99, "act": "swish", "batch": 3}, 0.1))  # a parent's wider ranges
    assert all(space.contains(c) for c in s.suggest(4))


def test_event_missing_a_hyperparameter_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match=r"hyperparameters\.batch.*lacks the tuned hyperparameter 'batch'"):
        RandomStrategy(mixed(), MIN, seed=0).observe(Final({"lr": 0.1, "layers": 2, "act": "relu"}, 1.0))


def test_observe_rejects_what_is_not_an_event() -> None:
    with pytest.raises(SpecError, match="observe takes a Pending, Intermediate, Final or Failed event"):
        RandomStrategy(mixed(), MIN, seed=0).observe({"lr": 0.1})  # type: ignore[arg-type]


@pytest.mark.parametrize("objective, expected", [(MIN, 1.0), (MAX, 3.0)])
def test_best_follows_the_objective_direction(objective: Objective, expected: float) -> None:
    s = RandomStrategy(mixed(), objective, seed=0)
    configs = s.suggest(4)
    for c, v in zip(configs, (2.0, 1.0, 3.0), strict=False):
        s.observe(Final(c, v))
    s.observe(Final(configs[3], math.nan))  # not a value: finished without one
    assert s.best is not None and s.best[1] == expected
    assert s.best[0] == configs[(2.0, 1.0, 3.0).index(expected)]
