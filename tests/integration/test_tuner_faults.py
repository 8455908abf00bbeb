"""Fault test: SIGKILL the tuner process at random moments (seeded), resume each time, and check that nothing
was lost or duplicated: exactly max_jobs training jobs finished, each metric value kept once."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from hyperjob.records import TrainingJobStatus, TuningJobStatus
from hyperjob.store import open_store

PROGRAM = str(Path(__file__).parents[1] / "fixtures" / "programs" / "steps.py")
MAX_JOBS = 60
STEPS = 4
KILLS = 10


def _spec(tmp_path: Path) -> Path:
    spec = {
        "name": "fault",
        "program": {"command": [sys.executable, PROGRAM]},
        "static_hyperparameters": {"steps": STEPS, "sleep": 0.08},
        "hyperparameter_ranges": {
            "x": {"type": "continuous", "min_value": 0.0, "max_value": 1.0},
            "y": {"type": "integer", "min_value": 0, "max_value": 4},
        },
        "objective": {"metric": "loss", "type": "minimize"},
        "metric_definitions": [{"name": "loss", "regex": r"loss=([0-9.eE+-]+)"}],
        "strategy": {"name": "random"},
        "limits": {"max_jobs": MAX_JOBS, "max_parallel_jobs": 4},
        "random_seed": 0,
        "output_dir": str(tmp_path / "runs"),
        "store": str(tmp_path / "store.db"),
    }
    path = tmp_path / "job.json"
    path.write_text(json.dumps(spec))
    return path


def _leftover_processes() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                env = (entry / "environ").read_bytes()
            except OSError:
                continue
            if b"HYPERJOB_TRAINING_JOB_NAME=fault-" in env:
                try:
                    state = (entry / "stat").read_text().split(")")[-1].split()[0]
                except OSError:
                    continue
                if state != "Z":
                    pids.append(int(entry.name))
    return pids


def _tuning_job_exists(store_path: str) -> bool:
    if not os.path.exists(store_path):
        return False
    store = open_store(store_path)
    try:
        return any(t.name == "fault" for t in store.list_tuning_jobs())
    finally:
        store.close()


def test_sigkill_at_random_moments_loses_nothing(tmp_path):
    spec = _spec(tmp_path)
    store_path = str(tmp_path / "store.db")
    rng = random.Random(20261123)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    base = [sys.executable, "-m", "hyperjob"]
    kills = 0
    runs = 0
    finished = False
    while not finished:
        if not _tuning_job_exists(store_path):  # killed before it was even recorded: start it again
            cmd = base + ["tune", str(spec), "-q"]
        else:
            cmd = base + ["resume", "fault", "--store", store_path, "-q"]
        runs += 1
        proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if kills < KILLS:
            try:
                out, _ = proc.communicate(timeout=rng.uniform(0.5, 3.0))
                assert proc.returncode == 0, out.decode(errors="replace")
                finished = True
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.communicate()
                kills += 1
        else:
            out, _ = proc.communicate(timeout=300)
            assert proc.returncode == 0, out.decode(errors="replace")
            finished = True
        assert runs < 60, "the tuning job never finished"
    assert kills >= KILLS, f"the tuning job finished after only {kills} kills; make it longer"

    store = open_store(store_path)
    try:
        tuning = store.get_tuning_job("fault")
        assert tuning.status is TuningJobStatus.COMPLETED, tuning.status_reason
        records = store.list_training_jobs("fault")
        assert len(records) == MAX_JOBS
        assert sorted(r.index for r in records) == list(range(MAX_JOBS))
        assert len({r.id for r in records}) == MAX_JOBS
        assert all(r.status is TrainingJobStatus.COMPLETED for r in records)
        all_metrics = store.get_all_metrics("fault")
        for r in records:
            values = all_metrics.get(r.id, [])
            assert [(m.name, m.step) for m in values] == [("loss", s) for s in range(STEPS)], r.id
            assert r.final_objective == values[-1].value
    finally:
        store.close()
    deadline = time.time() + 5
    while _leftover_processes() and time.time() < deadline:
        time.sleep(0.1)
    assert _leftover_processes() == []
