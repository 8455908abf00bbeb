"""A process writing to the SQLite store is SIGKILLed mid-way: what it committed is there, nothing is corrupt.

WAL with ``synchronous=NORMAL`` makes a commit durable against a crash of the process (not of the machine),
which is the failure these tests reproduce.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hyperjob.errors import LeaseError
from hyperjob.records import MetricValue, TrainingJobStatus
from hyperjob.store.sql import SqlStore

METRICS_PER_JOB = 5
LEASE_TTL_S = 2.0

# Writes in a loop as a tuner does: take the tuning job's lease (waiting for the killed writer's lease to
# expire), then renew it, add a training job, mark it started, record metrics, finish it; after each store
# call returns, prints what is committed. Runs until killed.
WRITER = textwrap.dedent(
    f"""
    import os, sys, time
    from hyperjob.errors import LeaseError
    from hyperjob.records import MetricValue, TrainingJobStatus
    from hyperjob.store.sql import SqlStore

    LEASE_TTL_S = {LEASE_TTL_S}
    store = SqlStore(sys.argv[1])
    owner = f"writer:{{os.getpid()}}"
    while True:  # the killed writer before this one still holds the lease until it expires
        try:
            store.acquire_lease("crash", owner, LEASE_TTL_S)
            break
        except LeaseError:
            time.sleep(0.05)
    print("lease", os.getpid(), flush=True)
    while True:
        store.renew_lease("crash", owner, LEASE_TTL_S)
        job = store.add_training_job("crash", {{"pid": os.getpid()}})
        print("added", job.index, flush=True)
        store.set_status(job.id, TrainingJobStatus.IN_PROGRESS, pid=os.getpid())
        for step in range({METRICS_PER_JOB}):
            store.append_metrics(job.id, [MetricValue("loss", 1.0 / (step + 1), step, 1.0 + step)])
            print("metric", job.index, step, flush=True)
        store.set_status(job.id, TrainingJobStatus.COMPLETED, final_objective=0.2)
        print("completed", job.index, flush=True)
    """
)


def _run_and_kill(url: str, min_lines: int, rng: random.Random) -> list[list[str]]:
    """Start the writer, let it commit at least ``min_lines`` things, SIGKILL it; return what it printed."""
    proc = subprocess.Popen([sys.executable, "-c", WRITER, url], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    lines: list[list[str]] = []
    deadline = time.monotonic() + 120
    while len(lines) < min_lines and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.split())
    time.sleep(rng.uniform(0.0, 0.02))  # land the kill at a random point of the loop
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    lines.extend(line.split() for line in proc.stdout.read().splitlines())  # printed before the kill
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert len(lines) >= min_lines, f"the writer printed only {lines}"
    return lines


def test_sigkilled_writer_loses_nothing_it_committed(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    url = f"sqlite:///{db}"
    with SqlStore(url) as store:
        store.create_tuning_job("crash", {"name": "crash"})
    rng = random.Random(7)
    committed: dict[int, dict[str, object]] = {}  # index -> what the writer said was committed
    for _round in range(3):  # the database must reopen and take new writes after each crash
        lines = _run_and_kill(url, rng.randint(15, 40), rng)
        assert lines[0][0] == "lease"
        with SqlStore(url) as store:  # the killed writer's lease survives it: a second tuner is refused
            with pytest.raises(LeaseError, match=rf"\(writer:{lines[0][1]}\).*`hyperjob stop crash`, or wait"):
                store.acquire_lease("crash", "second-tuner:1", 60)
        for kind, index, *rest in lines[1:]:
            entry = committed.setdefault(int(index), {"metrics": 0, "completed": False})
            if kind == "metric":
                entry["metrics"] = int(rest[0]) + 1
            elif kind == "completed":
                entry["completed"] = True

        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        conn.close()

        with SqlStore(url) as store:
            records = store.list_training_jobs("crash")
            assert [r.index for r in records] == list(range(len(records)))
            by_index = {r.index: r for r in records}
            all_metrics = store.get_all_metrics("crash")
            for index, entry in committed.items():
                record = by_index[index]
                values = all_metrics[record.id]
                # everything acknowledged is there (more may be: the kill can land after a commit and
                # before its print)
                n = int(entry["metrics"])  # type: ignore[call-overload]
                assert len(values) >= n
                assert values[:n] == [MetricValue("loss", 1.0 / (s + 1), s, 1.0 + s) for s in range(n)]
                if entry["completed"]:
                    assert record.status is TrainingJobStatus.COMPLETED and record.final_objective == 0.2
            # at most one training job beyond the last acknowledged one (added, killed before the print)
            assert len(records) - 1 <= max(committed) + 1
            # what a resume does: rerun the interrupted ones; the store accepts it without duplicates
            for record in records:
                if not record.status.terminal:
                    fresh = store.reset_for_rerun(record.id)
                    assert store.get_metrics(fresh.id) == []
                    store.set_status(fresh.id, TrainingJobStatus.FAILED, "interrupted by the crash test")
                    committed.setdefault(record.index, {"metrics": 0, "completed": False})["metrics"] = 0
    assert len(committed) >= 6  # 3 rounds of >= 15 lines, <= 7 lines per training job
