"""Warm start: every rule (its own WarmStartError, asserted by content), the mapping, and what strategies get."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hyperjob.errors import SpecError, WarmStartError
from hyperjob.formats.spec import TuningJobSpec
from hyperjob.records import Final, Objective, TrainingJobStatus, TuningJobStatus
from hyperjob.space import CategoricalRange, ContinuousRange, DiscreteRange, IntegerRange, SearchSpace
from hyperjob.store import open_store
from hyperjob.strategies.grid import GridStrategy
from hyperjob.strategies.random import RandomStrategy
from hyperjob.tuner.warm_start import (
    IDENTICAL,
    TRANSFER,
    TransferSeeding,
    count_changes,
    load_warm_start,
    range_type,
    space_to_json,
)

LR = {"type": "continuous", "min_value": 0.001, "max_value": 0.1, "scaling": "logarithmic"}
LAYERS = {"type": "integer", "min_value": 1, "max_value": 8}
OPT = {"type": "categorical", "values": ["sgd", "adam"]}


def spec(name: str, ranges: dict[str, Any], static: dict[str, Any] | None = None, *, metric: str = "loss",
         direction: str = "minimize", max_jobs: int = 10) -> TuningJobSpec:
    return TuningJobSpec.model_validate({
        "name": name,
        "program": {"command": ["python", "train.py"]},
        "hyperparameter_ranges": ranges,
        "static_hyperparameters": static or {},
        "objective": {"metric": metric, "type": direction},
        "limits": {"max_jobs": max_jobs},
    })


@pytest.fixture()
def store(tmp_path: Path):
    db = open_store(str(tmp_path / "ws.db"))
    yield db
    db.close()


def record_parent(store, s: TuningJobSpec, jobs: list[tuple[dict, float | None]], *,
                  status: TuningJobStatus = TuningJobStatus.COMPLETED, parents: tuple[str, ...] = ()) -> None:
    store.create_tuning_job(s.name, s.to_json(), parents=parents)
    for config, value in jobs:
        rec = store.add_training_job(s.name, config)
        if value is None:
            store.set_status(rec.id, TrainingJobStatus.FAILED, "boom")
        else:
            store.set_status(rec.id, TrainingJobStatus.COMPLETED, final_objective=value)
    if status is not TuningJobStatus.IN_PROGRESS:
        store.set_tuning_job_status(s.name, status, "done")


def load(store, child: TuningJobSpec, parents, kind: str = IDENTICAL):
    return load_warm_start(store, parents, kind, child.build_space(), child.build_objective(),
                           child.limits.max_jobs)


BASE_JOBS = [({"lr": 0.01, "layers": 2}, 0.5), ({"lr": 0.05, "layers": 4}, 0.3), ({"lr": 0.002, "layers": 7}, 0.9)]


@pytest.fixture()
def parent(store):
    s = spec("parent", {"lr": LR, "layers": LAYERS}, {"epochs": 10})
    record_parent(store, s, BASE_JOBS)
    return s


# -- rule: 1 to 5 parents ---------------------------------------------------------------------------------------
def test_no_parent_is_refused(store):
    with pytest.raises(WarmStartError, match=r"1 to 5 parent tuning jobs, got 0\. Name at least one"):
        load(store, spec("child", {"lr": LR}), [])


def test_six_parents_are_refused(store, parent):
    names = [f"p{i}" for i in range(6)]
    with pytest.raises(WarmStartError, match=r"1 to 5 parent tuning jobs, got 6: 'p0', .*'p5'") as info:
        load(store, spec("child", {"lr": LR}), names)
    assert info.value.path == "warm_start.parents"


# -- rule: parents exist and are terminal ---------------------------------------------------------------------
def test_missing_parent_names_it(store, parent):
    child = spec("child", {"lr": LR, "layers": LAYERS}, {"epochs": 10})
    with pytest.raises(WarmStartError, match=r"parent tuning job 'nope' is not in the store.*hyperjob list") as info:
        load(store, child, ["parent", "nope"])
    assert info.value.path == "warm_start.parents[1]"


@pytest.mark.parametrize("status", [TuningJobStatus.IN_PROGRESS, TuningJobStatus.STOPPING])
def test_parent_still_running_is_refused(store, status):
    s = spec("running", {"lr": LR})
    record_parent(store, s, [({"lr": 0.01}, 1.0)], status=TuningJobStatus.IN_PROGRESS)
    if status is TuningJobStatus.STOPPING:
        store.set_tuning_job_status("running", status)
    with pytest.raises(WarmStartError, match=rf"'running' is {status.value}; a parent must have ended \(Completed, "
                                             r"Stopped or Failed\).*hyperjob stop running"):
        load(store, spec("child", {"lr": LR}), ["running"])


@pytest.mark.parametrize("status", [TuningJobStatus.COMPLETED, TuningJobStatus.STOPPED, TuningJobStatus.FAILED])
def test_terminal_parents_are_accepted(store, status):
    s = spec("ended", {"lr": LR})
    record_parent(store, s, [({"lr": 0.01}, 1.0)], status=status)
    warm = load(store, spec("child", {"lr": LR}), ["ended"])
    assert [o.training_job for o in warm.observations] == ["ended-000"]


# -- rule: same objective -------------------------------------------------------------------------------------
def test_other_objective_metric_is_refused(store, parent):
    child = spec("child", {"lr": LR, "layers": LAYERS}, {"epochs": 10}, metric="accuracy")
    with pytest.raises(WarmStartError, match=r"parent 'parent' has the objective minimize 'loss', this tuning job "
                                             r"minimize 'accuracy'.*same objective metric and direction"):
        load(store, child, ["parent"])


def test_other_objective_direction_is_refused(store, parent):
    child = spec("child", {"lr": LR, "layers": LAYERS}, {"epochs": 10}, direction="maximize")
    with pytest.raises(WarmStartError, match=r"minimize 'loss', this tuning job maximize 'loss'"):
        load(store, child, ["parent"])


# -- rule: same number of static + tuned hyperparameters -----------------------------------------------------------
def test_other_number_of_hyperparameters_is_refused(store, parent):
    child = spec("child", {"lr": LR, "layers": LAYERS}, {"epochs": 10, "dropout": 0.1})
    with pytest.raises(WarmStartError, match=r"parent 'parent' has 3 hyperparameters \(static plus tuned\), this "
                                             r"tuning job 4 \(only here: \['dropout'\]; only in the parent: none\)"):
        load(store, child, ["parent"])


def test_tuned_made_static_keeps_the_count(store, parent):
    child = spec("child", {"lr": LR, "epochs": {"type": "integer", "min_value": 5, "max_value": 20}}, {"layers": 4})
    warm = load(store, child, ["parent"])
    # the parent's job with layers=4 is the only one that matches the child's static value
    assert [o.config for o in warm.observations] == [{"lr": 0.05, "epochs": 10}]
    assert warm.skipped == {"static hyperparameter differs": 2}


# -- rule: no type change -------------------------------------------------------------------------------------
def test_integer_made_continuous_is_refused(store, parent):
    child = spec("child", {"lr": LR, "layers": {"type": "continuous", "min_value": 1.0, "max_value": 8.0}},
                 {"epochs": 10})
    with pytest.raises(WarmStartError, match=r"'layers' is a tuned integer range \[1, 8\] in the parent 'parent' "
                                             r"but a tuned continuous range \[1.0, 8.0\] here.*declare it as integer"):
        load(store, child, ["parent"])


def test_static_string_made_integer_range_is_refused(store):
    record_parent(store, spec("p", {"lr": LR}, {"layers": "deep"}), [({"lr": 0.01}, 1.0)])
    child = spec("child", {"lr": LR, "layers": LAYERS})
    with pytest.raises(WarmStartError, match=r"'layers' is static 'deep' \(a string\) in the parent 'p' but a tuned "
                                             r"integer range \[1, 8\] here"):
        load(store, child, ["p"])


def test_integer_range_made_static_fraction_is_refused(store, parent):
    child = spec("child", {"lr": LR, "epochs": LAYERS}, {"layers": 2.5})
    with pytest.raises(WarmStartError, match=r"'layers' is a tuned integer range \[1, 8\] in the parent 'parent' but "
                                             r"static 2.5 \(a number\) here.*give it an integer value"):
        load(store, child, ["parent"])


def test_integer_grid_counts_as_integer(store, parent):
    grid = {"type": "integer", "min_value": 1, "max_value": 8, "inc_strategy": "power2"}
    child = spec("child", {"lr": LR, "layers": grid}, {"epochs": 10})
    assert range_type(child.build_space()["layers"]) == "integer"
    warm = load(store, child, ["parent"])  # no type error; 2 and 4 are grid values, 7 is not
    assert sorted(o.config["layers"] for o in warm.observations) == [2, 4]
    assert warm.skipped == {"outside the child's ranges": 1}


def test_range_types():
    assert range_type(ContinuousRange(name="a", min_value=0.0, max_value=1.0)) == "continuous"
    assert range_type(IntegerRange(name="a", min_value=0, max_value=3)) == "integer"
    assert range_type(DiscreteRange(name="a", values=(0.5, 1.5))) == "continuous"
    assert range_type(DiscreteRange(name="a", values=(16, 32), integer=True)) == "integer"
    assert range_type(CategoricalRange(name="a", values=("x", "y"))) == "categorical"


# -- rule: at most 10 changes ----------------------------------------------------------------------------------
def test_changes_are_counted_as_the_seed_says():
    parent = SearchSpace(ranges=(CategoricalRange(name="color", values=("red", "blue")),
                                 ContinuousRange(name="lr", min_value=0.1, max_value=1.0)),
                         static={"opt": "red", "same": 1})
    child = SearchSpace(ranges=(), static={"color": "red", "lr": 0.5, "opt": "blue", "same": 1})
    changes = {name: n for name, _, n in count_changes(parent, child)}
    # tuned categorical {red, blue} made static: 2; tuned numeric made static: 1; static red -> blue: 2
    assert changes == {"color": 2, "lr": 1, "opt": 2}


def test_eleven_changes_are_refused(store):
    static = {f"s{i}": "a" for i in range(5)}
    record_parent(store, spec("p", {"lr": LR, "color": {"values": ["r", "g"]}}, static),
                  [({"lr": 0.01, "color": "r"}, 1)])
    child = spec("child", {"lr": LR}, {**{f"s{i}": "b" for i in range(5)}, "color": "r"})  # 5 x 2 + 2 = 12
    with pytest.raises(WarmStartError, match=r"from the parent 'p' to this tuning job the changes counter is 12, more "
                                             r"than the 10 allowed.*'s0': static 'a' changed to 'b' \(2\).*'color': a "
                                             r"tuned categorical range \['r', 'g'\] made static 'r' \(2\)"):
        load(store, child, ["p"])


def test_ten_changes_are_accepted(store):
    static = {f"s{i}": "a" for i in range(5)}
    record_parent(store, spec("p", {"lr": LR}, static), [({"lr": 0.01}, 1)])
    child = spec("child", {"lr": LR}, {f"s{i}": "b" for i in range(5)})  # 10
    warm = load(store, child, ["p"], TRANSFER)
    assert len(warm.observations) == 1


# -- rule: not recursive ---------------------------------------------------------------------------------------
def test_grandparent_is_not_used_unless_listed(store, parent):
    s2 = spec("parent2", {"lr": LR, "layers": LAYERS}, {"epochs": 10})
    record_parent(store, s2, [({"lr": 0.02, "layers": 3}, 0.1)], parents=("parent",))
    child = spec("child", {"lr": LR, "layers": LAYERS}, {"epochs": 10})
    only = load(store, child, ["parent2"])
    assert {o.parent for o in only.observations} == {"parent2"} and len(only.observations) == 1
    both = load(store, child, ["parent2", "parent"])
    assert [o.parent for o in both.observations] == ["parent2"] + ["parent"] * 3


# -- rule: at most 500 training jobs ---------------------------------------------------------------------------
def test_more_than_500_training_jobs_are_refused(store, parent):
    child = spec("child", {"lr": LR, "layers": LAYERS}, {"epochs": 10}, max_jobs=498)
    with pytest.raises(WarmStartError, match=r"parents' training jobs \(3: 'parent': 3\) plus this tuning job's "
                                             r"max_jobs \(498\) make 501, more than the 500.*Lower max_jobs to 497"):
        load(store, child, ["parent"])
    child = spec("child", {"lr": LR, "layers": LAYERS}, {"epochs": 10}, max_jobs=497)
    assert len(load(store, child, ["parent"]).observations) == 3


def test_unknown_type_is_refused(store, parent):
    with pytest.raises(WarmStartError, match=r"unknown warm start type 'fuzzy'"):
        load(store, spec("child", {"lr": LR}), ["parent"], "fuzzy")


def test_warm_start_error_is_a_spec_error():
    assert issubclass(WarmStartError, SpecError) and WarmStartError.exit_code == 2


# -- mapping ---------------------------------------------------------------------------------------------------
def test_narrowed_range_keeps_values_beyond_as_data_and_skips_failed_jobs(store):
    s = spec("p", {"lr": LR, "layers": LAYERS}, {"epochs": 10})
    record_parent(store, s, BASE_JOBS + [({"lr": 0.03, "layers": 3}, None)])
    child = spec("child", {"lr": {**LR, "min_value": 0.005}, "layers": {**LAYERS, "max_value": 5}}, {"epochs": 10})
    warm = load(store, child, ["p"])
    assert sorted(((o.config["lr"], o.config["layers"]), o.inside) for o in warm.observations) == [
        ((0.002, 7), False), ((0.01, 2), True), ((0.05, 4), True)]
    assert warm.skipped == {"not completed": 1}
    assert {"lr": 0.002, "layers": 7} not in warm.seeds()  # never a configuration to run: it is outside
    # with transfer learning the values beyond the child's ranges are skipped (they are not this function's)
    transfer = load(store, child, ["p"], TRANSFER)
    assert [o.config for o in transfer.observations] == [{"lr": 0.01, "layers": 2}, {"lr": 0.05, "layers": 4}]
    assert transfer.skipped == {"outside the child's ranges": 1, "not completed": 1}


def test_the_bayesian_model_learns_from_values_beyond_narrowed_ranges():
    pytest.importorskip("torch")
    from hyperjob.records import Final, Objective
    from hyperjob.strategies.bayesian import BayesianStrategy

    wide = SearchSpace((ContinuousRange(name="x", min_value=0.0, max_value=1.0),))
    narrow = SearchSpace((ContinuousRange(name="x", min_value=0.4, max_value=0.6),))
    s = BayesianStrategy(narrow, Objective("loss"), seed=0)
    for x in (0.0, 0.32, 0.35, 0.65, 0.68, 1.0, 0.45):
        s.observe(Final({"x": x}, (x - 0.52) ** 2))
    # within half a range width beyond [0.4, 0.6] they are data (coordinates -0.4 ... 1.4); 0.0 and 1.0 are not
    assert len(s._losses) == 5
    assert [round(float(r[0]), 6) for r in s._rows] == [-0.4, -0.25, 1.25, 1.4, 0.25]
    assert all(0.4 <= c["x"] <= 0.6 for c in s.suggest(3))
    assert wide.contains({"x": 0.0})


def test_changed_static_value_skips_for_identical_but_not_for_transfer(store, parent):
    child = spec("child", {"lr": LR, "layers": LAYERS}, {"epochs": 20})
    assert load(store, child, ["parent"]).observations == ()
    assert load(store, child, ["parent"]).skipped == {"static hyperparameter differs": 3}
    assert len(load(store, child, ["parent"], TRANSFER).observations) == 3


def test_python_api_parent_round_trips(store):
    space = SearchSpace(ranges=(ContinuousRange(name="lr", min_value=0.001, max_value=0.1),
                                CategoricalRange(name="opt", values=("sgd", "adam"))), static={"epochs": 3})
    store.create_tuning_job("api", {"name": "api", "objective": {"metric": "loss", "type": "minimize"},
                                    "python_api": True, **space_to_json(space)}, objective=Objective("loss"))
    rec = store.add_training_job("api", {"lr": 0.01, "opt": "adam"})
    store.set_status(rec.id, TrainingJobStatus.COMPLETED, final_objective=0.2)
    store.set_tuning_job_status("api", TuningJobStatus.COMPLETED)
    child = spec("child", {"lr": LR, "opt": OPT}, {"epochs": 3})
    assert [o.config for o in load(store, child, ["api"]).observations] == [{"lr": 0.01, "opt": "adam"}]


def test_python_api_parent_without_ranges_is_refused(store):
    store.create_tuning_job("old", {"name": "old", "objective": {"metric": "loss"}, "python_api": True})
    store.set_tuning_job_status("old", TuningJobStatus.COMPLETED)
    with pytest.raises(WarmStartError, match=r"stored spec of the parent 'old' cannot be read back"):
        load(store, spec("child", {"lr": LR}), ["old"])


# -- what strategies get ---------------------------------------------------------------------------------------
def test_identical_grid_and_random_skip_parents_configurations(store):
    ranges = {"opt": OPT, "size": {"values": [1, 2, 3]}}
    s = spec("p", ranges, max_jobs=6)
    done = [{"opt": "sgd", "size": 1}, {"opt": "adam", "size": 3}]
    record_parent(store, s, [(c, 1.0) for c in done])
    child = spec("child", ranges, max_jobs=6)
    warm = load(store, child, ["p"])
    space, objective = child.build_space(), child.build_objective()
    grid = warm.attach(GridStrategy(space, objective))
    rest = grid.suggest(10)
    assert len(rest) == 4 and not any(c in rest for c in done)
    rnd = warm.attach(RandomStrategy(space, objective, seed=0))
    drawn = rnd.suggest(4)
    assert len({str(sorted(c.items())) for c in drawn}) == 4 and not any(c in drawn for c in done)


def test_identical_bayesian_fits_on_parents(store, parent):
    from hyperjob.strategies.bayesian import BayesianStrategy

    child = spec("child", {"lr": LR, "layers": LAYERS}, {"epochs": 10})
    warm = load(store, child, ["parent"])
    bo = warm.attach(BayesianStrategy(child.build_space(), child.build_objective(), seed=0))
    assert bo.best == ({"lr": 0.05, "layers": 4}, 0.3)
    assert len(bo._losses) == 3  # the model's data


def test_transfer_suggests_the_parents_best_first_then_the_strategy(store, parent):
    child = spec("child", {"lr": LR, "layers": LAYERS}, {"epochs": 10})
    warm = load(store, child, ["parent"], TRANSFER)
    inner = RandomStrategy(child.build_space(), child.build_objective(), seed=0)
    strategy = warm.attach(inner)
    assert isinstance(strategy, TransferSeeding)
    first = strategy.suggest(2)
    assert first == [{"lr": 0.05, "layers": 4}, {"lr": 0.01, "layers": 2}]
    assert len(inner.pending) == 2  # the wrapped strategy knows they run
    strategy.observe(Final({"lr": 0.002, "layers": 7}, 1.0))  # the third seed ran already (a resume): dropped
    nxt = strategy.suggest(1)
    assert nxt != [{"lr": 0.002, "layers": 7}] and child.build_space().contains(nxt[0])
    assert strategy.best == ({"lr": 0.002, "layers": 7}, 1.0)  # the transfer data is not the child's data


def test_transfer_seeds_come_on_top_of_the_bayesian_initial_design(store, parent):
    from hyperjob.strategies.bayesian import BayesianStrategy

    child = spec("child", {"lr": LR, "layers": LAYERS}, {"epochs": 10})
    bo = BayesianStrategy(child.build_space(), child.build_objective(), seed=0)
    before = bo.n_initial
    strategy = load(store, child, ["parent"], TRANSFER).attach(bo)
    assert bo.n_initial == before + 3 and len(strategy.queue) == 3
    assert len(bo._losses) == 0  # the parents' values are not the model's data


def test_transfer_seeding_is_a_strategy_that_asks_the_one_it_wraps(store, parent):
    from hyperjob.stopping.rungs import RungStopper
    from hyperjob.strategies.base import Strategy
    from hyperjob.strategies.registry import create_strategy

    child = spec("child", {"lr": LR, "layers": LAYERS}, {"epochs": 10})
    space, objective = child.build_space(), child.build_objective()
    hyperband = create_strategy("hyperband", space, objective, seed=0, model="random")
    before = hyperband.n_initial
    strategy = load(store, child, ["parent"], TRANSFER).attach(hyperband)
    assert isinstance(strategy, Strategy) and not hasattr(strategy, "__getattr__")
    assert strategy.space is space and strategy.objective is objective
    assert isinstance(strategy.stopper(), RungStopper)  # the wrapped strategy's rungs
    assert hyperband.n_initial == before  # a random model has no initial design to extend
    random = load(store, child, ["parent"], TRANSFER).attach(RandomStrategy(space, objective, seed=0))
    assert random.stopper() is None
    random.suggest(1)
    assert random.pending == random.inner.pending and len(random.pending) == 1


def test_summary_line_says_what_is_used():
    from hyperjob.records import Objective
    from hyperjob.tuner.warm_start import ParentObservation, WarmStart

    obs = (ParentObservation("p1", "p1-000", {"x": 0.1}, 1.0), ParentObservation("p1", "p1-001", {"x": 0.2}, 0.5),
           ParentObservation("p2", "p2-000", {"x": 3.0}, 0.2, inside=False))
    ident = WarmStart("identical_data_and_algorithm", ("p1", "p2"), obs, {"not completed": 2}, Objective("l", "minimize"))
    assert ident.summary() == (
        "warm start from p1, p2 (identical data and algorithm): 2 of their training jobs count as results of this "
        "tuning job, 1 beyond its ranges as model data for the bayesian strategy (not used: 2 not completed)")
    transfer = WarmStart("transfer_learning", ("p1",), obs[:2], {}, Objective("l", "minimize"))
    assert transfer.summary() == (
        "warm start from p1 (transfer learning): 2 of their training jobs map into this tuning job's ranges; "
        "their 2 best configurations run first")
    nothing = WarmStart("transfer_learning", ("p1",), (), {"outside the child's ranges": 3}, Objective("l", "minimize"))
    assert nothing.summary() == ("warm start from p1 (transfer learning): 0 of their training jobs map into this "
                                 "tuning job's ranges (not used: 3 outside the child's ranges)")
