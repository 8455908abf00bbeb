"""Records that cross boundaries: objectives, statuses, observations, metric values, kept decisions.

Every record here is a frozen dataclass or an Enum with explicit string values (the values are stored in
the database: append new members, never change a value).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Mapping, Union

from hyperjob.errors import SpecError
from hyperjob.stopping.base import Decision

#: A configuration: hyperparameter name -> value (tuned hyperparameters only, unless said otherwise).
Configuration = dict[str, Any]


def config_key(config: Mapping[str, Any]) -> str:
    """A canonical, hashable key of a configuration (sorted JSON). Equal configurations give equal keys."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)


class Direction(str, Enum):
    """Whether the objective metric is maximized or minimized (SageMaker's spelling)."""

    MAXIMIZE = "Maximize"
    MINIMIZE = "Minimize"

    @classmethod
    def parse(cls, value: "str | Direction", path: str = "objective.type") -> "Direction":
        """Accept ``maximize``/``minimize`` in any case, and ``max``/``min``."""
        if isinstance(value, Direction):
            return value
        text = str(value).strip().lower()
        if text in ("maximize", "max"):
            return cls.MAXIMIZE
        if text in ("minimize", "min"):
            return cls.MINIMIZE
        raise SpecError(f"unknown objective direction {value!r}. Use 'maximize' or 'minimize'.", path=path)


@dataclass(frozen=True)
class Objective:
    """The objective: a metric name and a direction. Declared once, in the spec, and passed down."""

    metric: str
    direction: Direction = Direction.MINIMIZE

    def __post_init__(self) -> None:
        object.__setattr__(self, "direction", Direction.parse(self.direction))
        if not self.metric or not str(self.metric).strip():
            raise SpecError("the objective needs a metric name, got an empty one.", path="objective.metric")

    @property
    def maximize(self) -> bool:
        return self.direction is Direction.MAXIMIZE

    def loss(self, value: float) -> float:
        """The value as a loss (lower is better): ``-value`` when maximizing."""
        return -float(value) if self.maximize else float(value)

    def is_better(self, a: float | None, b: float | None) -> bool:
        """True if ``a`` is strictly better than ``b`` (``None`` and NaN are worst)."""
        if a is None or (isinstance(a, float) and math.isnan(a)):
            return False
        if b is None or (isinstance(b, float) and math.isnan(b)):
            return True
        return self.loss(a) < self.loss(b)


class TrainingJobStatus(str, Enum):
    """Status of a training job, as SageMaker names it, plus ``Pending`` (recorded, not yet launched)."""

    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"

    @property
    def terminal(self) -> bool:
        return self in (TrainingJobStatus.COMPLETED, TrainingJobStatus.FAILED, TrainingJobStatus.STOPPED)


class TuningJobStatus(str, Enum):
    """Status of a tuning job, as SageMaker names it."""

    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"

    @property
    def terminal(self) -> bool:
        return self in (TuningJobStatus.COMPLETED, TuningJobStatus.FAILED, TuningJobStatus.STOPPED)


@dataclass(frozen=True)
class MetricValue:
    """One value of one metric of a training job.

    ``step`` is what the program reported as the step (``hyperjob.report(step=...)``), or, for metrics read
    from log lines, the 0-based count of earlier values of the same metric in that training job.
    ``timestamp`` is seconds since the epoch.
    """

    name: str
    value: float
    step: int
    timestamp: float = 0.0


@dataclass(frozen=True)
class MetricDefinition:
    """A metric read from the program's log lines: the first capture group of ``regex`` is the value."""

    name: str
    regex: str


@dataclass(frozen=True)
class Program:
    """How to start a training program: an argument list (never a shell), its directory and environment.

    ``channels`` maps an input channel name (``train``) to a local path; the program sees it as
    ``HYPERJOB_CHANNEL_TRAIN`` and ``SM_CHANNEL_TRAIN``. ``function`` is set instead of ``command`` for an
    in-process Python callable (``hyperjob.tune(fn, ...)``); a spec names it only (``program.function``), the
    callable itself is given beside the spec (:meth:`hyperjob.tuner.plan.TuningPlan.from_spec`).
    """

    command: tuple[str, ...] = ()
    working_dir: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)
    function: Callable[..., Any] | None = None


@dataclass(frozen=True)
class Pending:
    """A configuration is being evaluated (re-registered on resume, or evaluated outside ``suggest``)."""

    config: Configuration
    training_job: str | None = None


@dataclass(frozen=True)
class Intermediate:
    """An intermediate objective value of a running (or early-stopped) training job at ``step``.

    ``stopped`` is true on the last value of a training job that was stopped (early stopping or a hyperband
    rung): no more values will come, the configuration is no longer pending, and the value is a result at a
    lower resource than a completed training job's.
    """

    config: Configuration
    step: int
    value: float
    training_job: str | None = None
    stopped: bool = False


@dataclass(frozen=True)
class Final:
    """The final objective value of a completed training job."""

    config: Configuration
    value: float
    training_job: str | None = None
    #: the step (resource) at which the value was reached, when known
    step: int | None = None
    #: the last value of every other metric the outcomes read (several objectives, constraints, a cost metric):
    #: name -> value; empty with one objective
    metrics: Mapping[str, float] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Failed:
    """A training job failed (or completed without reporting the objective): no value, a reason."""

    config: Configuration
    reason: str = ""
    training_job: str | None = None


Observation = Union[Pending, Intermediate, Final, Failed]


@dataclass(frozen=True)
class TrainingJobRecord:
    """A training job as the store holds it."""

    id: str
    tuning_job: str
    index: int
    config: Configuration
    status: TrainingJobStatus
    created_at: float
    started_at: float | None = None
    ended_at: float | None = None
    failure_reason: str | None = None
    final_objective: float | None = None
    attempt: int = 0
    pid: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TuningJobRecord:
    """A tuning job as the store holds it. ``spec`` is the validated spec as JSON-able data."""

    name: str
    spec: Mapping[str, Any]
    status: TuningJobStatus
    created_at: float
    ended_at: float | None = None
    status_reason: str | None = None
    parents: tuple[str, ...] = ()
    consumed_runtime_s: float = 0.0
    #: the objective the tuning job was created with; ``None`` if it was recorded without one (a tool or a
    #: test calling the store directly; the Tuner always passes the spec's)
    objective: Objective | None = None


@dataclass(frozen=True)
class DecisionRecord:
    """A stopping decision as the store keeps it: about one attempt of one training job, made at ``at``.

    The Tuner keeps stops and hyperband rungs' verdicts (not the median rule's "go on" after every step),
    before it acts on them. ``at`` is seconds since the epoch.
    """

    training_job: str
    attempt: int
    decision: Decision
    at: float
