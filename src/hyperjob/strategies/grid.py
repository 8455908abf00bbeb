"""Grid search: every combination of categorical values, each exactly once, in a fixed order.

Seed 002: grid search takes categorical ranges only, and the number of training jobs of a grid tuning job is
the number of distinct combinations; a ``max_jobs`` that differs is an error (:func:`check_grid_budget`).

Order: ``SearchSpace.grid()``'s, the first range varying slowest and the last fastest, each range's values in
the order they were listed. A configuration already known from an event (``Pending``, ``Intermediate``,
``Final`` or ``Failed``, e.g. replayed from the store on resume, or run by the user) is never suggested again,
nor is one suggested before. When every combination is known, ``suggest`` returns fewer than asked, then
none. The seed is accepted (every strategy takes one) and changes nothing.
"""

from __future__ import annotations

import math
from typing import Iterator

from hyperjob.errors import SpecError
from hyperjob.records import Configuration, Objective, Observation
from hyperjob.space import SearchSpace
from hyperjob.strategies._tracking import Ledger, LedgerViews, check_count, check_seed
from hyperjob.strategies.base import BaseStrategy


def grid_size(space: SearchSpace) -> int:
    """The number of combinations of the space's categorical values: the training jobs of a grid tuning job.

    Raises:
        SpecError: a range is not categorical (at ``hyperparameters.<name>``, from ``SearchSpace.grid``).
    """
    next(space.grid(), None)  # runs the check "categorical ranges only" and raises its SpecError
    return math.prod(len(r.values) for r in space.ranges)  # type: ignore[union-attr]


def check_grid_budget(space: SearchSpace, max_jobs: int | None) -> int:
    """Check the budget of a grid tuning job and return its number of training jobs.

    Args:
        space: the search space (categorical ranges only).
        max_jobs: the ``limits.max_jobs`` the user gave, or ``None`` when it was left out (then the grid size
            is the budget).

    Returns:
        The grid size, which is the number of training jobs the tuning job runs.

    Raises:
        SpecError: a range is not categorical, or ``max_jobs`` is given and differs from the grid size
            (at ``limits.max_jobs``).
    """
    size = grid_size(space)
    if max_jobs is None:
        return size
    if isinstance(max_jobs, bool) or not isinstance(max_jobs, int):
        raise SpecError(
            f"max_jobs must be a whole number, got {max_jobs!r}. Leave it out for grid search: the number "
            f"of training jobs is the number of combinations, {size}.",
            path="limits.max_jobs",
        )
    if max_jobs != size:
        counts = " x ".join(f"{len(r.values)} {r.name}" for r in space.ranges)  # type: ignore[union-attr]
        raise SpecError(
            f"grid search runs every combination of the categorical values once, {size} training jobs here "
            f"({counts or 'no tuned hyperparameters'}), but max_jobs is {max_jobs}. Set max_jobs to {size} "
            "or leave it out (or change the values listed, or use the 'random' strategy for a smaller budget).",
            path="limits.max_jobs",
        )
    return size


class GridStrategy(LedgerViews, BaseStrategy):
    """Grid search over categorical ranges (see the module docstring).

    Args:
        space: the search space; every range must be categorical.
        objective: the objective (grid search does not use the values; kept for :attr:`best`).
        seed: accepted for a uniform constructor; grid search is deterministic without it.

    Raises:
        SpecError: a range is not categorical, or the seed is not a non-negative integer.
    """

    def __init__(self, space: SearchSpace, objective: Objective, seed: int | None = None) -> None:
        self.space = space
        self.objective = objective
        self.seed = check_seed(seed)
        #: the number of combinations (the training jobs of the tuning job)
        self.size = grid_size(space)
        self._ledger = Ledger(space, objective)
        self._cursor: Iterator[Configuration] = space.grid()
        self._exhausted = False

    # -- Strategy protocol ----------------------------------------------------------------------------------
    def suggest(self, n: int) -> list[Configuration]:
        """Return the next ``n`` combinations not yet known; fewer (or none) when the grid runs out.

        Raises:
            SpecError: ``n`` is not a non-negative integer.
        """
        n = check_count(n)
        if self._exhausted:
            return []
        out = self._ledger.take_unknown(self._cursor, n)
        self._exhausted = len(out) < n
        return out

    def observe(self, event: Observation) -> None:
        """Record an event; a configuration it names is never suggested afterwards."""
        self._ledger.record(event)

    # -- views ----------------------------------------------------------------------------------------------
    @property
    def remaining(self) -> int:
        """How many combinations are neither suggested nor known from an event."""
        return self.size - self._ledger.known_in_space

    def __repr__(self) -> str:
        return f"GridStrategy(size={self.size}, remaining={self.remaining})"


__all__ = ["GridStrategy", "check_grid_budget", "grid_size"]
