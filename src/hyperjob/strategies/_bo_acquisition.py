"""The Bayesian strategy's search for the best next configuration under an acquisition function.

Private to :mod:`hyperjob.strategies.bayesian`. Every candidate is a valid configuration's row (see
``_bo_model.Encoder``); the search has three stages, all seeded from one ``numpy.random.Generator``:

1. a pool: uniform points of the space (``global_samples``) plus perturbations of the best configurations
   observed so far (``local_samples``: Gaussian steps in unit coordinates with scales drawn log-uniformly
   between 0.3 % and 30 % of a range, on all ranges or on one or two of them; a step of at least one value for
   integers and increment grids; categorical values redrawn), all projected to valid configurations, and
   scored by the acquisition function in one batch;
2. refinement, three rounds: perturbations of the best candidates so far with scales up to 5 %, 1 % and
   0.2 % of a range, scored the same way;
3. gradient polish: L-BFGS-B (BoTorch's ``gen_candidates_scipy``) from the best few candidates over the
   ordinal coordinates, with the one-hot coordinates held at each start's values; the results are projected
   (integers and grids snapped) and scored again.

The caller gets every scored candidate, best first, and takes the first one it has not seen yet.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from botorch.acquisition import AcquisitionFunction
from botorch.acquisition.analytic import _log_ei_helper
from botorch.generation.gen import gen_candidates_scipy

from hyperjob.strategies._bo_model import DTYPE, CachedPosterior, Encoder


class CachedLogEI(AcquisitionFunction):
    """Analytic log expected improvement (BoTorch's ``LogExpectedImprovement``) on a :class:`CachedPosterior`.

    The same value as ``LogExpectedImprovement(model, best_f)`` (BoTorch's numerically careful
    ``_log_ei_helper``), computed from a training factorization that is reused across calls.

    Args:
        posterior: the cached posterior of the model.
        best_f: the incumbent's utility (higher is better).
    """

    def __init__(self, posterior: CachedPosterior, best_f: float) -> None:
        super().__init__(model=posterior.model)
        self.posterior_cache = posterior
        self.best_f = float(best_f)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Log EI at ``X`` (``b x 1 x width``); returns ``b`` values."""
        Z = X.reshape(-1, X.shape[-1])
        mean, var = self.posterior_cache.mean_var(Z)
        sigma = var.sqrt()
        u = (mean - self.best_f) / sigma
        return (_log_ei_helper(u) + sigma.log()).reshape(X.shape[:-2])


@dataclass(frozen=True)
class SearchSettings:
    """Sizes of the acquisition search (see the module docstring)."""

    global_samples: int = 512
    local_samples: int = 512
    refine_starts: int = 8
    refine_samples: int = 32
    refine_rounds: int = 3
    #: off by default: on the benchmark it cost 40-80 ms per suggestion for no measurable gain in regret
    polish_starts: int = 2
    polish_maxiter: int = 30
    anchors: int = 5


def score(acq: AcquisitionFunction, X: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Acquisition values of rows ``X`` (no gradients)."""
    out = []
    with torch.no_grad():
        for i in range(0, len(X), chunk):
            tx = torch.as_tensor(X[i : i + chunk], dtype=DTYPE).unsqueeze(-2)
            out.append(acq(tx).reshape(-1).numpy().copy())
    values = np.concatenate(out) if out else np.zeros(0)
    return np.where(np.isfinite(values), values, -np.inf)


def perturb(
    encoder: Encoder,
    anchors: np.ndarray,
    count: int,
    rng: np.random.Generator,
    scale_lo: float,
    scale_hi: float,
) -> np.ndarray:
    """``count`` valid rows near ``anchors`` (each anchor used in turn)."""
    if count <= 0 or len(anchors) == 0:
        return np.zeros((0, encoder.width))
    base = anchors[np.arange(count) % len(anchors)]
    X = base.copy()
    n_ranges = len(encoder.columns)
    # which ranges move: half of the rows move every ordinal range (and a categorical one now and then),
    # the other half one or two ranges only (coordinate moves)
    everything = rng.random(count) < 0.5
    mask = np.zeros((count, n_ranges), dtype=bool)
    categorical = np.array([c.categorical for c in encoder.columns], dtype=bool)
    mask[everything] = ~categorical | (rng.random((int(everything.sum()), n_ranges)) < 0.2)
    few = np.flatnonzero(~everything)
    if len(few):
        k = 1 + (rng.random(len(few)) < 0.5)
        scores = rng.random((len(few), n_ranges))
        order = np.argsort(scores, axis=1)
        for j in range(min(2, n_ranges)):
            pick = order[:, j]
            use = k > j
            mask[few[use], pick[use]] = True
    scales = np.exp(rng.uniform(math.log(scale_lo), math.log(scale_hi), size=count))
    steps = encoder.finite_steps()
    for r_i, c in enumerate(encoder.columns):
        rows = np.flatnonzero(mask[:, r_i])
        if len(rows) == 0 or c.width == 0:
            continue
        if c.categorical:
            if c.width < 2:
                continue
            current = np.argmax(X[rows, c.start : c.start + c.width], axis=1)
            shift = rng.integers(1, c.width, size=len(rows))
            new = (current + shift) % c.width
            X[rows, c.start : c.start + c.width] = 0.0
            X[rows, c.start + new] = 1.0
        else:
            noise = rng.normal(size=len(rows)) * scales[rows]
            step = steps[c.start]
            if step > 0:  # move at least one value
                noise = np.sign(noise) * np.maximum(np.abs(noise), step)
            X[rows, c.start] = np.clip(X[rows, c.start] + noise, 0.0, 1.0)
    return encoder.project(X)


def search(
    acq: AcquisitionFunction,
    encoder: Encoder,
    anchors: np.ndarray,
    rng: np.random.Generator,
    settings: SearchSettings,
    scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Candidates for the maximum of ``acq``, best first.

    Args:
        acq: an acquisition function on ``b x 1 x width`` tensors.
        encoder: the space's encoder.
        anchors: rows of the best configurations so far, best first (may be empty).
        rng: the seeded source of every random choice.
        settings: sizes of the search.
        scale: a factor on the numbers of candidates (the strategy lowers it when there are many
            observations).

    Returns:
        ``(rows, values)``: valid rows and their acquisition values, sorted by decreasing value.
    """
    dim = encoder.space.dim
    n_global, n_local = (max(16, int(round(k * scale))) for k in (settings.global_samples, settings.local_samples))
    refine_samples = max(4, int(round(settings.refine_samples * scale)))
    pool = [encoder.from_unit(rng.random((n_global, dim)))]
    if len(anchors):
        pool.append(perturb(encoder, anchors[: settings.anchors], n_local, rng, 3e-3, 0.3))
    X = np.concatenate(pool)
    values = score(acq, X)

    # refinement around the best distinct candidates, with smaller steps each round
    hi = 0.05
    for _ in range(settings.refine_rounds):
        top = _top_distinct(X, values, settings.refine_starts)
        if not len(top) or settings.refine_samples <= 0:
            break
        R = perturb(encoder, X[top], refine_samples * len(top), rng, hi / 50, hi)
        X = np.concatenate([X, R])
        values = np.concatenate([values, score(acq, R)])
        hi /= 5

    # gradient polish of the best few, ordinal coordinates only
    if len(encoder.ordinal_cols) and settings.polish_starts > 0 and settings.polish_maxiter > 0:
        top = _top_distinct(X, values, settings.polish_starts)
        P = _polish(acq, encoder, X[top], settings.polish_maxiter)
        if P is not None:
            X = np.concatenate([X, P])
            values = np.concatenate([values, score(acq, P)])

    order = np.argsort(-values, kind="stable")
    return X[order], values[order]


def _top_distinct(X: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    order = np.argsort(-values, kind="stable")
    chosen: list[int] = []
    seen: set[bytes] = set()
    for i in order:
        if not np.isfinite(values[i]):
            break
        key = X[i].tobytes()
        if key in seen:
            continue
        seen.add(key)
        chosen.append(int(i))
        if len(chosen) >= k:
            break
    return np.array(chosen, dtype=int)


def _polish(acq: AcquisitionFunction, encoder: Encoder, starts: np.ndarray, maxiter: int) -> np.ndarray | None:
    if len(starts) == 0:
        return None
    start = torch.as_tensor(starts, dtype=DTYPE).unsqueeze(-2)  # b x 1 x width
    fixed = {int(j): start[:, 0, j].clone() for j in encoder.onehot_cols}
    try:
        with warnings.catch_warnings(record=True):  # record: BoTorch re-enables its OptimizationWarning inside
            warnings.simplefilter("ignore")
            X, _ = gen_candidates_scipy(
                initial_conditions=start,
                acquisition_function=acq,
                lower_bounds=torch.zeros(encoder.width, dtype=DTYPE),
                upper_bounds=torch.ones(encoder.width, dtype=DTYPE),
                options={"maxiter": int(maxiter)},
                fixed_features=fixed or None,
            )
    except Exception:  # noqa: BLE001 - a failed polish leaves the sampled candidates, which are valid
        return None
    rows = X.detach().reshape(len(starts), encoder.width).numpy()
    if not np.all(np.isfinite(rows)):
        return None
    return encoder.project(rows)


__all__ = ["SearchSettings", "perturb", "score", "search"]
