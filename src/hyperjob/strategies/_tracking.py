"""What a strategy knows: every configuration it has seen, the pending ones, the results.

Shared bookkeeping of the random and grid strategies (private: strategies expose what they need).

Rules (the same for every strategy that uses it):

- a configuration is *known* once it was suggested or appeared in any event (``Pending``, ``Intermediate``,
  ``Final``, ``Failed``), whether or not the strategy suggested it (warm start, user-run training jobs,
  replaying the store on resume);
- *pending* is a multiset keyed by ``space.key(config)``: ``suggest`` adds one; a ``Pending`` event claims an
  unclaimed suggestion of the same configuration, or adds one when there is none (a configuration evaluated
  outside ``suggest``); ``Final``, ``Failed`` and a stopped ``Intermediate`` (``stopped=True``, the last value
  of a training job that was stopped early) remove one. Other ``Intermediate`` events change nothing;
- ``Failed`` (and a ``Final`` whose value is not a finite number) is finished without a value; a stopped
  ``Intermediate`` with a finite value is kept in :attr:`Ledger.stopped`.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Iterator, Mapping

from hyperjob.errors import SpecError
from hyperjob.records import Configuration, Failed, Final, Intermediate, Objective, Observation, Pending
from hyperjob.space import SearchSpace

_EVENT_TYPES = (Pending, Intermediate, Final, Failed)


def check_seed(seed: Any) -> int | None:
    """Return ``seed`` if it is ``None`` or a non-negative integer; ``SpecError`` otherwise."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SpecError(
            f"the seed must be a non-negative integer or None, got {seed!r}. Use e.g. seed: 0.", path="seed"
        )
    return int(seed)


def check_count(n: Any) -> int:
    """Return ``n`` if it is a non-negative integer (the ``n`` of ``suggest``); ``SpecError`` otherwise."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise SpecError(f"suggest(n) needs a non-negative integer n, got {n!r}. Use e.g. suggest(1).", path="n")
    return int(n)


class Ledger:
    """Known configurations, the pending multiset and the results of one strategy.

    Args:
        space: the search space; keys are ``space.key`` of the configuration.
        objective: the objective, used for :attr:`best`.
    """

    def __init__(self, space: SearchSpace, objective: Objective) -> None:
        self.space = space
        self.objective = objective
        #: key -> configuration, in the order they became known
        self.known: dict[str, Configuration] = {}
        #: how many of the known configurations the space contains (events may bring others)
        self.known_in_space = 0
        self.pending: Counter[str] = Counter()
        self._unclaimed: Counter[str] = Counter()
        #: (configuration, value) of every final result with a finite value, in arrival order
        self.finals: list[tuple[Configuration, float]] = []
        #: (configuration, last value) of every training job stopped early, in arrival order
        self.stopped: list[tuple[Configuration, float]] = []
        self.failures = 0

    # -- keys -----------------------------------------------------------------------------------------------
    def canonical(self, config: Mapping[str, Any]) -> Configuration:
        """The tuned part of ``config`` with each value in its range's type (``3.0`` -> ``3`` for integers).

        A configuration outside the space (e.g. from a parent tuning job with other ranges) is kept as given.

        Raises:
            SpecError: a tuned hyperparameter is missing.
        """
        if not isinstance(config, Mapping):
            raise SpecError(
                f"a configuration must be a mapping of hyperparameter names to values, got {config!r}.",
                path="config",
            )
        missing = [n for n in self.space.names if n not in config]
        if missing:
            raise SpecError(
                f"the configuration {dict(config)!r} lacks the tuned hyperparameter {missing[0]!r}. "
                "Give a value for every tuned hyperparameter.",
                path=f"hyperparameters.{missing[0]}",
            )
        try:
            return self.space.validate({n: config[n] for n in self.space.names})
        except SpecError:
            return {n: config[n] for n in self.space.names}

    def key(self, config: Mapping[str, Any]) -> str:
        return self.space.key(config)

    def is_known(self, config: Mapping[str, Any]) -> bool:
        return self.space.key(config) in self.known

    def _remember(self, key: str, config: Configuration) -> None:
        if key not in self.known:
            self.known[key] = config
            if self.space.contains(config):
                self.known_in_space += 1

    # -- updates --------------------------------------------------------------------------------------------
    def add_suggested(self, config: Configuration) -> str:
        """Record a configuration the strategy suggests (pending until its Final or Failed)."""
        key = self.space.key(config)
        self._remember(key, config)
        self.pending[key] += 1
        self._unclaimed[key] += 1
        return key

    def take_unknown(self, source: Iterator[Configuration], n: int) -> list[Configuration]:
        """Up to ``n`` configurations from ``source`` that are not known yet, each recorded as suggested (the
        known ones are skipped: never suggested twice). Fewer than ``n`` only when ``source`` ran out."""
        out: list[Configuration] = []
        while len(out) < n:
            config = next(source, None)
            if config is None:
                break
            if not self.is_known(config):
                self.add_suggested(config)
                out.append(config)
        return out

    def record(self, event: Observation) -> str:
        """Record an event; returns the configuration's key.

        Raises:
            SpecError: ``event`` is not an event, or its configuration lacks a tuned hyperparameter.
        """
        if not isinstance(event, _EVENT_TYPES):
            raise SpecError(
                f"observe takes a Pending, Intermediate, Final or Failed event (hyperjob.records), got "
                f"{event!r}. Wrap the result, e.g. Final(config, value).",
                path="event",
            )
        config = self.canonical(event.config)
        key = self.space.key(config)
        self._remember(key, config)
        if isinstance(event, Pending):
            if self._unclaimed[key] > 0:
                self._unclaimed[key] -= 1
            else:
                self.pending[key] += 1
        elif isinstance(event, (Final, Failed)) or (isinstance(event, Intermediate) and event.stopped):
            if self.pending[key] > 0:
                self.pending[key] -= 1
                self._unclaimed[key] = min(self._unclaimed[key], self.pending[key])
            value = None if isinstance(event, Failed) else _finite(event.value)
            if isinstance(event, Intermediate):
                if value is not None:
                    self.stopped.append((config, value))
            elif value is None:
                self.failures += 1
            else:
                self.finals.append((config, value))
        return key

    # -- views ----------------------------------------------------------------------------------------------
    @property
    def pending_configs(self) -> list[Configuration]:
        """The pending configurations, each as many times as it is pending, in the order they became known."""
        return [self.known[k] for k, c in self.pending.items() for _ in range(c) if c > 0]

    @property
    def best(self) -> tuple[Configuration, float] | None:
        """The configuration with the best final value under the objective (the first one on ties)."""
        best: tuple[Configuration, float] | None = None
        for config, value in self.finals:
            if best is None or self.objective.is_better(value, best[1]):
                best = (config, value)
        return best



class LedgerViews:
    """The read-only views every strategy with a ``_ledger`` offers."""

    _ledger: Ledger

    @property
    def pending(self) -> list[Configuration]:
        """The configurations suggested or registered as pending that have no Final or Failed yet."""
        return self._ledger.pending_configs

    @property
    def best(self) -> tuple[Configuration, float] | None:
        """``(configuration, value)`` of the best final result observed, or ``None``."""
        return self._ledger.best

    def add_suggested(self, config: Configuration) -> None:
        """Record ``config`` as suggested on this strategy's behalf (by a strategy that combines several, such as
        hyperband's models): pending until its result, and the ``Pending`` event of its launch claims it, as it
        claims a suggestion of this strategy's own (a ``Pending`` event instead would count it twice)."""
        self._ledger.add_suggested(self._ledger.canonical(config))


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


__all__ = ["Ledger", "check_count", "check_seed"]
