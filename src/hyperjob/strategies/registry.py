"""The strategy registry: one :class:`StrategyEntry` per strategy, owning its name, class, settings and rules.

Names are ours (``random``, ``grid``, ``bayesian``, ``hyperband``) or SageMaker's (``Random``, ``Grid``,
``Bayesian``, ``Hyperband``): case does not matter. A strategy's class is imported only when asked for, so that
random and grid search never import torch; without its optional dependencies it names the install command.

The spec asks the entry (:meth:`StrategyEntry.check`) for every rule about a strategy: the budget, early
stopping beside a strategy that stops training jobs itself, the settings' names and values. Adding a strategy
is its own module plus one entry (:func:`register`, or a line in ``_BUILT_IN``).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from hyperjob.errors import SpecError, did_you_mean
from hyperjob.outcomes import Outcomes
from hyperjob.records import Objective
from hyperjob.space import SearchSpace
from hyperjob.stopping.base import EarlyStopper, MedianRule
from hyperjob.strategies.base import Strategy

#: Constructor parameters every strategy has; the others are its settings.
_COMMON = ("self", "space", "objective", "seed", "outcomes")


@dataclass(frozen=True)
class StrategyInputs:
    """What a strategy's rules see of a tuning job: the spec's values, each already valid on its own.

    Attributes:
        space: the search space (tiers applied).
        settings: ``strategy.settings`` as given.
        max_jobs: ``limits.max_jobs``, ``None`` when it was left out.
        early_stopping: the median rule's settings when early stopping is on (``MedianRule()`` for ``auto``), or
            ``None`` when it is off (the spec's :meth:`~hyperjob.formats.spec.TuningJobSpec.build_early_stopping`).
    """

    space: SearchSpace
    settings: Mapping[str, Any] = field(default_factory=dict)
    max_jobs: int | None = None
    early_stopping: MedianRule | None = None
    #: the objectives and outcome constraints (``None``: one objective)
    outcomes: Outcomes | None = None


@dataclass(frozen=True)
class StrategyEntry:
    """A strategy, as the registry knows it.

    Attributes:
        name: our name, lower case (SageMaker's spelling differs only by case).
        module: the module of its class, imported on first use.
        class_name: the class, a :class:`~hyperjob.strategies.base.Strategy` whose keyword parameters after
            ``seed`` are its settings.
        requires: modules it needs that hyperjob does not install by default, checked before the import ...
        extra: ... and the extra that installs them (``pip install 'hyperjob[<extra>]'``).
        stops_training_jobs: it has a stopping rule of its own (its ``stopper()`` returns one), so
            ``early_stopping: auto`` is refused with it and every objective value waits for a decision.
        budget: ``(space, max_jobs) -> number of training jobs`` for a strategy whose budget follows from the
            space (grid: the number of combinations), raising :class:`SpecError` for a ``max_jobs`` that
            differs; ``None``: ``max_jobs`` is required.
        check_settings: ``(space, settings) -> anything``: checks the settings' values against the space
            (hyperband: the rung ladder), raising :class:`SpecError` at ``strategy.settings.<name>``.
    """

    name: str
    module: str
    class_name: str
    requires: tuple[str, ...] = ()
    extra: str | None = None
    stops_training_jobs: bool = False
    budget: Callable[[SearchSpace, int | None], int] | None = None
    check_settings: Callable[[SearchSpace, Mapping[str, Any]], Any] | None = None
    #: it takes several objectives and outcome constraints (random and grid ignore them, the bayesian
    #: strategy models them); ``False``: the spec refuses them (hyperband's rungs compare one value)
    several_objectives: bool = True

    def load(self) -> type[Strategy]:
        """The strategy's class, imported on demand.

        Raises:
            SpecError: its optional dependencies are missing or broken (naming the install command), or its
                module is missing from this installation.
        """
        missing = [m for m in self.requires if importlib.util.find_spec(m) is None]
        install = f"pip install 'hyperjob[{self.extra}]'" if self.extra else "pip install " + " ".join(missing)
        if missing:
            raise SpecError(
                f"the {self.name!r} strategy needs {', '.join(missing)}, which is not installed. "
                f"Install it with: {install} (or use the 'random' strategy).",
                path="strategy",
            )
        try:
            module = importlib.import_module(self.module)
        except ImportError as exc:
            if exc.name == self.module:
                raise SpecError(
                    f"the {self.name!r} strategy is missing from this installation of hyperjob (no module "
                    f"{self.module}). Reinstall hyperjob, or use the 'random' strategy.",
                    path="strategy",
                ) from exc
            if self.requires and not (exc.name or "hyperjob").startswith("hyperjob"):
                raise SpecError(
                    f"the {self.name!r} strategy could not import {exc.name!r} ({exc}). Install or repair its "
                    f"dependencies with: pip install 'hyperjob[{self.extra}]' (or use the 'random' strategy).",
                    path="strategy",
                ) from exc
            raise
        return getattr(module, self.class_name)  # type: ignore[no-any-return]

    def settings(self) -> tuple[str, ...] | None:
        """The settings it accepts (its constructor's keyword parameters after ``seed``); ``None``: any.

        Raises:
            SpecError: as :meth:`load`.
        """
        params = inspect.signature(self.load()).parameters.values()
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            return None
        return tuple(
            p.name for p in params if p.name not in _COMMON and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        )

    def check(self, inputs: StrategyInputs) -> int:
        """Every rule about this strategy in a tuning job, in this order: the settings' names, the budget,
        early stopping beside its own stopping rule, the settings' values.

        An unavailable strategy (missing optional dependencies) skips the names of its settings: the Tuner
        says what to install when it runs.

        Returns:
            The number of training jobs the tuning job runs (``max_jobs``, or what the budget rule gives).

        Raises:
            SpecError: the first rule broken, at its path (``strategy.settings.<name>``, ``limits.max_jobs``,
                ``early_stopping``, or ``hyperparameters.<name>`` from the space).
        """
        if inputs.settings:
            try:
                allowed = self.settings()
            except SpecError:
                allowed = None
            if allowed is not None:
                check_setting_names(self.name, inputs.settings, allowed)
        if self.budget is not None:
            max_jobs = self.budget(inputs.space, inputs.max_jobs)
        elif inputs.max_jobs is None:
            raise SpecError(
                f"the {self.name!r} strategy needs a budget: the number of training jobs to run. Add it, e.g. "
                "limits: {max_jobs: 20}.",
                path="limits.max_jobs",
            )
        else:
            max_jobs = inputs.max_jobs
        self.check_early_stopping(inputs.early_stopping)
        self.check_outcomes(inputs.outcomes)
        if self.check_settings is not None:
            self.check_settings(inputs.space, inputs.settings)
        return max_jobs

    def check_outcomes(self, outcomes: Outcomes | None) -> None:
        """Refuse several objectives or outcome constraints for a strategy that compares one value.

        Raises:
            SpecError: at ``objectives`` (or ``constraints``).
        """
        if outcomes is None or outcomes.plain or self.several_objectives:
            return
        what = "several objectives" if outcomes.several else "outcome constraints"
        raise SpecError(
            f"the {self.name!r} strategy compares one objective value and cannot take {what}. Use the "
            "'bayesian', 'random' or 'grid' strategy, or keep one objective and no constraints.",
            path="objectives" if outcomes.several else "constraints",
        )

    def check_early_stopping(self, early_stopping: MedianRule | None) -> None:
        """Refuse early stopping (``auto``, or the median rule with settings) beside a strategy that stops
        training jobs itself (SageMaker's rule).

        Raises:
            SpecError: at ``early_stopping``.
        """
        if self.stops_training_jobs and early_stopping is not None:
            what = "'auto'" if early_stopping.exact else "(the median rule)"
            raise SpecError(
                f"early_stopping {what} cannot be used with the {self.name!r} strategy, which stops training "
                "jobs itself (SageMaker's rule). Set early_stopping: off, or use another strategy.",
                path="early_stopping",
            )

    def create(self, space: SearchSpace, objective: Objective, seed: int | None = None, *,
               outcomes: Outcomes | None = None, **settings: Any) -> Strategy:
        """Build the strategy (see :func:`create_strategy`)."""
        cls = self.load()
        allowed = self.settings()
        if allowed is not None:
            check_setting_names(self.name, settings, allowed)
        if outcomes is not None and not outcomes.plain:
            self.check_outcomes(outcomes)
            if "outcomes" in inspect.signature(cls).parameters:  # random and grid do not need them
                settings = {**settings, "outcomes": outcomes}
        return cls(space, objective, seed=seed, **settings)  # type: ignore[call-arg]


def check_setting_names(name: str, settings: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    """Refuse a setting the strategy ``name`` does not have (with a did-you-mean hint and the valid ones).

    Raises:
        SpecError: at ``strategy.settings.<setting>``.
    """
    for key in settings:
        if key not in allowed:
            raise SpecError(
                f"the {name!r} strategy has no setting {key!r}.{did_you_mean(key, allowed)} Its settings: "
                f"{', '.join(allowed) if allowed else 'none'}. Remove or rename it.",
                path=f"strategy.settings.{key}",
            )


def _grid_budget(space: SearchSpace, max_jobs: int | None) -> int:
    from hyperjob.strategies.grid import check_grid_budget

    return check_grid_budget(space, max_jobs)


def _hyperband_settings(space: SearchSpace, settings: Mapping[str, Any]) -> Any:
    from hyperjob.strategies.hyperband import resolve_settings

    ladder = resolve_settings(space, settings)
    return ladder


def _bayesian_settings(space: SearchSpace, settings: Mapping[str, Any]) -> None:
    from hyperjob.strategies.bayesian import check_settings  # numpy only: no torch needed to check a spec

    check_settings(settings)


_BUILT_IN = (
    StrategyEntry("random", "hyperjob.strategies.random", "RandomStrategy"),
    StrategyEntry("grid", "hyperjob.strategies.grid", "GridStrategy", budget=_grid_budget),
    StrategyEntry("bayesian", "hyperjob.strategies.bayesian", "BayesianStrategy",
                  requires=("torch", "botorch", "gpytorch"), extra="bo", check_settings=_bayesian_settings),
    StrategyEntry("hyperband", "hyperjob.strategies.hyperband", "HyperbandStrategy", stops_training_jobs=True,
                  check_settings=_hyperband_settings, several_objectives=False),
)

#: The built-in strategies' names, in the order the documentation lists them.
STRATEGY_NAMES: tuple[str, ...] = tuple(e.name for e in _BUILT_IN)

_ENTRIES: dict[str, StrategyEntry] = {e.name: e for e in _BUILT_IN}


def _listed_settings(space: SearchSpace, settings: Mapping[str, Any]) -> Any:
    from hyperjob.strategies.listed import check_listed

    return check_listed(space, settings)


# exactly the configurations given (hyperjob rankcheck's full-mode tuning job); not one of the documented four
_ENTRIES["listed"] = StrategyEntry("listed", "hyperjob.strategies.listed", "ListedStrategy",
                                   check_settings=_listed_settings)


def register(entry: StrategyEntry) -> None:
    """Add a strategy: the spec, the Tuner and the ask/tell API accept its name from now on.

    Raises:
        ValueError: the name is taken, or not lower case.
    """
    if entry.name != entry.name.strip().lower() or not entry.name:
        raise ValueError(f"a strategy name is lower case without spaces, got {entry.name!r}")
    if entry.name in _ENTRIES:
        raise ValueError(f"a strategy named {entry.name!r} is registered already")
    _ENTRIES[entry.name] = entry


def unregister(name: str) -> None:
    """Remove a strategy added with :func:`register` (the built-in ones stay)."""
    if name in STRATEGY_NAMES:
        raise ValueError(f"the built-in strategy {name!r} cannot be removed")
    _ENTRIES.pop(name, None)


def strategy_names() -> tuple[str, ...]:
    """Every registered strategy's name: the built-in ones first, then those added, in order."""
    return tuple(_ENTRIES)


def normalize_strategy_name(name: Any, path: str = "strategy") -> str:
    """Our spelling of a strategy name (``'Bayesian'`` -> ``'bayesian'``).

    Raises:
        SpecError: the name is not a string or not a strategy (the message lists the valid ones).
    """
    text = name.strip().lower() if isinstance(name, str) else None
    if text not in _ENTRIES:
        valid = ", ".join(repr(n) for n in _ENTRIES)
        raise SpecError(
            f"unknown strategy {name!r}. Use one of {valid} (SageMaker's 'Random', 'Grid', 'Bayesian', "
            "'Hyperband' work too).",
            path=path,
        )
    return text


def strategy_entry(name: Any) -> StrategyEntry:
    """The entry of a strategy, by any spelling of its name.

    Raises:
        SpecError: not a strategy (as :func:`normalize_strategy_name`).
    """
    return _ENTRIES[normalize_strategy_name(name)]


def stopping_rule(strategy: Any, early_stopping: Any) -> str | None:
    """What stops training jobs early in a tuning job: the strategy's own rule (named by the strategy's name),
    the median rule (``"early stopping 'auto'"``, or its name with a warm-up), or ``None`` when nothing does.

    Args:
        strategy: the strategy's name; one no longer registered (a stored tuning job) counts as one without a
            rule of its own.
        early_stopping: a plan's :class:`MedianRule` or ``None``, or a stored spec's value (``"off"``,
            ``"auto"``, or the mapping of an ``early_stopping: {rule: median, ...}``).
    """
    entry = _ENTRIES.get(strategy.strip().lower()) if isinstance(strategy, str) else None
    if entry is not None and entry.stops_training_jobs:
        return entry.name
    if early_stopping is None or early_stopping is False or early_stopping == "off":
        return None
    if isinstance(early_stopping, Mapping):  # a stored spec's settings, validated when it was stored
        keys = MedianRule.__dataclass_fields__
        early_stopping = MedianRule(**{k: v for k, v in early_stopping.items() if k in keys})
    return early_stopping.name if isinstance(early_stopping, MedianRule) else MedianRule().name


def create_stopper(strategy: Strategy, early_stopping: MedianRule | None, objective: Objective) -> EarlyStopper | None:
    """The stopper of a tuning job, as the Tuner and ``AskTell`` build it: the strategy's own rule
    (:meth:`Strategy.stopper`, hyperband's rungs), else the median rule with the spec's settings when early
    stopping is on, else ``None``.

    Args:
        strategy: the tuning job's strategy, just built.
        early_stopping: the median rule's settings (``MedianRule()``: SageMaker's rule exactly), or ``None``.
        objective: the objective, declared once in the spec.
    """
    own = strategy.stopper()
    if own is not None:
        return own
    if early_stopping is None:
        return None
    from hyperjob.stopping.median import MedianStopper

    return MedianStopper(objective, early_stopping)


def create_strategy(
    name: str, space: SearchSpace, objective: Objective, seed: int | None = None, **settings: Any
) -> Strategy:
    """Build the strategy named ``name``.

    Args:
        name: a registered strategy's name, in any case (SageMaker's ``Bayesian`` etc. work).
        space: the search space.
        objective: the objective, declared once in the spec.
        seed: a non-negative integer for reproducible suggestions, or ``None``.
        **settings: the strategy's own settings (random and grid have none).

    Returns:
        The strategy.

    Raises:
        SpecError: unknown name (the message lists the valid ones), missing optional dependencies (naming
            ``pip install 'hyperjob[bo]'``), an unknown setting (named, with the valid ones), or bad arguments
            (e.g. grid search over a non-categorical range).
    """
    return strategy_entry(name).create(space, objective, seed=seed, **settings)


__all__ = [
    "STRATEGY_NAMES",
    "StrategyEntry",
    "StrategyInputs",
    "check_setting_names",
    "create_stopper",
    "create_strategy",
    "normalize_strategy_name",
    "register",
    "stopping_rule",
    "strategy_entry",
    "strategy_names",
    "unregister",
]
