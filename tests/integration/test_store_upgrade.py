"""The upgrade test: a database saved by an older hyperjob (tests/fixtures/store/) opens with this one.

``v1.db`` (schema version 1, made by ``tests/fixtures/store/make_v1.py``) kept the stopping decisions in
``training_jobs.extra["decisions"]`` and the objective only in the spec JSON. Opened now, it is upgraded to
version 2: the decisions are rows of ``decisions`` (earlier attempts included), the objective is in typed
columns. The same file is loaded into a PostgreSQL database of version 1 (``models_v1.py``) and upgraded there.
"""

from __future__ import annotations

import doctest
import importlib.util
import json
import shutil
import sqlite3
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import create_engine, inspect, select

from hyperjob.records import DecisionRecord, Direction, MetricValue, Objective, TrainingJobStatus
from hyperjob.stopping.base import Decision
from hyperjob.store.migrations import v2
from hyperjob.store.models import SCHEMA_VERSION, Base
from hyperjob.store.sql import SqlStore
from hyperjob.tuner.describe import describe_tuning_job, list_training_jobs

FIXTURES = Path(__file__).parents[1] / "fixtures" / "store"
V1_DB = FIXTURES / "v1.db"


def _v1_rows(path: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The specs of the tuning jobs and the extra data of the training jobs, as version 1 stored them."""
    conn = sqlite3.connect(path)
    try:
        specs = {name: json.loads(spec) for name, spec in conn.execute("SELECT name, spec FROM tuning_jobs")}
        extras = {job: json.loads(extra) for job, extra in conn.execute("SELECT id, extra FROM training_jobs")}
        return specs, extras
    finally:
        conn.close()


def _models_v1() -> Any:
    """``models_v1.py``, imported once (SQLAlchemy resolves its annotations through ``sys.modules``)."""
    name = "hyperjob_test_models_v1"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, FIXTURES / "models_v1.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _copy_into(source: Path, url: str) -> None:
    """A version-1 database at ``url`` holding ``source``'s rows (metrics get fresh ids, in their order)."""
    v1 = _models_v1()
    reader, writer = create_engine(f"sqlite:///{source}"), create_engine(url)
    try:
        v1.Base.metadata.create_all(writer)
        with reader.connect() as src, writer.begin() as dst:
            for table in v1.Base.metadata.sorted_tables:
                order = [c for c in table.primary_key.columns]
                rows = [dict(r._mapping) for r in src.execute(select(table).order_by(*order))]
                if table.name == "metrics":
                    rows = [{k: v for k, v in r.items() if k != "id"} for r in rows]
                if rows:
                    dst.execute(table.insert(), rows)
    finally:
        reader.dispose()
        writer.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def v1_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a version-1 database with the rows of ``v1.db`` (a copy: the fixture is never written)."""
    copy = tmp_path / "v1.db"
    shutil.copyfile(V1_DB, copy)
    if request.param == "sqlite":
        yield f"sqlite:///{copy}"
    else:
        url = request.getfixturevalue("pg_url")
        _copy_into(copy, url)
        yield url


def _versions(store: SqlStore) -> list[int]:
    from hyperjob.store.models import SchemaVersion

    with store._engine.connect() as conn:
        return list(conn.scalars(select(SchemaVersion.version).order_by(SchemaVersion.version)))


def test_the_fixture_is_a_small_version_1_database() -> None:
    assert V1_DB.stat().st_size < 200_000
    conn = sqlite3.connect(V1_DB)
    try:
        assert conn.execute("SELECT max(version) FROM schema_version").fetchone() == (1,)
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "decisions" not in tables
    finally:
        conn.close()
    _, extras = _v1_rows(V1_DB)
    kept = [d for extra in extras.values() for d in extra.get("decisions", ())]
    assert {d["rule"] for d in kept} == {"median", "rung", "max_resource"}
    assert {d["attempt"] for d in kept} == {0, 1}  # a rerun after a kill kept its lost attempt's decisions


def test_a_version_1_database_is_upgraded_with_its_decisions_and_objectives(v1_url: str) -> None:
    specs, extras = _v1_rows(V1_DB)
    with SqlStore(v1_url) as store:
        assert _versions(store) == [1, 2] == list(range(1, SCHEMA_VERSION + 1))
        objectives = {t.name: t.objective for t in store.list_tuning_jobs()}
        assert objectives == {
            "median": Objective("loss", Direction.MINIMIZE),
            "hb": Objective("loss", Direction.MINIMIZE),
            "api": Objective("acc", Direction.MAXIMIZE),
        }
        assert {t.name: t.spec for t in store.list_tuning_jobs()} == specs  # the specs are untouched
        for name in specs:
            records = store.list_training_jobs(name)
            history = store.list_decisions(name, all_attempts=True)
            current = store.list_decisions(name)
            assert list(history) == [r.id for r in records]
            for r in records:
                entries = extras[r.id].get("decisions", [])
                assert history[r.id] == [
                    DecisionRecord(r.id, e["attempt"], Decision.from_json(e), e["time"]) for e in entries
                ]
                assert current[r.id] == [k for k in history[r.id] if k.attempt == r.attempt]
                assert current[r.id] == store.get_decisions(r.id)
                assert dict(r.extra) == {k: v for k, v in extras[r.id].items() if k != "decisions"}
                assert "objective_step" in r.extra
        stopped = [r for r in store.list_training_jobs("median") if r.status is TrainingJobStatus.STOPPED]
        assert stopped
        for r in stopped:
            (stop,) = store.get_decisions(r.id)
            assert stop.decision.stop and stop.decision.rule == "median" and stop.decision.reason == r.failure_reason
        rerun = store.get_training_job("hb-000")
        assert rerun.attempt == 1
        assert [k.attempt for k in store.get_decisions("hb-000", all_attempts=True)] == [0, 0, 1, 1, 1]
        assert [k.decision.rule for k in store.get_decisions("hb-000")] == ["rung", "rung", "max_resource"]

        described = describe_tuning_job(store, "median")
        assert {s["TrainingJobName"] for s in described["StoppedEarly"]} == {r.id for r in stopped}
        assert described["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"] == {
            "Type": "Minimize", "MetricName": "loss"
        }
        best = describe_tuning_job(store, "api")["BestTrainingJob"]
        assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Type"] == "Maximize"
        assert [r["Rung"] for r in best["Rungs"]] == [1, 3] and best["StoppingDecision"]["Rule"] == "max_resource"
        (hb000,) = [s for s in list_training_jobs(store, "hb") if s["TrainingJobName"] == "hb-000"]
        assert [r["Rung"] for r in hb000["Rungs"]] == [1, 3]  # the current attempt's, not the lost one's too

        # the upgraded database takes new records
        store.add_decision("hb-000", 1, Decision.from_json({"action": "stop", "rule": "rung", "step": 9}), at=1.0)
        assert len(store.get_decisions("hb-000")) == 4
        job = store.add_training_job("median", {"x": 0.5, "y": 1})
        store.append_metrics(job.id, [MetricValue("loss", 0.5, 0, 2.0)])
        assert store.get_metrics(job.id) == [MetricValue("loss", 0.5, 0, 2.0)]
        store.create_tuning_job("new", {"name": "new"}, objective=Objective("acc", Direction.MAXIMIZE))
    with SqlStore(v1_url) as again:  # upgraded once
        assert _versions(again) == [1, 2]
        assert again.get_tuning_job("new").objective == Objective("acc", Direction.MAXIMIZE)


@pytest.fixture
def fresh_url(v1_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database on the same kind of server as ``v1_url``."""
    if v1_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/fresh.db"
        return
    from sqlalchemy import text

    admin = request.getfixturevalue("pg_admin")
    name = f"hj_fresh_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _shape(url: str) -> dict[str, Any]:
    """Every table's columns (name, nullable, type), index names and foreign keys, as the database reports them."""
    engine = create_engine(url)
    try:
        found = inspect(engine)
        return {
            table: (
                sorted((c["name"], c["nullable"], str(c["type"])) for c in found.get_columns(table)),
                sorted(i["name"] for i in found.get_indexes(table)),
                sorted((tuple(f["constrained_columns"]), f["referred_table"], f["options"].get("ondelete"))
                       for f in found.get_foreign_keys(table)),
            )
            for table in sorted(found.get_table_names())
        }
    finally:
        engine.dispose()


def test_the_upgraded_schema_is_the_schema_of_a_new_database(v1_url: str, fresh_url: str) -> None:
    SqlStore(v1_url).close()
    SqlStore(fresh_url).close()
    upgraded = _shape(v1_url)
    assert sorted(upgraded) == sorted(Base.metadata.tables)
    assert upgraded == _shape(fresh_url)


def test_decisions_that_cannot_be_read_stay_in_the_extra_data(tmp_path: Path) -> None:
    copy = tmp_path / "v1.db"
    shutil.copyfile(V1_DB, copy)
    conn = sqlite3.connect(copy)
    (extra,) = conn.execute("SELECT extra FROM training_jobs WHERE id = 'median-004'").fetchone()
    data = json.loads(extra)
    data["decisions"] = [{"note": "not a decision"}, *data["decisions"], "junk"]
    conn.execute("UPDATE training_jobs SET extra = ? WHERE id = 'median-004'", (json.dumps(data),))
    conn.commit()
    conn.close()
    with SqlStore(f"sqlite:///{copy}") as store:
        assert store.get_training_job("median-004").extra["decisions"] == [{"note": "not a decision"}, "junk"]
        (stop,) = store.get_decisions("median-004")
        assert stop.decision.rule == "median"


def test_several_openers_upgrade_it_once(v1_url: str) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        stores = list(pool.map(lambda _: SqlStore(v1_url), range(4)))
    try:
        assert _versions(stores[0]) == [1, 2]
        assert all(len(s.get_decisions("hb-000", all_attempts=True)) == 5 for s in stores)
    finally:
        for s in stores:
            s.close()


def test_the_objective_of_a_version_1_spec() -> None:
    assert doctest.testmod(v2).failed == 0
    assert v2.objective_from_v1_spec({"objective": {"metric": "f1", "type": "Maximize"}}) == ("f1", "Maximize")
    assert v2.objective_from_v1_spec({"objective": {"metric": "f1", "type": "upwards"}}) is None
    assert v2.objective_from_v1_spec({"objective": {"metric": ""}}) is None
    assert v2.objective_from_v1_spec(None) is None
