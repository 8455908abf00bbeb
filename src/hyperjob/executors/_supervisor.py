"""The local executor's supervisor: the process that starts training jobs, waits for them and records their end.

One supervisor runs per :class:`~hyperjob.executors.local.LocalExecutor`, in a session of its own, so that
killing the tuner (even its whole process group) leaves it running. It reads commands from the tuner on
stdin and answers with events on stdout, one JSON object per line::

    tuner -> {"op": "launch", "id", "argv", "env", "cwd", "log", "state_dir", "attempt", "segment", "timeout_s",
              "grace_s", "dirs", "files"}             the job's directories and files, made before it starts
             {"op": "stop", "id"}                      SIGTERM to the job's group, SIGKILL after its grace period
             {"op": "stop", "id", "now": true}         SIGKILL to the job's group at once
    tuner <- {"ev": "started", "id", "pid"}
             {"ev": "start_failed", "id", "error", "errno", "strerror"}
             {"ev": "exited", "id", "rc", "stopped", "timed_out", "killed"}

What it writes, durably, in each training job's ``state_dir`` (files named by the attempt, so that a record
of an earlier attempt is never read as this one's):

(A training job resumed from its checkpoint after a pause is segment S of its attempt: ``attempt-N.S.*``, and
its log is appended to, not truncated.)

- ``attempt-N.process.json`` right after the start: the job's pid (the leader of its own process group), its
  start time, the supervisor's identity, the deadline of its timeout;
- ``attempt-N.exit.json`` when it ended, before the tuner is told: exit code (negative: the signal), end
  time, whether it was stopped, timed out or killed. Written to a temporary file, then renamed.

The supervisor enforces each job's timeout itself, so it holds while no tuner runs. When the tuner goes away
(stdin closes) it starts nothing more (a launch still in the pipe, or one that comes after the tuner's death,
is dropped), supervises the jobs it runs to their end, records them, and exits. A resumed tuner finds the
records and the processes again (``LocalExecutor.recover``).
"""

from __future__ import annotations

import errno
import json
import os
import select
import signal
import subprocess
import time
from typing import Any

from hyperjob._process import GroupStop, identity, signal_group
from hyperjob.executors.env import make_contents


def _tag(attempt: int, segment: int) -> str:
    return f"attempt-{attempt}" + (f".{segment}" if segment else "")


def process_file(state_dir: str, attempt: int, segment: int = 0) -> str:
    return os.path.join(state_dir, f"{_tag(attempt, segment)}.process.json")


def exit_file(state_dir: str, attempt: int, segment: int = 0) -> str:
    return os.path.join(state_dir, f"{_tag(attempt, segment)}.exit.json")


def write_json(path: str, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically against a crash of any process (temporary file, then rename).

    Not synced: after a power loss a record may be missing or empty, which reads as "no record", and the
    training job (whose processes died with the machine) is run again; nothing is adopted that did not end.
    """
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, json.dumps(data).encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read_json(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class _Job(GroupStop):
    """A training job the supervisor runs: its process, its records, and how it ends (wall-clock timers: the
    deadline is recorded for a later tuner)."""

    __slots__ = ("id", "proc", "state_dir", "attempt", "segment")

    def __init__(self, cmd: dict[str, Any], proc: subprocess.Popen[bytes]) -> None:
        super().__init__(proc.pid, float(cmd.get("grace_s") or 0.0), cmd.get("timeout_s"), clock=time.time)
        self.id: str = cmd["id"]
        self.proc = proc
        self.state_dir: str = cmd["state_dir"]
        self.attempt: int = int(cmd.get("attempt") or 0)
        self.segment: int = int(cmd.get("segment") or 0)


class Supervisor:
    """The supervisor's loop (see the module docstring). ``run`` returns when stdin closed and no job runs."""

    def __init__(self, stdin_fd: int = 0, stdout_fd: int = 1) -> None:
        self.stdin_fd = stdin_fd
        self.stdout_fd = stdout_fd
        self.tuner_pid = os.getppid()
        self.me = identity(os.getpid())
        self.jobs: dict[str, _Job] = {}
        self.by_pid: dict[int, _Job] = {}
        self.buffer = b""
        self.tuner_gone = False
        self.out_closed = False
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        os.set_blocking(self.wake_r, False)

    # ------------------------------------------------------------------------------------------ loop
    def run(self) -> None:
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        for sig in (signal.SIGINT, signal.SIGHUP):  # a terminal's Ctrl-C or hang-up is for the tuner
            signal.signal(sig, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, self._on_sigterm)
        while not (self.tuner_gone and not self.jobs):
            self._reap()
            self._timers()
            if self.tuner_gone and not self.jobs:
                break
            watch = [self.wake_r] + ([] if self.tuner_gone else [self.stdin_fd])
            try:
                ready, _, _ = select.select(watch, [], [], self._next_timer())
            except InterruptedError:
                continue
            if self.wake_r in ready:
                try:
                    while os.read(self.wake_r, 512):
                        pass
                except BlockingIOError:
                    pass
            if self.stdin_fd in ready:
                self._read_commands()

    def _on_sigterm(self, *_: Any) -> None:
        """SIGTERM to the supervisor itself: end every job (with its grace period), then exit."""
        self.tuner_gone = True
        for job in self.jobs.values():
            job.stop()

    def _next_timer(self) -> float | None:
        times = [t for t in (job.next_timer() for job in self.jobs.values()) if t is not None]
        if not times:
            return None
        return max(0.0, min(times) - time.time())

    def _timers(self) -> None:
        for job in list(self.jobs.values()):
            job.tick()

    # ------------------------------------------------------------------------------------------ commands
    def _read_commands(self) -> None:
        try:
            data = os.read(self.stdin_fd, 1 << 16)
        except OSError:
            data = b""
        if not data:
            self.tuner_gone = True
            return
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            if line.strip():
                self._command(json.loads(line))

    def _command(self, cmd: dict[str, Any]) -> None:
        op = cmd.get("op")
        if op == "launch":
            self._launch(cmd)
            return
        job = self.jobs.get(cmd.get("id", ""))
        if job is None:
            return
        if op == "stop":
            job.stop(now=bool(cmd.get("now")))

    def _launch(self, cmd: dict[str, Any]) -> None:
        if os.getppid() != self.tuner_pid:  # the tuner died after it sent this: start nothing for nobody
            self.tuner_gone = True
            return
        job_id = cmd["id"]
        try:  # the job's directory, laid out here so that the tuner spends no time on it
            if cmd.get("dirs"):
                make_contents(cmd["dirs"], cmd.get("files") or {})
            os.makedirs(cmd["state_dir"], exist_ok=True)
            keep = os.O_APPEND if cmd.get("segment") else os.O_TRUNC  # a resumed segment goes on in its log
            log_fd = os.open(cmd["log"], os.O_WRONLY | keep | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            self._emit({"ev": "start_failed", "id": job_id, "error": "dir", "errno": exc.errno,
                        "strerror": exc.strerror or str(exc), "path": exc.filename})
            return
        try:
            proc = subprocess.Popen(
                cmd["argv"], cwd=cmd.get("cwd"), env=cmd["env"], stdin=subprocess.DEVNULL, stdout=log_fd,
                stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
            )
        except OSError as exc:
            kind = ("not_found" if isinstance(exc, FileNotFoundError) else
                    "permission" if isinstance(exc, PermissionError) or exc.errno == errno.EACCES else "os")
            self._emit({"ev": "start_failed", "id": job_id, "error": kind, "errno": exc.errno,
                        "strerror": exc.strerror or str(exc)})
            return
        finally:
            os.close(log_fd)
        job = _Job(cmd, proc)
        self.jobs[job_id] = job
        self.by_pid[proc.pid] = job
        record = {
            **identity(proc.pid), "attempt": job.attempt, "segment": job.segment, "started_at": time.time(),
            "deadline": job.deadline,
            "grace_s": job.grace_s, "supervisor": self.me,
        }
        try:
            write_json(process_file(job.state_dir, job.attempt, job.segment), record)
        except OSError:
            pass  # the directory went away: the job still runs and its exit is still told
        self._emit({"ev": "started", "id": job_id, "pid": proc.pid})

    # ------------------------------------------------------------------------------------------ ends
    def _reap(self) -> None:
        while self.by_pid:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None:
                return
            job = self.by_pid.get(info.si_pid)
            # the leader has exited but is not reaped, so its id still names the group: end what it left behind
            signal_group(info.si_pid, signal.SIGKILL)
            _, status = os.waitpid(info.si_pid, 0)
            if job is None:
                continue
            rc = os.waitstatus_to_exitcode(status)
            job.proc.returncode = rc
            del self.by_pid[info.si_pid]
            del self.jobs[job.id]
            end = {"attempt": job.attempt, "segment": job.segment, "rc": rc, "ended_at": time.time(),
                   "stopped": job.stopped,
                   "timed_out": job.timed_out, "killed": job.killed, "boot_id": self.me.get("boot_id")}
            try:
                write_json(exit_file(job.state_dir, job.attempt, job.segment), end)
            except OSError:
                pass
            self._emit({"ev": "exited", "id": job.id, "rc": rc, "stopped": job.stopped,
                        "timed_out": job.timed_out, "killed": job.killed})

    def _emit(self, event: dict[str, Any]) -> None:
        if self.out_closed:
            return
        data = (json.dumps(event) + "\n").encode()
        try:
            while data:
                data = data[os.write(self.stdout_fd, data):]
        except OSError:  # the tuner is gone; the records in the state dirs are what counts
            self.out_closed = True


def main() -> None:
    """Entry point: ``python -m hyperjob.executors._supervisor`` (started by the local executor)."""
    Supervisor().run()


if __name__ == "__main__":
    main()
