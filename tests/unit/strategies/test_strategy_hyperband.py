"""The hyperband strategy: where its configurations come from (random, then the model of the best rung)."""

from __future__ import annotations

import pytest

from hyperjob.errors import SpecError
from hyperjob.records import Direction, Failed, Final, Intermediate, Objective, Pending
from hyperjob.space import ContinuousRange, SearchSpace
from hyperjob.strategies.hyperband import HyperbandStrategy, epochs_of, resolve_settings

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


def run_job(s, job, config, last_step, stopped=False):
    for step in range(1, last_step + 1):
        s.observe(Intermediate(config, step, curve(config, step), training_job=job))
    if stopped:
        s.observe(Intermediate(config, last_step, curve(config, last_step), training_job=job, stopped=True))
    else:
        s.observe(Final(config, curve(config, last_step), training_job=job))


def test_levels_and_max_resource_from_the_epochs_hyperparameter():
    s = HyperbandStrategy(SPACE, MAX, seed=0, n_initial=3)
    assert s.ladder.max_resource == 9 and s.ends_at == 9
    assert s.levels == (1, 3, 9)


def test_random_until_a_level_has_enough_values_then_the_highest_such_level():
    s = HyperbandStrategy(SPACE, MAX, seed=0, n_initial=3)
    assert s._model_level() is None
    configs = s.suggest(3)
    for i, c in enumerate(configs):  # three jobs stopped at rung 1, the first at level 3
        run_job(s, f"j{i}", c, 3 if i == 0 else 1, stopped=True)
    assert s._model_level() == 1  # 3 values at level 1, 1 at level 3
    more = s.suggest(2)
    for i, c in enumerate(more, start=3):
        run_job(s, f"j{i}", c, 3, stopped=True)
    assert s._model_level() == 3
    assert not s.pending  # stopped jobs are no longer pending


def test_the_model_steers_towards_the_best_region_at_its_level():
    s = HyperbandStrategy(SPACE, MAX, seed=1, n_initial=4)
    for i in range(8):
        config = {"x": (i + 0.5) / 8, "y": ((3 * i) % 8 + 0.5) / 8}
        s.observe(Pending(config, training_job=f"j{i}"))
        run_job(s, f"j{i}", config, 3, stopped=True)
    assert s._model_level() == 3
    xs = [c["x"] for c in s.suggest(3)]
    assert min(xs) > 0.5, xs


def test_lost_rung_values_do_not_count_as_reaching_a_level():
    s = HyperbandStrategy(SPACE, MAX, seed=0, n_initial=3)
    for i, c in enumerate(s.suggest(4)):  # four jobs stopped at rung 1: their values stand in at levels 3 and 9
        run_job(s, f"j{i}", c, 1, stopped=True)
    assert len(s._models[9]._ledger.stopped) == 4  # the model of level 9 learns where not to go ...
    assert s._model_level() == 1  # ... but only level 1 has values of jobs that reached it


def test_a_promoted_job_is_observed_once_at_each_level():
    """A job paused at rung 3 stands in at level 9 with its rung-3 value; promoted, that value is taken back, and
    level 9's model sees the value the job reaches there, once."""
    s = HyperbandStrategy(SPACE, MAX, seed=0, n_initial=3, promotions=True)
    config = s.suggest(1)[0]
    s.observe(Pending(config, training_job="j0"))
    run_job(s, "j0", config, 3, stopped=True)  # paused at rung 3
    level9 = s._models[9]
    assert [v for _, v in level9._ledger.stopped] == [curve(config, 3)] and len(level9._losses) == 1
    s.observe(Pending(config, training_job="j0"))  # promoted: resumed from epoch 3
    assert level9._ledger.stopped == [] and level9._losses == [] and len(level9.pending) == 1
    for step in range(4, 10):
        s.observe(Intermediate(config, step, curve(config, step), training_job="j0"))
    s.observe(Final(config, curve(config, 9), training_job="j0"))
    assert [v for _, v in level9._ledger.finals] == [curve(config, 9)] and level9._ledger.stopped == []
    assert len(level9._losses) == 1 and not level9.pending
    assert [len(s._models[level]._losses) for level in s.levels] == [1, 1, 1]


def test_retract_stopped_is_a_no_op_for_an_unknown_value():
    s = HyperbandStrategy(SPACE, MAX, seed=0, n_initial=3)
    model = s._models[9]
    assert model.retract_stopped({"x": 0.5, "y": 0.5}, 0.3) is False
    assert model._losses == [] and model._ledger.stopped == []


def test_random_model_never_fits_and_is_deterministic():
    a = HyperbandStrategy(SPACE, MAX, seed=3, model="random")
    b = HyperbandStrategy(SPACE, MAX, seed=3, model="random")
    for i, c in enumerate(a.suggest(4)):
        run_job(a, f"j{i}", c, 9)
    for i, c in enumerate(b.suggest(4)):
        run_job(b, f"j{i}", c, 9)
    assert a._model_level() is None and a.suggest(3) == b.suggest(3)


def test_parent_finals_and_failures_count_at_every_level():
    s = HyperbandStrategy(SPACE, MAX, seed=0, n_initial=3)
    for i in range(3):  # e.g. a warm start's parents: Final events without intermediate values
        s.observe(Final({"x": 0.1 * i, "y": 0.5}, 0.5 + 0.1 * i, training_job=f"parent-{i}"))
    s.observe(Failed({"x": 0.9, "y": 0.9}, "oom", training_job="parent-3"))
    assert s._model_level() == 9
    assert len(s.suggest(2)) == 2


@pytest.mark.parametrize("settings, message", [
    ({"model": "tpe"}, r"^strategy\.settings\.model: model must be one of bayesian, multifidelity, random, got 'tpe'"),
    ({"n_initial": 1}, r"^strategy\.settings\.n_initial: n_initial must be a whole number >= 2, got 1"),
    ({"min_resource": 9}, r"^strategy\.settings\.max_resource: max_resource must be greater than min_resource"),
])
def test_bad_settings(settings, message):
    with pytest.raises(SpecError, match=message):
        resolve_settings(SPACE, settings)


def test_epochs_of_reads_sagemakers_names_and_string_values():
    assert epochs_of(SearchSpace((), static={"n-epochs": "12"})) == ("n-epochs", 12)
    assert epochs_of(SearchSpace((), static={"num_epochs": 7.0})) == ("num_epochs", 7)
    assert epochs_of(SearchSpace((), static={"epoch": 7})) is None
