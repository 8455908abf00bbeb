"""benchmarks/experiments.py's pieces: the simulated world is the seed's, the forecaster learns, and one
tuning job through hyperjob's Tuner judges configurations on their periods' mean."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from _benchmarks import load_benchmark

bench = load_benchmark("experiments")


def test_a_world_is_its_seed():
    a, b = bench.make_world(1), bench.make_world(1)
    assert len(a) == (bench.END - bench.START).days + 1 and np.array_equal(a, b)
    assert not np.array_equal(a, bench.make_world(2))


def test_the_forecaster_beats_the_mean_once_trained(tmp_path):
    y = bench.make_world(0)
    start, end = bench.index_of("2021-01-01"), bench.index_of("2021-03-31")
    trained = bench.fit_score(y, start, end, 4, 1.0, 0.1, 200)
    untrained = bench.fit_score(y, start, end, 4, 1.0, 0.1, 0)  # predicts the training mean
    assert trained < untrained


def test_one_tuning_job_aggregates_its_periods(tmp_path, monkeypatch):
    from hyperjob.store import open_store

    monkeypatch.setattr(bench, "LAGS", [1, 4])
    monkeypatch.setattr(bench, "ALPHAS", [0.1])
    bench._world["y"] = bench.make_world(3)
    store = open_store(str(tmp_path / "b.db"))
    records = bench.run_job(store, bench.spec("t", 2, False))
    store.close()
    assert len(records) == 4
    by_config: dict = {}
    for r in records:
        by_config.setdefault(r.extra["configuration"], []).append(r.final_objective)
    results = bench.ranked(bench.configurations(records, bench.LOSS), bench.LOSS)
    means = sorted(statistics.mean(v) for v in by_config.values())
    assert [c.aggregate for c in results] == [pytest.approx(m) for m in means]
