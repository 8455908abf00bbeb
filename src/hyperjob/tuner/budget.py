"""The resource budget of a tuning job: the epochs (resource units) all its training jobs may train together.

``limits.resource_budget`` (job.yaml), ``hyperjob.tune(resource_budget=...)`` and
``AskTell(resource_budget=...)``: the sum over training jobs of the resource each one reached (the step of its
last objective value, counted as early stopping and hyperband count it: epochs done). A training job stopped
early counts what it trained; one rerun after a crash counts again (it trained again); a job resumed after a
pause counts only the epochs beyond its pause. When the sum reaches the budget, no training job starts any more
and those running are stopped: the tuning job completes with the reason ``resource budget reached``. It is the
budget multi-fidelity methods are compared at (``benchmarks/multifidelity.py``), and what a user with "1,000
epochs of GPU time" means; ``max_jobs`` still applies beside it.
"""

from __future__ import annotations

from hyperjob.errors import SpecError

__all__ = ["ResourceBudget"]


class ResourceBudget:
    """Counts the resource spent, per training job, against a budget (module docstring).

    Args:
        total: the budget in resource units (an int >= 1).
        path: where the budget was given, for the error message.

    Raises:
        SpecError: ``total`` is not a positive integer.
    """

    def __init__(self, total: int, path: str = "limits.resource_budget") -> None:
        if isinstance(total, bool) or not isinstance(total, int) or total < 1:
            raise SpecError(
                f"the resource budget must be a positive integer (epochs, or the steps the objective is reported "
                f"at, summed over all training jobs), got {total!r}.",
                path=path,
            )
        self.total = total
        self.spent = 0
        self._reached: dict[str, int] = {}  # training job -> the resource it has been counted up to

    def add(self, training_job: str, resource: int) -> None:
        """A value of ``training_job`` at ``resource`` arrived: count the units beyond what it had reached."""
        before = self._reached.get(training_job, 0)
        if resource > before:
            self.spent += resource - before
            self._reached[training_job] = resource

    def restart(self, training_job: str) -> None:
        """The training job runs again from the start (a rerun): what it trains now counts again."""
        self._reached.pop(training_job, None)

    @property
    def left(self) -> int:
        return max(0, self.total - self.spent)

    @property
    def reached(self) -> bool:
        return self.spent >= self.total

    def reason(self, unit: str = "epochs") -> str:
        return f"resource budget reached ({self.spent} of {self.total} {unit} trained)"
