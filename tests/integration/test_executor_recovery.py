"""The local executor owns its training jobs: after the process that launched them died (SIGKILL), a new
executor finds them again (``recover``): adopted when they ended meanwhile, reattached when they still run,
lost (ended, to run again) when their supervisor died too. Real processes, a real dead "tuner"."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from hyperjob._process import is_same_alive
from hyperjob.executors.base import Ended, LaunchRequest, MetricDefinition, MetricsReported, Program, Recovery
from hyperjob.executors.local import LocalExecutor, STATE_DIR
from hyperjob.executors._supervisor import process_file
from hyperjob.records import TrainingJobStatus

PY = sys.executable
LOSS = [MetricDefinition("loss", r"loss=([0-9.]+)")]


def _program(tmp_path: Path, steps: int, sleep_s: float) -> tuple[str, ...]:
    script = tmp_path / f"prog-{steps}.py"
    script.write_text(textwrap.dedent(f"""
        import time
        for step in range({steps}):
            print(f"step {{step}}: loss={{1.0 / (step + 1):.4f}}", flush=True)
            time.sleep({sleep_s})
    """))
    return (PY, str(script))


def _request(tmp_path: Path, job_id: str, command: tuple[str, ...], **kw) -> LaunchRequest:
    return LaunchRequest(training_job_id=job_id, hyperparameters={}, job_dir=tmp_path / job_id,
                         program=Program(command=command), metric_definitions=LOSS, **kw)


def _launch_and_die(tmp_path: Path, requests: list[LaunchRequest]) -> None:
    """A throwaway "tuner": launches the jobs, waits until they started, then SIGKILLs itself."""
    spec = [
        {"id": r.training_job_id, "command": list(r.program.command), "job_dir": str(r.job_dir),
         "timeout_s": r.timeout_s, "grace_period_s": r.grace_period_s}
        for r in requests
    ]
    code = textwrap.dedent(f"""
        import json, os, signal, time
        from pathlib import Path
        from hyperjob.executors.base import LaunchRequest, MetricDefinition, Program, Started
        from hyperjob.executors.local import LocalExecutor
        ex = LocalExecutor()
        jobs = json.loads({json.dumps(json.dumps(spec))})
        for j in jobs:
            ex.launch(LaunchRequest(training_job_id=j["id"], hyperparameters={{}}, job_dir=Path(j["job_dir"]),
                program=Program(command=tuple(j["command"])), timeout_s=j["timeout_s"],
                grace_period_s=j["grace_period_s"], metric_definitions=[MetricDefinition("loss", r"loss=([0-9.]+)")]))
        started = set()
        while len(started) < len(jobs):
            started |= {{e.training_job_id for e in ex.wait(0.5) if isinstance(e, Started)}}
        os.killpg(os.getpgid(0), signal.SIGKILL)
    """)
    proc = subprocess.run([PY, "-c", code], cwd=tmp_path, start_new_session=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL


def _drain(ex: LocalExecutor, job_ids: set[str], timeout_s: float = 30) -> list:
    events: list = []
    deadline = time.time() + timeout_s
    while time.time() < deadline and not job_ids <= {e.training_job_id for e in events if isinstance(e, Ended)}:
        events += ex.wait(0.2)
    return events


def _values(events: list, job_id: str) -> list[float]:
    return [v.value for e in events if isinstance(e, MetricsReported) and e.training_job_id == job_id
            for v in e.values]


def _ended(events: list, job_id: str) -> Ended:
    return next(e for e in events if isinstance(e, Ended) and e.training_job_id == job_id)


def _record(req: LaunchRequest) -> dict:
    return json.loads(Path(process_file(str(req.job_dir / STATE_DIR), req.attempt)).read_text())


def test_a_job_that_finished_while_no_tuner_ran_is_adopted_with_its_values(tmp_path):
    req = _request(tmp_path, "done", _program(tmp_path, 3, 0.05))
    _launch_and_die(tmp_path, [req])
    time.sleep(1.0)  # it finishes unwatched; its supervisor records the end
    assert not is_same_alive(_record(req))
    ex = LocalExecutor()
    try:
        assert ex.recover([req]) == {"done": Recovery.ADOPTED}
        events = _drain(ex, {"done"})
        assert _values(events, "done") == [1.0, 0.5, 0.3333]
        assert _ended(events, "done").status is TrainingJobStatus.COMPLETED
        assert (tmp_path / "done" / "train.log").read_text().count("loss=") == 3  # run once, not again
    finally:
        ex.shutdown()


def test_a_running_job_is_reattached_and_can_be_stopped(tmp_path):
    going = _request(tmp_path, "going", _program(tmp_path, 200, 0.05), grace_period_s=2.0)
    _launch_and_die(tmp_path, [going])
    ex = LocalExecutor()
    try:
        assert ex.recover([going]) == {"going": Recovery.REATTACHED}
        events: list = []
        while len(_values(events, "going")) < 3:
            events += ex.wait(0.2)
        ex.stop("going")
        events += _drain(ex, {"going"})
        assert _ended(events, "going").status is TrainingJobStatus.STOPPED
        assert not is_same_alive(_record(going))
    finally:
        ex.shutdown()


def test_the_timeout_holds_while_no_tuner_runs(tmp_path):
    slow = _request(tmp_path, "slow", (PY, "-c", "import time; time.sleep(60)"), timeout_s=0.5, grace_period_s=0.2)
    _launch_and_die(tmp_path, [slow])
    deadline = time.time() + 10
    while is_same_alive(_record(slow)) and time.time() < deadline:
        time.sleep(0.05)
    assert not is_same_alive(_record(slow)), "the timeout was not enforced without a tuner"
    ex = LocalExecutor()
    try:
        assert ex.recover([slow]) == {"slow": Recovery.ADOPTED}
        ended = _ended(_drain(ex, {"slow"}), "slow")
        assert ended.status is TrainingJobStatus.FAILED and "timed out after 0.5 s" in (ended.reason or "")
    finally:
        ex.shutdown()


def test_a_job_whose_supervisor_died_too_is_ended_and_lost(tmp_path):
    going = _request(tmp_path, "orphan", _program(tmp_path, 400, 0.05), grace_period_s=0.5)
    never = _request(tmp_path, "never", _program(tmp_path, 1, 0.0))
    _launch_and_die(tmp_path, [going])
    record = _record(going)
    os.kill(record["supervisor"]["pid"], signal.SIGKILL)  # nobody can learn how it ends now
    deadline = time.time() + 10
    while is_same_alive(record["supervisor"]) and time.time() < deadline:
        time.sleep(0.02)
    assert is_same_alive(record), "the training job must outlive its supervisor for this test"
    ex = LocalExecutor()
    try:
        assert ex.recover([going, never]) == {"orphan": Recovery.LOST, "never": Recovery.LOST}
        assert not is_same_alive(record)  # ended before recover returned
        assert ex.poll() == []
    finally:
        ex.shutdown()
