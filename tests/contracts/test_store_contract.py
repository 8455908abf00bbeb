"""The Store contract, run against every implementation: SqlStore on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import pytest

from hyperjob.errors import LeaseError, SpecError, StoreError
from hyperjob.records import DecisionRecord, Direction, MetricValue, Objective, TrainingJobStatus, TuningJobStatus
from hyperjob.stopping.base import Action, Decision
from hyperjob.store import Store
from hyperjob.store.sql import SqlStore, training_job_id

STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store.db"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    s = SqlStore(store_url)
    yield s
    s.close()


SPEC = {
    "name": "tj",
    "strategy": "bayesian",
    "objective": {"metric": "val:acc", "type": "Maximize"},
    "hyperparameters": {"lr": {"min_value": 1e-5, "max_value": 0.1, "scaling": "logarithmic"}},
    "max_jobs": 20,
    "nested": [1, 2.5, None, True, "x"],
}
CONFIG = {"lr": 0.0031, "layers": 3, "optimizer": "adam", "augment": False, "sizes": [32, 64]}


def _finished_tuning_job(store: SqlStore, name: str) -> None:
    store.create_tuning_job(name, {"name": name})
    store.set_tuning_job_status(name, TuningJobStatus.COMPLETED, "MaxNumberOfTrainingJobs reached")


# ------------------------------------------------------------------------------------------- tuning jobs
def test_satisfies_the_store_protocol(store: SqlStore) -> None:
    assert isinstance(store, Store)


def test_tuning_job_round_trip(store: SqlStore) -> None:
    for p in ("p-c", "p-a", "p-b"):
        _finished_tuning_job(store, p)
    before = time.time()
    created = store.create_tuning_job("tj", SPEC, parents=["p-b", "p-c", "p-a"])
    after = time.time()
    got = store.get_tuning_job("tj")
    assert got == created
    assert got.name == "tj"
    assert got.spec == SPEC
    assert got.status is TuningJobStatus.IN_PROGRESS
    assert before <= got.created_at <= after
    assert got.ended_at is None and got.status_reason is None
    assert got.parents == ("p-b", "p-c", "p-a")  # the order given, not alphabetical nor creation order
    assert got.consumed_runtime_s == 0.0
    listed = {r.name: r for r in store.list_tuning_jobs()}
    assert listed["tj"] == got
    assert listed["p-a"].parents == ()
    assert [r.name for r in store.list_tuning_jobs()] == ["p-c", "p-a", "p-b", "tj"]  # oldest first


def test_the_objective_is_recorded_with_the_tuning_job(store: SqlStore) -> None:
    objective = Objective("val:acc", Direction.MAXIMIZE)
    created = store.create_tuning_job("tj", SPEC, objective=objective)
    assert created.objective == objective
    assert store.get_tuning_job("tj").objective == objective
    assert store.get_tuning_job("tj") == created
    store.create_tuning_job("loss", {"name": "loss"}, objective=Objective("loss"))
    store.create_tuning_job("none", {"name": "none", "objective": {"metric": "acc", "type": "Maximize"}})
    listed = {r.name: r.objective for r in store.list_tuning_jobs()}
    assert listed == {"tj": objective, "loss": Objective("loss", Direction.MINIMIZE), "none": None}  # spec not read


def test_duplicate_tuning_job_name_is_refused(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    with pytest.raises(StoreError, match=r"tuning job named 'tj' already exists.*hyperjob resume tj"):
        store.create_tuning_job("tj", {"other": 1})
    assert store.get_tuning_job("tj").spec == SPEC


def test_unknown_parent_is_refused_and_nothing_is_written(store: SqlStore) -> None:
    _finished_tuning_job(store, "p1")
    with pytest.raises(StoreError, match=r"parents \['ghost'\] that are not in the store"):
        store.create_tuning_job("tj", SPEC, parents=["p1", "ghost"])
    with pytest.raises(StoreError, match="no tuning job named 'tj'"):
        store.get_tuning_job("tj")
    with pytest.raises(StoreError, match=r"parents \['p1'\] are listed twice"):
        store.create_tuning_job("tj", SPEC, parents=["p1", "p1"])


def test_unknown_tuning_job_errors_name_it(store: SqlStore) -> None:
    with pytest.raises(StoreError, match=r"no tuning job named 'nope'.*hyperjob list"):
        store.get_tuning_job("nope")
    with pytest.raises(StoreError, match="'nope'"):
        store.list_training_jobs("nope")
    with pytest.raises(StoreError, match="'nope'"):
        store.add_training_job("nope", CONFIG)
    with pytest.raises(StoreError, match="'nope'"):
        store.set_tuning_job_status("nope", TuningJobStatus.STOPPED)
    with pytest.raises(StoreError, match="'nope'"):
        store.add_consumed_runtime("nope", 1.0)
    with pytest.raises(StoreError, match="'nope'"):
        store.get_all_metrics("nope")
    with pytest.raises(StoreError, match="'nope'"):
        store.list_decisions("nope")
    with pytest.raises(StoreError, match="'nope'") as info:
        store.acquire_lease("nope", "host:1", 10)
    assert not isinstance(info.value, LeaseError)


def test_tuning_job_status_and_reason(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    store.set_tuning_job_status("tj", TuningJobStatus.STOPPING, "hyperjob stop")
    got = store.get_tuning_job("tj")
    assert (got.status, got.status_reason, got.ended_at) == (TuningJobStatus.STOPPING, "hyperjob stop", None)
    store.set_tuning_job_status("tj", TuningJobStatus.STOPPED, "Stopped by `hyperjob stop`")
    stopped = store.get_tuning_job("tj")
    assert stopped.status is TuningJobStatus.STOPPED
    assert stopped.status_reason == "Stopped by `hyperjob stop`"
    assert stopped.ended_at is not None and stopped.ended_at >= stopped.created_at
    store.set_tuning_job_status("tj", TuningJobStatus.IN_PROGRESS)  # resumed
    resumed = store.get_tuning_job("tj")
    assert (resumed.status, resumed.status_reason, resumed.ended_at) == (TuningJobStatus.IN_PROGRESS, None, None)


def test_consumed_runtime_accumulates(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    store.add_consumed_runtime("tj", 1.5)
    store.add_consumed_runtime("tj", 2.25)
    assert store.get_tuning_job("tj").consumed_runtime_s == pytest.approx(3.75)
    with pytest.raises(SpecError, match=r"seconds.*>= 0, got -1.0"):
        store.add_consumed_runtime("tj", -1)


# ----------------------------------------------------------------------------------------- training jobs
def test_training_job_round_trip(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    before = time.time()
    added = store.add_training_job("tj", CONFIG, extra={"model_dir": "/runs/tj-000/model"})
    assert added.id == "tj-000" and added.index == 0 and added.tuning_job == "tj"
    assert added.status is TrainingJobStatus.PENDING and added.attempt == 0
    assert added.config == CONFIG and added.extra == {"model_dir": "/runs/tj-000/model"}
    assert before <= added.created_at <= time.time()
    assert (added.started_at, added.ended_at, added.pid, added.failure_reason, added.final_objective) == (
        None, None, None, None, None,
    )
    assert store.get_training_job("tj-000") == added

    store.set_status("tj-000", TrainingJobStatus.IN_PROGRESS, pid=4242)
    running = store.get_training_job("tj-000")
    assert running.status is TrainingJobStatus.IN_PROGRESS and running.pid == 4242
    assert running.started_at is not None and running.started_at >= running.created_at

    store.set_status("tj-000", TrainingJobStatus.COMPLETED, final_objective=0.9375, extra={"resource": 12})
    done = store.get_training_job("tj-000")
    assert done.status is TrainingJobStatus.COMPLETED
    assert done.final_objective == 0.9375
    assert done.ended_at is not None and done.ended_at >= done.started_at
    assert done.started_at == running.started_at
    assert done.pid == 4242
    assert done.extra == {"model_dir": "/runs/tj-000/model", "resource": 12}
    assert done.config == CONFIG


def test_update_extra_merges_whatever_the_status(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    job = store.add_training_job("tj", CONFIG, extra={"a": 1, "b": [1]}).id
    store.set_status(job, TrainingJobStatus.COMPLETED, final_objective=1.0)
    store.update_extra(job, {"b": [2, 3], "c": {"d": None}})
    assert store.get_training_job(job).extra == {"a": 1, "b": [2, 3], "c": {"d": None}}
    with pytest.raises(StoreError, match=r"no training job 'tj-404'"):
        store.update_extra("tj-404", {"a": 1})


def test_failure_reason_and_missing_objective(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    job = store.add_training_job("tj", CONFIG)
    store.set_status(job.id, TrainingJobStatus.IN_PROGRESS, pid=7)
    store.set_status(job.id, TrainingJobStatus.FAILED, "exit code 1: CUDA out of memory", final_objective=math.nan)
    failed = store.get_training_job(job.id)
    assert failed.status is TrainingJobStatus.FAILED
    assert failed.failure_reason == "exit code 1: CUDA out of memory"
    assert failed.final_objective is None  # NaN is no objective, on every database


def test_indices_ids_and_creation_order(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    store.create_tuning_job("other", SPEC)
    ids = [store.add_training_job("tj", {"i": i}).id for i in range(4)]
    store.add_training_job("other", {"i": 0})
    assert ids == ["tj-000", "tj-001", "tj-002", "tj-003"]
    listed = store.list_training_jobs("tj")
    assert [(r.id, r.index, r.config["i"]) for r in listed] == [(f"tj-{i:03d}", i, i) for i in range(4)]
    assert [r.id for r in store.list_training_jobs("other")] == ["other-000"]
    assert training_job_id("tj", 999) == "tj-999" and training_job_id("tj", 1000) == "tj-1000"


def test_threads_sharing_one_store_get_distinct_indices(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(lambda i: store.add_training_job("tj", {"i": i}).id, range(24)))
    assert sorted(ids) == [f"tj-{i:03d}" for i in range(24)]
    assert sorted(r.config["i"] for r in store.list_training_jobs("tj")) == list(range(24))


def test_numpy_values_in_a_configuration_are_stored_as_numbers(store: SqlStore) -> None:
    np = pytest.importorskip("numpy")
    store.create_tuning_job("tj", SPEC)
    job = store.add_training_job("tj", {"lr": np.float64(0.5), "n": np.int64(3), "v": np.array([1, 2])})
    assert store.get_training_job(job.id).config == {"lr": 0.5, "n": 3, "v": [1, 2]}
    assert job.config == {"lr": 0.5, "n": 3, "v": [1, 2]}


def test_a_configuration_that_is_not_json_is_refused(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    with pytest.raises(StoreError, match=r"a configuration of tuning job 'tj' cannot be stored: .*object"):
        store.add_training_job("tj", {"fn": object()})
    assert store.list_training_jobs("tj") == []


def test_allowed_status_transitions(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    a = store.add_training_job("tj", CONFIG).id
    for status in ("InProgress", "InProgress", "Stopping", "Stopped", "Stopped"):
        store.set_status(a, TrainingJobStatus(status))
    assert store.get_training_job(a).status is TrainingJobStatus.STOPPED
    b = store.add_training_job("tj", CONFIG).id
    store.set_status(b, TrainingJobStatus.IN_PROGRESS)
    store.set_status(b, TrainingJobStatus.STOPPING)
    store.set_status(b, TrainingJobStatus.COMPLETED, final_objective=1.0)  # it finished while being stopped
    assert store.get_training_job(b).status is TrainingJobStatus.COMPLETED
    c = store.add_training_job("tj", CONFIG).id
    store.set_status(c, TrainingJobStatus.FAILED, "could not launch")  # straight from Pending
    assert store.get_training_job(c).failure_reason == "could not launch"


@pytest.mark.parametrize(
    ("path", "target"),
    [
        (["Completed"], "InProgress"),
        (["InProgress", "Failed"], "Completed"),
        (["InProgress", "Stopped"], "Stopping"),
        (["InProgress"], "Pending"),
    ],
)
def test_refused_status_transitions(store: SqlStore, path: list[str], target: str) -> None:
    store.create_tuning_job("tj", SPEC)
    job = store.add_training_job("tj", CONFIG).id
    for status in path:
        store.set_status(job, TrainingJobStatus(status))
    with pytest.raises(StoreError, match=rf"'tj-000' is {path[-1]}; it cannot become {target}.*reset_for_rerun"):
        store.set_status(job, TrainingJobStatus(target))
    assert store.get_training_job(job).status is TrainingJobStatus(path[-1])


def test_unknown_training_job_errors_name_it(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    for call in (
        lambda: store.get_training_job("tj-404"),
        lambda: store.set_status("tj-404", TrainingJobStatus.IN_PROGRESS),
        lambda: store.reset_for_rerun("tj-404"),
        lambda: store.append_metrics("tj-404", [MetricValue("loss", 1.0, 0)]),
        lambda: store.get_metrics("tj-404"),
        lambda: store.add_decision("tj-404", 0, STOP),
        lambda: store.get_decisions("tj-404"),
    ):
        with pytest.raises(StoreError, match=r"no training job 'tj-404'.*hyperjob trials"):
            call()


# ----------------------------------------------------------------------------------------------- metrics
def _values(store: SqlStore, job: str) -> list[tuple[str, int, float]]:
    return [(m.name, m.step, m.value) for m in store.get_metrics(job)]


def test_metrics_round_trip_in_recorded_order(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    job = store.add_training_job("tj", CONFIG).id
    assert store.get_metrics(job) == []
    first = [MetricValue("loss", 2.5, 0, 1000.25), MetricValue("acc", 0.5, 0, 1000.5)]
    second = [MetricValue("loss", 1.25, 1, 1001.0), MetricValue("acc", 0.75, 1, 1001.5)]
    store.append_metrics(job, first)
    store.append_metrics(job, second)
    assert store.get_metrics(job) == first + second  # names, values, steps and timestamps


def test_unknown_timestamp_is_recorded_as_the_time_of_the_append(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    job = store.add_training_job("tj", CONFIG).id
    before = time.time()
    store.append_metrics(job, [MetricValue("loss", 1.0, 0)])
    (value,) = store.get_metrics(job)
    assert before <= value.timestamp <= time.time()


def test_appending_the_same_values_again_does_not_duplicate_them(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    job = store.add_training_job("tj", CONFIG).id
    batch = [MetricValue("loss", 1.0 / (s + 1), s, 100.0 + s) for s in range(5)]
    store.append_metrics(job, batch)
    store.append_metrics(job, batch)  # a retried call
    store.append_metrics(job, batch[2:] + [MetricValue("loss", 0.1, 5, 200.0)])  # overlapping re-read
    store.append_metrics(job, [MetricValue("loss", 1.0, 0, 999.0)])  # same value, other timestamp
    assert _values(store, job) == [("loss", s, 1.0 / (s + 1)) for s in range(5)] + [("loss", 5, 0.1)]


def test_distinct_values_at_one_step_are_all_kept(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    job = store.add_training_job("tj", CONFIG).id
    store.append_metrics(job, [MetricValue("acc", 0.5, 3), MetricValue("acc", 0.6, 3), MetricValue("acc", 0.5, 3)])
    store.append_metrics(job, [MetricValue("acc", 0.6, 3), MetricValue("acc", 0.7, 3)])
    assert _values(store, job) == [("acc", 3, 0.5), ("acc", 3, 0.6), ("acc", 3, 0.7)]


def test_nan_and_infinite_values_survive(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    job = store.add_training_job("tj", CONFIG).id
    batch = [MetricValue("loss", math.nan, 0), MetricValue("loss", math.inf, 1), MetricValue("loss", -math.inf, 2)]
    store.append_metrics(job, batch)
    store.append_metrics(job, batch)  # NaN counts as the same value as NaN: not stored twice
    got = store.get_metrics(job)
    assert len(got) == 3
    assert math.isnan(got[0].value)
    assert (got[1].value, got[2].value) == (math.inf, -math.inf)


def test_non_finite_floats_in_json_fields_round_trip(store: SqlStore) -> None:
    """inf, -inf and NaN inside a spec, a configuration or extra (a static hyperparameter ``max_norm: .inf``, a
    metric's last value kept in extra): PostgreSQL's JSON refuses the tokens Python writes for them, so the
    store encodes them itself and both databases give back the same floats."""
    spec = {**SPEC, "static_hyperparameters": {"max_norm": math.inf, "floor": -math.inf}}
    store.create_tuning_job("tj", spec)
    config = {**CONFIG, "clip": math.inf, "scale": [1.0, -math.inf]}
    job = store.add_training_job("tj", config, extra={"last": {"loss": math.nan}}).id
    store.set_status(job, TrainingJobStatus.COMPLETED, final_objective=1.0, extra={"values": {"gap": math.inf}})
    store.update_extra(job, {"worst": -math.inf})
    got = store.get_training_job(job)
    assert got.config == config and got.config["clip"] == math.inf
    assert got.extra["values"] == {"gap": math.inf} and got.extra["worst"] == -math.inf
    assert math.isnan(got.extra["last"]["loss"])
    assert store.get_tuning_job("tj").spec["static_hyperparameters"] == {"max_norm": math.inf, "floor": -math.inf}
    assert [r.config for r in store.list_training_jobs("tj")] == [config]


def test_a_non_numeric_metric_value_is_refused(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    job = store.add_training_job("tj", CONFIG).id
    bad = MetricValue("loss", "high", 0)  # type: ignore[arg-type]
    with pytest.raises(StoreError, match=r"metric 'loss' at step 0 has value 'high'"):
        store.append_metrics(job, [MetricValue("loss", 1.0, 1), bad])
    assert store.get_metrics(job) == []  # nothing of the refused batch was written


def test_get_all_metrics_has_every_training_job_in_creation_order(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    store.create_tuning_job("other", SPEC)
    jobs = [store.add_training_job("tj", {"i": i}).id for i in range(3)]
    noise = store.add_training_job("other", {"i": 0}).id
    store.append_metrics(jobs[2], [MetricValue("loss", 3.0, 0, 1.0)])
    store.append_metrics(jobs[0], [MetricValue("loss", 1.0, 0, 2.0), MetricValue("loss", 0.5, 1, 3.0)])
    store.append_metrics(noise, [MetricValue("loss", 9.0, 0, 4.0)])
    everything = store.get_all_metrics("tj")
    assert list(everything) == jobs
    assert everything[jobs[0]] == [MetricValue("loss", 1.0, 0, 2.0), MetricValue("loss", 0.5, 1, 3.0)]
    assert everything[jobs[1]] == []
    assert everything[jobs[2]] == [MetricValue("loss", 3.0, 0, 1.0)]
    assert everything[jobs[0]] == store.get_metrics(jobs[0])


# ------------------------------------------------------------------------------------------------- rerun
def test_reset_for_rerun(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    job = store.add_training_job("tj", CONFIG, extra={"note": "kept"}).id
    other = store.add_training_job("tj", CONFIG).id
    store.set_status(job, TrainingJobStatus.IN_PROGRESS, pid=99)
    store.append_metrics(job, [MetricValue("loss", 1.0, 0), MetricValue("loss", 0.5, 1)])
    store.append_metrics(other, [MetricValue("loss", 2.0, 0)])
    store.set_status(job, TrainingJobStatus.FAILED, "killed", final_objective=0.5)

    fresh = store.reset_for_rerun(job)
    assert fresh == store.get_training_job(job)
    assert fresh.status is TrainingJobStatus.PENDING and fresh.attempt == 1
    assert (fresh.pid, fresh.started_at, fresh.ended_at, fresh.failure_reason, fresh.final_objective) == (
        None, None, None, None, None,
    )
    assert (fresh.id, fresh.index, fresh.config, fresh.extra) == (job, 0, CONFIG, {"note": "kept"})
    assert store.get_metrics(job) == []
    assert _values(store, other) == [("loss", 0, 2.0)]  # other training jobs untouched

    # the rerun records its own values, even the same ones as the lost attempt
    store.set_status(job, TrainingJobStatus.IN_PROGRESS, pid=100)
    store.append_metrics(job, [MetricValue("loss", 1.0, 0)])
    assert _values(store, job) == [("loss", 0, 1.0)]
    assert store.get_all_metrics("tj")[job] == store.get_metrics(job)
    assert store.reset_for_rerun(job).attempt == 2


# --------------------------------------------------------------------------------------------- decisions
RUNG = Decision(Action.CONTINUE, "rung", step=1, value=0.75, threshold=0.5, compared=4, rung=1, bracket=0,
                reason="hyperband: at rung 1 (step 1) the objective 0.75 is among the best 2 of 4: goes on")
STOP = Decision(Action.STOP, "median", step=3, value=2.5, threshold=1.25, compared=3,
                reason="early stopping (auto): at step 3 the objective 2.5 is worse than the median 1.25")


def test_decisions_round_trip_in_the_order_they_were_made(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    job = store.add_training_job("tj", CONFIG).id
    assert store.get_decisions(job) == []
    first = store.add_decision(job, 0, RUNG, at=1000.5)
    before = time.time()
    second = store.add_decision(job, 0, STOP)  # at: now
    assert first == DecisionRecord(training_job=job, attempt=0, decision=RUNG, at=1000.5)
    assert (second.decision, second.attempt) == (STOP, 0) and before <= second.at <= time.time()
    assert store.get_decisions(job) == [first, second]
    assert store.get_decisions(job)[1].decision.stop and not store.get_decisions(job)[0].decision.stop
    assert store.get_training_job(job).extra == {}  # not in the extra data


def test_a_decision_without_a_finite_value_or_threshold_survives(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    job = store.add_training_job("tj", CONFIG).id
    odd = Decision(Action.STOP, "max_resource", step=9, value=math.nan, threshold=None, reason="reached 9")
    store.add_decision(job, 0, Decision(Action.STOP, "rung", step=3, value=math.inf, threshold=math.nan))
    store.add_decision(job, 0, odd)
    inf, nan = [k.decision for k in store.get_decisions(job)]
    assert (inf.value, inf.threshold) == (math.inf, None)  # a NaN threshold is no threshold
    assert math.isnan(nan.value) and nan.threshold is None
    assert (nan.rule, nan.step, nan.rung, nan.bracket, nan.compared, nan.reason) == ("max_resource", 9, None, None, 0,
                                                                                   "reached 9")


def test_list_decisions_has_every_training_job_in_creation_order(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    store.create_tuning_job("other", SPEC)
    jobs = [store.add_training_job("tj", {"i": i}).id for i in range(3)]
    noise = store.add_training_job("other", {"i": 0}).id
    store.add_decision(jobs[2], 0, STOP, at=3.0)
    store.add_decision(jobs[0], 0, RUNG, at=1.0)
    store.add_decision(noise, 0, STOP, at=2.0)
    store.add_decision(jobs[0], 0, STOP, at=4.0)
    everything = store.list_decisions("tj")
    assert list(everything) == jobs
    assert [k.decision for k in everything[jobs[0]]] == [RUNG, STOP]
    assert everything[jobs[1]] == []
    assert everything[jobs[2]] == [DecisionRecord(jobs[2], 0, STOP, 3.0)]
    assert everything[jobs[0]] == store.get_decisions(jobs[0])
    assert list(store.list_decisions("other")) == [noise]


def test_a_rerun_keeps_the_decisions_of_earlier_attempts_but_reads_the_current_ones(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    job = store.add_training_job("tj", CONFIG).id
    store.add_decision(job, 0, RUNG, at=1.0)
    assert store.reset_for_rerun(job).attempt == 1
    assert store.get_decisions(job) == [] and store.list_decisions("tj") == {job: []}
    store.add_decision(job, 1, STOP, at=2.0)
    assert store.get_decisions(job) == [DecisionRecord(job, 1, STOP, 2.0)]
    assert store.list_decisions("tj") == {job: [DecisionRecord(job, 1, STOP, 2.0)]}
    history = [DecisionRecord(job, 0, RUNG, 1.0), DecisionRecord(job, 1, STOP, 2.0)]
    assert store.get_decisions(job, all_attempts=True) == history
    assert store.list_decisions("tj", all_attempts=True) == {job: history}


def test_a_decision_about_a_negative_attempt_is_refused(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    job = store.add_training_job("tj", CONFIG).id
    with pytest.raises(StoreError, match=r"'tj-000': a decision is about attempt 0 or later, got attempt -1"):
        store.add_decision(job, -1, STOP)
    assert store.get_decisions(job, all_attempts=True) == []


# ------------------------------------------------------------------------------------------------- lease
def test_lease_acquire_refuse_renew_release(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    store.acquire_lease("tj", "hostA:100", ttl_s=60)
    store.acquire_lease("tj", "hostA:100", ttl_s=60)  # already ours: extended
    with pytest.raises(LeaseError) as info:
        store.acquire_lease("tj", "hostB:200", ttl_s=60)
    message = str(info.value)
    assert "'tj'" in message and "hostA:100" in message
    assert "UTC" in message and "s from now" in message
    assert "hyperjob stop tj" in message and "wait" in message
    wait_s = int(message.split("or wait ")[1].split(" s")[0])
    assert 55 <= wait_s <= 60

    store.renew_lease("tj", "hostA:100", ttl_s=120)
    with pytest.raises(LeaseError, match=r"or wait 1[12]\d s if it crashed"):
        store.acquire_lease("tj", "hostB:200", ttl_s=60)

    store.release_lease("tj", "hostB:200")  # not the holder: nothing happens
    with pytest.raises(LeaseError, match="hostA:100"):
        store.acquire_lease("tj", "hostB:200", ttl_s=60)
    store.release_lease("tj", "hostA:100")
    store.acquire_lease("tj", "hostB:200", ttl_s=60)
    with pytest.raises(LeaseError, match=r"hostA:100 lost the lease of tuning job 'tj'.*hostB:200 took it"):
        store.renew_lease("tj", "hostA:100", ttl_s=60)
    store.release_lease("tj", "hostB:200")
    with pytest.raises(LeaseError, match=r"hostB:200 lost the lease.*released.*hyperjob resume tj"):
        store.renew_lease("tj", "hostB:200", ttl_s=60)


def test_an_expired_lease_can_be_taken_over(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    store.acquire_lease("tj", "crashed:1", ttl_s=0.3)
    with pytest.raises(LeaseError, match="crashed:1"):
        store.acquire_lease("tj", "new:2", ttl_s=30)
    time.sleep(0.5)
    store.acquire_lease("tj", "new:2", ttl_s=30)
    with pytest.raises(LeaseError, match="new:2"):
        store.acquire_lease("tj", "crashed:1", ttl_s=30)


def test_an_expired_lease_nobody_took_can_be_renewed(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    store.acquire_lease("tj", "slow:1", ttl_s=0.2)
    time.sleep(0.4)
    store.renew_lease("tj", "slow:1", ttl_s=30)
    with pytest.raises(LeaseError, match="slow:1"):
        store.acquire_lease("tj", "other:2", ttl_s=30)


def test_a_lease_needs_a_positive_time_to_live(store: SqlStore) -> None:
    store.create_tuning_job("tj", SPEC)
    with pytest.raises(SpecError, match=r"ttl_s: .*> 0 seconds, got 0.0"):
        store.acquire_lease("tj", "a:1", ttl_s=0)
    with pytest.raises(SpecError, match="ttl_s"):
        store.renew_lease("tj", "a:1", ttl_s=math.nan)


def test_a_lease_is_per_tuning_job(store: SqlStore) -> None:
    store.create_tuning_job("one", SPEC)
    store.create_tuning_job("two", SPEC)
    store.acquire_lease("one", "a:1", ttl_s=60)
    store.acquire_lease("two", "b:2", ttl_s=60)
    with pytest.raises(LeaseError, match="b:2"):
        store.acquire_lease("two", "a:1", ttl_s=60)


# ----------------------------------------------------------------------------------- reopening, versions
def test_everything_survives_reopening(store_url: str) -> None:
    with SqlStore(store_url) as first:
        first.create_tuning_job("tj", SPEC, objective=Objective("val:acc", Direction.MAXIMIZE))
        job = first.add_training_job("tj", CONFIG).id
        first.append_metrics(job, [MetricValue("loss", 0.25, 0, 5.0)])
        first.add_decision(job, 0, RUNG, at=6.0)
        first.set_status(job, TrainingJobStatus.COMPLETED, final_objective=0.25)
        before = (first.get_tuning_job("tj"), first.get_training_job(job))
    with SqlStore(store_url) as second:  # a database of the current version created by SqlStore reopens fine
        assert (second.get_tuning_job("tj"), second.get_training_job(job)) == before
        assert second.get_tuning_job("tj").objective == Objective("val:acc", Direction.MAXIMIZE)
        assert second.get_metrics(job) == [MetricValue("loss", 0.25, 0, 5.0)]
        assert second.get_decisions(job) == [DecisionRecord(job, 0, RUNG, 6.0)]
        assert second.add_training_job("tj", CONFIG).index == 1


def test_a_database_of_a_newer_schema_is_refused(store_url: str) -> None:
    from sqlalchemy import insert

    from hyperjob.store.models import SCHEMA_VERSION, SchemaVersion

    with SqlStore(store_url) as first:
        first.create_tuning_job("tj", SPEC)
        with first._engine.begin() as conn:
            conn.execute(
                insert(SchemaVersion).values(version=SCHEMA_VERSION + 1, applied_at=time.time(), hyperjob_version="9.9")
            )
    with pytest.raises(StoreError, match=rf"schema version {SCHEMA_VERSION + 1}.*Upgrade hyperjob") as info:
        SqlStore(store_url)
    assert "pip install -U hyperjob" in str(info.value)
