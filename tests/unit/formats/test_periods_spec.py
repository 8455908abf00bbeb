"""Evaluation periods in the spec: fixed dates, monthly rotation, replicates, fast mode, and their errors."""

from __future__ import annotations

import datetime as dt

import pytest

from hyperjob.errors import SpecError
from hyperjob.formats.periods import Period, resolve_periods, rotated
from hyperjob.formats.spec import TuningJobSpec
from hyperjob.tuner.plan import TuningPlan

BASE = {
    "name": "demo",
    "program": {"command": ["python", "train.py"]},
    "hyperparameter_ranges": {"x": {"type": "categorical", "values": [1, 2, 3]}},
    "static_hyperparameters": {"epochs": 20},
    "objective": {"metric": "loss", "type": "minimize"},
    "strategy": {"name": "grid"},
}
SPAN = ["2020-01-01", "2025-12-31"]


def spec(**extra):
    return TuningJobSpec.model_validate({**BASE, **extra})


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def test_rotation_is_the_same_for_a_month_and_changes_with_the_month_and_the_name():
    may = rotated(SPAN, 3, 3, "2026-05", "demo")
    assert may == rotated(SPAN, 3, 3, "2026-05", "demo")
    assert may != rotated(SPAN, 3, 3, "2026-06", "demo")
    assert may != rotated(SPAN, 3, 3, "2026-05", "other")


@pytest.mark.parametrize("as_of", ["2021-07", "2024-01", "2026-05", "2026-06", "2030-12"])
def test_rotated_periods_are_whole_months_inside_the_span_apart_and_before_the_month(as_of):
    periods = rotated(SPAN, 3, 3, as_of, "demo") if as_of != "2021-07" else rotated(SPAN, 2, 3, as_of, "demo")
    ends = []
    for start, end in periods:
        s, e = _day(start), _day(end)
        assert s.day == 1 and (e + dt.timedelta(days=1)).day == 1  # whole calendar months
        assert (e.year * 12 + e.month) - (s.year * 12 + s.month) == 2  # three of them
        assert _day(SPAN[0]) <= s and e <= _day(SPAN[1])
        assert e < _day(as_of + "-01")  # the month it is drawn in is not complete: never used
        ends.append((s, e))
    assert all(a[1] < b[0] for a, b in zip(ends, ends[1:]))  # in calendar order, never overlapping


def test_rotation_refuses_a_span_that_the_month_cuts_too_short():
    with pytest.raises(SpecError, match="before 2026-05, the span 2026-01-01 .. 2026-12-31 holds 4 whole"):
        rotated(["2026-01-01", "2026-12-31"], 2, 3, "2026-05", "demo")


def test_the_month_is_filled_in_when_read_and_kept_when_stored():
    s = spec(periods={"rotate": {"span": SPAN, "count": 3, "months": 3}})
    assert s.periods.rotate.as_of == dt.datetime.now(dt.timezone.utc).strftime("%Y-%m")
    again = TuningJobSpec.from_json({**s.to_json(), "periods": {"rotate": {**s.to_json()["periods"]["rotate"],
                                                                              "as_of": "2026-02"}}})
    assert TuningJobSpec.from_json(again.to_json()).periods.rotate.as_of == "2026-02"
    assert resolve_periods(again) == resolve_periods(TuningJobSpec.from_json(again.to_json()))


def test_a_spec_without_periods_is_stored_as_before():
    data = spec().to_json()
    assert "periods" not in data and "fast" not in data and "results" not in data
    assert TuningPlan.from_spec(spec()).max_jobs == 3  # grid: one training job per combination


def test_dates_and_seeds_and_the_budget_in_training_jobs():
    s = spec(periods={"dates": [["2024-01-01", "2024-01-31"], ["2024-02-01", "2024-02-29"]]})
    assert resolve_periods(s) == (Period(0, "2024-01-01", "2024-01-31"), Period(1, "2024-02-01", "2024-02-29"))
    assert TuningPlan.from_spec(s).max_jobs == 6  # limits.max_jobs counts configurations, the plan training jobs
    r = spec(periods={"seeds": 4})
    assert [p.arguments() for p in resolve_periods(r)] == [{"seed": i} for i in range(4)]
    assert resolve_periods(r)[2].env()["HYPERJOB_SEED"] == "2"
    assert resolve_periods(s)[1].env()["HYPERJOB_PERIOD_END"] == "2024-02-29"


def test_fast_mode_is_one_period_of_one_month_with_the_overrides():
    fast = {"static_hyperparameters": {"epochs": 2}, "enabled": True}
    s = spec(periods={"dates": [["2024-01-01", "2024-03-31"], ["2024-04-01", "2024-06-30"]]}, fast=fast)
    assert resolve_periods(s) == (Period(0, "2024-06-01", "2024-06-30"),)
    assert s.build_space().static["epochs"] == 2
    r = spec(periods={"rotate": {"span": SPAN, "count": 3, "months": 3, "as_of": "2026-05"}}, fast=fast)
    (one,) = resolve_periods(r)
    assert (one.start, one.end) == rotated(SPAN, 1, 1, "2026-05", "demo")[0]
    assert len(resolve_periods(spec(periods={"seeds": 5}, fast=fast))) == 1
    off = spec(periods={"seeds": 5}, fast={**fast, "enabled": False})
    assert len(resolve_periods(off)) == 5 and off.build_space().static["epochs"] == 20


@pytest.mark.parametrize("extra, where, what", [
    ({"periods": {}}, "periods", "give exactly one of dates"),
    ({"periods": {"seeds": 2, "dates": [["2024-01-01", "2024-01-31"]]}}, "periods", "gives dates and seeds"),
    ({"periods": {"dates": [["2024-02-01", "2024-01-01"]]}}, r"periods.dates\[0\]", "ends .2024-01-01. before"),
    ({"periods": {"dates": [["2024-01-01", "Jan 31"]]}}, r"periods.dates\[0\]\[1\]", "'Jan 31' is not a day"),
    ({"periods": {"dates": [["2024-01-01"]]}}, r"periods.dates\[0\]", "a period is \\[start, end\\]"),
    ({"periods": {"rotate": {"span": ["2024-01-01", "2024-03-31"], "count": 2}}}, "periods.rotate.span",
     "holds 3 whole calendar months, too few for 2 periods of 3 months"),
    ({"periods": {"rotate": {"span": SPAN, "as_of": "2026-13"}}}, "periods.rotate.as_of", "not a calendar month"),
    ({"periods": {"seeds": 3}, "static_hyperparameters": {"seed": 1}}, "periods", "--seed, which is also a hyper"),
    ({"periods": {"seeds": 3}, "early_stopping": "auto"}, "periods", "the two do not mix"),
    ({"periods": {"seeds": 3}, "periods_typo": 1}, "periods_typo", ""),
    ({"periods": {"seeds": 3, "aggregate": "max"}}, "periods.aggregate", ""),
    ({"fast": {"static_hyperparameters": {"x": 1}}}, "fast.static_hyperparameters.x", "which is tuned"),
    ({"results": {"url": ""}}, "results.url", ""),
])
def test_bad_periods_fast_and_results_name_the_field(extra, where, what):
    with pytest.raises(SpecError, match=what or None) as caught:
        spec(**extra)
    assert caught.value.path is not None and __import__("re").match(where, caught.value.path), caught.value
