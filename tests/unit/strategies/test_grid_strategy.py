"""GridStrategy, grid_size and check_grid_budget."""

from __future__ import annotations

import itertools

import pytest

from hyperjob.errors import SpecError
from hyperjob.records import Direction, Failed, Final, Intermediate, Objective, Pending
from hyperjob.space import CategoricalRange, ContinuousRange, DiscreteRange, IntegerRange, SearchSpace
from hyperjob.strategies.grid import GridStrategy, check_grid_budget, grid_size

MIN = Objective("loss")
OPT = ("sgd", "adam", "rmsprop")
LR = (0.1, 0.01)
BN = (True, False, "auto")


def space() -> SearchSpace:  # 3 x 2 x 3 = 18 combinations
    return SearchSpace(
        (
            CategoricalRange(name="opt", values=OPT),
            CategoricalRange(name="lr", values=LR),
            CategoricalRange(name="bn", values=BN),
        ),
        static={"epochs": 5},
    )


def expected_order() -> list[dict]:
    return [dict(opt=o, lr=lr, bn=bn) for o, lr, bn in itertools.product(OPT, LR, BN)]


def test_every_combination_once_in_order() -> None:
    g = GridStrategy(space(), MIN)
    assert g.size == grid_size(space()) == 18
    got = g.suggest(5) + g.suggest(1) + g.suggest(100)
    assert got == expected_order()
    assert g.suggest(3) == [] and g.remaining == 0


def test_fewer_when_the_grid_runs_out() -> None:
    g = GridStrategy(space(), MIN)
    assert len(g.suggest(16)) == 16
    assert g.suggest(4) == expected_order()[16:]
    assert g.suggest(1) == []


def test_order_does_not_depend_on_the_seed_or_the_values() -> None:
    a, b = GridStrategy(space(), MIN, seed=0), GridStrategy(space(), Objective("acc", Direction.MAXIMIZE), seed=99)
    for c in a.suggest(3):
        a.observe(Final(c, 1.0))
    for c in b.suggest(3):
        b.observe(Failed(c, "oom"))
    assert a.suggest(20) == b.suggest(20) == expected_order()[3:]


def test_resume_replay_skips_what_the_store_holds() -> None:
    order = expected_order()
    g = GridStrategy(space(), MIN, seed=1)
    for i, c in enumerate(order[:6]):  # what the store replays: done, failed, running, early-stopped
        if i % 3 == 0:
            g.observe(Pending(c))
            g.observe(Final(c, 0.5))
        elif i % 3 == 1:
            g.observe(Failed(c, "exit code 1"))
        else:
            g.observe(Pending(c))
            g.observe(Intermediate(c, step=2, value=0.7))
    g.observe(Final(order[10], 0.2))  # out of order, e.g. run by the user
    assert g.remaining == 18 - 7
    assert g.suggest(100) == order[6:10] + order[11:]
    assert len(g.pending) == 11 + 2  # the new suggestions plus the two replayed as running


def test_events_with_equal_values_of_other_types_match() -> None:
    g = GridStrategy(SearchSpace((CategoricalRange(name="k", values=(1, 2, 3)),)), MIN)
    g.observe(Final({"k": 2.0}, 1.0))  # 2.0 is the listed value 2
    assert [c["k"] for c in g.suggest(3)] == [1, 3]


def test_configurations_outside_the_grid_are_accepted_and_change_nothing() -> None:
    g = GridStrategy(space(), MIN)
    g.observe(Final({"opt": "adagrad", "lr": 0.5, "bn": None}, 0.1))
    assert g.remaining == 18 and g.suggest(18) == expected_order()


def test_no_duplicates_with_interleaved_events() -> None:
    g = GridStrategy(space(), MIN)
    seen: list[str] = []
    while batch := g.suggest(4):
        for c in batch:
            g.observe(Final(c, 0.0) if len(seen) % 2 else Failed(c))
            seen.append(space().key(c))
    assert len(seen) == len(set(seen)) == 18


def test_list_values_and_a_single_value() -> None:
    s = SearchSpace(
        (CategoricalRange(name="layers", values=([64, 64], [128])), CategoricalRange(name="act", values=("relu",)))
    )
    assert GridStrategy(s, MIN).suggest(5) == [{"layers": [64, 64], "act": "relu"}, {"layers": [128], "act": "relu"}]


@pytest.mark.parametrize(
    "bad, kind",
    [
        (ContinuousRange(name="lr", min_value=1e-4, max_value=1e-1), "continuous"),
        (IntegerRange(name="lr", min_value=1, max_value=4), "integer"),
        (DiscreteRange(name="lr", values=(16, 32), integer=True), "discrete"),
    ],
)
def test_non_categorical_range_is_a_spec_error(bad, kind: str) -> None:
    s = SearchSpace((CategoricalRange(name="opt", values=OPT), bad))
    match = rf"^hyperparameters\.lr: grid search takes categorical ranges only, but 'lr' is a {kind} range\. .*'random'"
    with pytest.raises(SpecError, match=match):
        GridStrategy(s, MIN)
    with pytest.raises(SpecError, match=match):
        grid_size(s)
    with pytest.raises(SpecError, match=match):
        check_grid_budget(s, None)


def test_check_grid_budget() -> None:
    assert check_grid_budget(space(), None) == 18
    assert check_grid_budget(space(), 18) == 18
    with pytest.raises(SpecError) as info:
        check_grid_budget(space(), 20)
    err = info.value
    assert err.path == "limits.max_jobs"
    assert "18 training jobs" in str(err) and "max_jobs is 20" in str(err) and "3 opt x 2 lr x 3 bn" in str(err)
    assert "Set max_jobs to 18" in str(err)


@pytest.mark.parametrize("max_jobs", [18.0, "18", True])
def test_check_grid_budget_needs_a_whole_number(max_jobs: object) -> None:
    with pytest.raises(SpecError, match=r"^limits\.max_jobs: max_jobs must be a whole number"):
        check_grid_budget(space(), max_jobs)  # type: ignore[arg-type]


def test_no_tuned_hyperparameters_is_one_training_job() -> None:
    s = SearchSpace((), static={"epochs": 1})
    assert check_grid_budget(s, 1) == 1
    assert GridStrategy(s, MIN).suggest(3) == [{}]


def test_bad_seed_and_n() -> None:
    with pytest.raises(SpecError, match="seed"):
        GridStrategy(space(), MIN, seed=-3)
    with pytest.raises(SpecError, match="suggest"):
        GridStrategy(space(), MIN).suggest(-1)


def test_best_with_failures() -> None:
    g = GridStrategy(space(), Objective("acc", Direction.MAXIMIZE))
    a, b, c = g.suggest(3)
    g.observe(Final(a, 0.7))
    g.observe(Failed(b, "oom"))
    g.observe(Final(c, 0.9))
    assert g.best == (c, 0.9)
