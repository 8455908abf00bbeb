"""hyperjob.tune is one more road into a TuningJobSpec: the spec checks its arguments, the store keeps a real
spec, and warm start, describe and `hyperjob resume` read it without knowing where it came from."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import hyperjob
from hyperjob.cli.app import app
from hyperjob.errors import SpecError
from hyperjob.formats.job_yaml import load_native
from hyperjob.formats.python_api import tune_spec
from hyperjob.formats.spec import TuningJobSpec
from hyperjob.records import TuningJobStatus
from hyperjob.store import open_store
from hyperjob.tuner.describe import describe_tuning_job
from hyperjob.tuner.loop import Tuner
from hyperjob.tuner.plan import TuningPlan

SPACE = {"x": {"type": "continuous", "min_value": 0.0, "max_value": 1.0}, "epochs": 9}


def train(hp: dict) -> float:
    return (hp["x"] - 0.3) ** 2


def _job_yaml(**fields) -> dict:
    return {"name": "roads", "program": {"command": ["python", "train.py"]},
            "hyperparameter_ranges": {"x": SPACE["x"]}, "static_hyperparameters": {"epochs": 9},
            "objective": {"metric": "objective", "type": "minimize"}, "limits": {"max_jobs": 4}, **fields}


@pytest.mark.parametrize("yaml_fields, tune_args", [
    ({"early_stopping": "sometimes"}, {"early_stopping": "sometimes"}),
    ({"strategy": "hyperband", "early_stopping": "auto"}, {"strategy": "hyperband", "early_stopping": "auto"}),
    ({"strategy": {"name": "random", "settings": {"n_initial": 3}}},
     {"strategy": "random", "strategy_settings": {"n_initial": 3}}),
    ({"strategy": {"name": "hyperband", "settings": {"reduction_factor": 1}}},
     {"strategy": "hyperband", "strategy_settings": {"reduction_factor": 1}}),
    ({"strategy": "tpe"}, {"strategy": "tpe"}),
    ({"limits": {"max_jobs": 0}}, {"max_jobs": 0}),
    ({"random_seed": -1}, {"seed": -1}),
    ({"hyperparameter_ranges": {"x": {"min_value": 0.0, "max_value": 1.0, "scaling": "log"}}},
     {"space": {"x": {"min_value": 0.0, "max_value": 1.0, "scaling": "log"}, "epochs": 9}}),
    ({"program": {"command": "python train.py"}}, {"train": "python train.py"}),
    ({"executor": {"type": "slurm"}}, {"train": ["python", "train.py"], "executor": "slurm"}),
    ({"executor": {"type": "local", "address": "10.0.0.1:6379"}},
     {"train": ["python", "train.py"], "executor": {"type": "local", "address": "10.0.0.1:6379"}}),
    ({"executor": {"type": "ray"}, "resources": {"gpus": -1}},
     {"train": ["python", "train.py"], "executor": "ray", "resources": {"gpus": -1}}),
], ids=["early-stopping", "hyperband-auto", "unknown-setting", "hyperband-setting", "unknown-strategy",
        "max-jobs", "seed", "range", "command-string", "executor-type", "executor-address", "resources"])
def test_both_roads_are_refused_by_the_spec_with_the_same_message_and_path(tmp_path, yaml_fields, tune_args):
    with pytest.raises(SpecError) as from_yaml:
        load_native(_job_yaml(**yaml_fields), source="job.yaml")
    args = {"train": train, "space": SPACE, "max_jobs": 4, "name": "roads", "store": str(tmp_path / "s.db"),
            "output_dir": str(tmp_path / "runs"), **tune_args}
    with pytest.raises(SpecError) as from_python:
        hyperjob.tune(args.pop("train"), args.pop("space"), **args)
    assert from_yaml.value.source == "job.yaml" and from_python.value.source is None
    assert (from_python.value.path, from_python.value.message) == (from_yaml.value.path, from_yaml.value.message)
    assert not (tmp_path / "s.db").exists()  # refused before anything is recorded


def test_the_ray_executor_refuses_a_function_at_the_spec(tmp_path):
    with pytest.raises(SpecError, match=r"the Ray executor runs a training program given as a command") as err:
        hyperjob.tune(train, SPACE, max_jobs=2, executor="ray", store=str(tmp_path / "s.db"))
    assert err.value.path == "executor.type" and not (tmp_path / "s.db").exists()


def test_the_stored_spec_of_a_tune_job_is_a_real_spec(tmp_path):
    result = hyperjob.tune(train, SPACE, max_jobs=3, strategy="random", seed=0, name="api",
                           store=str(tmp_path / "s.db"), output_dir=str(tmp_path / "runs"))
    assert result.status == "Completed"
    db = open_store(result.store_url)
    try:
        stored = dict(db.get_tuning_job("api").spec)
        described = describe_tuning_job(db, "api")
    finally:
        db.close()
    assert "python_api" not in stored
    spec = TuningJobSpec.from_json(stored)
    assert spec.to_json() == stored  # it round-trips exactly
    assert spec.program_is_function and spec.program.function == f"{__name__}:train"
    assert spec.program.command is None and spec.source_format == "python"
    assert spec.build_space().static == {"epochs": 9} and spec.limits.max_jobs == 3
    assert spec.strategy.name == "random" and spec.random_seed == 0
    assert described["HyperParameterTuningJobName"] == "api"
    # the spec a tune() call gives equals what the same declaration gives as a job.yaml (but for the program)
    twin = load_native(_job_yaml(name="api", strategy="random", random_seed=0, limits={"max_jobs": 3},
                                 output_dir=str(tmp_path / "runs"), store=str(tmp_path / "s.db")))
    assert {k: v for k, v in stored.items() if k not in ("program", "source_format")} == {
        k: v for k, v in twin.to_json().items() if k not in ("program", "source_format")}


def test_a_function_spec_needs_its_function_beside_it():
    spec = tune_spec(train, SPACE, max_jobs=3, name="f")
    with pytest.raises(SpecError, match=r"^program.function: the training program is the Python function "
                                        r"'.*:train'.*hyperjob.tune\(train_fn, \.\.\., name='f', resume=True\)"):
        TuningPlan.from_spec(spec)
    assert TuningPlan.from_spec(spec, function=train).program.function is train
    command = tune_spec([sys.executable, "t.py"], SPACE, max_jobs=3, name="c")
    assert command.program.command == [sys.executable, "t.py"] and command.program.working_dir == str(Path.cwd())
    with pytest.raises(SpecError, match=r"^program: a function .* was given for a program that is a command"):
        TuningPlan.from_spec(command, function=train)
    with pytest.raises(SpecError, match=r"^program.function: names the Python function 'm:f' and also a command"):
        TuningJobSpec.model_validate(_job_yaml(program={"function": "m:f", "command": ["python", "t.py"]}))


def test_a_spec_holds_only_json_static_values():
    with pytest.raises(SpecError, match=r"^static_hyperparameters.data: the value .* cannot be stored as JSON"):
        tune_spec(train, SPACE, static={"data": object()}, max_jobs=3)


def test_warm_start_from_a_tune_parent_reads_its_spec(tmp_path):
    store = str(tmp_path / "s.db")
    hyperjob.tune(train, SPACE, max_jobs=4, strategy="random", seed=1, name="parent", store=store,
                  output_dir=str(tmp_path / "runs"))
    child = TuningJobSpec.model_validate(_job_yaml(
        name="child", program={"command": [sys.executable, "-c", "print('objective=0.5')"]},
        metric_definitions=[{"name": "objective", "regex": r"objective=([0-9.]+)"}], strategy="random",
        limits={"max_jobs": 1}, warm_start={"parents": ["parent"]}, output_dir=str(tmp_path / "runs")))
    db = open_store(store)
    try:
        tuner = Tuner(TuningPlan.from_spec(child), db)
        outcome = tuner.run()
        assert outcome.status is TuningJobStatus.COMPLETED
        assert len(tuner.warm_start.observations) == 4  # every training job of the Python parent
        out = describe_tuning_job(db, "child")
        assert out["OverallBestTrainingJob"]["TuningJobName"] == "parent"
    finally:
        db.close()


def test_resume_refuses_a_function_job_from_its_spec(tmp_path):
    store = str(tmp_path / "s.db")
    hyperjob.tune(train, SPACE, max_jobs=2, strategy="random", name="fn", store=store,
                  output_dir=str(tmp_path / "runs"))
    result = CliRunner().invoke(app, ["resume", "fn", "--store", store, "-q"])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert f"trains the Python function '{__name__}:train'" in text
    assert "hyperjob.tune(..., name='fn', resume=True)" in text


def test_an_old_python_api_record_is_read_as_a_function_spec(tmp_path):
    old = {"name": "old", "objective": {"metric": "loss", "type": "minimize"},
           "strategy": {"name": "random"}, "early_stopping": "off",
           "limits": {"max_jobs": 5, "max_parallel_jobs": 1}, "python_api": True,
           "hyperparameter_ranges": {"lr": {"type": "continuous", "min_value": 0.001, "max_value": 0.1}},
           "static_hyperparameters": {"epochs": 3}}
    spec = TuningJobSpec.from_json(old)
    assert spec.program_is_function and spec.source_format == "python"
    assert spec.build_space().names == ("lr",) and spec.limits.max_jobs == 5
    with pytest.raises(SpecError, match=r"^hyperparameter_ranges: it is a hyperjob.tune record written without"):
        TuningJobSpec.from_json({k: v for k, v in old.items() if k != "hyperparameter_ranges"})
    db = open_store(str(tmp_path / "s.db"))
    db.create_tuning_job("old", old)
    db.close()
    result = CliRunner().invoke(app, ["resume", "old", "--store", str(tmp_path / "s.db"), "-q"])
    assert result.exit_code == 1 and "resume=True" in " ".join(result.output.split())


def test_yaml_of_the_stored_spec_is_a_job_yaml_but_for_its_program(tmp_path):
    """A tune() job can be rerun from the command line by giving its stored spec a command."""
    spec = tune_spec(train, SPACE, max_jobs=3, name="again", output_dir=str(tmp_path))
    data = spec.to_json()
    for key in ("source_format", "warnings"):
        data.pop(key)
    data["program"] = {"command": ["python", "train.py"]}
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(data))
    from hyperjob.formats import load_spec

    again = load_spec(path)
    assert again.build_space() == spec.build_space() and again.limits == spec.limits
