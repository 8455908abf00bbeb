"""hyperjob.tune passes early_stopping's settings to the Tuner's stopper: a Python function's training jobs in a
real SQLite store, stopped by SageMaker's rule (``auto``) or by the rule with an explicit warm-up."""

from __future__ import annotations

from pathlib import Path

import hyperjob
from hyperjob.records import TrainingJobStatus
from hyperjob.store import open_store

SPACE = {"x": {"type": "continuous", "min_value": 0.0, "max_value": 1.0}}
EPOCHS = 4


def train(config: dict) -> None:
    for epoch in range(1, EPOCHS + 1):
        hyperjob.report(step=epoch, loss=config["x"] + 1.0 / epoch)


def _run(tmp_path: Path, name: str, early_stopping: object) -> tuple[list, dict, dict]:
    result = hyperjob.tune(train, SPACE, objective="loss", max_jobs=10, max_parallel_jobs=1, strategy="random",
                           early_stopping=early_stopping, seed=3, output_dir=tmp_path / "runs", name=name,
                           store=str(tmp_path / "hj.db"))
    assert result.status == "Completed"
    store = open_store(result.store_url)
    try:
        records = store.list_training_jobs(name)
        stops = {r.id: [k.decision for k in store.get_decisions(r.id) if k.decision.stop] for r in records}
        spec = store.get_tuning_job(name).spec
    finally:
        store.close()
    return records, stops, spec


def test_auto_stops_from_the_first_value_and_a_warm_up_waits(tmp_path: Path) -> None:
    records, stops, spec = _run(tmp_path, "exact", "auto")
    assert spec["early_stopping"] == "auto"
    stopped = [r for r in records if r.status is TrainingJobStatus.STOPPED]
    assert stopped
    # SageMaker's rule: the second training job is judged against the first, at its first value
    first_value_stops = [d for r in stopped for d in stops[r.id] if d.step == 1]
    assert first_value_stops and min(d.compared for d in first_value_stops) >= 1
    assert any(r.index < 3 for r in stopped)
    for r in stopped:
        (d,) = stops[r.id]
        assert d.rule == "median" and d.compared <= r.index and d.value > d.threshold
        assert r.failure_reason.startswith(f"early stopping (auto): at step {d.step}")

    warm_up = {"rule": "median", "min_jobs": 3, "grace_values": 1}
    records, stops, spec = _run(tmp_path, "warm-up", warm_up)
    assert spec["early_stopping"] == warm_up  # the store keeps the settings
    stopped = [r for r in records if r.status is TrainingJobStatus.STOPPED]
    assert stopped  # the same configurations (same seed): the rule still stops, later
    for r in stopped:
        (d,) = stops[r.id]
        assert d.step >= 2 and d.compared >= 3 and r.index >= 3  # grace_values 1, min_jobs 3
        assert r.failure_reason.startswith("early stopping (median rule, min_jobs=3, grace_values=1): at step")
    assert all(r.status is TrainingJobStatus.COMPLETED for r in records if r.index < 3)
