"""The early-stopping interface: the Tuner asks, after each objective value, whether a training job goes on.

Two rules implement it: :class:`~hyperjob.stopping.median.MedianStopper` (early stopping ``auto``, SageMaker's
median rule, with the settings of a :class:`MedianRule`) and :class:`~hyperjob.stopping.rungs.RungStopper` (the rungs of the ``hyperband`` strategy,
asynchronous successive halving). A stopper decides; it never stops anything itself: the Tuner writes the
decision to the store first, then asks the executor to stop the training job.
"""

from __future__ import annotations

import enum
import math
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Protocol, runtime_checkable


class Action(str, enum.Enum):
    """What happens to the training job."""

    CONTINUE = "continue"
    STOP = "stop"
    #: stop now, keep the checkpoint: the training job may be resumed from it later (hyperband's promotions)
    PAUSE = "pause"


@dataclass(frozen=True)
class Decision:
    """A decision about one training job at one step, with everything needed to explain it.

    Attributes:
        action: continue or stop.
        rule: ``"median"`` (early stopping auto), ``"rung"`` (a hyperband rung) or ``"max_resource"``.
        step: the step (resource) of the value decided on.
        value: the objective value at that step.
        threshold: the value compared with (the median of the running averages, or the rung's cut-off).
        compared: how many values the threshold was computed from (earlier training jobs, or jobs at the rung,
            this one included).
        rung: the rung's resource level (hyperband), else ``None``.
        bracket: the training job's bracket (hyperband), else ``None``.
        reason: one sentence for people (``describe``, ``trials``, the store's reason of a stopped job).
    """

    action: Action
    rule: str
    step: int
    value: float
    threshold: float | None = None
    compared: int = 0
    rung: int | None = None
    bracket: int | None = None
    reason: str = ""

    @property
    def stop(self) -> bool:
        return self.action is Action.STOP

    @property
    def pause(self) -> bool:
        return self.action is Action.PAUSE

    def to_json(self) -> dict[str, Any]:
        """The decision as JSON-able data (as the store keeps it)."""
        data = asdict(self)
        data["action"] = self.action.value
        for key in ("value", "threshold"):
            if isinstance(data[key], float) and not math.isfinite(data[key]):
                data[key] = None
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Decision":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["action"] = Action(known.get("action", "continue"))
        if known.get("value") is None:
            known["value"] = math.nan
        return cls(**known)


@dataclass(frozen=True)
class MedianRule:
    """The settings of early stopping's median rule (``hyperjob.stopping.median``), as the spec resolves them.

    The defaults are SageMaker's rule exactly (``early_stopping: auto``): judged from a training job's first
    value, as soon as one earlier training job reached the step. Anything else is a warm-up asked for in the
    spec (``early_stopping: {rule: median, min_jobs: 3, grace_values: 1}``), which validates the values.

    Attributes:
        min_jobs: the rule acts at a step only when at least this many earlier training jobs reached it (>= 1;
            with none there is no median, and the job goes on).
        grace_values: the rule does not act on a training job's first ``grace_values`` values (>= 0).
    """

    min_jobs: int = 1
    grace_values: int = 0

    @property
    def exact(self) -> bool:
        """SageMaker's rule with no warm-up (what ``early_stopping: auto`` means)."""
        return self == MedianRule()

    @property
    def name(self) -> str:
        """How messages name it: ``early stopping 'auto'``, or the rule with its warm-up."""
        if self.exact:
            return "early stopping 'auto'"
        return f"early stopping (median rule, min_jobs={self.min_jobs}, grace_values={self.grace_values})"


@runtime_checkable
class EarlyStopper(Protocol):
    """Decides, value by value, whether training jobs go on.

    ``decide`` is called for every objective value of a running training job, in the order they arrive;
    ``record`` takes values that need no decision (the store's history on resume, values of finished jobs);
    ``restore`` takes the decisions the store kept (resume), ``forget`` drops a training job that runs again
    from the start. All are called from the Tuner's thread only.
    """

    #: how messages name the rule, e.g. ``"hyperband"`` or ``"early stopping 'auto'"``
    name: str

    def decide(self, training_job_id: str, index: int, step: int, value: float) -> Decision | None:
        """Record the value, and return a decision, or ``None`` when this value needs none (e.g. between rungs)."""
        ...

    def record(self, training_job_id: str, index: int, step: int, value: float) -> None:
        """Record a value without deciding (replaying history)."""
        ...

    def restore(self, training_job_id: str, decision: Decision) -> None:
        """Put back a decision the store kept about the training job's current attempt (resume, before its
        values are recorded again). A rule that keeps no state of its own decisions ignores it."""
        ...

    def forget(self, training_job_id: str) -> None:
        """Drop everything known about a training job: it runs again from the start (a rerun)."""
        ...


__all__ = ["Action", "Decision", "EarlyStopper", "MedianRule"]
