"""The graph training program as a process: by hand with the hyperjob environment, a refused hyperparameter,
and a tuning job through the CLI with nothing but the algorithm's name, the processed graph and a budget."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hyperjob.algorithms.graph import synthetic

MODULE = "hyperjob.algorithms.graph"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("graph")
    synthetic.planted_partition("node_class", num_users=60, num_items=20).save(root / "graph")
    synthetic.relational_kg(num_entities=40, num_edges=120).save(root / "kg")
    return root


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200", **(env or {})})


def test_a_training_job_by_hand_reports_saves_and_predicts(data: Path, tmp_path: Path) -> None:
    env = {"HYPERJOB_CHANNEL_TRAIN": str(data / "graph"), "HYPERJOB_METRICS_FILE": str(tmp_path / "metrics.jsonl"),
           "HYPERJOB_MODEL_DIR": str(tmp_path / "model"), "HYPERJOB_OUTPUT_DIR": str(tmp_path / "output")}
    proc = run("-m", MODULE, "--model", "rgcn", "--num-hidden", "8", "--num-epochs", "3", "--batch-size", "16",
               "--fanout", "[4, 4]", "--layer-norm", "True", "--eval_metric", "F1", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    # three evaluations, then the saved model's value at the last step (the objective = model.pt's, issue 17)
    assert [entry["step"] for entry in lines] == [0, 1, 2, 2]
    assert all(0.0 <= entry["metrics"]["F1"] <= 1.0 and "train_loss" in entry["metrics"] for entry in lines[:3])
    assert proc.stdout.count("] validation F1=") == 3
    saved = torch.load(tmp_path / "model" / "model.pt", weights_only=True)
    assert lines[-1]["metrics"] == {"F1": saved["best"]} == {"F1": max(e["metrics"]["F1"] for e in lines[:3])}
    assert saved["hyperparameters"]["layer-norm"] is True and saved["eval_metric"] == "F1"
    assert (tmp_path / "output" / "predictions.csv").read_text().startswith("~id,prediction,p(c0)")


def test_a_hyperparameter_of_another_model_exits_2_with_a_failure_file(data: Path, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    env = {"SM_CHANNEL_TRAIN": str(data / "kg"), "SM_OUTPUT_DIR": str(tmp_path / "out")}
    proc = run("-m", MODULE, "--model", "transe", "--num-layer", "2", cwd=tmp_path, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: hyperparameters.num-layer: 'num-layer' does not apply to model "
                                          "'transe' on task 'link_prediction'")
    assert "Traceback" not in proc.stderr
    assert "num-layer" in (tmp_path / "out" / "failure").read_text()


def test_a_tuning_job_with_only_the_algorithm_the_graph_and_a_budget(data: Path) -> None:
    (data / "job.yaml").write_text(
        "name: kg\n"
        "program:\n"
        "  algorithm: distmult\n"
        "  channels: {train: kg}\n"
        "static_hyperparameters: {batch-size: 64, num-negs: 8, enable-early-stop: false}\n"
        "hyperparameter_ranges:\n"
        "  num-hidden: {type: discrete, values: [8, 16]}\n"
        "  num-epochs: {type: integer, min_value: 2, max_value: 3}\n"
        "strategy: random\n"
        "limits: {max_jobs: 2, max_parallel_jobs: 2}\n"
        "random_seed: 3\n"
    )
    proc = run("-m", "hyperjob", "tune", "job.yaml", cwd=data)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    described = json.loads(run("-m", "hyperjob", "describe", "kg", "--json", cwd=data).stdout)
    assert described["TrainingJobStatusCounters"]["Completed"] == 2
    best = described["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == "mrr"
    assert 0.0 < best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] <= 1.0


def _metrics(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize("model, graph", [("rgcn", "graph"), ("transe", "kg")])
def test_paused_after_an_epoch_it_resumes_from_its_checkpoint_as_the_uninterrupted_run(data: Path, tmp_path: Path,
                                                                                     model: str, graph: str) -> None:
    """SIGTERM right after epoch 2's line (a hyperband pause), then the same command again: no epoch is trained
    twice, and every value equals the uninterrupted run's (same batches, samples and optimizer state)."""
    import signal

    args = ["-m", MODULE, "--model", model, "--num-epochs", "6", "--batch-size", "16", "--enable-early-stop",
            "False"] + (["--num-hidden", "8", "--fanout", "[4, 4]"] if model == "rgcn" else ["--num-hidden", "8"])

    def env(name: str) -> dict[str, str]:
        return {"HYPERJOB_CHANNEL_TRAIN": str(data / graph), "HYPERJOB_METRICS_FILE": str(tmp_path / f"{name}.jsonl"),
                "HYPERJOB_MODEL_DIR": str(tmp_path / name / "model"), "HYPERJOB_OUTPUT_DIR": str(tmp_path / name / "out"),
                "HYPERJOB_CHECKPOINT_DIR": str(tmp_path / name / "checkpoints")}

    whole = run(*args, cwd=tmp_path, env=env("whole"))
    assert whole.returncode == 0, whole.stderr
    assert (tmp_path / "whole" / "checkpoints" / "checkpoint.pt").is_file()
    proc = subprocess.Popen([sys.executable, *args], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "OMP_NUM_THREADS": "1", **env("paused")})
    first: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        first.append(line)
        if line.startswith("[epoch 2 "):
            proc.send_signal(signal.SIGTERM)  # the checkpoint of epoch 2 is written before its line
            break
    first += proc.stdout.read().splitlines(keepends=True)
    assert proc.wait(60) == -signal.SIGTERM
    resumed = run(*args, cwd=tmp_path, env=env("paused"))
    assert resumed.returncode == 0, resumed.stderr
    done = int([line for line in first if line.startswith("[epoch ")][-1].split()[1])  # 2, or 3 if it raced on
    assert f"resuming from {tmp_path / 'paused' / 'checkpoints' / 'checkpoint.pt'} after epoch {done}" in resumed.stdout
    epochs = [int(line.split()[1]) for line in first + resumed.stdout.splitlines() if line.startswith("[epoch ")]
    assert epochs == [1, 2, 3, 4, 5, 6][: len(epochs)] and len(epochs) == 6  # each epoch once, in order
    paused, reference = _metrics(tmp_path / "paused.jsonl"), _metrics(tmp_path / "whole.jsonl")
    assert [e["step"] for e in paused] == [e["step"] for e in reference] == [0, 1, 2, 3, 4, 5, 5]
    for got, want in zip(paused, reference):
        assert got["metrics"] == pytest.approx(want["metrics"], rel=1e-6, abs=1e-9)


def test_a_checkpoint_of_other_hyperparameters_is_refused(data: Path, tmp_path: Path) -> None:
    env = {"HYPERJOB_CHANNEL_TRAIN": str(data / "kg"), "HYPERJOB_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
           "HYPERJOB_MODEL_DIR": str(tmp_path / "model"), "HYPERJOB_OUTPUT_DIR": str(tmp_path / "out")}
    first = run("-m", MODULE, "--model", "transe", "--num-epochs", "2", "--num-hidden", "8", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    other = run("-m", MODULE, "--model", "transe", "--num-epochs", "2", "--num-hidden", "16", cwd=tmp_path, env=env)
    assert other.returncode == 2
    assert "is of another training run (its hyperparameters differ)" in other.stderr and "Traceback" not in other.stderr
