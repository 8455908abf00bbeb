"""The one error hierarchy of hyperjob.

::

    HyperjobError
    ├── SpecError          bad user input: a spec file, a range, a Python call's arguments (exit code 2)
    ├── WarmStartError     a parent tuning job breaks a warm-start rule (exit code 2)
    ├── StrategyError      a strategy cannot do what it was asked (e.g. the grid is exhausted)
    ├── StoreError         the store cannot be reached or is inconsistent
    │   ├── LeaseError     another tuner holds the tuning job
    │   └── StoreUnavailableError  the database stayed unreachable past the store's retry bound (exit code 75)
    ├── ExecutorError      a training job could not be launched or stopped
    └── TuningJobError     a tuning job cannot run or continue (e.g. every training job failed)

A message says what was wrong, where, and how to fix it, with the offending value. The CLI catches
``HyperjobError`` and prints one red line; exit code 2 for bad input (``SpecError``, ``WarmStartError``),
75 (``EX_TEMPFAIL``: try again later) for a store that stayed unreachable, 1 for anything else.
"""

from __future__ import annotations

import difflib
from typing import Iterable


def did_you_mean(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str:
    """``" Did you mean 'x'?"`` for the candidate closest to ``word`` (difflib), or ``""`` when none is close:
    the hint a SpecError message carries after naming an unknown name or value."""
    near = difflib.get_close_matches(word, list(candidates), n=1, cutoff=cutoff)
    return f" Did you mean {near[0]!r}?" if near else ""


class HyperjobError(Exception):
    """Base class of every error hyperjob raises on purpose."""

    exit_code: int = 1


class SpecError(HyperjobError, ValueError):
    """Bad user input.

    Args:
        message: what was wrong and how to fix it, with the offending value.
        path: where, as a dotted field path (``hyperparameters.lr``); prefixed to the message.
        source: the file it came from; prefixed before the path.
    """

    exit_code = 2

    def __init__(self, message: str, path: str | None = None, source: str | None = None) -> None:
        self.message = message
        self.path = path
        self.source = source
        super().__init__(self._render())

    def _render(self) -> str:
        where = ": ".join(p for p in (self.source, self.path) if p)
        return f"{where}: {self.message}" if where else self.message

    def at(self, path: str | None = None, source: str | None = None) -> "SpecError":
        """Return a copy located at ``path`` (prefixed to the existing path) in ``source``."""
        new_path = ".".join(p for p in (path, self.path) if p) or None
        return type(self)(self.message, path=new_path, source=source or self.source)

    def __reduce__(self):  # keep pickling (multiprocessing) working with the extra args
        return (type(self), (self.message, self.path, self.source))


class WarmStartError(SpecError):
    """A parent tuning job breaks one of the warm-start rules."""


class StrategyError(HyperjobError):
    """A strategy cannot do what it was asked."""


class StoreError(HyperjobError):
    """The store cannot be reached, or what it holds is inconsistent."""


class LeaseError(StoreError):
    """Another tuner process holds the tuning job."""


class StoreUnavailableError(StoreError):
    """The database stayed unreachable longer than the store's retry bound; nothing it confirmed is lost.

    A tuner that gets it stops without ending its training jobs: ``hyperjob resume`` continues later.
    """

    exit_code = 75  # EX_TEMPFAIL (sysexits.h): a temporary failure, the user is invited to try again


class ExecutorError(HyperjobError):
    """A training job could not be launched or stopped."""


class TuningJobError(HyperjobError):
    """A tuning job cannot run or continue."""
