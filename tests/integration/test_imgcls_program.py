"""The image-classification program as a process: by hand (errors, exit codes, failure file) and in a tuning job
through the CLI with nothing but the algorithm's name, the data and a budget."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

MODULE = "hyperjob.algorithms.image_classification"


def _digits(root: Path, classes: int = 3, per_class: int = 30) -> None:
    digits = load_digits()
    for split, part in (("train", slice(0, per_class)), ("validation", slice(per_class, per_class + per_class // 2))):
        for c in range(classes):
            (root / split / f"d{c}").mkdir(parents=True, exist_ok=True)
            for i in np.where(digits.target == c)[0][part]:
                image = (digits.images[i] * 16).clip(0, 255).astype(np.uint8)
                Image.fromarray(np.stack([image] * 3, -1)).resize((12, 12)).save(root / split / f"d{c}" / f"{i}.png")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("imgcls")
    _digits(root / "data")
    return root


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200", **(env or {})})


def test_by_hand_a_bad_value_exits_2_with_one_line_and_a_failure_file(data: Path) -> None:
    proc = run("-m", MODULE, "--num_classes", "3", "--num_training_samples", "90", "--optimizer", "adamw",
               "--output_dir", str(data / "out"), cwd=data)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: hyperparameters.optimizer: must be sgd, adam, rmsprop or nag, got "
                                   "'adamw'. Did you mean 'adam'?")
    assert (data / "out" / "failure").read_text().strip() == proc.stderr.strip()[len("error: "):]


def test_by_hand_an_image_too_small_fails_clearly_from_a_worker(data: Path) -> None:
    proc = run("-m", MODULE, "--num_classes", "3", "--num_training_samples", "90", "--image_shape", "3,16,16",
               "--num_layers", "20", "--base_channels", "4", "--epochs", "1", "--num_workers", "1",
               "--train", "data/train", "--validation", "data/validation", cwd=data)
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: hyperparameters.image_shape: the image ") and "is 12x12 pixels, smaller than " \
        "image_shape 3,16,16" in last
    assert "Traceback" not in proc.stderr


def test_a_tuning_job_with_only_the_algorithm_the_data_and_a_budget(data: Path) -> None:
    (data / "job.yaml").write_text(
        "name: digits\n"
        "program:\n"
        "  algorithm: image-classification\n"
        "  channels: {train: data/train, validation: data/validation}\n"
        "static_hyperparameters: {num_classes: 3, num_training_samples: 90, image_shape: '3,10,10', epochs: 2,\n"
        "                         base_channels: 4, seed: 0, num_workers: 0}\n"
        "strategy: random\n"
        "limits: {max_jobs: 2}\n"
        "random_seed: 3\n"
    )
    proc = run("-m", "hyperjob", "tune", "job.yaml", cwd=data)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "best training job: digits-" in proc.stdout and "validation:accuracy" in proc.stdout
    described = json.loads(run("-m", "hyperjob", "describe", "digits", "--json", cwd=data).stdout)
    assert described["TrainingJobStatusCounters"]["Completed"] == 2
    best = described["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == "validation:accuracy"
    assert set(best["TunedHyperParameters"]) == {"learning_rate", "mini_batch_size", "momentum", "weight_decay",
                                                 "optimizer", "num_layers"}
    assert best["TunedHyperParameters"]["num_layers"] in ("20", "32", "44", "56", 20, 32, 44, 56)

    from hyperjob.store.sql import open_store

    store = open_store(data / "hyperjob-runs" / "hyperjob.db")
    try:
        for job in store.list_training_jobs("digits"):
            values = store.get_metrics(job.id)
            accuracy = [v for v in values if v.name == "validation:accuracy"]
            # read from the log lines and from hyperjob.report: one value per epoch, steps 0 and 1
            assert sorted(v.step for v in accuracy) == [0, 1], accuracy
            counts = Counter((v.name, v.step) for v in values)
            assert max(counts.values()) == 1
            job_dir = next((data / "hyperjob-runs").rglob(f"{job.id}"))
            assert (job_dir / "model" / "model.pt").is_file()
            assert json.loads((job_dir / "model" / "classes.json").read_text()) == ["d0", "d1", "d2"]
    finally:
        store.close()
