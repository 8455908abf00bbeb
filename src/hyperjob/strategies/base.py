"""The strategy interface: ``suggest(n)`` / ``observe(event)``, and the optional abilities every strategy declares.

A strategy chooses configurations; it never launches anything. The Tuner (or a user's own loop, through the
ask/tell API) calls ``suggest`` when it has free slots and ``observe`` for every event of every training job.
Calls come from one thread; a strategy may assume it is not called concurrently.

Abilities that only some strategies have (their own stopping rule, an initial design that warm start extends)
are members of the protocol too, so that callers ask the object instead of probing it; :class:`BaseStrategy`
gives the defaults (no stopping rule, nothing to extend).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from hyperjob.records import Configuration, Failed, Final, Intermediate, Objective, Observation, Pending
from hyperjob.space import SearchSpace

if TYPE_CHECKING:  # pragma: no cover
    from hyperjob.stopping.base import EarlyStopper


@runtime_checkable
class Strategy(Protocol):
    """Chooses the next configurations of a tuning job.

    Implementations take ``(space, objective, seed=..., **settings)`` in their constructor, their settings as
    keyword parameters (the registry reads them from the signature).
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

    @property
    def pending(self) -> list[Configuration]:
        """The configurations suggested or registered as pending that have no Final or Failed yet."""
        ...

    @property
    def best(self) -> tuple[Configuration, float] | None:
        """``(configuration, value)`` of the best final result observed, or ``None``."""
        ...

    def stopper(self) -> EarlyStopper | None:
        """The strategy's own stopping rule (hyperband's rungs), or ``None`` when it has none.

        The Tuner calls it once, after building the strategy and before any event; a strategy with a rule of
        its own stops training jobs itself (the spec then refuses ``early_stopping: auto``, see the registry
        entry's ``stops_training_jobs``). Each call returns a new stopper.
        """
        ...

    def extend_initial_design(self, n: int) -> None:
        """Run ``n`` more configurations of the initial design than usual: ``n`` are about to be suggested from
        outside (warm start's transfer seeds), on top of it, not instead of it.

        Called by warm start once, before the first suggestion. A strategy without an initial design ignores it.
        """
        ...


class BaseStrategy:
    """The defaults of the optional members of :class:`Strategy`: no stopping rule, no initial design."""

    def stopper(self) -> EarlyStopper | None:
        """No stopping rule of its own: the spec's ``early_stopping`` decides."""
        return None

    def extend_initial_design(self, n: int) -> None:
        """Nothing to extend: the strategy has no initial design."""


__all__ = [
    "BaseStrategy",
    "Configuration",
    "Failed",
    "Final",
    "Intermediate",
    "Observation",
    "Pending",
    "Strategy",
]
