"""Every SM_* variable SageMaker's training toolkit sets for a script-mode entry point is set (no process started).

The toolkit's ``Environment.to_env_vars`` (sagemaker-training-toolkit, ``environment.py``) writes one ``SM_<KEY>``
per key below, plus ``SM_CHANNEL_<NAME>`` per channel and ``SM_HP_<NAME>`` per hyperparameter; a script that reads
any of them with ``os.environ[...]`` must find it.
"""

from __future__ import annotations

import json
from pathlib import Path

from hyperjob.executors.base import LaunchRequest, Program
from hyperjob.executors.env import JobLayout, build_environment

#: the keys of the toolkit's to_env_vars, in its order
TOOLKIT_KEYS = (
    "hosts", "network_interface_name", "hps", "user_entry_point", "framework_params", "resource_config",
    "input_data_config", "output_data_dir", "channels", "current_host", "current_instance_type",
    "current_instance_group", "current_instance_group_hosts", "instance_groups", "instance_groups_dict",
    "distribution_instance_groups", "is_hetero", "module_name", "log_level", "framework_module", "input_dir",
    "input_config_dir", "output_dir", "num_cpus", "num_gpus", "model_dir", "module_dir", "training_env",
    "user_args", "output_intermediate_dir",
)


def test_every_toolkit_variable_is_set_for_a_script_mode_job(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    job = LaunchRequest(
        training_job_id="rf-001",
        hyperparameters={"n-estimators": 20, "features": "a b", "sagemaker_program": "script.py",
                         "sagemaker_submit_directory": "s3://b/source.tar.gz", "_tuning_objective_metric": "m"},
        job_dir=tmp_path / "runs" / "rf-001",
        program=Program(command=("python", "script.py"), working_dir=str(tmp_path), channels={"train": "train"}),
        objective_metric="median-AE",
    )
    layout = JobLayout.of(job.job_dir)
    env = build_environment(job, layout, base={"PATH": "/bin", "SM_STALE": "x"})
    missing = [key for key in TOOLKIT_KEYS if f"SM_{key.upper()}" not in env]
    assert missing == []
    assert "SM_STALE" not in env
    assert env["SM_CHANNEL_TRAIN"] == str(tmp_path / "train")
    assert env["SM_HP_N-ESTIMATORS"] == "20" and env["SM_HP_FEATURES"] == "a b"
    assert not any(k.startswith("SM_HP_SAGEMAKER") or k == "SM_HP__TUNING_OBJECTIVE_METRIC" for k in env)
    assert json.loads(env["SM_USER_ARGS"]) == ["--features", "a b", "--n-estimators", "20"]
    assert json.loads(env["SM_FRAMEWORK_PARAMS"]) == {}  # toolkit keys are not framework parameters
    assert env["SM_USER_ENTRY_POINT"] == "script.py" and env["SM_MODULE_NAME"] == "script"
    assert env["SM_FRAMEWORK_MODULE"] == ""  # script mode: no framework module
    assert json.loads(env["SM_HOSTS"]) == ["algo-1"] and env["SM_CURRENT_HOST"] == "algo-1"
    assert env["SM_NUM_GPUS"] == "0"
