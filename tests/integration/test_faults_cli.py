"""What happens when... (docs/faults.md): bad metric values, Ctrl-C once and twice, a tuner killed with SIGKILL,
a closed pipe. Real `hyperjob` subprocesses, real training processes through the local executor, a real SQLite
store, and the training programs' own ledgers as the truth of what ran."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hyperjob
from hyperjob.records import TrainingJobStatus
from hyperjob.store import open_store
from _cli import hj

PROGRAMS = Path(__file__).parents[1] / "fixtures" / "programs"
BAD_METRIC = str(PROGRAMS / "bad_metric.py")
HELD_LEDGER = str(PROGRAMS / "held_ledger.py")
UNFINISHED = {"InProgress", "Pending", "Stopping"}


def strict_json(text: str):
    """json.loads that refuses NaN, Infinity and -Infinity (which Python's parser accepts by default)."""
    def refuse(name: str):
        raise ValueError(f"not strict JSON: {name}")
    return json.loads(text, parse_constant=refuse)


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
    except OSError:
        return False


# ------------------------------------------------------------------------------------------------- bad metrics
BAD_VALUES = ["0.9,0.5", "0.9,-inf", "0.9,inf", "0.9,1e400", "0.9,nan", "garbage", "0.9,nan,0.7"]


@pytest.fixture(scope="module")
def bad_metric_job(tmp_path_factory):
    d = tmp_path_factory.mktemp("badmetric")
    spec = {
        "name": "bad-metric",
        "program": {"command": [sys.executable, BAD_METRIC]},
        "hyperparameter_ranges": {"values": {"type": "categorical", "values": BAD_VALUES}},
        "objective": {"metric": "loss", "type": "minimize"},
        "metric_definitions": [{"name": "loss", "regex": r"loss=(\S+)"}],
        "strategy": {"name": "grid"},
        "limits": {"max_jobs": len(BAD_VALUES), "max_parallel_jobs": 1, "max_failed_jobs": 20},
    }
    (d / "job.json").write_text(json.dumps(spec))
    proc = hj("tune", "job.json", cwd=d)
    db = open_store(str(d / "hyperjob-runs" / "hyperjob.db"))
    try:
        by_values = {r.config["values"]: r for r in db.list_training_jobs("bad-metric")}
    finally:
        db.close()
    return d, proc, by_values


def test_a_non_finite_objective_fails_its_training_job_and_never_wins(bad_metric_job):
    _d, proc, jobs = bad_metric_job
    assert set(jobs) == set(BAD_VALUES)
    for values, shown in [("0.9,-inf", "-inf"), ("0.9,inf", "inf"), ("0.9,1e400", "inf")]:
        r = jobs[values]
        assert r.status is TrainingJobStatus.FAILED and r.final_objective is None, (values, r)
        assert f"the objective metric 'loss' was {shown} at step 1, which is not a finite number" in r.failure_reason
    nan = jobs["0.9,nan"]
    assert nan.status is TrainingJobStatus.FAILED and "was nan at step 1, which is not a number" in nan.failure_reason
    # a NaN in the middle is told to no one; the last value counts
    assert jobs["0.9,nan,0.7"].status is TrainingJobStatus.COMPLETED and jobs["0.9,nan,0.7"].final_objective == 0.7
    assert "best training job: bad-metric-" in proc.stdout and "loss = 0.5" in proc.stdout
    assert jobs["0.9,0.5"].final_objective == 0.5


def test_garbage_says_what_the_regex_read(bad_metric_job):
    _d, proc, jobs = bad_metric_job
    r = jobs["garbage"]
    assert r.status is TrainingJobStatus.COMPLETED and r.final_objective is None
    assert r.failure_reason == "the regex of metric 'loss' matched 'garbage': not a number."
    warning = " ".join(proc.stderr.split())  # the tuner's warning, unwrapped
    assert "matched 'garbage': not a number." in warning and "check the metric definitions" not in warning


def test_every_json_output_is_strict_and_export_has_no_non_finite_cells(bad_metric_job):
    d, _proc, jobs = bad_metric_job
    desc = strict_json(hj("describe", "bad-metric", "--json", cwd=d).stdout)
    assert desc["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 0.5
    assert desc["TrainingJobStatusCounters"]["NonRetryableError"] == 4
    rows = strict_json(hj("trials", "bad-metric", "--sort-by", "FinalObjectiveMetricValue", "--json",
                          cwd=d).stdout)["TrainingJobSummaries"]
    assert [r["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for r in rows[:2]] == [0.5, 0.7]
    assert strict_json(hj("best", "bad-metric", "--json", cwd=d).stdout)["Value"] == 0.5
    assert strict_json(hj("list", "--json", cwd=d).stdout)[0]["BestValue"] == 0.5
    long = list(csv.reader(io.StringIO(hj("export", "bad-metric", "--long", cwd=d).stdout)))
    values = [row[3] for row in long[1:]]
    assert "" in values and not any(v.lower() in ("inf", "-inf", "nan") for v in values)
    assert all(v == "" or float(v) in (0.9, 0.5, 0.7) for v in values)


def test_non_finite_values_from_report_fail_the_training_job_too(tmp_path):
    result = hyperjob.tune(
        [sys.executable, BAD_METRIC],
        {"values": {"type": "categorical", "values": ["0.9,0.25", "0.9,-inf", "0.9,nan"]}, "how": "report"},
        objective="loss", strategy="grid", max_jobs=3, max_parallel_jobs=1, output_dir=tmp_path / "runs",
        name="report-bad", max_failed_jobs=10,
    )
    status = {j["config"]["values"]: j["status"] for j in result.jobs}
    assert status == {"0.9,0.25": "Completed", "0.9,-inf": "Failed", "0.9,nan": "Failed"}
    assert result.best_value == 0.25


# ------------------------------------------------------------------------------------------------- Ctrl-C, kill
def _held_job(tmp_path: Path, name: str, max_jobs: int = 4) -> tuple[Path, Path]:
    hold, ledger = tmp_path / "hold", tmp_path / "ledger.txt"
    hold.write_text("")
    spec = {
        "name": name,
        "program": {"command": [sys.executable, HELD_LEDGER]},
        "static_hyperparameters": {"hold": str(hold), "ledger": str(ledger)},
        "hyperparameter_ranges": {"x": {"type": "continuous", "min_value": 0.0, "max_value": 1.0}},
        "objective": {"metric": "loss", "type": "minimize"},
        "metric_definitions": [{"name": "loss", "regex": r"loss=([0-9.]+)"}],
        "strategy": {"name": "random"},
        "limits": {"max_jobs": max_jobs, "max_parallel_jobs": 2},
        "random_seed": 1,
    }
    (tmp_path / "job.json").write_text(json.dumps(spec))
    return hold, ledger


def _start_tuner(tmp_path: Path, ledger: Path, starts: int = 2) -> subprocess.Popen:
    """`hyperjob tune` in a session of its own, its output in files (tuner.out, tuner.err: a pipe would stay
    open as long as the supervisor, which outlives a killed tuner)."""
    with open(tmp_path / "tuner.out", "w") as out, open(tmp_path / "tuner.err", "w") as err:
        tuner = subprocess.Popen([sys.executable, "-m", "hyperjob", "tune", "job.json", "-q"], cwd=tmp_path,
                                 start_new_session=True, stdout=out, stderr=err)
    deadline = time.time() + 60
    while time.time() < deadline and (not ledger.exists() or ledger.read_text().count("start") < starts):
        assert tuner.poll() is None, (tmp_path / "tuner.err").read_text()
        time.sleep(0.05)
    return tuner


def _ledger(ledger: Path) -> list[tuple[str, str, int]]:
    return [(w, n, int(p)) for w, n, p in (line.split() for line in ledger.read_text().splitlines())]


def test_ctrl_c_twice_kills_at_once_and_every_status_is_true(tmp_path):
    hold, ledger = _held_job(tmp_path, "held")
    tuner = _start_tuner(tmp_path, ledger)
    try:
        desc = strict_json(hj("describe", "held", "--json", cwd=tmp_path).stdout)
        assert desc["HyperParameterTuningJobStatus"] == "InProgress" and desc["TunerHoldsJob"] is True
        assert "TunerNote" not in desc
        os.killpg(tuner.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        time.sleep(1.5)  # the training jobs ignore SIGTERM: one press waits for their grace period (10 s)
        assert tuner.poll() is None
        os.killpg(tuner.pid, signal.SIGINT)
        pressed = time.monotonic()
        tuner.wait(timeout=30)
        took = time.monotonic() - pressed
    finally:
        if tuner.poll() is None:
            tuner.kill()
    out, err = (tmp_path / "tuner.out").read_text(), (tmp_path / "tuner.err").read_text()
    assert tuner.returncode == 130, err
    assert took < 3.0, f"the second Ctrl-C took {took:.1f} s to end the tuner"
    print(f"second Ctrl-C to exit: {took:.2f} s")
    assert "killing the running training jobs now" in err and "Traceback" not in err
    assert "resume with: hyperjob resume held" in out
    started = [pid for what, _n, pid in _ledger(ledger) if what == "start"]
    assert len(started) == 2 and not any(alive(p) for p in started)
    assert not any(what == "finish" for what, _n, _p in _ledger(ledger))

    db = open_store(str(tmp_path / "hyperjob-runs" / "hyperjob.db"))
    try:
        assert db.get_tuning_job("held").status.value == "Stopped"
        records = db.list_training_jobs("held")
        assert len(records) == 2 and not {r.status.value for r in records} & UNFINISHED
        assert all(r.status is TrainingJobStatus.STOPPED and "killed at once" in r.failure_reason
                   and "runs again on `hyperjob resume held`" in r.failure_reason for r in records)
    finally:
        db.close()

    hold.unlink()  # now the training jobs end at once: resume runs the two killed ones again, then two more
    hj("resume", "held", "-q", cwd=tmp_path)
    entries = _ledger(ledger)
    finished = [n for what, n, _p in entries if what == "finish"]
    assert sorted(finished) == sorted(set(finished)) and len(finished) == 4  # each finished exactly once
    assert sum(1 for what, _n, _p in entries if what == "start") == 6  # the 2 killed ones started twice
    desc = strict_json(hj("describe", "held", "--json", cwd=tmp_path).stdout)
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
    assert desc["TrainingJobStatusCounters"]["Completed"] == 4


def test_describe_says_no_tuner_holds_a_job_whose_tuner_was_killed(tmp_path):
    hold, ledger = _held_job(tmp_path, "orphaned")
    tuner = _start_tuner(tmp_path, ledger)
    os.killpg(tuner.pid, signal.SIGKILL)  # the tuner and its process group; the training jobs run on
    tuner.wait()
    try:
        desc = strict_json(hj("describe", "orphaned", "--json", cwd=tmp_path).stdout)
        assert desc["HyperParameterTuningJobStatus"] == "InProgress" and desc["TunerHoldsJob"] is False
        assert desc["TunerNote"].startswith("no tuner holds this tuning job")
        assert "its 2 unfinished training jobs" in desc["TunerNote"]
        text = " ".join(hj("describe", "orphaned", cwd=tmp_path).stdout.split())
        assert "note: no tuner holds this tuning job" in text and "hyperjob resume orphaned" in text
    finally:
        hold.unlink()
        hj("stop", "orphaned", cwd=tmp_path)
    started = [pid for what, _n, pid in _ledger(ledger) if what == "start"]
    assert not any(alive(p) for p in started)


# ------------------------------------------------------------------------------------------------- closed pipe
PIPE_JOB = {
    "name": "piped",
    "program": {"command": [sys.executable, BAD_METRIC]},
    "hyperparameter_ranges": {"values": {"type": "categorical", "values": ["0.5", "0.4", "0.3"]}},
    "objective": {"metric": "loss", "type": "minimize"},
    "metric_definitions": [{"name": "loss", "regex": r"loss=(\S+)"}],
    "strategy": {"name": "grid"},
    "limits": {"max_jobs": 3, "max_parallel_jobs": 1},
}


def _completed(tmp_path: Path, name: str) -> None:
    db = open_store(str(tmp_path / "hyperjob-runs" / "hyperjob.db"))
    try:
        assert db.get_tuning_job(name).status.value == "Completed"
        records = db.list_training_jobs(name)
        assert len(records) == 3 and all(r.status is TrainingJobStatus.COMPLETED for r in records)
    finally:
        db.close()


def test_tune_into_head_exits_0_and_completes_the_tuning_job(tmp_path):
    (tmp_path / "job.json").write_text(json.dumps(PIPE_JOB))
    tuner = subprocess.Popen([sys.executable, "-m", "hyperjob", "tune", "job.json"], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    head = subprocess.Popen(["head", "-1"], stdin=tuner.stdout, stdout=subprocess.PIPE)
    tuner.stdout.close()  # head holds the only read end
    first, _ = head.communicate(timeout=120)
    err = tuner.communicate(timeout=120)[1].decode()
    assert tuner.returncode == 0, err
    assert first.decode().startswith("Completed: MaxNumberOfTrainingJobs reached (3)")
    assert "Traceback" not in err and "BrokenPipe" not in err and "internal error" not in err
    _completed(tmp_path, "piped")


def test_a_closed_stdout_and_stderr_harm_neither_the_tuning_job_nor_the_exit_code(tmp_path):
    (tmp_path / "job.json").write_text(json.dumps({**PIPE_JOB, "name": "closed"}))
    r_out, w_out = os.pipe()
    r_err, w_err = os.pipe()
    os.close(r_out)  # no reader at all, from the start: every write fails with EPIPE
    os.close(r_err)
    try:
        tuner = subprocess.Popen([sys.executable, "-m", "hyperjob", "tune", "job.json"], cwd=tmp_path,
                                 stdout=w_out, stderr=w_err)
    finally:
        os.close(w_out)
        os.close(w_err)
    assert tuner.wait(timeout=120) == 0
    _completed(tmp_path, "closed")
    for args in (["describe", "closed", "--json"], ["trials", "closed", "--json"], ["export", "closed", "--long"]):
        r, w = os.pipe()
        os.close(r)
        try:
            proc = subprocess.Popen([sys.executable, "-m", "hyperjob", *args], cwd=tmp_path, stdout=w,
                                    stderr=subprocess.PIPE)
        finally:
            os.close(w)
        err = proc.communicate(timeout=60)[1].decode()
        assert proc.returncode == 0 and err == "", (args, proc.returncode, err)
