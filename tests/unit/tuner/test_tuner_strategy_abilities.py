"""The Tuner asks the strategy for its abilities (its stopping rule through ``Strategy.stopper``), and describe
asks the registry entry whether something stops training jobs: a strategy added by one entry is enough."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from hyperjob import report
from hyperjob.records import Objective, Program, TrainingJobStatus
from hyperjob.space import IntegerRange, SearchSpace
from hyperjob.stopping.base import Action, Decision, EarlyStopper
from hyperjob.store import open_store
from hyperjob.strategies import registry
from hyperjob.strategies.random import RandomStrategy
from hyperjob.strategies.registry import StrategyEntry
from hyperjob.tuner.describe import describe_tuning_job
from hyperjob.tuner.loop import Tuner, TunerListener
from hyperjob.tuner.plan import TuningPlan


class AtStepStopper:
    """Stops every training job at step ``stop_at``; remembers what the Tuner gave it."""

    name = "the at-step rule"

    def __init__(self, stop_at: int) -> None:
        self.stop_at = stop_at
        self.decided: list[tuple[str, int]] = []

    def decide(self, training_job_id: str, index: int, step: int, value: float) -> Decision | None:
        self.decided.append((training_job_id, step))
        if step < self.stop_at:
            return None
        return Decision(Action.STOP, "at_step", step, value, reason=f"the at-step rule: step {step}")

    def record(self, training_job_id: str, index: int, step: int, value: float) -> None:
        pass

    def restore(self, training_job_id: str, decision: Decision) -> None:
        pass

    def forget(self, training_job_id: str) -> None:
        pass


class AtStepStrategy(RandomStrategy):
    """Random search with a stopping rule of its own (as hyperband has its rungs)."""

    def __init__(self, space: SearchSpace, objective: Objective, seed: int | None = None, *,
                 stop_at: int = 2) -> None:
        super().__init__(space, objective, seed=seed)
        self.stop_at = stop_at

    def stopper(self) -> EarlyStopper | None:
        return AtStepStopper(self.stop_at)


@pytest.fixture
def at_step() -> Iterator[None]:
    registry.register(StrategyEntry("at-step", __name__, "AtStepStrategy", stops_training_jobs=True))
    try:
        yield
    finally:
        registry.unregister("at-step")


class Warnings(TunerListener):
    def __init__(self) -> None:
        self.messages: list[str] = []

    def on_warning(self, message: str) -> None:
        self.messages.append(message)


def run(tmp_path: Path, train, stop_at: int, name: str = "steps") -> tuple[Tuner, Warnings]:
    plan = TuningPlan(
        name=name, space=SearchSpace((IntegerRange(name="x", min_value=1, max_value=50),)),
        objective=Objective("loss"), program=Program(function=train), strategy="at-step",
        strategy_settings={"stop_at": stop_at}, max_jobs=3, max_parallel_jobs=2, seed=0,
        output_dir=tmp_path / "runs", spec_json={"name": name, "strategy": {"name": "at-step"}},
    )
    store = open_store(f"sqlite:///{tmp_path / 'hj.db'}")
    listener = Warnings()
    tuner = Tuner(plan, store, listener=listener)
    try:
        tuner.run()
    finally:
        store.close()
    return tuner, listener


def test_the_tuner_takes_the_stopper_from_the_strategy(tmp_path: Path, at_step: None) -> None:
    def train(hp):
        for step in range(1, 6):
            report(step=step, loss=hp["x"] / step)
        return hp["x"] / 6

    tuner, _ = run(tmp_path, train, stop_at=2)
    assert isinstance(tuner.stopper, AtStepStopper) and tuner.stopper.stop_at == 2
    assert tuner.executor.wait_for_decisions  # asked of the registry entry, not of the name
    records = list(tuner.records.values())
    assert len(records) == 3
    assert all(r.status is TrainingJobStatus.STOPPED for r in records)
    assert all(r.failure_reason == "the at-step rule: step 2" for r in records)
    assert {step for _, step in tuner.stopper.decided} == {1, 2}  # each stop landed on the value decided on


def test_the_stoppers_name_in_the_tuners_warning_and_describe(tmp_path: Path, at_step: None) -> None:
    def train(hp):
        return float(hp["x"])  # the objective once, at the end: no rule can stop it early

    tuner, listener = run(tmp_path, train, stop_at=99, name="once")
    assert all(r.status is TrainingJobStatus.COMPLETED for r in tuner.records.values())
    (warning,) = [m for m in listener.messages if "only once" in m]
    assert "the at-step rule needs it after every epoch" in warning
    store = open_store(f"sqlite:///{tmp_path / 'hj.db'}")
    try:
        note = describe_tuning_job(store, "once")["EarlyStoppingNote"]
    finally:
        store.close()
    assert "only once, at the end: at-step needs it after every epoch" in note


def test_no_stopper_without_a_rule_of_the_strategy_or_early_stopping(tmp_path: Path) -> None:
    plan = TuningPlan(name="plain", space=SearchSpace((IntegerRange(name="x", min_value=1, max_value=5),)),
                      objective=Objective("loss"), program=Program(function=lambda hp: 1.0), strategy="random",
                      max_jobs=1, output_dir=tmp_path / "runs")
    store = open_store(f"sqlite:///{tmp_path / 'hj.db'}")
    try:
        tuner = Tuner(plan, store)
        tuner.run()
    finally:
        store.close()
    assert tuner.stopper is None and not tuner.executor.wait_for_decisions
