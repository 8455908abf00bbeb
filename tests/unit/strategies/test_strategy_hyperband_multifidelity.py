"""Hyperband's ``model: multifidelity``: one Gaussian process over (configuration, resource)."""

from __future__ import annotations

import numpy as np
import pytest

from hyperjob.errors import SpecError
from hyperjob.records import Direction, Failed, Final, Intermediate, Objective, Pending
from hyperjob.space import ContinuousRange, SearchSpace
from hyperjob.strategies.hyperband import HyperbandStrategy

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

MAX = Objective("acc", Direction.MAXIMIZE)
SPACE = SearchSpace(
    (ContinuousRange(name="x", min_value=0.0, max_value=1.0), ContinuousRange(name="y", min_value=0.0, max_value=1.0)),
    static={"epochs": 9},
)


def curve(config, step):
    """Accuracy rising with the epochs, best at x = 0.8 (any y)."""
    return 1.0 - (config["x"] - 0.8) ** 2 - 0.5 / step


def strategy(seed=0, n_initial=3, **settings):
    return HyperbandStrategy(SPACE, MAX, seed=seed, n_initial=n_initial, model="multifidelity", promotions=True,
                             **settings)


def train(s, job, config, first, last, pause=True):
    """Steps ``first..last`` of a training job, then its pause (a stopped value) or its end."""
    for step in range(first, last + 1):
        s.observe(Intermediate(config, step, curve(config, step), training_job=job))
    if pause:
        s.observe(Intermediate(config, last, curve(config, last), training_job=job, stopped=True))
    else:
        s.observe(Final(config, curve(config, last), training_job=job))


def points(s):
    """(resource coordinate, value) of the model's points, in arrival order."""
    return [(s.levels[k], -loss) for k, loss in zip(s._mf._level, s._mf._losses)]


def test_a_job_is_a_point_at_each_level_it_reached_once_and_never_a_stand_in():
    s = strategy()
    config = s.suggest(1)[0]
    s.observe(Pending(config, training_job="j0"))
    train(s, "j0", config, 1, 1)  # paused at rung 1
    assert points(s) == [(1, curve(config, 1))]  # no stand-in value at levels 3 and 9
    s.observe(Pending(config, training_job="j0"))  # promoted, resumed from epoch 1
    train(s, "j0", config, 2, 3)
    s.observe(Pending(config, training_job="j0"))
    train(s, "j0", config, 4, 9, pause=False)
    assert points(s) == [(1, curve(config, 1)), (3, curve(config, 3)), (9, curve(config, 9))]
    assert s._reached == {1: 1, 3: 1, 9: 1} and not s.pending


def test_a_final_without_intermediate_values_is_a_point_at_the_full_resource_and_failures_are_none():
    s = strategy()
    s.observe(Final({"x": 0.2, "y": 0.3}, 0.7, training_job="parent-1"))
    s.observe(Failed({"x": 0.4, "y": 0.3}, "out of memory", training_job="j1"))
    assert points(s) == [(9, 0.7)]
    assert s._reached == {1: 1, 3: 1, 9: 1}


def test_random_until_n_initial_jobs_reached_the_first_rung_then_the_model_steers_to_the_best_region():
    s = strategy(seed=1, n_initial=4)
    for i in range(8):
        config = {"x": (i + 0.5) / 8, "y": ((3 * i) % 8 + 0.5) / 8}
        s.observe(Pending(config, training_job=f"j{i}"))
        train(s, f"j{i}", config, 1, 1)  # every job paused at rung 1: the model knows level 1 only
    assert s._mf.points == 8
    xs = [c["x"] for c in s.suggest(3)]
    assert min(xs) > 0.5, xs  # the full resource is predicted from rung 1's values
    assert len({round(x, 9) for x in xs}) == 3  # the pending suggestions are believed: three different ones


def test_before_n_initial_the_suggestions_are_the_random_strategys():
    s = strategy(seed=3, n_initial=5)
    r = HyperbandStrategy(SPACE, MAX, seed=3, model="random", promotions=True)
    assert s.suggest(4) == r.suggest(4)
    assert s._mf.points == 0


def test_same_seed_same_calls_same_suggestions():
    def run():
        s = strategy(seed=4, n_initial=3)
        out = []
        for i in range(6):
            config = s.suggest(1)[0]
            out.append(config)
            s.observe(Pending(config, training_job=f"j{i}"))
            train(s, f"j{i}", config, 1, 3 if i % 2 else 1)
        return out + s.suggest(2)

    assert run() == run()


def test_a_bad_model_names_multifidelity_among_the_choices():
    with pytest.raises(SpecError, match="multifidelity"):
        HyperbandStrategy(SPACE, MAX, seed=0, model="gp-bandit")


def test_level_offsets_are_the_median_paired_rise_so_promoted_jobs_do_not_bias_them():
    """Values rise by about the same from rung 1 to rung 3 for every job that reached both; jobs seen at rung 1
    only (worse ones, not promoted) must not change the offset."""
    s = strategy()
    m = s._mf
    for i in range(6):
        config = {"x": i / 10, "y": 0.5}
        m.add(config, 1, 0.1 * i, f"j{i}")
        if i >= 3:  # the better half was promoted: 0.5 higher at rung 3
            m.add(config, 3, 0.1 * i + 0.5, f"j{i}")
    y = -np.array(m._losses)  # the values themselves (the offsets are read on the model's scale)
    offsets = m._offsets(np.arange(m.points), y)
    level = np.array(m._level)
    assert offsets[level == 0].tolist() == [0.0] * 6
    assert offsets[level == 1] == pytest.approx([0.5] * 3)


@pytest.mark.parametrize("model", ["bayesian", "multifidelity"])
def test_random_fraction_draws_that_share_of_new_configurations_at_random_once_a_model_is_used(model):
    s = HyperbandStrategy(SPACE, MAX, seed=2, n_initial=3, model=model, promotions=True, random_fraction=0.5)
    for i, c in enumerate(s.suggest(3)):
        s.observe(Pending(c, training_job=f"j{i}"))
        train(s, f"j{i}", c, 1, 1)
    calls = []
    source = s._mf if model == "multifidelity" else s._models[1]
    original = source.suggest
    source.suggest = lambda *a, **k: calls.append(1) or original(*a, **k)
    out = s.suggest(40)
    assert len(out) == 40 and len({s.space.key(c) for c in out}) == 40
    assert 10 <= len(calls) <= 30  # about half from the model, the rest from the random strategy


def test_random_fraction_must_be_in_zero_to_one():
    with pytest.raises(SpecError, match="random_fraction"):
        HyperbandStrategy(SPACE, MAX, seed=0, random_fraction=1.0)
