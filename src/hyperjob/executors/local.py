"""The local executor: each training job is a process (group) on this machine, watched by a supervisor.

How a training job runs:

- The executor starts one supervisor process (:mod:`hyperjob.executors._supervisor`) in a session of its own
  and sends it each launch. The supervisor starts ``command + ["--name", "value", ...]`` (an argument list,
  never a shell) in a new session (its own process group), stdin from ``/dev/null``, stdout and stderr merged
  into ``<job_dir>/train.log``, waits for it, enforces its timeout and records its start and its end
  (exit code, end time) in ``<job_dir>/.hyperjob/`` before it tells the executor. The environment and the
  directory are described in :mod:`hyperjob.executors.env`.
- No thread: every :meth:`LocalExecutor.poll` reads the supervisor's events and what was added to each running
  job's log and metrics file since the last call (non-blocking reads of regular files), and matches the new
  lines against the metric definitions. A training job that prints its metric on its last line and exits at
  once still gets its values: the files are read to their end before ``Ended`` is emitted.
- Exit code 0 is ``Completed``; anything else (a non-zero code, a signal) is ``Failed`` with the exit code or
  signal name and the last lines of the log as the reason (preceded by the text of ``output/failure`` if the
  program wrote one, as SageMaker does). A program that cannot be started (missing executable, missing
  working directory) ends ``Failed`` with the reason, without ``Started``.
- :meth:`stop` sends SIGTERM to the whole process group, then SIGKILL once ``grace_period_s`` has passed. A job
  that ends after ``stop`` is ``Stopped``, whatever its exit code. Past ``timeout_s``, the job is stopped the
  same way and ends ``Failed`` with "timed out after N s".
- When the main process has exited, whatever is left of its process group (children it did not wait for) is
  killed with SIGKILL before the job's end is recorded: no orphans keep running. (A child that starts its
  own session with ``setsid`` escapes any process-group kill.)
- With ``max_parallel_jobs``, launches beyond the limit wait in a queue (FIFO) and start when a job ends; a
  queued job that is stopped ends ``Stopped`` without ``Started``.

When the tuner dies (even SIGKILL to its whole process group), the supervisor and the training jobs go on:
each job runs to its end (or its timeout) and its end is recorded. A resumed tuner calls :meth:`recover`: a
job that ended meanwhile is **adopted** (its metrics and exit code are read from its files; it is not run
again); one still running under its supervisor is **reattached** (watched again; its timeout still holds,
since its supervisor enforces it; ``stop`` signals its process group, checked by pid and start time); one
whose supervisor is gone as well (it was killed too) is ended and run again, because nobody could learn how it
ended. See docs/architecture.md.
"""

from __future__ import annotations

import collections
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from hyperjob._process import end_group, is_same_alive, signal_group
from hyperjob.errors import ExecutorError, SpecError
from hyperjob.executors._supervisor import exit_file, process_file, read_json
from hyperjob.executors.base import (
    Ended, ExecutorEvent, LaunchRequest, MetricsReported, Recovery, Started, check_launch,
)
from hyperjob.executors.env import JobLayout, build_arguments, build_environment
from hyperjob.executors.metrics import LineBuffer, MetricParser, ReportFileReader
from hyperjob.records import MetricValue, TrainingJobStatus

__all__ = ["LocalExecutor"]

_READ_CHUNK = 1 << 16
#: how long a reattached job whose process is gone may take to get its exit record (its supervisor reaping it)
_EXIT_RECORD_WAIT_S = 3.0


@dataclass
class _Job:
    request: LaunchRequest
    layout: JobLayout
    argv: list[str]
    env: dict[str, str]
    parser: MetricParser
    cwd: str | None
    attempt: int = 0
    pid: int | None = None
    log_fd: int | None = None
    lines: LineBuffer = field(default_factory=LineBuffer)
    reports: ReportFileReader | None = None
    stop_reason: str | None = None  # "stop" when the executor was asked to stop it
    exit: dict[str, Any] | None = None  # the supervisor's record of its end
    # a job found again after a tuner died (recover): its process record, and our own SIGKILL time
    reattached: dict[str, Any] | None = None
    kill_at: float | None = None
    gone_since: float | None = None

    @property
    def state_dir(self) -> str:
        return str(self.layout.job_dir / STATE_DIR)


#: the supervisor's records of a training job, inside its directory
STATE_DIR = ".hyperjob"

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

    #: a paused training job can be launched again as the next ``segment`` of its attempt: its directory, log and
    #: metrics file are kept, so the program resumes from its checkpoint (hyperband's promotions)
    can_resume = True

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
        self._supervisor: subprocess.Popen[bytes] | None = None
        self._sup_out = b""

    # ------------------------------------------------------------------------------------------ interface
    def launch(self, job: LaunchRequest) -> None:
        """Start ``job`` now (or queue it when ``max_parallel_jobs`` are running). Returns at once.

        Raises:
            ExecutorError: the program has no command, or a training job with this id is already running.
            SpecError: a metric regex that does not compile or has no capture group; a channel or hyperparameter
                name that cannot be an environment variable.
        """
        job_id = job.training_job_id
        check_launch(job, self._running.keys() | self._queued.keys(), "it is a Python function: use CallableExecutor")
        entry = self._entry(job)
        if self.max_parallel_jobs is not None and len(self._running) >= self.max_parallel_jobs:
            self._queued[job_id] = entry
            return
        self._start(entry)

    def poll(self) -> list[ExecutorEvent]:
        """Events since the last call: ``Started``, ``MetricsReported`` (new values), ``Ended``; in order per job.

        Never blocks.
        """
        self._read_supervisor()
        now = time.monotonic()
        for job_id in list(self._running):
            self._poll_job(self._running[job_id], now)
        self._start_queued()
        events, self._events = self._events, []
        return events

    def stop(self, training_job_id: str, *, now: bool = False) -> None:
        """Ask a training job to stop: SIGTERM to its process group now, SIGKILL after its grace period
        (``now``: SIGKILL at once, also to a job already stopping).

        Its ``Ended(Stopped)`` comes through :meth:`poll`. A queued job ends at once. Stopping a job that already
        ended (or an unknown id) does nothing.
        """
        queued = self._queued.pop(training_job_id, None)
        if queued is not None:
            self._events.append(Ended(training_job_id, TrainingJobStatus.STOPPED, "stopped before it started"))
            return
        job = self._running.get(training_job_id)
        if job is None or (job.stop_reason is not None and not now) or job.exit is not None:
            return
        job.stop_reason = "stop"
        if job.reattached is not None:  # its supervisor takes no orders from us: signal the group ourselves
            grace = 0.0 if now else max(0.0, float(job.request.grace_period_s))
            if is_same_alive(job.reattached):
                signal_group(int(job.reattached["pid"]), signal.SIGTERM if grace > 0 else signal.SIGKILL)
            job.kill_at = time.monotonic() + grace
        else:
            self._send({"op": "stop", "id": training_job_id, **({"now": True} if now else {})})

    def recover(self, jobs: Sequence[LaunchRequest]) -> dict[str, Recovery]:
        """Find the training jobs of a tuner that died again (see the module docstring). Call before ``launch``.

        Returns:
            By training job id: ``ADOPTED`` (it ended meanwhile: its values and ``Ended`` come through ``poll``),
            ``REATTACHED`` (it runs under its old supervisor: its events come through ``poll``) or ``LOST``
            (it is not running now, and nothing says how it ended: run it again).
        """
        found: dict[str, Recovery] = {}
        for request in jobs:
            entry = self._entry(request)
            attempt, segment = entry.attempt, int(request.segment)
            ended = read_json(exit_file(entry.state_dir, attempt, segment))
            record = read_json(process_file(entry.state_dir, attempt, segment))
            if ended is None and record is not None and is_same_alive(record):
                if is_same_alive(record.get("supervisor")):
                    entry.reattached = record
                    entry.pid = int(record["pid"])
                    self._watch(entry)
                    found[request.training_job_id] = Recovery.REATTACHED
                    continue
                # nobody can learn how it ends: end it now, it is run again
                end_group(record, float(request.grace_period_s))
                found[request.training_job_id] = Recovery.LOST
                continue
            if ended is None and record is not None and is_same_alive(record.get("supervisor")):
                ended = self._await_exit_record(entry)  # its supervisor is reaping it right now
            if ended is not None:
                entry.exit = ended
                entry.pid = int(record["pid"]) if record and isinstance(record.get("pid"), int) else None
                self._watch(entry)
                found[request.training_job_id] = Recovery.ADOPTED
            else:
                found[request.training_job_id] = Recovery.LOST
        return found

    def shutdown(self) -> None:
        """Stop every job (queued ones end at once), wait until all processes are gone (SIGKILL after each
        job's grace period), then let the supervisor exit. Their ``Ended`` events stay available to
        :meth:`poll`."""
        for job_id in list(self._queued):
            self.stop(job_id)
        for job_id in list(self._running):
            self.stop(job_id)
        delay = 0.001
        while self._running:
            events = self.poll()
            self._events = events + self._events
            if self._running:
                self._wait_supervisor(delay)
                delay = min(delay * 2, 0.05)
        self._close_supervisor()

    def detach(self) -> None:
        """Let go of every job without stopping it: the supervisor, told nothing more, watches the running ones to
        their end and records them (as when the tuner dies), so that a later tuner's :meth:`recover` adopts or
        reattaches them; queued ones never start. Returns at once."""
        self._queued.clear()
        for job in self._running.values():
            self._close_files(job)
        self._running.clear()
        self._events.clear()
        sup, self._supervisor = self._supervisor, None
        for pipe in (sup.stdin, sup.stdout) if sup is not None else ():
            try:
                if pipe is not None:
                    pipe.close()  # stdin closed: the supervisor starts nothing more and exits after its jobs
            except OSError:
                pass

    def wait_for_events(self, timeout_s: float) -> None:
        """Sleep up to ``timeout_s``; wakes at once when the supervisor reports (a start or an end)."""
        self._wait_supervisor(timeout_s)

    def wait(self, timeout_s: float) -> list[ExecutorEvent]:
        """Poll until there are events or ``timeout_s`` has passed (sleeping ``poll_interval_s`` in between)."""
        deadline = time.monotonic() + timeout_s
        while True:
            events = self.poll()
            if events or time.monotonic() >= deadline:
                return events
            self._wait_supervisor(min(self.poll_interval_s, max(0.0, deadline - time.monotonic())))

    @property
    def running(self) -> list[str]:
        """Ids of the training jobs whose process is running (not the queued ones)."""
        return list(self._running)

    def __enter__(self) -> "LocalExecutor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()

    # ------------------------------------------------------------------------------------------ supervisor
    def _ensure_supervisor(self) -> subprocess.Popen[bytes]:
        sup = self._supervisor
        if sup is not None and sup.poll() is None:
            return sup
        try:
            sup = subprocess.Popen(
                [sys.executable, "-m", "hyperjob.executors._supervisor"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True, close_fds=True,
            )
        except OSError as exc:
            raise ExecutorError(
                f"cannot start the local executor's supervisor process ({sys.executable}): {exc}. Check that "
                "the Python interpreter that runs hyperjob can start processes (ulimit -u, free memory)."
            ) from exc
        assert sup.stdout is not None
        os.set_blocking(sup.stdout.fileno(), False)
        self._supervisor = sup
        self._sup_out = b""
        return sup

    def _send(self, command: dict[str, Any]) -> None:
        sup = self._ensure_supervisor()
        assert sup.stdin is not None
        try:
            sup.stdin.write((json.dumps(command) + "\n").encode())
            sup.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise ExecutorError(
                f"the local executor's supervisor process is gone (exit code {sup.poll()}): {exc}. Resume the "
                "tuning job; the training jobs it ran are found again."
            ) from exc

    def _read_supervisor(self) -> None:
        sup = self._supervisor
        if sup is None or sup.stdout is None:
            return
        chunks = []
        while True:
            try:
                data = os.read(sup.stdout.fileno(), _READ_CHUNK)
            except BlockingIOError:
                break
            except OSError:
                data = b""
            if not data:
                if sup.poll() is not None:
                    self._supervisor_died(sup)
                break
            chunks.append(data)
        if not chunks:
            return
        *lines, self._sup_out = (self._sup_out + b"".join(chunks)).split(b"\n")
        for line in lines:
            if line:
                self._on_supervisor_event(json.loads(line))

    def _on_supervisor_event(self, ev: dict[str, Any]) -> None:
        job = self._running.get(ev.get("id", ""))
        if job is None:
            return
        kind = ev.get("ev")
        if kind == "started":
            job.pid = int(ev["pid"])
            self._events.append(Started(job.request.training_job_id, job.pid))
        elif kind == "exited":
            job.exit = ev
        elif kind == "start_failed":
            del self._running[job.request.training_job_id]
            self._close_files(job)
            reason = _start_failure(job, ev)
            try:
                with open(job.layout.log, "a", encoding="utf-8") as f:
                    f.write(reason + "\n")
            except OSError:
                pass
            self._events.append(Ended(job.request.training_job_id, TrainingJobStatus.FAILED, reason))

    def _supervisor_died(self, sup: subprocess.Popen[bytes]) -> None:
        """The supervisor ended while we ran: the jobs it watched cannot be told apart from lost ones."""
        self._supervisor = None
        for job in list(self._running.values()):
            if job.reattached is not None or job.exit is not None:
                continue
            if job.pid is not None:
                signal_group(job.pid, signal.SIGKILL)
            del self._running[job.request.training_job_id]
            self._close_files(job)
            self._events.append(Ended(
                job.request.training_job_id, TrainingJobStatus.FAILED,
                f"the local executor's supervisor process died (exit code {sup.returncode}); the training job "
                "was ended with it.",
            ))

    def _wait_supervisor(self, timeout_s: float) -> None:
        sup = self._supervisor
        if sup is None or sup.stdout is None or timeout_s <= 0:
            if timeout_s > 0:
                time.sleep(timeout_s)
            return
        try:
            select.select([sup.stdout.fileno()], [], [], timeout_s)
        except (OSError, ValueError):
            time.sleep(timeout_s)

    def _close_supervisor(self) -> None:
        sup, self._supervisor = self._supervisor, None
        if sup is None:
            return
        try:
            if sup.stdin is not None:
                sup.stdin.close()
        except OSError:
            pass
        try:
            sup.wait(timeout=10)
        except subprocess.TimeoutExpired:  # it still watches jobs (it never should here): leave it to them
            pass
        if sup.stdout is not None:
            sup.stdout.close()

    # ------------------------------------------------------------------------------------------ internals
    def _entry(self, job: LaunchRequest) -> _Job:
        parser = MetricParser(job.metric_definitions)
        layout = JobLayout.of(job.job_dir)
        argv = [str(a) for a in job.program.command] + build_arguments(job.hyperparameters)
        if argv and argv[0] in PYTHON_NAMES:  # `python` means the interpreter hyperjob runs under (its venv)
            argv[0] = sys.executable
        env = build_environment(job, layout)
        cwd = os.path.abspath(job.program.working_dir) if job.program.working_dir else None
        return _Job(job, layout, argv, env, parser, cwd, attempt=int(job.attempt), lines=LineBuffer(self.tail_lines))

    def _start_queued(self) -> None:
        while self._queued and (self.max_parallel_jobs is None or len(self._running) < self.max_parallel_jobs):
            _, entry = self._queued.popitem(last=False)
            self._start(entry)

    def _start(self, job: _Job) -> None:
        job_id = job.request.training_job_id
        layout = job.layout
        if job.attempt > 0 and not job.request.segment and layout.job_dir.exists():
            # a rerun: the lost attempt's files must not count (a resumed segment goes on with its own)
            shutil.rmtree(layout.job_dir, ignore_errors=True)
        dirs, files = layout.contents(job.request)  # the supervisor makes them, on its own core
        self._running[job_id] = job
        self._send({
            "op": "launch", "id": job_id, "argv": job.argv, "env": job.env, "cwd": job.cwd,
            "log": str(layout.log), "state_dir": job.state_dir, "attempt": job.attempt,
            "segment": int(job.request.segment),
            "timeout_s": job.request.timeout_s, "grace_s": float(job.request.grace_period_s),
            "dirs": dirs, "files": files,
        })

    def _watch(self, job: _Job) -> None:
        """Track a job found by :meth:`recover`: its files are read from their start."""
        self._running[job.request.training_job_id] = job
        self._open_files(job)

    def _open_files(self, job: _Job) -> None:
        try:
            job.log_fd = os.open(job.layout.log, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            job.log_fd = None
            return
        job.reports = ReportFileReader(job.layout.metrics)

    def _close_files(self, job: _Job) -> None:
        if job.log_fd is not None:
            os.close(job.log_fd)
            job.log_fd = None
        if job.reports is not None:
            job.reports.close()

    def _await_exit_record(self, job: _Job) -> dict[str, Any] | None:
        deadline = time.monotonic() + _EXIT_RECORD_WAIT_S
        while time.monotonic() < deadline:
            ended = read_json(exit_file(job.state_dir, job.attempt, int(job.request.segment)))
            if ended is not None:
                return ended
            time.sleep(0.01)
        return None

    def _poll_job(self, job: _Job, now: float) -> None:
        if job.reattached is not None and job.exit is None:
            self._check_reattached(job, now)
        values = self._read(job, final=job.exit is not None)
        if values:
            self._events.append(MetricsReported(job.request.training_job_id, tuple(values)))
        if job.exit is not None:
            self._finish(job)

    def _check_reattached(self, job: _Job, now: float) -> None:
        """A job whose old supervisor watches it: its exit record appears when it ended."""
        assert job.reattached is not None
        if job.kill_at is not None and now >= job.kill_at:
            job.kill_at = None
            if is_same_alive(job.reattached):
                signal_group(int(job.reattached["pid"]), signal.SIGKILL)
        if is_same_alive(job.reattached):
            return
        ended = read_json(exit_file(job.state_dir, job.attempt, int(job.request.segment)))
        if ended is not None:
            job.exit = ended
            return
        if job.gone_since is None:
            job.gone_since = now
        elif now - job.gone_since > _EXIT_RECORD_WAIT_S and not is_same_alive(job.reattached.get("supervisor")):
            job.exit = {"rc": None, "lost": True}

    def _read(self, job: _Job, final: bool) -> list[MetricValue]:
        if job.log_fd is None and job.pid is not None:  # opened once the supervisor started the job
            self._open_files(job)
        if job.log_fd is None or job.reports is None:
            return []
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

    def _finish(self, job: _Job) -> None:
        req = job.request
        ended = job.exit or {}
        del self._running[req.training_job_id]
        self._close_files(job)
        rc = ended.get("rc")
        how = _describe_exit(rc)
        if ended.get("lost"):
            status = TrainingJobStatus.FAILED
            reason = ("it ended while neither a tuner nor its supervisor watched it, so its exit status is "
                      f"unknown.{self._tail(job)}")
        elif ended.get("timed_out"):
            status = TrainingJobStatus.FAILED
            reason = f"timed out after {float(req.timeout_s or 0):g} s (timeout_s); {how}.{self._tail(job)}"
        elif job.stop_reason == "stop" or ended.get("stopped"):
            status = TrainingJobStatus.STOPPED
            signal_name = "SIGKILL after the grace period" if ended.get("killed") else "SIGTERM"
            reason = f"stopped ({signal_name}); {how}"
        elif rc == 0:  # a completed job's reason says which captures were not numbers (the Tuner shows it)
            status, reason = TrainingJobStatus.COMPLETED, job.parser.unreadable_note()
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


def _start_failure(job: _Job, ev: dict[str, Any]) -> str:
    exe = job.argv[0]
    kind = ev.get("error")
    strerror = ev.get("strerror") or ""
    if kind == "not_found" and job.cwd and not os.path.isdir(job.cwd):
        return (
            f"cannot start the training program: its working directory {job.cwd!r} does not exist. "
            "Fix program.working_dir."
        )
    if kind == "not_found":
        return (
            f"cannot start the training program: executable {exe!r} not found "
            f"(command {job.argv[: len(job.request.program.command)]!r}). Give an absolute path or a program on "
            "PATH, e.g. ['python', 'train.py']."
        )
    if kind == "permission":
        return (
            f"cannot start the training program: {exe!r} is not executable ({strerror}). "
            f"Run `chmod +x {exe}` or start it through its interpreter, e.g. ['python', '{exe}']."
        )
    if kind == "dir":
        return (
            f"cannot write the training job's directory {job.layout.job_dir} ({ev.get('path') or 'its log'}): "
            f"{strerror}. Check that the output directory is writable and the disk is not full."
        )
    return f"cannot start the training program {exe!r}: {strerror}."


def _read_failure_file(layout: JobLayout, limit: int = 2000) -> str:
    try:
        with open(layout.failure_file, encoding="utf-8", errors="replace") as f:
            return f.read(limit).strip()
    except OSError:
        return ""
