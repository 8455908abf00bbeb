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
from typing import Any, Mapping

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
