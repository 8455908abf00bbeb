"""Ranges: continuous, integer, discrete (increment grids) and categorical, with SageMaker's scalings.

Every range maps its values to and from the unit interval, so that strategies work in one coordinate
system (``to_unit`` / ``from_unit``), and ``from_unit`` only ever returns a value the range allows:

- continuous: the value's position in the range's scaled coordinates (linear, log, reverse-log);
- integer: as continuous over ``[min - 0.5, max + 0.5]`` (log: the same in log space), rounded, so that
  every integer gets the same share of the unit interval in the range's own scaling;
- discrete (an increment grid such as 16, 32, 64, 128): the ``n`` values in order, each owning ``1/n``
  (for a power-of-two grid that is equal shares in log space);
- categorical: like discrete, but strategies must not treat the order as meaningful (the Bayesian strategy
  one-hot encodes them).

Scaling ``auto`` (SageMaker leaves its rule unstated; ours, fixed and documented in ``docs/space.md``):
``logarithmic`` when ``min > 0`` and ``max / min >= 100`` (the range spans two decades or more, so that
equal steps in log space are what a user means, e.g. a learning rate); ``reverse_logarithmic`` for a
continuous range with ``0 <= min``, ``max < 1`` and ``(1 - min) / (1 - max) >= 100`` (values crowding
towards 1, e.g. a momentum in [0.9, 0.9999]); ``linear`` otherwise. The rule is applied once, when the
range is built: ``range.scaling`` is never ``AUTO`` afterwards.

Errors are :class:`~hyperjob.errors.SpecError` located at ``hyperparameters.<name>.<field>``.
"""

from __future__ import annotations

import copy
import math
import numbers
from dataclasses import dataclass
from enum import Enum
from typing import Any, Sequence, Union

import numpy as np

from hyperjob.errors import SpecError


class Scaling(str, Enum):
    """How a numeric range is searched (SageMaker's ``ScalingType``)."""

    AUTO = "Auto"
    LINEAR = "Linear"
    LOGARITHMIC = "Logarithmic"
    REVERSE_LOGARITHMIC = "ReverseLogarithmic"

    @classmethod
    def parse(cls, value: "str | Scaling | None", path: str | None = None) -> "Scaling":
        """Read a scaling name.

        Args:
            value: SageMaker's names (``Logarithmic``), snake case (``reverse_logarithmic``), ``log``, or
                ``None`` (``auto``).
            path: where the value came from, for the error.

        Raises:
            SpecError: for any other name.
        """
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
    """Neptune ML's tiers: which hyperparameters a budget tunes (see :func:`tuned_tiers`)."""

    ONE = "1"
    TWO = "2"
    THREE = "3"
    FIXED = "fixed"

    @classmethod
    def parse(cls, value: "str | int | Tier | None", path: str | None = None) -> "Tier | None":
        """Read a tier: ``1``, ``2``, ``3`` (numbers or strings, ``tier1``/``tier-1`` too), ``fixed`` or ``None``.

        Raises:
            SpecError: for any other value.
        """
        if value is None or isinstance(value, Tier):
            return value
        if not isinstance(value, bool) and isinstance(value, (int, str)):
            text = str(value).strip().lower().replace("-", "").replace("_", "")
            text = text[4:] if text.startswith("tier") else text
            for member in cls:
                if member.value == text:
                    return member
        raise SpecError(f"unknown tier {value!r}. Use 1, 2, 3 or 'fixed'.", path=path)


def tuned_tiers(max_jobs: int) -> frozenset[Tier]:
    """The tiers a budget of ``max_jobs`` training jobs tunes (seed 000).

    ``max_jobs <= 10``: tier 1 only; 11 to 50: tiers 1 and 2; 51 and more: tiers 1, 2 and 3. Fixed
    hyperparameters are never tuned. (Neptune's text says "fewer than 10" for tier 1 only and "more than
    10" for tier 2, "more than 50" for tier 3; both boundaries, 10 and 50, therefore belong to the lower band.)

    Args:
        max_jobs: the tuning job's budget, a whole number >= 1.

    Raises:
        SpecError: if ``max_jobs`` is not a whole number >= 1.
    """
    if isinstance(max_jobs, bool) or not isinstance(max_jobs, numbers.Integral) or max_jobs < 1:
        raise SpecError(
            f"max_jobs must be a whole number >= 1, got {max_jobs!r}. Give the number of training jobs to run.",
            path="max_jobs",
        )
    if max_jobs <= 10:
        return frozenset({Tier.ONE})
    if max_jobs <= 50:
        return frozenset({Tier.ONE, Tier.TWO})
    return frozenset({Tier.ONE, Tier.TWO, Tier.THREE})


# --------------------------------------------------------------------------------------------------------------
# helpers


def _is_number(value: Any) -> bool:
    """True for ints and floats (numpy's too), False for booleans."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _num(value: Any, what: str, path: str | None) -> float:
    """Check that ``value`` is a finite number (not a boolean) and return it unchanged."""
    if not _is_number(value):
        raise SpecError(f"{what} must be a number, got {value!r}. Write it as a number (e.g. 0.1).", path=path)
    if not math.isfinite(value):
        raise SpecError(f"{what} must be finite, got {value!r}. Use a finite number.", path=path)
    return value


def _is_whole(value: Any) -> bool:
    return _is_number(value) and math.isfinite(value) and float(value) == int(value)


def _clip01(u: float) -> float:
    u = float(u)
    if math.isnan(u):
        raise ValueError("a unit coordinate cannot be NaN")
    return 0.0 if u < 0.0 else (1.0 if u > 1.0 else u)


#: ``auto`` picks a log scaling from this ratio on (two decades); the tolerance absorbs float noise such as
#: ``1 / (1 - 0.99) == 99.99999999999991``
_AUTO_LOG_RATIO = 100 * (1 - 1e-9)


def _auto_scaling(lo: float, hi: float, continuous: bool) -> Scaling:
    if lo > 0 and hi / lo >= _AUTO_LOG_RATIO:
        return Scaling.LOGARITHMIC
    if continuous and 0 <= lo and hi < 1 and (1 - lo) / (1 - hi) >= _AUTO_LOG_RATIO:
        return Scaling.REVERSE_LOGARITHMIC
    return Scaling.LINEAR


def value_key(value: Any) -> Any:
    """A hashable key of a hyperparameter value: ``1`` equals ``1.0``, not ``True``; ``[1, 2]`` equals ``(1, 2)``.

    Two values are the same value of a range exactly when their keys are equal.
    """
    if isinstance(value, (bool, np.bool_)):
        return ("b", bool(value))
    if isinstance(value, numbers.Real):
        return ("n", float(value))
    if isinstance(value, (list, tuple)):
        return ("l", tuple(value_key(v) for v in value))
    if isinstance(value, dict):
        return ("d", tuple(sorted((str(k), value_key(v)) for k, v in value.items())))
    return (type(value).__name__, str(value))


def _check_categorical_value(value: Any, path: str) -> Any:
    """A categorical value as stored: str, bool, int, float, or a list of those (tuples become lists)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, str):
        return value
    if _is_number(value):
        if not math.isfinite(value):
            raise SpecError(f"a categorical value cannot be {value!r}. Use a finite number.", path=path)
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, (list, tuple)):
        return [_check_categorical_value(v, path) for v in value]
    raise SpecError(
        f"a categorical value cannot be {value!r} (a {type(value).__name__}). "
        "Use a string, number, boolean or list of those.",
        path=path,
    )


def _copy_value(value: Any) -> Any:
    """List values are copied on the way out, so that nobody mutates a range through a configuration."""
    return copy.deepcopy(value) if isinstance(value, list) else value


# --------------------------------------------------------------------------------------------------------------
# ranges


@dataclass(frozen=True)
class _Common:
    name: str
    #: the value used when the hyperparameter is not tuned (its tier is not tuned by the budget); always a
    #: value the range allows (``None``: no default)
    default: Any = None
    tier: Tier | None = None
    #: Neptune ML: the range scales with the graph's node / edge count (kept for the graph algorithms)
    node_strategy: str | None = None
    edge_strategy: str | None = None

    @property
    def path(self) -> str:
        """Where the hyperparameter is, for errors: ``hyperparameters.<name>``."""
        return f"hyperparameters.{self.name}"

    def _check_common(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise SpecError(
                f"a hyperparameter needs a non-empty name, got {self.name!r}. Name it, e.g. 'learning_rate'.",
                path="hyperparameters",
            )
        object.__setattr__(self, "tier", Tier.parse(self.tier, f"{self.path}.tier"))


@dataclass(frozen=True)
class ContinuousRange(_Common):
    """A real-valued range ``[min_value, max_value]`` searched in ``scaling``.

    Raises:
        SpecError: if a bound is not a finite number, ``min_value >= max_value``, the scaling does not fit the
            bounds (``logarithmic`` needs ``min_value > 0``; ``reverse_logarithmic`` needs ``0 <= min_value``
            and ``max_value < 1``), or the default is outside the range.
    """

    min_value: float = 0.0
    max_value: float = 1.0
    scaling: Scaling = Scaling.AUTO

    kind = "continuous"

    def __post_init__(self) -> None:
        self._check_common()
        lo = _num(self.min_value, "min_value", f"{self.path}.min_value")
        hi = _num(self.max_value, "max_value", f"{self.path}.max_value")
        object.__setattr__(self, "min_value", float(lo))
        object.__setattr__(self, "max_value", float(hi))
        scaling = Scaling.parse(self.scaling, f"{self.path}.scaling")
        if lo >= hi:
            raise SpecError(
                f"min_value must be less than max_value, got min_value={lo!r}, max_value={hi!r}. "
                "Swap them, or make the hyperparameter static if it has one value.",
                path=f"{self.path}.min_value",
            )
        if scaling is Scaling.LOGARITHMIC and lo <= 0:
            raise SpecError(
                f"scaling 'logarithmic' needs min_value > 0, got min_value={lo!r}. "
                "Use a positive min_value (e.g. 1e-6) or scaling 'linear'.",
                path=f"{self.path}.scaling",
            )
        if scaling is Scaling.REVERSE_LOGARITHMIC and not (0 <= lo and hi < 1):
            raise SpecError(
                f"scaling 'reverse_logarithmic' needs 0 <= min_value and max_value < 1, got "
                f"[{lo!r}, {hi!r}]. Use a range inside [0, 1) or scaling 'linear'.",
                path=f"{self.path}.scaling",
            )
        if scaling is Scaling.AUTO:
            scaling = _auto_scaling(lo, hi, continuous=True)
        object.__setattr__(self, "scaling", scaling)
        if self.default is not None:
            object.__setattr__(self, "default", self.coerce(self.default, what="default"))

    # -- values -------------------------------------------------------------------------------------------
    def contains(self, value: Any) -> bool:
        """True if ``value`` is a number inside ``[min_value, max_value]``."""
        return _is_number(value) and self.min_value <= value <= self.max_value

    def coerce(self, value: Any, what: str = "value") -> float:
        """Check that ``value`` is allowed and return it as a float.

        Raises:
            SpecError: if it is not a finite number inside the range.
        """
        field_path = f"{self.path}.default" if what == "default" else self.path
        _num(value, what, field_path)
        if not self.min_value <= value <= self.max_value:
            raise SpecError(
                f"{what} {value!r} is outside the range [{self.min_value!r}, {self.max_value!r}]. "
                "Use a value inside the range, or widen the range.",
                path=field_path,
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
        """The value's position in ``[0, 1]`` in the range's scaling (values outside are clipped)."""
        a, b = self._fwd(self.min_value), self._fwd(self.max_value)
        x = min(max(float(value), self.min_value), self.max_value)
        return _clip01((self._fwd(x) - a) / (b - a))

    def from_unit(self, u: float) -> float:
        """The value at position ``u`` (clipped to ``[0, 1]``); always inside the range, and exactly
        ``min_value`` / ``max_value`` at the ends (no round-trip noise such as 1.0000000000000004e-06)."""
        u = _clip01(u)
        if u == 0.0:
            return self.min_value
        if u == 1.0:
            return self.max_value
        a, b = self._fwd(self.min_value), self._fwd(self.max_value)
        x = self._inv(a + u * (b - a))
        return min(max(x, self.min_value), self.max_value)

    @property
    def cardinality(self) -> float:
        """``math.inf``: a continuous range has infinitely many values."""
        return math.inf


@dataclass(frozen=True)
class IntegerRange(_Common):
    """An integer range ``[min_value, max_value]`` (both inclusive) searched in ``scaling``.

    ``reverse_logarithmic`` is for continuous ranges only (SageMaker's rule).

    Raises:
        SpecError: if a bound is not a whole number, ``min_value >= max_value``, ``logarithmic`` with
            ``min_value <= 0``, ``reverse_logarithmic`` at all, or the default is not an integer of the range.
    """

    min_value: int = 0
    max_value: int = 1
    scaling: Scaling = Scaling.AUTO

    kind = "integer"

    def __post_init__(self) -> None:
        self._check_common()
        for what in ("min_value", "max_value"):
            v = getattr(self, what)
            _num(v, what, f"{self.path}.{what}")
            if not _is_whole(v):
                raise SpecError(
                    f"{what} of an integer range must be a whole number, got {v!r}. "
                    "Round it, or use a continuous range.",
                    path=f"{self.path}.{what}",
                )
            object.__setattr__(self, what, int(v))
        lo, hi = self.min_value, self.max_value
        scaling = Scaling.parse(self.scaling, f"{self.path}.scaling")
        if lo >= hi:
            raise SpecError(
                f"min_value must be less than max_value, got min_value={lo!r}, max_value={hi!r}. "
                "Swap them, or make the hyperparameter static if it has one value.",
                path=f"{self.path}.min_value",
            )
        if scaling is Scaling.LOGARITHMIC and lo <= 0:
            raise SpecError(
                f"scaling 'logarithmic' needs min_value > 0, got min_value={lo!r}. "
                "Use a positive min_value (e.g. 1) or scaling 'linear'.",
                path=f"{self.path}.scaling",
            )
        if scaling is Scaling.REVERSE_LOGARITHMIC:
            raise SpecError(
                f"scaling 'reverse_logarithmic' is for continuous ranges only (SageMaker's rule), got it for "
                f"the integer range [{lo}, {hi}]. Use 'linear' or 'logarithmic', or make the range continuous.",
                path=f"{self.path}.scaling",
            )
        if scaling is Scaling.AUTO:
            scaling = _auto_scaling(lo, hi, continuous=False)
        object.__setattr__(self, "scaling", scaling)
        if self.default is not None:
            object.__setattr__(self, "default", self.coerce(self.default, what="default"))

    def contains(self, value: Any) -> bool:
        """True if ``value`` is a whole number (``3`` or ``3.0``) inside ``[min_value, max_value]``."""
        return _is_whole(value) and self.min_value <= value <= self.max_value

    def coerce(self, value: Any, what: str = "value") -> int:
        """Check that ``value`` is allowed and return it as an int.

        Raises:
            SpecError: if it is not a whole number inside the range.
        """
        field_path = f"{self.path}.default" if what == "default" else self.path
        _num(value, what, field_path)
        if not _is_whole(value):
            raise SpecError(f"{what} must be a whole number, got {value!r}. Round it.", path=field_path)
        if not self.min_value <= value <= self.max_value:
            raise SpecError(
                f"{what} {value!r} is outside the range [{self.min_value}, {self.max_value}]. "
                "Use a value inside the range, or widen the range.",
                path=field_path,
            )
        return int(value)

    def _bounds(self) -> tuple[float, float]:
        lo, hi = self.min_value - 0.5, self.max_value + 0.5
        if self.scaling is Scaling.LOGARITHMIC:
            return math.log(lo), math.log(hi)
        return lo, hi

    def to_unit(self, value: Any) -> float:
        """The centre of the value's cell in ``[0, 1]`` (values outside the range are clipped)."""
        a, b = self._bounds()
        v = min(max(float(value), self.min_value), self.max_value)
        x = math.log(v) if self.scaling is Scaling.LOGARITHMIC else v
        return _clip01((x - a) / (b - a))

    def from_unit(self, u: float) -> int:
        """The integer whose cell holds ``u`` (clipped to ``[0, 1]``); always inside the range."""
        a, b = self._bounds()
        y = a + _clip01(u) * (b - a)
        x = math.exp(y) if self.scaling is Scaling.LOGARITHMIC else y
        return int(min(max(round(x), self.min_value), self.max_value))

    @property
    def cardinality(self) -> float:
        """The number of integers in the range."""
        return self.max_value - self.min_value + 1


@dataclass(frozen=True)
class _Listed(_Common):
    values: tuple = ()

    def index(self, value: Any) -> int:
        """The position of ``value`` among the range's values.

        ``1`` and ``1.0`` are the same value, ``True`` is not ``1``, ``[1, 2]`` equals ``(1, 2)``.

        Raises:
            ValueError: if it is not one of them.
        """
        key = value_key(value)
        for i, v in enumerate(self.values):
            if value_key(v) == key:
                return i
        raise ValueError(f"{value!r} is not a value of {self.name}")

    def contains(self, value: Any) -> bool:
        """True if ``value`` is one of the range's values."""
        try:
            self.index(value)
        except ValueError:
            return False
        return True

    def coerce(self, value: Any, what: str = "value") -> Any:
        """Return the range's own spelling of ``value`` (``3.0`` -> ``3`` in an integer grid).

        Raises:
            SpecError: if it is not one of the range's values.
        """
        try:
            return _copy_value(self.values[self.index(value)])
        except ValueError:
            shown = ", ".join(repr(v) for v in self.values[:12]) + (", ..." if len(self.values) > 12 else "")
            raise SpecError(
                f"{what} {value!r} is not one of the allowed values [{shown}]. Use one of them.",
                path=f"{self.path}.default" if what == "default" else self.path,
            ) from None

    def to_unit(self, value: Any) -> float:
        """The centre of the value's share of ``[0, 1]`` (each of the ``n`` values owns ``1/n``)."""
        return (self.index(value) + 0.5) / len(self.values)

    def from_unit(self, u: float) -> Any:
        """The value whose share of ``[0, 1]`` holds ``u`` (clipped)."""
        n = len(self.values)
        return _copy_value(self.values[min(int(_clip01(u) * n), n - 1)])

    @property
    def cardinality(self) -> float:
        """The number of values."""
        return len(self.values)


@dataclass(frozen=True)
class CategoricalRange(_Listed):
    """A set of unordered values: strings, numbers, booleans or lists (SageMaker's categorical range).

    Raises:
        SpecError: if ``values`` is not a non-empty list, holds a value twice (``1`` and ``1.0`` are the same),
            holds something else than a string, finite number, boolean or list of those, or the default is
            not one of the values.
    """

    kind = "categorical"

    def __post_init__(self) -> None:
        self._check_common()
        path = f"{self.path}.values"
        values = self.values
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise SpecError(
                f"values must be a list, got {values!r}. Write them as a list, e.g. ['a', 'b'].", path=path
            )
        values = tuple(_check_categorical_value(v, path) for v in values)
        if not values:
            raise SpecError(
                "a categorical range needs at least one value, got an empty list. "
                "List the values to try, or remove the hyperparameter.",
                path=path,
            )
        keys = [value_key(v) for v in values]
        dupes = [repr(v) for i, (v, k) in enumerate(zip(values, keys)) if k in keys[:i]]
        if dupes:
            raise SpecError(
                f"the values {', '.join(dict.fromkeys(dupes))} appear more than once in {list(values)!r}. "
                "List each value once.",
                path=path,
            )
        object.__setattr__(self, "values", values)
        if self.default is not None:
            object.__setattr__(self, "default", self.coerce(self.default, what="default"))


@dataclass(frozen=True)
class DiscreteRange(_Listed):
    """An ordered, finite set of numbers: an increment grid (Neptune's ``linear`` with ``inc_val``, ``power2``).

    Strategies treat it as ordinal (neighbouring values are similar) and never suggest a value outside it.
    ``scaling`` says how the values are spaced (``Linear`` for an ``inc_val`` grid, ``Logarithmic`` for
    powers of two); the unit coordinate gives each value an equal share either way.

    Raises:
        SpecError: if ``values`` is empty, holds a non-number, a non-whole number when ``integer``, or a value
            twice, or the default is not one of the values.
    """

    integer: bool = False
    scaling: Scaling = Scaling.LINEAR

    kind = "discrete"

    def __post_init__(self) -> None:
        self._check_common()
        path = f"{self.path}.values"
        if isinstance(self.values, (str, bytes)) or not isinstance(self.values, Sequence):
            raise SpecError(f"values must be a list of numbers, got {self.values!r}.", path=path)
        for v in self.values:
            _num(v, "a grid value", path)
            if self.integer and not _is_whole(v):
                raise SpecError(
                    f"the values of an integer grid must be whole numbers, got {v!r}. Round it.", path=path
                )
        values = tuple(sorted(int(v) if self.integer else float(v) for v in self.values))
        if not values:
            raise SpecError("an increment grid needs at least one value, got none. Widen the range.", path=path)
        dupes = sorted({v for a, v in zip(values, values[1:]) if a == v})
        if dupes:
            raise SpecError(f"the grid values {dupes!r} appear more than once. List each value once.", path=path)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "scaling", Scaling.parse(self.scaling, f"{self.path}.scaling"))
        if self.default is not None:
            object.__setattr__(self, "default", self.coerce(self.default, what="default"))

    def contains(self, value: Any) -> bool:
        """True if ``value`` is a number of the grid (``True`` is not ``1``)."""
        return _is_number(value) and super().contains(value)

    def coerce(self, value: Any, what: str = "value") -> Any:
        """Check that ``value`` is a number of the grid and return the grid's own value (int or float)."""
        _num(value, what, f"{self.path}.default" if what == "default" else self.path)
        return super().coerce(value, what)

    @property
    def min_value(self) -> float:
        """The smallest value of the grid."""
        return self.values[0]

    @property
    def max_value(self) -> float:
        """The largest value of the grid."""
        return self.values[-1]


Range = Union[ContinuousRange, IntegerRange, DiscreteRange, CategoricalRange]

# Neptune ML's increment strategies live in ``increments.py`` (re-exported here: ``ranges`` is where they were).
from hyperjob.space.increments import MAX_GRID_VALUES, IncStrategy, increment_range  # noqa: E402

__all__ = [
    "CategoricalRange",
    "ContinuousRange",
    "DiscreteRange",
    "IncStrategy",
    "IntegerRange",
    "MAX_GRID_VALUES",
    "Range",
    "Scaling",
    "Tier",
    "increment_range",
    "tuned_tiers",
    "value_key",
]
