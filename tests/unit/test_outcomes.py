"""Several objectives and outcome constraints: the Pareto front, feasibility, and the one rule of "best"
(``hyperjob.outcomes``), the spec's fields, AskTell and the SageMaker refusal."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from hyperjob import AskTell
from hyperjob.errors import SpecError
from hyperjob.formats.sagemaker import load_sagemaker_request
from hyperjob.formats.spec import TuningJobSpec, outcomes_from_parts
from hyperjob.outcomes import Constraint, Outcomes, best_of, front_of, non_dominated
from hyperjob.records import Direction, Objective

ERR_SIZE = Outcomes((Objective("err"), Objective("size")))


def _names(items: list[dict]) -> list[str]:
    return [i["name"] for i in items]


# -- the front on a hand-made set -------------------------------------------------------------------------------
HAND = [  # err (minimize), size (minimize), mem (constraint: <= 100)
    {"name": "a", "err": 0.10, "size": 9.0, "mem": 50},   # front: best err
    {"name": "b", "err": 0.20, "size": 4.0, "mem": 50},   # front
    {"name": "c", "err": 0.25, "size": 4.0, "mem": 50},   # dominated by b (same size, worse err)
    {"name": "d", "err": 0.40, "size": 1.0, "mem": 50},   # front: best size
    {"name": "e", "err": 0.30, "size": 5.0, "mem": 50},   # dominated by b
    {"name": "f", "err": 0.20, "size": 4.0, "mem": 60},   # equal to b: on the front too
    {"name": "g", "err": 0.01, "size": 0.5, "mem": 500},  # dominates everything, but infeasible
    {"name": "h", "err": 0.15, "size": 7.0},               # no mem value: infeasible
    {"name": "i", "err": None, "size": 0.1, "mem": 10},   # no err value: not eligible
]


def test_the_front_of_a_hand_made_set() -> None:
    values = lambda item: item  # noqa: E731
    # without constraints: g dominates all, i has no err (not eligible), h is on no front against g
    assert _names(front_of(HAND, ERR_SIZE, values)) == ["g"]
    constrained = Outcomes(ERR_SIZE.objectives, (Constraint("mem", max=100),))
    assert _names(front_of(HAND, constrained, values)) == ["a", "b", "d", "f"]
    # the best: the front's best on the first objective, never the infeasible g
    assert best_of(HAND, constrained, values)["name"] == "a"
    # maximizing the second objective turns the front around: the largest size among the best errors
    err_max_size = Outcomes((Objective("err"), Objective("size", Direction.MAXIMIZE)), constrained.constraints)
    assert _names(front_of(HAND, err_max_size, values)) == ["a"]
    # a min bound too: 55 <= mem <= 100 leaves f the only feasible one
    band = Outcomes(ERR_SIZE.objectives, (Constraint("mem", max=100, min=55),))
    assert _names(front_of(HAND, band, values)) == ["f"]


def test_one_objective_best_is_the_feasible_best_and_the_earlier_on_ties() -> None:
    one = Outcomes((Objective("err"),), (Constraint("mem", max=100),))
    items = [{"err": 0.3, "mem": 1}, {"err": 0.1, "mem": 200}, {"err": 0.2, "mem": 1}, {"err": 0.2, "mem": 2}]
    assert best_of(items, one, lambda v: v) is items[2]
    assert best_of(items[:2], Outcomes((Objective("err"),)), lambda v: v) is items[1]
    assert best_of([{"err": 0.1, "mem": 500}], one, lambda v: v) is None


def test_non_dominated_agrees_with_botorch() -> None:
    torch = pytest.importorskip("torch")
    from botorch.utils.multi_objective.pareto import is_non_dominated

    rng = np.random.default_rng(0)
    for m in (2, 3):
        # points on the simplex (mutually non-dominated) and behind it, rounded: many ties and duplicates
        L = np.round(rng.dirichlet(np.ones(m), size=300) + (rng.random((300, 1)) < 0.5) * rng.random((300, m)), 1)
        ours = non_dominated(L)
        theirs = is_non_dominated(-torch.tensor(L), deduplicate=False).numpy()
        assert ours.sum() > 3
        assert np.array_equal(ours, theirs)


def test_a_constraint_violation() -> None:
    c = Constraint("mem", max=100.0, min=10.0)
    assert [c.violation(v) for v in (50, 100, 101, 5, None, math.nan, "x")] == [0, 0, 1, 5, math.inf, math.inf,
                                                                                 math.inf]
    assert str(c) == "10 <= mem <= 100"


# -- the spec ----------------------------------------------------------------------------------------------------
BASE = {"name": "mo", "program": {"command": ["python", "train.py"]}, "limits": {"max_jobs": 6},
        "hyperparameter_ranges": {"x": {"type": "continuous", "min_value": 0, "max_value": 1}}}


def test_the_spec_reads_objectives_and_constraints() -> None:
    spec = TuningJobSpec.model_validate({**BASE, "objectives": [{"metric": "err", "type": "min"},
                                                                {"metric": "size", "type": "maximize"}],
                                         "constraints": [{"metric": "memory_mb", "max": 2000}]})
    assert spec.objective.metric == "err"  # the first is the objective
    outcomes = spec.build_outcomes()
    assert [o.metric for o in outcomes.objectives] == ["err", "size"]
    assert outcomes.objectives[1].direction is Direction.MAXIMIZE
    assert outcomes.constraints == (Constraint("memory_mb", max=2000.0),)
    again = TuningJobSpec.from_json(json.loads(json.dumps(spec.to_json())))
    assert again.build_outcomes() == outcomes
    # one objective: stored as before (no new keys)
    assert "objectives" not in TuningJobSpec.model_validate({**BASE, "objective": {"metric": "l", "type": "min"}}
                                                            ).to_json()


@pytest.mark.parametrize("changes, path, message", [
    ({"objectives": [{"metric": "a", "type": "min"}, {"metric": "a", "type": "max"}]}, "objectives[1].metric",
     "the objective 'a' is listed twice"),
    ({"objective": {"metric": "q", "type": "min"}, "objectives": [{"metric": "a", "type": "min"}]}, "objective",
     "objective names 'q' but objectives starts with 'a'"),
    ({"objectives": [{"metric": "a", "type": "min"}], "constraints": [{"metric": "m"}]}, "constraints[0]",
     "has neither max nor min"),
    ({"objectives": [{"metric": "a", "type": "min"}], "constraints": [{"metric": "m", "min": 3, "max": 1}]},
     "constraints[0]", "nothing is feasible"),
    ({"objectives": [{"metric": "a", "type": "min"}, {"metric": "b", "type": "min"}], "static_hyperparameters":
      {"epochs": 9}, "strategy": {"name": "hyperband", "settings": {"min_resource": 1, "max_resource": 9}}},
     "objectives", "the 'hyperband' strategy compares one objective value and cannot take several objectives"),
])
def test_bad_objectives_and_constraints_are_refused_at_their_path(changes: dict, path: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        TuningJobSpec.model_validate({**BASE, **changes})
    assert info.value.path == path
    assert message in info.value.message


def test_the_python_api_uses_the_spec_rules() -> None:
    with pytest.raises(SpecError, match=r"^objectives\[0\]\.type: the field 'type' is required"):
        outcomes_from_parts([{"metric": "a"}], [])
    with pytest.raises(SpecError, match=r"^constraints\[0\]: the constraint on 'm' has neither max nor min"):
        AskTell({"x": {"min_value": 0.0, "max_value": 1.0}}, objective="a", constraints=[{"metric": "m"}],
                strategy="random")


def test_a_sagemaker_request_keeps_one_objective() -> None:
    from pathlib import Path

    fixture = Path(__file__).parents[1] / "fixtures" / "specs" / "sagemaker-local.json"
    request = json.loads(fixture.read_text())
    one = request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"] = [one, dict(one, MetricName="b")]
    with pytest.raises(SpecError) as info:
        load_sagemaker_request(request, base_dir=fixture.parent, require_program=False)
    assert info.value.path == "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective"
    assert "exactly one objective, got a list of 2" in info.value.message and "objectives:" in info.value.message


# -- AskTell -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", ["random", "grid"])
def test_asktell_front_and_best_with_random_and_grid(strategy: str) -> None:
    space = ({"x": {"type": "categorical", "values": [0.0, 0.25, 0.5, 0.75, 1.0]}} if strategy == "grid"
             else {"x": {"min_value": 0.0, "max_value": 1.0}})
    at = AskTell(space, objectives=[{"metric": "a", "type": "min"}, {"metric": "b", "type": "min"}],
                 constraints=[{"metric": "m", "max": 0.8}], strategy=strategy, seed=0)
    told = []
    for _ in range(5):
        s = at.ask()
        x = float(s.config["x"])
        at.tell(s, {"a": x, "b": (1 - x) ** 2, "m": x})  # a and b conflict; x > 0.8 is infeasible
        told.append(x)
    xs = sorted(float(s.config["x"]) for s, _ in at.front)
    assert xs == sorted(x for x in told if x <= 0.8)  # every feasible one is on this front
    config, value = at.best
    assert value == min(x for x in told if x <= 0.8)
    with pytest.raises(SpecError, match="lack the objective 'b'"):
        at.tell({"x": 0.5 if strategy == "grid" else 0.3}, {"a": 1.0})


def test_asktell_infeasible_never_wins_with_the_bayesian_strategy() -> None:
    pytest.importorskip("botorch")
    at = AskTell({"x": {"min_value": 0.0, "max_value": 1.0}}, objective="loss",
                 constraints=[{"metric": "mem", "max": 0.5}], strategy="bayesian", seed=1, n_initial=3)
    for _ in range(7):
        s = at.ask()
        x = s.config["x"]
        at.tell(s, {"loss": 1.0 - x, "mem": x})  # lower loss needs more memory: the optimum is x = 0.5
    config, value = at.best
    assert config["x"] <= 0.5
    assert at.strategy.best[0]["x"] <= 0.5  # the strategy's own view uses the same rule
    feasible = [1.0 - s.config["x"] for s, v in at.results if s.config["x"] <= 0.5]
    assert value == min(feasible)
    # the model learned the boundary: after the initial design, most suggestions are feasible and near it
    late = [s.config["x"] for s, _ in at.results[3:]]
    assert sum(abs(x - 0.5) < 0.15 for x in late) >= 2, late


# -- determinism for a seed, in fresh processes ------------------------------------------------------------------
_DETERMINISM = textwrap.dedent(
    """
    import json
    from hyperjob import AskTell
    at = AskTell({"x": {"min_value": 0.0, "max_value": 1.0}, "k": {"type": "categorical", "values": ["p", "q"]}},
                 objectives=[{"metric": "a", "type": "min"}, {"metric": "b", "type": "min"}],
                 constraints=[{"metric": "m", "max": 0.9}], strategy="bayesian", seed=7, n_initial=3)
    out = []
    for _ in range(3):
        for s in at.ask(2):  # two at once: the second is chosen with the first pending
            x = s.config["x"] + (0.1 if s.config["k"] == "q" else 0.0)
            at.tell(s, {"a": x, "b": (1 - x) ** 2, "m": x})
            out.append([s.config["x"], s.config["k"]])
    print(json.dumps(out))
    """
)


def test_the_multi_objective_strategy_is_deterministic_for_a_seed() -> None:
    pytest.importorskip("botorch")
    procs = [subprocess.Popen([sys.executable, "-c", _DETERMINISM], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]  # two fresh processes at once
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, stderr) in zip(procs, outs):
        assert p.returncode == 0, stderr
    first, second = (json.loads(stdout) for stdout, _ in outs)
    assert first == second
    assert len({json.dumps(c) for c in first}) == 6  # six different configurations


# -- cost-aware choice -------------------------------------------------------------------------------------------
def test_cost_metric_prefers_the_cheaper_of_two_equal_optima() -> None:
    pytest.importorskip("botorch")

    def run(**settings: str) -> list[float]:
        at = AskTell({"x": {"min_value": 0.0, "max_value": 1.0}}, objective="loss", strategy="bayesian", seed=0,
                     n_initial=4, **settings)
        xs = []
        for _ in range(12):
            s = at.ask()
            x = s.config["x"]
            # two optima as good as each other, at 0.2 (cheap) and 0.8 (100 times dearer)
            at.tell(s, {"loss": min((x - 0.2) ** 2, (x - 0.8) ** 2), "t": 1.0 + 100 * x**4})
            xs.append(x)
        return xs[4:]  # after the initial design

    cost = lambda xs: sum(1.0 + 100 * x**4 for x in xs)  # noqa: E731
    aware, plain = run(cost_metric="t"), run()
    assert sum(abs(x - 0.2) < 0.15 for x in aware) >= 6, aware
    assert cost(aware) < 0.5 * cost(plain), (aware, plain)
    with pytest.raises(SpecError, match=r"^strategy\.settings\.cost_metric: cost_metric must be the name"):
        AskTell({"x": {"min_value": 0.0, "max_value": 1.0}}, strategy="bayesian", cost_metric=3)
