"""The in-process executor: return values, report(), exceptions, cooperative stop and timeout."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from hyperjob import report
from hyperjob.errors import ExecutorError, SpecError
from hyperjob.executors.base import Ended, ExecutorEvent, LaunchRequest, MetricsReported, Program, Started
from hyperjob.executors.callable import CallableExecutor
from hyperjob.records import TrainingJobStatus


def _req(tmp_path: Path, job_id: str, fn: Callable[..., Any], **kw: Any) -> LaunchRequest:
    return LaunchRequest(
        training_job_id=job_id,
        hyperparameters=kw.pop("hyperparameters", {"x": 2.0}),
        job_dir=tmp_path / job_id,
        program=Program(function=fn),
        objective_metric=kw.pop("objective_metric", "loss"),
        **kw,
    )


def _drain(ex: CallableExecutor, ids: set[str], timeout_s: float = 10.0) -> list[ExecutorEvent]:
    events: list[ExecutorEvent] = []
    ended: set[str] = set()
    deadline = time.monotonic() + timeout_s
    while ended != ids:
        assert time.monotonic() < deadline, f"jobs did not end; events: {events}"
        new = ex.poll()
        events += new
        ended |= {e.training_job_id for e in new if isinstance(e, Ended)}
        if not new:
            time.sleep(0.002)
    return events


def _values(events: list[ExecutorEvent], job_id: str) -> list[tuple[str, float, int]]:
    return [
        (v.name, v.value, v.step)
        for e in events
        if isinstance(e, MetricsReported) and e.training_job_id == job_id
        for v in e.values
    ]


def _ended(events: list[ExecutorEvent], job_id: str) -> Ended:
    (end,) = [e for e in events if isinstance(e, Ended) and e.training_job_id == job_id]
    return end


def test_returned_float_is_the_objective_at_step_zero(tmp_path: Path) -> None:
    ex = CallableExecutor(max_workers=1)
    ex.launch(_req(tmp_path, "a", lambda hp: hp["x"] ** 2))
    events = _drain(ex, {"a"})
    assert isinstance(events[0], Started) and events[0].pid is None
    assert _values(events, "a") == [("loss", 4.0, 0)]
    assert _ended(events, "a").status is TrainingJobStatus.COMPLETED
    assert json.loads((tmp_path / "a" / "hyperparameters.json").read_text()) == {"x": 2.0}


def test_returned_value_without_objective_name_is_called_objective(tmp_path: Path) -> None:
    ex = CallableExecutor()
    ex.launch(_req(tmp_path, "a", lambda hp: 1.5, objective_metric=None))
    assert _values(_drain(ex, {"a"}), "a") == [("objective", 1.5, 0)]


def test_reports_then_return_value_goes_at_the_last_step_or_the_next(tmp_path: Path) -> None:
    def same(hp: dict) -> float:
        for step in range(3):
            report(step=step, loss=1.0 / (step + 1))
        return 1.0 / 3  # equal to the value at the last step: not repeated

    def better(hp: dict) -> dict:
        report(step=0, loss=0.9, acc=0.1)
        report(step=5, acc=0.5)
        return {"loss": 0.2, "acc": 0.7}  # loss has no value at step 5 -> step 5; acc differs -> step 6

    ex = CallableExecutor(max_workers=2)
    ex.launch(_req(tmp_path, "same", same))
    ex.launch(_req(tmp_path, "better", better))
    events = _drain(ex, {"same", "better"})
    assert _values(events, "same") == [("loss", 1.0, 0), ("loss", 0.5, 1), ("loss", 1.0 / 3, 2)]
    assert _values(events, "better") == [
        ("loss", 0.9, 0), ("acc", 0.1, 0), ("acc", 0.5, 5), ("loss", 0.2, 5), ("acc", 0.7, 6)
    ]
    lines = [json.loads(x) for x in (tmp_path / "better" / "metrics.jsonl").read_text().splitlines()]
    assert [(x["step"], x["metrics"]) for x in lines][-2:] == [(5, {"loss": 0.2}), (6, {"acc": 0.7})]


def test_report_routes_to_the_right_job_with_parallel_threads(tmp_path: Path) -> None:
    barrier = threading.Barrier(3)

    def fn(hp: dict) -> None:
        barrier.wait(timeout=5)  # all three run at the same time
        for step in range(20):
            report(step=step, loss=hp["x"])

    ex = CallableExecutor(max_workers=3)
    for i in range(3):
        ex.launch(_req(tmp_path, f"j{i}", fn, hyperparameters={"x": float(i)}))
    events = _drain(ex, {"j0", "j1", "j2"})
    for i in range(3):
        values = _values(events, f"j{i}")
        assert [v[2] for v in values] == list(range(20))
        assert {v[1] for v in values} == {float(i)}


def test_exception_fails_with_the_traceback_tail(tmp_path: Path) -> None:
    def broken_training(hp: dict) -> float:
        report(step=0, loss=1.0)
        raise ValueError(f"learning rate {hp['x']} diverged")

    ex = CallableExecutor()
    ex.launch(_req(tmp_path, "a", broken_training))
    events = _drain(ex, {"a"})
    end = _ended(events, "a")
    assert end.status is TrainingJobStatus.FAILED
    assert "ValueError: learning rate 2.0 diverged" in (end.reason or "")
    assert "broken_training" in (end.reason or "")
    assert _values(events, "a") == [("loss", 1.0, 0)]
    assert events.index(end) == len(events) - 1


def test_a_non_number_return_value_fails_with_a_clear_reason(tmp_path: Path) -> None:
    ex = CallableExecutor()
    ex.launch(_req(tmp_path, "a", lambda hp: "0.5"))
    end = _ended(_drain(ex, {"a"}), "a")
    assert end.status is TrainingJobStatus.FAILED and "'0.5' (str), not a number" in (end.reason or "")


def test_stop_raises_in_report_and_ends_stopped_even_through_except_exception(tmp_path: Path) -> None:
    reached = threading.Event()
    after_stop: list[int] = []

    def fn(hp: dict) -> None:
        step = 0
        while True:
            try:
                report(step=step, loss=0.5)
            except Exception:  # a user's catch-all must not swallow the stop
                after_stop.append(step)
            reached.set()
            step += 1
            time.sleep(0.002)

    ex = CallableExecutor()
    ex.launch(_req(tmp_path, "a", fn))
    assert reached.wait(5)
    ex.stop("a")
    events = _drain(ex, {"a"})
    end = _ended(events, "a")
    assert end.status is TrainingJobStatus.STOPPED
    assert after_stop == []
    assert "a" not in ex.running


def test_timeout_fails_the_job_at_its_next_report(tmp_path: Path) -> None:
    def fn(hp: dict) -> None:
        for step in range(10_000):
            report(step=step, loss=1.0)
            time.sleep(0.005)

    ex = CallableExecutor()
    t0 = time.monotonic()
    ex.launch(_req(tmp_path, "a", fn, timeout_s=0.2))
    end = _ended(_drain(ex, {"a"}), "a")
    assert end.status is TrainingJobStatus.FAILED and end.reason == "timed out after 0.2 s (timeout_s)"
    assert time.monotonic() - t0 < 5


def test_queue_beyond_max_workers_and_stop_of_a_queued_job(tmp_path: Path) -> None:
    gate = threading.Event()
    ex = CallableExecutor(max_workers=1)
    ex.launch(_req(tmp_path, "first", lambda hp: gate.wait(5) and 1.0))
    ex.launch(_req(tmp_path, "second", lambda hp: 2.0))
    ex.launch(_req(tmp_path, "third", lambda hp: 3.0))
    ex.stop("third")
    time.sleep(0.05)
    early = ex.poll()
    assert [type(e).__name__ for e in early if e.training_job_id == "second"] == []
    assert _ended(early, "third").status is TrainingJobStatus.STOPPED
    gate.set()
    events = early + _drain(ex, {"first", "second"})
    first_end = events.index(_ended(events, "first"))
    second_start = next(i for i, e in enumerate(events) if isinstance(e, Started) and e.training_job_id == "second")
    assert second_start > first_end
    assert _values(events, "second") == [("loss", 2.0, 0)]


def test_launch_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="max_workers must be an int >= 1"):
        CallableExecutor(max_workers=0)
    ex = CallableExecutor()
    with pytest.raises(ExecutorError, match="no Python function.*use LocalExecutor"):
        ex.launch(LaunchRequest("a", {}, tmp_path / "a", Program(command=("python",))))
    gate = threading.Event()
    ex.launch(_req(tmp_path, "a", lambda hp: gate.wait(5) and 1.0))
    with pytest.raises(ExecutorError, match="already running"):
        ex.launch(_req(tmp_path, "a", lambda hp: 1.0))
    gate.set()
    _drain(ex, {"a"})


def test_shutdown_stops_running_functions(tmp_path: Path) -> None:
    def fn(hp: dict) -> None:
        while True:
            report(loss=1.0)
            time.sleep(0.002)

    ex = CallableExecutor(max_workers=2)
    ex.launch(_req(tmp_path, "a", fn))
    ex.launch(_req(tmp_path, "b", fn))
    ex.launch(_req(tmp_path, "c", fn))  # queued
    time.sleep(0.05)
    ex.shutdown()
    assert ex.running == []
    events = _drain(ex, {"a", "b", "c"}, timeout_s=1)
    assert {e.training_job_id: e.status for e in events if isinstance(e, Ended)} == {
        "a": TrainingJobStatus.STOPPED, "b": TrainingJobStatus.STOPPED, "c": TrainingJobStatus.STOPPED
    }
