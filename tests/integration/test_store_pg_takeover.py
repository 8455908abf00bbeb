"""Several tuners, one PostgreSQL: a tuner that stops renewing its lease (a hung machine: its process exists, so
nothing on this machine can tell it is gone) keeps its tuning job until the lease expires on the database's clock;
then another tuner's ``resume`` takes the tuning job over and finds its running training jobs again (none launched
twice); the first tuner, when it wakes, lets go without ending or recording anything. Two real tuner processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hyperjob.errors import LeaseError
from hyperjob.formats.spec import TuningJobSpec
from hyperjob.records import TrainingJobStatus, TuningJobStatus
from hyperjob.store import open_store
from hyperjob.tuner.loop import Tuner
from hyperjob.tuner.plan import TuningPlan

TTL_S = 3.0

TRAIN = """
import argparse, os, time
from hyperjob import report
p = argparse.ArgumentParser()
p.add_argument("--x", type=float); p.add_argument("--starts")
args = p.parse_args()
open(os.path.join(args.starts, os.environ["HYPERJOB_TRAINING_JOB_NAME"] + "." + str(os.getpid())), "a").close()
for step in range(30):
    report(step=step, loss=args.x + 1.0 / (step + 1))
    time.sleep(0.1)
"""


def _hj(*args: str) -> subprocess.Popen:
    env = {**os.environ, "HYPERJOB_LEASE_TTL_S": str(TTL_S)}
    return subprocess.Popen([sys.executable, "-m", "hyperjob.cli.app", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)


def _wait(what: str, check, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while not (got := check()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s} s"
        time.sleep(0.05)
    return got


def test_a_hung_tuners_job_is_taken_over_after_its_lease_expires(pg_url: str, tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(textwrap.dedent(TRAIN))
    starts = tmp_path / "starts"
    starts.mkdir()
    (tmp_path / "job.json").write_text(json.dumps({
        "name": "shared", "program": {"command": ["python", str(tmp_path / "train.py")]},
        "static_hyperparameters": {"starts": str(starts)},
        "hyperparameter_ranges": {"x": {"min_value": 0, "max_value": 1}},
        "objective": {"metric": "loss", "type": "minimize"}, "strategy": {"name": "random"}, "random_seed": 0,
        "limits": {"max_jobs": 3, "max_parallel_jobs": 2}, "output_dir": str(tmp_path / "runs"),
    }))
    first = _hj("tune", str(tmp_path / "job.json"), "--store", pg_url, "--quiet")
    try:
        _wait("the first tuner runs two training jobs", lambda: len(list(starts.iterdir())) >= 2 or first.poll())
        assert first.poll() is None, first.communicate()[0]
        first.send_signal(signal.SIGSTOP)  # hung: it renews its lease no more
        hung_at = time.monotonic()
        store = open_store(pg_url)
        try:  # a resume now is refused: the lease holds until it expires (the database's clock says when)
            spec = TuningJobSpec.from_json(store.get_tuning_job("shared").spec)
            with pytest.raises(LeaseError, match=r"is being run by another tuner .* holds its lease until"):
                Tuner(TuningPlan.from_spec(spec), store).run(resume=True)
            assert time.monotonic() - hung_at < TTL_S, "the refusal came too late to prove the lease held"
            assert len(list(starts.iterdir())) == 2  # the refused tuner launched nothing
            _wait("the lease expires", lambda: store.lease_holder("shared") is None, TTL_S + 10)
        finally:
            store.close()
        second = _hj("resume", "shared", "--store", pg_url, "--quiet")
        store = open_store(pg_url)
        try:
            _wait("the second tuner holds the lease", lambda: store.lease_holder("shared") is not None, 30)
            first.send_signal(signal.SIGCONT)  # it wakes up: it must let go, not stop the jobs it started
            first_out = first.communicate(timeout=30)[0]
            second_out = second.communicate(timeout=60)[0]
            tuning = store.get_tuning_job("shared")
            jobs = store.list_training_jobs("shared")
        finally:
            store.close()
    finally:
        for proc in (first,):
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
                proc.communicate()
    assert first.returncode == 1 and "let go of its running training jobs without ending them" in first_out, first_out
    assert second.returncode == 0, second_out
    assert tuning.status is TuningJobStatus.COMPLETED, tuning.status_reason
    assert [r.status for r in jobs] == [TrainingJobStatus.COMPLETED] * 3
    assert all(r.attempt == 0 for r in jobs)
    started = sorted(f.name.split(".")[0] for f in starts.iterdir())
    assert started == sorted(r.id for r in jobs)  # every training job started once: no double launch
