"""The entry point of the shared benchmark harness: ``hyperjob.bench.run(space, objective, budget, seed)``.

The harness (``../shared/bench``, see ``benchmarks/README.md``) describes a problem's search space in a
neutral, JSON-able format and hands over a function to *minimise*::

    {"lr":    {"type": "float", "low": 1e-5, "high": 1.0, "log": True},
     "depth": {"type": "int",   "low": 1,    "high": 10,  "log": False},   # bounds inclusive
     "act":   {"type": "categorical", "choices": ["relu", "tanh"]}}

:func:`run` translates the space into a :class:`~hyperjob.space.SearchSpace` (``log`` becomes logarithmic
scaling, otherwise linear, never ``auto``), and drives the default Bayesian strategy through its ask/tell
loop for ``budget`` sequential evaluations.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

from hyperjob.errors import SpecError
from hyperjob.records import Configuration, Direction, Failed, Final, Objective
from hyperjob.space import CategoricalRange, ContinuousRange, IntegerRange, Scaling, SearchSpace


def search_space(space: Mapping[str, Mapping[str, Any]]) -> SearchSpace:
    """The :class:`SearchSpace` of a space in the harness's neutral format.

    Raises:
        SpecError: an entry has an unknown ``type`` or bad bounds.
    """
    ranges = []
    for name, p in space.items():
        kind = p.get("type")
        if kind == "categorical":
            ranges.append(CategoricalRange(name=name, values=tuple(p["choices"])))
        elif kind in ("float", "int"):
            scaling = Scaling.LOGARITHMIC if p.get("log") else Scaling.LINEAR
            cls = ContinuousRange if kind == "float" else IntegerRange
            ranges.append(cls(name=name, min_value=p["low"], max_value=p["high"], scaling=scaling))
        else:
            raise SpecError(
                f"unknown parameter type {kind!r}. Use 'float', 'int' or 'categorical'.", path=f"space.{name}.type"
            )
    return SearchSpace(ranges=tuple(ranges))


def run(
    space: Mapping[str, Mapping[str, Any]],
    objective: Callable[[Configuration], float],
    budget: int,
    seed: int,
    **settings: Any,
) -> None:
    """Minimise ``objective`` over ``space`` with ``budget`` sequential evaluations of the Bayesian strategy.

    Args:
        space: the neutral space format (module docstring).
        objective: ``config -> value`` to minimise; called exactly ``budget`` times, in order. A value that is
            not a finite number is observed as a failed training job.
        budget: the number of evaluations (non-negative).
        seed: the strategy's seed.
        **settings: settings of :class:`~hyperjob.strategies.bayesian.BayesianStrategy` (e.g. ``n_initial``).

    Raises:
        SpecError: a bad space, budget or setting.
    """
    from hyperjob.strategies.bayesian import BayesianStrategy

    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 0:
        raise SpecError(f"budget must be a non-negative integer, got {budget!r}.", path="budget")
    strategy = BayesianStrategy(
        search_space(space), Objective("objective", Direction.MINIMIZE), seed=seed, **settings
    )
    for _ in range(budget):
        suggestions = strategy.suggest(1)
        if not suggestions:
            return  # a finite space with every configuration evaluated
        config = suggestions[0]
        try:
            value = float(objective(dict(config)))
        except (TypeError, ValueError):
            value = math.nan
        strategy.observe(Final(config, value) if math.isfinite(value) else Failed(config, "not a finite value"))


__all__ = ["run", "search_space"]
