"""One suite for every executor: the behaviour the Tuner relies on, whatever runs the training jobs.

Each case runs the same training program in two forms: a script (local processes, and processes on a real
two-node Ray cluster) and a Python function (in process). Both read the hyperparameter ``mode`` and report the metric ``loss``.
"""

from __future__ import annotations

import json
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from hyperjob import report
from hyperjob.errors import ExecutorError
from hyperjob.executors.base import (
    Ended,
    Executor,
    ExecutorEvent,
    LaunchRequest,
    MetricsReported,
    Program,
    Started,
)
from hyperjob.executors.callable import CallableExecutor
from hyperjob.executors.local import LocalExecutor
from hyperjob.records import TrainingJobStatus

SCRIPT = """
import argparse, time
from hyperjob import report
parser = argparse.ArgumentParser()
parser.add_argument("--mode")
parser.add_argument("--x", type=float)
args = parser.parse_args()
if args.mode == "ok":
    for step in range(3):
        report(step=step, loss=args.x * (step + 1))
elif args.mode == "fail":
    report(step=0, loss=1.0)
    raise RuntimeError("contract failure marker")
elif args.mode == "loop":
    step = 0
    while True:
        report(step=step, loss=1.0)
        step += 1
        time.sleep(0.01)
"""


def train(hp: dict[str, Any]) -> None:
    """The function form of SCRIPT."""
    if hp["mode"] == "ok":
        for step in range(3):
            report(step=step, loss=hp["x"] * (step + 1))
    elif hp["mode"] == "fail":
        report(step=0, loss=1.0)
        raise RuntimeError("contract failure marker")
    elif hp["mode"] == "loop":
        step = 0
        while True:
            report(step=step, loss=1.0)
            step += 1
            time.sleep(0.01)


@dataclass
class Harness:
    executor: Executor
    program: Program
    tmp_path: Path

    def request(self, job_id: str, mode: str, x: float = 1.0, **kw: Any) -> LaunchRequest:
        return LaunchRequest(
            training_job_id=job_id,
            hyperparameters={"mode": mode, "x": x},
            job_dir=self.tmp_path / "runs" / job_id,
            program=self.program,
            objective_metric="loss",
            **kw,
        )

    def drain(self, ids: set[str], timeout_s: float = 20.0) -> list[ExecutorEvent]:
        return self.until(lambda evs: {e.training_job_id for e in evs if isinstance(e, Ended)} >= ids, timeout_s)

    def until(self, done: Callable[[list[ExecutorEvent]], bool], timeout_s: float = 20.0) -> list[ExecutorEvent]:
        events: list[ExecutorEvent] = []
        deadline = time.monotonic() + timeout_s
        while not done(events):
            assert time.monotonic() < deadline, f"not done in {timeout_s} s; events: {events}"
            new = self.executor.poll()
            events += new
            if not new:
                time.sleep(0.005)
        return events


@pytest.fixture(params=["local", "callable", "ray"])
def harness(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param in ("local", "ray"):
        script = tmp_path / "train.py"
        script.write_text(textwrap.dedent(SCRIPT))
        if request.param == "local":
            executor: Executor = LocalExecutor()
        else:  # the session's two-node cluster (tests/conftest.py), this process connected to it
            request.getfixturevalue("ray_cluster")
            from hyperjob.executors.ray import RayExecutor

            executor = RayExecutor(cpus=0.5)
        program = Program(command=(sys.executable, str(script)))
    else:
        executor = CallableExecutor(max_workers=4)
        program = Program(function=train)
    yield Harness(executor, program, tmp_path)
    executor.shutdown()


def _of(events: list[ExecutorEvent], job_id: str) -> list[ExecutorEvent]:
    return [e for e in events if e.training_job_id == job_id]


def _values(events: list[ExecutorEvent], job_id: str) -> list[tuple[str, float, int]]:
    return [(v.name, v.value, v.step) for e in _of(events, job_id) if isinstance(e, MetricsReported) for v in e.values]


def test_implements_the_protocol(harness: Harness) -> None:
    assert isinstance(harness.executor, Executor)
    assert harness.executor.poll() == []


def test_events_come_in_order_started_metrics_ended(harness: Harness) -> None:
    harness.executor.launch(harness.request("ok", "ok", x=0.5))
    events = _of(harness.drain({"ok"}), "ok")
    assert isinstance(events[0], Started)
    assert isinstance(events[-1], Ended) and events[-1].status is TrainingJobStatus.COMPLETED
    assert all(isinstance(e, MetricsReported) for e in events[1:-1])
    assert _values(events, "ok") == [("loss", 0.5, 0), ("loss", 1.0, 1), ("loss", 1.5, 2)]
    assert harness.executor.poll() == []


def test_a_failure_is_an_ended_event_with_the_reason(harness: Harness) -> None:
    harness.executor.launch(harness.request("bad", "fail"))
    events = harness.drain({"bad"})
    end = events[-1]
    assert isinstance(end, Ended) and end.status is TrainingJobStatus.FAILED
    assert "contract failure marker" in (end.reason or "")
    assert _values(events, "bad") == [("loss", 1.0, 0)]


def test_stop_ends_a_running_job_as_stopped(harness: Harness) -> None:
    harness.executor.launch(harness.request("loop", "loop", grace_period_s=2))
    harness.until(lambda evs: any(isinstance(e, MetricsReported) for e in evs))
    harness.executor.stop("loop")
    events = harness.drain({"loop"})
    assert isinstance(events[-1], Ended) and events[-1].status is TrainingJobStatus.STOPPED
    harness.executor.stop("loop")  # already ended: nothing happens
    harness.executor.stop("never-launched")
    assert harness.executor.poll() == []


def test_timeout_fails_the_job(harness: Harness) -> None:
    harness.executor.launch(harness.request("slow", "loop", timeout_s=0.3, grace_period_s=2))
    end = harness.drain({"slow"})[-1]
    assert isinstance(end, Ended) and end.status is TrainingJobStatus.FAILED
    assert (end.reason or "").startswith("timed out after 0.3 s")


def test_parallel_jobs_keep_their_own_metrics(harness: Harness) -> None:
    for i in range(3):
        harness.executor.launch(harness.request(f"p{i}", "ok", x=float(i + 1)))
    events = harness.drain({"p0", "p1", "p2"})
    for i in range(3):
        assert _values(events, f"p{i}") == [("loss", (i + 1) * s, s - 1) for s in (1, 2, 3)]


def test_duplicate_launch_is_refused(harness: Harness) -> None:
    harness.executor.launch(harness.request("dup", "loop", grace_period_s=2))
    with pytest.raises(ExecutorError, match="already running"):
        harness.executor.launch(harness.request("dup", "ok"))
    harness.executor.stop("dup")
    harness.drain({"dup"})


def test_shutdown_stops_everything(harness: Harness) -> None:
    harness.executor.launch(harness.request("s1", "loop", grace_period_s=2))
    harness.executor.launch(harness.request("s2", "loop", grace_period_s=2))
    harness.until(lambda evs: sum(isinstance(e, MetricsReported) for e in evs) >= 2)
    harness.executor.shutdown()
    events = harness.drain({"s1", "s2"}, timeout_s=2)
    assert {e.status for e in events if isinstance(e, Ended)} == {TrainingJobStatus.STOPPED}


def test_job_dir_holds_hyperparameters_and_reported_metrics(harness: Harness) -> None:
    harness.executor.launch(harness.request("files", "ok", x=2.0))
    harness.drain({"files"})
    job_dir = harness.tmp_path / "runs" / "files"
    assert json.loads((job_dir / "hyperparameters.json").read_text()) == {"mode": "ok", "x": 2.0}
    lines = [json.loads(x) for x in (job_dir / "metrics.jsonl").read_text().splitlines()]
    assert [(x["step"], x["metrics"]) for x in lines] == [(0, {"loss": 2.0}), (1, {"loss": 4.0}), (2, {"loss": 6.0})]
    assert (job_dir / "model").is_dir()
