"""Neptune ML's increment strategies: which values a ``range`` with ``inc_strategy`` / ``inc_val`` allows.

See :func:`increment_range` (the document of record) and ``docs/space.md``.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Any

from hyperjob.errors import SpecError
from hyperjob.space.ranges import (
    ContinuousRange,
    DiscreteRange,
    IntegerRange,
    Range,
    Scaling,
    Tier,
    _is_whole,
    _num,
)



class IncStrategy(str, Enum):
    """Neptune ML's ``inc_strategy`` for a ``range``."""

    LINEAR = "linear"
    LOG = "log"
    POWER2 = "power2"


#: the most values an ``inc_val`` grid may have
MAX_GRID_VALUES = 100_000


def _clean(value: float) -> float:
    """Drop floating-point noise: ``0.1 * 3`` -> ``0.3`` (12 significant digits)."""
    return float(f"{value:.12g}")


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
    """Build the range a Neptune-style ``range: [lo, hi]`` with an increment strategy stands for.

    The values each strategy allows (document of record; ``docs/space.md`` repeats it):

    - ``linear`` with ``inc_val``: exactly ``lo, lo + inc_val, lo + 2*inc_val, ..., hi``. ``inc_val`` must be
      positive, at most ``hi - lo``, and divide ``hi - lo`` (within 1e-9 relative), so that ``hi`` is one of
      the values; for an ``int`` hyperparameter it must be a whole number. At most 100,000 values.
      A :class:`DiscreteRange` (linear), except ``inc_val`` 1 on an ``int`` hyperparameter, which is every
      integer of ``[lo, hi]``: an :class:`IntegerRange` (linear).
    - ``linear`` without ``inc_val`` (or no ``inc_strategy``): every integer in ``[lo, hi]`` (``int``) or
      every real number (``float``), linear scaling. An :class:`IntegerRange` or :class:`ContinuousRange`.
    - ``log``: the same values, searched in logarithmic scaling (needs ``lo > 0``); ``inc_val`` is refused.
    - ``power2``: every power of two ``2**k`` (``k`` an integer, ``k >= 0`` for ``int``, negative allowed for
      ``float``) with ``lo <= 2**k <= hi``; needs ``lo > 0`` and at least one power of two in the range, e.g.
      ``[16, 128]`` gives 16, 32, 64, 128 and ``[10, 100]`` gives 16, 32, 64. A :class:`DiscreteRange` with
      log spacing; ``inc_val`` is refused.

    Args:
        name: the hyperparameter's name.
        lo: the range's min (a finite number; whole for ``integer``).
        hi: the range's max (greater than ``lo``).
        integer: the hyperparameter is an ``int``.
        inc_strategy: ``linear``, ``log``, ``power2`` (any case) or ``None`` (``linear``).
        inc_val: the step of a ``linear`` grid.
        default: the value used when the hyperparameter is not tuned; must be one of the range's values.
        tier: the hyperparameter's tier.
        node_strategy: kept on the range (graph-size scaling, not applied here).
        edge_strategy: kept on the range (graph-size scaling, not applied here).

    Raises:
        SpecError: at ``hyperparameters.<name>.range`` / ``.inc_val`` / ``.inc_strategy`` / ``.default``.
    """
    path = f"hyperparameters.{name}"
    common = dict(name=name, default=default, tier=tier, node_strategy=node_strategy, edge_strategy=edge_strategy)
    _num(lo, "the range's min", f"{path}.range")
    _num(hi, "the range's max", f"{path}.range")
    if integer and not (_is_whole(lo) and _is_whole(hi)):
        raise SpecError(
            f"an int hyperparameter needs whole-number bounds, got [{lo!r}, {hi!r}]. Round them, or make the "
            "hyperparameter a float.",
            path=f"{path}.range",
        )
    if integer:
        lo, hi = int(lo), int(hi)
    if lo >= hi:
        raise SpecError(
            f"the range's min must be less than its max, got [{lo!r}, {hi!r}]. Swap them, or make the "
            "hyperparameter fixed if it has one value.",
            path=f"{path}.range",
        )
    if inc_strategy is None:
        strategy = IncStrategy.LINEAR
    else:
        try:
            strategy = IncStrategy(str(inc_strategy).strip().lower())
        except ValueError:
            raise SpecError(
                f"unknown inc_strategy {inc_strategy!r}. Use 'linear', 'log' or 'power2'.",
                path=f"{path}.inc_strategy",
            ) from None
    if strategy is IncStrategy.LINEAR:
        if inc_val is None:
            cls = IntegerRange if integer else ContinuousRange
            return cls(min_value=lo, max_value=hi, scaling=Scaling.LINEAR, **common)
        return _linear_grid(path, lo, hi, inc_val, integer, common)
    if inc_val is not None:
        raise SpecError(
            f"inc_val applies to inc_strategy 'linear' only, got inc_val {inc_val!r} with '{strategy.value}'. "
            "Remove inc_val, or use inc_strategy 'linear'.",
            path=f"{path}.inc_val",
        )
    if strategy is IncStrategy.LOG:
        if lo <= 0:
            raise SpecError(
                f"inc_strategy 'log' needs a positive min, got [{lo!r}, {hi!r}]. "
                "Use a min > 0 (e.g. 1e-4) or inc_strategy 'linear'.",
                path=f"{path}.range",
            )
        cls = IntegerRange if integer else ContinuousRange
        return cls(min_value=lo, max_value=hi, scaling=Scaling.LOGARITHMIC, **common)
    # power2
    if lo <= 0:
        raise SpecError(
            f"inc_strategy 'power2' needs positive bounds, got [{lo!r}, {hi!r}]. "
            "Use bounds > 0 such as [16, 128], or inc_strategy 'linear'.",
            path=f"{path}.range",
        )
    k_lo = math.ceil(math.log2(lo) - 1e-12)
    k_hi = math.floor(math.log2(hi) + 1e-12)
    if integer:
        k_lo = max(k_lo, 0)
    if k_lo > k_hi:
        raise SpecError(
            f"inc_strategy 'power2' found no power of two in [{lo!r}, {hi!r}]. "
            "Widen the range to include one (e.g. [16, 128]), or use inc_strategy 'linear'.",
            path=f"{path}.range",
        )
    values = [2**k if integer else float(2.0**k) for k in range(k_lo, k_hi + 1)]
    return DiscreteRange(values=tuple(values), integer=integer, scaling=Scaling.LOGARITHMIC, **common)


def _linear_grid(path: str, lo: Any, hi: Any, inc_val: Any, integer: bool, common: dict) -> Range:
    step = _num(inc_val, "inc_val", f"{path}.inc_val")
    if step <= 0:
        raise SpecError(
            f"inc_val must be positive, got {inc_val!r}. Use the gap between neighbouring values, e.g. 1.",
            path=f"{path}.inc_val",
        )
    if integer and not _is_whole(step):
        raise SpecError(
            f"inc_val of an int hyperparameter must be a whole number, got {inc_val!r}. Use e.g. "
            f"{max(1, round(step))}.",
            path=f"{path}.inc_val",
        )
    span = hi - lo
    if step > span:
        raise SpecError(
            f"inc_val {inc_val!r} is larger than the range's width {span!r} ([{lo!r}, {hi!r}]). "
            "Use a smaller inc_val or a wider range.",
            path=f"{path}.inc_val",
        )
    count = span / step
    if abs(count - round(count)) > 1e-9 * max(1.0, count):
        n = max(1, math.floor(count))
        if integer:  # the divisor of the width nearest to inc_val
            hint: Any = min((d for d in range(1, int(span) + 1) if int(span) % d == 0), key=lambda d: abs(d - step))
        else:
            hint = _clean(span / n)
        raise SpecError(
            f"inc_val {inc_val!r} does not divide the range [{lo!r}, {hi!r}] (width {span!r}), so the max "
            f"would not be one of the values. Use an inc_val that divides {span!r} (e.g. {hint!r}), or move "
            "the max.",
            path=f"{path}.inc_val",
        )
    n = int(round(count))
    if n + 1 > MAX_GRID_VALUES:
        raise SpecError(
            f"inc_val {inc_val!r} makes {n + 1} values in [{lo!r}, {hi!r}], more than {MAX_GRID_VALUES}. "
            "Use a larger inc_val, or drop inc_val for a continuous range.",
            path=f"{path}.inc_val",
        )
    if integer:
        step = int(step)
        if step == 1:
            return IntegerRange(min_value=lo, max_value=hi, scaling=Scaling.LINEAR, **common)
        values: list[Any] = [lo + k * step for k in range(n + 1)]
    else:
        raw = [lo + k * step for k in range(n + 1)]
        values = [_clean(v) for v in raw]
        if len(set(values)) != len(values):  # steps below 12 significant digits: keep the raw sums
            values = [float(v) for v in raw]
        values[0], values[-1] = float(lo), float(hi)
    return DiscreteRange(values=tuple(values), integer=integer, scaling=Scaling.LINEAR, **common)


__all__ = ["IncStrategy", "MAX_GRID_VALUES", "increment_range"]
