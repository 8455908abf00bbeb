"""A script-mode SageMaker request (request 11's shape) run through the CLI with --submit-dir: a real tuning job.

The request is the corpus' scikit-learn random-forest request with its S3 channels pointed at local folders and a
budget of 3 training jobs; the program is tests/fixtures/script_mode/script.py, written the way the SageMaker
examples write them (strict argparse, SM_* read with os.environ[...]).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _corpus import CORPUS_ROOT, need as need_corpus

SUBMIT_DIR = Path(__file__).parents[1] / "fixtures" / "script_mode"
CORPUS = CORPUS_ROOT / "sagemaker" / "requests"
REQUEST_11 = CORPUS / "11-examples-sklearn-randomforest-script-mode.json"
FEATURES = "MedInc HouseAge AveRooms AveBedrms Population AveOccup Latitude Longitude"


def _corpus_request() -> dict:
    need_corpus(REQUEST_11)
    return json.loads(REQUEST_11.read_text())


def _write_data(root: Path) -> None:
    """A tiny regression data set with the California-housing column names (40 train rows, 20 test rows)."""
    rng = np.random.default_rng(0)
    names = FEATURES.split()
    for channel, n in (("train", 40), ("test", 20)):
        x = rng.random((n, len(names)))
        y = 3 * x[:, 0] + x[:, 1] - 2 * x[:, 6] + 0.1 * rng.standard_normal(n)
        (root / channel).mkdir(parents=True)
        lines = [",".join(names + ["target"])]
        lines += [",".join(f"{v:.6f}" for v in (*row, t)) for row, t in zip(x, y)]
        (root / channel / f"california_housing_{channel}.csv").write_text("\n".join(lines) + "\n")


def hj(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hyperjob", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"}, timeout=300)


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    request = _corpus_request()
    d = tmp_path_factory.mktemp("script-mode")
    _write_data(d / "data")
    config = request["HyperParameterTuningJobConfig"]
    config["ResourceLimits"] = {"MaxNumberOfTrainingJobs": 3, "MaxParallelTrainingJobs": 2}
    config["Strategy"] = "Random"
    config["RandomSeed"] = 11
    for channel in request["TrainingJobDefinition"]["InputDataConfig"]:
        name = channel["ChannelName"]
        channel["DataSource"]["S3DataSource"]["S3Uri"] = (d / "data" / name).as_uri()
    (d / "request.json").write_text(json.dumps(request, indent=1))
    proc = hj("tune", "request.json", "--submit-dir", str(SUBMIT_DIR), "--store", "sqlite:///hj.db", "-q", cwd=d)
    return d, request, proc


def test_the_tuning_job_completes_and_reads_the_objective(tuned):
    d, request, proc = tuned
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "Completed" in proc.stdout
    from hyperjob.store import open_store

    db = open_store(f"sqlite:///{d / 'hj.db'}")
    try:
        jobs = db.list_training_jobs(request["HyperParameterTuningJobName"])
        assert len(jobs) == 3
        assert all(j.status.value == "Completed" for j in jobs), [(j.status, j.failure_reason) for j in jobs]
        values = [j.final_objective for j in jobs]
        assert all(v is not None and 0.0 < v < 3.0 for v in values), values  # median absolute error, read
        metrics = db.get_metrics(jobs[0].id)
        assert [m.name for m in metrics] == ["median-AE"] and metrics[-1].value == jobs[0].final_objective
    finally:
        db.close()
    assert f"median-AE = {min(values):.6g}" in proc.stdout


def test_the_script_is_called_as_the_training_toolkit_calls_it(tuned):
    d, request, _ = tuned
    name = request["HyperParameterTuningJobName"]
    received = sorted((d / "hyperjob-runs" / name).glob("*/output/data/received.json"))
    assert len(received) == 3
    for path in received:
        got = json.loads(path.read_text())
        argv = got["argv"]
        keys = argv[0::2]
        # every hyperparameter as --key value, keys sorted, JSON-decoded, framework keys left out
        assert keys == ["--features", "--min-samples-leaf", "--n-estimators", "--target"]
        assert argv[1] == FEATURES  # a value with spaces is one argument
        assert argv[7] == "target"  # "\"target\"" decoded
        assert 2 <= int(argv[3]) <= 6 and 20 <= int(argv[5]) <= 100
        assert not any("sagemaker" in a or "_tuning_objective_metric" in a for a in argv)
        assert got["user_args"] == argv
        assert set(got["hps"]) == {"features", "target", "min-samples-leaf", "n-estimators"}
        # the SM_* environment the script reads
        assert got["hosts"] == ["algo-1"] and got["training_env_hosts"] == ["algo-1"]
        assert got["current_host"] == "algo-1" and got["num_gpus"] == 0
        assert got["channels"] == ["test", "train"]
        assert got["cwd"] == str(SUBMIT_DIR)
        assert (path.parents[2] / "model" / "model.joblib").is_file()
