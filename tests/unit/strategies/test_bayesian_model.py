"""The Bayesian strategy's model side: encoding, value transform, cached posterior, and the bench entry point."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("botorch")

from botorch.acquisition.analytic import LogExpectedImprovement  # noqa: E402

from hyperjob.bench import run, search_space  # noqa: E402
from hyperjob.errors import SpecError  # noqa: E402
from hyperjob.space import (  # noqa: E402
    CategoricalRange,
    ContinuousRange,
    IntegerRange,
    Scaling,
    SearchSpace,
    increment_range,
)
from hyperjob.strategies._bo_acquisition import CachedLogEI, perturb, score  # noqa: E402
from hyperjob.strategies._bo_model import (  # noqa: E402
    CachedPosterior,
    Encoder,
    fit_model,
    make_model,
    transform_values,
)
from hyperjob.strategies.bayesian import _model_subset  # noqa: E402


def space() -> SearchSpace:
    return SearchSpace(
        ranges=(
            ContinuousRange(name="lr", min_value=1e-5, max_value=1.0, scaling=Scaling.LOGARITHMIC),
            IntegerRange(name="n", min_value=-3, max_value=7),
            IntegerRange(name="width", min_value=1, max_value=300, scaling=Scaling.LOGARITHMIC),
            increment_range("batch", 16, 256, integer=True, inc_strategy="power2"),
            increment_range("drop", 0.0, 0.5, integer=False, inc_strategy="linear", inc_val=0.1),
            CategoricalRange(name="opt", values=("sgd", "adam", [1, 2])),
            CategoricalRange(name="only", values=("x",)),
        )
    )


def test_encoding_widths_and_round_trip():
    enc = Encoder(space())
    assert enc.width == 5 + 3  # five ordinal columns, three one-hot columns, none for a single value
    rng = np.random.default_rng(0)
    configs = [space().from_unit(rng.random(7)) for _ in range(50)]
    rows = enc.encode(configs)
    assert rows.shape == (50, 8) and rows.min() >= 0 and rows.max() <= 1
    assert np.allclose(rows[:, enc.onehot_cols].sum(axis=1), 1.0)
    for config, row in zip(configs, rows):
        assert enc.decode(row) == config


def test_project_matches_the_ranges_scalar_rounding():
    s = space()
    enc = Encoder(s)
    U = np.random.default_rng(1).random((400, enc.width))
    P = enc.project(U)
    for u, p in zip(U, P):
        config = enc.decode(u)
        assert enc.decode(p) == config
        assert np.allclose(enc.encode([config])[0], p)
    assert np.allclose(enc.project(P), P)  # idempotent
    # every projected ordinal value is one of the range's values: integers and grids are discrete
    assert len(np.unique(P[:, 1])) <= 11 and len(np.unique(P[:, 3])) <= 5


def test_from_unit_agrees_with_the_space():
    s = space()
    enc = Encoder(s)
    U = np.random.default_rng(2).random((100, s.dim))
    rows = enc.from_unit(U)
    for u, row in zip(U, rows):
        assert enc.decode(row) == s.from_unit(u)


def test_value_transform_is_rank_preserving_and_standardized():
    rng = np.random.default_rng(3)
    losses = np.concatenate([rng.exponential(size=40) ** 4 * 1e5, [1e9]])  # heavy tail and an outlier
    z, lmbda = transform_values(losses)
    assert math.isfinite(lmbda)
    assert abs(z.mean()) < 1e-9 and abs(z.std() - 1) < 1e-9
    order = np.argsort(losses, kind="stable")
    assert np.all(np.diff(z[order]) <= 1e-12), "lower losses must get higher (or equal) utilities"
    assert np.argmax(z) == np.argmin(losses)
    # reusing the fitted exponent gives the same values; constant losses give zeros
    assert np.allclose(transform_values(losses, lmbda)[0], z)
    assert np.all(transform_values(np.full(6, 2.5))[0] == 0.0)


def test_cached_posterior_and_log_ei_match_botorch():
    rng = np.random.default_rng(4)
    X = rng.random((30, 3))
    y, _ = transform_values(np.sin(6 * X[:, 0]) + X[:, 1] ** 2 + 0.01 * rng.normal(size=30))
    model = make_model(X, y)
    assert math.isfinite(fit_model(model, 50))
    cached = CachedPosterior(model)
    Z = torch.as_tensor(rng.random((64, 3)))
    with torch.no_grad():
        post = model.posterior(Z.unsqueeze(-2))
        mean, var = cached.mean_var(Z)
        assert torch.allclose(mean, post.mean.reshape(-1), atol=1e-8)
        assert torch.allclose(var, post.variance.reshape(-1), atol=1e-8)
        ours = CachedLogEI(cached, best_f=float(y.max()))(Z.unsqueeze(-2))
        theirs = LogExpectedImprovement(model, best_f=float(y.max()))(Z.unsqueeze(-2))
    assert torch.allclose(ours, theirs, atol=1e-7)
    # fantasies taken as exact collapse the variance at their rows
    fantasy = CachedPosterior(model, np.vstack([X, Z[:1].numpy()]), np.append(y, 0.3), exact_from=30)
    with torch.no_grad():
        _, v = fantasy.mean_var(Z[:1])
    assert float(v) < 1e-5


def test_the_noise_floor_is_botorchs_unless_lowered():
    # noiseless data: the fitted noise sits on the floor, BoTorch's 1e-4 by default, lower when asked (the
    # outcome models use 1e-6 so that differences near a constraint's boundary are not blurred)
    rng = np.random.default_rng(5)
    X = rng.random((25, 2))
    y, _ = transform_values(np.sin(3 * X[:, 0]) + X[:, 1])
    default, low = make_model(X, y), make_model(X, y, min_noise=1e-6)
    assert math.isfinite(fit_model(default, 100)) and math.isfinite(fit_model(low, 100))
    bound = lambda m: float(m.likelihood.noise_covar.raw_noise_constraint.lower_bound)  # noqa: E731
    assert bound(default) == pytest.approx(1e-4) and bound(low) == pytest.approx(1e-6)
    assert float(default.likelihood.noise) >= 1e-4 - 1e-12 and float(low.likelihood.noise) >= 1e-6 - 1e-12
    # a warm start keeps the floor it was fitted with
    warm = make_model(X, y, state=low.state_dict(), min_noise=1e-6)
    assert float(warm.likelihood.noise) == pytest.approx(float(low.likelihood.noise))


def test_perturbations_and_scores_are_valid():
    s = space()
    enc = Encoder(s)
    rng = np.random.default_rng(5)
    anchors = enc.from_unit(rng.random((3, s.dim)))
    P = perturb(enc, anchors, 200, rng, 1e-3, 0.3)
    assert P.shape == (200, enc.width) and np.allclose(enc.project(P), P)
    assert (np.abs(P - anchors[np.arange(200) % 3]).sum(axis=1) > 0).mean() > 0.8  # nearly all of them moved
    X = enc.from_unit(rng.random((20, s.dim)))
    y, _ = transform_values(rng.random(20))
    model = make_model(X, y)
    values = score(CachedLogEI(CachedPosterior(model), float(y.max())), P)
    assert values.shape == (200,) and np.all(np.isfinite(values))


def test_model_subset_keeps_best_and_recent():
    losses = np.random.default_rng(6).random(1000)
    idx = _model_subset(losses, 300)
    assert len(idx) == 300 and len(set(idx.tolist())) == 300 and np.all(np.diff(idx) > 0)
    assert set(np.argsort(losses)[:100].tolist()) <= set(idx.tolist())
    assert set(range(900, 1000)) <= set(idx.tolist()) | set(np.argsort(losses)[:100].tolist())


def test_bench_translates_the_neutral_space():
    neutral = {
        "lr": {"type": "float", "low": 1e-5, "high": 1.0, "log": True},
        "m": {"type": "float", "low": 0.0, "high": 0.99, "log": False},
        "depth": {"type": "int", "low": 1, "high": 10, "log": False},
        "act": {"type": "categorical", "choices": ["relu", "tanh"]},
    }
    s = search_space(neutral)
    assert s.names == ("lr", "m", "depth", "act")
    assert s["lr"].scaling is Scaling.LOGARITHMIC
    assert s["m"].scaling is Scaling.LINEAR  # never 'auto' (which would pick reverse-log for [0, 0.99])
    assert s["depth"].kind == "integer" and s["act"].kind == "categorical"
    with pytest.raises(SpecError, match="space.x.type"):
        search_space({"x": {"type": "bool"}})


def test_bench_run_calls_the_objective_budget_times():
    neutral = {
        "x": {"type": "float", "low": -2.0, "high": 2.0, "log": False},
        "k": {"type": "int", "low": 0, "high": 4, "log": False},
    }
    calls = []

    def objective(config):
        calls.append(config)
        if len(calls) == 3:
            return float("nan")  # observed as a failed training job
        return (config["x"] - 1.0) ** 2 + (config["k"] - 2) ** 2

    run(neutral, objective, 12, seed=0)
    assert len(calls) == 12
    assert all(-2 <= c["x"] <= 2 and c["k"] in range(5) for c in calls)
    assert len({(c["x"], c["k"]) for c in calls}) == 12
    with pytest.raises(SpecError, match="budget"):
        run(neutral, objective, -1, seed=0)
