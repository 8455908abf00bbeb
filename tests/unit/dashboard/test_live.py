"""The live stream's rows (hyperjob.dashboard.live): the first change sends every training job, later ones only
those whose row changed, on a real SQLite store."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="pip install 'hyperjob[dashboard]'")

from hyperjob.dashboard import live  # noqa: E402
from hyperjob.records import Objective, TrainingJobStatus  # noqa: E402
from hyperjob.store import open_store  # noqa: E402


def test_a_change_sends_only_the_training_jobs_whose_row_changed(tmp_path):
    with open_store(tmp_path / "hj.db") as store:
        store.create_tuning_job("t", {"name": "t", "objective": {"metric": "loss", "type": "minimize"}},
                                objective=Objective("loss", "minimize"))
        ids = [store.add_training_job("t", {"x": float(i)}).id for i in range(3)]
        sent: dict = {}
        first = live.change(store, "t", sent, None)
        assert first["training_jobs"]["ids"] == ids and first["total"] == 3
        assert live.change(store, "t", sent, None)["training_jobs"]["ids"] == []  # nothing changed
        key = live.status_key(store, "t")
        store.set_status(ids[1], TrainingJobStatus.IN_PROGRESS)
        store.set_status(ids[1], TrainingJobStatus.COMPLETED, final_objective=0.5)
        new = store.add_training_job("t", {"x": 9.0}).id
        assert live.status_key(store, "t") != key
        rows = live.change(store, "t", sent, "stopping")
        assert rows["training_jobs"]["ids"] == [ids[1], new] and rows["stop"] == "stopping"
        assert rows["training_jobs"]["status"] == ["Completed", "Pending"]
        assert rows["training_jobs"]["objective"] == [0.5, None] and rows["training_jobs"]["hps"]["x"] == [1.0, 9.0]
        assert rows["total"] == 4 and rows["status"]["counts"] == {"Completed": 1, "Pending": 3}
