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
from hyperjob.formats.spec import TuningJobSpec
from hyperjob.space import CategoricalRange, ContinuousRange, DiscreteRange, IntegerRange, Scaling, SearchSpace
from hyperjob.stopping.median import MedianStopper
from hyperjob.strategies.asktell import TellResult
from hyperjob.strategies.hyperband import HyperbandStrategy

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
    with pytest.raises(SpecError, match="the 'random' strategy has no setting 'foo'"):
        AskTell(SPACE, foo=1, strategy="random")


def test_a_search_space_object_is_used_as_it_is() -> None:
    space = SearchSpace((IntegerRange(name="n", min_value=1, max_value=3),), static={"a": 1})
    at = AskTell(space, seed=0, strategy="random")
    assert at.space is space and sorted(s.config["n"] for s in at.ask(3)) == [1, 2, 3]


# -- the dict form of a space: job.yaml's hyperparameter_ranges, as hyperjob.tune takes it ---------------------
def test_the_space_is_read_as_a_spec_reads_its_ranges() -> None:
    space = AskTell(
        {
            "lr": {"type": "continuous", "min_value": 1e-4, "max_value": 1e-1, "scaling": "logarithmic"},
            "layers": {"type": "Integer", "min": 1, "max": 4, "default": 2},
            "act": {"type": "categorical", "values": ["relu", "tanh"]},
            "momentum": {"type": "continuous", "min": 0.9, "max": 0.999},
            "epochs": 10,
            "sizes": [64, 32],
        },
        strategy="random",
    ).space
    assert space.names == ("lr", "layers", "act", "momentum")
    assert space.static == {"epochs": 10, "sizes": [64, 32]}
    lr, layers, act, momentum = space.ranges
    assert isinstance(lr, ContinuousRange) and lr.scaling is Scaling.LOGARITHMIC
    assert isinstance(layers, IntegerRange) and (layers.min_value, layers.max_value, layers.default) == (1, 4, 2)
    assert isinstance(act, CategoricalRange) and act.values == ("relu", "tanh")
    assert momentum.scaling is Scaling.REVERSE_LOGARITHMIC  # 'auto', the range's own rule


RANGES = {
    "units": {"min_value": 16, "max_value": 128, "inc_strategy": "power2", "tier": 1, "default": 32},
    "lr": {"min": 1e-4, "max": 0.1, "scaling": "log", "tier": 1},
    "dropout": {"min": 0.0, "max": 0.5, "tier": 2, "default": 0.1},
    "decay": {"type": "discrete", "values": [0.9, 0.99, 0.999], "tier": 3, "default": 0.99},
}


@pytest.mark.parametrize("max_jobs, tuned", [(5, ["units", "lr"]), (20, ["units", "lr", "dropout"]),
                                             (60, ["units", "lr", "dropout", "decay"])])
def test_inc_strategy_power2_and_tiers_as_in_a_spec(max_jobs: int, tuned: list[str]) -> None:
    at = AskTell({**RANGES, "epochs": 3}, strategy="random", seed=0, max_jobs=max_jobs)
    assert list(at.space.names) == tuned
    assert isinstance(at.space["units"], DiscreteRange) and at.space["units"].values == (16, 32, 64, 128)
    assert {s.config["units"] for s in at.ask(12)} <= {16, 32, 64, 128}
    untuned = {k: RANGES[k]["default"] for k in RANGES if k not in tuned}
    assert at.space.static == {"epochs": 3, **untuned}
    spec = TuningJobSpec.model_validate({  # the same space a job.yaml with these ranges and budget gets
        "name": "same", "program": {"command": ["python", "t.py"]}, "hyperparameter_ranges": RANGES,
        "static_hyperparameters": {"epochs": 3}, "objective": {"metric": "objective", "type": "minimize"},
        "limits": {"max_jobs": max_jobs}, "strategy": "random"})
    assert at.space == spec.build_space()


def test_tiers_need_the_budget() -> None:
    with pytest.raises(SpecError, match=r"^hyperparameter_ranges\.units\.tier: .*Pass max_jobs"):
        AskTell(RANGES, strategy="random")


P = r"^hyperparameter_ranges\.p"  # where the errors of the dict form are located: as in a job.yaml


@pytest.mark.parametrize(
    "item, match",
    [
        ({"type": "float", "min": 0, "max": "1"}, P + r"\.max_value: the range of 'p': "),
        ({"type": "weird", "min": 0, "max": 1}, P + r"\.type: the range of 'p': must be one of 'continuous', 'integer'"),
        ({"type": "continuous", "min": 0, "maximum": 1}, P + r"\.maximum: the range of 'p': unknown field 'maximum'"),
        ({"type": "continuous", "min": 0}, P + r"\.max_value: the range of 'p': a continuous range needs max_value"),
        ({"type": "integer", "min": 0, "min_value": 1, "max": 3}, P + r"\.min: the range of 'p': both 'min' \(0\) and 'min_value'"),
        ({"type": "categorical", "values": [1, 2], "min": 0}, P + r"\.min_value: the range of 'p': min_value does not apply to a categ"),
        ({"type": "categorical"}, P + r"\.values: the range of 'p': a categorical range needs values"),
        ({"type": "continuous", "min": 1, "max": 0}, P + r"(\.\w+)?: the range of 'p': min_value must be less than max_value"),
        ({"type": "continuous", "min": 0.0, "max": 1, "scaling": "log"}, P + r"\.scaling: the range of 'p': scaling 'logarithmic' needs"),
        ({"min": 1, "max": 8, "inc_strategy": "power2", "scaling": "log"}, P + r"\.scaling: the range of 'p': .*an increment strategy"),
    ],
)
def test_range_errors_are_the_specs(item: dict, match: str) -> None:
    with pytest.raises(SpecError, match=match):
        AskTell({"p": item}, strategy="random")
    with pytest.raises(SpecError, match=match):  # the same message and path as hyperjob.tune's
        hyperjob.tune(lambda hp: 0.0, {"p": item}, strategy="random", max_jobs=2, store=":memory:")


def test_the_space_must_be_a_dict_or_a_search_space() -> None:
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


# -- stopping early: the Tuner's stoppers behind tell(step=) --------------------------------------------------
def _curves(n: int = 8, steps: int = 6) -> list[list[float]]:
    """A fixed stream: job i's loss at steps 1..steps; every other job is bad."""
    return [[(2.0 if i % 2 else 1.0) / (t + 1) + 0.01 * i for t in range(1, steps + 1)] for i in range(n)]


def _drive(at: AskTell, curves: list[list[float]], first_step: int = 1) -> list[list[bool]]:
    """Run the stream through ask/tell, one training run at a time; the stop flags of each run's values."""
    out = []
    for curve in curves:
        s = at.ask()
        flags = []
        for t, v in enumerate(curve, start=first_step):
            result = at.tell(s, v, step=t)
            assert isinstance(result, TellResult)
            flags.append(result.stop)
            if result.stop:
                break
        else:
            at.tell(s, curve[-1])
        out.append(flags)
    return out


def _expected(stopper, curves: list[list[float]]) -> list[list[bool]]:
    out = []
    for i, curve in enumerate(curves):
        flags = []
        for t, v in enumerate(curve, start=1):
            d = stopper.decide(str(i), i, t, v)
            flags.append(d is not None and d.stop)
            if flags[-1]:
                break
        out.append(flags)
    return out


def test_early_stopping_auto_gives_the_median_stoppers_decisions() -> None:
    curves = _curves()
    at = AskTell({"x": {"min_value": 0.0, "max_value": 1.0}}, objective="loss", strategy="random", seed=0,
                 early_stopping="auto")
    got = _drive(at, curves)
    assert got == _expected(MedianStopper(Objective("loss")), curves)
    assert any(any(f) for f in got)  # the stream makes the median rule stop some
    stopped = [s for s, v in at.results if v is None]
    assert stopped and all(s not in at.pending for s in stopped)
    assert at.strategy.pending == []  # the strategy knows the stopped ones ended


def test_steps_from_zero_count_epochs_done_as_in_the_tuner() -> None:
    curves = _curves()
    at = AskTell({"x": {"min_value": 0.0, "max_value": 1.0}}, objective="loss", strategy="random", seed=0,
                 early_stopping="auto")
    assert _drive(at, curves, first_step=0) == _expected(MedianStopper(Objective("loss")), curves)


def test_hyperband_tell_gives_its_rungs_decisions() -> None:
    curves = _curves(n=12, steps=9)
    space = {"x": {"min_value": 0.0, "max_value": 1.0}, "epochs": 9}
    at = AskTell(space, objective="loss", strategy="hyperband", seed=3, model="random", min_resource=1)
    reference = HyperbandStrategy(at.space, Objective("loss"), seed=3, model="random", min_resource=1)
    got = _drive(at, curves)
    assert got == _expected(reference.stopper(), curves)
    assert any(any(f) for f in got)
    result = AskTell(space, objective="loss", strategy="hyperband", seed=3, model="random")
    s = result.ask()
    verdict = result.tell(s, 0.5, step=1)
    assert verdict.decision is not None and verdict.decision.rule == "rung"  # the stopper's own Decision


def test_a_stopped_suggestion_takes_no_more_values() -> None:
    at = AskTell({"x": {"min_value": 0.0, "max_value": 1.0}}, objective="loss", strategy="random", seed=0,
                 early_stopping="auto")
    _drive(at, _curves()[:4])
    s = at.ask()
    assert at.tell(s, 9.0, step=1).stop  # SageMaker's rule judges the first value
    with pytest.raises(SpecError, match=r"suggestion 4 .* was stopped early \(.*median"):
        at.tell(s, 9.0, step=2)


def test_without_a_stopper_tell_returns_none() -> None:
    at = AskTell(SPACE, seed=0, strategy="random")
    s = at.ask()
    assert at.tell(s, 0.5, step=1) is None
    assert at.tell(s, 0.4) is None


def test_early_stopping_is_checked_as_in_a_spec() -> None:
    spec = {"name": "e", "program": {"command": ["python", "t.py"]}, "objective": {"metric": "m", "type": "min"},
            "hyperparameter_ranges": {"x": {"min_value": 0.0, "max_value": 1.0}}, "limits": {"max_jobs": 3},
            "early_stopping": "sometimes"}
    with pytest.raises(SpecError) as in_spec:
        TuningJobSpec.model_validate(spec)
    with pytest.raises(SpecError) as here:
        AskTell(SPACE, strategy="random", early_stopping="sometimes")
    assert (here.value.path, here.value.message) == (in_spec.value.path, in_spec.value.message)
    hyperband = {**spec, "early_stopping": "auto", "static_hyperparameters": {"epochs": 9},
                 "strategy": {"name": "hyperband"}}
    with pytest.raises(SpecError) as in_spec:
        TuningJobSpec.model_validate(hyperband)
    with pytest.raises(SpecError) as here:  # the strategy's own rule, one owner: the same refusal
        AskTell({**SPACE, "epochs": 9}, strategy="hyperband", early_stopping="auto")
    assert (here.value.path, here.value.message) == (in_spec.value.path, in_spec.value.message)
    assert "cannot be used with the 'hyperband' strategy" in here.value.message


def test_the_readme_stopping_example_runs() -> None:
    import re
    from pathlib import Path

    text = (Path(__file__).parents[3] / "README.md").read_text()
    section = text[text.index("### Ask/tell"):text.index("## The training-program contract")]
    code = re.findall(r"```python\n(.*?)```", section, re.S)[1]
    epochs: list[int] = []

    def train_epoch(hp: dict, epoch: int) -> float:
        epochs.append(epoch)
        return abs(math.log10(hp["lr"]) + 2) + 1.0 / epoch

    namespace = {"AskTell": AskTell, "train_epoch": train_epoch}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    at = namespace["at"]
    assert len(at.results) == 12 and at.pending == []
    assert any(value is None for _, value in at.results)  # the rungs stopped some
    assert len(epochs) < 12 * 10 and at.best is not None
