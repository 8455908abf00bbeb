"""The Tuner keeps every stop decision in the store (its own row) before it sends the stop, and the objective
with the tuning job; ``describe`` and ``trials`` read them back from there."""

from __future__ import annotations

import pytest

import hyperjob
from hyperjob.executors.callable import CallableExecutor
from hyperjob.records import Direction, Objective, TrainingJobStatus
from hyperjob.store import open_store
from hyperjob.tuner.describe import describe_tuning_job

SPACE = {"x": {"type": "continuous", "min_value": 0.0, "max_value": 1.0}}


def test_a_stop_decision_is_in_the_store_before_the_stop_is_sent(tmp_path, monkeypatch) -> None:
    db = str(tmp_path / "hj.db")
    seen: list[tuple[str, list, TrainingJobStatus]] = []
    send = CallableExecutor.stop

    def stop(self: CallableExecutor, training_job_id: str) -> None:
        with open_store(db) as other:  # another connection: only what is committed
            seen.append((training_job_id, other.get_decisions(training_job_id),
                         other.get_training_job(training_job_id).status))
        send(self, training_job_id)

    monkeypatch.setattr(CallableExecutor, "stop", stop)

    def train(config: dict) -> None:
        for epoch in range(1, 10):
            hyperjob.report(step=epoch, acc=1.0 - (config["x"] - 0.5) ** 2 - 1.0 / epoch)

    result = hyperjob.tune(train, SPACE, objective="acc", maximize=True, max_jobs=8, strategy="hyperband",
                           strategy_settings={"model": "random", "min_resource": 1, "max_resource": 9}, seed=4,
                           output_dir=tmp_path / "runs", name="hb", store=db)
    assert seen, "hyperband sent no stop"
    for job, kept, status in seen:
        assert kept and kept[-1].decision.stop, job
        assert status is TrainingJobStatus.STOPPING
    with open_store(result.store_url) as store:
        assert store.get_tuning_job("hb").objective == Objective("acc", Direction.MAXIMIZE)
        records = store.list_training_jobs("hb")
        decisions = store.list_decisions("hb")
        for r in records:
            assert "decisions" not in r.extra
            rungs = [k.decision.rung for k in decisions[r.id] if k.decision.rule == "rung"]
            assert rungs == [1, 3][: len(rungs)]
            if r.status is TrainingJobStatus.STOPPED:
                assert decisions[r.id][-1].decision.reason == r.failure_reason
        described = describe_tuning_job(store, "hb")
    stopped = {r.id for r in records if r.status is TrainingJobStatus.STOPPED}
    assert stopped and {s["TrainingJobName"] for s in described["StoppedEarly"]} == stopped
    assert described["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"] == {
        "Type": "Maximize", "MetricName": "acc"
    }


@pytest.mark.parametrize("maximize", [True, False])
def test_the_tuner_records_the_spec_objective(tmp_path, maximize: bool) -> None:
    result = hyperjob.tune(lambda config: config["x"], SPACE, objective="score", maximize=maximize, max_jobs=2,
                           strategy="random", seed=0, output_dir=tmp_path / "runs", name="obj",
                           store=str(tmp_path / "hj.db"))
    with open_store(result.store_url) as store:
        want = Objective("score", Direction.MAXIMIZE if maximize else Direction.MINIMIZE)
        assert store.get_tuning_job("obj").objective == want
