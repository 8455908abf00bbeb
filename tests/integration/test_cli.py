"""The command line, as a user runs it: real processes, a real SQLite store, exit codes and messages."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import time
import sys
from pathlib import Path

import pytest

from _cli import hj

PROGRAM = str(Path(__file__).parents[1] / "fixtures" / "programs" / "steps.py")


JOB_YAML = f"""
name: cli-job
program:
  command: [{sys.executable!r}, {PROGRAM!r}]
static_hyperparameters:
  steps: 2
hyperparameter_ranges:
  x: {{type: continuous, min_value: 0.0, max_value: 1.0}}
  y: {{type: integer, min_value: 0, max_value: 4}}
objective: {{metric: loss, type: minimize}}
metric_definitions:
  - {{name: loss, regex: 'loss=([0-9.eE+-]+)'}}
strategy: {{name: random}}
limits: {{max_jobs: 5, max_parallel_jobs: 2}}
random_seed: 7
"""


@pytest.fixture(scope="module")
def finished_job(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    (d / "job.yaml").write_text(JOB_YAML)
    proc = hj("tune", "job.yaml", cwd=d)
    return d, proc


def test_tune_prints_the_best_training_job(finished_job):
    d, proc = finished_job
    assert "Completed" in proc.stdout
    assert "best training job: cli-job-" in proc.stdout
    assert (d / "hyperjob-runs" / "hyperjob.db").exists()


def test_describe_json_is_sagemaker_shaped(finished_job):
    d, _ = finished_job
    desc = json.loads(hj("describe", "cli-job", "--json", cwd=d).stdout)
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
    assert desc["TrainingJobStatusCounters"]["Completed"] == 5
    assert desc["ObjectiveStatusCounters"] == {"Succeeded": 5, "Pending": 0, "Failed": 0}
    best = desc["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == "loss"
    assert set(best["TunedHyperParameters"]) == {"x", "y"}
    assert desc["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 5


def test_trials_sorted_by_objective_best_first(finished_job):
    d, _ = finished_job
    rows = json.loads(hj("trials", "cli-job", "--sort-by", "FinalObjectiveMetricValue", "--json", cwd=d).stdout)
    values = [r["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for r in rows["TrainingJobSummaries"]]
    assert len(values) == 5 and values == sorted(values)
    rows = json.loads(hj("trials", "cli-job", "--sort-by", "Name", "--descending", "--json", cwd=d).stdout)
    names = [r["TrainingJobName"] for r in rows["TrainingJobSummaries"]]
    assert names == sorted(names, reverse=True)


def test_best_and_export(finished_job):
    d, _ = finished_job
    best = json.loads(hj("best", "cli-job", "--json", cwd=d).stdout)
    assert best["HyperParameters"]["steps"] == 2
    assert Path(d / best["ModelDir"] / "model.txt").exists()
    text = hj("export", "cli-job", cwd=d).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 5
    assert {"hp:x", "hp:y", "loss:last", "loss:best", "loss:count"} <= set(rows[0])
    assert all(r["loss:count"] == "2" for r in rows)
    best_row = min(rows, key=lambda r: float(r["final_objective"]))
    assert float(best_row["final_objective"]) == pytest.approx(best["Value"])
    long_rows = list(csv.DictReader(io.StringIO(hj("export", "cli-job", "--long", cwd=d).stdout)))
    assert len(long_rows) == 10


def test_list_shows_the_tuning_job(finished_job):
    d, _ = finished_job
    rows = json.loads(hj("list", "--json", cwd=d).stdout)
    assert [r["HyperParameterTuningJobName"] for r in rows] == ["cli-job"]
    assert rows[0]["TrainingJobs"] == 5


def test_resume_of_a_completed_job_says_so(finished_job):
    d, _ = finished_job
    proc = hj("resume", "cli-job", cwd=d, check=False)
    assert proc.returncode == 1
    assert "already completed" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_spec_is_one_line_and_exit_code_2(tmp_path):
    (tmp_path / "job.yaml").write_text(JOB_YAML.replace("max_value: 1.0", "max_value: -1.0"))
    proc = hj("tune", "job.yaml", cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "job.yaml" in proc.stderr and "x" in proc.stderr and "min_value" in proc.stderr


def test_unknown_tuning_job_is_a_clear_error(tmp_path):
    proc = hj("describe", "nope", cwd=tmp_path, check=False)
    assert proc.returncode != 0
    assert "nope" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_validate_with_a_sample_log(tmp_path):
    (tmp_path / "job.yaml").write_text(JOB_YAML)
    (tmp_path / "sample.log").write_text("step 0: loss=0.25\nsomething else\n")
    proc = hj("validate", "job.yaml", "--log", "sample.log", cwd=tmp_path)
    assert "loss" in proc.stdout and "0.25" in proc.stdout


def test_stop_from_another_terminal_stops_the_running_tuning_job(tmp_path):
    slow = JOB_YAML.replace("steps: 2", "steps: 40\n  sleep: 0.1").replace("name: cli-job", "name: slow-job")
    (tmp_path / "job.yaml").write_text(slow)
    tuner = subprocess.Popen([sys.executable, "-m", "hyperjob", "tune", "job.yaml", "-q"], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        from hyperjob.store import open_store

        db_path = tmp_path / "hyperjob-runs" / "hyperjob.db"
        deadline = time.time() + 60
        while time.time() < deadline:  # wait until training jobs run
            if db_path.exists():
                db = open_store(str(db_path))
                try:
                    if any(r.status.value == "InProgress" for r in db.list_training_jobs("slow-job")):
                        break
                except Exception:  # noqa: BLE001 - not created yet
                    pass
                finally:
                    db.close()
            time.sleep(0.2)
        proc = hj("stop", "slow-job", cwd=tmp_path)
        assert "Stopped" in proc.stdout
        out, errtext = tuner.communicate(timeout=60)
    finally:
        if tuner.poll() is None:
            tuner.kill()
    assert tuner.returncode == 0, errtext
    desc = json.loads(hj("describe", "slow-job", "--json", cwd=tmp_path).stdout)
    assert desc["HyperParameterTuningJobStatus"] == "Stopped"
    assert "Stopped by `hyperjob stop`" in json.dumps(desc)  # who asked (tuner/stop.py words it)
    assert desc["TrainingJobStatusCounters"]["Stopped"] >= 1
    assert desc["TrainingJobStatusCounters"]["InProgress"] == 0


def test_stop_of_a_tuning_job_whose_tuner_died_marks_it_stopped(tmp_path):
    from hyperjob.store import open_store

    db = open_store(str(tmp_path / "hyperjob-runs" / "hyperjob.db"))
    db.create_tuning_job("orphan", {"name": "orphan"})
    db.close()
    proc = hj("stop", "orphan", cwd=tmp_path)
    assert "no tuner was running" in proc.stdout
    desc = json.loads(hj("describe", "orphan", "--json", cwd=tmp_path).stdout)
    assert desc["HyperParameterTuningJobStatus"] == "Stopped"


def _tune_and_kill_after_two_starts(tmp_path: Path, name: str, steps: int, max_jobs: int) -> Path:
    """Start `hyperjob tune` on the ledger program; SIGKILL the tuner's process group once two training jobs
    started. Returns the ledger file."""
    import signal

    ledger = Path(__file__).parents[1] / "fixtures" / "programs" / "ledger.py"
    spec = {
        "name": name,
        "program": {"command": [sys.executable, str(ledger)]},
        "static_hyperparameters": {"steps": steps, "sleep": 0.1, "ledger": str(tmp_path / "ledger.txt")},
        "hyperparameter_ranges": {"x": {"type": "continuous", "min_value": 0.0, "max_value": 1.0}},
        "objective": {"metric": "loss", "type": "minimize"},
        "metric_definitions": [{"name": "loss", "regex": r"loss=([0-9.]+)"}],
        "strategy": {"name": "random"},
        "limits": {"max_jobs": max_jobs, "max_parallel_jobs": 2},
    }
    (tmp_path / "job.json").write_text(json.dumps(spec))
    tuner = subprocess.Popen([sys.executable, "-m", "hyperjob", "tune", "job.json", "-q"], cwd=tmp_path,
                             start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ledger_file = tmp_path / "ledger.txt"
    deadline = time.time() + 60
    while time.time() < deadline and (not ledger_file.exists() or ledger_file.read_text().count("start") < 2):
        time.sleep(0.05)
    os.killpg(tuner.pid, signal.SIGKILL)
    tuner.wait()
    return ledger_file


def test_resume_after_a_kill_watches_the_running_training_jobs_again(tmp_path):
    ledger_file = _tune_and_kill_after_two_starts(tmp_path, "killed", steps=15, max_jobs=4)
    proc = hj("resume", "killed", cwd=tmp_path)
    assert "resume: of 2 unfinished training jobs, 2 still running (watched again)." in proc.stderr, proc.stderr
    lines = ledger_file.read_text().splitlines()
    assert sum(1 for x in lines if x.startswith("start")) == sum(1 for x in lines if x.startswith("finish")) == 4


def test_stop_after_the_tuner_died_ends_every_training_job_it_launched(tmp_path):
    """The tuner's process group is SIGKILLed while training jobs run; they go on (their supervisor watches
    them). `hyperjob stop` then ends them: no process is left, and the store says how each ended."""
    from hyperjob.store import open_store

    ledger_file = _tune_and_kill_after_two_starts(tmp_path, "abandoned", steps=200, max_jobs=6)
    pids = [int(line.split()[2]) for line in ledger_file.read_text().splitlines() if line.startswith("start")]
    assert len(pids) == 2 and all(Path(f"/proc/{p}").exists() for p in pids)  # they outlived the tuner

    proc = hj("stop", "abandoned", cwd=tmp_path)
    assert "no tuner was running" in proc.stdout and "2 training jobs still running were ended" in proc.stdout

    def alive(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
        except OSError:
            return False

    assert not any(alive(p) for p in pids)
    db = open_store(str(tmp_path / "hyperjob-runs" / "hyperjob.db"))
    try:
        assert db.get_tuning_job("abandoned").status.value == "Stopped"
        statuses = {r.id: r.status.value for r in db.list_training_jobs("abandoned")}
        assert sorted(statuses.values()) == ["Stopped", "Stopped"], statuses
    finally:
        db.close()
    assert "finish" not in ledger_file.read_text()
