"""The public ask/tell API."""

from __future__ import annotations

import importlib.util
import math
import sys

import numpy as np
import pytest

import hyperjob
from hyperjob import AskTell, Suggestion
from hyperjob.errors import SpecError, StrategyError
from hyperjob.records import Direction, Objective
from hyperjob.space import CategoricalRange, ContinuousRange, IntegerRange, Scaling, SearchSpace
from hyperjob.strategies.asktell import _ranges_from_dict

SPACE = {
    "x": {"type": "continuous", "min_value": -3.0, "max_value": 3.0, "scaling": "linear"},
    "y": {"type": "continuous", "min": -3.0, "max": 3.0, "scaling": "linear"},
    "epochs": 4,
}

LOOP_STRATEGIES = ["random"]
if importlib.util.find_spec("hyperjob.strategies.bayesian") is not None:
    LOOP_STRATEGIES.append("bayesian")


def quadratic(x: float, y: float, **_: object) -> float:
    return (x - 1.2) ** 2 + (y + 0.7) ** 2


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    if importlib.util.find_spec("torch") is not None and "torch" in sys.modules:
        import torch

        torch.set_num_threads(1)


def test_public_names() -> None:
    assert {"AskTell", "Suggestion"} <= set(hyperjob.__all__)
    assert hyperjob.AskTell is AskTell


@pytest.mark.parametrize("strategy", LOOP_STRATEGIES)
def test_a_loop_on_a_quadratic_improves_on_its_first_draws(strategy: str) -> None:
    at = AskTell(SPACE, objective="loss", strategy=strategy, seed=0)
    values = []
    for _ in range(16):
        s = at.ask()
        values.append(quadratic(**s.full_config))
        at.tell(s, values[-1])
    assert min(values[4:]) < min(values[:4])
    assert at.best is not None and at.best[1] == min(values) < 1.0
    assert len(at.results) == 16 and at.pending == []


def test_maximize_picks_the_largest_value() -> None:
    at = AskTell(SPACE, objective="accuracy", maximize=True, seed=1, strategy="random")
    told = {}
    for s in at.ask(5):
        told[s.id] = -quadratic(**s.config)
        at.tell(s, {"accuracy": told[s.id], "loss": 1.0})
    best_id = max(told, key=told.get)
    assert at.best == (at.results[best_id][0].config, told[best_id])
    assert at.objective.direction is Direction.MAXIMIZE


def test_minimize_is_the_default_and_best_is_the_smallest() -> None:
    at = AskTell(SPACE, objective="loss", seed=1, strategy="random")
    batch = at.ask(5)
    for s, v in zip(batch, (3.0, 1.0, 2.0, 1.0, 5.0), strict=True):
        at.tell(s, v)
    assert at.best == (batch[1].config, 1.0)  # the earliest on ties


def test_ask_one_or_many() -> None:
    at = AskTell(SPACE, seed=0, strategy="random")
    one = at.ask()
    many = at.ask(4)
    assert isinstance(one, Suggestion) and isinstance(many, list) and len(many) == 4
    assert [s.id for s in [one, *many]] == [0, 1, 2, 3, 4]
    assert len({(s.config["x"], s.config["y"]) for s in [one, *many]}) == 5
    assert one.full_config["epochs"] == 4 and "epochs" not in one.config
    assert len(at.pending) == 5


def test_ask_is_reproducible_with_a_seed() -> None:
    first = [s.config for s in AskTell(SPACE, seed=5, strategy="random").ask(3)]
    assert first == [s.config for s in AskTell(SPACE, seed=5, strategy="random").ask(3)]
    assert first != [s.config for s in AskTell(SPACE, seed=6, strategy="random").ask(3)]


def test_intermediate_values_keep_a_suggestion_pending() -> None:
    at = AskTell(SPACE, seed=0, strategy="random")
    s = at.ask()
    for step in range(3):
        at.tell(s, 1.0 / (step + 1), step=step)
    assert at.pending == [s] and at.best is None
    at.tell(s, 0.2)
    assert at.pending == [] and at.best == (s.config, 0.2)


def test_failures_and_non_finite_values_are_results_without_value() -> None:
    at = AskTell(SPACE, seed=0, strategy="random")
    a, b, c = at.ask(3)
    at.tell(a, failed="CUDA out of memory")
    at.tell(b, math.nan)
    at.tell(c, np.float32(0.5))
    assert [(s.id, v) for s, v in at.results] == [(0, None), (1, None), (2, 0.5)]
    assert at.best == (c.config, 0.5)
    assert at.strategy.best == (c.config, 0.5)  # the strategy saw the same


def test_tell_by_id_and_by_configuration() -> None:
    at = AskTell(SPACE, seed=0, strategy="random")
    a, b = at.ask(2)
    at.tell(a.id, 1.0)
    at.tell({**b.config, "epochs": 4}, 2.0)  # static values are ignored
    assert at.pending == []
    at.tell({"x": 1.2, "y": -0.7}, 0.0)  # never asked: accepted as extra data
    outside, value = at.results[-1]
    assert outside.id == 2 and value == 0.0 and at.best == ({"x": 1.2, "y": -0.7}, 0.0)


def test_a_configuration_told_without_asking_is_not_asked_again() -> None:
    space = {"opt": {"type": "categorical", "values": ["sgd", "adam", "rmsprop"]}}
    at = AskTell(space, strategy="grid")
    at.tell({"opt": "adam"}, 0.3)
    assert [s.config["opt"] for s in at.ask(5)] == ["sgd", "rmsprop"]


def test_an_exhausted_grid() -> None:
    at = AskTell({"opt": {"type": "categorical", "values": ["sgd", "adam"]}}, strategy="Grid")
    assert len(at.ask(3)) == 2
    assert at.ask(2) == []
    with pytest.raises(StrategyError, match="nothing more to suggest after 2 configurations"):
        at.ask()


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda at, s: at.tell(s, 1.0, failed="x"), "got both a value"),
        (lambda at, s: at.tell(s), "tell needs a value, or failed="),
        (lambda at, s: at.tell(s, {"loss": 1.0}), r"lack the objective 'acc'"),
        (lambda at, s: at.tell(s, "0.5"), "must be a number, got '0.5'"),
        (lambda at, s: at.tell(s, [1.0, 2.0]), "must be a number"),
        (lambda at, s: at.tell(s, 1.0, step=-1), "step must be a non-negative integer"),
        (lambda at, s: at.tell(s, failed="x", step=1), "failed= takes no step"),
        (lambda at, s: at.tell(7, 1.0), "no suggestion has id 7"),
        (lambda at, s: at.tell({"x": 9.0, "y": 0.0}, 1.0), r"hyperparameters\.x(\.\w+)?: value 9\.0 is outside"),
        (lambda at, s: at.tell({"x": 1.0}, 1.0), r"hyperparameters\.y(\.\w+)?: the configuration lacks 'y'"),
        (lambda at, s: at.tell(None, 1.0), "tell takes a Suggestion, its id or a configuration dict"),
        (lambda at, s: at.ask(0), r"ask\(n\) needs a positive integer n, got 0"),
    ],
)
def test_bad_calls_are_spec_errors(call, match: str) -> None:
    at = AskTell(SPACE, objective="acc", seed=0, strategy="random")
    s = at.ask()
    with pytest.raises(SpecError, match=match):
        call(at, s)


def test_telling_a_final_result_twice_is_a_spec_error() -> None:
    at = AskTell(SPACE, seed=0, strategy="random")
    s = at.ask()
    at.tell(s, 1.0)
    with pytest.raises(SpecError, match=r"suggestion 0 .* already has its final result"):
        at.tell(s, 0.5)


def test_objective_forms() -> None:
    at = AskTell(SPACE, objective=Objective("auc", Direction.MAXIMIZE), strategy="random")
    assert at.objective.maximize and at.objective.metric == "auc"
    with pytest.raises(SpecError, match=r"^maximize: maximize=False contradicts"):
        AskTell(SPACE, objective=Objective("auc", Direction.MAXIMIZE), maximize=False, strategy="random")
    with pytest.raises(SpecError, match="objective must be a metric name"):
        AskTell(SPACE, objective=3, strategy="random")  # type: ignore[arg-type]


def test_strategy_settings_and_names_go_through_the_registry() -> None:
    with pytest.raises(SpecError, match="unknown strategy 'tpe'"):
        AskTell(SPACE, strategy="tpe")
    with pytest.raises(SpecError, match="unknown setting 'foo' for the 'random' strategy"):
        AskTell(SPACE, foo=1, strategy="random")


def test_a_search_space_object_is_used_as_it_is() -> None:
    space = SearchSpace((IntegerRange(name="n", min_value=1, max_value=3),), static={"a": 1})
    at = AskTell(space, seed=0, strategy="random")
    assert at.space is space and sorted(s.config["n"] for s in at.ask(3)) == [1, 2, 3]


# -- the dict form of a space ----------------------------------------------------------------------------------
def test_ranges_from_dict() -> None:
    space = _ranges_from_dict(
        {
            "lr": {"type": "continuous", "min_value": 1e-4, "max_value": 1e-1, "scaling": "logarithmic"},
            "layers": {"type": "Integer", "min": 1, "max": 4, "default": 2},
            "act": {"type": "categorical", "values": ["relu", "tanh"]},
            "momentum": {"type": "continuous", "min": 0.9, "max": 0.999},
            "epochs": 10,
            "sizes": [64, 32],
        }
    )
    assert space.names == ("lr", "layers", "act", "momentum")
    assert space.static == {"epochs": 10, "sizes": [64, 32]}
    lr, layers, act, momentum = space.ranges
    assert isinstance(lr, ContinuousRange) and lr.scaling is Scaling.LOGARITHMIC
    assert isinstance(layers, IntegerRange) and (layers.min_value, layers.max_value, layers.default) == (1, 4, 2)
    assert isinstance(act, CategoricalRange) and act.values == ("relu", "tanh")
    assert momentum.scaling is Scaling.REVERSE_LOGARITHMIC  # 'auto', the range's own rule


P = r"^hyperparameters\.p"  # where every error of the dict form is located


@pytest.mark.parametrize(
    "item, match",
    [
        ({"min_value": 0, "max_value": 1}, P + r"\.type: a range needs a type"),
        ({"type": "float", "min": 0, "max": 1}, P + r"\.type: unknown type 'float'"),
        ({"type": "continuous", "min": 0, "maximum": 1}, P + r"\.maximum: unknown key 'maximum'"),
        ({"type": "continuous", "min": 0}, P + r"\.max_value: a continuous range needs max_value"),
        ({"type": "integer", "min": 0, "min_value": 1, "max": 3}, P + r"\.min_value: give min_value or min, not both"),
        ({"type": "categorical", "values": [1, 2], "min": 0}, P + r"\.min: a categorical range takes values only"),
        ({"type": "categorical"}, P + r"\.values: a categorical range needs values"),
        ({"type": "integer", "values": [1, 2]}, P + r"\.values: .*takes min_value and max_value, not values"),
        ({"type": "continuous", "min": 1, "max": 0}, P + r"(\.\w+)?: min_value must be less than max_value"),
        ({"type": "continuous", "min": 0.0, "max": 1, "scaling": "log"}, P + r"(\.\w+)?: scaling 'logarithmic' needs"),
    ],
)
def test_ranges_from_dict_errors(item: dict, match: str) -> None:
    with pytest.raises(SpecError, match=match):
        AskTell({"p": item}, strategy="random")


def test_ranges_from_dict_needs_a_dict() -> None:
    with pytest.raises(SpecError, match="must be a SearchSpace or a dict"):
        AskTell([("x", 1)], strategy="random")  # type: ignore[arg-type]


def test_a_bad_tell_of_a_new_configuration_records_nothing() -> None:
    at = AskTell(SPACE, objective="acc", seed=0, strategy="random")
    with pytest.raises(SpecError, match=r"the configuration \{'x': 0\.5, 'y': 0\.5\}: the value of 'acc' must be"):
        at.tell({"x": 0.5, "y": 0.5}, "high")
    assert at.results == [] and at.pending == []


def test_intermediate_values_of_a_configuration_never_asked() -> None:
    at = AskTell(SPACE, objective="acc", seed=0, strategy="random")
    at.tell({"x": 0.5, "y": 0.5}, 0.1, step=1)
    (running,) = at.pending
    assert running.config == {"x": 0.5, "y": 0.5}
    assert len(at.strategy.pending) == 1  # the strategy knows it is running
    at.tell({"x": 0.5, "y": 0.5}, 0.2)  # the same configuration: the same suggestion
    assert at.pending == [] and at.results == [(running, 0.2)] and at.strategy.pending == []


def test_the_default_strategy_is_bayesian_as_in_a_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("torch", "botorch", "gpytorch"):
        monkeypatch.setitem(sys.modules, module, None)  # as if the bo extra were not installed
    monkeypatch.delitem(sys.modules, "hyperjob.strategies.bayesian", raising=False)
    with pytest.raises(SpecError, match=r"'bayesian' strategy needs .*pip install 'hyperjob\[bo\]'"):
        AskTell(SPACE, seed=0)


def test_the_default_strategy_when_installed() -> None:
    bayesian = pytest.importorskip("hyperjob.strategies.bayesian")
    assert isinstance(AskTell(SPACE, seed=0).strategy, bayesian.BayesianStrategy)
