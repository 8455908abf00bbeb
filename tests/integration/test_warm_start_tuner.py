"""Warm start through the Tuner and hyperjob.tune: nothing recorded when refused, parents fed once per run
(resume included), the transfer child's first jobs, OverallBestTrainingJob in describe."""

from __future__ import annotations

from pathlib import Path

import pytest

import hyperjob
from hyperjob.errors import SpecError, WarmStartError
from hyperjob.executors.base import Program
from hyperjob.formats.spec import TuningJobSpec, build_ranges
from hyperjob.records import Objective, TuningJobStatus
from hyperjob.space import SearchSpace
from hyperjob.store import open_store
from hyperjob.tuner.describe import describe_tuning_job
from hyperjob.tuner.loop import Tuner, TunerListener
from hyperjob.tuner.plan import TuningPlan

SPACE = {"x": {"type": "continuous", "min_value": 0.0, "max_value": 1.0},
         "y": {"type": "continuous", "min_value": 0.0, "max_value": 1.0}}


def f(c):
    return (c["x"] - 0.3) ** 2 + (c["y"] - 0.6) ** 2


@pytest.fixture()
def parent(tmp_path: Path) -> dict:
    kw = {"store": str(tmp_path / "ws.db"), "output_dir": str(tmp_path / "runs")}
    hyperjob.tune(f, SPACE, max_jobs=8, seed=1, name="parent", strategy="random", **kw)
    return kw


def names(store_url: str) -> list[str]:
    db = open_store(store_url)
    try:
        return sorted(t.name for t in db.list_tuning_jobs())
    finally:
        db.close()


def test_refused_child_leaves_no_trace(parent):
    with pytest.raises(WarmStartError, match=r"parent tuning job 'nope' is not in the store"):
        hyperjob.tune(f, SPACE, max_jobs=3, name="child", warm_start={"parents": ["parent", "nope"]}, **parent)
    with pytest.raises(WarmStartError, match=r"the objective minimize 'objective', this tuning job maximize"):
        hyperjob.tune(f, SPACE, max_jobs=3, name="child", maximize=True, warm_start={"parents": ["parent"]}, **parent)
    with pytest.raises(SpecError, match=r"^warm_start.parents: needs at least 1 item"):  # the spec's rule
        hyperjob.tune(f, SPACE, max_jobs=3, name="child", warm_start={"parents": []}, **parent)
    assert names(parent["store"]) == ["parent"]


@pytest.mark.parametrize("bad, message", [  # the argument is the spec's warm_start field, checked by the spec
    (["parent"], r"^warm_start: must be a mapping"),
    ({"parents": "parent"}, r"^warm_start.parents: must be a list, got 'parent'"),
    ({"parents": ["parent"], "kind": "x"}, r"^warm_start.kind: unknown field 'kind'"),
    ({"parents": ["parent"], "type": "sideways"}, r"^warm_start.type: must be one of"),
])
def test_python_api_checks_the_argument(parent, bad, message):
    with pytest.raises(SpecError, match=message):
        hyperjob.tune(f, SPACE, max_jobs=3, name="child", warm_start=bad, **parent)
    assert names(parent["store"]) == ["parent"]


def test_native_spec_parent_breaking_a_rule_is_refused_before_recording(parent, tmp_path):
    spec = TuningJobSpec.model_validate({
        "name": "child", "program": {"command": ["python", "t.py"]},
        "hyperparameter_ranges": {"x": {"type": "integer", "min_value": 0, "max_value": 3},
                                  "y": SPACE["y"]},
        "objective": {"metric": "objective", "type": "minimize"}, "limits": {"max_jobs": 2},
        "warm_start": {"parents": ["parent"], "type": "IdenticalDataAndAlgorithm"},
    })
    db = open_store(parent["store"])
    try:
        with pytest.raises(WarmStartError, match=r"'x' is a tuned continuous range \[0.0, 1.0\] in the parent 'parent' "
                                                 r"but a tuned integer range \[0, 3\] here"):
            Tuner(TuningPlan.from_spec(spec), db).run()
        assert [t.name for t in db.list_tuning_jobs()] == ["parent"]
    finally:
        db.close()


def test_identical_child_uses_parents_and_describe_has_overall_best(parent):
    narrowed = {**SPACE, "x": {"type": "continuous", "min_value": 0.0, "max_value": 0.5}}
    child = hyperjob.tune(f, narrowed, max_jobs=2, seed=0, name="child", strategy="random",
                          warm_start={"parents": ["parent"]}, **parent)
    db = open_store(parent["store"])
    try:
        parent_jobs = db.list_training_jobs("parent")
        out = describe_tuning_job(db, "child")
        every = [(r.final_objective, r.id, "parent") for r in parent_jobs] + [
            (j["value"], j["name"], "child") for j in child.jobs]
        best_value, best_id, best_job = min(every)
        overall = out["OverallBestTrainingJob"]
        assert (overall["TrainingJobName"], overall["TuningJobName"]) == (best_id, best_job)
        assert overall["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == best_value
        assert out["BestTrainingJob"]["TrainingJobName"] in {j["name"] for j in child.jobs}
        # a random child never re-runs a parent's configuration (here: none inside the narrowed range repeats)
        parent_configs = [dict(r.config) for r in parent_jobs]
        assert not any(j["config"] in parent_configs for j in child.jobs)
    finally:
        db.close()


def test_transfer_child_runs_parents_best_first_and_has_no_overall_best(parent):
    child = hyperjob.tune(f, SPACE, max_jobs=4, seed=0, name="child", strategy="random",
                          warm_start={"parents": ["parent"], "type": "TransferLearning"}, **parent)
    db = open_store(parent["store"])
    try:
        ranked = sorted(db.list_training_jobs("parent"), key=lambda r: r.final_objective)
        first = [j["config"] for j in sorted(child.jobs, key=lambda j: j["index"])][:3]
        assert first == [dict(r.config) for r in ranked[:3]]
        out = describe_tuning_job(db, "child")
        assert out["WarmStartConfig"]["WarmStartType"] == "TransferLearning"  # SageMaker's spelling
        assert "OverallBestTrainingJob" not in out
    finally:
        db.close()


class _StopAfter(TunerListener):
    def __init__(self, n: int) -> None:
        self.n, self.tuner = n, None

    def on_start(self, tuner):
        self.tuner = tuner

    def on_training_job_ended(self, record):
        self.n -= 1
        if self.n == 0:
            self.tuner.request_stop()


def test_resume_feeds_the_parents_once(parent, tmp_path):
    plan = TuningPlan(
        name="child", space=SearchSpace(ranges=tuple(build_ranges(SPACE))),
        objective=Objective("objective"), program=Program(function=f), strategy="random", max_jobs=5, seed=0,
        output_dir=Path(parent["output_dir"]),
        spec_json={"name": "child", "warm_start": {"parents": ["parent"], "type": "identical_data_and_algorithm"}},
        parents=("parent",),
    )
    db = open_store(parent["store"])
    try:
        first = Tuner(plan, db, listener=_StopAfter(2))
        out = first.run()
        assert out.interrupted
        n_parent = len(first.warm_start.observations)
        assert n_parent == 8
        assert len(first.strategy._ledger.finals) == n_parent + 2
        second = Tuner(plan, db)
        done = second.run(resume=True)
        assert done.status is TuningJobStatus.COMPLETED and len(done.training_jobs) == 5
        finals = second.strategy._ledger.finals
        assert len(finals) == n_parent + 5  # the parents once, the child's 5 once each
        parent_values = sorted(r.final_objective for r in db.list_training_jobs("parent"))
        assert sorted(v for _, v in finals[:n_parent]) == parent_values
    finally:
        db.close()


class _Warnings(TunerListener):
    def __init__(self) -> None:
        self.messages: list[str] = []

    def on_warning(self, message: str) -> None:
        self.messages.append(message)


def test_child_whose_ranges_hold_no_parent_job_is_warned(parent):
    elsewhere = {**SPACE, "x": {"type": "continuous", "min_value": 2.0, "max_value": 3.0}}
    plan = TuningPlan(
        name="child", space=SearchSpace(ranges=tuple(build_ranges(elsewhere))), objective=Objective("objective"),
        program=Program(function=f), strategy="random", max_jobs=2, seed=0, output_dir=Path(parent["output_dir"]),
        spec_json={"name": "child", "warm_start": {"parents": ["parent"]}}, parents=("parent",),
    )
    listener = _Warnings()
    db = open_store(parent["store"])
    try:
        out = Tuner(plan, db, listener=listener).run()
    finally:
        db.close()
    assert out.status is TuningJobStatus.COMPLETED
    assert any("no training job of the parents ['parent'] could be used (8 beyond the child's ranges, model data "
               "for the bayesian strategy only)" in m for m in listener.messages)
