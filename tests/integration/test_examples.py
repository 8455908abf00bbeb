"""The shipped examples: the job.yaml and the SageMaker request describe the same tuning job, and the training
program follows the contract."""

import json
import os
import subprocess
import sys
from pathlib import Path

from hyperjob.formats import load_spec
from hyperjob.space import CategoricalRange

EXAMPLES = Path(__file__).parents[2] / "examples" / "digits"


def test_job_yaml_and_sagemaker_request_agree():
    native = load_spec(EXAMPLES / "job.yaml")
    sm = load_spec(EXAMPLES / "sagemaker-request.json", command=["python", "train.py"])
    a, b = native.build_space(), sm.build_space()
    assert set(a.names) == set(b.names) == {"learning_rate", "hidden_units", "alpha", "batch_size"}
    assert native.build_objective() == sm.build_objective()
    assert native.build_objective().maximize
    assert native.limits.max_jobs == sm.limits.max_jobs == 16
    assert native.limits.max_parallel_jobs == sm.limits.max_parallel_jobs == 2
    assert a.static["epochs"] == b.static["epochs"] == 8
    assert isinstance(b["batch_size"], CategoricalRange)
    assert sorted(b["batch_size"].values) == [32, 64, 128]  # SageMaker's strings decoded as the toolkit does
    assert a["learning_rate"].scaling == b["learning_rate"].scaling


def test_training_program_prints_metrics_every_epoch_and_saves_the_model(tmp_path):
    env = {**os.environ, "SM_MODEL_DIR": str(tmp_path / "model")}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "train.py"), "--epochs", "2", "--hidden_units", "16",
         "--learning_rate", "0.01"],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("epoch")]
    assert len(lines) == 2 and all("validation:accuracy=" in line for line in lines)
    summary = json.loads((tmp_path / "model" / "summary.json").read_text())
    assert 0.5 < summary["validation_accuracy"] <= 1.0
    assert (tmp_path / "model" / "model.pkl").exists()


def test_hyperband_example_reads_max_resource_from_its_epochs():
    from hyperjob.strategies.hyperband import resolve_settings

    spec = load_spec(EXAMPLES / "job-hyperband.yaml")
    assert spec.strategy.name == "hyperband" and spec.early_stopping == "off"
    ladder = resolve_settings(spec.build_space(), spec.strategy.settings)
    assert (ladder.max_resource, ladder.levels(0)) == (27, (1, 3, 9))


def test_warm_start_example_continues_the_demo_within_every_rule():
    from hyperjob.tuner.warm_start import IDENTICAL, check_parent, count_changes

    parent, child = load_spec(EXAMPLES / "job.yaml"), load_spec(EXAMPLES / "job-warm-start.yaml")
    assert child.warm_start.parents == [parent.name] and child.warm_start.type == IDENTICAL
    p_space, c_space = parent.build_space(), child.build_space()
    # rules 3 to 6 hold (this raises otherwise), with no change to count: only ranges were narrowed
    check_parent(0, parent.name, p_space, parent.build_objective(), c_space, child.build_objective())
    assert count_changes(p_space, c_space) == []
    for r in c_space.ranges:
        if isinstance(r, CategoricalRange):
            assert r.values == p_space[r.name].values
        else:  # inside the parent's range, so the parent's training jobs map into it
            assert p_space[r.name].min_value <= r.min_value < r.max_value <= p_space[r.name].max_value
    assert (child.program.command, c_space.static) == (parent.program.command, p_space.static)
