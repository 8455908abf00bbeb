"""Ranges: continuous, integer, discrete (increment grids) and categorical, with SageMaker's scalings.

Every range maps its values to and from the unit interval, so that strategies work in one coordinate
system (``to_unit`` / ``from_unit``):

- continuous: the value's position in the range's scaled coordinates (linear, log, reverse-log);
- integer: as continuous over ``[min - 0.5, max + 0.5]`` (log: the same in log space), rounded, so that
  every integer gets the same share of the unit interval in the range's own scaling;
- discrete (an increment grid such as 16, 32, 64, 128): the ``n`` values in order, each owning ``1/n``;
- categorical: like discrete, but strategies must not treat the order as meaningful (the Bayesian strategy
  one-hot encodes them).

Scaling ``auto`` (SageMaker leaves its rule unstated; ours, fixed and documented):
``logarithmic`` when ``min > 0`` and ``max / min >= 100`` (the range spans two decades or more, so that
equal steps in log space are what a user means, e.g. a learning rate); ``reverse_logarithmic`` for a
continuous range with ``0 <= min``, ``max < 1`` and ``(1 - min) / (1 - max) >= 100`` (values crowding
towards 1, e.g. a momentum in [0.9, 0.9999]); ``linear`` otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any, Sequence, Union

from hyperjob.errors import SpecError


class Scaling(str, Enum):
    """How a numeric range is searched (SageMaker's ``ScalingType``)."""

    AUTO = "Auto"
    LINEAR = "Linear"
    LOGARITHMIC = "Logarithmic"
    REVERSE_LOGARITHMIC = "ReverseLogarithmic"

    @classmethod
    def parse(cls, value: "str | Scaling | None", path: str | None = None) -> "Scaling":
        """Accept SageMaker's names (``Logarithmic``) and snake case (``logarithmic``, ``reverse_logarithmic``)."""
        if value is None:
            return cls.AUTO
        if isinstance(value, Scaling):
            return value
        text = str(value).strip().lower().replace("-", "").replace("_", "")
        for member in cls:
            if member.value.lower() == text:
                return member
        if text == "log":
            return cls.LOGARITHMIC
        raise SpecError(
            f"unknown scaling {value!r}. Use one of 'auto', 'linear', 'logarithmic', 'reverse_logarithmic'.",
            path=path,
        )


class Tier(str, Enum):
    """Neptune ML's tiers: which hyperparameters a budget tunes."""

    ONE = "1"
    TWO = "2"
    THREE = "3"
    FIXED = "fixed"


def tuned_tiers(max_jobs: int) -> frozenset[Tier]:
    """The tiers a budget of ``max_jobs`` training jobs tunes (seed 000).

    ``max_jobs <= 10``: tier 1 only; 11 to 50: tiers 1 and 2; 51 and more: tiers 1, 2 and 3. Fixed
    hyperparameters are never tuned.
    """
    if max_jobs <= 10:
        return frozenset({Tier.ONE})
    if max_jobs <= 50:
        return frozenset({Tier.ONE, Tier.TWO})
    return frozenset({Tier.ONE, Tier.TWO, Tier.THREE})


def _num(value: Any, what: str, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"{what} must be a number, got {value!r}.", path=path)
    if not math.isfinite(value):
        raise SpecError(f"{what} must be finite, got {value!r}.", path=path)
    return value


def _clip01(u: float) -> float:
    return 0.0 if u < 0.0 else (1.0 if u > 1.0 else float(u))


def _auto_scaling(lo: float, hi: float, continuous: bool) -> Scaling:
    if lo > 0 and hi / lo >= 100:
        return Scaling.LOGARITHMIC
    if continuous and 0 <= lo and hi < 1 and (1 - lo) / (1 - hi) >= 100:
        return Scaling.REVERSE_LOGARITHMIC
    return Scaling.LINEAR


@dataclass(frozen=True)
class _Common:
    name: str
    default: Any = None
    tier: Tier | None = None
    #: Neptune ML: the range scales with the graph's node / edge count (kept for the graph algorithms)
    node_strategy: str | None = None
    edge_strategy: str | None = None

    @property
    def path(self) -> str:
        return f"hyperparameters.{self.name}"


@dataclass(frozen=True)
class ContinuousRange(_Common):
    """A real-valued range ``[min_value, max_value]`` searched in ``scaling``."""

    min_value: float = 0.0
    max_value: float = 1.0
    scaling: Scaling = Scaling.AUTO

    kind = "continuous"

    def __post_init__(self) -> None:
        lo = _num(self.min_value, "min_value", self.path)
        hi = _num(self.max_value, "max_value", self.path)
        object.__setattr__(self, "min_value", float(lo))
        object.__setattr__(self, "max_value", float(hi))
        scaling = Scaling.parse(self.scaling, self.path)
        if lo >= hi:
            raise SpecError(
                f"min_value must be less than max_value, got min_value={lo!r}, max_value={hi!r}. "
                "Swap them, or make the hyperparameter static if it has one value.",
                path=self.path,
            )
        if scaling is Scaling.LOGARITHMIC and lo <= 0:
            raise SpecError(
                f"scaling 'logarithmic' needs min_value > 0, got {lo!r}. "
                "Use a positive min_value (e.g. 1e-6) or scaling 'linear'.",
                path=self.path,
            )
        if scaling is Scaling.REVERSE_LOGARITHMIC and not (0 <= lo and hi < 1):
            raise SpecError(
                f"scaling 'reverse_logarithmic' needs 0 <= min_value and max_value < 1, got "
                f"[{lo!r}, {hi!r}]. Use a range inside [0, 1) or scaling 'linear'.",
                path=self.path,
            )
        if scaling is Scaling.AUTO:
            scaling = _auto_scaling(lo, hi, continuous=True)
        object.__setattr__(self, "scaling", scaling)
        if self.default is not None:
            object.__setattr__(self, "default", self.coerce(self.default, what="default"))

    # -- values -------------------------------------------------------------------------------------------
    def contains(self, value: Any) -> bool:
        return (
            not isinstance(value, bool)
            and isinstance(value, (int, float))
            and self.min_value <= value <= self.max_value
        )

    def coerce(self, value: Any, what: str = "value") -> float:
        """Check that ``value`` is allowed and return it as the range's type."""
        _num(value, what, self.path)
        if not self.min_value <= value <= self.max_value:
            raise SpecError(
                f"{what} {value!r} is outside the range [{self.min_value!r}, {self.max_value!r}]. "
                "Use a value inside the range, or widen the range.",
                path=self.path,
            )
        return float(value)

    # -- unit coordinates ---------------------------------------------------------------------------------
    def _fwd(self, x: float) -> float:
        if self.scaling is Scaling.LOGARITHMIC:
            return math.log(x)
        if self.scaling is Scaling.REVERSE_LOGARITHMIC:
            return -math.log(1.0 - x)
        return x

    def _inv(self, y: float) -> float:
        if self.scaling is Scaling.LOGARITHMIC:
            return math.exp(y)
        if self.scaling is Scaling.REVERSE_LOGARITHMIC:
            return 1.0 - math.exp(-y)
        return y

    def to_unit(self, value: Any) -> float:
        a, b = self._fwd(self.min_value), self._fwd(self.max_value)
        return _clip01((self._fwd(float(value)) - a) / (b - a))

    def from_unit(self, u: float) -> float:
        a, b = self._fwd(self.min_value), self._fwd(self.max_value)
        x = self._inv(a + _clip01(u) * (b - a))
        return min(max(x, self.min_value), self.max_value)

    @property
    def cardinality(self) -> float:
        return math.inf


@dataclass(frozen=True)
class IntegerRange(_Common):
    """An integer range ``[min_value, max_value]`` (both inclusive) searched in ``scaling``.

    ``reverse_logarithmic`` is for continuous ranges only (SageMaker's rule).
    """

    min_value: int = 0
    max_value: int = 1
    scaling: Scaling = Scaling.AUTO

    kind = "integer"

    def __post_init__(self) -> None:
        for what in ("min_value", "max_value"):
            v = getattr(self, what)
            _num(v, what, self.path)
            if float(v) != int(v):
                raise SpecError(
                    f"{what} of an integer range must be a whole number, got {v!r}. "
                    "Round it, or use a continuous range.",
                    path=self.path,
                )
            object.__setattr__(self, what, int(v))
        lo, hi = self.min_value, self.max_value
        scaling = Scaling.parse(self.scaling, self.path)
        if lo >= hi:
            raise SpecError(
                f"min_value must be less than max_value, got min_value={lo!r}, max_value={hi!r}. "
                "Swap them, or make the hyperparameter static if it has one value.",
                path=self.path,
            )
        if scaling is Scaling.LOGARITHMIC and lo <= 0:
            raise SpecError(
                f"scaling 'logarithmic' needs min_value > 0, got {lo!r}. "
                "Use a positive min_value (e.g. 1) or scaling 'linear'.",
                path=self.path,
            )
        if scaling is Scaling.REVERSE_LOGARITHMIC:
            raise SpecError(
                "scaling 'reverse_logarithmic' is for continuous ranges only (SageMaker's rule). "
                "Use 'linear' or 'logarithmic' for an integer range.",
                path=self.path,
            )
        if scaling is Scaling.AUTO:
            scaling = _auto_scaling(lo, hi, continuous=False)
        object.__setattr__(self, "scaling", scaling)
        if self.default is not None:
            object.__setattr__(self, "default", self.coerce(self.default, what="default"))

    def contains(self, value: Any) -> bool:
        return (
            not isinstance(value, bool)
            and isinstance(value, (int, float))
            and float(value) == int(value)
            and self.min_value <= value <= self.max_value
        )

    def coerce(self, value: Any, what: str = "value") -> int:
        _num(value, what, self.path)
        if float(value) != int(value):
            raise SpecError(f"{what} must be a whole number, got {value!r}.", path=self.path)
        if not self.min_value <= value <= self.max_value:
            raise SpecError(
                f"{what} {value!r} is outside the range [{self.min_value}, {self.max_value}]. "
                "Use a value inside the range, or widen the range.",
                path=self.path,
            )
        return int(value)

    def _bounds(self) -> tuple[float, float]:
        lo, hi = self.min_value - 0.5, self.max_value + 0.5
        if self.scaling is Scaling.LOGARITHMIC:
            return math.log(lo), math.log(hi)
        return lo, hi

    def to_unit(self, value: Any) -> float:
        a, b = self._bounds()
        x = math.log(float(value)) if self.scaling is Scaling.LOGARITHMIC else float(value)
        return _clip01((x - a) / (b - a))

    def from_unit(self, u: float) -> int:
        a, b = self._bounds()
        y = a + _clip01(u) * (b - a)
        x = math.exp(y) if self.scaling is Scaling.LOGARITHMIC else y
        return int(min(max(round(x), self.min_value), self.max_value))

    @property
    def cardinality(self) -> float:
        return self.max_value - self.min_value + 1


@dataclass(frozen=True)
class _Listed(_Common):
    values: tuple = ()

    def index(self, value: Any) -> int:
        """The position of ``value`` among the range's values; ``ValueError`` if it is not one of them."""
        key = _value_key(value)
        for i, v in enumerate(self.values):
            if _value_key(v) == key:
                return i
        raise ValueError(f"{value!r} is not a value of {self.name}")

    def contains(self, value: Any) -> bool:
        try:
            self.index(value)
        except ValueError:
            return False
        return True

    def coerce(self, value: Any, what: str = "value") -> Any:
        try:
            return self.values[self.index(value)]
        except ValueError:
            shown = ", ".join(repr(v) for v in self.values[:12]) + (", ..." if len(self.values) > 12 else "")
            raise SpecError(
                f"{what} {value!r} is not one of the allowed values [{shown}]. Use one of them.",
                path=self.path,
            ) from None

    def to_unit(self, value: Any) -> float:
        return (self.index(value) + 0.5) / len(self.values)

    def from_unit(self, u: float) -> Any:
        n = len(self.values)
        return self.values[min(int(_clip01(u) * n), n - 1)]

    @property
    def cardinality(self) -> float:
        return len(self.values)


def _value_key(value: Any) -> Any:
    """A hashable key that tells ``1`` from ``True`` and ``[1, 2]`` from ``(1, 2)`` only by content."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", float(value))
    if isinstance(value, (list, tuple)):
        return ("l", tuple(_value_key(v) for v in value))
    if isinstance(value, dict):
        return ("d", tuple(sorted((k, _value_key(v)) for k, v in value.items())))
    return ("s", str(value))


@dataclass(frozen=True)
class CategoricalRange(_Listed):
    """A set of unordered values: strings, numbers, booleans or lists (SageMaker's categorical range)."""

    kind = "categorical"

    def __post_init__(self) -> None:
        values = self.values
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise SpecError(
                f"values must be a list, got {values!r}. Write them as a list, e.g. ['a', 'b'].",
                path=self.path,
            )
        values = tuple(values)
        if not values:
            raise SpecError(
                "a categorical range needs at least one value, got an empty list. "
                "List the values to try, or remove the hyperparameter.",
                path=self.path,
            )
        keys = [_value_key(v) for v in values]
        dupes = sorted({repr(v) for v, k in zip(values, keys) if keys.count(k) > 1})
        if dupes:
            raise SpecError(
                f"the values {', '.join(dupes)} appear more than once. List each value once.",
                path=self.path,
            )
        for v in values:
            if v is None or (isinstance(v, float) and not math.isfinite(v)):
                raise SpecError(f"a categorical value cannot be {v!r}. Use a string, number, boolean or list.",
                                path=self.path)
        object.__setattr__(self, "values", values)
        if self.default is not None:
            object.__setattr__(self, "default", self.coerce(self.default, what="default"))


@dataclass(frozen=True)
class DiscreteRange(_Listed):
    """An ordered, finite set of numbers: an increment grid (Neptune's ``linear`` with ``inc_val``, ``power2``).

    Strategies treat it as ordinal (neighbouring values are similar) and never suggest a value outside it.
    """

    integer: bool = False
    scaling: Scaling = Scaling.LINEAR

    kind = "discrete"

    def __post_init__(self) -> None:
        values = tuple(sorted(int(v) if self.integer else float(v) for v in self.values))
        if len(values) < 1:
            raise SpecError("an increment grid produced no values. Widen the range.", path=self.path)
        object.__setattr__(self, "values", values)
        if self.default is not None:
            object.__setattr__(self, "default", self.coerce(self.default, what="default"))

    def coerce(self, value: Any, what: str = "value") -> Any:
        _num(value, what, self.path)
        return super().coerce(value, what)

    @property
    def min_value(self) -> float:
        return self.values[0]

    @property
    def max_value(self) -> float:
        return self.values[-1]


Range = Union[ContinuousRange, IntegerRange, DiscreteRange, CategoricalRange]

# --------------------------------------------------------------------------------------------------------------
# Neptune ML's increment strategies.


class IncStrategy(str, Enum):
    """Neptune ML's ``inc_strategy`` for a ``range``."""

    LINEAR = "linear"
    LOG = "log"
    POWER2 = "power2"


def increment_range(
    name: str,
    lo: Any,
    hi: Any,
    *,
    integer: bool,
    inc_strategy: "str | IncStrategy | None",
    inc_val: Any = None,
    default: Any = None,
    tier: Tier | None = None,
    node_strategy: str | None = None,
    edge_strategy: str | None = None,
) -> Range:
    """Build the range a Neptune-style ``range`` with an increment strategy stands for.

    The values each strategy allows (document of record; ``docs/space.md`` repeats it):

    - ``linear`` with ``inc_val``: exactly ``min, min + inc_val, min + 2*inc_val, ..., max``. ``inc_val`` must be
      positive, at most ``max - min``, and divide ``max - min`` (within 1e-9 relative), so that ``max`` is one
      of the values; for an ``int`` hyperparameter it must be a whole number. A :class:`DiscreteRange`.
    - ``linear`` without ``inc_val``: every integer in ``[min, max]`` (``int``) or every real number
      (``float``), linear scaling. An :class:`IntegerRange` or :class:`ContinuousRange`.
    - ``log``: the same, searched in logarithmic scaling (needs ``min > 0``); ``inc_val`` is not allowed.
    - ``power2``: every power of two ``2**k`` (``k`` an integer, negative allowed for ``float``) with
      ``min <= 2**k <= max``; needs ``min > 0`` and at least one power of two in the range, e.g.
      ``[16, 128]`` gives 16, 32, 64, 128 and ``[10, 100]`` gives 16, 32, 64. A :class:`DiscreteRange` searched
      in log scaling.
    """
    path = f"hyperparameters.{name}"
    common = dict(name=name, default=default, tier=tier, node_strategy=node_strategy, edge_strategy=edge_strategy)
    _num(lo, "the range's min", path)
    _num(hi, "the range's max", path)
    if lo >= hi:
        raise SpecError(
            f"the range's min must be less than its max, got [{lo!r}, {hi!r}]. Swap them, or make the "
            "hyperparameter fixed if it has one value.",
            path=path,
        )
    if inc_strategy is None:
        strategy = IncStrategy.LINEAR
    else:
        try:
            strategy = IncStrategy(str(inc_strategy).strip().lower())
        except ValueError:
            raise SpecError(
                f"unknown inc_strategy {inc_strategy!r}. Use 'linear', 'log' or 'power2'.", path=path
            ) from None
    if strategy is IncStrategy.LINEAR:
        if inc_val is None:
            cls = IntegerRange if integer else ContinuousRange
            return cls(min_value=lo, max_value=hi, scaling=Scaling.LINEAR, **common)
        step = _num(inc_val, "inc_val", path)
        if step <= 0:
            raise SpecError(f"inc_val must be positive, got {inc_val!r}. Use e.g. inc_val: 1.", path=path)
        if integer and float(step) != int(step):
            raise SpecError(
                f"inc_val of an int hyperparameter must be a whole number, got {inc_val!r}.", path=path
            )
        span = hi - lo
        if step > span:
            raise SpecError(
                f"inc_val {inc_val!r} is larger than the range's width {span!r} ([{lo!r}, {hi!r}]). "
                "Use a smaller inc_val or a wider range.",
                path=path,
            )
        count = span / step
        if abs(count - round(count)) > 1e-9 * max(1.0, count):
            raise SpecError(
                f"inc_val {inc_val!r} does not divide the range [{lo!r}, {hi!r}] (width {span!r}): "
                f"max would not be one of the values. Use an inc_val that divides {span!r} "
                f"(e.g. {span / max(1, math.floor(count))!r}), or move max.",
                path=path,
            )
        n = int(round(count))
        if n > 100_000:
            raise SpecError(f"inc_val {inc_val!r} makes {n + 1} values; use a larger inc_val.", path=path)
        values = [lo + k * step for k in range(n + 1)]
        if integer:
            values = [int(round(v)) for v in values]
        else:
            # keep decimal steps clean: 0.1 * 3 -> 0.3, not 0.30000000000000004
            digits = max(0, -math.floor(math.log10(step)) + 6) if step < 1 else 6
            values = [round(v, digits) for v in values]
        return DiscreteRange(values=tuple(values), integer=integer, scaling=Scaling.LINEAR, **common)
    if inc_val is not None:
        raise SpecError(
            f"inc_val applies to inc_strategy 'linear' only, got inc_val {inc_val!r} with '{strategy.value}'. "
            "Remove inc_val, or use inc_strategy 'linear'.",
            path=path,
        )
    if strategy is IncStrategy.LOG:
        if lo <= 0:
            raise SpecError(
                f"inc_strategy 'log' needs a positive min, got [{lo!r}, {hi!r}]. "
                "Use a min > 0 or inc_strategy 'linear'.",
                path=path,
            )
        cls = IntegerRange if integer else ContinuousRange
        return cls(min_value=lo, max_value=hi, scaling=Scaling.LOGARITHMIC, **common)
    # power2
    if lo <= 0 or hi <= 0:
        raise SpecError(
            f"inc_strategy 'power2' needs positive bounds, got [{lo!r}, {hi!r}]. "
            "Use bounds > 0 such as [16, 128].",
            path=path,
        )
    k_lo = math.ceil(math.log2(lo) - 1e-12)
    k_hi = math.floor(math.log2(hi) + 1e-12)
    if integer:
        k_lo = max(k_lo, 0)
    if k_lo > k_hi:
        raise SpecError(
            f"inc_strategy 'power2' found no power of two in [{lo!r}, {hi!r}]. "
            "Widen the range to include one (e.g. [16, 128]).",
            path=path,
        )
    values = [2**k if integer else float(2.0**k) for k in range(k_lo, k_hi + 1)]
    return DiscreteRange(values=tuple(values), integer=integer, scaling=Scaling.LOGARITHMIC, **common)


__all__ = [
    "CategoricalRange",
    "ContinuousRange",
    "DiscreteRange",
    "IncStrategy",
    "IntegerRange",
    "Range",
    "Scaling",
    "Tier",
    "increment_range",
    "tuned_tiers",
]

