"""``Store.tally_training_jobs`` (the dashboard's list page, one query) on SQLite and PostgreSQL: the counts
and the best value agree with what ``hyperjob describe`` reads from the training jobs one by one."""

from __future__ import annotations

import math
from typing import Iterator

import pytest

from hyperjob.records import Direction, Objective, TrainingJobStatus
from hyperjob.store.sql import SqlStore
from hyperjob.tuner.describe import best_training_job

STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[SqlStore]:
    url = f"sqlite:///{tmp_path}/store.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    s = SqlStore(url)
    yield s
    s.close()


def test_tally_counts_by_status_and_keeps_only_finite_objectives(store: SqlStore) -> None:
    store.create_tuning_job("a", {"name": "a"}, objective=Objective("acc", Direction.MAXIMIZE))
    store.create_tuning_job("b", {"name": "b"})
    store.create_tuning_job("empty", {"name": "empty"})
    done = [0.5, 0.91, math.inf, -math.inf, 0.2, math.nan]
    for i, value in enumerate(done):
        job = store.add_training_job("a", {"x": i})
        store.set_status(job.id, TrainingJobStatus.COMPLETED, final_objective=value)
    failed = store.add_training_job("a", {"x": 0})
    store.set_status(failed.id, TrainingJobStatus.FAILED, "boom")
    stopped = store.add_training_job("a", {"x": 1})
    store.set_status(stopped.id, TrainingJobStatus.STOPPED, "early stopping", final_objective=0.99)
    store.add_training_job("a", {"x": 2})  # Pending
    running = store.add_training_job("b", {"x": 3})
    store.set_status(running.id, TrainingJobStatus.IN_PROGRESS)

    tally = store.tally_training_jobs()

    assert set(tally) == {"a", "b"}  # no training jobs, no key
    a = tally["a"]
    assert a[TrainingJobStatus.COMPLETED] == (6, 0.2, 0.91)  # inf, -inf and NaN never count as a value
    assert a[TrainingJobStatus.FAILED] == (1, None, None)
    assert a[TrainingJobStatus.STOPPED] == (1, 0.99, 0.99)
    assert a[TrainingJobStatus.PENDING] == (1, None, None)
    assert tally["b"] == {TrainingJobStatus.IN_PROGRESS: (1, None, None)}
    # the same best as describe's rule (completed, finite), read record by record
    best = best_training_job(store.list_training_jobs("a"), Objective("acc", Direction.MAXIMIZE))
    assert best is not None and best.final_objective == a[TrainingJobStatus.COMPLETED][2]
    assert sum(n for n, _, _ in a.values()) == len(store.list_training_jobs("a"))
