"""The local executor: each training job is a process (group) on this machine.

How a training job runs:

- ``subprocess.Popen(command + ["--name", "value", ...])``: an argument list, never a shell, in a new session
  (its own process group), stdin from ``/dev/null``, stdout and stderr merged into ``<job_dir>/train.log``.
  The environment and the directory are described in :mod:`hyperjob.executors.env`.
- No thread: every :meth:`LocalExecutor.poll` reads what was added to each running job's log and metrics file
  since the last call (non-blocking reads of regular files), matches the new lines against the metric
  definitions, and checks whether the process has exited (``waitid`` with ``WNOHANG``). Metric values are thus
  read while the job runs, at the pace the Tuner polls; a training job that prints its metric on its last line
  and exits at once still gets its values, because the files are read to their end after the exit and before
  ``Ended`` is emitted.
- Exit code 0 is ``Completed``; anything else (a non-zero code, a signal) is ``Failed`` with the exit code or
  signal name and the last lines of the log as the reason (preceded by the text of ``output/failure`` if the
  program wrote one, as SageMaker does). A program that cannot be started (missing executable, missing
  working directory) ends ``Failed`` with the reason, without ``Started``.
- :meth:`stop` sends SIGTERM to the whole process group, then SIGKILL once ``grace_period_s`` has passed (checked
  by :meth:`poll` and :meth:`shutdown`). A job that ends after ``stop`` is ``Stopped``, whatever its exit code.
  Past ``timeout_s``, the job is stopped the same way and ends ``Failed`` with "timed out after N s".
- When the main process has exited, whatever is left of its process group (children it did not wait for) is
  killed with SIGKILL before the job's ``Ended`` is emitted: no orphans keep running. (A child that starts its
  own session with ``setsid`` escapes any process-group kill.)
- With ``max_parallel_jobs``, launches beyond the limit wait in a queue (FIFO) and start when a job ends; a
  queued job that is stopped ends ``Stopped`` without ``Started``.
"""

from __future__ import annotations

import collections
import errno
import os
import sys
import signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from hyperjob.errors import ExecutorError, SpecError
from hyperjob.executors.base import Ended, ExecutorEvent, LaunchRequest, MetricsReported, Started
from hyperjob.executors.env import JobLayout, build_arguments, build_environment
from hyperjob.executors.metrics import LineBuffer, MetricParser, ReportFileReader
from hyperjob.records import MetricValue, TrainingJobStatus

__all__ = ["LocalExecutor"]

_READ_CHUNK = 1 << 16


@dataclass
class _Job:
    request: LaunchRequest
    layout: JobLayout
    argv: list[str]
    env: dict[str, str]
    parser: MetricParser
    cwd: str | None
    proc: subprocess.Popen[bytes] | None = None
    log_fd: int | None = None
    lines: LineBuffer = field(default_factory=LineBuffer)
    reports: ReportFileReader | None = None
    started_at: float = 0.0
    deadline: float | None = None
    stop_reason: str | None = None  # "stop" or "timeout"
    kill_at: float | None = None
    killed: bool = False


#: a command starting with one of these runs with the Python interpreter that runs hyperjob
PYTHON_NAMES = frozenset({"python", "python3"})


class LocalExecutor:
    """Runs training jobs as local processes (the default executor).

    Args:
        max_parallel_jobs: how many run at once; more launches wait in a queue (``None``: no limit; the Tuner
            usually limits parallelism itself).
        poll_interval_s: a hint for callers: how long to sleep between two polls when nothing happens (used by
            :meth:`wait`). ``poll()`` itself never sleeps.
        tail_lines: how many of the log's last lines a failure reason shows.

    Called from one thread (the Tuner's); not thread-safe.
    """

    def __init__(
        self, max_parallel_jobs: int | None = None, poll_interval_s: float = 0.02, tail_lines: int = 20
    ) -> None:
        if max_parallel_jobs is not None and (not isinstance(max_parallel_jobs, int) or max_parallel_jobs < 1):
            raise SpecError(
                f"max_parallel_jobs must be an int >= 1 or None, got {max_parallel_jobs!r}.",
                path="max_parallel_jobs",
            )
        self.max_parallel_jobs = max_parallel_jobs
        self.poll_interval_s = poll_interval_s
        self.tail_lines = tail_lines
        self._running: dict[str, _Job] = {}
        self._queued: collections.OrderedDict[str, _Job] = collections.OrderedDict()
        self._events: list[ExecutorEvent] = []

    # ------------------------------------------------------------------------------------------ interface
    def launch(self, job: LaunchRequest) -> None:
        """Start ``job`` now (or queue it when ``max_parallel_jobs`` are running). Returns at once.

        Raises:
            ExecutorError: the program has no command, or a training job with this id is already running.
            SpecError: a metric regex that does not compile or has no capture group; a channel or hyperparameter
                name that cannot be an environment variable.
        """
        job_id = job.training_job_id
        if not job.program.command:
            raise ExecutorError(
                f"training job {job_id}: the program has no command"
                + (" (it is a Python function: use CallableExecutor)" if job.program.function else "")
                + ". Give the command as a list of arguments, e.g. ['python', 'train.py']."
            )
        if job_id in self._running or job_id in self._queued:
            raise ExecutorError(
                f"training job {job_id} is already running in this executor. Give each training job its own id."
            )
        parser = MetricParser(job.metric_definitions)
        layout = JobLayout.of(job.job_dir)
        argv = [str(a) for a in job.program.command] + build_arguments(job.hyperparameters)
        if argv and argv[0] in PYTHON_NAMES:  # `python` means the interpreter hyperjob runs under (its venv)
            argv[0] = sys.executable
        env = build_environment(job, layout)
        cwd = os.path.abspath(job.program.working_dir) if job.program.working_dir else None
        entry = _Job(job, layout, argv, env, parser, cwd, lines=LineBuffer(self.tail_lines))
        if self.max_parallel_jobs is not None and len(self._running) >= self.max_parallel_jobs:
            self._queued[job_id] = entry
            return
        self._start(entry)

    def poll(self) -> list[ExecutorEvent]:
        """Events since the last call: ``Started``, ``MetricsReported`` (new values), ``Ended``; in order per job.

        Also sends SIGKILL to jobs whose grace period has passed and stops jobs past their timeout. Never blocks.
        """
        now = time.monotonic()
        for job_id in list(self._running):
            self._poll_job(self._running[job_id], now)
        self._start_queued()
        events, self._events = self._events, []
        return events

    def stop(self, training_job_id: str) -> None:
        """Ask a training job to stop: SIGTERM to its process group now, SIGKILL after its grace period.

        Its ``Ended(Stopped)`` comes through :meth:`poll`. A queued job ends at once. Stopping a job that already
        ended (or an unknown id) does nothing.
        """
        queued = self._queued.pop(training_job_id, None)
        if queued is not None:
            self._events.append(Ended(training_job_id, TrainingJobStatus.STOPPED, "stopped before it started"))
            return
        job = self._running.get(training_job_id)
        if job is not None:
            self._terminate(job, "stop", time.monotonic())

    def shutdown(self) -> None:
        """Stop every job (queued ones end at once), wait until all processes are gone (SIGKILL after each
        job's grace period). Their ``Ended`` events stay available to :meth:`poll`."""
        for job_id in list(self._queued):
            self.stop(job_id)
        now = time.monotonic()
        for job in list(self._running.values()):
            self._terminate(job, "stop", now)
        delay = 0.001
        while self._running:
            now = time.monotonic()
            for job_id in list(self._running):
                self._poll_job(self._running[job_id], now)
            if self._running:
                time.sleep(delay)
                delay = min(delay * 2, 0.05)

    def wait(self, timeout_s: float) -> list[ExecutorEvent]:
        """Poll until there are events or ``timeout_s`` has passed (sleeping ``poll_interval_s`` in between)."""
        deadline = time.monotonic() + timeout_s
        while True:
            events = self.poll()
            if events or time.monotonic() >= deadline:
                return events
            time.sleep(min(self.poll_interval_s, max(0.0, deadline - time.monotonic())))

    @property
    def running(self) -> list[str]:
        """Ids of the training jobs whose process is running (not the queued ones)."""
        return list(self._running)

    def __enter__(self) -> "LocalExecutor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()

    # ------------------------------------------------------------------------------------------ internals
    def _start_queued(self) -> None:
        while self._queued and (self.max_parallel_jobs is None or len(self._running) < self.max_parallel_jobs):
            _, entry = self._queued.popitem(last=False)
            self._start(entry)

    def _start(self, job: _Job) -> None:
        job_id = job.request.training_job_id
        layout = job.layout
        try:
            layout.create(job.request)
            write_fd = os.open(layout.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            self._events.append(Ended(
                job_id, TrainingJobStatus.FAILED,
                f"cannot write the training job's directory {layout.job_dir}: {exc.strerror or exc}. "
                "Check that the output directory is writable and the disk is not full.",
            ))
            return
        try:
            proc = subprocess.Popen(
                job.argv,
                cwd=job.cwd,
                env=job.env,
                stdin=subprocess.DEVNULL,
                stdout=write_fd,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            reason = _start_failure(job, exc)
            os.write(write_fd, (reason + "\n").encode("utf-8", errors="replace"))
            os.close(write_fd)
            self._events.append(Ended(job_id, TrainingJobStatus.FAILED, reason))
            return
        os.close(write_fd)
        job.proc = proc
        job.log_fd = os.open(layout.log, os.O_RDONLY | os.O_CLOEXEC)
        job.reports = ReportFileReader(layout.metrics)
        job.started_at = time.monotonic()
        if job.request.timeout_s is not None:
            job.deadline = job.started_at + float(job.request.timeout_s)
        self._running[job_id] = job
        self._events.append(Started(job_id, proc.pid))

    def _poll_job(self, job: _Job, now: float) -> None:
        assert job.proc is not None
        exited = _has_exited(job.proc)
        if exited:
            _kill_group(job.proc.pid, signal.SIGKILL)  # leftovers of the group, while the leader holds its id
            job.proc.wait()
        values = self._read(job, final=exited)
        if values:
            self._events.append(MetricsReported(job.request.training_job_id, tuple(values)))
        if exited:
            self._finish(job)
            return
        if job.stop_reason is None and job.deadline is not None and now >= job.deadline:
            self._terminate(job, "timeout", now)
        if job.kill_at is not None and not job.killed and now >= job.kill_at:
            job.killed = True
            _kill_group(job.proc.pid, signal.SIGKILL)

    def _read(self, job: _Job, final: bool) -> list[MetricValue]:
        assert job.log_fd is not None and job.reports is not None
        stamp = time.time()
        lines: list[str] = []
        while True:
            data = os.read(job.log_fd, _READ_CHUNK)
            if not data:
                break
            lines += job.lines.push(data)
            if len(data) < _READ_CHUNK:
                break
        if final:
            lines += job.lines.flush()
        values = job.parser.feed_lines(lines, stamp) if lines else []
        values += job.reports.read()
        return values

    def _terminate(self, job: _Job, why: str, now: float) -> None:
        assert job.proc is not None
        if job.stop_reason is not None or _has_exited(job.proc):
            return
        job.stop_reason = why
        grace = max(0.0, float(job.request.grace_period_s))
        if grace == 0.0:
            job.killed = True
            _kill_group(job.proc.pid, signal.SIGKILL)
        else:
            _kill_group(job.proc.pid, signal.SIGTERM)
            job.kill_at = now + grace

    def _finish(self, job: _Job) -> None:
        assert job.proc is not None and job.log_fd is not None and job.reports is not None
        req = job.request
        del self._running[req.training_job_id]
        os.close(job.log_fd)
        job.reports.close()
        rc = job.proc.returncode
        how = _describe_exit(rc)
        if job.stop_reason == "timeout":
            status = TrainingJobStatus.FAILED
            reason = f"timed out after {float(req.timeout_s or 0):g} s (timeout_s); {how}.{self._tail(job)}"
        elif job.stop_reason == "stop":
            status = TrainingJobStatus.STOPPED
            signal_name = "SIGKILL after the grace period" if job.killed else "SIGTERM"
            reason = f"stopped ({signal_name}); {how}"
        elif rc == 0:
            status, reason = TrainingJobStatus.COMPLETED, None
        else:
            status = TrainingJobStatus.FAILED
            reason = f"{how}.{self._tail(job)}"
            failure = _read_failure_file(job.layout)
            if failure:
                reason = f"{failure}\n{reason}"
        self._events.append(Ended(req.training_job_id, status, reason, rc))

    def _tail(self, job: _Job) -> str:
        if not job.lines.tail:
            return " The log is empty."
        shown = "\n".join(job.lines.tail)
        return f" Last lines of {job.layout.log}:\n{shown}"


def _has_exited(proc: subprocess.Popen[bytes]) -> bool:
    """True once the process has exited; it is not reaped (its id stays reserved until ``wait``)."""
    if proc.returncode is not None:
        return True
    try:
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:  # reaped elsewhere
        proc.poll()
        return True
    return info is not None


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:  # a member changed user (setuid): nothing we may do
        pass


def _describe_exit(rc: int | None) -> str:
    if rc is None:
        return "exit status unknown"
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = f"signal {-rc}"
        return f"killed by {name} (exit code {rc})"
    return f"exited with code {rc}"


def _start_failure(job: _Job, exc: OSError) -> str:
    exe = job.argv[0]
    if isinstance(exc, FileNotFoundError) and job.cwd and not os.path.isdir(job.cwd):
        return (
            f"cannot start the training program: its working directory {job.cwd!r} does not exist. "
            "Fix program.working_dir."
        )
    if isinstance(exc, FileNotFoundError):
        return (
            f"cannot start the training program: executable {exe!r} not found "
            f"(command {job.argv[: len(job.request.program.command)]!r}). Give an absolute path or a program on "
            "PATH, e.g. ['python', 'train.py']."
        )
    if isinstance(exc, PermissionError) or exc.errno == errno.EACCES:
        return (
            f"cannot start the training program: {exe!r} is not executable ({exc.strerror}). "
            f"Run `chmod +x {exe}` or start it through its interpreter, e.g. ['python', '{exe}']."
        )
    return f"cannot start the training program {exe!r}: {exc.strerror or exc}."


def _read_failure_file(layout: JobLayout, limit: int = 2000) -> str:
    try:
        with open(layout.failure_file, encoding="utf-8", errors="replace") as f:
            return f.read(limit).strip()
    except OSError:
        return ""
