"""The Bayesian strategy's model side: encoding configurations, transforming values, the Gaussian process.

Private to :mod:`hyperjob.strategies.bayesian`. Importing this module imports torch, gpytorch and BoTorch.

Encoding (one row per configuration, every column in ``[0, 1]``):

- a continuous, integer or discrete range is one column, its unit coordinate (``range.to_unit``): integers
  and increment grids sit at the centres of their equal shares of the unit interval, so neighbouring values
  are neighbours for the model (they are ordinal);
- a categorical range with ``k`` values is ``k`` one-hot columns, so that no order is implied between its
  values (a categorical range with one value has no column).

Values: the objective is turned into a loss (``objective.loss``), negated (BoTorch maximizes), standardized,
winsorized on the bad side (values more than 1.5 interquartile ranges below the lower quartile are raised to
that bound, as Ax does for outliers), warped by a Yeo-Johnson power transform whose exponent is fitted by maximum likelihood (rank-preserving; it
pulls in heavy tails such as Rosenbrock's, and stays close to the identity on Gaussian-looking values such as a
noisy objective's), and standardized again.

Model: BoTorch's ``SingleTaskGP`` with a Matern-5/2 ARD kernel and BoTorch's dimension-scaled log-normal
priors on the length scales and on the noise (Hvarfner et al. 2024, "Vanilla Bayesian optimization performs
great in high dimensions"), a constant mean, an inferred homoskedastic noise, double precision. Hyperparameters
are fitted by L-BFGS-B on the marginal log likelihood (``botorch.optim.fit.fit_gpytorch_mll_scipy``),
warm-started from the previous fit.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from botorch.models import SingleTaskGP
from botorch.models.utils.gpytorch_modules import (
    get_covar_module_with_dim_scaled_prior,
    get_gaussian_likelihood_with_lognormal_prior,
)
from botorch.optim.fit import fit_gpytorch_mll_scipy
from gpytorch.constraints import GreaterThan
from gpytorch.likelihoods import GaussianLikelihood
from gpytorch.mlls import ExactMarginalLogLikelihood
from gpytorch.priors import LogNormalPrior
from linear_operator.utils.cholesky import psd_safe_cholesky
from scipy import stats

from hyperjob.records import Configuration
from hyperjob.space import SearchSpace
from hyperjob.space.ranges import CategoricalRange, DiscreteRange, IntegerRange, Range, Scaling

DTYPE = torch.double

#: An integer range with more values than this is projected value by value (scalar calls) instead of on a
#: precomputed grid.
_MAX_GRID = 100_000


@dataclass(frozen=True)
class _Column:
    """One range's place in the encoding."""

    index: int  # position of the range in space.ranges
    start: int  # first column
    width: int  # 1 for an ordinal range, k for a categorical range with k values (0 when k == 1)
    categorical: bool


#: How far beyond a range a value may lie, in units of the range's width, to be model data (farther points say
#: little about the range and pull the fitted length scales towards the wider function)
BEYOND_MARGIN = 0.5


def _unit_beyond(r: Any, value: Any) -> float | None:
    """``r.to_unit(value)`` without clipping, for a continuous or integer range; ``None`` if not a number the
    range's scaling can take."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    v = float(value)
    if not math.isfinite(v):
        return None
    try:
        if r.kind == "integer":
            a, b = r._bounds()
            x = math.log(v) if r.scaling is Scaling.LOGARITHMIC else v
        else:
            a, b = r._fwd(r.min_value), r._fwd(r.max_value)
            x = r._fwd(v)
    except (ValueError, ZeroDivisionError):
        return None
    return (x - a) / (b - a)


class Encoder:
    """Maps configurations to rows of ``[0, 1]^width`` and back (see the module docstring).

    Args:
        space: the search space.
    """

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        columns: list[_Column] = []
        start = 0
        for i, r in enumerate(space.ranges):
            if r.kind == "categorical":
                k = len(r.values)
                width = k if k > 1 else 0
                columns.append(_Column(i, start, width, True))
            else:
                width = 1
                columns.append(_Column(i, start, 1, False))
            start += width
        self.columns = tuple(columns)
        self.width = start
        #: columns of ordinal ranges (continuous, integer, discrete)
        self.ordinal_cols = np.array([c.start for c in columns if not c.categorical], dtype=int)
        #: columns of ordinal ranges with finitely many values (integer, discrete)
        self.finite_cols = np.array(
            [c.start for c in columns if not c.categorical and space.ranges[c.index].kind != "continuous"], dtype=int
        )
        #: one-hot columns
        self.onehot_cols = np.array(
            [c.start + j for c in columns if c.categorical for j in range(c.width)], dtype=int
        )
        self._grids = {c.index: _unit_grid(space.ranges[c.index]) for c in columns if not c.categorical}

    # -- configurations <-> rows ----------------------------------------------------------------------------
    def encode(self, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Rows for ``configs`` (shape ``len(configs) x width``)."""
        out = np.zeros((len(configs), self.width))
        for row, config in enumerate(configs):
            for c in self.columns:
                r = self.space.ranges[c.index]
                if c.categorical:
                    if c.width:
                        out[row, c.start + r.index(config[r.name])] = 1.0
                else:
                    out[row, c.start] = r.to_unit(config[r.name])
        return out

    def encode_beyond(self, config: Mapping[str, Any]) -> np.ndarray | None:
        """A row for a configuration whose numbers may lie outside their ranges (a parent's, before the child
        narrowed a range): continuous and integer coordinates extrapolated past [0, 1] in the range's scaling.

        ``None`` when that is not possible or not useful: a categorical or grid value the range does not list, a
        value that is not a number, one the scaling cannot take (e.g. <= 0 on a logarithmic range), or one
        farther than :data:`BEYOND_MARGIN` range widths from the range.
        """
        row = np.zeros(self.width)
        for c in self.columns:
            r = self.space.ranges[c.index]
            value = config.get(r.name)
            if c.categorical or r.kind not in ("continuous", "integer"):
                try:
                    if c.categorical:
                        if c.width:
                            row[c.start + r.index(value)] = 1.0
                    else:
                        row[c.start] = r.to_unit(value)  # a grid: only its listed values
                except Exception:  # noqa: BLE001 - not a value of the range: no row
                    return None
                continue
            u = _unit_beyond(r, value)
            if u is None or not -BEYOND_MARGIN <= u <= 1.0 + BEYOND_MARGIN:
                return None
            row[c.start] = u
        return row

    def decode(self, row: np.ndarray) -> Configuration:
        """The configuration a row stands for (one-hot blocks by their largest entry)."""
        config: Configuration = {}
        for c in self.columns:
            r = self.space.ranges[c.index]
            if c.categorical:
                config[r.name] = r.values[int(np.argmax(row[c.start : c.start + c.width]))] if c.width else r.values[0]
            else:
                config[r.name] = r.from_unit(float(row[c.start]))
        return config

    def from_unit(self, U: np.ndarray) -> np.ndarray:
        """Rows for points of the space's own unit cube (one coordinate per range, as ``space.from_unit``)."""
        out = np.zeros((U.shape[0], self.width))
        for c in self.columns:
            u = np.clip(U[:, c.index], 0.0, 1.0)
            if c.categorical:
                if c.width:
                    idx = np.minimum((u * c.width).astype(int), c.width - 1)
                    out[np.arange(len(u)), c.start + idx] = 1.0
            else:
                out[:, c.start] = u
        return self.project(out)

    def project(self, X: np.ndarray) -> np.ndarray:
        """Rows moved to the nearest valid configurations: ordinal values snapped, one-hot blocks made exact.

        ``decode(project(x)) == decode(x)`` and ``project`` is idempotent.
        """
        X = np.clip(np.array(X, dtype=float, copy=True), 0.0, 1.0)
        n = X.shape[0]
        for c in self.columns:
            if c.categorical:
                if c.width:
                    block = X[:, c.start : c.start + c.width]
                    idx = np.argmax(block, axis=1)
                    block[:] = 0.0
                    block[np.arange(n), idx] = 1.0
                continue
            grid = self._grids[c.index]
            if grid is None:
                r = self.space.ranges[c.index]
                if r.kind != "continuous":  # a huge integer range: scalar calls
                    X[:, c.start] = [r.to_unit(r.from_unit(float(u))) for u in X[:, c.start]]
                continue
            X[:, c.start] = grid.snap(X[:, c.start])
        return X

    def finite_steps(self) -> np.ndarray:
        """Per ordinal column: the unit width of one value (``1 / count``; 0 for continuous columns)."""
        steps = np.zeros(self.width)
        for c in self.columns:
            if not c.categorical:
                r = self.space.ranges[c.index]
                card = r.cardinality
                steps[c.start] = 0.0 if not math.isfinite(card) else 1.0 / card
        return steps


class _Grid:
    """The unit coordinates of a finite ordinal range, and the map from a unit coordinate to its value's."""

    def __init__(self, r: Range) -> None:
        self.range = r
        if isinstance(r, IntegerRange):
            lo, hi = r.min_value - 0.5, r.max_value + 0.5
            self.log = r.scaling is Scaling.LOGARITHMIC
            self.a, self.b = (math.log(lo), math.log(hi)) if self.log else (lo, hi)
            self.values = np.arange(r.min_value, r.max_value + 1, dtype=float)
            self.units = np.array([r.to_unit(int(v)) for v in self.values])
        else:
            self.log = False
            self.a = self.b = 0.0
            self.values = np.arange(len(r.values), dtype=float)
            self.units = (np.arange(len(r.values)) + 0.5) / len(r.values)

    def snap(self, u: np.ndarray) -> np.ndarray:
        """``to_unit(from_unit(u))``, vectorized (same rounding as the ranges' scalar code)."""
        r = self.range
        u = np.clip(u, 0.0, 1.0)
        if isinstance(r, IntegerRange):
            y = self.a + u * (self.b - self.a)
            x = np.exp(y) if self.log else y
            k = np.clip(np.round(x), r.min_value, r.max_value).astype(int) - r.min_value
            return self.units[k]
        n = len(self.units)
        k = np.minimum((u * n).astype(int), n - 1)
        return self.units[k]


def _unit_grid(r: Range) -> _Grid | None:
    if isinstance(r, (IntegerRange, DiscreteRange)) and r.cardinality <= _MAX_GRID:
        return _Grid(r)
    return None


# ---------------------------------------------------------------------------------------------------------
# Values


def transform_values(losses: np.ndarray, lmbda: float | None = None) -> tuple[np.ndarray, float]:
    """Losses -> standardized, power-warped utilities to maximize (see the module docstring).

    Args:
        losses: finite losses (lower is better), any scale.
        lmbda: the Yeo-Johnson exponent to use; ``None`` fits it by maximum likelihood
            (``scipy.stats.yeojohnson_normmax``, about 25 ms, so the strategy refits it with the model only).

    Returns:
        ``(utilities, lmbda)``: higher is better, mean 0 and standard deviation 1 (all zeros when the losses are
        all equal); the exponent used (1.0, the identity, with fewer than 4 values).
    """
    z = -np.asarray(losses, dtype=float)
    if len(z) == 0:
        return z, 1.0
    sd = float(np.std(z))
    if not sd > 0 or not math.isfinite(sd):
        return np.zeros_like(z), 1.0
    z = (z - float(np.mean(z))) / sd
    if len(z) < 4:
        return z, 1.0
    # winsorize the bad tail: values far below the bulk (a diverged training job, a cliff of the objective)
    # would otherwise set the model's scale and shorten its length scales where nothing is to be found
    q25, q50, q75 = np.percentile(z, [25, 50, 75])
    floor = q25 - 1.5 * (q75 - q25)
    if q75 > q25 and float(np.min(z)) < floor:
        z = np.maximum(z, floor)
        z = (z - float(np.mean(z))) / float(np.std(z))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            if lmbda is None:
                lmbda = float(stats.yeojohnson_normmax(z))
                lmbda = min(max(lmbda, -3.0), 5.0) if math.isfinite(lmbda) else 1.0
            w = np.asarray(stats.yeojohnson(z, lmbda), dtype=float)
            if np.all(np.isfinite(w)) and float(np.std(w)) > 0:
                z = w
            else:
                lmbda = 1.0
        except (ValueError, FloatingPointError, OverflowError):  # pragma: no cover - keep the standardized values
            lmbda = 1.0
    return (z - float(np.mean(z))) / float(np.std(z)), float(lmbda)


# ---------------------------------------------------------------------------------------------------------
# Gaussian process

ModelState = Mapping[str, torch.Tensor]


def make_model(
    X: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    state: ModelState | None = None,
    *,
    min_noise: float | None = None,
) -> SingleTaskGP:
    """A ``SingleTaskGP`` on rows ``X`` (``n x width``) and utilities ``y`` (``n``), in eval mode.

    Args:
        X: encoded configurations.
        y: transformed values (see :func:`transform_values`).
        state: hyperparameters from an earlier model (``state_dict``) to start from; the default
            initialization (the priors' modes) when ``None``.
        min_noise: the lower bound of the inferred noise variance (on the standardized values); ``None`` keeps
            BoTorch's (``MIN_INFERRED_NOISE_LEVEL``, 1e-4). The prior on the noise is BoTorch's either way.
    """
    tx = torch.as_tensor(X, dtype=DTYPE)
    ty = torch.as_tensor(y, dtype=DTYPE).reshape(-1, 1)
    width = tx.shape[-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SingleTaskGP(
            tx,
            ty,
            likelihood=_likelihood(min_noise),
            covar_module=get_covar_module_with_dim_scaled_prior(ard_num_dims=width, use_rbf_kernel=False),
            outcome_transform=None,
        )
    if state is not None:
        model.load_state_dict(state)
    model.eval()
    return model


def _likelihood(min_noise: float | None) -> GaussianLikelihood:
    """BoTorch's likelihood (``LogNormal(-4, 1)`` prior on the noise), with its noise floor at ``min_noise``."""
    if min_noise is None:
        return get_gaussian_likelihood_with_lognormal_prior()
    prior = LogNormalPrior(loc=-4.0, scale=1.0)  # get_gaussian_likelihood_with_lognormal_prior's prior
    return GaussianLikelihood(
        noise_prior=prior,
        noise_constraint=GreaterThan(float(min_noise), transform=None, initial_value=prior.mode),
    )


def fit_model(model: SingleTaskGP, maxiter: int) -> float:
    """Fit the hyperparameters of ``model`` in place by L-BFGS-B on the marginal log likelihood.

    Starts from the model's current hyperparameters. Returns the final loss (the negative marginal log
    likelihood per observation, priors included; lower is better), ``inf`` when the fit failed (the model
    then keeps the hyperparameters it had).
    """
    before = {k: v.clone() for k, v in model.state_dict().items()}
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    mll.train()
    try:
        with warnings.catch_warnings(record=True):  # record: BoTorch re-enables its OptimizationWarning inside
            warnings.simplefilter("ignore")
            result = fit_gpytorch_mll_scipy(mll, options={"maxiter": int(maxiter)})
        loss = float(result.fval)
    except Exception:  # noqa: BLE001 - a numerical failure of one fit is not fatal: keep the old values
        loss = math.inf
    if not math.isfinite(loss):
        model.load_state_dict(before)
    mll.eval()
    return loss


def refit(X: np.ndarray, y: np.ndarray, state: dict[str, torch.Tensor] | None, previous: SingleTaskGP | None,
          fresh: bool, warm_maxiter: int, fresh_maxiter: int) -> SingleTaskGP:
    """The better-fitting of a fit warm-started from ``state`` (when there is one) and, when ``fresh``, a fit from
    the priors' modes (by marginal likelihood); ``previous`` when both fits failed."""
    best_loss, best = math.inf, previous
    if state is not None:
        warm = make_model(X, y, state=state)
        loss = fit_model(warm, warm_maxiter)
        if loss < best_loss:
            best_loss, best = loss, warm
    if fresh or best is None:
        cold = make_model(X, y)
        loss = fit_model(cold, fresh_maxiter)
        if loss < best_loss or best is None:
            best = cold
    return best


def model_state(model: SingleTaskGP) -> dict[str, torch.Tensor]:
    """A detached copy of the model's hyperparameters (for warm starts and conditioning)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


class CachedPosterior:
    """The exact posterior of a fitted ``SingleTaskGP``, with the training factorization computed once.

    GPyTorch's batched prediction (``b x 1 x d``, one marginal per candidate) costs about five times the
    arithmetic it needs on thousands of candidates; this class evaluates the same posterior, from the model's
    own kernel, mean and likelihood modules, with one Cholesky factor of the training covariance reused for
    every call. It is differentiable in the candidates (for the gradient polish of the acquisition).
    ``tests/unit/strategies/test_bayesian_model.py`` checks it against ``model.posterior``.

    Args:
        model: a ``SingleTaskGP`` without outcome or input transforms (as :func:`make_model` builds it): its
            hyperparameters (kernel, constant mean, noise) are used.
        X: training rows; the model's own when ``None``.
        y: training utilities (with ``X``); the model's own when ``None``.
        exact_from: training rows from this index on are taken as exact (noise variance 1e-6 instead of the
            fitted one): the Kriging believer's fantasies, which must not stay attractive once believed.
    """

    def __init__(
        self,
        model: SingleTaskGP,
        X: np.ndarray | None = None,
        y: np.ndarray | None = None,
        exact_from: int | None = None,
    ) -> None:
        self.model = model
        with torch.no_grad():
            if X is None or y is None:
                self.train_X = model.train_inputs[0].detach()
                train_y = model.train_targets.detach()
            else:
                self.train_X = torch.as_tensor(X, dtype=DTYPE)
                train_y = torch.as_tensor(y, dtype=DTYPE).reshape(-1)
            n = self.train_X.shape[0]
            noise = model.likelihood.noise.detach().reshape(-1)[0] * torch.ones(n, dtype=DTYPE)
            if exact_from is not None:
                noise[exact_from:] = 1e-6
            K = model.covar_module(self.train_X).to_dense()
            K = K + torch.diag(noise)
            self.L = psd_safe_cholesky(K)
            self.constant = model.mean_module(self.train_X[:1]).detach().reshape(-1)[0]
            self.alpha = torch.cholesky_solve((train_y - self.constant).unsqueeze(-1), self.L).squeeze(-1)
            # the kernel is stationary (Matern): the prior variance is the same everywhere
            prior = model.covar_module(self.train_X[:1], diag=True)
            self.prior_var = (prior if torch.is_tensor(prior) else prior.to_dense()).detach().reshape(-1)[0]

    def mean_var(self, Z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and variance (latent function, no noise) at rows ``Z`` (``m x width``)."""
        Ks = self.model.covar_module(Z, self.train_X).to_dense()  # m x n
        mean = self.constant + Ks @ self.alpha
        V = torch.linalg.solve_triangular(self.L, Ks.transpose(-1, -2), upper=False)  # n x m
        var = self.prior_var - (V * V).sum(dim=-2)
        return mean, var.clamp_min(1e-12)

    def mean(self, X: np.ndarray) -> np.ndarray:
        """Posterior mean at rows ``X`` (numpy in, numpy out)."""
        with torch.no_grad():
            Z = torch.as_tensor(X, dtype=DTYPE)
            Ks = self.model.covar_module(Z, self.train_X).to_dense()
            return (self.constant + Ks @ self.alpha).numpy().copy()


__all__ = [
    "CachedPosterior",
    "DTYPE",
    "Encoder",
    "fit_model",
    "make_model",
    "model_state",
    "transform_values",
]
