"""Experiment files (seed 004) read into a TuningJobSpec: periods from date_ranges, finite parameter lists,
architectures registered in a file or an entry point, auto experiments and stages."""

from __future__ import annotations

import importlib.metadata
import json
import sys
import types
from pathlib import Path

import pytest

from hyperjob.errors import SpecError
from hyperjob.formats import detect_format, load_spec
from hyperjob.formats.experiments import ENTRY_POINT_GROUP, load_experiments, stage_specs

ARCHITECTURES = """
lstm:
  program: {command: [python, train_lstm.py]}
  objective: {metric: mse, type: minimize}
  metric_definitions:
    - {name: mse, regex: 'mse=([0-9.]+)'}
    - {name: loss, regex: 'loss=([0-9.]+)'}
  ranges:
    learning_rate: {type: continuous, min_value: 0.0001, max_value: 0.1, scaling: logarithmic}
    lr_decay: {type: categorical, values: [0.5, 0.9]}
    units: {type: integer, min_value: 16, max_value: 256}
  static: {epochs: 20}
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "architectures.yaml").write_text(ARCHITECTURES)
    return tmp_path


def write(folder, data, name="exp.json"):
    path = folder / name
    path.write_text(json.dumps(data))
    return path


def test_the_teams_file_is_a_grid_over_its_values_once_per_period(folder):
    path = write(folder, {"architecture": "lstm", "architectures": "architectures.yaml",
                          "date_ranges": [["2024-01-01", "2024-03-31"], ["2024-04-01", "2024-06-30"]],
                          "parameters": {"learning_rate": [0.001, 0.01], "units": [32, 64, 128], "dropout": [0.1]}})
    assert detect_format(json.loads(path.read_text())) == "experiments"
    spec = load_spec(path)
    assert spec.name == "exp" and spec.strategy.name == "grid" and spec.limits.max_jobs == 6
    assert spec.hyperparameter_ranges["units"].values == [32, 64, 128]
    assert spec.static_hyperparameters == {"epochs": 20, "dropout": 0.1}  # a one-value list is static
    assert spec.periods.dates == [["2024-01-01", "2024-03-31"], ["2024-04-01", "2024-06-30"]]
    assert spec.objective.metric == "mse" and [m.name for m in spec.metric_definitions] == ["mse", "loss"]
    assert spec.program.command == ["python", "train_lstm.py"] and spec.program.working_dir == str(folder)


def test_random_over_the_finite_sets_and_auto_experiments_from_the_builtin_ranges(folder):
    spec = load_spec(write(folder, {"architecture": "lstm", "architectures": "architectures.yaml", "search": "random",
                                    "experiments": 7, "parameters": {"units": [32, 64, 128]}}))
    assert spec.strategy.name == "random" and spec.limits.max_jobs == 7
    auto = load_spec(write(folder, {"architecture": "lstm", "architectures": "architectures.yaml", "seeds": 3}))
    assert set(auto.hyperparameter_ranges) == {"learning_rate", "lr_decay", "units"}
    assert auto.strategy.name == "random" and auto.limits.max_jobs == 20 and auto.periods.seeds == 3


def test_a_builtin_algorithm_is_an_architecture(folder):
    spec = load_spec(write(folder, {"architecture": "image-classification", "experiments": 4,
                                    "static": {"num_classes": 10, "num_training_samples": 100}}))
    assert spec.program.algorithm == "image-classification" and spec.hyperparameter_ranges  # its ranges


def test_an_entry_point_registers_an_architecture(folder, monkeypatch):
    module = types.ModuleType("toy_architectures")
    module.ARCH = {"program": {"command": ["python", "toy.py"]}, "objective": {"metric": "rmse", "type": "minimize"},
                   "ranges": {"lr": {"type": "categorical", "values": [0.1, 0.2]}}}
    monkeypatch.setitem(sys.modules, "toy_architectures", module)
    ep = importlib.metadata.EntryPoint(name="toy", value="toy_architectures:ARCH", group=ENTRY_POINT_GROUP)
    real = importlib.metadata.entry_points
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda **kw: [ep] if kw.get("group") == ENTRY_POINT_GROUP else real(**kw))
    spec = load_experiments({"architecture": "toy", "search": "grid"}, source="exp.json", base_dir=folder)
    assert spec.program.command == ["python", "toy.py"] and spec.objective.metric == "rmse"


def test_stages_tune_the_learning_rate_family_first(folder):
    spec = load_spec(write(folder, {"architecture": "lstm", "architectures": "architectures.yaml", "stages": True,
                                    "parameters": {"learning_rate": [0.001, 0.01], "lr_decay": [0.5, 0.9],
                                                   "units": [32, 64]}}))
    assert spec.name == "exp-stage1" and set(spec.hyperparameter_ranges) == {"learning_rate", "lr_decay"}
    assert spec.static_hyperparameters["units"] == 32
    data = {"name": "e", "hyperparameter_ranges": {"lr": {"values": [1, 2]}, "units": {"values": [3, 4]}},
            "static_hyperparameters": {}, "strategy": {"name": "grid"}}
    first, second = stage_specs(data, None, {"lr": 2})
    assert second["name"] == "e-stage2" and second["static_hyperparameters"] == {"lr": 2}
    assert list(second["hyperparameter_ranges"]) == ["units"] and first["static_hyperparameters"] == {"units": 3}


@pytest.mark.parametrize("data, message", [
    ({"architecture": "lstn", "architectures": "architectures.yaml"}, r"architecture: unknown architecture 'lstn'. Did you mean 'lstm'"),
    ({"architecture": "lstm", "architectures": "architectures.yaml", "parameters": {"units": 32}},
     r"parameters.units: is a non-empty list"),
    ({"architecture": "lstm", "architectures": "architectures.yaml", "parameters": {"units": [1, 2]},
      "date_ranges": [["2024-05-01", "2024-01-01"]]}, r"date_ranges\[0\]: the period ends"),
    ({"architecture": "lstm", "architectures": "architectures.yaml", "paramters": {}}, r"paramters: unknown member"),
    ({"architecture": "lstm", "architectures": "architectures.yaml", "search": "tpe"}, r"search: is grid, random"),
    ({"architecture": "lstm", "architectures": "architectures.yaml", "stages": True, "parameters": {"units": [1, 2]}},
     r"stages: stages tune the learning-rate family first"),
])
def test_bad_experiment_files_name_the_member(folder, data, message):
    with pytest.raises(SpecError, match=message) as caught:
        load_spec(write(folder, data))
    assert str(caught.value).startswith(str(folder / "exp.json"))


def test_a_sagemaker_request_declares_periods_fast_mode_and_results(tmp_path):
    request = json.loads((Path(__file__).parents[2] / "fixtures" / "specs" / "sagemaker-local.json").read_text())
    request["HyperParameterTuningJobConfig"].pop("TrainingJobEarlyStoppingType", None)  # periods judge whole jobs
    request["HyperjobExperiment"] = {"Periods": {"seeds": 3, "aggregate": "median"},
                                     "Fast": {"static_hyperparameters": {"dropout": 0.5}},
                                     "Results": {"url": str(tmp_path / "r.csv")}}
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    spec = load_spec(path, command=["python", "train.py"])
    assert spec.periods.seeds == 3 and spec.periods.aggregate == "median" and spec.results.url.endswith("r.csv")
    request["HyperjobExperiment"]["Periods"] = {"seeds": 0}
    path.write_text(json.dumps(request))
    with pytest.raises(SpecError, match=r"HyperjobExperiment.Periods: must be at least 1, got 0"):
        load_spec(path, command=["python", "train.py"])


def test_validate_shows_the_periods_fast_mode_and_results(folder):
    from hyperjob.formats.validate import render, validate_file

    path = write(folder, {"architecture": "lstm", "architectures": "architectures.yaml", "seeds": 3,
                          "parameters": {"units": [32, 64]}, "fast": {"static_hyperparameters": {"epochs": 2}},
                          "results": {"url": "memory://runs/results.csv"}})
    text = render(validate_file(path))
    assert "periods:        3, mean of each configuration: seed 0, seed 1, seed 2" in text
    assert "fast mode:      off (--fast): 1 month, epochs=2" in text and "results:        memory://runs/results.csv" in text
