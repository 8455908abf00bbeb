"""The Ray executor: training jobs run as processes on the nodes of a Ray cluster (Ray core, not Ray Tune).

How a training job runs:

- The executor keeps a pool of **runners**: named, detached Ray actors (namespace ``hyperjob``, name
  ``<group>/runner-<k>``, where the group names the tuning job's output directory), each created with the
  resources of a number of training jobs, its slots (``num_cpus``, ``num_gpus`` (fractional, e.g. 0.25),
  ``memory``, custom resources, times the slots), so Ray places it on a node where they fit. The jobs launched
  together share one runner per node, as many as the node's free resources fit (a Ray worker process's start
  is most of what a short job costs on Ray; jobs that need GPUs get a runner each). A runner runs up to its
  slots of training jobs at a time and is reused for the next ones (no actor start per job).
- On its node the runner lays out the job's directory (:mod:`hyperjob.executors.env`), starts
  ``command + ["--name", "value", ...]`` (an argument list, never a shell; ``python`` is the node's interpreter)
  in a session of its own (its own process group), with stdout and stderr in ``<job_dir>/train.log``, the
  HYPERJOB_* and SM_* environment on top of the node's (with the ``CUDA_VISIBLE_DEVICES`` Ray gives the runner),
  and it dies with the runner (``PR_SET_PDEATHSIG``). The runner enforces the job's timeout and its stop
  (SIGTERM to the process group, SIGKILL after the grace period), and kills what the group left behind.
- The tuner long-polls each runner for the new bytes of the log and of the metrics file; the log lines are
  matched against the metric definitions here, while the job runs. Nothing blocks :meth:`RayExecutor.poll`.
- A runner that dies under a job (its node was lost, or its worker was killed) ends the job ``Failed`` with a
  reason that starts with "node lost"; ``Ended.retryable`` is set, so the Tuner runs it again when the spec has
  a retry policy (``retry.max_retry_attempts``, SageMaker's ``RetryStrategy.MaximumRetryAttempts``). A runner
  Ray cannot reach for a moment (``ActorUnavailableError``) is asked again: only a runner Ray declared dead
  loses its job.

Without an address the executor starts a private local cluster (on 127.0.0.1 only) that lives as long as the
tuner; when the tuner dies the cluster and its training jobs end with it, and ``resume`` runs them again. With
the address of a cluster (``ray start --head``), the runners outlive a tuner that dies: :meth:`recover` finds
them by name, **reattaches** to a job still running and **adopts** one that ended meanwhile (a runner keeps its
last job's end until a tuner asks, or until ``orphan_after_s`` with no tuner calling it, when it exits).
The job's directory is on the node that runs it: on a cluster of several machines, point ``output_dir`` at a
shared file system to see logs and models on the tuner's machine (metrics and the log's tail reach the tuner
through Ray either way). See docs/cluster.md.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from hyperjob._process import GroupStop, signal_group
from hyperjob.errors import ExecutorError
from hyperjob.executors.base import (
    Ended, ExecutorEvent, LaunchRequest, MetricsReported, Recovery, Started, check_launch,
)
from hyperjob.executors.env import JobLayout, build_arguments, build_environment, make_contents
from hyperjob.executors.local import PYTHON_NAMES, _describe_exit, _read_failure_file
from hyperjob.executors.metrics import LineBuffer, MetricParser, ReportFileReader
from hyperjob.records import MetricValue, TrainingJobStatus

__all__ = ["NAMESPACE", "NODE_LOST", "RayExecutor", "ray_resources"]

#: the Ray namespace of the runners
NAMESPACE = "hyperjob"
#: how the reason of a training job whose runner (node) died starts
NODE_LOST = "node lost"
#: settings that keep a private local cluster on 127.0.0.1, quiet and without a token file
LOCAL_CLUSTER_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled",
                     "RAY_USAGE_STATS_ENABLED": "0"}
_READ_LIMIT = 1 << 20
#: how often a long poll looks for new log or metrics bytes (metric values reach the tuner within this)
_FILE_CHECK_S = 0.1
_PR_SET_PDEATHSIG = 1


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ExecutorError(
            "the Ray executor needs Ray, which is not installed. Install it with: pip install 'hyperjob[ray]'"
        ) from None
    return ray


def ray_resources(cpus: float = 1.0, gpus: float = 0.0, memory_mb: float | None = None,
                  custom: Mapping[str, float] | None = None) -> dict[str, Any]:
    """A training job's resources as Ray actor options (``num_cpus``, ``num_gpus``, ``memory``, ``resources``)."""
    opts: dict[str, Any] = {"num_cpus": float(cpus), "num_gpus": float(gpus)}
    if memory_mb:
        opts["memory"] = int(float(memory_mb) * 2**20)
    if custom:
        opts["resources"] = {str(k): float(v) for k, v in custom.items()}
    return opts


# ------------------------------------------------------------------------------------------------ the runner
class _NodeJob:
    """One training job on a runner's node: its process, its timers, its end."""

    def __init__(self, spec: dict[str, Any], cond: threading.Condition) -> None:
        self.spec = spec
        self.id: str = spec["id"]
        self.attempt = int(spec.get("attempt") or 0)
        self.cond = cond
        self.proc: subprocess.Popen[bytes] | None = None
        self.end: GroupStop | None = None  # its timeout and stop, once it runs
        self.exit: dict[str, Any] | None = None
        self.started = threading.Event()
        self.start_error: dict[str, Any] | None = None

    def run(self) -> None:
        """The job's thread: start the process (it dies with this thread's process), wait, enforce timers."""
        spec = self.spec
        try:
            if spec.get("dirs"):
                make_contents(spec["dirs"], spec.get("files") or {})
            mode = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_APPEND if spec.get("segment") else os.O_TRUNC)
            log_fd = os.open(spec["log"], mode, 0o644)
        except OSError as exc:
            self.start_error = {"error": "dir", "strerror": exc.strerror or str(exc), "path": exc.filename}
            self.started.set()
            return
        argv = list(spec["argv"])
        if argv and argv[0] in PYTHON_NAMES:
            argv[0] = sys.executable
        env = {**os.environ, **spec["env"]}
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", "")
        env["SM_NUM_GPUS"] = str(len([d for d in visible.split(",") if d.strip()]))
        prctl = ctypes.CDLL(None, use_errno=True).prctl
        try:
            self.proc = subprocess.Popen(
                argv, cwd=spec.get("cwd"), env=env, stdin=subprocess.DEVNULL, stdout=log_fd, stderr=subprocess.STDOUT,
                start_new_session=True, close_fds=True, preexec_fn=lambda: prctl(_PR_SET_PDEATHSIG, signal.SIGKILL),
            )
        except OSError as exc:
            kind = "not_found" if isinstance(exc, FileNotFoundError) else (
                "permission" if isinstance(exc, PermissionError) else "os")
            self.start_error = {"error": kind, "strerror": exc.strerror or str(exc), "exe": argv[0]}
            self.started.set()
            return
        finally:
            os.close(log_fd)
        proc = self.proc
        end = GroupStop(proc.pid, float(spec.get("grace_s") or 0.0), spec.get("timeout_s"))
        with self.cond:
            self.end = end
        self.started.set()
        while True:
            due = end.next_timer()
            try:
                rc = proc.wait(timeout=max(0.0, due - time.monotonic()) if due is not None else 1.0)
                break
            except subprocess.TimeoutExpired:
                pass
            with self.cond:
                end.tick()
        signal_group(proc.pid, signal.SIGKILL)  # what the group left behind
        with self.cond:
            self.exit = {"rc": rc, "stopped": end.stopped, "timed_out": end.timed_out, "killed": end.killed,
                         "ended_at": time.time()}
            self.cond.notify_all()

    def stop(self, now: bool) -> None:
        with self.cond:
            if self.end is not None and self.exit is None:
                self.end.stop(now)


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _read_from(path: str, offset: int) -> bytes:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(_READ_LIMIT)
    except OSError:
        return b""


class Runner:
    """A Ray actor that runs up to ``slots`` training jobs at a time on its node (see the module docstring).

    It is created with the resources of ``slots`` training jobs. Its methods are called by :class:`RayExecutor`
    through Ray; it runs with ``max_concurrency`` above ``slots`` so that a start or a stop reaches it while the
    long polls of its jobs wait.
    """

    def __init__(self, orphan_after_s: float = 600.0, slots: int = 1) -> None:
        self._cond = threading.Condition()
        self._jobs: dict[str, _NodeJob] = {}
        self._slots = max(1, int(slots))
        self._last_call = time.monotonic()
        self._orphan_after_s = float(orphan_after_s)
        threading.Thread(target=self._orphan_watch, daemon=True).start()

    def hello(self) -> dict[str, Any]:
        """Where it runs: ``{"host", "pid", "node_id", "slots"}``."""
        self._last_call = time.monotonic()
        import ray

        return {"host": socket.gethostname(), "pid": os.getpid(), "node_id": ray.get_runtime_context().get_node_id(),
                "slots": self._slots}

    def start(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Start a training job (``spec`` as :meth:`RayExecutor._spec` builds it). Returns ``{"pid"}`` or the
        start error ``{"error", "strerror", ...}``; ``{"error": "busy"}`` if all its slots run jobs."""
        self._last_call = time.monotonic()
        with self._cond:
            running = [j.id for j in self._jobs.values() if j.exit is None and j.start_error is None]
            if len(running) >= self._slots or spec["id"] in running:
                return {"error": "busy", "strerror": f"the runner still runs training jobs {', '.join(running)}"}
            job = _NodeJob(spec, self._cond)
            self._jobs[job.id] = job
        threading.Thread(target=job.run, daemon=True, name=f"hyperjob-{job.id}").start()
        job.started.wait()
        if job.start_error is not None:
            with self._cond:
                if self._jobs.get(job.id) is job:
                    del self._jobs[job.id]
            return job.start_error
        assert job.proc is not None
        return {"pid": job.proc.pid, "host": socket.gethostname()}

    def poll(self, job_id: str, log_offset: int, metrics_offset: int, wait_s: float) -> dict[str, Any]:
        """New output of the job since the offsets, waiting up to ``wait_s`` for some (a long poll).

        Returns ``{"log": bytes, "metrics": bytes}``, plus ``"exit"`` once the job ended and all of its output
        was read, or ``{"gone": True}`` when this runner does not hold that job.
        """
        self._last_call = time.monotonic()
        deadline = time.monotonic() + wait_s
        with self._cond:
            while True:
                job = self._jobs.get(job_id)
                if job is None:
                    return {"gone": True}
                ended = job.exit
                if (ended is not None or _size(job.spec["log"]) > log_offset
                        or _size(job.spec["metrics"]) > metrics_offset):
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    return {"log": b"", "metrics": b""}
                self._cond.wait(min(left, _FILE_CHECK_S))  # an exit wakes it at once (notify_all)
        log = _read_from(job.spec["log"], log_offset)
        metrics = _read_from(job.spec["metrics"], metrics_offset)
        out: dict[str, Any] = {"log": log, "metrics": metrics}
        if ended is not None and len(log) < _READ_LIMIT and len(metrics) < _READ_LIMIT:
            out["exit"] = ended
        return out

    def stop(self, job_id: str, now: bool = False) -> None:
        """SIGTERM to the job's process group, SIGKILL after its grace period (``now``: SIGKILL at once)."""
        self._last_call = time.monotonic()
        job = self._jobs.get(job_id)
        if job is not None:
            job.stop(now)

    def current(self) -> list[dict[str, Any]]:
        """The jobs it holds: ``[{"id", "attempt", "pid", "exit"}]`` (``exit`` None while one runs)."""
        self._last_call = time.monotonic()
        with self._cond:
            jobs = [j for j in self._jobs.values() if j.start_error is None]
        return [{"id": j.id, "attempt": j.attempt, "pid": j.proc.pid if j.proc else None, "exit": j.exit}
                for j in jobs]

    def forget(self, job_id: str) -> None:
        """Let go of an ended job (its slot is free for the next one)."""
        self._last_call = time.monotonic()
        with self._cond:
            job = self._jobs.get(job_id)
            if job is not None and job.exit is not None:
                del self._jobs[job_id]

    def _orphan_watch(self) -> None:
        """Exit once no tuner called for ``orphan_after_s`` and no job runs (a tuner that died for good)."""
        while True:
            time.sleep(min(5.0, self._orphan_after_s / 4))
            with self._cond:
                idle = all(j.exit is not None or j.start_error is not None for j in self._jobs.values())
            if idle and time.monotonic() - self._last_call > self._orphan_after_s:
                os._exit(0)


# ------------------------------------------------------------------------------------------------ the executor
@dataclass
class _Job:
    request: LaunchRequest
    spec: dict[str, Any]
    parser: MetricParser
    runner: Any = None
    runner_name: str = ""
    lines: LineBuffer = field(default_factory=LineBuffer)
    reports: ReportFileReader = field(default_factory=lambda: ReportFileReader(os.devnull))
    partial: bytes = b""
    log_offset: int = 0
    metrics_offset: int = 0
    started: bool = False
    stop_asked: bool = False
    ref: Any = None  # the outstanding call: start (until it answered), then the long polls
    ref_kind: str = ""
    ask_at: float | None = None  # its runner was unreachable for a moment: ask again then


class RayExecutor:
    """Runs training jobs on a Ray cluster (see the module docstring).

    Args:
        address: the cluster (``ray://`` or ``host:port``, or ``auto``); ``None``: a private local cluster, or
            the one this process is already connected to (``ray.init`` called before).
        cpus, gpus, memory_mb, custom: what each training job needs (Ray's ``num_cpus``, ``num_gpus``,
            ``memory``, custom resources); Ray places each job on a node where they are free.
        poll_wait_s: how long one long poll of a runner waits for output.
        orphan_after_s: a runner that no tuner called for this long, with no job running, exits.
        init_kwargs: more arguments for ``ray.init`` of a private local cluster (``num_cpus``, ...).
        max_jobs_per_runner: how many training jobs one runner may hold at once (the jobs launched together
            share a runner per node, as many as the node's free resources fit); 1: a runner per job. Jobs that
            need GPUs always get a runner each.

    A training job paused at a hyperband rung (promotions) is launched again as the next ``segment`` of its
    attempt: its log is appended to, its metrics file and checkpoint folder are kept, and its values are read
    from the start again (the Tuner counts each step once). The program finds its checkpoint only where the
    segment runs: on a cluster of several machines, ``output_dir`` must be on a shared file system (a job
    whose checkpoint the tuner's machine cannot see is not paused but judged stop-only).

    Called from the Tuner's thread only; not thread-safe.
    """

    #: a paused training job can be launched again as the next ``segment`` of its attempt (class docstring)
    can_resume = True

    def __init__(
        self,
        address: str | None = None,
        *,
        cpus: float = 1.0,
        gpus: float = 0.0,
        memory_mb: float | None = None,
        custom: Mapping[str, float] | None = None,
        poll_wait_s: float = 0.5,
        orphan_after_s: float = 600.0,
        init_kwargs: Mapping[str, Any] | None = None,
        tail_lines: int = 20,
        max_jobs_per_runner: int = 16,
    ) -> None:
        self.address = address
        self.max_jobs_per_runner = max_jobs_per_runner
        self.options = ray_resources(cpus, gpus, memory_mb, custom)
        self.poll_wait_s = poll_wait_s
        self.orphan_after_s = orphan_after_s
        self.init_kwargs = dict(init_kwargs or {})
        self.tail_lines = tail_lines
        self._ray: Any = None
        self._owns_cluster = False
        self._actor_class: Any = None
        self._running: dict[str, _Job] = {}
        self._free: list[tuple[str, Any]] = []  # free slots of placed runners: (name, runner) once per slot
        # runners Ray has not placed yet, by their hello() call: (name, runner, slots)
        self._placing: dict[Any, tuple[str, Any, int]] = {}
        self._queued: list[str] = []  # jobs waiting for a runner, in launch order
        self._events: list[ExecutorEvent] = []
        self._group: str | None = None
        self._next_runner = 0
        self._checked_fit = False

    # ------------------------------------------------------------------------------------------ interface
    def launch(self, job: LaunchRequest) -> None:
        """Start ``job`` on a runner (reused, or a new one Ray places by the job's resources). Returns at once.

        Raises:
            ExecutorError: no command; the id is already running; no node of the cluster could ever hold the
                job's resources; Ray is missing or the cluster cannot be reached.
        """
        job_id = job.training_job_id
        check_launch(job, self._running, "it is a Python function: the Ray executor runs commands")
        self._connect(job)
        self._check_fit()
        entry = self._entry(job)
        self._running[job_id] = entry
        if self._free:
            self._assign(entry, *self._free.pop())
            return
        # it starts on the first runner slot that is placed or becomes free; the runners for the jobs launched
        # together are created at the next poll (or wait), sized for all of them (see _place_queued)
        self._queued.append(job_id)

    def poll(self) -> list[ExecutorEvent]:
        """Events since the last call (``Started``, ``MetricsReported``, ``Ended``), in order per job. Never blocks."""
        self._place_queued()
        if self._running or self._placing:
            now = time.monotonic()
            for job in self._running.values():
                if job.ask_at is not None and now >= job.ask_at:
                    job.ask_at = None
                    self._ask(job)
            jobs = {e.ref: e for e in self._running.values() if e.ref is not None}
            refs = list(jobs) + list(self._placing)
            if refs:
                ready, _ = self._ray.wait(refs, num_returns=len(refs), timeout=0, fetch_local=True)
                for ref in ready:
                    if ref in jobs:
                        self._answer(jobs[ref], ref)
                    else:
                        self._placed(ref)
        events, self._events = self._events, []
        return events

    def stop(self, training_job_id: str, *, now: bool = False) -> None:
        """Ask a job to stop (its runner: SIGTERM to the process group, SIGKILL after the grace period; ``now``:
        SIGKILL at once). Its ``Ended(Stopped)`` comes through :meth:`poll`; an unknown id does nothing."""
        job = self._running.get(training_job_id)
        if job is None or (job.stop_asked and not now):
            return
        job.stop_asked = True
        if job.runner is None:  # still waiting for a runner: it never starts
            self._queued.remove(training_job_id)
            del self._running[training_job_id]
            self._events.append(Ended(training_job_id, TrainingJobStatus.STOPPED, "stopped before it started"))
            return
        job.runner.stop.remote(training_job_id, now)

    def recover(self, jobs: Sequence[LaunchRequest]) -> dict[str, Recovery]:
        """Find the jobs of a tuner that died on the cluster's runners (by name): a job still running is
        ``REATTACHED``, one that ended meanwhile ``ADOPTED`` (both come through ``poll`` with all their metric
        values), any other ``LOST``. A runner that holds no wanted job is ended, after its job if one runs."""
        found: dict[str, Recovery] = {job.training_job_id: Recovery.LOST for job in jobs}
        if not jobs:
            return found
        self._connect(jobs[0])
        ray = self._ray
        wanted = {j.training_job_id: j for j in jobs}
        prefix = f"{self._group}/"
        names = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
                 if a.get("namespace") == NAMESPACE and str(a.get("name", "")).startswith(prefix)]
        for name in sorted(names):
            try:
                runner = ray.get_actor(name, namespace=NAMESPACE)
                info = ray.get(runner.current.remote(), timeout=30)
            except Exception:  # noqa: BLE001 - a runner that died or does not answer holds nothing we can use
                continue
            kept = [(item, wanted[item["id"]]) for item in info if item["id"] in wanted
                    and int(item["attempt"]) == int(wanted[item["id"]].attempt)
                    and item["id"] not in self._running]
            if not kept:
                self._kill(runner)  # jobs nobody wants: they die with their runner (PR_SET_PDEATHSIG)
                continue
            for item in info:
                if all(item is not k for k, _ in kept):
                    runner.stop.remote(item["id"], True)  # a job nobody wants beside wanted ones
            for item, request in kept:
                entry = self._entry(request)
                entry.runner_name, entry.runner, entry.started = name, runner, True
                self._running[request.training_job_id] = entry
                self._ask(entry)
                found[request.training_job_id] = Recovery.ADOPTED if item.get("exit") else Recovery.REATTACHED
            number = name.rsplit("-", 1)[-1]
            if number.isdigit():
                self._next_runner = max(self._next_runner, int(number) + 1)
        return found

    def wait_for_events(self, timeout_s: float) -> None:
        """Sleep up to ``timeout_s``; wakes when a runner answers."""
        self._place_queued()
        refs = [e.ref for e in self._running.values() if e.ref is not None] + list(self._placing)
        if not refs or self._events:
            if not self._events and timeout_s > 0:
                time.sleep(timeout_s)
            return
        asks = [j.ask_at for j in self._running.values() if j.ask_at is not None]
        if asks:
            timeout_s = min(timeout_s, max(0.0, min(asks) - time.monotonic()))
        self._ray.wait(refs, num_returns=1, timeout=max(0.0, timeout_s), fetch_local=False)

    def shutdown(self) -> None:
        """Stop every job, wait until all ended, end the runners (and a private cluster). Returns when done."""
        for job_id in list(self._running):
            self.stop(job_id)
        deadline = time.monotonic() + max([j.request.grace_period_s for j in self._running.values()] or [0]) + 30
        while self._running and time.monotonic() < deadline:
            events = self.poll()
            self._events = events + self._events
            if self._running:
                self.wait_for_events(0.05)
        for job_id, job in list(self._running.items()):  # runners that did not answer: their node is gone
            del self._running[job_id]
            self._events.append(Ended(job_id, TrainingJobStatus.STOPPED, "stopped; its runner did not answer"))
            self._kill(job.runner)
        for runner in [r for _, r in self._free] + [r for _, r, _ in self._placing.values()]:
            self._kill(runner)
        self._free.clear()
        self._placing.clear()
        self._disconnect()

    def detach(self) -> None:
        """Let go of the running jobs without ending them (a later tuner's :meth:`recover` finds them on a
        cluster given by address); free runners are ended; a private cluster ends with its jobs."""
        for runner in [r for _, r in self._free] + [r for _, r, _ in self._placing.values()]:
            self._kill(runner)
        self._free.clear()
        self._placing.clear()
        self._queued.clear()
        self._running.clear()
        self._events.clear()
        self._disconnect()

    @property
    def running(self) -> list[str]:
        """Ids of the training jobs this executor watches."""
        return list(self._running)

    # ------------------------------------------------------------------------------------------ internals
    def _connect(self, job: LaunchRequest) -> None:
        if self._group is None:
            parent = os.path.abspath(job.job_dir.parent)
            digest = hashlib.sha1(parent.encode()).hexdigest()[:10]
            self._group = f"{os.path.basename(parent)}-{digest}"
        if self._ray is not None:
            return
        ray = _import_ray()
        if not ray.is_initialized():
            try:
                if self.address is None:
                    for k, v in LOCAL_CLUSTER_ENV.items():
                        os.environ.setdefault(k, v)
                    kwargs = {"include_dashboard": False, "object_store_memory": 128 * 2**20,
                              "logging_level": "ERROR", "log_to_driver": False, **self.init_kwargs}
                    ray.init(address="local", **kwargs)
                else:
                    ray.init(address=self.address, logging_level="ERROR", log_to_driver=False)
            except Exception as exc:  # noqa: BLE001 - Ray raises many kinds (ConnectionError, ValueError, ...)
                where = f"the Ray cluster at {self.address!r}" if self.address else "a private local Ray cluster"
                raise ExecutorError(
                    f"cannot connect to {where}: {exc}. Check the address (`ray status --address ...` on that "
                    "machine), or leave executor.address out to start a local cluster."
                ) from exc
            self._owns_cluster = True
        self._ray = ray
        self._actor_class = ray.remote(max_concurrency=4, max_restarts=0)(Runner)

    def _disconnect(self) -> None:
        if self._ray is not None and self._owns_cluster:
            self._ray.shutdown()
        self._ray = None
        self._owns_cluster = False

    def _check_fit(self) -> None:
        """Refuse a job no node could ever hold (Ray would wait for it forever)."""
        if self._checked_fit:
            return
        need = {"CPU": self.options["num_cpus"], "GPU": self.options["num_gpus"],
                "memory": float(self.options.get("memory", 0)), **self.options.get("resources", {})}
        need = {k: v for k, v in need.items() if v}
        nodes = [n for n in self._ray.nodes() if n.get("Alive")]
        if any(all(n.get("Resources", {}).get(k, 0) >= v for k, v in need.items()) for n in nodes):
            self._checked_fit = True
            return
        have = "; ".join(
            ", ".join(f"{k}={v:g}" for k, v in sorted(n.get("Resources", {}).items())
                      if not k.startswith(("node:", "object_store")))
            for n in nodes
        ) or "no node alive"
        raise ExecutorError(
            f"no node of the Ray cluster can hold a training job that needs "
            f"{', '.join(f'{k}={v:g}' for k, v in need.items())} (nodes: {have}). Lower resources (cpus, gpus, "
            "memory_mb, custom) or add a node that has them."
        )

    def _new_runner(self, slots: int = 1, node_id: str | None = None) -> tuple[str, Any]:
        """A runner with the resources of ``slots`` training jobs (preferably on ``node_id``)."""
        opts: dict[str, Any] = {"num_cpus": self.options["num_cpus"] * slots,
                                "num_gpus": self.options["num_gpus"] * slots,
                                "max_concurrency": slots + 4}  # a long poll per job, and a start or a stop
        if self.options.get("memory"):
            opts["memory"] = self.options["memory"] * slots
        if self.options.get("resources"):
            opts["resources"] = {k: v * slots for k, v in self.options["resources"].items()}
        if node_id is not None:
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            opts["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node_id, soft=True)
        for _ in range(1000):  # a name still taken by a runner of an earlier tuner: the next one
            name = f"{self._group}/runner-{self._next_runner}"
            self._next_runner += 1
            try:
                actor = self._actor_class.options(
                    name=name, namespace=NAMESPACE, lifetime="detached", **opts
                ).remote(self.orphan_after_s, slots)
            except ValueError:
                continue
            return name, actor
        raise ExecutorError(f"cannot name a new Ray runner for {self._group}: 1000 names in a row are taken.")

    def _place_queued(self) -> None:
        """Create the runners for the queued jobs that no placed or pending runner slot will take.

        The jobs launched together share runners: one runner per node holds as many of them as that node's
        free resources fit (at most ``max_jobs_per_runner``), so that Ray starts one worker process for them,
        not one each (a worker's start is most of a short training job's cost on Ray).
        """
        uncovered = len(self._queued) - sum(slots for _, _, slots in self._placing.values())
        if uncovered <= 0 or self._ray is None:
            return
        for slots, node_id in self._runner_sizes(uncovered):
            name, actor = self._new_runner(slots, node_id)
            self._placing[actor.hello.remote()] = (name, actor, slots)

    def _runner_sizes(self, jobs: int) -> list[tuple[int, str | None]]:
        """How many slots each new runner gets for ``jobs`` jobs, and its node: by the nodes' free resources."""
        if self.max_jobs_per_runner <= 1 or self.options["num_gpus"] or jobs == 1:
            return [(1, None)] * jobs  # a GPU job gets its own CUDA_VISIBLE_DEVICES from Ray: a runner each
        need = {"CPU": self.options["num_cpus"], "memory": float(self.options.get("memory", 0)),
                **self.options.get("resources", {})}
        need = {k: v for k, v in need.items() if v}
        try:
            from ray._private.state import available_resources_per_node  # Ray's DeveloperAPI

            free = {node: dict(res) for node, res in available_resources_per_node().items()}
        except Exception:  # noqa: BLE001 - an older or newer Ray without it: a runner per job, as Ray places it
            return [(1, None)] * jobs
        sizes: list[tuple[int, str | None]] = []
        while jobs > 0:
            fits = {node: min(int(res.get(k, 0.0) / v + 1e-9) for k, v in need.items()) if need else jobs
                    for node, res in free.items()}
            node = max(fits, key=lambda n: fits[n], default=None)
            if node is None or fits[node] < 1:
                return sizes + [(1, None)] * jobs  # nothing free now: they wait for Ray to place them
            slots = min(jobs, fits[node], self.max_jobs_per_runner)
            sizes.append((slots, node))
            for k, v in need.items():
                free[node][k] = free[node].get(k, 0.0) - v * slots
            jobs -= slots
        return sizes

    def _entry(self, job: LaunchRequest) -> _Job:
        layout = JobLayout.of(job.job_dir)
        argv = [str(a) for a in job.program.command] + build_arguments(job.hyperparameters)
        env = build_environment(job, layout, base={})
        dirs, files = layout.contents(job)
        spec = {
            "id": job.training_job_id, "attempt": int(job.attempt), "segment": int(getattr(job, "segment", 0) or 0),
            "argv": argv, "env": env, "dirs": dirs, "files": files, "log": str(layout.log),
            "metrics": str(layout.metrics), "timeout_s": job.timeout_s, "grace_s": float(job.grace_period_s),
            "cwd": os.path.abspath(job.program.working_dir) if job.program.working_dir else os.getcwd(),
        }
        return _Job(job, spec, MetricParser(job.metric_definitions), lines=LineBuffer(self.tail_lines))

    def _assign(self, job: _Job, name: str, runner: Any) -> None:
        job.runner_name, job.runner = name, runner
        job.ref, job.ref_kind = runner.start.remote(job.spec), "start"

    def _runner_free(self, name: str, runner: Any) -> None:
        """A runner can take a job: the first queued one, else it waits in the free pool."""
        if self._queued:
            self._assign(self._running[self._queued.pop(0)], name, runner)
        else:
            self._free.append((name, runner))

    def _placed(self, ref: Any) -> None:
        name, runner, slots = self._placing.pop(ref)
        try:
            self._ray.get(ref)
        except Exception:  # noqa: BLE001 - it died before it was placed (its node was lost): the next poll
            return  # makes another one for the jobs it would have taken
        for _ in range(slots):
            self._runner_free(name, runner)

    def _ask(self, job: _Job) -> None:
        job.ref = job.runner.poll.remote(job.request.training_job_id, job.log_offset, job.metrics_offset,
                                         self.poll_wait_s)
        job.ref_kind = "poll"

    def _answer(self, job: _Job, ref: Any) -> None:
        job_id = job.request.training_job_id
        job.ref = None
        try:
            answer = self._ray.get(ref)
        except self._ray.exceptions.ActorUnavailableError:  # unreachable for now: Ray has not declared it dead
            if job.ref_kind == "poll":
                job.ask_at = time.monotonic() + 0.5
                return
            self._lost(job, None)  # whether it started is unknown: it runs again (a retryable failure)
            return
        except Exception as exc:  # noqa: BLE001 - the actor died: its node or its worker process is gone
            self._lost(job, exc)
            return
        if job.ref_kind == "start":
            if "pid" in answer:
                job.started = True
                self._events.append(Started(job_id, int(answer["pid"])))
                if job.stop_asked:  # asked to stop before it had started
                    job.runner.stop.remote(job_id, False)
                self._ask(job)
                return
            self._start_failed(job, answer)
            return
        if answer.get("gone"):
            self._lost(job, None)
            return
        stamp = time.time()
        lines = job.lines.push(answer["log"]) if answer["log"] else []
        job.log_offset += len(answer["log"])
        job.metrics_offset += len(answer["metrics"])
        ended = answer.get("exit")
        if ended is not None:
            lines += job.lines.flush()
        values: list[MetricValue] = job.parser.feed_lines(lines, stamp) if lines else []
        values += self._reports(job, answer["metrics"])
        if values:
            self._events.append(MetricsReported(job_id, tuple(values)))
        if ended is None:
            self._ask(job)
            return
        del self._running[job_id]
        job.runner.forget.remote(job_id)
        self._events.append(self._ended(job, ended))
        self._runner_free(job.runner_name, job.runner)

    def _reports(self, job: _Job, data: bytes) -> list[MetricValue]:
        if not data:
            return []
        *lines, job.partial = (job.partial + data).split(b"\n")
        out: list[MetricValue] = []
        for line in lines:
            if line.strip():
                out.extend(job.reports._parse(line))  # one reader of the report format
        return out

    def _ended(self, job: _Job, ended: dict[str, Any]) -> Ended:
        req = job.request
        rc = ended.get("rc")
        how = _describe_exit(rc)
        if ended.get("timed_out"):
            return Ended(req.training_job_id, TrainingJobStatus.FAILED,
                         f"timed out after {float(req.timeout_s or 0):g} s (timeout_s); {how}.{self._tail(job)}", rc)
        if job.stop_asked or ended.get("stopped"):
            signal_name = "SIGKILL after the grace period" if ended.get("killed") else "SIGTERM"
            return Ended(req.training_job_id, TrainingJobStatus.STOPPED, f"stopped ({signal_name}); {how}", rc)
        if rc == 0:
            return Ended(req.training_job_id, TrainingJobStatus.COMPLETED, job.parser.unreadable_note(), rc)
        failure = _read_failure_file(JobLayout.of(req.job_dir))
        reason = f"{how}.{self._tail(job)}"
        return Ended(req.training_job_id, TrainingJobStatus.FAILED, f"{failure}\n{reason}" if failure else reason, rc)

    def _start_failed(self, job: _Job, answer: dict[str, Any]) -> None:
        job_id = job.request.training_job_id
        del self._running[job_id]
        kind = answer.get("error")
        if kind == "busy":  # a runner recovery left busy: this slot is not used again; the job is not started
            self._events.append(Ended(job_id, TrainingJobStatus.FAILED, f"{NODE_LOST}: {answer.get('strerror')}",
                                      retryable=True))
            return
        self._runner_free(job.runner_name, job.runner)
        exe = answer.get("exe") or job.spec["argv"][0]
        if kind == "not_found":
            reason = (f"cannot start the training program on its Ray node: executable {exe!r} not found there "
                      f"(command {list(job.request.program.command)!r}). Give a path or a program on the node's "
                      "PATH, e.g. ['python', 'train.py'].")
        elif kind == "dir":
            reason = (f"cannot write the training job's directory on its Ray node ({answer.get('path')}): "
                      f"{answer.get('strerror')}. Check that output_dir is writable on every node.")
        else:
            reason = f"cannot start the training program {exe!r} on its Ray node: {answer.get('strerror')}."
        self._events.append(Ended(job_id, TrainingJobStatus.FAILED, reason))

    def _lost(self, job: _Job, exc: BaseException | None) -> None:
        job_id = job.request.training_job_id
        self._running.pop(job_id, None)
        self._free = [(name, runner) for name, runner in self._free if name != job.runner_name]  # its runner died
        what = f" ({type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''})" if exc else ""
        if job.stop_asked:
            self._events.append(Ended(job_id, TrainingJobStatus.STOPPED, f"stopped; its Ray node was lost{what}"))
            return
        reason = (f"{NODE_LOST}: the Ray node (or worker) that ran training job {job_id} died{what}; the job's "
                  f"process ended with it.{self._tail(job)}")
        self._events.append(Ended(job_id, TrainingJobStatus.FAILED, reason, retryable=True))

    def _tail(self, job: _Job) -> str:
        if not job.lines.tail:
            return " The log is empty."
        return f" Last lines of {job.spec['log']}:\n" + "\n".join(job.lines.tail)

    def _kill(self, runner: Any) -> None:
        try:
            self._ray.kill(runner)
        except Exception:  # noqa: BLE001 - already gone
            pass
