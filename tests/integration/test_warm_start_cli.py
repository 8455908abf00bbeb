"""Warm start from the command line: job.yaml parents, exit code 2 for a broken rule, describe's overall best."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROGRAM = str(Path(__file__).parents[1] / "fixtures" / "programs" / "steps.py")


def hj(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hyperjob", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"}, timeout=300)


def job_yaml(name: str, y_range: str, extra: str = "", max_jobs: int = 4) -> str:
    return f"""
name: {name}
program:
  command: [{sys.executable!r}, {PROGRAM!r}]
static_hyperparameters:
  steps: 2
hyperparameter_ranges:
  x: {{type: continuous, min_value: 0.0, max_value: 1.0}}
  y: {y_range}
objective: {{metric: loss, type: minimize}}
metric_definitions:
  - {{name: loss, regex: 'loss=([0-9.eE+-]+)'}}
strategy: {{name: random}}
limits: {{max_jobs: {max_jobs}, max_parallel_jobs: 2}}
random_seed: 3
{extra}
"""


def test_warm_start_from_job_yaml(tmp_path):
    (tmp_path / "parent.yaml").write_text(job_yaml("parent", "{type: integer, min_value: 0, max_value: 4}"))
    assert hj("tune", "parent.yaml", cwd=tmp_path).returncode == 0
    # a broken rule: y changes type; exit code 2, one line naming the parent and the hyperparameter
    (tmp_path / "bad.yaml").write_text(job_yaml(
        "bad", "{type: continuous, min_value: 0.0, max_value: 4.0}",
        "warm_start: {parents: [parent], type: identical_data_and_algorithm}"))
    proc = hj("tune", "bad.yaml", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "warm_start.parents[0]" in proc.stderr and "'y' is a tuned integer range [0, 4] in the parent 'parent'" \
        in proc.stderr.replace("\n", " ")
    listed = hj("list", "--json", cwd=tmp_path)
    assert listed.returncode == 0 and '"parent"' in listed.stdout and '"bad"' not in listed.stdout
    # a good child: identical data, same ranges
    (tmp_path / "child.yaml").write_text(job_yaml(
        "child", "{type: integer, min_value: 0, max_value: 4}",
        "warm_start: {parents: [parent], type: IdenticalDataAndAlgorithm}", max_jobs=2))
    tuned = hj("tune", "child.yaml", cwd=tmp_path)
    assert tuned.returncode == 0
    # the user sees what the warm start used: all 4 of the parent's training jobs (same ranges)
    assert ("warm start from parent (identical data and algorithm): 4 of their training jobs count as results of "
            "this tuning job") in " ".join(tuned.stderr.split())  # progress goes to stderr
    desc = json.loads(hj("describe", "child", "--json", cwd=tmp_path).stdout)
    trials = {
        name: json.loads(hj("trials", name, "--json", cwd=tmp_path).stdout)["TrainingJobSummaries"]
        for name in ("parent", "child")
    }
    every = [(t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"], t["TrainingJobName"], name)
             for name, rows in trials.items() for t in rows]
    value, job, tuning = min(every)
    overall = desc["OverallBestTrainingJob"]
    assert (overall["TrainingJobName"], overall["TuningJobName"]) == (job, tuning)
    assert desc["WarmStartConfig"]["ParentHyperParameterTuningJobs"] == [{"HyperParameterTuningJobName": "parent"}]
    text = " ".join(hj("describe", "child", cwd=tmp_path).stdout.split())
    assert "warm start: IdenticalDataAndAlgorithm from parent" in text
    assert f"overall best (this tuning job and its parents): {job} of {tuning} loss = {value:.6g}" in text
