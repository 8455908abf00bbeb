"""The in-process executor: each training job is a call of a Python function, in a worker thread.

Used by ``hyperjob.tune(fn, ...)``. The function is called as ``fn(hyperparameters)`` with one dict of all
hyperparameters (tuned and static). It may

- return a number: the value of the objective metric (``LaunchRequest.objective_metric``, or ``"objective"``
  when none is named);
- return a dict of metric name -> number;
- return ``None`` after reporting with ``hyperjob.report(step=..., **metrics)`` while it runs.

Returned values are reported at the last step the function reported (0 if it reported nothing); if that metric
already has a different value at that step, at the next step. ``report()`` calls in the function's thread go to
its own training job (a context variable set by this executor), also with several jobs in parallel.

Threads, not processes: nothing to pickle, no start-up cost, and ``report()`` needs no file. The price: a
function that holds the GIL (pure Python) does not run in parallel with the others (numpy, torch and most
native code release it), and a thread cannot be killed. Hence:

- **Stop is cooperative.** :meth:`CallableExecutor.stop` sets a flag; the function's next ``report()`` call
  raises :class:`~hyperjob.report.StopTrainingJob` (a ``BaseException``: let it propagate), and the training job
  ends ``Stopped``. A function that never calls ``report()`` runs to its end, then ends ``Stopped``.
- **Waiting for decisions** (``wait_for_decisions=True``, which the Tuner sets when early stopping or
  hyperband is on): each ``report()`` returns only after the Tuner has seen the values (two polls later), so a
  stop decided on a value takes effect at once: ``report()`` raises ``StopTrainingJob`` right there instead of
  one or more epochs later. Without it, a function whose epochs take milliseconds runs ahead of the decisions.
- **Timeouts are cooperative** the same way (checked at each :meth:`poll`): the job ends ``Failed`` with
  "timed out after N s".
- Worker threads are daemon threads: a function that ignores a stop does not keep the interpreter alive.
  :meth:`shutdown` waits at most the longest grace period of the running jobs.

An exception raised by the function ends the job ``Failed`` with the last lines of its traceback. Metric
definitions (regexes) are not used: the function's output is not captured. Each job's directory gets
``hyperparameters.json`` and ``metrics.jsonl`` (every reported value), as with the local executor.
"""

from __future__ import annotations

import collections
import json
import math
import shutil
import threading
import time
import traceback
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path
from typing import Any, Mapping, Sequence

from hyperjob.errors import ExecutorError, SpecError
from hyperjob.executors.base import Ended, ExecutorEvent, LaunchRequest, MetricsReported, Recovery, Started
from hyperjob.executors.env import plain
from hyperjob.records import MetricValue, TrainingJobStatus
from hyperjob.report import StopTrainingJob, _current_sink

__all__ = ["CallableExecutor", "DEFAULT_OBJECTIVE_NAME"]

#: The metric name of a returned number when the launch request names no objective metric.
DEFAULT_OBJECTIVE_NAME = "objective"

_TRACEBACK_LINES = 20


@dataclass
class _Job:
    request: LaunchRequest
    executor: "CallableExecutor"
    thread: threading.Thread | None = None
    stop_reason: str | None = None  # "stop" or "timeout"
    deadline: float | None = None
    done: threading.Event = field(default_factory=threading.Event)
    calls: int = 0
    last_step: int | None = None
    values_at: dict[tuple[str, int], float] = field(default_factory=dict)
    metrics_file: Any = None

    # called by hyperjob.report() in the function's thread
    def emit(self, step: int | None, metrics: Mapping[str, float]) -> None:
        if self.stop_reason is not None:
            raise StopTrainingJob(self.stop_reason)
        if step is None:
            step = self.calls
        self.calls += 1
        executor = self.executor
        self._publish(step, metrics)
        if executor.wait_for_decisions:
            # read after the values are queued: poll generation+1 (or an earlier one) returns them, and they
            # have been handled when poll generation+2 begins
            executor._await_poll(self, executor._generation + 2)
            if self.stop_reason is not None:
                raise StopTrainingJob(self.stop_reason)

    def _publish(self, step: int, metrics: Mapping[str, float]) -> None:
        stamp = time.time()
        values = tuple(MetricValue(name, float(v), step, stamp) for name, v in metrics.items())
        if not values:
            return
        for v in values:
            self.values_at[(v.name, step)] = v.value
        self.last_step = step if self.last_step is None else max(self.last_step, step)
        if self.metrics_file is not None:
            line = json.dumps({"step": step, "metrics": dict(metrics), "time": stamp})
            self.metrics_file.write(line + "\n")
            self.metrics_file.flush()
        self.executor._emit(MetricsReported(self.request.training_job_id, values))


class CallableExecutor:
    """Runs training jobs as calls of a Python function (``Program.function``) in worker threads.

    Args:
        max_workers: how many run at once (>= 1); more launches wait in a queue (FIFO).
        poll_interval_s: a hint for callers: how long to sleep between two polls when nothing happens.
        wait_for_decisions: each ``report()`` waits until the values were polled and a second poll followed
            (the caller decided on them), so that a stop takes effect at the value it was decided on.

    ``launch``, ``poll``, ``stop`` and ``shutdown`` are called from one thread (the Tuner's); the function runs
    in worker threads.
    """

    def __init__(self, max_workers: int = 1, poll_interval_s: float = 0.01, *, wait_for_decisions: bool = False) -> None:
        if not isinstance(max_workers, int) or isinstance(max_workers, bool) or max_workers < 1:
            raise SpecError(f"max_workers must be an int >= 1, got {max_workers!r}.", path="max_workers")
        self.max_workers = max_workers
        self.poll_interval_s = poll_interval_s
        self._lock = threading.Lock()
        self._running: dict[str, _Job] = {}
        self._queued: collections.OrderedDict[str, _Job] = collections.OrderedDict()
        self._events: collections.deque[ExecutorEvent] = collections.deque()
        self.wait_for_decisions = bool(wait_for_decisions)
        self._generation = 0  # the number of polls so far
        self._wake = threading.Condition(threading.Lock())
        self._closing = False

    # ------------------------------------------------------------------------------------------ interface
    def launch(self, job: LaunchRequest) -> None:
        """Start ``job`` in a worker thread now, or queue it when ``max_workers`` are busy. Returns at once.

        Raises:
            ExecutorError: the program has no function, or a training job with this id is already running.
        """
        job_id = job.training_job_id
        if job.program.function is None or not callable(job.program.function):
            raise ExecutorError(
                f"training job {job_id}: the program has no Python function to call"
                + (" (it is a command: use LocalExecutor)" if job.program.command else "")
                + ". Pass a function, e.g. hyperjob.tune(train_fn, ...)."
            )
        with self._lock:
            if job_id in self._running or job_id in self._queued:
                raise ExecutorError(
                    f"training job {job_id} is already running in this executor. Give each training job its own id."
                )
            entry = _Job(job, self)
            if len(self._running) >= self.max_workers:
                self._queued[job_id] = entry
                return
            self._start(entry)

    def poll(self) -> list[ExecutorEvent]:
        """Events since the last call, in order per job; stops (cooperatively) the jobs past their timeout."""
        with self._wake:
            self._generation += 1
            self._wake.notify_all()  # functions waiting for their values to be seen
        now = time.monotonic()
        with self._lock:
            for job in self._running.values():
                if job.stop_reason is None and job.deadline is not None and now >= job.deadline:
                    job.stop_reason = "timeout"
        out: list[ExecutorEvent] = []
        merge_at: dict[str, int] = {}  # job id -> index in out of its MetricsReported that later values join
        events = self._events
        while events:
            ev = events.popleft()
            job_id = ev.training_job_id
            if isinstance(ev, MetricsReported):
                at = merge_at.get(job_id)
                if at is not None:
                    prev = out[at]
                    assert isinstance(prev, MetricsReported)
                    out[at] = MetricsReported(job_id, prev.values + ev.values)
                    continue
                merge_at[job_id] = len(out)
            else:
                merge_at.pop(job_id, None)
            out.append(ev)
        return out

    def stop(self, training_job_id: str, *, now: bool = False) -> None:
        """Ask a job to stop: its next ``report()`` raises ``StopTrainingJob``. A queued job ends at once;
        an unknown or finished one is left alone. ``now`` changes nothing: a thread cannot be killed."""
        with self._lock:
            queued = self._queued.pop(training_job_id, None)
            if queued is not None:
                self._emit(Ended(training_job_id, TrainingJobStatus.STOPPED, "stopped before it started"))
                return
            job = self._running.get(training_job_id)
            if job is not None and job.stop_reason is None:
                job.stop_reason = "stop"
        with self._wake:
            self._wake.notify_all()

    def recover(self, jobs: Sequence[LaunchRequest]) -> dict[str, Recovery]:
        """Every one is lost: a function's thread ends with the process that ran it, so all are run again."""
        return {job.training_job_id: Recovery.LOST for job in jobs}

    def wait_for_events(self, timeout_s: float) -> None:
        """Sleep until an event arrives or ``timeout_s`` passes (a poll loop's sleep that wakes early)."""
        with self._wake:
            if not self._events:
                self._wake.wait(timeout_s)

    def shutdown(self) -> None:
        """Stop every job; wait for the running functions to return, at most the longest grace period."""
        with self._wake:
            self._closing = True
            self._wake.notify_all()
        with self._lock:
            for job_id in list(self._queued):
                self._queued.pop(job_id)
                self._emit(Ended(job_id, TrainingJobStatus.STOPPED, "stopped before it started"))
            jobs = list(self._running.values())
            for job in jobs:
                if job.stop_reason is None:
                    job.stop_reason = "stop"
        if not jobs:
            return
        deadline = time.monotonic() + max(float(j.request.grace_period_s) for j in jobs)
        for job in jobs:
            job.done.wait(max(0.0, deadline - time.monotonic()))

    def detach(self) -> None:
        """As :meth:`shutdown`: a function's thread ends with its process, so no later tuner finds it again."""
        self.shutdown()

    @property
    def running(self) -> list[str]:
        """Ids of the training jobs whose function is running (not the queued ones)."""
        with self._lock:
            return list(self._running)

    def __enter__(self) -> "CallableExecutor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()

    # ------------------------------------------------------------------------------------------ internals
    def _emit(self, event: ExecutorEvent) -> None:
        self._events.append(event)  # deque.append is atomic
        if self._wake.acquire(blocking=False):  # wake a waiting poller; never block a caller holding _lock
            try:
                self._wake.notify_all()
            finally:
                self._wake.release()

    def _await_poll(self, job: _Job, generation: int) -> None:
        """Block ``job``'s function until ``generation`` polls happened, the job is stopped, or shutdown."""
        with self._wake:
            while self._generation < generation and job.stop_reason is None and not self._closing:
                self._wake.wait(0.5)

    def _start(self, job: _Job) -> None:
        """Start a worker thread for ``job``. The caller holds the lock."""
        job_id = job.request.training_job_id
        self._running[job_id] = job
        if job.request.timeout_s is not None:
            job.deadline = time.monotonic() + float(job.request.timeout_s)
        job.thread = threading.Thread(target=self._run, args=(job,), name=f"hyperjob-{job_id}", daemon=True)
        job.thread.start()

    def _run(self, job: _Job) -> None:
        req = job.request
        job_id = req.training_job_id
        status = TrainingJobStatus.COMPLETED
        reason: str | None = None
        ended: Ended | None = None
        token = _current_sink.set(job)
        try:
            try:
                job.metrics_file = _prepare_dir(req)
            except OSError as exc:
                ended = Ended(job_id, TrainingJobStatus.FAILED,
                              f"cannot write the training job's directory {req.job_dir}: {exc.strerror or exc}. "
                              "Check that the output directory is writable and the disk is not full.")
                return
            self._emit(Started(job_id, None))
            try:
                result = req.program.function(dict(req.hyperparameters))  # type: ignore[misc]
            except StopTrainingJob:
                pass
            except BaseException as exc:  # noqa: BLE001 - a failed training job is a status, not a crash
                if job.stop_reason is None:
                    status, reason = TrainingJobStatus.FAILED, _traceback_tail(exc)
            else:
                try:
                    self._publish_result(job, result)
                except ExecutorError as exc:
                    status, reason = TrainingJobStatus.FAILED, str(exc)
            if job.stop_reason == "timeout":
                status = TrainingJobStatus.FAILED
                reason = f"timed out after {float(req.timeout_s or 0):g} s (timeout_s)"
            elif job.stop_reason == "stop":
                status, reason = TrainingJobStatus.STOPPED, "stopped"
            ended = Ended(job_id, status, reason)
        finally:
            _current_sink.reset(token)
            if job.metrics_file is not None:
                job.metrics_file.close()
            with self._lock:
                self._running.pop(job_id, None)  # before Ended is seen: whoever polls finds it gone
                if ended is not None:
                    self._emit(ended)
                job.done.set()
                while self._queued and len(self._running) < self.max_workers:
                    _, nxt = self._queued.popitem(last=False)
                    self._start(nxt)

    def _publish_result(self, job: _Job, result: Any) -> None:
        if result is None:
            return
        req = job.request
        if isinstance(result, Mapping):
            metrics = {str(k): _as_number(v, f"the returned dict's {k!r}") for k, v in result.items()}
        else:
            metrics = {req.objective_metric or DEFAULT_OBJECTIVE_NAME: _as_number(result, "the returned value")}
        base = job.last_step if job.last_step is not None else 0
        by_step: dict[int, dict[str, float]] = {}
        for name, value in metrics.items():
            seen = job.values_at.get((name, base))
            if seen is None:
                by_step.setdefault(base, {})[name] = value
            elif not _same(seen, value):
                by_step.setdefault(base + 1, {})[name] = value
        for step in sorted(by_step):
            job._publish(step, by_step[step])


def _as_number(value: Any, what: str) -> float:
    value = plain(value)
    if isinstance(value, Real) and not isinstance(value, bool):
        return float(value)
    raise ExecutorError(
        f"{what} is {value!r} ({type(value).__name__}), not a number. A training function returns a float "
        "(the objective), a dict of metric name -> float, or None (after hyperjob.report(...))."
    )


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _traceback_tail(exc: BaseException) -> str:
    tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None  # leave out this module's frame
    lines = "".join(traceback.format_exception(type(exc), exc, tb)).rstrip().splitlines()
    tail = "\n".join(lines[-_TRACEBACK_LINES:])
    return f"the training function raised {type(exc).__name__}: {exc}\n{tail}"


def _prepare_dir(req: LaunchRequest) -> Any:
    job_dir = Path(req.job_dir)
    if req.attempt > 0 and job_dir.exists():  # a rerun: the lost attempt's files must not count
        shutil.rmtree(job_dir, ignore_errors=True)
    (job_dir / "model").mkdir(parents=True, exist_ok=True)
    hps = {str(k): plain(v) for k, v in req.hyperparameters.items()}
    (job_dir / "hyperparameters.json").write_text(json.dumps(hps, indent=1, sort_keys=True, default=str))
    return open(job_dir / "metrics.jsonl", "w", encoding="utf-8")
