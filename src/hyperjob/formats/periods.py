"""Evaluation periods, fast mode and results of a tuning job: the spec's ``periods``, ``fast`` and ``results``.

A tuning job with periods trains every configuration once per period (the program gets the period as
``--period_start/--period_end`` and ``HYPERJOB_PERIOD_*``, or a replicate's ``--seed``); the configuration's
objective is the aggregate over its periods (``docs/experiments.md``). The periods are fixed ``dates``, a
``rotate``: periods drawn afresh each calendar month from the data's span (deterministic for a month and the
tuning job's name), or ``seeds``: replicates when the data has no dates.

:func:`resolve_periods` is the one place that turns a spec into its periods (fast mode included).
"""

from __future__ import annotations

import calendar
import datetime as _dt
import hashlib
import random
import re
from dataclasses import dataclass
from typing import Any, Literal, Mapping

from pydantic import Field, field_validator, model_validator

from hyperjob.errors import SpecError
from hyperjob.formats._base import StrictModel, json_value

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

#: the arguments a training job of a dated period receives (``--period_start 2024-01-01 --period_end ...``)
PERIOD_ARGUMENTS = ("period_start", "period_end")
#: the argument a replicate receives (``--seed 2``)
SEED_ARGUMENT = "seed"


def parse_day(value: Any, path: str) -> _dt.date:
    """A ``YYYY-MM-DD`` day (a string, or a date a YAML reader made)."""
    if isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(str(value))
    except ValueError:
        raise SpecError(f"{value!r} is not a day. Write it as YYYY-MM-DD, e.g. 2024-01-31.", path=path) from None


def check_month(value: str, path: str = "as_of") -> str:
    """A ``YYYY-MM`` calendar month, as ``--as-of`` takes it."""
    if not isinstance(value, str) or not _MONTH.match(value):
        raise SpecError(f"{value!r} is not a calendar month. Write it as YYYY-MM, e.g. 2026-06.", path=path)
    return value


def current_month() -> str:
    """This calendar month (UTC) as ``YYYY-MM``."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m")


def _range(pair: Any, path: str) -> tuple[_dt.date, _dt.date]:
    if not isinstance(pair, (list, tuple)) or len(pair) != 2:
        raise SpecError(f"a period is [start, end], got {pair!r}. Write e.g. [2024-01-01, 2024-03-31].", path=path)
    start, end = parse_day(pair[0], f"{path}[0]"), parse_day(pair[1], f"{path}[1]")
    if end < start:
        raise SpecError(f"the period ends ({end}) before it starts ({start}). Swap them.", path=path)
    return start, end


class RotateSpec(StrictModel):
    """Periods drawn afresh each calendar month from the data's span.

    Attributes:
        span: the data's first and last day ``[start, end]``.
        count: how many periods (each configuration is trained once per period).
        months: the length of each period in whole calendar months.
        as_of: the calendar month (``YYYY-MM``) the periods are drawn for; filled with the current month when
            the spec is read (``--as-of`` sets it), so that a resumed tuning job keeps its periods.
    """

    span: list[str] = Field(min_length=2, max_length=2)
    count: int = Field(default=3, ge=1, le=100)
    months: int = Field(default=3, ge=1, le=1200)
    as_of: str | None = None

    @field_validator("span", mode="before")
    @classmethod
    def _span(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            start, end = _range(value, "")
            return [start.isoformat(), end.isoformat()]
        return value

    @field_validator("as_of")
    @classmethod
    def _as_of(cls, value: str | None) -> str | None:
        return None if value is None else check_month(value, "")

    @model_validator(mode="after")
    def _fill_month(self) -> "RotateSpec":
        if self.as_of is None:
            object.__setattr__(self, "as_of", current_month())
        available = len(_months(*self.span, None))
        if available < self.count * self.months:
            raise SpecError(
                f"the span {self.span[0]} .. {self.span[1]} holds {available} whole calendar months, too few for "
                f"{self.count} periods of {self.months} months. Lower count or months, or widen the span.",
                path="span",
            )
        return self


class PeriodsSpec(StrictModel):
    """The evaluation periods: exactly one of ``dates``, ``rotate`` and ``seeds``.

    Attributes:
        dates: fixed periods ``[[start, end], ...]`` (days, YYYY-MM-DD).
        rotate: periods drawn each calendar month from the data's span (:class:`RotateSpec`).
        seeds: this many replicates (seeds 0 .. n-1) when the data has no dates.
        aggregate: the configuration's objective over its periods: ``mean`` (default), ``median`` or ``worst``.
        confidence: of the winner test and its interval (0.95: "at 95 %").
    """

    dates: list[list[str]] | None = Field(default=None, min_length=1, max_length=100)
    rotate: RotateSpec | None = None
    seeds: int | None = Field(default=None, ge=1, le=100)
    aggregate: Literal["mean", "median", "worst"] = "mean"
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)

    @field_validator("dates", mode="before")
    @classmethod
    def _dates(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            out = []
            for i, pair in enumerate(value):
                start, end = _range(pair, f"[{i}]")
                out.append([start.isoformat(), end.isoformat()])
            return out
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> "PeriodsSpec":
        given = [k for k in ("dates", "rotate", "seeds") if getattr(self, k) is not None]
        if len(given) != 1:
            raise SpecError(
                (f"gives {' and '.join(given)}; " if given else "gives no periods; ")
                + "give exactly one of dates: [[start, end], ...], rotate: {span: [start, end], count, months} "
                "or seeds: N (replicates).",
            )
        return self


class FastSpec(StrictModel):
    """Fast mode: one period of ``months`` months (the latest, or a rotated one), and static overrides.

    Attributes:
        static_hyperparameters: values that replace (or add to) the static hyperparameters in fast mode,
            e.g. ``{epochs: 3}``; a tuned hyperparameter cannot be overridden.
        months: the length of the one period, in calendar months.
        enabled: run in fast mode (``hyperjob tune --fast`` sets it).
    """

    static_hyperparameters: dict[str, Any] = Field(default_factory=dict)
    months: int = Field(default=1, ge=1, le=1200)
    enabled: bool = False

    @field_validator("static_hyperparameters", mode="before")
    @classmethod
    def _json(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: json_value(v, "the value") for k, v in value.items()}
        return value


class ResultsSpec(StrictModel):
    """Where the results go while the tuning job runs.

    Attributes:
        url: the results CSV, any fsspec URL or local path (``s3://bucket/runs/results.csv``, ``file:///...``,
            ``memory://...``), rewritten as each training job ends.
        models: upload each training job's model directory next to it (``<folder>/models/<training job>/``).
        storage_options: passed to fsspec (e.g. ``{endpoint_url: ...}``).
    """

    url: str = Field(min_length=1)
    models: bool = True
    storage_options: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class Period:
    """One evaluation period of a tuning job: dated (``start``/``end``) or a replicate (``seed``)."""

    index: int
    start: str | None = None
    end: str | None = None
    seed: int | None = None

    @property
    def label(self) -> str:
        """``2024-01-01..2024-03-31`` or ``seed 2``."""
        return f"seed {self.seed}" if self.seed is not None else f"{self.start}..{self.end}"

    def arguments(self) -> dict[str, Any]:
        """What the training program receives as ``--name value``."""
        if self.seed is not None:
            return {SEED_ARGUMENT: self.seed}
        return {PERIOD_ARGUMENTS[0]: self.start, PERIOD_ARGUMENTS[1]: self.end}

    def env(self) -> dict[str, str]:
        """What the training program receives in its environment."""
        out = {"HYPERJOB_PERIOD_INDEX": str(self.index), "HYPERJOB_PERIOD": self.label}
        if self.seed is not None:
            out["HYPERJOB_SEED"] = str(self.seed)
        else:
            out.update({"HYPERJOB_PERIOD_START": str(self.start), "HYPERJOB_PERIOD_END": str(self.end)})
        return out

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in (("index", self.index), ("start", self.start), ("end", self.end),
                                  ("seed", self.seed)) if v is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Period":
        return cls(int(data["index"]), data.get("start"), data.get("end"), data.get("seed"))


def _months(start: str, end: str, before: str | None) -> list[tuple[int, int]]:
    """The whole calendar months (year, month) inside [start, end], and before the month ``before``."""
    first, last = _dt.date.fromisoformat(start), _dt.date.fromisoformat(end)
    y, m = (first.year, first.month) if first.day == 1 else _next(first.year, first.month)
    ly, lm = (last.year, last.month)
    if last.day != calendar.monthrange(ly, lm)[1]:
        ly, lm = _prev(ly, lm)
    if before is not None:
        by, bm = _prev(int(before[:4]), int(before[5:]))
        if (by, bm) < (ly, lm):
            ly, lm = by, bm
    out = []
    while (y, m) <= (ly, lm):
        out.append((y, m))
        y, m = _next(y, m)
    return out


def _next(y: int, m: int) -> tuple[int, int]:
    return (y + 1, 1) if m == 12 else (y, m + 1)


def _prev(y: int, m: int) -> tuple[int, int]:
    return (y - 1, 12) if m == 1 else (y, m - 1)


def _window(months: list[tuple[int, int]], first: int, length: int) -> tuple[str, str]:
    (y0, m0), (y1, m1) = months[first], months[first + length - 1]
    return _dt.date(y0, m0, 1).isoformat(), _dt.date(y1, m1, calendar.monthrange(y1, m1)[1]).isoformat()


def rotated(span: list[str], count: int, months: int, as_of: str, name: str) -> list[tuple[str, str]]:
    """``count`` non-overlapping periods of ``months`` whole calendar months inside ``span`` that end before the
    month ``as_of``, drawn uniformly at random with a seed made of ``name`` and ``as_of`` (so the same month
    gives the same periods, and another month others), in calendar order.

    >>> rotated(["2020-01-01", "2025-12-31"], 3, 3, "2026-06", "demo") == rotated(
    ...     ["2020-01-01", "2025-12-31"], 3, 3, "2026-06", "demo")
    True

    Raises:
        SpecError: the span, cut at ``as_of``, holds too few months.
    """
    available = _months(span[0], span[1], as_of)
    free = len(available) - count * months
    if free < 0:
        raise SpecError(
            f"before {as_of}, the span {span[0]} .. {span[1]} holds {len(available)} whole calendar months, too few "
            f"for {count} periods of {months} months. Lower count or months, or pick an earlier month with --as-of.",
            path="periods.rotate",
        )
    seed = int.from_bytes(hashlib.sha256(f"{name}\0{as_of}".encode()).digest()[:8], "big")
    picks = sorted(random.Random(seed).sample(range(free + count), count))
    # stars and bars: the j-th pick p (sorted) starts a window at p - j + j * months (windows never overlap)
    return [_window(available, p - j + j * months, months) for j, p in enumerate(picks)]


def resolve_periods(spec: Any) -> tuple[Period, ...]:
    """The periods of a validated :class:`~hyperjob.formats.spec.TuningJobSpec` (none without ``periods``).

    In fast mode (``fast.enabled``) one period only: of ``fast.months`` months, the latest of the last dated
    period, a rotated one (drawn as ``rotate`` draws), or seed 0.
    """
    p = getattr(spec, "periods", None)
    if p is None:
        return ()
    fast = getattr(spec, "fast", None)
    fast_months = fast.months if fast is not None and fast.enabled else None
    if p.seeds is not None:
        return tuple(Period(i, seed=i) for i in range(1 if fast_months else p.seeds))
    if p.rotate is not None:
        r = p.rotate
        count, months = (1, fast_months) if fast_months else (r.count, r.months)
        return tuple(Period(i, a, b) for i, (a, b) in enumerate(rotated(r.span, count, months, r.as_of, spec.name)))
    dates = p.dates or []
    if fast_months:
        start, end = dates[-1]
        whole = _months(start, end, None)
        if len(whole) > fast_months:
            start = _window(whole, len(whole) - fast_months, fast_months)[0]
        return (Period(0, start, end),)
    return tuple(Period(i, a, b) for i, (a, b) in enumerate(dates))


def check_experiment_fields(spec: Any) -> None:
    """The rules between ``periods``/``fast``/``results`` and the rest of the spec (called by the spec's
    cross-field check).

    Raises:
        SpecError: a period argument that is also a hyperparameter; early stopping or a strategy that stops
            training jobs with periods; a fast override of a tuned hyperparameter; a results URL that is empty.
    """
    names = set(spec.static_hyperparameters) | set(spec.hyperparameter_ranges)
    p = spec.periods
    if p is not None:
        taken = [a for a in ((SEED_ARGUMENT,) if p.seeds is not None else PERIOD_ARGUMENTS) if a in names]
        if taken:
            raise SpecError(
                f"the training program receives the period as --{taken[0]}, which is also a hyperparameter. Rename "
                f"the hyperparameter (the program reads the period from --{taken[0]} or HYPERJOB_PERIOD_*).",
                path="periods",
            )
        from hyperjob.strategies.registry import strategy_entry

        if spec.build_early_stopping() is not None or strategy_entry(spec.strategy.name).stops_training_jobs:
            raise SpecError(
                "early stopping (early_stopping, or the hyperband strategy) judges one training job's curve, but "
                "with periods a configuration is judged on all its periods; the two do not mix in this version. "
                "Remove early_stopping (or use the random, grid or bayesian strategy), or remove periods.",
                path="periods",
            )
        if len(getattr(spec, "objectives", None) or ()) > 1 or getattr(spec, "constraints", None):
            raise SpecError(
                "periods aggregate one objective; several objectives or outcome constraints with periods are not "
                "supported in this version. Keep one objective, or remove periods.",
                path="periods",
            )
    fast = spec.fast
    if fast is not None:
        tuned = [n for n in fast.static_hyperparameters if n in spec.hyperparameter_ranges]
        if tuned:
            raise SpecError(
                f"overrides {tuned[0]!r}, which is tuned; fast mode overrides static hyperparameters only (e.g. "
                "fewer epochs). Remove it from fast.static_hyperparameters, or make it static.",
                path=f"fast.static_hyperparameters.{tuned[0]}",
            )
