"""describe --json echoes the whole request (plus the resolved scaling); export has the static hyperparameters,
the stop reasons and a ``:best`` per metric in that metric's own direction (issue 17)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hyperjob.cli.app import app

PROGRAM = """\
import os, time
from hyperjob import report
second = os.environ["HYPERJOB_TRAINING_JOB_NAME"].endswith("-001")
for step, loss in enumerate([0.9, 0.5, 0.7]):
    report(step=step, acc=0.1 if second else 0.8 + step / 100, train_loss=loss, lr_seen=1.0)
    time.sleep(0.4 if second else 0.05)
"""
JOB = """\
name: ex
program: {command: [python, prog.py]}
static_hyperparameters: {epochs: 3, layers: [2, 3]}
hyperparameter_ranges:
  lr: {min_value: 0.00001, max_value: 0.1}
  opt: {values: [sgd, adam]}
objective: {metric: acc, type: maximize}
strategy: random
random_seed: 7
early_stopping: auto
completion: {target_value: 0.99}
limits: {max_jobs: 2, max_parallel_jobs: 1, timeout_s: 60}
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("export")
    (d / "prog.py").write_text(PROGRAM)
    (d / "job.yaml").write_text(JOB)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(d)
        code, out, err = run("tune", "job.yaml", "--store", "s.db", "-q")
    assert code == 0, out + err
    return d


def test_describe_json_echoes_the_request_and_the_resolved_scaling(tuned: Path) -> None:
    code, out, err = run("describe", "ex", "--store", str(tuned / "s.db"), "--json")
    d = json.loads(out)
    cfg = d["HyperParameterTuningJobConfig"]
    assert cfg["RandomSeed"] == 7
    assert cfg["TuningJobCompletionCriteria"] == {"TargetObjectiveMetricValue": 0.99}
    lr = cfg["ParameterRanges"]["ContinuousParameterRanges"][0]
    assert lr == {"Name": "lr", "MinValue": "1e-05", "MaxValue": "0.1", "ScalingType": "Auto",
                  "ResolvedScalingType": "Logarithmic"}  # what Auto became (3 decades: logarithmic)
    assert cfg["ParameterRanges"]["CategoricalParameterRanges"] == [{"Name": "opt", "Values": ["sgd", "adam"]}]
    definition = d["TrainingJobDefinition"]
    assert definition["StaticHyperParameters"] == {"epochs": "3", "layers": "[2, 3]"}
    assert definition["StoppingCondition"] == {"MaxRuntimeInSeconds": 60.0}
    assert definition["HyperjobProgram"]["Command"] == ["python", "prog.py"]
    code, text, _ = run("describe", "ex", "--store", str(tuned / "s.db"))
    assert "ranges: lr [1e-05, 0.1] Auto -> Logarithmic; opt {sgd, adam}" in text


def test_export_has_static_hyperparameters_stop_reasons_and_each_metric_s_direction(tuned: Path) -> None:
    code, out, err = run("export", "ex", "--store", str(tuned / "s.db"))
    assert code == 0, err
    rows = {r["training_job"]: r for r in csv.DictReader(io.StringIO(out))}
    first, second = rows["ex-000"], rows["ex-001"]
    assert first["static:epochs"] == "3" and first["static:layers"] == "[2, 3]"
    assert float(first["train_loss:best"]) == 0.5  # a loss is best lowest, though the objective is maximized
    assert float(first["acc:best"]) == pytest.approx(0.82)  # the objective: highest
    assert first["lr_seen:best"] == ""  # nothing says which way lr_seen is better
    assert second["status"] == "Stopped" and "median" in second["stop_reason"].lower()
    assert second["failure_reason"] == "" and first["stop_reason"] == ""
