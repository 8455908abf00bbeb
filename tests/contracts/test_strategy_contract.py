"""The Strategy contract, run against every registered strategy that can be imported.

random and bayesian run on a mixed space (log-scaled continuous, integer, categorical, increment grid); grid on
a categorical one. bayesian joins once ``hyperjob.strategies.bayesian`` exists (``pytest.importorskip`` is
used for that module only). hyperband (model-based, with max_resource 9) takes the same contract: fed ``Final``
events only, it treats each as a value at every resource level. The optional abilities are declared members of
the protocol: ``stopper()`` (a new stopper, exactly when the registry entry says the strategy stops training
jobs itself) and ``extend_initial_design(n)``.

Run as a script (``python test_strategy_contract.py '{"names": [...], "seed": 0}'``), this file prints the
suggestions of a fixed sequence of calls as JSON: the determinism test runs it in fresh processes.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from typing import Any, Callable

import pytest

from hyperjob.records import Direction, Failed, Final, Intermediate, Objective, Pending
from hyperjob.space import CategoricalRange, ContinuousRange, DiscreteRange, IntegerRange, SearchSpace
from hyperjob.stopping.base import EarlyStopper
from hyperjob.strategies.base import Strategy
from hyperjob.strategies.registry import create_strategy, strategy_entry

NAMES = ["random", "grid", "bayesian", "hyperband"]
#: strategies whose suggestions follow the values observed (the others must ignore them)
ADAPTIVE = {"bayesian", "hyperband"}
#: strategies whose suggestions do not depend on the seed
SEEDLESS = {"grid"}

MIN = Objective("loss")
MAX = Objective("accuracy", Direction.MAXIMIZE)


def mixed_space() -> SearchSpace:
    return SearchSpace(
        (
            ContinuousRange(name="lr", min_value=1e-5, max_value=1e-1, scaling="logarithmic"),
            IntegerRange(name="layers", min_value=1, max_value=6),
            CategoricalRange(name="act", values=("relu", "tanh", "gelu")),
            DiscreteRange(name="batch", values=(16, 32, 64, 128), integer=True),
        ),
        static={"epochs": 2},
    )


def categorical_space() -> SearchSpace:  # 3 x 4 x 2 = 24 combinations
    return SearchSpace(
        (
            CategoricalRange(name="opt", values=("sgd", "adam", "rmsprop")),
            CategoricalRange(name="lr", values=(0.3, 0.1, 0.03, 0.01)),
            CategoricalRange(name="bn", values=(True, False)),
        ),
        static={"epochs": 2},
    )


def small_space() -> SearchSpace:  # 3 x 2 = 6 configurations, fine for every strategy
    return SearchSpace(
        (
            CategoricalRange(name="opt", values=("sgd", "adam", "rmsprop")),
            CategoricalRange(name="bn", values=(True, False)),
        )
    )


def settings_for(name: str) -> dict[str, Any]:
    """Settings a strategy needs on every space here (hyperband: a max_resource, as no space has epochs)."""
    return {"max_resource": 9} if name == "hyperband" else {}


def space_for(name: str) -> SearchSpace:
    return categorical_space() if name == "grid" else mixed_space()


def value_of(space: SearchSpace, config: dict) -> float:
    """A deterministic objective value: a bowl in unit coordinates, lowest near the middle."""
    u = space.to_unit(config)
    return float(sum((x - 0.4) ** 2 for x in u))


def key(space: SearchSpace, config: dict) -> str:
    return space.key(config)


# -- fixtures ---------------------------------------------------------------------------------------------------
@pytest.fixture(params=NAMES)
def name(request: pytest.FixtureRequest) -> str:
    if request.param in ("bayesian", "hyperband"):
        pytest.importorskip("hyperjob.strategies.bayesian")
        import torch

        torch.set_num_threads(1)
    return request.param


@pytest.fixture
def make(name: str) -> Callable[..., Strategy]:
    def build(space: SearchSpace | None = None, objective: Objective = MIN, seed: int | None = 0) -> Strategy:
        space = space if space is not None else space_for(name)
        return create_strategy(name, space, objective, seed=seed, **settings_for(name))

    return build


# -- the contract -----------------------------------------------------------------------------------------------
def test_is_a_strategy(make: Callable[..., Strategy]) -> None:
    s = make()
    assert isinstance(s, Strategy)
    assert s.objective is MIN and isinstance(s.space, SearchSpace)


def test_suggestions_are_always_in_the_space(make: Callable[..., Strategy]) -> None:
    s = make()
    space = s.space
    for round_ in range(3):
        batch = s.suggest(3)
        assert len(batch) == 3
        for config in batch:
            assert space.contains(config), config
            assert set(config) == set(space.names)  # tuned hyperparameters only, no static ones
        s.observe(Final(batch[0], value_of(space, batch[0])))
        s.observe(Final(batch[1], value_of(space, batch[1])))
        s.observe(Failed(batch[2], "exit code 1") if round_ else Intermediate(batch[2], step=1, value=1.0))


def test_suggest_4_gives_4_distinct_configurations(make: Callable[..., Strategy]) -> None:
    s = make()
    space = s.space
    first = s.suggest(4)
    assert len(first) == 4 and len({key(space, c) for c in first}) == 4
    for config in first:
        s.observe(Final(config, value_of(space, config)))
    for config in s.suggest(2):  # enough finals for a model-based strategy to use its model from here
        s.observe(Final(config, value_of(space, config)))
    later = s.suggest(4)
    assert len(later) == 4 and len({key(space, c) for c in later}) == 4


def test_pending_configurations_are_not_suggested_again(make: Callable[..., Strategy]) -> None:
    s = make()
    space = s.space
    running = s.suggest(3)
    more = s.suggest(3)  # nothing observed: the first three are still running
    assert len({key(space, c) for c in running + more}) == 6
    for config in running:
        s.observe(Final(config, value_of(space, config)))
    s.observe(Pending(more[0]))  # the tuner registering what it launched: no double count
    assert {key(space, c) for c in s.pending} == {key(space, c) for c in more}  # type: ignore[attr-defined]
    later = s.suggest(3)
    assert not {key(space, c) for c in running + more} & {key(space, c) for c in later}


def test_pending_events_in_a_finite_space_leave_the_rest(make: Callable[..., Strategy]) -> None:
    space = small_space()
    s = make(space)
    everything = [{"opt": o, "bn": b} for o in ("sgd", "adam", "rmsprop") for b in (True, False)]
    for config in everything[:3]:
        s.observe(Pending(config))  # running (e.g. replayed on resume), never suggested here
    s.observe(Final(everything[3], 0.5))
    rest = s.suggest(2)
    assert sorted(key(space, c) for c in rest) == sorted(key(space, c) for c in everything[4:])


def test_failures_never_crash(make: Callable[..., Strategy]) -> None:
    s = make()
    space = s.space
    for config in s.suggest(4):
        s.observe(Failed(config, "CUDA out of memory"))
    assert all(space.contains(c) for c in s.suggest(2))  # only failures so far
    batch = s.suggest(6)
    for config in batch[:4]:
        s.observe(Final(config, value_of(space, config)))
    s.observe(Final(batch[4], math.nan))  # no value: finished without one
    s.observe(Failed(batch[5]))
    s.observe(Failed(batch[5], "reported twice"))
    after = s.suggest(3)
    assert len(after) == 3 and all(space.contains(c) for c in after)


def test_events_for_configurations_never_suggested(make: Callable[..., Strategy], name: str) -> None:
    s = make()
    space = s.space
    external = [space.from_unit([0.1 + 0.2 * i] * space.dim) for i in range(4)]
    s.observe(Intermediate(external[0], step=1, value=2.0))
    s.observe(Final(external[0], value_of(space, external[0])))
    s.observe(Final({**external[1], "epochs": 2}, value_of(space, external[1])))  # static values are ignored
    s.observe(Failed(external[2], "killed"))
    s.observe(Pending(external[3]))
    later = s.suggest(3)
    assert len(later) == 3 and all(space.contains(c) for c in later)
    assert not {key(space, c) for c in external} & {key(space, c) for c in later}


@pytest.mark.parametrize("objective", [MIN, MAX], ids=["minimize", "maximize"])
def test_the_objective_direction_is_respected(name: str, objective: Objective) -> None:
    """Maximize and minimize both work: an adaptive strategy heads for the better end; the others ignore values."""
    if name in ADAPTIVE:
        space = SearchSpace(
            (
                ContinuousRange(name="x", min_value=0.0, max_value=1.0, scaling="linear"),
                ContinuousRange(name="y", min_value=0.0, max_value=1.0, scaling="linear"),
            )
        )
        s = create_strategy(name, space, objective, seed=0, **settings_for(name))
        for i in range(8):
            x, y = (i + 0.5) / 8, ((3 * i) % 8 + 0.5) / 8
            s.observe(Final({"x": x, "y": y}, x))  # the value grows with x and ignores y
        xs = [c["x"] for c in s.suggest(2)]
        if objective.maximize:
            assert min(xs) > 0.5, xs
        else:
            assert max(xs) < 0.5, xs
        return
    space = space_for(name)
    a = create_strategy(name, space, objective, seed=4, **settings_for(name))
    b = create_strategy(name, space, objective, seed=4, **settings_for(name))
    for i, (ca, cb) in enumerate(zip(a.suggest(5), b.suggest(5), strict=True)):
        assert ca == cb
        a.observe(Final(ca, float(i)))
        b.observe(Final(cb, -float(i) * 10.0))  # the opposite ranking
    assert a.suggest(5) == b.suggest(5)


def test_a_one_dimensional_space(make: Callable[..., Strategy], name: str) -> None:
    if name == "grid":
        space = SearchSpace((CategoricalRange(name="x", values=tuple(range(12))),))
    else:
        space = SearchSpace((ContinuousRange(name="x", min_value=0.0, max_value=1.0, scaling="linear"),))
    s = make(space)
    for _ in range(3):
        batch = s.suggest(3)
        assert len(batch) == 3 and all(space.contains(c) for c in batch)
        assert len({key(space, c) for c in batch}) == 3
        for config in batch:
            s.observe(Final(config, (space.to_unit(config)[0] - 0.3) ** 2))


def test_a_stopper_exactly_when_its_entry_says_it_stops_training_jobs(make: Callable[..., Strategy], name: str) -> None:
    s = make()
    first, second = s.stopper(), s.stopper()
    if strategy_entry(name).stops_training_jobs:
        assert isinstance(first, EarlyStopper) and isinstance(second, EarlyStopper)
        assert first is not second  # a new one each time: no state shared between two tuners
        assert first.name
    else:
        assert first is None and second is None


def test_an_extended_initial_design_draws_on(make: Callable[..., Strategy], name: str) -> None:
    """After ``extend_initial_design(n)``, a model-based strategy keeps drawing its initial design (the random
    strategy's draws under the same seed) past its usual size; the others suggest what they would anyway."""
    space = space_for(name)
    s = make()
    s.extend_initial_design(50)
    reference = create_strategy("random", space, MIN, seed=0) if name in ADAPTIVE else make()
    for _ in range(3):  # 9 results: past the default initial design of every model-based strategy here
        batch = s.suggest(3)
        assert batch == reference.suggest(3)
        for config in batch:
            s.observe(Final(config, value_of(space, config)))
            reference.observe(Final(config, value_of(space, config)))


# -- determinism in a fresh process -----------------------------------------------------------------------------
def scripted_run(name: str, seed: int) -> list[list[dict]]:
    """A fixed sequence of calls; returns the three batches of suggestions."""
    space = space_for(name)
    s = create_strategy(name, space, MIN, seed=seed, **settings_for(name))
    first = s.suggest(3)
    for config in first:
        s.observe(Final(config, value_of(space, config)))
    s.observe(Pending(space.from_unit([0.9] * space.dim)))
    second = s.suggest(3)
    for config in second[:2]:
        s.observe(Final(config, value_of(space, config)))
    s.observe(Failed(second[2], "oom"))
    third = s.suggest(2)  # past the initial design of a model-based strategy
    return [first, second, third]


def available_names() -> list[str]:
    return [n for n in NAMES
            if n not in ("bayesian", "hyperband") or importlib.util.find_spec("hyperjob.strategies.bayesian")]


@pytest.fixture(scope="module")
def fresh_runs() -> dict[str, dict[str, Any]]:
    """The scripted run in three fresh processes (started together): seed 0 twice, seed 1 once."""
    names = available_names()
    procs = {
        label: subprocess.Popen(
            [sys.executable, __file__, json.dumps({"names": names, "seed": seed})],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # a different hash seed per process: nothing may depend on set or dict-of-str order
            env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": str(hash_seed)},
        )
        for label, seed, hash_seed in (("a", 0, 1), ("b", 0, 2), ("other", 1, 3))
    }
    runs = {}
    for label, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr[-3000:]
        runs[label] = json.loads(stdout)
    return runs


def test_deterministic_in_a_fresh_process(name: str, fresh_runs: dict[str, dict[str, Any]]) -> None:
    a, b, other = (fresh_runs[k][name] for k in ("a", "b", "other"))
    assert [len(batch) for batch in a] == [3, 3, 2]
    assert a == b
    if name in SEEDLESS:
        assert other == a
    else:
        assert other[0] != a[0] and other[2] != a[2]
    assert a == json.loads(json.dumps(scripted_run(name, 0)))  # and the same as in this process


if __name__ == "__main__":
    request = json.loads(sys.argv[1])
    if {"bayesian", "hyperband"} & set(request["names"]):
        import torch

        torch.set_num_threads(1)
    print(json.dumps({n: scripted_run(n, request["seed"]) for n in request["names"]}))
