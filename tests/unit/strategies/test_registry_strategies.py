"""The strategy registry: names, SageMaker spellings, each entry's rules, lazy and optional imports, and a
strategy added by one registry entry (a tiny one, defined here) going through the spec and ``create_strategy``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any, Iterator, Mapping

import pytest

from hyperjob.errors import SpecError
from hyperjob.formats.spec import TuningJobSpec
from hyperjob.records import Configuration, Objective, Observation
from hyperjob.space import CategoricalRange, ContinuousRange, IntegerRange, SearchSpace
from hyperjob.stopping.base import Action, Decision, EarlyStopper, MedianRule
from hyperjob.strategies import registry
from hyperjob.strategies.base import BaseStrategy, Strategy
from hyperjob.strategies.grid import GridStrategy
from hyperjob.strategies.random import RandomStrategy
from hyperjob.strategies.registry import (
    STRATEGY_NAMES,
    StrategyEntry,
    StrategyInputs,
    create_strategy,
    stopping_rule,
    strategy_entry,
    strategy_names,
)

MIN = Objective("loss")
SPACE = SearchSpace((CategoricalRange(name="opt", values=("sgd", "adam")),))
LR = SearchSpace((ContinuousRange(name="lr", min_value=1e-4, max_value=1e-1),), static={"epochs": 9})


def test_names() -> None:
    assert STRATEGY_NAMES == ("random", "grid", "bayesian", "hyperband")
    assert strategy_names()[:4] == STRATEGY_NAMES


@pytest.mark.parametrize(
    "name, cls",
    [("random", RandomStrategy), ("Random", RandomStrategy), (" RANDOM ", RandomStrategy),
     ("grid", GridStrategy), ("Grid", GridStrategy)],
)
def test_create_by_name_and_sagemaker_spelling(name: str, cls: type) -> None:
    strategy = create_strategy(name, SPACE, MIN, seed=3)
    assert type(strategy) is cls
    assert strategy.space is SPACE and strategy.objective is MIN and strategy.seed == 3


@pytest.mark.parametrize("name", ["sobol", "", "GridSearch", None, 3])
def test_unknown_name_lists_the_valid_ones(name: object) -> None:
    with pytest.raises(SpecError) as info:
        create_strategy(name, SPACE, MIN)  # type: ignore[arg-type]
    text = str(info.value)
    assert text.startswith(f"strategy: unknown strategy {name!r}")
    assert all(repr(n) in text for n in STRATEGY_NAMES)


@pytest.mark.parametrize("name", ["random", "Grid"])
def test_unknown_setting_is_named(name: str) -> None:
    with pytest.raises(SpecError, match=r"^strategy\.settings\.n_initial: the '(random|grid)' strategy has no "
                                        r"setting 'n_initial'\. Its settings: none\. Remove or rename it\.$"):
        create_strategy(name, SPACE, MIN, n_initial=5)


@pytest.mark.parametrize("name", ["hyperband", "Hyperband"])
def test_hyperband_without_max_resource_or_epochs_names_both_fixes(name: str) -> None:
    with pytest.raises(SpecError, match=r"^strategy\.settings\.max_resource: the hyperband strategy needs "
                                        r"max_resource.*static hyperparameter named one of epochs, numepochs"):
        create_strategy(name, SPACE, MIN)


def test_hyperband_takes_max_resource_from_a_static_epochs_hyperparameter() -> None:
    space = SearchSpace(SPACE.ranges, static={"num_epochs": "30"})
    strategy = create_strategy("hyperband", space, MIN, model="random")
    assert strategy.ladder.max_resource == 30
    assert strategy.ladder.levels(0) == (1, 3, 9, 27)


def test_grid_over_a_continuous_range_fails_through_the_registry() -> None:
    space = SearchSpace((ContinuousRange(name="lr", min_value=1e-4, max_value=1e-1),))
    with pytest.raises(SpecError, match=r"^hyperparameters\.lr: grid search takes categorical ranges only"):
        create_strategy("grid", space, MIN)


def test_bayesian_without_its_dependencies_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("torch", "botorch", "gpytorch"):
        monkeypatch.setitem(sys.modules, module, None)  # what `import torch` sees when it is not installed
    monkeypatch.delitem(sys.modules, "hyperjob.strategies.bayesian", raising=False)
    with pytest.raises(SpecError, match=r"^strategy: the 'bayesian' strategy needs torch, botorch, gpytorch.*"
                                        r"pip install 'hyperjob\[bo\]'"):
        create_strategy("Bayesian", SPACE, MIN)
    # the spec does not need them: the names of the settings are not checked, the Tuner says what to install
    assert strategy_entry("bayesian").check(StrategyInputs(SPACE, {"n_initail": 3}, max_jobs=5)) == 5


def test_random_and_grid_do_not_import_torch_or_scipy_stats() -> None:
    script = textwrap.dedent(
        """
        import sys
        from hyperjob.records import Objective
        from hyperjob.space import CategoricalRange, SearchSpace
        from hyperjob.strategies.registry import create_strategy
        space = SearchSpace((CategoricalRange(name="opt", values=("sgd", "adam")),))
        create_strategy("grid", space, Objective("loss")).suggest(2)
        create_strategy("Random", space, Objective("loss"), seed=0).suggest(2)
        print("torch" in sys.modules, "hyperjob.strategies.bayesian" in sys.modules, "scipy.stats" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "False"]


def test_bayesian_by_name_and_its_settings() -> None:
    bayesian = pytest.importorskip("hyperjob.strategies.bayesian")
    strategy = create_strategy("Bayesian", SPACE, MIN, seed=1)
    assert type(strategy) is bayesian.BayesianStrategy and strategy.seed == 1
    assert strategy_entry("bayesian").settings() == ("n_initial", "num_threads", "cost_metric", "multifidelity")
    with pytest.raises(SpecError, match=r"^strategy\.settings\.n_initail: the 'bayesian' strategy has no setting "
                                        r"'n_initail'\. Did you mean 'n_initial'\? Its settings: n_initial, "
                                        r"num_threads, cost_metric, multifidelity\."):
        create_strategy("bayesian", SPACE, MIN, n_initail=3)


# -- each entry's rules ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, inputs, path, message",
    [
        ("random", StrategyInputs(LR), "limits.max_jobs", "the 'random' strategy needs a budget"),
        ("random", StrategyInputs(LR, {"seed": 1}, 5), "strategy.settings.seed",
         "the 'random' strategy has no setting 'seed'. Its settings: none."),
        ("grid", StrategyInputs(LR), "hyperparameters.lr", "grid search takes categorical ranges only"),
        ("grid", StrategyInputs(SPACE, max_jobs=3), "limits.max_jobs", "2 training jobs here (2 opt)"),
        ("hyperband", StrategyInputs(LR, max_jobs=5, early_stopping=MedianRule()), "early_stopping",
         "early_stopping 'auto' cannot be used with the 'hyperband' strategy, which stops training jobs itself"),
        ("hyperband", StrategyInputs(LR, max_jobs=5, early_stopping=MedianRule(min_jobs=3)), "early_stopping",
         "early_stopping (the median rule) cannot be used with the 'hyperband' strategy"),
        ("hyperband", StrategyInputs(SPACE, max_jobs=5), "strategy.settings.max_resource",
         "the hyperband strategy needs max_resource"),
        ("hyperband", StrategyInputs(LR, {"max_resoruce": 3}, 5), "strategy.settings.max_resoruce",
         "has no setting 'max_resoruce'. Did you mean 'max_resource'?"),
        ("hyperband", StrategyInputs(LR, {"reduction_factor": 1}, 5), "strategy.settings.reduction_factor",
         "reduction_factor must be a whole number >= 2, got 1"),
        ("hyperband", StrategyInputs(LR, {"model": "tpe"}, 5), "strategy.settings.model", "model must be one of"),
        ("hyperband", StrategyInputs(LR, {"random_fraction": 1.5}, 5), "strategy.settings.random_fraction",
         "random_fraction must be a number in [0, 1), got 1.5"),
        # the bayesian strategy's values are checked with the spec, before anything runs (no torch needed)
        ("bayesian", StrategyInputs(LR, {"n_initial": 0}, 5), "strategy.settings.n_initial",
         "n_initial must be a positive integer, got 0"),
        ("bayesian", StrategyInputs(LR, {"num_threads": "2"}, 5), "strategy.settings.num_threads",
         "num_threads must be a positive integer, got '2'"),
        ("bayesian", StrategyInputs(LR, {"cost_metric": " "}, 5), "strategy.settings.cost_metric",
         "cost_metric must be the name of a metric"),
        ("bayesian", StrategyInputs(LR, {"multifidelity": "yes"}, 5), "strategy.settings.multifidelity",
         "multifidelity must be auto or off, got 'yes'"),
    ],
)
def test_each_entry_refuses_what_it_should(name: str, inputs: StrategyInputs, path: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        strategy_entry(name).check(inputs)
    assert info.value.path == path
    assert message in info.value.message


def test_each_entry_gives_the_budget() -> None:
    assert strategy_entry("random").check(StrategyInputs(LR, max_jobs=7)) == 7
    assert strategy_entry("grid").check(StrategyInputs(SPACE)) == 2  # the number of combinations
    assert strategy_entry("grid").check(StrategyInputs(SPACE, max_jobs=2)) == 2
    assert strategy_entry("hyperband").check(StrategyInputs(LR, {"min_resource": 1}, 4)) == 4
    assert strategy_entry("Hyperband").check(StrategyInputs(LR, max_jobs=4, early_stopping=None)) == 4


def test_only_hyperband_stops_training_jobs_itself() -> None:
    assert [n for n in STRATEGY_NAMES if strategy_entry(n).stops_training_jobs] == ["hyperband"]
    assert stopping_rule("hyperband", "off") == "hyperband"
    assert stopping_rule("Random", "auto") == "early stopping 'auto'"
    assert stopping_rule("grid", "off") is None
    assert stopping_rule("gone-since", "off") is None and stopping_rule(None, "auto") == "early stopping 'auto'"
    assert stopping_rule("random", None) is None and stopping_rule("random", MedianRule()) == "early stopping 'auto'"
    warm_up = "early stopping (median rule, min_jobs=3, grace_values=1)"
    assert stopping_rule("random", MedianRule(3, 1)) == warm_up  # a plan's settings
    assert stopping_rule("random", {"rule": "median", "min_jobs": 3, "grace_values": 1}) == warm_up  # a stored spec's


def test_register_refuses_a_taken_or_badly_spelled_name() -> None:
    with pytest.raises(ValueError, match="registered already"):
        registry.register(StrategyEntry("random", __name__, "CountingStrategy"))
    with pytest.raises(ValueError, match="lower case"):
        registry.register(StrategyEntry("Counting", __name__, "CountingStrategy"))
    with pytest.raises(ValueError, match="built-in"):
        registry.unregister("grid")


# -- a strategy added by one entry ---------------------------------------------------------------------------------
class AtStepStopper:
    """Stops every training job at step ``stop_at``."""

    name = "the counting rule"

    def __init__(self, stop_at: int) -> None:
        self.stop_at = stop_at
        self.restored: list[tuple[str, Decision]] = []
        self.forgotten: list[str] = []

    def decide(self, training_job_id: str, index: int, step: int, value: float) -> Decision | None:
        if step < self.stop_at:
            return None
        return Decision(Action.STOP, "at_step", step, value, reason=f"the counting rule: step {step}")

    def record(self, training_job_id: str, index: int, step: int, value: float) -> None:
        pass

    def restore(self, training_job_id: str, decision: Decision) -> None:
        self.restored.append((training_job_id, decision))

    def forget(self, training_job_id: str) -> None:
        self.forgotten.append(training_job_id)


class CountingStrategy(BaseStrategy):
    """Suggests x = min, min + 1, ... of its one integer range; with ``stop_at``, stops jobs at that step."""

    def __init__(self, space: SearchSpace, objective: Objective, seed: int | None = None, *,
                 stop_at: int | None = None) -> None:
        self.space, self.objective, self.stop_at = space, objective, stop_at
        (self._range,) = space.ranges
        self._next = self._range.min_value
        self.events: list[Observation] = []
        self.extended = 0

    def suggest(self, n: int) -> list[Configuration]:
        out = []
        while len(out) < n and self._next <= self._range.max_value:
            out.append({self._range.name: self._next})
            self._next += 1
        return out

    def observe(self, event: Observation) -> None:
        self.events.append(event)

    @property
    def pending(self) -> list[Configuration]:
        return []

    @property
    def best(self) -> tuple[Configuration, float] | None:
        return None

    def stopper(self) -> EarlyStopper | None:
        return None if self.stop_at is None else AtStepStopper(self.stop_at)

    def extend_initial_design(self, n: int) -> None:
        self.extended += n


def check_counting(space: SearchSpace, settings: Mapping[str, Any]) -> None:
    if len(space.ranges) != 1 or not isinstance(space.ranges[0], IntegerRange):
        raise SpecError("the counting strategy tunes one integer range.", path="hyperparameters")
    stop_at = settings.get("stop_at")
    if stop_at is not None and (not isinstance(stop_at, int) or stop_at < 1):
        raise SpecError(f"stop_at must be a whole number >= 1, got {stop_at!r}.", path="strategy.settings.stop_at")


COUNTING = StrategyEntry("counting", __name__, "CountingStrategy", stops_training_jobs=True,
                         check_settings=check_counting)


@pytest.fixture
def counting() -> Iterator[StrategyEntry]:
    registry.register(COUNTING)
    try:
        yield COUNTING
    finally:
        registry.unregister("counting")


def counting_spec(**changes: Any) -> dict[str, Any]:
    return {
        "name": "count",
        "program": {"command": ["python", "train.py"]},
        "hyperparameter_ranges": {"x": {"type": "integer", "min_value": 1, "max_value": 4}},
        "objective": {"metric": "loss", "type": "minimize"},
        "strategy": {"name": "Counting", "settings": {"stop_at": 2}},
        "limits": {"max_jobs": 3},
        **changes,
    }


def test_a_strategy_added_by_one_entry_goes_through_the_spec_and_create_strategy(counting: StrategyEntry) -> None:
    spec = TuningJobSpec.model_validate(counting_spec())
    assert spec.strategy.name == "counting" and spec.limits.max_jobs == 3
    assert TuningJobSpec.from_json(spec.to_json()) == spec
    strategy = create_strategy(spec.strategy.name, spec.build_space(), spec.build_objective(), seed=0,
                               **spec.strategy.settings)
    assert isinstance(strategy, CountingStrategy) and isinstance(strategy, Strategy)
    assert strategy.suggest(5) == [{"x": 1}, {"x": 2}, {"x": 3}, {"x": 4}]
    assert isinstance(strategy.stopper(), AtStepStopper)
    assert stopping_rule("counting", "off") == "counting"


@pytest.mark.parametrize(
    "changes, path, message",
    [
        ({"strategy": {"name": "counting", "settings": {"stop_ta": 2}}}, "strategy.settings.stop_ta",
         "the 'counting' strategy has no setting 'stop_ta'. Did you mean 'stop_at'? Its settings: stop_at."),
        ({"strategy": {"name": "counting", "settings": {"stop_at": 0}}}, "strategy.settings.stop_at",
         "stop_at must be a whole number >= 1, got 0."),
        ({"early_stopping": "auto"}, "early_stopping", "cannot be used with the 'counting' strategy"),
        ({"limits": {}}, "limits.max_jobs", "the 'counting' strategy needs a budget"),
        ({"hyperparameter_ranges": {"x": {"type": "continuous", "min_value": 0, "max_value": 1}}},
         "hyperparameters", "the counting strategy tunes one integer range."),
        ({"strategy": "countin"}, "strategy.name", "Did you mean 'counting'?"),
    ],
)
def test_the_spec_asks_the_added_entry(counting: StrategyEntry, changes: dict, path: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        TuningJobSpec.model_validate(counting_spec(**changes))
    assert info.value.path == path
    assert message in info.value.message


def test_without_its_entry_the_name_is_refused() -> None:
    with pytest.raises(SpecError, match=r"^strategy\.name: must be one of 'random', 'grid', 'bayesian', "
                                        r"'hyperband', 'listed', got 'counting'"):  # listed: rankcheck's
        TuningJobSpec.model_validate(counting_spec())
