"""The image-classification program's command line: hyperparameters from arguments and the JSON file, paths from
arguments and the environment (hyperjob's and SageMaker's names)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hyperjob.algorithms.image_classification.program import _clean, parse_arguments
from hyperjob.errors import SpecError


def test_arguments_override_the_hyperparameters_file(tmp_path: Path) -> None:
    file = tmp_path / "hp.json"
    file.write_text(json.dumps({"num_classes": 10, "epochs": 5, "sagemaker_program": "x"}))
    raw, paths = parse_arguments(["--epochs", "7", "--optimizer=adam", "--train", "/data/t"],
                                 {"HYPERJOB_HYPERPARAMETERS": str(file), "SM_CHANNEL_VALIDATION": "/data/v",
                                  "HYPERJOB_MODEL_DIR": "/m", "SM_MODEL_DIR": "/sm"})
    assert raw == {"num_classes": 10, "epochs": "7", "optimizer": "adam", "sagemaker_program": "x"}
    assert paths["train"] == "/data/t" and paths["validation"] == "/data/v"
    assert paths["model_dir"] == "/m"  # hyperjob's name first
    assert paths["checkpoint_dir"] is None and paths["pretrained"] is None


@pytest.mark.parametrize(("argv", "match"), [
    (["num_classes", "3"], r"expected a --name value pair at argument 1, got 'num_classes'"),
    (["--epochs"], r"the argument --epochs has no value"),
])
def test_malformed_arguments(argv: list[str], match: str) -> None:
    with pytest.raises(SpecError, match=match):
        parse_arguments(argv, {})


def test_an_unreadable_hyperparameters_file(tmp_path: Path) -> None:
    (tmp_path / "hp.json").write_text("{not json")
    with pytest.raises(SpecError, match="cannot read the hyperparameters file"):
        parse_arguments([], {"HYPERJOB_HYPERPARAMETERS": str(tmp_path / "hp.json")})


def test_a_worker_traceback_is_reduced_to_the_message() -> None:
    wrapped = SpecError("Caught ImageDataError in DataLoader worker process 0.\nOriginal Traceback (most recent call "
                        "last):\n  File \"x.py\", line 1\nhyperjob.algorithms.image_classification.data."
                        "ImageDataError: hyperparameters.image_shape: the image 'a.png' is 4x4 pixels\n")
    assert _clean(wrapped) == "hyperparameters.image_shape: the image 'a.png' is 4x4 pixels"
    assert _clean(SpecError("plain")) == "plain"
