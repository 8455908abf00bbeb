"""The strategy registry: a strategy by name, with its settings checked.

Names are ours (``random``, ``grid``, ``bayesian``, ``hyperband``) or SageMaker's (``Random``, ``Grid``,
``Bayesian``, ``Hyperband``): case does not matter. ``bayesian`` is imported only when asked for, so that
random and grid search never import torch; without the optional dependencies it names the install command.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from typing import Any, Callable

from hyperjob.errors import SpecError
from hyperjob.records import Objective
from hyperjob.space import SearchSpace
from hyperjob.strategies.base import Strategy

#: Every strategy name, in the order the documentation lists them.
STRATEGY_NAMES: tuple[str, ...] = ("random", "grid", "bayesian", "hyperband")

#: The modules the bayesian strategy needs (the ``bo`` extra).
_BO_MODULES = ("torch", "botorch", "gpytorch")

#: Constructor parameters every strategy has; the rest are its settings.
_COMMON = ("self", "space", "objective", "seed")


def normalize_strategy_name(name: Any, path: str = "strategy") -> str:
    """Our spelling of a strategy name (``'Bayesian'`` -> ``'bayesian'``).

    Raises:
        SpecError: the name is not a string or not a strategy (the message lists the valid ones).
    """
    text = name.strip().lower() if isinstance(name, str) else None
    if text not in STRATEGY_NAMES:
        valid = ", ".join(repr(n) for n in STRATEGY_NAMES)
        raise SpecError(
            f"unknown strategy {name!r}. Use one of {valid} (SageMaker's 'Random', 'Grid', 'Bayesian', "
            "'Hyperband' work too).",
            path=path,
        )
    return text


def strategy_class(name: str) -> Callable[..., Strategy]:
    """The class of a strategy, imported on demand.

    Raises:
        SpecError: unknown name, a strategy that is not available yet, or missing optional dependencies.
    """
    name = normalize_strategy_name(name)
    if name == "random":
        from hyperjob.strategies.random import RandomStrategy

        return RandomStrategy
    if name == "grid":
        from hyperjob.strategies.grid import GridStrategy

        return GridStrategy
    if name == "bayesian":
        return _bayesian_class()
    from hyperjob.strategies.hyperband import HyperbandStrategy

    return HyperbandStrategy


def _bayesian_class() -> Callable[..., Strategy]:
    missing = [m for m in _BO_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise SpecError(
            f"the 'bayesian' strategy needs {', '.join(missing)}, which is not installed. "
            "Install it with: pip install 'hyperjob[bo]' (or use the 'random' strategy).",
            path="strategy",
        )
    try:
        module = importlib.import_module("hyperjob.strategies.bayesian")
    except ImportError as exc:
        root = (exc.name or "").split(".")[0]
        if root in _BO_MODULES or root == "linear_operator":
            raise SpecError(
                f"the 'bayesian' strategy could not import {exc.name!r} ({exc}). "
                "Install or repair its dependencies with: pip install 'hyperjob[bo]' (or use the 'random' "
                "strategy).",
                path="strategy",
            ) from exc
        if exc.name == "hyperjob.strategies.bayesian":
            raise SpecError(
                "the 'bayesian' strategy is missing from this installation of hyperjob "
                "(no module hyperjob.strategies.bayesian). Reinstall hyperjob, or use the 'random' strategy.",
                path="strategy",
            ) from exc
        raise
    return module.BayesianStrategy


def strategy_settings(name: str) -> tuple[str, ...] | None:
    """The settings a strategy accepts (its constructor's other keyword parameters), ``None`` if any.

    Raises:
        SpecError: as :func:`strategy_class`.
    """
    params = inspect.signature(strategy_class(name)).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return tuple(
        p.name
        for p in params
        if p.name not in _COMMON and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    )


def create_strategy(
    name: str, space: SearchSpace, objective: Objective, seed: int | None = None, **settings: Any
) -> Strategy:
    """Build the strategy named ``name``.

    Args:
        name: one of :data:`STRATEGY_NAMES`, in any case (SageMaker's ``Bayesian`` etc. work).
        space: the search space.
        objective: the objective, declared once in the spec.
        seed: a non-negative integer for reproducible suggestions, or ``None``.
        **settings: the strategy's own settings (random and grid have none).

    Returns:
        The strategy.

    Raises:
        SpecError: unknown name (the message lists the valid ones), a strategy not available yet
            (``hyperband``), missing optional dependencies (naming ``pip install 'hyperjob[bo]'``), an unknown
            setting (named, with the valid ones), or bad arguments (e.g. grid search over a non-categorical
            range).
    """
    key = normalize_strategy_name(name)
    cls = strategy_class(key)
    allowed = strategy_settings(key)
    if allowed is not None:
        unknown = sorted(set(settings) - set(allowed))
        if unknown:
            valid = ", ".join(repr(s) for s in allowed) if allowed else "none"
            raise SpecError(
                f"unknown setting {unknown[0]!r} for the {key!r} strategy. Valid settings: {valid}. "
                "Remove it, or check its spelling.",
                path=f"strategy.settings.{unknown[0]}",
            )
    return cls(space, objective, seed=seed, **settings)


__all__ = ["STRATEGY_NAMES", "create_strategy", "normalize_strategy_name", "strategy_class", "strategy_settings"]
