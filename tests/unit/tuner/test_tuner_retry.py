"""The retry policy: a training job that failed outside its program (``Ended.retryable``: its Ray node was lost)
runs again as a new attempt, at most ``retry.max_retry_attempts`` times (SageMaker's
``RetryStrategy.MaximumRetryAttempts``); without a policy it stays Failed with its reason."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from hyperjob.executors.base import Ended, ExecutorEvent
from hyperjob.executors.callable import CallableExecutor
from hyperjob.formats.sagemaker import load_sagemaker_request
from hyperjob.formats.spec import TuningJobSpec
from hyperjob.records import TrainingJobStatus
from hyperjob.store import open_store
from hyperjob.tuner.loop import Tuner
from hyperjob.tuner.plan import TuningPlan


def train(hp: dict[str, Any]) -> float:
    return float(hp["x"])


class NodeLosingExecutor(CallableExecutor):
    """Real in-process training jobs; the first ``lose`` ends of training job 1 read as a lost node."""

    def __init__(self, lose: int) -> None:
        super().__init__(max_workers=1)
        self.lose = lose
        self.launched: list[tuple[str, int]] = []

    def launch(self, job: Any) -> None:
        self.launched.append((job.training_job_id, job.attempt))
        super().launch(job)

    def poll(self) -> list[ExecutorEvent]:
        out = []
        for ev in super().poll():
            if isinstance(ev, Ended) and ev.training_job_id.endswith("-001") and self.lose > 0:
                self.lose -= 1
                ev = replace(ev, status=TrainingJobStatus.FAILED, reason="node lost: the Ray node died (test)",
                             retryable=True)
            out.append(ev)
        return out


def _run(tmp_path: Path, retries: int, lose: int) -> tuple[Any, NodeLosingExecutor]:
    spec = TuningJobSpec.model_validate({
        "name": "retry", "program": {"function": "tests:train"},
        "hyperparameter_ranges": {"x": {"min_value": 0, "max_value": 1}},
        "objective": {"metric": "x", "type": "minimize"}, "strategy": {"name": "random"},
        "limits": {"max_jobs": 3}, "retry": {"max_retry_attempts": retries}, "random_seed": 0,
        "output_dir": str(tmp_path / "runs"),
    })
    executor = NodeLosingExecutor(lose)
    store = open_store(str(tmp_path / "hj.db"))
    try:
        outcome = Tuner(TuningPlan.from_spec(spec, function=train), store, executor=executor).run()
        jobs = {r.id: r for r in store.list_training_jobs("retry")}
    finally:
        store.close()
    return (outcome, jobs), executor


def test_without_a_retry_policy_a_lost_node_fails_the_training_job(tmp_path: Path) -> None:
    (outcome, jobs), executor = _run(tmp_path, retries=0, lose=1)
    assert outcome.status.value == "Completed"
    lost = next(r for r in jobs.values() if r.id.endswith("-001"))
    assert lost.status is TrainingJobStatus.FAILED and lost.failure_reason.startswith("node lost")
    assert lost.attempt == 0 and len(executor.launched) == 3


def test_a_lost_node_runs_the_training_job_again_up_to_the_policy(tmp_path: Path) -> None:
    (outcome, jobs), executor = _run(tmp_path, retries=2, lose=1)
    assert outcome.status.value == "Completed"
    job = next(r for r in jobs.values() if r.id.endswith("-001"))
    assert job.status is TrainingJobStatus.COMPLETED and job.attempt == 1
    assert job.extra["retries"] == 1 and job.extra["retried_after"].startswith("node lost")
    assert sorted(executor.launched).count((job.id, 1)) == 1 and len(executor.launched) == 4
    assert all(r.status is TrainingJobStatus.COMPLETED for r in jobs.values())


def test_retries_stop_at_the_policy(tmp_path: Path) -> None:
    (outcome, jobs), executor = _run(tmp_path, retries=2, lose=5)
    job = next(r for r in jobs.values() if r.id.endswith("-001"))
    assert job.status is TrainingJobStatus.FAILED and job.attempt == 2 and job.extra["retries"] == 2
    assert [a for i, a in executor.launched if i == job.id] == [0, 1, 2]


def test_sagemaker_retry_strategy_is_the_retry_policy() -> None:
    request = {
        "HyperParameterTuningJobName": "sm-retry",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random", "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1},
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ParameterRanges": {"ContinuousParameterRanges": [{"Name": "lr", "MinValue": "0.1", "MaxValue": "1"}]},
        },
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": "img",
                                       "MetricDefinitions": [{"Name": "loss", "Regex": "loss=([0-9.]+)"}]},
            "RoleArn": "arn:aws:iam::111122223333:role/R", "StoppingCondition": {"MaxRuntimeInSeconds": 60},
            "RetryStrategy": {"MaximumRetryAttempts": 3},
        },
    }
    spec = load_sagemaker_request(request, source="request.json", command=["python", "train.py"])
    assert spec.retry.max_retry_attempts == 3
    assert not any("RetryStrategy" in w for w in spec.warnings)  # no longer "ignored"
    del request["TrainingJobDefinition"]["RetryStrategy"]
    assert load_sagemaker_request(request, source="r.json", command=["python", "t.py"]).retry.max_retry_attempts == 0
    request["TrainingJobDefinition"]["RetryStrategy"] = {"MaximumRetryAttempts": 31}
    with pytest.raises(Exception, match="MaximumRetryAttempts"):
        load_sagemaker_request(request, source="request.json", command=["python", "train.py"])
