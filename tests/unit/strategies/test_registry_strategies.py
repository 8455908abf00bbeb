"""The strategy registry: names, SageMaker spellings, settings, lazy and optional imports."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from hyperjob.errors import SpecError
from hyperjob.records import Objective
from hyperjob.space import CategoricalRange, ContinuousRange, SearchSpace
from hyperjob.strategies import registry
from hyperjob.strategies.grid import GridStrategy
from hyperjob.strategies.random import RandomStrategy
from hyperjob.strategies.registry import STRATEGY_NAMES, create_strategy

MIN = Objective("loss")
SPACE = SearchSpace((CategoricalRange(name="opt", values=("sgd", "adam")),))


def test_names() -> None:
    assert STRATEGY_NAMES == ("random", "grid", "bayesian", "hyperband")


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
    with pytest.raises(SpecError, match=r"unknown setting 'n_initial' for the '(random|grid)' strategy\. "
                                        r"Valid settings: none"):
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


def test_settings_of_a_strategy_with_explicit_keywords(monkeypatch: pytest.MonkeyPatch) -> None:
    class WithSettings:
        def __init__(self, space, objective, seed=None, n_initial: int = 4, *, xi: float = 0.0):
            self.n_initial, self.xi = n_initial, xi

    monkeypatch.setattr(registry, "strategy_class", lambda name: WithSettings)
    assert registry.strategy_settings("random") == ("n_initial", "xi")
    made = create_strategy("random", SPACE, MIN, n_initial=2, xi=0.5)
    assert (made.n_initial, made.xi) == (2, 0.5)
    with pytest.raises(SpecError, match=r"^strategy\.settings\.beta: unknown setting 'beta'.*'n_initial', 'xi'"):
        create_strategy("random", SPACE, MIN, beta=1)


def test_random_and_grid_do_not_import_torch() -> None:
    script = textwrap.dedent(
        """
        import sys
        from hyperjob.records import Objective
        from hyperjob.space import CategoricalRange, SearchSpace
        from hyperjob.strategies.registry import create_strategy
        space = SearchSpace((CategoricalRange(name="opt", values=("sgd", "adam")),))
        create_strategy("grid", space, Objective("loss")).suggest(2)
        create_strategy("Random", space, Objective("loss"), seed=0).suggest(2)
        print("torch" in sys.modules, "hyperjob.strategies.bayesian" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


def test_bayesian_by_name_and_its_settings() -> None:
    bayesian = pytest.importorskip("hyperjob.strategies.bayesian")
    strategy = create_strategy("Bayesian", SPACE, MIN, seed=1)
    assert type(strategy) is bayesian.BayesianStrategy and strategy.seed == 1
    with pytest.raises(SpecError, match=r"^strategy\.(settings\.)?n_initail: unknown setting 'n_initail'"):
        create_strategy("bayesian", SPACE, MIN, n_initail=3)
