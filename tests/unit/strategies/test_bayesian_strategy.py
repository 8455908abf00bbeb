"""The Bayesian strategy: valid, distinct, pending-aware, failure-robust, direction-aware, deterministic suggestions.

Small budgets and tiny spaces (each model-based suggestion takes 0.05-0.3 s); suggestion time is measured by
the benchmark, not here.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("botorch")

from hyperjob.errors import SpecError  # noqa: E402
from hyperjob.records import Failed, Final, Objective, Pending  # noqa: E402
from hyperjob.space import (  # noqa: E402
    CategoricalRange,
    ContinuousRange,
    IntegerRange,
    Scaling,
    SearchSpace,
    increment_range,
)
from hyperjob.strategies.bayesian import BayesianStrategy, default_n_initial  # noqa: E402
from hyperjob.strategies.registry import create_strategy  # noqa: E402

MIN = Objective("loss", "minimize")
MAX = Objective("accuracy", "maximize")


def mixed_space() -> SearchSpace:
    return SearchSpace(
        ranges=(
            ContinuousRange(name="lr", min_value=1e-5, max_value=1.0, scaling=Scaling.LOGARITHMIC),
            IntegerRange(name="layers", min_value=1, max_value=6),
            increment_range("batch", 16, 256, integer=True, inc_strategy="power2"),
            CategoricalRange(name="widths", values=([64, 64], [128, 64], [256, 128, 64])),
            CategoricalRange(name="act", values=("relu", "tanh", "gelu")),
        )
    )


def mixed_loss(c: dict) -> float:
    return (
        (math.log10(c["lr"]) + 3) ** 2
        + 0.3 * (c["layers"] - 4) ** 2
        + (math.log2(c["batch"]) - 6) ** 2
        + (0.0 if c["widths"] == [128, 64] else 1.0)
        + {"relu": 0.5, "tanh": 1.0, "gelu": 0.0}[c["act"]]
    )


def box(dim: int = 2) -> SearchSpace:
    return SearchSpace(ranges=tuple(ContinuousRange(name=f"x{i}", min_value=0.0, max_value=1.0) for i in range(dim)))


def drive(strategy: BayesianStrategy, fn, steps: int) -> list[dict]:
    seen = []
    for _ in range(steps):
        (config,) = strategy.suggest(1)
        seen.append(config)
        strategy.observe(Final(config, fn(config)))
    return seen


def test_mixed_space_suggestions_are_valid_and_new():
    space = mixed_space()
    strategy = BayesianStrategy(space, MIN, seed=0, n_initial=6)
    seen = drive(strategy, mixed_loss, 12)
    batch = strategy.suggest(3)
    assert len(batch) == 3
    keys = [space.key(c) for c in seen + batch]
    assert len(set(keys)) == len(keys), "a configuration was suggested twice"
    for config in seen + batch:
        assert space.contains(config), config
        assert isinstance(config["layers"], int) and config["batch"] in (16, 32, 64, 128, 256)
        assert config["widths"] in ([64, 64], [128, 64], [256, 128, 64])


def test_batch_of_four_is_distinct_and_spread():
    space = box(2)
    strategy = BayesianStrategy(space, MIN, seed=1, n_initial=5)
    drive(strategy, lambda c: (c["x0"] - 0.3) ** 2 + (c["x1"] - 0.6) ** 2, 8)
    batch = strategy.suggest(4)
    assert len(batch) == 4
    points = np.array([space.to_unit(c) for c in batch])
    gaps = [np.linalg.norm(points[i] - points[j]) for i in range(4) for j in range(i + 1, 4)]
    assert min(gaps) > 1e-3, f"batch points nearly coincide: {points}"
    assert len(strategy.pending) == 4


def test_pending_configurations_change_the_next_suggestion():
    space = box(2)
    strategy = BayesianStrategy(space, MIN, seed=2, n_initial=5)
    drive(strategy, lambda c: (c["x0"] - 0.7) ** 2 + (c["x1"] - 0.2) ** 2, 8)
    (first,) = strategy.suggest(1)
    (second,) = strategy.suggest(1)  # no observe in between: the first one is pending
    assert np.linalg.norm(space.to_unit(first) - space.to_unit(second)) > 1e-3
    # a configuration registered as pending from outside (Pending event) counts as well
    other = BayesianStrategy(space, MIN, seed=2, n_initial=5)
    drive(other, lambda c: (c["x0"] - 0.7) ** 2 + (c["x1"] - 0.2) ** 2, 8)
    other.observe(Pending(first))
    (after_pending,) = other.suggest(1)
    assert after_pending != first


def test_failures_are_not_values_and_are_avoided():
    """Jobs fail for x < 0.3. If failures counted as 0 (better than every value >= 1) the search would go there."""
    space = box(1)
    strategy = BayesianStrategy(space, MIN, seed=3, n_initial=5)
    model_phase = []
    for step in range(18):
        (config,) = strategy.suggest(1)
        x = config["x0"]
        if step >= 5:
            model_phase.append(x)
        if x < 0.3:
            strategy.observe(Failed(config, "diverged") if step % 2 else Final(config, float("nan")))
        else:
            strategy.observe(Final(config, 1.0 + (x - 0.8) ** 2))
    assert strategy.best is not None and abs(strategy.best[0]["x0"] - 0.8) < 0.1
    assert sum(x < 0.3 for x in model_phase) <= 2, model_phase
    assert all(math.isfinite(v) and v >= 1.0 for _, v in strategy._ledger.finals)


def test_all_failures_still_suggests():
    space = box(2)
    strategy = BayesianStrategy(space, MIN, seed=4, n_initial=3)
    for _ in range(6):
        (config,) = strategy.suggest(1)
        strategy.observe(Failed(config, "crashed"))
    batch = strategy.suggest(2)
    assert len(batch) == 2 and all(space.contains(c) for c in batch)


@pytest.mark.parametrize("objective, end", [(MAX, "right"), (MIN, "left")])
def test_direction_decides_which_end(objective, end):
    """f(x) = -(x - 1)^2 on [0, 1]: maximizing goes to x = 1, minimizing to x = 0."""
    space = box(1)
    strategy = BayesianStrategy(space, objective, seed=5, n_initial=4)
    seen = drive(strategy, lambda c: -((c["x0"] - 1.0) ** 2), 14)
    tail = [c["x0"] for c in seen[-5:]]
    best_x = strategy.best[0]["x0"]
    if end == "right":
        assert best_x > 0.9 and np.median(tail) > 0.7, tail
    else:
        assert best_x < 0.1 and np.median(tail) < 0.3, tail


def test_improves_over_its_initial_design():
    """A smooth 3-d function: the model-based phase gets much closer to the optimum than the random start."""
    space = box(3)
    target = np.array([0.23, 0.71, 0.42])

    def f(c):
        x = space.to_unit(c)
        return float(np.sum((x - target) ** 2 * np.array([1.0, 3.0, 0.5])))

    strategy = BayesianStrategy(space, MIN, seed=6, n_initial=6)
    values = [f(c) for c in drive(strategy, f, 22)]
    initial_best, final_best = min(values[:6]), min(values)
    assert final_best < 0.2 * initial_best, (initial_best, final_best)
    assert final_best < 0.01


def test_finite_space_is_exhausted_without_repeats():
    space = SearchSpace(
        ranges=(CategoricalRange(name="a", values=("x", "y")), IntegerRange(name="b", min_value=0, max_value=2))
    )
    strategy = BayesianStrategy(space, MIN, seed=7, n_initial=2)
    seen = []
    for _ in range(8):
        batch = strategy.suggest(1)
        if not batch:
            break
        seen.append(batch[0])
        strategy.observe(Final(batch[0], float(batch[0]["b"]) + (batch[0]["a"] == "y")))
    assert len(seen) == 6 and len({space.key(c) for c in seen}) == 6
    assert strategy.suggest(3) == []


def test_threads_restored_and_default_design_size():
    previous = torch.get_num_threads()
    strategy = BayesianStrategy(box(2), MIN, seed=8, n_initial=3, num_threads=1)
    drive(strategy, lambda c: c["x0"] + c["x1"], 5)
    assert torch.get_num_threads() == previous
    assert default_n_initial(2) == 5 and default_n_initial(6) == 7 and default_n_initial(40) == 10
    assert BayesianStrategy(box(6), MIN, seed=0).n_initial == 7


@pytest.mark.parametrize(
    "settings, match",
    [
        ({"n_initial": 0}, "strategy.settings.n_initial"),
        ({"n_initial": 2.5}, "n_initial must be a positive integer, got 2.5"),
        ({"num_threads": "4"}, "strategy.settings.num_threads"),
        ({"num_threads": True}, "num_threads"),
        ({"restarts": 3}, "has no setting 'restarts'.*Its settings: n_initial, num_threads"),
    ],
)
def test_bad_settings_are_spec_errors(settings, match):
    with pytest.raises(SpecError, match=match):
        create_strategy("bayesian", box(2), MIN, seed=0, **settings)


def test_bad_seed_and_count():
    with pytest.raises(SpecError, match="seed"):
        BayesianStrategy(box(2), MIN, seed=-1)
    with pytest.raises(SpecError, match="suggest"):
        BayesianStrategy(box(2), MIN, seed=0).suggest(-2)


_SCRIPT = textwrap.dedent(
    """
    import json, math
    from hyperjob.records import Objective, Final, Failed
    from hyperjob.space import SearchSpace, ContinuousRange, IntegerRange, CategoricalRange, Scaling
    from hyperjob.strategies.bayesian import BayesianStrategy

    space = SearchSpace(ranges=(
        ContinuousRange(name="lr", min_value=1e-4, max_value=1.0, scaling=Scaling.LOGARITHMIC),
        IntegerRange(name="n", min_value=1, max_value=8),
        CategoricalRange(name="c", values=("a", "b", "c")),
    ))
    s = BayesianStrategy(space, Objective("acc", "maximize"), seed=11, n_initial=4)
    out = []
    for step in range(8):
        batch = s.suggest(3 if step == 6 else 1)
        out.extend(batch)
        for c in batch:
            if step == 5:
                s.observe(Failed(c, "oom"))
            else:
                s.observe(Final(c, -(math.log10(c["lr"]) + 2) ** 2 - abs(c["n"] - 3) + (c["c"] == "b")))
    print(json.dumps(out))
    """
)


def test_deterministic_in_a_fresh_process():
    scripts = [_SCRIPT, _SCRIPT, _SCRIPT.replace("seed=11", "seed=12")]
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for script in scripts
    ]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    first, second, other_seed = outputs
    assert len(first) == 10
    assert first == second
    assert other_seed != first
