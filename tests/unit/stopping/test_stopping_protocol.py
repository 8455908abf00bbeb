"""Every stopper is an EarlyStopper with all its members declared: name, decide, record, restore, forget."""

from __future__ import annotations

from typing import Callable

import pytest

from hyperjob.records import Objective
from hyperjob.stopping.base import EarlyStopper
from hyperjob.stopping.median import MedianStopper
from hyperjob.stopping.rungs import RungLadder, RungStopper

LOSS = Objective("loss")
STOPPERS: dict[str, Callable[[], EarlyStopper]] = {
    "median": lambda: MedianStopper(LOSS),
    "rungs": lambda: RungStopper(RungLadder(1, 9), LOSS),
}


@pytest.fixture(params=sorted(STOPPERS))
def stopper(request: pytest.FixtureRequest) -> EarlyStopper:
    return STOPPERS[request.param]()


def test_is_an_early_stopper_with_a_name(stopper: EarlyStopper) -> None:
    assert isinstance(stopper, EarlyStopper)
    assert stopper.name in ("early stopping 'auto'", "hyperband")


def test_restore_then_forget(stopper: EarlyStopper) -> None:
    """A resumed tuner restores the kept decisions and records the values again: each job counts once; a rerun
    is forgotten: its old values no longer count."""
    jobs_compared = 2 if isinstance(stopper, MedianStopper) else 3  # earlier jobs a, b (median); a, b, itself
    first = STOPPERS["median" if isinstance(stopper, MedianStopper) else "rungs"]()
    first.record("a", 0, 1, 1.0)
    kept = first.decide("b", 1, 1, 5.0)  # worse than 'a' at step 1: stopped by either rule
    assert kept is not None and kept.stop
    stopper.record("a", 0, 1, 1.0)
    stopper.restore("b", kept)
    stopper.record("b", 1, 1, 5.0)
    assert stopper.decide("c", 2, 1, 3.0).compared == jobs_compared  # type: ignore[union-attr]
    stopper.forget("c")
    assert stopper.decide("d", 3, 1, 3.0).compared == jobs_compared  # type: ignore[union-attr]
