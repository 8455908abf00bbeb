"""Fault test: SIGKILL the tuner's whole process group at seeded random moments (the first second included),
resume each time, and check against the training program's own ledger that nothing was lost or run twice.

The training jobs run in sessions of their own under the local executor's supervisor, so they outlive a killed
tuner: a resumed tuner adopts those that finished meanwhile and reattaches those still running. The ledger
(what really started and finished) must then show exactly ``max_jobs`` starts and finishes: no finished job
run again, none killed mid-run, every metric value in the store once, nothing left running at the end.
"""

from __future__ import annotations

import collections
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hyperjob.records import TrainingJobStatus, TuningJobStatus
from hyperjob.store import open_store

PROGRAM = str(Path(__file__).parents[1] / "fixtures" / "programs" / "ledger.py")
MAX_JOBS = 30
STEPS = 5
KILLS = 20

#: strategy -> (the longest wait before a kill, s; seed of the kill moments; seconds per step of a training job).
#: The Bayesian tuner loads torch and BoTorch for about 4 s before it suggests anything, so its kills spread
#: over a longer window, and its training jobs are longer so that 20 kills fit in the tuning job.
CASES = {"random": (1.5, 20261207, 0.6), "bayesian": (5.0, 20261208, 1.2)}


def _spec(tmp_path: Path, strategy: str, sleep_s: float) -> Path:
    spec = {
        "name": "fault",
        "program": {"command": [sys.executable, PROGRAM]},
        "static_hyperparameters": {"steps": STEPS, "sleep": sleep_s, "ledger": str(tmp_path / "ledger.txt")},
        "hyperparameter_ranges": {
            "x": {"type": "continuous", "min_value": 0.0, "max_value": 1.0},
            "y": {"type": "integer", "min_value": 0, "max_value": 4},
        },
        "objective": {"metric": "loss", "type": "minimize"},
        "metric_definitions": [{"name": "loss", "regex": r"loss=([0-9.eE+-]+)"}],
        "strategy": {"name": strategy},
        "limits": {"max_jobs": MAX_JOBS, "max_parallel_jobs": 3},
        "random_seed": 0,
        "output_dir": str(tmp_path / "runs"),
        "store": str(tmp_path / "store.db"),
    }
    path = tmp_path / "job.json"
    path.write_text(json.dumps(spec))
    return path


def _left_running(tmp_path: Path) -> list[str]:
    """Processes (not zombies) working in the test's folder: training jobs, supervisors, tuners."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "cwd") != str(tmp_path):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if state not in ("Z", "X"):
            found.append(f"{entry.name}: {cmdline}")
    return found


def _tuning_job_status(store_path: str) -> TuningJobStatus | None:
    if not os.path.exists(store_path):
        return None
    store = open_store(store_path)
    try:
        return next((t.status for t in store.list_tuning_jobs() if t.name == "fault"), None)
    finally:
        store.close()


@pytest.mark.parametrize("strategy", sorted(CASES))
def test_sigkill_of_the_tuner_group_at_random_moments_runs_each_training_job_once(tmp_path, strategy):
    longest, seed, sleep_s = CASES[strategy]
    spec = _spec(tmp_path, strategy, sleep_s)
    store_path = str(tmp_path / "store.db")
    rng = random.Random(seed)
    moments = [rng.uniform(0.05, 1.0) if i % 4 == 0 else rng.uniform(0.05, longest) for i in range(KILLS)]
    assert any(m < 1.0 for m in moments)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    base = [sys.executable, "-m", "hyperjob"]
    kills = runs = 0
    while True:
        status = _tuning_job_status(store_path)
        if status is TuningJobStatus.COMPLETED:  # killed after it completed, on its way out
            break
        if status is None:  # killed before it was even recorded: start it again
            cmd = base + ["tune", str(spec), "-q"]
        else:
            cmd = base + ["resume", "fault", "--store", store_path, "-q"]
        runs += 1
        proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        if kills < KILLS:
            try:
                out, _ = proc.communicate(timeout=moments[kills])
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the tuner's whole process group
                proc.communicate()
                kills += 1
                continue
        else:
            out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out.decode(errors="replace")
        break
    assert kills >= KILLS - 1, f"the tuning job finished after only {kills} kills; make its training jobs longer"

    store = open_store(store_path)
    try:
        tuning = store.get_tuning_job("fault")
        assert tuning.status is TuningJobStatus.COMPLETED, tuning.status_reason
        records = store.list_training_jobs("fault")
        assert sorted(r.index for r in records) == list(range(MAX_JOBS))
        assert all(r.status is TrainingJobStatus.COMPLETED for r in records), [
            (r.id, r.status.value, r.failure_reason) for r in records if r.status is not TrainingJobStatus.COMPLETED]
        all_metrics = store.get_all_metrics("fault")
        for r in records:
            values = all_metrics.get(r.id, [])
            assert [(m.name, m.step) for m in values] == [("loss", s) for s in range(STEPS)], r.id
            assert r.final_objective == values[-1].value
    finally:
        store.close()

    ledger = [line.split() for line in (tmp_path / "ledger.txt").read_text().splitlines()]
    starts = collections.Counter(name for what, name, _ in ledger if what == "start")
    finishes = collections.Counter(name for what, name, _ in ledger if what == "finish")
    names = {r.id for r in records}
    assert set(finishes) == names and all(n == 1 for n in finishes.values()), (
        f"finished more than once: {[n for n, c in finishes.items() if c > 1]}")
    killed_mid_run = sum(starts.values()) - sum(finishes.values())
    assert killed_mid_run == 0, f"{killed_mid_run} training jobs were killed mid-run and run again: {starts}"
    assert sum(starts.values()) == sum(finishes.values()) == MAX_JOBS

    deadline = time.time() + 10
    while _left_running(tmp_path) and time.time() < deadline:
        time.sleep(0.1)
    assert _left_running(tmp_path) == []
