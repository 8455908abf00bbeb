"""hyperjob._process.GroupStop: the one rule of how a training job's process group ends (the supervisor's and
the Ray runner's), on real process groups."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from hyperjob._process import GroupStop

IGNORES_TERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(30)"


def _group(code: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-S", "-c", code], start_new_session=True, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "up\n"  # its handler is in place
    return proc


def _run(end: GroupStop, proc: subprocess.Popen[str], limit_s: float = 10.0) -> int:
    deadline = time.monotonic() + limit_s
    while proc.poll() is None:
        assert time.monotonic() < deadline, "the group did not end"
        end.tick()
        time.sleep(0.01)
    return proc.returncode


def test_a_stop_sends_sigterm_then_sigkill_after_the_grace_period() -> None:
    proc = _group(IGNORES_TERM)
    end = GroupStop(proc.pid, grace_s=0.3)
    t0 = time.monotonic()
    end.stop()
    assert end.stopped and not end.killed and end.next_timer() is not None
    assert _run(end, proc) == -signal.SIGKILL and time.monotonic() - t0 >= 0.3
    assert end.killed and not end.timed_out


def test_a_stop_now_kills_at_once_also_while_stopping() -> None:
    proc = _group(IGNORES_TERM)
    end = GroupStop(proc.pid, grace_s=30)
    end.stop()
    end.stop(now=True)
    assert _run(end, proc, limit_s=5) == -signal.SIGKILL and end.stopped and end.killed


def test_the_timeout_ends_the_group_as_timed_out_not_stopped() -> None:
    proc = _group("import time; print('up', flush=True); time.sleep(30)")
    end = GroupStop(proc.pid, grace_s=5, timeout_s=0.2)
    assert _run(end, proc) == -signal.SIGTERM  # it took SIGTERM: no SIGKILL needed
    assert end.timed_out and not end.stopped and not end.killed
    end.stop()  # a stop after the timeout changes nothing
    assert not end.stopped
