"""The Tuner with evaluation periods, in process with real training subprocesses and a real SQLite store:
interrupted and resumed, the strategy still hears of each configuration once; the results CSV can be read
while the tuning job runs."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

from hyperjob.formats.spec import TuningJobSpec
from hyperjob.records import TrainingJobStatus, TuningJobStatus
from hyperjob.store import open_store
from hyperjob.tuner.loop import Tuner, TunerListener
from hyperjob.tuner.plan import TuningPlan

PROGRAM = str(Path(__file__).parents[1] / "fixtures" / "programs" / "periodic.py")


def plan(tmp_path: Path, periods: dict, parallel: int, **extra) -> TuningPlan:
    spec = TuningJobSpec.model_validate({
        "name": "p", "program": {"command": [sys.executable, PROGRAM]},
        "hyperparameter_ranges": {"x": {"type": "categorical", "values": [1, 2, 3]}},
        "objective": {"metric": "loss", "type": "minimize"},
        "metric_definitions": [{"name": "loss", "regex": r"loss=([-+0-9.eE]+)"}],
        "strategy": {"name": "grid"}, "limits": {"max_parallel_jobs": parallel},
        "output_dir": str(tmp_path / "runs"), "periods": periods, **extra,
    })
    return TuningPlan.from_spec(spec)


class StopAfter(TunerListener):
    def __init__(self, n: int) -> None:
        self.n, self.ended, self.tuner = n, 0, None

    def on_start(self, tuner) -> None:
        self.tuner = tuner

    def on_training_job_ended(self, record) -> None:
        self.ended += 1
        if self.ended == self.n:
            self.tuner.request_stop("Interrupted by the test")


def test_interrupted_and_resumed_each_configuration_is_told_once_with_its_aggregate(tmp_path):
    months = [["2024-01-01", "2024-01-31"], ["2024-02-01", "2024-02-29"], ["2024-03-01", "2024-03-31"]]
    p = plan(tmp_path, {"dates": months}, 2)
    db = open_store(str(tmp_path / "s.db"))
    first = Tuner(p, db, listener=StopAfter(4)).run()
    assert first.interrupted
    done = [r for r in db.list_training_jobs("p") if r.status is TrainingJobStatus.COMPLETED]
    assert 4 <= len(done) < 9
    resumed = Tuner(p, db)
    outcome = resumed.run(resume=True)
    assert outcome.status is TuningJobStatus.COMPLETED
    records = db.list_training_jobs("p")
    assert len(records) == 9 and all(r.status is TrainingJobStatus.COMPLETED for r in records)
    assert sorted((r.extra["configuration"], r.extra["period"]["index"]) for r in records) == [
        (c, i) for c in range(3) for i in range(3)]
    assert resumed.strategy.pending == []  # no configuration left pending by its periods
    assert resumed.strategy.best == ({"x": 3}, pytest.approx((1.101 + 0.901 + 0.951) / 3))
    assert outcome.best.config == {"x": 3}  # the configuration, valued at its aggregate
    assert outcome.best.final_objective == pytest.approx((1.101 + 0.901 + 0.951) / 3)
    db.close()


def test_the_results_csv_is_there_while_the_tuning_job_runs(tmp_path):
    url = tmp_path / "out" / "results.csv"
    seen: list[int] = []

    class Reader(TunerListener):
        def on_training_job_launched(self, record) -> None:
            if url.exists():
                rows = list(csv.DictReader(url.open()))
                seen.append(sum(1 for r in rows if r["status"] == "Completed"))

    p = plan(tmp_path, {"seeds": 2}, 1, results={"url": str(url)})
    db = open_store(str(tmp_path / "s.db"))
    Tuner(p, db, listener=Reader()).run()
    db.close()
    assert seen == [1, 2, 3, 4, 5]  # one at a time: each launch finds every earlier training job's row
    assert len(list(csv.DictReader(url.open()))) == 6
