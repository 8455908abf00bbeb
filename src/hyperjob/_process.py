"""Local processes, identified for sure: a pid plus its start time, so a reused pid is never mistaken for ours.

Linux's ``/proc/<pid>/stat`` gives the start time in clock ticks since boot; with the boot id it names one
process for the lifetime of the machine. Used by the local executor's supervisor (which records what it
starts), by the local executor (which finds those processes again after a tuner died) and by the store's lease
(whose holder is a tuner process). Standard library only: the supervisor imports it.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from typing import Any, Callable, Mapping

_BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id"


def boot_id() -> str:
    """This boot of the machine ('' where /proc does not tell)."""
    try:
        with open(_BOOT_ID_PATH, encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return ""


def start_ticks(pid: int) -> int | None:
    """The process's start time (clock ticks since boot), or ``None`` if it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[-1].split()
    except OSError:
        return None
    if not fields or fields[0] in (b"Z", b"X"):  # a zombie has ended: only its exit status is left
        return None
    try:
        return int(fields[19])  # field 22 of stat; the text after ')' starts at field 3
    except (IndexError, ValueError):
        return None


def identity(pid: int) -> dict[str, Any]:
    """What names ``pid`` for sure: ``{"pid", "start_ticks", "boot_id"}`` (start_ticks None if gone)."""
    return {"pid": pid, "start_ticks": start_ticks(pid), "boot_id": boot_id()}


def is_same_alive(ident: Mapping[str, Any] | None) -> bool:
    """True while the process that ``ident`` (from :func:`identity`) names is running (not a zombie)."""
    if not ident or not isinstance(ident.get("pid"), int) or ident.get("start_ticks") is None:
        return False
    if ident.get("boot_id") and ident.get("boot_id") != boot_id():
        return False  # recorded before a reboot
    return start_ticks(int(ident["pid"])) == ident["start_ticks"]


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to a process group; False if it is gone (or not ours to signal)."""
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def end_group(ident: Mapping[str, Any], grace_s: float, *, poll_s: float = 0.02) -> None:
    """End the process group led by the process ``ident`` names: SIGTERM, then SIGKILL after ``grace_s``.

    Only if that very process is still running (a reused pid is left alone); returns once it is gone (at most
    ``grace_s`` plus a few seconds).
    """
    if not is_same_alive(ident):
        return
    pgid = int(ident["pid"])
    signal_group(pgid, signal.SIGTERM if grace_s > 0 else signal.SIGKILL)
    deadline = time.monotonic() + max(0.0, grace_s)
    killed = grace_s <= 0
    give_up = deadline + 5.0
    while is_same_alive(ident) and time.monotonic() < give_up:
        if not killed and time.monotonic() >= deadline:
            signal_group(pgid, signal.SIGKILL)
            killed = True
        time.sleep(poll_s)
    signal_group(pgid, signal.SIGKILL)  # members the leader left behind


class GroupStop:
    """How one running process group ends: its timeout, a stop (SIGTERM, then SIGKILL after the grace period) or a
    stop now (SIGKILL). The one owner of that rule for the local executor's supervisor and the Ray runner.

    Its owner calls :meth:`tick` when :meth:`next_timer` is due (and after any wake-up) and reads ``stopped``,
    ``timed_out`` and ``killed`` when the group's leader has exited. Not thread-safe: its owner holds its lock.

    Args:
        pgid: the group (the pid of its leader, started in a session of its own).
        grace_s: seconds between SIGTERM and SIGKILL (0: SIGKILL at once).
        timeout_s: the group is ended this long after now, as timed out (None: no timeout).
        clock: the clock of ``deadline`` and ``kill_at`` (``time.time`` where they are recorded in files).
    """

    __slots__ = ("pgid", "grace_s", "deadline", "kill_at", "stopped", "timed_out", "killed", "_clock")

    def __init__(self, pgid: int, grace_s: float, timeout_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.pgid = pgid
        self.grace_s = max(0.0, float(grace_s or 0.0))
        self._clock = clock
        self.deadline: float | None = clock() + float(timeout_s) if timeout_s is not None else None
        self.kill_at: float | None = None
        self.stopped = self.timed_out = self.killed = False

    def stop(self, now: bool = False) -> None:
        """A stop: SIGTERM now and SIGKILL after the grace period; ``now``: SIGKILL at once, also to a group
        already stopping or timing out."""
        if now and not self.killed:
            self.stopped = self.stopped or not self.timed_out
            self.killed = True
            self.kill_at = None
            signal_group(self.pgid, signal.SIGKILL)
            return
        if self.stopped or self.timed_out:
            return
        self.stopped = True
        self._terminate()

    def tick(self) -> None:
        """Act on the timers that are due: the timeout (ends the group as timed out), the SIGKILL after a stop."""
        now = self._clock()
        if self.deadline is not None and now >= self.deadline and not (self.stopped or self.timed_out):
            self.timed_out = True
            self.deadline = None
            self._terminate()
        if self.kill_at is not None and now >= self.kill_at:
            self.kill_at = None
            self.killed = True
            signal_group(self.pgid, signal.SIGKILL)

    def next_timer(self) -> float | None:
        """When :meth:`tick` has something to do next (on ``clock``), or None."""
        times = [t for t in (self.deadline, self.kill_at) if t is not None]
        return min(times) if times else None

    def _terminate(self) -> None:
        if self.grace_s <= 0:
            self.killed = True
            signal_group(self.pgid, signal.SIGKILL)
        else:
            signal_group(self.pgid, signal.SIGTERM)
            self.kill_at = self._clock() + self.grace_s


def owner_token(token: str) -> str:
    """A lease owner's name for this process: ``host:pid:start_ticks:token``."""
    return f"{socket.gethostname()}:{os.getpid()}:{start_ticks(os.getpid()) or 0}:{token}"


def holder_is_dead(owner: str) -> bool:
    """True if a lease owner (as :func:`owner_token` writes it) is a process of this machine that is gone.

    A holder on another machine, or in an unknown format, is never judged dead (its lease expires instead).
    Owners written as ``host:pid:token`` (before the start time was part of them) are judged by pid alone.
    """
    parts = owner.split(":")
    if len(parts) < 2 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    ticks = start_ticks(pid)
    if ticks is None:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return os.path.isdir("/proc")  # exists but no stat: a zombie where /proc exists
    if len(parts) >= 4 and parts[2].isdigit() and int(parts[2]) not in (0, ticks):
        return True  # the pid now belongs to another process
    return False
