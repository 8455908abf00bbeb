"""The Tuner end to end, with real subprocesses, a real SQLite file and the Python API."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

import hyperjob
from hyperjob.errors import LeaseError, SpecError
from hyperjob.records import TrainingJobStatus, TuningJobStatus
from hyperjob.store import open_store

PROGRAM = str(Path(__file__).parents[1] / "fixtures" / "programs" / "steps.py")
SPACE = {
    "x": {"type": "continuous", "min_value": 0.0, "max_value": 1.0},
    "y": {"type": "integer", "min_value": 0, "max_value": 4},
}
LOSS = {"loss": r"loss=([0-9.eE+-]+)"}


def _tune(tmp_path, **kw):
    args = dict(
        objective="loss",
        max_jobs=6,
        max_parallel_jobs=3,
        strategy="random",
        metric_definitions=LOSS,
        seed=3,
        output_dir=tmp_path / "runs",
        name="t1",
    )
    args.update(kw)
    return hyperjob.tune([sys.executable, PROGRAM], SPACE, **args)


def test_command_tuning_job_records_everything(tmp_path):
    result = _tune(tmp_path, static={"steps": 3})
    assert result.status == "Completed"
    assert "MaxNumberOfTrainingJobs" in result.reason
    assert len(result.jobs) == 6
    assert all(j["status"] == "Completed" for j in result.jobs)
    # the final objective is the last reported value: (x-0.3)^2 + (y-2)^2/10 + 1/3
    for j in result.jobs:
        c = j["config"]
        expected = (c["x"] - 0.3) ** 2 + (c["y"] - 2) ** 2 / 10 + 1 / 3
        assert j["value"] == pytest.approx(expected, abs=1e-5)
        assert c["steps"] == 3  # static hyperparameter passed along
    assert result.best_value == min(j["value"] for j in result.jobs)
    store = open_store(result.store_url)
    try:
        records = store.list_training_jobs("t1")
        assert [r.index for r in records] == list(range(6))
        for r in records:
            metrics = store.get_metrics(r.id)
            assert [(m.name, m.step) for m in metrics] == [("loss", 0), ("loss", 1), ("loss", 2)]
            job_dir = tmp_path / "runs" / "t1" / r.id
            assert (job_dir / "model" / "model.txt").read_text().split()[0] == repr(r.config["x"]) or (
                float((job_dir / "model" / "model.txt").read_text().split()[0]) == pytest.approx(r.config["x"])
            )
        assert store.get_tuning_job("t1").status is TuningJobStatus.COMPLETED
    finally:
        store.close()


def test_callable_tuning_job_finds_the_minimum(tmp_path):
    def train(hp):
        return (hp["x"] - 0.3) ** 2 + (hp["y"] - 2) ** 2

    result = hyperjob.tune(train, SPACE, objective="loss", max_jobs=12, strategy="random", seed=0,
                           output_dir=tmp_path / "runs", name="fn")
    assert result.status == "Completed"
    values = [j["value"] for j in result.jobs]
    assert len(values) == 12 and None not in values
    assert result.best_value == min(values)
    assert result.best_config["x"] == pytest.approx(
        next(j["config"]["x"] for j in result.jobs if j["value"] == result.best_value)
    )


def test_maximize_picks_the_largest(tmp_path):
    result = hyperjob.tune(lambda hp: hp["x"], {"x": SPACE["x"]}, objective="score", maximize=True, max_jobs=8,
                           strategy="random", seed=1, output_dir=tmp_path / "runs", name="mx")
    assert result.best_value == max(j["value"] for j in result.jobs)


def test_every_job_failing_stops_the_tuning_job_with_the_reason(tmp_path):
    result = _tune(tmp_path, static={"mode": "crash"}, max_jobs=20)
    assert result.status == "Failed"
    assert "all failed" in result.reason
    assert "the data is broken" in result.reason
    # fail fast: not the whole budget
    assert len(result.jobs) < 20


def test_a_wrong_metric_regex_is_reported_instead_of_burning_the_budget(tmp_path):
    result = _tune(tmp_path, metric_definitions={"loss": r"los=([0-9.]+)"}, max_jobs=20)
    assert result.status == "Failed"
    assert "reported the objective metric 'loss'" in result.reason
    assert "hyperjob validate" in result.reason
    assert len(result.jobs) < 20


def test_target_value_completes_early_and_stops_running_jobs(tmp_path):
    def train(hp):
        return hp["x"]

    result = hyperjob.tune(train, {"x": SPACE["x"]}, objective="loss", max_jobs=50, strategy="random", seed=2,
                           target_value=0.3, output_dir=tmp_path / "runs", name="tg")
    assert result.status == "Completed"
    assert "TargetObjectiveMetricValue" in result.reason
    assert result.best_value <= 0.3
    assert len(result.jobs) < 50


def test_timeout_fails_the_training_job(tmp_path):
    result = _tune(tmp_path, static={"steps": 50, "sleep": 0.2}, max_jobs=2, max_parallel_jobs=2, timeout_s=0.6,
                   max_failed_jobs=5)
    assert all(j["status"] == "Failed" for j in result.jobs)
    assert all("timed out" in (j["failure_reason"] or "") for j in result.jobs)


def test_interrupt_then_resume_finishes_with_exactly_max_jobs(tmp_path):
    from hyperjob.tuner.loop import Tuner
    from hyperjob.tuner.plan import TuningPlan
    from hyperjob.executors.base import MetricDefinition, Program
    from hyperjob.records import Objective
    from hyperjob.formats.python_api import python_space

    space = python_space({**SPACE, "steps": 4, "sleep": 0.15})
    plan = TuningPlan(
        name="intr", space=space, objective=Objective("loss"), program=Program(command=(sys.executable, PROGRAM)),
        metric_definitions=(MetricDefinition("loss", LOSS["loss"]),), strategy="random", max_jobs=6,
        max_parallel_jobs=2, seed=5, output_dir=tmp_path / "runs",
        spec_json={"name": "intr", "objective": {"metric": "loss", "type": "minimize"}},
    )
    db = open_store(str(tmp_path / "s.db"))
    tuner = Tuner(plan, db)
    threading.Timer(1.2, tuner.request_stop).start()
    outcome = tuner.run()
    assert outcome.interrupted
    assert outcome.reason.startswith("Interrupted")
    records = db.list_training_jobs("intr")
    interrupted = [r for r in records if r.status is TrainingJobStatus.STOPPED]
    assert interrupted and all("runs again on `hyperjob resume intr`" in r.failure_reason for r in interrupted)
    assert not any(r.status in (TrainingJobStatus.PENDING, TrainingJobStatus.IN_PROGRESS) for r in records)
    outcome2 = Tuner(plan, db).run(resume=True)
    assert outcome2.status is TuningJobStatus.COMPLETED
    records = db.list_training_jobs("intr")
    assert len(records) == 6
    assert all(r.status is TrainingJobStatus.COMPLETED for r in records)
    for r in records:
        steps = [m.step for m in db.get_metrics(r.id)]
        assert steps == [0, 1, 2, 3]
    db.close()


def test_a_second_tuner_on_the_same_tuning_job_is_refused(tmp_path):
    from hyperjob.tuner.loop import Tuner
    from hyperjob.tuner.plan import TuningPlan
    from hyperjob.executors.base import Program
    from hyperjob.records import Objective
    from hyperjob.formats.python_api import python_space

    def slow(hp):
        time.sleep(0.3)
        return hp["x"]

    plan = TuningPlan(name="lk", space=python_space({"x": SPACE["x"]}), objective=Objective("loss"),
                      program=Program(function=slow), strategy="random", max_jobs=8, seed=0,
                      output_dir=tmp_path / "runs", spec_json={"name": "lk"})
    db = open_store(str(tmp_path / "s.db"))
    first = Tuner(plan, db)
    t = threading.Thread(target=first.run)
    t.start()
    time.sleep(0.5)
    db2 = open_store(str(tmp_path / "s.db"))
    with pytest.raises(LeaseError, match="lk"):
        Tuner(plan, db2).run(resume=True)
    t.join()
    db2.close()
    db.close()


def test_bad_arguments_are_spec_errors(tmp_path):
    with pytest.raises(SpecError, match="never run through a shell"):
        hyperjob.tune("python train.py", SPACE)
    with pytest.raises(SpecError, match="max_jobs"):
        hyperjob.tune(lambda hp: 0.0, SPACE, max_jobs=0, output_dir=tmp_path)


def test_resume_takes_over_the_lease_of_a_dead_tuner_at_once(tmp_path):
    """A tuner SIGKILLed on this machine leaves an unexpired lease; resume takes it over without waiting."""
    import subprocess

    from hyperjob._process import holder_is_dead

    db = open_store(str(tmp_path / "s.db"))
    db.create_tuning_job("dead", {"name": "dead"})
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    import socket

    dead_owner = f"{socket.gethostname()}:{child.pid}:abc"
    db.acquire_lease("dead", dead_owner, 600)
    assert not holder_is_dead(dead_owner)  # alive: a second tuner must be refused
    child.kill()
    child.wait()
    assert holder_is_dead(dead_owner)
    assert db.take_over_lease("dead", dead_owner, "me:1:x", 30)
    assert db.lease_holder("dead") == "me:1:x"
    assert not db.take_over_lease("dead", dead_owner, "other:2:y", 30)  # no longer the holder
    assert not holder_is_dead("otherhost:1:x")  # another machine's tuner is never judged dead
    db.close()


def test_an_unavailable_strategy_fails_before_anything_is_recorded(tmp_path):
    with pytest.raises(SpecError, match="hyperband"):
        hyperjob.tune(lambda hp: hp["x"], {"x": SPACE["x"]}, strategy="hyperband", max_jobs=3,
                      output_dir=tmp_path / "runs", name="hb", store=str(tmp_path / "s.db"))
    db = open_store(str(tmp_path / "s.db"))
    assert db.list_tuning_jobs() == []
    db.close()
