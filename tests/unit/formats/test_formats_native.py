"""The native job.yaml / job.json format: every field, the YAML traps, paths, round trips, build_* methods."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hyperjob.errors import SpecError
from hyperjob.formats import load_spec
from hyperjob.formats.spec import RangeSpec, TuningJobSpec, build_ranges
from hyperjob.records import Direction, MetricDefinition, Program
from hyperjob.space import CategoricalRange, ContinuousRange, DiscreteRange, IntegerRange, Scaling, Tier

FIXTURES = Path(__file__).parents[2] / "fixtures" / "specs"

MINIMAL = """\
name: demo
program: {command: [python, train.py]}
hyperparameter_ranges:
  lr: {min_value: 0.001, max_value: 0.1}
objective: {metric: loss, type: minimize}
limits: {max_jobs: 5}
"""


def write(tmp_path: Path, text: str, name: str = "job.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# -- the full example -------------------------------------------------------------------------------------------
def test_full_job_yaml_reads_every_field():
    spec = load_spec(FIXTURES / "job.yaml")
    assert spec.name == "mnist-mlp-1"
    assert spec.source_format == "native"
    assert spec.program.command == ["python", "train.py", "--data-format", "npz"]
    assert spec.program.working_dir == str(FIXTURES)
    assert spec.program.env == {"OMP_NUM_THREADS": "1", "LOG_LEVEL": "info"}
    assert spec.program.channels == {"train": str(FIXTURES / "data" / "train")}
    assert spec.static_hyperparameters == {"epochs": 5, "dataset": "mnist"}
    assert list(spec.hyperparameter_ranges) == ["lr", "momentum", "layers", "optimizer", "hidden", "batch_size"]
    assert spec.objective.metric == "val_acc" and spec.objective.type == "maximize"
    assert [d.name for d in spec.metric_definitions] == ["val_acc", "loss"]
    assert spec.strategy.name == "random" and spec.strategy.settings == {}
    assert spec.early_stopping == "off"
    assert spec.limits.max_jobs == 20 and spec.limits.max_parallel_jobs == 2
    assert spec.limits.max_runtime_s == 3600.0 and spec.limits.timeout_s == 600.0
    assert spec.limits.max_failed_jobs == 5
    assert spec.completion.target_value == 0.99
    assert spec.completion.max_jobs_not_improving == 10
    assert spec.completion.convergence == "auto"
    assert spec.random_seed == 7
    assert spec.store == "sqlite:///hyperjob-test.db"
    assert spec.output_dir == "runs"
    assert spec.warm_start is not None
    assert spec.warm_start.parents == ["mnist-mlp-0"] and spec.warm_start.type == "transfer_learning"
    assert spec.warnings == []


def test_full_job_yaml_builds_space_objective_program_and_metrics():
    spec = load_spec(FIXTURES / "job.yaml")
    space = spec.build_space()
    assert space.names == ("lr", "momentum", "layers", "optimizer", "hidden", "batch_size")
    lr, momentum, layers, optimizer, hidden, batch = space.ranges
    assert isinstance(lr, ContinuousRange) and lr.scaling is Scaling.LOGARITHMIC
    assert (lr.min_value, lr.max_value) == (1e-4, 0.1)
    assert isinstance(momentum, ContinuousRange) and momentum.scaling is Scaling.REVERSE_LOGARITHMIC
    assert isinstance(layers, IntegerRange) and (layers.min_value, layers.max_value) == (1, 4)
    assert isinstance(optimizer, CategoricalRange) and optimizer.values == ("sgd", "adam")
    assert isinstance(hidden, DiscreteRange) and hidden.values == (16, 32, 64, 128)
    assert isinstance(batch, DiscreteRange) and batch.values == (32, 64, 128) and batch.scaling is Scaling.LOGARITHMIC
    assert space.static == {"epochs": 5, "dataset": "mnist"}
    objective = spec.build_objective()
    assert objective.metric == "val_acc" and objective.direction is Direction.MAXIMIZE
    program = spec.build_program()
    assert isinstance(program, Program)
    assert program.command == ("python", "train.py", "--data-format", "npz")
    assert program.channels["train"].endswith(os.path.join("data", "train"))
    defs = spec.build_metric_definitions()
    assert defs[0] == MetricDefinition("val_acc", spec.metric_definitions[0].regex)


def test_round_trip_is_lossless_for_the_full_example():
    spec = load_spec(FIXTURES / "job.yaml")
    data = spec.to_json()
    assert json.loads(json.dumps(data)) == data  # plain JSON
    again = TuningJobSpec.from_json(data)
    assert again == spec
    assert TuningJobSpec.from_json(json.dumps(data)) == spec
    assert again.build_space() == spec.build_space()


def test_round_trip_keeps_warnings_and_int_bounds(tmp_path):
    text = MINIMAL.replace("loss, type", "val_loss, type")
    text += "metric_definitions: [{name: loss, regex: 'loss=([0-9.]+)'}]\n"
    spec = load_spec(write(tmp_path, text))
    assert spec.warnings  # the objective is not among the definitions; the regex reads no sign
    again = TuningJobSpec.from_json(spec.to_json())
    assert again.warnings == spec.warnings
    layers = TuningJobSpec.from_json({**spec.to_json(), "hyperparameter_ranges": {"n": {"min": 1, "max": 3}}})
    assert layers.to_json()["hyperparameter_ranges"]["n"] == {"type": "integer", "min_value": 1, "max_value": 3}


def test_json_file_is_read_like_yaml(tmp_path):
    data = {
        "name": "demo-json",
        "program": {"command": ["python", "train.py"]},
        "hyperparameter_ranges": {"opt": {"values": ["sgd", "adam"]}},
        "objective": {"metric": "acc", "type": "Maximize"},
        "strategy": "grid",
    }
    spec = load_spec(write(tmp_path, json.dumps(data), "job.json"))
    assert spec.strategy.name == "grid"
    assert spec.limits.max_jobs == 2  # the grid's size, filled in
    assert spec.objective.type == "maximize"


# -- YAML traps -------------------------------------------------------------------------------------------------
def test_yaml_off_stays_a_word_and_1e_minus_4_is_a_float(tmp_path):
    text = MINIMAL.replace("min_value: 0.001", "min_value: 1e-4")
    text += "early_stopping: off\ncompletion: {convergence: off}\n"
    spec = load_spec(write(tmp_path, text))
    assert spec.hyperparameter_ranges["lr"].min_value == 1e-4
    assert spec.early_stopping == "off" and spec.completion.convergence == "off"


def test_booleans_read_as_off_and_auto(tmp_path):
    spec = load_spec(write(tmp_path, MINIMAL + "early_stopping: true\ncompletion: {convergence: false}\n"))
    assert spec.early_stopping == "auto" and spec.completion.convergence == "off"


def test_leading_zero_integer_is_decimal_and_dates_stay_strings(tmp_path):
    text = MINIMAL + "static_hyperparameters: {width: 010, day: 2024-01-01, clock: 1:30}\n"
    spec = load_spec(write(tmp_path, text))
    assert spec.static_hyperparameters == {"width": 10, "day": "2024-01-01", "clock": "1:30"}


# -- type inference and range syntax ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "written, kind",
    [
        ({"min": 1, "max": 4}, "integer"),
        ({"min": 1, "max": 4.0}, "continuous"),
        ({"min_value": 0.1, "max_value": 1}, "continuous"),
        ({"values": [1, 2, 3]}, "categorical"),
        ({"type": "int", "min": 1, "max": 9}, "integer"),
        ({"type": "float", "min": 1, "max": 9}, "continuous"),
        ({"type": "Categorical", "values": ["a"]}, "categorical"),
    ],
)
def test_range_type_is_inferred_as_documented(written, kind):
    assert RangeSpec.model_validate(written).type == kind


def test_build_ranges_python_api_syntax_and_paths():
    ranges = build_ranges(
        {"lr": {"min": 1e-4, "max": 0.1, "scaling": "Logarithmic"}, "units": {"min": 16, "max": 64,
                                                                            "inc_strategy": "power2"}},
        path="space",
    )
    assert [r.name for r in ranges] == ["lr", "units"]
    assert ranges[0].scaling is Scaling.LOGARITHMIC and ranges[1].values == (16, 32, 64)
    with pytest.raises(SpecError) as err:
        build_ranges({"lr": {"min": 0, "max": 0.1, "scaling": "log"}}, path="space")
    assert err.value.path == "space.lr.scaling"
    assert "min_value > 0" in str(err.value)


def test_build_ranges_accepts_space_ranges_with_matching_names():
    r = IntegerRange(name="k", min_value=1, max_value=3)
    assert build_ranges({"k": r}) == [r]
    with pytest.raises(SpecError, match="named 'k' but listed as 'j'"):
        build_ranges({"j": r})


def test_range_spec_from_range_round_trips():
    ranges = [
        ContinuousRange(name="a", min_value=0.0, max_value=1.0, default=0.5, tier=Tier.TWO),
        IntegerRange(name="b", min_value=1, max_value=100, scaling="Logarithmic"),
        CategoricalRange(name="c", values=("x", 1, True)),
        DiscreteRange(name="d", values=(16, 32), integer=True, scaling=Scaling.LOGARITHMIC),
    ]
    for r in ranges:
        assert RangeSpec.from_range(r).to_range(r.name) == r


def test_tiers_apply_the_budget(tmp_path):
    text = MINIMAL.replace(
        "  lr: {min_value: 0.001, max_value: 0.1}",
        "  lr: {min_value: 0.001, max_value: 0.1, tier: 1}\n  dropout: {min: 0.0, max: 0.5, tier: 2, default: 0.1}",
    )
    spec = load_spec(write(tmp_path, text))
    space = spec.build_space()
    assert space.names == ("lr",)  # 5 training jobs tune tier 1 only
    assert space.static["dropout"] == 0.1
    assert spec.hyperparameter_ranges["dropout"].tier == "2"
    bigger = TuningJobSpec.from_json({**spec.to_json(), "limits": {"max_jobs": 20}})
    assert bigger.build_space().names == ("lr", "dropout")


# -- paths and the command line ------------------------------------------------------------------------------------
def test_relative_paths_start_at_the_spec_file(tmp_path):
    sub = tmp_path / "project"
    sub.mkdir()
    (sub / "data").mkdir()
    program = "{command: [python, train.py], working_dir: src, channels: {train: data, remote: 's3://b/x'}}"
    text = MINIMAL.replace("{command: [python, train.py]}", program)
    spec = load_spec(write(sub, text))
    assert spec.program.working_dir == str(sub / "src")
    assert spec.program.channels == {"train": str(sub / "data"), "remote": "s3://b/x"}


def test_working_dir_defaults_to_the_spec_directory(tmp_path):
    spec = load_spec(write(tmp_path, MINIMAL))
    assert spec.program.working_dir == str(tmp_path)


def test_command_line_replaces_the_command_and_runs_in_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sub = tmp_path / "specs"
    sub.mkdir()
    spec = load_spec(write(sub, MINIMAL), command=["python", "other.py", "--fast"])
    assert spec.program.command == ["python", "other.py", "--fast"]
    assert spec.program.working_dir == str(tmp_path)


def test_missing_channel_path_is_a_warning(tmp_path):
    text = MINIMAL.replace("{command: [python, train.py]}", "{command: [python, train.py], channels: {train: nope}}")
    spec = load_spec(write(tmp_path, text))
    assert any("does not exist" in w and "train=" in w for w in spec.warnings)


# -- model-level behaviour -------------------------------------------------------------------------------------
def test_models_are_frozen_and_errors_are_spec_errors():
    spec = TuningJobSpec.model_validate(
        {"name": "x", "program": {"command": ["a"]}, "objective": {"metric": "m", "type": "min"},
         "hyperparameter_ranges": {"p": {"values": [1]}}, "limits": {"max_jobs": 1}}
    )
    assert spec.objective.type == "minimize"
    with pytest.raises(Exception):
        spec.name = "y"  # type: ignore[misc]
    with pytest.raises(SpecError):
        TuningJobSpec(name="x")  # the constructor raises SpecError too, not pydantic's error


def test_grid_strategy_fills_max_jobs_with_the_number_of_combinations(tmp_path):
    text = MINIMAL.replace("lr: {min_value: 0.001, max_value: 0.1}",
                           "a: {values: [1, 2, 3]}\n  b: {values: [x, y]}").replace("limits: {max_jobs: 5}",
                                                                                   "strategy: grid")
    spec = load_spec(write(tmp_path, text))
    assert spec.limits.max_jobs == 6
    assert TuningJobSpec.from_json(spec.to_json()) == spec


def test_hyperband_settings_are_checked_and_kept(tmp_path):
    text = MINIMAL + "strategy: {name: hyperband, settings: {min_resource: 1, max_resource: 27}}\n"
    spec = load_spec(write(tmp_path, text))
    assert spec.strategy.settings == {"min_resource": 1, "max_resource": 27}


def test_static_values_are_stored_as_json_would(tmp_path):
    spec = TuningJobSpec.model_validate(
        {"name": "x", "program": {"command": ["a"]}, "objective": {"metric": "m", "type": "min"},
         "static_hyperparameters": {"shape": (3, 224, 224)}, "hyperparameter_ranges": {"p": {"values": [1, 2]}},
         "limits": {"max_jobs": 2}}
    )
    assert spec.static_hyperparameters["shape"] == [3, 224, 224]
    assert TuningJobSpec.from_json(spec.to_json()) == spec
