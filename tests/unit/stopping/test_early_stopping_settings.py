"""``early_stopping``'s settings: ``off``, ``auto`` (SageMaker's rule exactly) and an explicit warm-up, read the
same way from job.yaml, a SageMaker request, ``hyperjob.tune``'s arguments, ``AskTell`` and an old store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from hyperjob import AskTell
from hyperjob.errors import SpecError
from hyperjob.formats import load_spec
from hyperjob.formats.python_api import tune_spec
from hyperjob.formats.sagemaker import load_sagemaker_request
from hyperjob.formats.spec import EarlyStoppingSpec, TuningJobSpec, read_early_stopping
from hyperjob.records import Objective
from hyperjob.stopping.base import Action, MedianRule
from hyperjob.stopping.median import MedianStopper
from hyperjob.store import open_store
from hyperjob.tuner.plan import TuningPlan

FIXTURES = Path(__file__).parents[2] / "fixtures"
SPEC = {
    "name": "e", "program": {"command": ["python", "t.py"]}, "objective": {"metric": "m", "type": "min"},
    "hyperparameter_ranges": {"x": {"min_value": 0.0, "max_value": 1.0}}, "strategy": "random",
    "limits": {"max_jobs": 3},
}
SPACE = {"x": {"min_value": 0.0, "max_value": 1.0}}
WARM_UP = {"rule": "median", "min_jobs": 3, "grace_values": 1}


def _spec(early_stopping: Any, **more: Any) -> TuningJobSpec:
    return TuningJobSpec.model_validate({**SPEC, "early_stopping": early_stopping, **more})


@pytest.mark.parametrize("value", ["auto", "Auto", True, {"rule": "median"}, {},
                                   {"rule": "median", "min_jobs": 1, "grace_values": 0}])
def test_auto_and_sagemakers_values_are_the_exact_rule(value: Any) -> None:
    spec = _spec(value)
    assert spec.early_stopping == "auto" and spec.to_json()["early_stopping"] == "auto"
    assert spec.build_early_stopping() == MedianRule() and MedianRule().exact
    assert TuningPlan.from_spec(spec).early_stopping == MedianRule()


@pytest.mark.parametrize("value", ["off", "OFF", False])
def test_off_is_no_rule(value: Any) -> None:
    spec = _spec(value)
    assert spec.early_stopping == "off" and spec.build_early_stopping() is None
    assert TuningPlan.from_spec(spec).early_stopping is None


def test_a_warm_up_is_kept_as_given_and_round_trips() -> None:
    spec = _spec(WARM_UP)
    assert spec.early_stopping == EarlyStoppingSpec(min_jobs=3, grace_values=1)
    assert spec.build_early_stopping() == MedianRule(min_jobs=3, grace_values=1)
    assert not spec.build_early_stopping().exact
    assert spec.to_json()["early_stopping"] == WARM_UP
    assert str(spec.early_stopping) == "{rule: median, min_jobs: 3, grace_values: 1} (a warm-up)"
    assert TuningJobSpec.from_json(json.dumps(spec.to_json())) == spec
    assert TuningPlan.from_spec(spec).early_stopping == MedianRule(3, 1)
    assert _spec({"grace_values": 2}).build_early_stopping() == MedianRule(min_jobs=1, grace_values=2)


def test_job_yaml_reads_the_mapping(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(
        "name: e\nprogram: {command: [python, t.py]}\nobjective: {metric: m, type: minimize}\n"
        "hyperparameter_ranges: {x: {min_value: 0.0, max_value: 1.0}}\nstrategy: random\nlimits: {max_jobs: 3}\n"
        "early_stopping: {rule: median, min_jobs: 3, grace_values: 1}\n"
    )
    assert load_spec(path).build_early_stopping() == MedianRule(3, 1)
    path.write_text(path.read_text().replace("min_jobs: 3", "min_job: 3"))
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert str(err.value).startswith(f"{path}: early_stopping.min_job: unknown field 'min_job'. Did you mean "
                                     "'min_jobs'?")


@pytest.mark.parametrize("value, path, parts", [
    ({"min_job": 3}, "early_stopping.min_job",
     ("unknown field 'min_job'", "Did you mean 'min_jobs'?", "Valid fields here: rule, min_jobs, grace_values",
      "Remove or rename it")),
    ({"rule": "median", "patience": 2}, "early_stopping.patience", ("unknown field 'patience'",)),
    ({"min_jobs": 0}, "early_stopping.min_jobs", ("must be at least 1, got 0", "Use a value >= 1")),
    ({"grace_values": -1}, "early_stopping.grace_values", ("must be at least 0, got -1",)),
    ({"min_jobs": True}, "early_stopping.min_jobs", ("must be a whole number, got True",)),
    ({"min_jobs": 2.5}, "early_stopping.min_jobs", ("must be a whole number, got 2.5",)),
    ({"min_jobs": "3"}, "early_stopping.min_jobs", ("the string '3'", "without quotes")),
    ({"rule": "mean"}, "early_stopping.rule", ("must be one of 'median', got 'mean'", "Did you mean 'median'?")),
    ("sometimes", "early_stopping", ("must be 'off' or 'auto'", "{rule: median, min_jobs: 3, grace_values: 1}",
                                     "got 'sometimes'")),
    (3, "early_stopping", ("must be 'off' or 'auto'", "got 3")),
])
def test_bad_settings_say_what_where_and_how(value: Any, path: str, parts: tuple[str, ...]) -> None:
    with pytest.raises(SpecError) as in_spec:
        _spec(value)
    assert in_spec.value.path == path
    for part in parts:
        assert part in in_spec.value.message, (part, in_spec.value.message)
    with pytest.raises(SpecError) as in_asktell:  # AskTell reads it with the spec's reader: the same error
        AskTell(SPACE, strategy="random", early_stopping=value)
    assert (in_asktell.value.path, in_asktell.value.message) == (in_spec.value.path, in_spec.value.message)
    with pytest.raises(SpecError) as in_tune:  # and so does hyperjob.tune
        tune_spec(lambda hp: 0.0, SPACE, strategy="random", early_stopping=value)
    assert (in_tune.value.path, in_tune.value.message) == (in_spec.value.path, in_spec.value.message)


def test_hyperband_refuses_the_median_rule_with_settings_too() -> None:
    hyperband = {"strategy": {"name": "hyperband"}, "static_hyperparameters": {"epochs": 9}}
    for value, what in (("auto", "early_stopping 'auto'"), (WARM_UP, "early_stopping (the median rule)")):
        with pytest.raises(SpecError) as err:
            _spec(value, **hyperband)
        assert err.value.path == "early_stopping"
        assert f"{what} cannot be used with the 'hyperband' strategy" in err.value.message
        assert "Set early_stopping: off" in err.value.message


def test_asktell_and_tune_pass_the_settings_on() -> None:
    at = AskTell(SPACE, strategy="random", seed=0, early_stopping=WARM_UP)
    assert isinstance(at.stopper, MedianStopper) and at.stopper.rule == MedianRule(3, 1)
    assert AskTell(SPACE, strategy="random", early_stopping="auto").stopper.rule == MedianRule()
    assert AskTell(SPACE, strategy="random").stopper is None
    spec = tune_spec(lambda hp: 0.0, SPACE, strategy="random", early_stopping=WARM_UP)
    assert spec.build_early_stopping() == MedianRule(3, 1) and spec.to_json()["early_stopping"] == WARM_UP
    assert read_early_stopping(WARM_UP) == MedianRule(3, 1) and read_early_stopping("off") is None


def test_asktell_honours_min_jobs_and_grace_values() -> None:
    at = AskTell(SPACE, strategy="random", seed=0, early_stopping=WARM_UP)
    for _ in range(2):  # two earlier runs with loss 1.0 at steps 1 and 2
        s = at.ask()
        at.tell(s, 1.0, step=1)
        at.tell(s, 1.0, step=2)
        at.tell(s, 1.0)
    s = at.ask()
    assert at.tell(s, 9.0, step=1).decision is None  # its first value: grace_values 1
    assert at.tell(s, 9.0, step=2).decision is None  # 2 earlier runs reached step 2: fewer than min_jobs 3
    at.tell(s, 9.0)
    s = at.ask()
    at.tell(s, 9.0, step=1)
    verdict = at.tell(s, 9.0, step=2)  # 3 earlier runs now
    assert verdict.stop and verdict.decision.compared == 3
    exact = AskTell(SPACE, strategy="random", seed=0, early_stopping="auto")
    first = exact.ask()
    assert exact.tell(first, 1.0, step=1).decision is None  # no earlier run: no median
    assert exact.tell(exact.ask(), 9.0, step=1).stop  # the first value, against one earlier run


def test_a_sagemaker_request_with_auto_is_the_exact_rule() -> None:
    path = FIXTURES / "specs" / "sagemaker-local.json"
    assert load_spec(path).build_early_stopping() == MedianRule()
    request = json.loads(path.read_text())
    request["HyperParameterTuningJobConfig"]["TrainingJobEarlyStoppingType"] = "Off"
    assert load_sagemaker_request(request, source="r.json", base_dir=path.parent).build_early_stopping() is None
    request["HyperParameterTuningJobConfig"]["TrainingJobEarlyStoppingType"] = "AUTO"  # SageMaker's enum: Off | Auto
    with pytest.raises(SpecError, match="TrainingJobEarlyStoppingType"):
        load_sagemaker_request(request, source="r.json", base_dir=path.parent)


def test_an_old_record_with_auto_reads_as_the_exact_rule(tmp_path: Path) -> None:
    """A store written before the warm-up became a setting (v1.db's 'median' tuning job ran with min_jobs 3 and
    grace_values 1 as fixed defaults; it stored only ``early_stopping: auto``)."""
    shutil.copy(FIXTURES / "store" / "v1.db", tmp_path / "v1.db")
    store = open_store(f"sqlite:///{tmp_path / 'v1.db'}")
    try:
        stored = store.get_tuning_job("median").spec
    finally:
        store.close()
    assert stored["early_stopping"] == "auto"
    spec = TuningJobSpec.from_json(stored)
    assert spec.build_early_stopping() == MedianRule()
    assert TuningPlan.from_spec(spec).early_stopping == MedianRule()


def test_the_rules_name_tells_the_warm_up() -> None:
    assert MedianStopper(Objective("m")).name == "early stopping 'auto'"
    warm = MedianStopper(Objective("m"), MedianRule(3, 1))
    assert warm.name == "early stopping (median rule, min_jobs=3, grace_values=1)"
    for i in range(3):
        warm.record(f"j{i}", i, 1, 1.0)
        warm.record(f"j{i}", i, 2, 1.0)
    warm.record("j3", 3, 1, 5.0)
    d = warm.decide("j3", 3, 2, 5.0)
    assert d.action is Action.STOP and d.reason.startswith(warm.name + ": at step 2 the objective 5 was worse")
