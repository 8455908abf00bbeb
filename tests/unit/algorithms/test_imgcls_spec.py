"""A tuning job of a built-in algorithm: ``program: {algorithm: image-classification}`` and its defaults."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from hyperjob.algorithms import get_algorithm
from hyperjob.errors import SpecError
from hyperjob.formats import load_spec
from hyperjob.formats.spec import TuningJobSpec

STATIC = {"num_classes": 10, "num_training_samples": 500, "image_shape": "3,32,32"}


def spec(program: dict[str, Any] | None = None, **fields: Any) -> TuningJobSpec:
    data: dict[str, Any] = {
        "name": "cifar",
        "program": program or {"algorithm": "image-classification", "channels": {"train": "t", "validation": "v"}},
        "static_hyperparameters": dict(STATIC),
        "limits": {"max_jobs": 4},
    }
    data.update(fields)
    return TuningJobSpec.model_validate(data)


def test_the_algorithm_runs_as_a_module_with_this_python() -> None:
    s = spec()
    assert s.program.algorithm == "image-classification"
    program = s.build_program()
    assert program.command == (sys.executable, "-m", "hyperjob.algorithms.image_classification")
    assert program.channels == {"train": "t", "validation": "v"}


def test_objective_metrics_and_ranges_default_to_the_algorithms() -> None:
    s = spec()
    algo = get_algorithm("image-classification")
    objective = s.build_objective()
    assert (objective.metric, objective.maximize) == ("validation:accuracy", True)
    assert [(d.name, d.regex) for d in s.build_metric_definitions()] == [
        (d.name, d.regex) for d in algo.metric_definitions]
    space = s.build_space()
    assert [r.name for r in space.ranges] == ["learning_rate", "mini_batch_size", "momentum", "weight_decay",
                                               "optimizer", "num_layers"]
    assert list(space["num_layers"].values) == [20, 32, 44, 56]  # 32x32 images: the small-image depths
    assert space["learning_rate"].scaling.value == "Logarithmic"
    assert dict(space.static) == STATIC


def test_what_the_spec_gives_wins() -> None:
    s = spec(objective={"metric": "validation:loss", "type": "minimize"},
             metric_definitions=[{"name": "validation:loss", "regex": r"Validation-loss=([0-9.]+)"}],
             hyperparameter_ranges={"learning_rate": {"min_value": 0.001, "max_value": 0.1, "scaling": "log"}})
    assert s.build_objective().metric == "validation:loss" and not s.build_objective().maximize
    assert [d.name for d in s.build_metric_definitions()] == ["validation:loss"]
    assert [r.name for r in s.build_space().ranges] == ["learning_rate"]  # no merging with the defaults


def test_a_static_hyperparameter_is_not_tuned_by_default() -> None:
    s = spec(static_hyperparameters={**STATIC, "optimizer": "adam", "num_layers": 20})
    names = [r.name for r in s.build_space().ranges]
    assert "optimizer" not in names and "num_layers" not in names and "learning_rate" in names


def test_required_hyperparameters_are_named() -> None:
    with pytest.raises(SpecError, match=r"^static_hyperparameters: the built-in algorithm 'image-classification' "
                                        r"needs the hyperparameter\(s\) num_classes, num_training_samples"):
        spec(static_hyperparameters={})
    # a tuned one counts as given
    s = spec(static_hyperparameters={"num_classes": 3},
             hyperparameter_ranges={"num_training_samples": {"values": [100, 200]}})
    assert [r.name for r in s.build_space().ranges] == ["num_training_samples"]


def test_an_unknown_hyperparameter_of_the_algorithm_is_refused() -> None:
    with pytest.raises(SpecError, match=r"static_hyperparameters.mini_batchsize: .*no hyperparameter "
                                        r"'mini_batchsize'. Did you mean 'mini_batch_size'"):
        spec(static_hyperparameters={**STATIC, "mini_batchsize": 64})
    with pytest.raises(SpecError, match=r"hyperparameter_ranges.lr: .*no hyperparameter 'lr'"):
        spec(hyperparameter_ranges={"lr": {"min_value": 0.001, "max_value": 0.1}})


def test_command_and_algorithm_together_are_an_error() -> None:
    with pytest.raises(SpecError, match=r"^program.algorithm: gives both a command \(\['python', 'train.py'\]\) "
                                        r"and the built-in algorithm 'image-classification'"):
        spec({"algorithm": "image-classification", "command": ["python", "train.py"]})


def test_unknown_algorithm_and_no_program() -> None:
    with pytest.raises(SpecError, match=r"^program.algorithm: there is no built-in algorithm 'image-clasification'. "
                                        r"Did you mean 'image-classification'\?"):
        spec({"algorithm": "image-clasification"})
    with pytest.raises(SpecError, match=r"^program.command: needs a command .* or a built-in algorithm"):
        spec({"channels": {"train": "t"}})


def test_the_stored_spec_comes_back_equal_and_runs_with_the_current_python() -> None:
    s = spec()
    data = s.to_json()
    assert TuningJobSpec.from_json(data) == s
    data["program"]["command"] = ["/old/venv/bin/python", "-m", "hyperjob.algorithms.image_classification"]
    again = TuningJobSpec.from_json(data)
    assert again.program.command[0] == sys.executable


def test_job_yaml_with_the_algorithm(tmp_path: Path) -> None:
    (tmp_path / "data" / "train").mkdir(parents=True)
    (tmp_path / "data" / "validation").mkdir()
    (tmp_path / "job.yaml").write_text(
        "name: pets\n"
        "program:\n"
        "  algorithm: image-classification\n"
        "  channels: {train: data/train, validation: data/validation}\n"
        "static_hyperparameters: {num_classes: 37, num_training_samples: 3680}\n"
        "limits: {max_jobs: 10}\n"
    )
    s = load_spec(tmp_path / "job.yaml")
    assert s.program.channels["train"] == str(tmp_path / "data" / "train")
    assert list(s.build_space()["num_layers"].values) == [18, 34, 50]  # the default 224x224 images
    with pytest.raises(SpecError, match="gives both a command"):
        load_spec(tmp_path / "job.yaml", command=["python", "other.py"])
