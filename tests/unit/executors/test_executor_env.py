"""Arguments, environment and directory of a training job (no process started)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hyperjob.errors import SpecError
from hyperjob.executors.base import LaunchRequest, Program
from hyperjob.executors.env import JobLayout, build_arguments, build_environment, format_value


def _request(tmp_path: Path, **kw) -> LaunchRequest:
    program = kw.pop("program", Program(command=("python", "train.py"), working_dir=str(tmp_path)))
    return LaunchRequest(
        training_job_id=kw.pop("training_job_id", "tj-001"),
        hyperparameters=kw.pop("hyperparameters", {"lr": 0.01, "batch-size": 32}),
        job_dir=tmp_path / "runs" / "tj-001",
        program=program,
        objective_metric=kw.pop("objective_metric", "loss"),
        **kw,
    )


def test_arguments_are_sorted_name_value_pairs_with_toolkit_formatting() -> None:
    args = build_arguments(
        {
            "optimizer": "adam w",
            "lr": 1e-05,
            "epochs": 3,
            "use-amp": True,
            "layers": [64, 32],
            "names": ["a", "b"],
            "none": None,
            "sagemaker_program": "train.py",
            "sagemaker_submit_directory": "s3://x",
            "_tuning_objective_metric": "loss",
        }
    )
    assert args == [
        "--epochs", "3",
        "--layers", "[64, 32]",
        "--lr", "1e-05",
        "--names", '["a", "b"]',
        "--none", "",
        "--optimizer", "adam w",
        "--use-amp", "True",
    ]


def test_format_value_of_numpy_scalars_is_the_python_number() -> None:
    np = pytest.importorskip("numpy")
    assert format_value(np.float64(0.25)) == "0.25"
    assert format_value(np.int64(7)) == "7"
    assert format_value(np.bool_(False)) == "False"
    assert format_value((1, 2)) == "[1, 2]"


def test_environment_has_hyperjob_and_sagemaker_names(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    req = _request(
        tmp_path,
        hyperparameters={"lr": 0.01, "batch-size": 32, "backend": "gloo", "sagemaker_program": "train.py"},
        program=Program(
            command=("python", "train.py"), working_dir=str(tmp_path), channels={"train": "data", "test": "/abs/t"}
        ),
    )
    layout = JobLayout.of(req.job_dir)
    env = build_environment(req, layout, base={"PATH": "/bin"})
    job_dir = str(tmp_path / "runs" / "tj-001")
    assert env["HYPERJOB_TRAINING_JOB_NAME"] == "tj-001" == env["TRAINING_JOB_NAME"]
    assert env["HYPERJOB_HYPERPARAMETERS"] == f"{job_dir}/hyperparameters.json"
    assert env["HYPERJOB_METRICS_FILE"] == f"{job_dir}/metrics.jsonl"
    assert env["HYPERJOB_MODEL_DIR"] == f"{job_dir}/model" == env["SM_MODEL_DIR"]
    assert env["HYPERJOB_OUTPUT_DIR"] == f"{job_dir}/output" == env["SM_OUTPUT_DIR"]
    assert env["SM_OUTPUT_DATA_DIR"] == f"{job_dir}/output/data"
    assert env["HYPERJOB_CHECKPOINT_DIR"] == f"{job_dir}/checkpoints"
    assert env["HYPERJOB_OBJECTIVE_METRIC"] == "loss"
    assert env["HYPERJOB_CHANNEL_TRAIN"] == str(tmp_path / "data") == env["SM_CHANNEL_TRAIN"]
    assert env["SM_CHANNEL_TEST"] == "/abs/t"
    assert json.loads(env["SM_CHANNELS"]) == ["test", "train"]
    assert json.loads(env["SM_HOSTS"]) == ["algo-1"] and env["SM_CURRENT_HOST"] == "algo-1"
    assert env["SM_NUM_GPUS"] == "0" and int(env["SM_NUM_CPUS"]) >= 1
    assert json.loads(env["SM_HPS"]) == {"backend": "gloo", "batch-size": 32, "lr": 0.01}  # no sagemaker_*
    assert env["SM_HP_LR"] == "0.01" and env["SM_HP_BATCH-SIZE"] == "32" and env["SM_HP_BACKEND"] == "gloo"
    assert "SM_HP_SAGEMAKER_PROGRAM" not in env
    assert json.loads(env["SM_USER_ARGS"]) == ["--backend", "gloo", "--batch-size", "32", "--lr", "0.01"]
    assert env["SM_MODULE_NAME"] == "train" and env["SM_USER_ENTRY_POINT"] == "train.py"
    assert env["SM_MODULE_DIR"] == str(tmp_path)
    assert env["SM_INPUT_DIR"] == f"{job_dir}/input" and env["SM_INPUT_CONFIG_DIR"] == f"{job_dir}/input/config"
    assert json.loads(env["SM_RESOURCE_CONFIG"])["current_host"] == "algo-1"
    training_env = json.loads(env["SM_TRAINING_ENV"])
    assert training_env["hyperparameters"] == {"backend": "gloo", "batch-size": 32, "lr": 0.01}
    assert training_env["channel_input_dirs"]["train"] == str(tmp_path / "data")
    assert training_env["job_name"] == "tj-001" and training_env["model_dir"] == f"{job_dir}/model"
    assert env["PYTHONUNBUFFERED"] == "1" and env["OMP_NUM_THREADS"] == "1" and env["PATH"] == "/bin"


def test_inherited_hyperjob_and_sm_variables_are_dropped_and_program_env_wins(tmp_path: Path) -> None:
    req = _request(
        tmp_path,
        program=Program(command=("prog",), env={"OMP_NUM_THREADS": "4", "SM_CURRENT_HOST": "mine", "X": "1"}),
    )
    base = {"SM_HP_OLD": "1", "HYPERJOB_MODEL_DIR": "/elsewhere", "HOME": "/h", "CUDA_VISIBLE_DEVICES": "0,1"}
    env = build_environment(req, JobLayout.of(req.job_dir), base=base)
    assert "SM_HP_OLD" not in env and env["HYPERJOB_MODEL_DIR"].startswith(str(tmp_path))
    assert env["OMP_NUM_THREADS"] == "4" and env["SM_CURRENT_HOST"] == "mine" and env["X"] == "1"
    assert env["HOME"] == "/h" and env["SM_NUM_GPUS"] == "2"
    assert "SM_MODULE_NAME" not in env  # no python script in the command, no sagemaker_program


def test_inherited_omp_setting_is_kept_and_no_gpu_for_minus_one(tmp_path: Path) -> None:
    req = _request(tmp_path)
    env = build_environment(req, JobLayout.of(req.job_dir), base={"OMP_NUM_THREADS": "3", "CUDA_VISIBLE_DEVICES": "-1"})
    assert env["OMP_NUM_THREADS"] == "3" and env["SM_NUM_GPUS"] == "0"


def test_names_that_cannot_be_environment_variables_are_refused(tmp_path: Path) -> None:
    req = _request(tmp_path, hyperparameters={"a=b": 1})
    with pytest.raises(SpecError, match=r"hyperparameters\.a=b.*environment variable"):
        build_environment(req, JobLayout.of(req.job_dir), base={})
    req = _request(tmp_path, program=Program(command=("p",), channels={"tr=ain": "/d"}))
    with pytest.raises(SpecError, match="channel name 'tr=ain'"):
        build_environment(req, JobLayout.of(req.job_dir), base={})


def test_layout_writes_only_inside_the_job_dir(tmp_path: Path) -> None:
    req = _request(
        tmp_path,
        hyperparameters={"lr": 0.01, "use-amp": False, "opt": "sgd", "sagemaker_program": "train.py"},
        program=Program(command=("p",), channels={"train": "/data"}),
    )
    before = set(tmp_path.rglob("*"))
    layout = JobLayout.of(req.job_dir)
    layout.create(req)
    created = set(tmp_path.rglob("*")) - before
    job_dir = tmp_path / "runs" / "tj-001"
    assert all(p == job_dir or job_dir in p.parents or p == job_dir.parent for p in created)
    assert json.loads((job_dir / "hyperparameters.json").read_text()) == {
        "lr": 0.01, "opt": "sgd", "sagemaker_program": "train.py", "use-amp": False,
    }
    sm_hps = json.loads((job_dir / "input/config/hyperparameters.json").read_text())
    assert sm_hps == {"lr": "0.01", "opt": "sgd", "sagemaker_program": "train.py", "use-amp": "false"}
    assert json.loads((job_dir / "input/config/resourceconfig.json").read_text())["hosts"] == ["algo-1"]
    assert list(json.loads((job_dir / "input/config/inputdataconfig.json").read_text())) == ["train"]
    for d in ("model", "output/data", "checkpoints"):
        assert (job_dir / d).is_dir()
    assert (job_dir / "metrics.jsonl").read_text() == ""


def test_layout_create_empties_an_earlier_attempts_metrics(tmp_path: Path) -> None:
    req = _request(tmp_path)
    layout = JobLayout.of(req.job_dir)
    layout.create(req)
    layout.metrics.write_text('{"step": 0, "metrics": {"loss": 1}}\n')
    layout.create(req)
    assert layout.metrics.read_text() == ""
    assert os.path.isabs(layout.job_dir)
