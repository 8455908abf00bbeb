"""Throughput of the local executor for no-op training jobs (one metric line, then exit).

The test checks correctness at a small scale (every job completes with its metric, in order); the number is
printed, never asserted (the machine is shared). For the full measurement, run this file:

    .venv/bin/python tests/integration/test_executor_throughput.py [jobs] [parallel] [directory]

(the job directories go into a temporary folder under ``directory``, default the system's temp folder).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from hyperjob.executors.base import Ended, LaunchRequest, MetricDefinition, MetricsReported, Program, Started
from hyperjob.executors.local import LocalExecutor
from hyperjob.records import TrainingJobStatus

NOOP = "import sys; print('loss: ' + sys.argv[-1])"


def run_noop_jobs(root: Path, n_jobs: int, parallel: int) -> tuple[float, dict[str, list]]:
    """Run ``n_jobs`` no-op jobs, ``parallel`` at a time, the way the Tuner drives an executor.

    Returns (jobs per second, events per job).
    """
    ex = LocalExecutor()
    program = Program(command=(sys.executable, "-c", NOOP))
    metric = (MetricDefinition("loss", r"loss: ([-+0-9.e]+)"),)
    per_job: dict[str, list] = {}
    launched = done = 0
    running = 0
    sleep_s = 0.001
    t0 = time.perf_counter()
    while done < n_jobs:
        while running < parallel and launched < n_jobs:
            job_id = f"tj-{launched:04d}"
            ex.launch(LaunchRequest(job_id, {"x": launched}, root / job_id, program, metric, grace_period_s=1))
            per_job[job_id] = []
            launched += 1
            running += 1
        events = ex.poll()
        for e in events:
            per_job[e.training_job_id].append(e)
            if isinstance(e, Ended):
                done += 1
                running -= 1
        if events:
            sleep_s = 0.001
        else:
            time.sleep(sleep_s)
            sleep_s = min(0.05, sleep_s * 2)
    elapsed = time.perf_counter() - t0
    ex.shutdown()
    return n_jobs / elapsed, per_job


def test_noop_jobs_all_complete_with_their_metric(tmp_path: Path) -> None:
    rate, per_job = run_noop_jobs(tmp_path, n_jobs=40, parallel=8)
    print(f"\nlocal executor: {rate:.1f} no-op training jobs/s (40 jobs, 8 in parallel)")
    for i, (job_id, events) in enumerate(sorted(per_job.items())):
        kinds = [type(e) for e in events]
        assert kinds == [Started, MetricsReported, Ended], (job_id, events)
        assert events[-1].status is TrainingJobStatus.COMPLETED
        assert [(v.name, v.value, v.step) for v in events[1].values] == [("loss", float(i), 0)]


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    p = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    base = sys.argv[3] if len(sys.argv) > 3 else None
    if base:
        os.makedirs(base, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base) as d:
        t0, c0 = os.times(), time.process_time()
        rate, jobs = run_noop_jobs(Path(d), n, p)
        t1, c1 = os.times(), time.process_time()
    children = (t1.children_user + t1.children_system) - (t0.children_user + t0.children_system)
    ok = sum(1 for evs in jobs.values() if evs and evs[-1].status is TrainingJobStatus.COMPLETED)
    print(
        f"{n} no-op training jobs, {p} in parallel: {rate:.1f} jobs/s ({ok} completed); CPU per job: "
        f"executor {1000 * (c1 - c0) / n:.1f} ms, training process {1000 * children / n:.1f} ms"
    )
