"""The search space: tuned ranges plus static hyperparameters, in one map (as in SageMaker)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from hyperjob.errors import SpecError
from hyperjob.records import Configuration, config_key
from hyperjob.space.ranges import CategoricalRange, Range, Tier, tuned_tiers


@dataclass(frozen=True)
class SearchSpace:
    """Tuned ranges (ordered) and static hyperparameters.

    A configuration produced by a strategy holds the tuned hyperparameters only; :meth:`full` adds the static
    ones. Unit coordinates: one coordinate per range, in the order of :attr:`ranges` (see ``ranges.py``).

    Attributes:
        ranges: the tuned hyperparameters, in order.
        static: the hyperparameters that keep one value (name -> value).
        off_range_defaults: the value a tiered hyperparameter takes when its tier is not tuned, where that
            value is not one the range allows (a Neptune lenience: generated files carry e.g. ``weight-decay``
            default 0 beside a log range ``[0.001, 0.01]``). :meth:`for_budget` uses it instead of
            ``range.default``; a strategy never suggests it. Each key must name a range without a default.

    Raises:
        SpecError: if a name is empty, declared twice, both tuned and static, or an ``off_range_defaults`` key
            does not name a range without a default.
    """

    ranges: tuple[Range, ...] = ()
    static: Mapping[str, Any] = field(default_factory=dict)
    off_range_defaults: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ranges", tuple(self.ranges))
        object.__setattr__(self, "static", dict(self.static))
        object.__setattr__(self, "off_range_defaults", dict(self.off_range_defaults))
        seen: set[str] = set()
        for r in self.ranges:
            if not isinstance(r.name, str) or not r.name.strip():
                raise SpecError(
                    f"a hyperparameter needs a non-empty name, got {r.name!r}. Name it, e.g. 'learning_rate'.",
                    path="hyperparameters",
                )
            if r.name in seen:
                raise SpecError(
                    f"the hyperparameter {r.name!r} is declared twice. Keep one declaration per name.",
                    path=f"hyperparameters.{r.name}",
                )
            seen.add(r.name)
        for name in self.static:
            if not isinstance(name, str) or not name.strip():
                raise SpecError(
                    f"a static hyperparameter needs a non-empty name, got {name!r}. Name it.",
                    path="hyperparameters",
                )
        both = sorted(seen & set(self.static))
        if both:
            raise SpecError(
                f"{both[0]!r} is both tuned (a range) and static. Remove it from one of the two.",
                path=f"hyperparameters.{both[0]}",
            )
        for name in self.off_range_defaults:
            if name not in seen:
                raise SpecError(
                    f"off_range_defaults names {name!r}, which is not a tuned hyperparameter. "
                    f"Name one of {', '.join(map(repr, sorted(seen))) or 'none'}.",
                    path=f"hyperparameters.{name}.default",
                )
            if self[name].default is not None:
                raise SpecError(
                    f"{name!r} has both a default ({self[name].default!r}) and an off-range default "
                    f"({self.off_range_defaults[name]!r}). Keep one.",
                    path=f"hyperparameters.{name}.default",
                )

    # -- lookup -------------------------------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """The tuned hyperparameters' names, in order."""
        return tuple(r.name for r in self.ranges)

    @property
    def dim(self) -> int:
        """The number of tuned hyperparameters (unit coordinates)."""
        return len(self.ranges)

    def __getitem__(self, name: str) -> Range:
        for r in self.ranges:
            if r.name == name:
                return r
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(r.name == name for r in self.ranges)

    def __len__(self) -> int:
        return len(self.ranges)

    @property
    def cardinality(self) -> float:
        """Number of distinct configurations (``math.inf`` with a continuous range)."""
        return math.prod(r.cardinality for r in self.ranges) if self.ranges else 1

    def default_of(self, name: str) -> Any:
        """The value tuned hyperparameter ``name`` takes when it is not tuned (``None``: it has none)."""
        if name in self.off_range_defaults:
            return self.off_range_defaults[name]
        return self[name].default

    # -- configurations -------------------------------------------------------------------------------------
    def contains(self, config: Mapping[str, Any]) -> bool:
        """True if ``config`` sets exactly the tuned hyperparameters, each to a value its range allows."""
        return set(config) == set(self.names) and all(r.contains(config[r.name]) for r in self.ranges)

    def validate(self, config: Mapping[str, Any]) -> Configuration:
        """Return the tuned part of ``config`` coerced to the ranges' types.

        Static names are accepted and left out of the result.

        Raises:
            SpecError: naming the first missing, unknown or disallowed value.
        """
        missing = [n for n in self.names if n not in config]
        if missing:
            raise SpecError(
                f"the configuration lacks {missing[0]!r}. Give a value for every tuned hyperparameter.",
                path=f"hyperparameters.{missing[0]}",
            )
        extra = [n for n in config if n not in self and n not in self.static]
        if extra:
            raise SpecError(
                f"{extra[0]!r} is not a hyperparameter of this space. Known: {', '.join(self.names)}.",
                path=f"hyperparameters.{extra[0]}",
            )
        return {r.name: r.coerce(config[r.name]) for r in self.ranges}

    def full(self, config: Mapping[str, Any]) -> Configuration:
        """The configuration with the static hyperparameters added (what a training job receives)."""
        return {**self.static, **{n: config[n] for n in self.names}}

    def key(self, config: Mapping[str, Any]) -> str:
        """A canonical key of the tuned part of ``config``."""
        return config_key({n: config[n] for n in self.names})

    # -- unit coordinates ---------------------------------------------------------------------------------
    def to_unit(self, config: Mapping[str, Any]) -> np.ndarray:
        """The configuration's point in ``[0, 1]^dim``."""
        return np.array([r.to_unit(config[r.name]) for r in self.ranges], dtype=float)

    def from_unit(self, u: Sequence[float]) -> Configuration:
        """The configuration at point ``u`` of ``[0, 1]^dim`` (always a value each range allows).

        Raises:
            ValueError: if ``u`` does not have ``dim`` coordinates.
        """
        if len(u) != self.dim:
            raise ValueError(f"expected {self.dim} coordinates, got {len(u)}")
        return {r.name: r.from_unit(float(x)) for r, x in zip(self.ranges, u)}

    # -- grid -----------------------------------------------------------------------------------------------
    def grid(self) -> Iterator[Configuration]:
        """Every combination of categorical values, in a deterministic order (the last range varies fastest).

        Raises:
            SpecError: at once (not on first iteration) if a range is not categorical (grid search takes
                categorical ranges only, seed 002).
        """
        for r in self.ranges:
            if not isinstance(r, CategoricalRange):
                raise SpecError(
                    f"grid search takes categorical ranges only, but {r.name!r} is a {r.kind} range. "
                    "List its values as a categorical range (e.g. values: [0.01, 0.1]), or use the "
                    "'random' or 'bayesian' strategy.",
                    path=f"hyperparameters.{r.name}",
                )
        names = self.names
        return (dict(zip(names, combo)) for combo in itertools.product(*(r.values for r in self.ranges)))

    # -- tiers ----------------------------------------------------------------------------------------------
    def for_budget(self, max_jobs: int) -> "SearchSpace":
        """The space a budget of ``max_jobs`` training jobs tunes.

        Ranges of tiers the budget does not tune become static at their default (or off-range default);
        ranges without a tier are always tuned. See :func:`hyperjob.space.ranges.tuned_tiers`.

        Raises:
            SpecError: if ``max_jobs`` is not a whole number >= 1, or a range left untuned has no default.
        """
        tiers = tuned_tiers(max_jobs)
        keep: list[Range] = []
        static = dict(self.static)
        for r in self.ranges:
            if r.tier is None or r.tier in tiers:
                keep.append(r)
                continue
            value = self.default_of(r.name)
            if value is None:
                raise SpecError(
                    f"{r.name!r} is in tier {r.tier.value}, which a budget of {max_jobs} training jobs does not "
                    "tune, so it needs a default. Add a default, or move it to a tuned tier.",
                    path=f"hyperparameters.{r.name}.default",
                )
            static[r.name] = value
        return self.with_ranges(keep, static=static)

    def with_ranges(self, ranges: Iterable[Range], static: Mapping[str, Any] | None = None) -> "SearchSpace":
        """A space with other ranges (and optionally other static values); off-range defaults follow their ranges."""
        ranges = tuple(ranges)
        names = {r.name for r in ranges}
        return SearchSpace(
            ranges=ranges,
            static=self.static if static is None else static,
            off_range_defaults={
                k: v for k, v in self.off_range_defaults.items() if k in names and _has_no_default(ranges, k)
            },
        )

    def tiers(self) -> dict[str, Tier | None]:
        """Each tuned hyperparameter's tier (``None``: always tuned)."""
        return {r.name: r.tier for r in self.ranges}


def _has_no_default(ranges: Iterable[Range], name: str) -> bool:
    """True if the range called ``name`` has no default (so an off-range default may stand for it)."""
    return any(r.name == name and r.default is None for r in ranges)


__all__ = ["SearchSpace", "Tier"]
