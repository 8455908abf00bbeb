"""The strategy interface: ``suggest(n)`` / ``observe(event)``.

A strategy chooses configurations; it never launches anything. The Tuner (or a user's own loop, through the
ask/tell API) calls ``suggest`` when it has free slots and ``observe`` for every event of every training job.
Calls come from one thread; a strategy may assume it is not called concurrently.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from hyperjob.records import Configuration, Failed, Final, Intermediate, Objective, Observation, Pending
from hyperjob.space import SearchSpace


@runtime_checkable
class Strategy(Protocol):
    """Chooses the next configurations of a tuning job.

    Implementations take ``(space, objective, seed=..., **settings)`` in their constructor.
    Determinism: the same seed and the same sequence of calls (``suggest`` and ``observe``, with the same
    arguments) give the same suggestions, in any process.
    """

    space: SearchSpace
    objective: Objective

    def suggest(self, n: int) -> list[Configuration]:
        """Return up to ``n`` new configurations (tuned hyperparameters only).

        Each one is remembered as pending until an ``observe`` with a :class:`Final` or :class:`Failed` event
        for it arrives, and the next suggestions take the pending ones into account. Fewer than ``n`` (or none)
        means the strategy has nothing more to offer (e.g. the grid is exhausted).
        """
        ...

    def observe(self, event: Observation) -> None:
        """Take a result: :class:`Pending`, :class:`Intermediate`, :class:`Final` or :class:`Failed`.

        Events are matched to pending suggestions by configuration (``space.key``). An event for a
        configuration the strategy never suggested is accepted as extra data (warm start, user-run jobs,
        replaying the store on resume).
        """
        ...


__all__ = ["Strategy", "Observation", "Pending", "Intermediate", "Final", "Failed", "Configuration"]
