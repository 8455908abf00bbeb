"""The executor interface: ``launch`` / ``poll`` / ``stop``.

An executor runs training jobs; it never decides anything. The Tuner launches a training job, polls for
events (status changes and new metric values) and asks to stop a job. Local processes and in-process
callables implement it today; a Ray executor can be added without touching the Tuner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, Sequence, Union, runtime_checkable

from hyperjob.records import MetricDefinition, MetricValue, Program, TrainingJobStatus  # noqa: F401  (re-exported)


@dataclass(frozen=True)
class LaunchRequest:
    """Everything an executor needs to run one training job.

    Attributes:
        training_job_id: unique name of the training job (also the name of its directory).
        hyperparameters: all of them, tuned and static, appended to the command as ``--name value``.
        job_dir: the training job's own directory (log, hyperparameters.json, metrics.jsonl, model/, output/,
            checkpoints/); created by the executor if missing.
        program: what to run.
        metric_definitions: regexes matched against each log line while the job runs.
        timeout_s: wall-clock limit of the job (``None``: none); past it the job is stopped and fails.
        grace_period_s: time between SIGTERM and SIGKILL when stopping.
        objective_metric: the objective's metric name (exported as HYPERJOB_OBJECTIVE_METRIC).
        attempt: 0 for the first run, incremented when a job is rerun after a crash of the tuner.
    """

    training_job_id: str
    hyperparameters: Mapping[str, Any]
    job_dir: Path
    program: Program
    metric_definitions: Sequence[MetricDefinition] = ()
    timeout_s: float | None = None
    grace_period_s: float = 10.0
    objective_metric: str | None = None
    attempt: int = 0


@dataclass(frozen=True)
class Started:
    """The training job's process is running (``pid`` is its process-group leader, when there is one)."""

    training_job_id: str
    pid: int | None = None


@dataclass(frozen=True)
class MetricsReported:
    """New metric values of a running training job, in the order they were produced."""

    training_job_id: str
    values: tuple[MetricValue, ...]


@dataclass(frozen=True)
class Ended:
    """The training job ended: ``Completed`` (exit 0), ``Failed`` (with the log's tail as the reason) or
    ``Stopped`` (after ``stop``)."""

    training_job_id: str
    status: TrainingJobStatus
    reason: str | None = None
    exit_code: int | None = None


ExecutorEvent = Union[Started, MetricsReported, Ended]


@runtime_checkable
class Executor(Protocol):
    """Runs training jobs. Called from the Tuner's thread only."""

    def launch(self, job: LaunchRequest) -> None:
        """Start ``job`` now. Raises ``ExecutorError`` if it cannot be started at all."""
        ...

    def poll(self) -> list[ExecutorEvent]:
        """Events since the last call, in order; metric values of a job always precede its ``Ended``."""
        ...

    def stop(self, training_job_id: str) -> None:
        """Ask the job to stop (SIGTERM, then SIGKILL after the grace period). Its ``Ended`` comes via poll."""
        ...

    def shutdown(self) -> None:
        """Stop every running job and release resources; returns when all are gone."""
        ...
