"""The listed strategy: exactly the configurations it is given, in their order, each once.

``hyperjob rankcheck`` runs a fast tuning job's top configurations again in full mode with it; a user can name
configurations to compare with it too (``strategy: {name: listed, settings: {configurations: [...]}}``).
A configuration known from an event (replayed on resume) is not suggested again.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from hyperjob.errors import SpecError
from hyperjob.records import Configuration, Objective, Observation
from hyperjob.space import SearchSpace
from hyperjob.strategies._tracking import Ledger, LedgerViews, check_count, check_seed
from hyperjob.strategies.base import BaseStrategy


def check_listed(space: SearchSpace, settings: Mapping[str, Any]) -> list[Configuration]:
    """The configurations of ``settings["configurations"]``, each checked against the space.

    Raises:
        SpecError: at ``strategy.settings.configurations[i]`` for one that is missing, outside its ranges, or
            not a mapping.
    """
    given = settings.get("configurations")
    if not isinstance(given, list) or not given:
        raise SpecError(
            f"needs a non-empty list of configurations (hyperparameter -> value), got {given!r}. Give e.g. "
            "configurations: [{lr: 0.01}, {lr: 0.1}].",
            path="strategy.settings.configurations",
        )
    out = []
    for i, config in enumerate(given):
        if not isinstance(config, Mapping):
            raise SpecError(f"is not a mapping of hyperparameter names to values: {config!r}.",
                            path=f"strategy.settings.configurations[{i}]")
        missing = [n for n in space.names if n not in config]
        if missing:
            raise SpecError(f"lacks the tuned hyperparameter {missing[0]!r}. Give a value for each of "
                            f"{', '.join(space.names)}.", path=f"strategy.settings.configurations[{i}]")
        try:
            out.append(space.validate({n: config[n] for n in space.names}))
        except SpecError as exc:
            raise SpecError(exc.message, path=f"strategy.settings.configurations[{i}]") from None
    return out


class ListedStrategy(LedgerViews, BaseStrategy):
    """Suggests the given configurations in order (see the module docstring).

    Args:
        space: the search space.
        objective: the objective (kept for :attr:`best`).
        seed: accepted for a uniform constructor; changes nothing.
        configurations: the configurations to run.
        of: the tuning job these configurations come from (a fast tuning job for ``rankcheck``), for the record.
    """

    def __init__(self, space: SearchSpace, objective: Objective, seed: int | None = None, *,
                 configurations: Sequence[Mapping[str, Any]] = (), of: str | None = None) -> None:
        self.space = space
        self.objective = objective
        self.seed = check_seed(seed)
        self.of = of
        self._queue = iter(check_listed(space, {"configurations": list(configurations)}))
        self._ledger = Ledger(space, objective)

    def suggest(self, n: int) -> list[Configuration]:
        return self._ledger.take_unknown(self._queue, check_count(n))

    def observe(self, event: Observation) -> None:
        self._ledger.record(event)


__all__ = ["ListedStrategy", "check_listed"]
