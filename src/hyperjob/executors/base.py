"""The executor interface: ``launch`` / ``poll`` / ``stop``.

An executor runs training jobs; it never decides anything. The Tuner launches a training job, polls for
events (status changes and new metric values) and asks to stop a job. Local processes and in-process
callables implement it today; a Ray executor can be added without touching the Tuner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
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
        segment: 0 for the first run of an attempt; ``k`` for its ``k``-th resume from its checkpoint after a
            pause (hyperband's promotions): the job's directory, log and metrics file are kept and appended to,
            and its metric values are read again from the start (their steps go on where they were).
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
    segment: int = 0


def check_launch(job: LaunchRequest, running: Any, function_hint: str) -> None:
    """The checks every process executor makes at ``launch``: a command to run, and an id not running already.

    Args:
        running: the ids this executor runs or holds (anything with ``in``).
        function_hint: what to say when the program is a Python function (which executor runs it).

    Raises:
        ExecutorError: no command (with ``function_hint`` for a function), or the id already runs here.
    """
    from hyperjob.errors import ExecutorError

    job_id = job.training_job_id
    if not job.program.command:
        raise ExecutorError(
            f"training job {job_id}: the program has no command"
            + (f" ({function_hint})" if job.program.function else "")
            + ". Give the command as a list of arguments, e.g. ['python', 'train.py']."
        )
    if job_id in running:
        raise ExecutorError(
            f"training job {job_id} is already running in this executor. Give each training job its own id."
        )


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
    ``Stopped`` (after ``stop``). A ``Completed`` job's reason, when there is one, says what its metric regexes
    captured that was not a number. ``retryable``: it failed for a reason outside the training program (its
    node was lost), so the Tuner runs it again where the spec's retry policy allows."""

    training_job_id: str
    status: TrainingJobStatus
    reason: str | None = None
    exit_code: int | None = None
    retryable: bool = False


ExecutorEvent = Union[Started, MetricsReported, Ended]


class Recovery(str, Enum):
    """What an executor found of a training job that a tuner, now gone, had launched (``Executor.recover``)."""

    ADOPTED = "adopted"  #: it ended while no tuner ran: its metric values and ``Ended`` come through ``poll``
    REATTACHED = "reattached"  #: it still runs and is watched again: its events come through ``poll``
    LOST = "lost"  #: nothing of it runs (never started, or ended without a record, or ended now): run it again


@runtime_checkable
class Executor(Protocol):
    """Runs training jobs and owns what it started: it can find them again after the tuner died.

    Called from the Tuner's thread only (``hyperjob stop`` uses one too, when no tuner runs).
    """

    def launch(self, job: LaunchRequest) -> None:
        """Start ``job`` now. Raises ``ExecutorError`` if it cannot be started at all.

        ``job.job_dir`` is the executor's to lay out; a rerun (``attempt`` > 0) starts from an empty one.
        """
        ...

    def poll(self) -> list[ExecutorEvent]:
        """Events since the last call, in order; metric values of a job always precede its ``Ended``."""
        ...

    def stop(self, training_job_id: str, *, now: bool = False) -> None:
        """Ask the job to stop (SIGTERM, then SIGKILL after the grace period). Its ``Ended`` comes via poll.

        ``now``: kill it at once, without a grace period (a second Ctrl-C), also when it is already stopping;
        an executor that cannot kill (threads) stops it as it can.
        """
        ...

    def recover(self, jobs: Sequence[LaunchRequest]) -> dict[str, Recovery]:
        """Find again the training jobs an earlier tuner launched and did not see end (called once, on resume,
        before any ``launch``). ``jobs`` are their requests as they were launched (same ``job_dir`` and
        ``attempt``). Returns what became of each, by id; an adopted or reattached job is then tracked like
        one this executor launched (its events come through ``poll``, all of its metric values from the
        first, so the caller drops those it already has), a lost one is not running when this returns.
        """
        ...

    def wait_for_events(self, timeout_s: float) -> None:
        """Sleep up to ``timeout_s``, returning early when an event may be ready (the Tuner's idle wait)."""
        ...

    def shutdown(self) -> None:
        """Stop every running job and release resources; returns when all are gone."""
        ...

    def detach(self) -> None:
        """Let go of the running jobs without ending those that :meth:`recover` can find again, and release
        resources; returns at once. Called instead of ``shutdown`` when the tuner cannot go on but a later
        one will (its store stayed unreachable): an executor whose jobs cannot be found again stops them."""
        ...
