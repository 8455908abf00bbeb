"""The ask/tell API: drive a strategy from your own loop, no Tuner, executor or store.

Example (a quadratic in place of a training run)::

    >>> from hyperjob import AskTell
    >>> at = AskTell({"x": {"type": "continuous", "min_value": -2.0, "max_value": 2.0},
    ...               "n": {"type": "integer", "min": 1, "max": 4}, "epochs": 10},
    ...              objective="loss", strategy="random", seed=0)
    >>> for _ in range(16):
    ...     s = at.ask()
    ...     at.tell(s, (s.config["x"] - 1.0) ** 2 + s.config["n"])
    >>> config, value = at.best
    >>> value < 1.5
    True

``tell`` also takes a dict of metrics (the objective's metric is picked out), intermediate values
(``step=``) and failures (``failed="reason"``); a configuration that was never asked is accepted as extra data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Union

from hyperjob.errors import SpecError, StrategyError
from hyperjob.records import Configuration, Direction, Failed, Final, Intermediate, Objective, Pending
from hyperjob.space import CategoricalRange, ContinuousRange, IntegerRange, Range, SearchSpace
from hyperjob.strategies.base import Strategy
from hyperjob.strategies.registry import create_strategy


@dataclass(frozen=True)
class Suggestion:
    """A configuration to evaluate, as :meth:`AskTell.ask` returns it.

    Attributes:
        id: its number, 0 for the first one asked (or told, for a configuration that was never asked).
        config: the tuned hyperparameters, name -> value (a copy: changing it changes nothing here).
        static: the static hyperparameters of the space (the same for every suggestion).
    """

    id: int
    config: Configuration
    static: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def full_config(self) -> Configuration:
        """The static hyperparameters with the tuned ones: everything a training run receives."""
        return {**self.static, **self.config}


@dataclass
class _Entry:
    suggestion: Suggestion
    key: str
    value: float | None = None
    reason: str | None = None
    finished: bool = False
    intermediate: list[tuple[int, float]] = field(default_factory=list)


Told = Union[Suggestion, int, Mapping[str, Any]]


class AskTell:
    """A strategy behind ``ask()`` / ``tell()``, for users who run training themselves.

    Args:
        space: a :class:`SearchSpace`, or a dict: ``name -> {"type": "continuous" | "integer" | "categorical",
            "min_value"/"min", "max_value"/"max", "scaling", "values", "default"}``; a value that is not a dict
            is a static hyperparameter.
        objective: the metric's name, or an :class:`Objective`.
        maximize: ``True`` to maximize the metric, ``False`` to minimize it; ``None`` (default) keeps an
            :class:`Objective`'s direction, or minimizes a metric given by name.
        strategy: ``'bayesian'`` (default, as in a spec; needs ``pip install 'hyperjob[bo]'``), ``'random'`` or
            ``'grid'``; SageMaker's spellings work too.
        seed: a non-negative integer for reproducible suggestions.
        **settings: the strategy's own settings.

    Raises:
        SpecError: a bad space, objective, strategy name or setting.
    """

    def __init__(
        self,
        space: SearchSpace | Mapping[str, Any],
        objective: str | Objective = "objective",
        maximize: bool | None = None,
        strategy: str = "bayesian",
        seed: int | None = None,
        **settings: Any,
    ) -> None:
        self.space: SearchSpace = space if isinstance(space, SearchSpace) else _ranges_from_dict(space)
        self.objective: Objective = _objective(objective, maximize)
        self.strategy: Strategy = create_strategy(strategy, self.space, self.objective, seed=seed, **settings)
        self._entries: list[_Entry] = []

    # -- ask ------------------------------------------------------------------------------------------------
    def ask(self, n: int = 1) -> Suggestion | list[Suggestion]:
        """Get configurations to evaluate: one :class:`Suggestion` when ``n == 1``, else a list of up to ``n``.

        Every suggestion is pending until it is told a final value or a failure; the strategy takes the
        pending ones into account, so asking several at once (to run them in parallel) is fine.

        Raises:
            SpecError: ``n`` is not a positive integer.
            StrategyError: ``n == 1`` and the strategy has nothing more to suggest (a finished grid). With
                ``n > 1`` the list is shorter instead, possibly empty.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise SpecError(f"ask(n) needs a positive integer n, got {n!r}. Use e.g. ask() or ask(4).", path="n")
        configs = self.strategy.suggest(n)
        out = [self._add(config).suggestion for config in configs]
        if n == 1:
            if not out:
                raise StrategyError(
                    f"the {type(self.strategy).__name__} has nothing more to suggest after {len(self._entries)} "
                    "configurations (every combination of a grid was asked). Stop asking, or use the "
                    "'random' or 'bayesian' strategy for more."
                )
            return out[0]
        return out

    # -- tell -----------------------------------------------------------------------------------------------
    def tell(
        self,
        suggestion: Told,
        value: float | Mapping[str, Any] | None = None,
        *,
        step: int | None = None,
        failed: str | None = None,
    ) -> None:
        """Report the result of a suggestion.

        Args:
            suggestion: what :meth:`ask` returned, its ``id``, or a configuration (a dict of the tuned
                hyperparameters; one that was never asked is accepted as extra data).
            value: the objective's value, or a dict of metrics that holds the objective's metric. A value that
                is not finite (NaN, inf) is recorded as a failure.
            step: give it for an intermediate value (e.g. the epoch); leave it out for the final value.
            failed: the reason the evaluation failed, instead of a value.

        Raises:
            SpecError: an unknown id, a configuration outside the space, no value and no failure (or both), a
                metrics dict without the objective's metric, or a result for a suggestion already finished.
        """
        found = self._entry(suggestion)
        entry = found if isinstance(found, _Entry) else None
        where = f"suggestion {entry.suggestion.id}" if entry else f"the configuration {found!r}"
        if entry is not None and entry.finished:
            raise SpecError(
                f"{where} ({entry.suggestion.config!r}) already has its final result. Tell each suggestion "
                "once (intermediate values go with step=), or ask() again.",
                path="tell",
            )
        if failed is not None and value is not None:
            raise SpecError(
                f"{where}: got both a value ({value!r}) and failed={failed!r}. Give one of them.", path="tell"
            )
        if failed is None and value is None:
            raise SpecError(
                f"{where}: tell needs a value, or failed='reason' when the evaluation failed.", path="tell"
            )
        if step is not None:
            if failed is not None:
                raise SpecError(f"{where}: failed= takes no step, got step={step!r}. Remove step.", path="tell")
            if isinstance(step, bool) or not isinstance(step, int) or step < 0:
                raise SpecError(f"{where}: step must be a non-negative integer, got {step!r}.", path="tell")
        number = None if failed is not None else self._number(value, where)
        # the call is valid: record it
        if entry is None:  # a configuration that was never asked: extra data for the strategy
            entry = self._add(found)  # type: ignore[arg-type]
            if step is not None:
                self.strategy.observe(Pending(dict(entry.suggestion.config), training_job=str(entry.suggestion.id)))
        config = dict(entry.suggestion.config)
        job = str(entry.suggestion.id)
        if number is None:
            self._finish(entry, None, str(failed))
            self.strategy.observe(Failed(config, reason=str(failed), training_job=job))
        elif step is not None:
            if math.isfinite(number):  # a non-finite intermediate value carries no information
                entry.intermediate.append((step, number))
                self.strategy.observe(Intermediate(config, step=step, value=number, training_job=job))
        elif not math.isfinite(number):
            reason = f"the objective {self.objective.metric!r} was {number!r}"
            self._finish(entry, None, reason)
            self.strategy.observe(Failed(config, reason=reason, training_job=job))
        else:
            self._finish(entry, number, None)
            self.strategy.observe(Final(config, number, training_job=job))

    # -- results --------------------------------------------------------------------------------------------
    @property
    def best(self) -> tuple[Configuration, float] | None:
        """``(config, value)`` of the best final value told so far (the earliest on ties), ``None`` if none."""
        best: _Entry | None = None
        for entry in self._entries:
            if entry.value is not None and (best is None or self.objective.is_better(entry.value, best.value)):
                best = entry
        return None if best is None else (dict(best.suggestion.config), best.value)  # type: ignore[return-value]

    @property
    def results(self) -> list[tuple[Suggestion, float | None]]:
        """Every finished suggestion with its final value (``None`` for a failure), in the order asked."""
        return [(e.suggestion, e.value) for e in self._entries if e.finished]

    @property
    def pending(self) -> list[Suggestion]:
        """The suggestions without a final value or failure yet, in the order asked."""
        return [e.suggestion for e in self._entries if not e.finished]

    def __repr__(self) -> str:
        return (
            f"AskTell({type(self.strategy).__name__}, objective={self.objective.metric!r} "
            f"{self.objective.direction.value.lower()}, asked={len(self._entries)}, pending={len(self.pending)})"
        )

    # -- internals ------------------------------------------------------------------------------------------
    def _add(self, config: Configuration) -> _Entry:
        suggestion = Suggestion(id=len(self._entries), config=dict(config), static=self.space.static)
        entry = _Entry(suggestion, self.space.key(config))
        self._entries.append(entry)
        return entry

    def _entry(self, told: Told) -> _Entry | Configuration:
        """The entry ``told`` names, or, for a configuration never asked (nor pending), that configuration."""
        if isinstance(told, Suggestion):
            told = told.id
        if isinstance(told, int) and not isinstance(told, bool):
            if 0 <= told < len(self._entries):
                return self._entries[told]
            raise SpecError(
                f"no suggestion has id {told!r} (ids run from 0 to {len(self._entries) - 1}). Tell what ask() "
                "returned.",
                path="tell",
            )
        if isinstance(told, Mapping):
            config = self.space.validate(told)
            key = self.space.key(config)
            for entry in self._entries:
                if entry.key == key and not entry.finished:
                    return entry
            return config
        raise SpecError(f"tell takes a Suggestion, its id or a configuration dict, got {told!r}.", path="tell")

    def _number(self, value: Any, where: str) -> float:
        if isinstance(value, Mapping):
            if self.objective.metric not in value:
                raise SpecError(
                    f"{where}: the metrics {sorted(map(str, value))} lack the objective "
                    f"{self.objective.metric!r}. Report it, or name the right metric in objective=.",
                    path="tell",
                )
            value = value[self.objective.metric]
        if not isinstance(value, (bool, str, bytes)) and hasattr(value, "__float__"):
            try:
                return float(value)  # int, float, numpy and torch scalars
            except (TypeError, ValueError):
                pass
        raise SpecError(
            f"{where}: the value of {self.objective.metric!r} must be a number, got {value!r}.", path="tell"
        )

    @staticmethod
    def _finish(entry: _Entry, value: float | None, reason: str | None) -> None:
        entry.finished, entry.value, entry.reason = True, value, reason


# ----------------------------------------------------------------------------------------------------------
# The dict form of a space (small on purpose: the job.yaml parser owns the full format).

_TYPES: dict[str, type] = {
    "continuous": ContinuousRange,
    "integer": IntegerRange,
    "categorical": CategoricalRange,
}
_KEYS = ("type", "min_value", "max_value", "min", "max", "scaling", "values", "default")


def _ranges_from_dict(spec: Mapping[str, Any]) -> SearchSpace:
    """A :class:`SearchSpace` from ``{name: {"type": ..., ...} | static value}``.

    Raises:
        SpecError: at ``hyperparameters.<name>`` for an unknown type or key, a missing bound or values, or
            whatever the range itself rejects.
    """
    if not isinstance(spec, Mapping):
        raise SpecError(
            f"the space must be a SearchSpace or a dict of hyperparameters, got {spec!r}.", path="hyperparameters"
        )
    ranges: list[Range] = []
    static: dict[str, Any] = {}
    for name, item in spec.items():
        path = f"hyperparameters.{name}"
        if not isinstance(name, str) or not name.strip():
            raise SpecError(f"a hyperparameter name must be a non-empty string, got {name!r}.", path="hyperparameters")
        if not isinstance(item, Mapping):
            static[name] = item
            continue
        unknown = [k for k in item if k not in _KEYS]
        if unknown:
            raise SpecError(
                f"unknown key {unknown[0]!r}. Use {', '.join(_KEYS)} (a static hyperparameter is a plain value, "
                "not a dict).",
                path=f"{path}.{unknown[0]}",
            )
        kind = item.get("type")
        if kind is None:
            raise SpecError(
                f"a range needs a type, got {dict(item)!r}. Add type: 'continuous', 'integer' or 'categorical'.",
                path=f"{path}.type",
            )
        cls = _TYPES.get(str(kind).strip().lower())
        if cls is None:
            raise SpecError(
                f"unknown type {kind!r}. Use 'continuous', 'integer' or 'categorical'.", path=f"{path}.type"
            )
        common: dict[str, Any] = {"name": name, "default": item.get("default")}
        if cls is CategoricalRange:
            extra = [k for k in ("min_value", "max_value", "min", "max", "scaling") if k in item]
            if extra:
                raise SpecError(
                    f"a categorical range takes values only, got {extra[0]!r}. Remove it, or use type "
                    "'continuous' or 'integer'.",
                    path=f"{path}.{extra[0]}",
                )
            if "values" not in item:
                raise SpecError("a categorical range needs values, e.g. values: ['a', 'b'].", path=f"{path}.values")
            ranges.append(CategoricalRange(values=item["values"], **common))
            continue
        if "values" in item:
            raise SpecError(
                f"a {str(kind).strip().lower()} range takes min_value and max_value, not values. Use type "
                "'categorical' to list values.",
                path=f"{path}.values",
            )
        bounds = {}
        for long, short in (("min_value", "min"), ("max_value", "max")):
            if long in item and short in item:
                raise SpecError(f"give {long} or {short}, not both.", path=f"{path}.{long}")
            if long not in item and short not in item:
                raise SpecError(f"a {str(kind).strip().lower()} range needs {long}.", path=f"{path}.{long}")
            bounds[long] = item[long] if long in item else item[short]
        ranges.append(cls(scaling=item.get("scaling"), **bounds, **common))
    return SearchSpace(ranges=tuple(ranges), static=static)


def _objective(objective: str | Objective, maximize: bool | None) -> Objective:
    if maximize is not None and not isinstance(maximize, bool):
        raise SpecError(f"maximize must be True, False or None, got {maximize!r}.", path="maximize")
    if isinstance(objective, Objective):
        if maximize is not None and maximize != objective.maximize:
            raise SpecError(
                f"maximize={maximize} contradicts the objective's direction {objective.direction.value!r}. "
                "Give the direction once.",
                path="maximize",
            )
        return objective
    if not isinstance(objective, str):
        raise SpecError(f"objective must be a metric name or an Objective, got {objective!r}.", path="objective")
    return Objective(objective, Direction.MAXIMIZE if maximize else Direction.MINIMIZE)


__all__ = ["AskTell", "Suggestion"]
