"""Several processes on one store at once: schema creation, tuning job creation and index allocation race."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest

from hyperjob.errors import StoreError
from hyperjob.store.sql import SqlStore

WORKERS = 3
JOBS_PER_WORKER = 20


def _worker(url: str, worker: int, barrier: Any, results: Any) -> None:
    """Open the store, try to create the tuning job, then add training jobs as fast as possible."""
    barrier.wait(timeout=120)  # every process is imported and ready: start together
    created = False
    try:
        with SqlStore(url) as store:
            try:
                store.create_tuning_job("race", {"name": "race"})
                created = True
            except StoreError as exc:
                if "already exists" not in str(exc):
                    raise
            barrier.wait(timeout=120)
            ids = [store.add_training_job("race", {"worker": worker, "n": n}).id for n in range(JOBS_PER_WORKER)]
        results.put((worker, created, ids, None))
    except BaseException as exc:  # report it to the test instead of dying silently
        results.put((worker, created, [], f"{type(exc).__name__}: {exc}"))
        raise


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A database nobody opened yet (the schema does not exist)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/race.db"
    return request.getfixturevalue("pg_url")


def test_processes_racing_get_distinct_contiguous_indices(fresh_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")  # no inherited connections
    barrier = ctx.Barrier(WORKERS)
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(fresh_url, w, barrier, results)) for w in range(WORKERS)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    errors = [o[3] for o in outcomes if o[3]]
    assert errors == []
    assert [p.exitcode for p in procs] == [0] * WORKERS
    assert sum(1 for o in outcomes if o[1]) == 1  # exactly one process created the tuning job

    with SqlStore(fresh_url) as store:
        records = store.list_training_jobs("race")
        total = WORKERS * JOBS_PER_WORKER
        assert [r.index for r in records] == list(range(total))  # no gap, no duplicate
        assert [r.id for r in records] == [f"race-{i:03d}" for i in range(total)]
        by_id = {r.id: r for r in records}
        for worker, _, ids, _ in outcomes:
            assert len(ids) == JOBS_PER_WORKER
            assert [by_id[i].config for i in ids] == [{"worker": worker, "n": n} for n in range(JOBS_PER_WORKER)]
            indices = [by_id[i].index for i in ids]
            assert indices == sorted(indices)  # each process sees its own jobs in creation order
        # the schema was created once
        from sqlalchemy import func, select

        from hyperjob.store.models import SchemaVersion

        with store._engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(SchemaVersion)) == 1
