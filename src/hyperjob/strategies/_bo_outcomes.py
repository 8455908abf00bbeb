"""The Bayesian strategy's acquisition for several objectives, outcome constraints and a cost metric (BoTorch).

Private to :mod:`hyperjob.strategies.bayesian`. One Gaussian process per outcome (``_bo_model.make_model``,
fitted as the single objective's is, warm-started from the last fit), gathered in a ``ModelListGP``:

- an objective's values are turned into losses, warped and standardized (``_bo_model.transform_values``:
  monotone, so the Pareto front is unchanged) and modelled as utilities (higher is better);
- a constraint is modelled as its signed slack (``value - max``, ``min - value``; feasible when <= 0) divided by
  its standard deviation, not centred, so that 0 stays the boundary;
- a cost metric (``cost_metric``) is modelled as its standardized logarithm.

Acquisition: with several objectives BoTorch's ``qLogNoisyExpectedHypervolumeImprovement`` (Daulton et al.
2021, Ament et al. 2023) with the reference point below the worst feasible observed utility of each objective
by a tenth of its observed range; with one objective and constraints ``qLogNoisyExpectedImprovement``. Both
take the constraints as BoTorch's constrained acquisition does (a sigmoid of each modelled slack weighs the
improvement: the probability of feasibility), plus the modelled log probability of feasibility once more
(:class:`Feasibility`: fewer evaluations beyond the constraints, measured in benchmarks/README.md), and the
configurations still running as ``X_pending`` (their outcomes are integrated over jointly). Models are refitted
at every suggestion up to 20 observations, then after 10 % growth, as the single objective's. A failed training job is data at the worst value of every objective
and the worst slack of every constraint. With a cost metric the log acquisition is lowered by the modelled log
cost: improvement per unit of cost.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from botorch.acquisition import AcquisitionFunction
from botorch.acquisition.logei import qLogNoisyExpectedImprovement
from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
from botorch.acquisition.multi_objective.objective import IdentityMCMultiOutputObjective
from botorch.acquisition.objective import GenericMCObjective
from botorch.models import ModelListGP
from botorch.sampling import SobolQMCNormalSampler

from hyperjob.outcomes import Outcomes
from hyperjob.strategies._bo_model import DTYPE, fit_model, make_model, model_state, transform_values

#: L-BFGS-B iterations of a fit from the priors' modes, and of one warm-started from the last fit
_FRESH_MAXITER = 100
_WARM_MAXITER = 30
#: quasi-Monte Carlo samples of the acquisition (qLogNEHVI / qLogNEI)
_MC_SAMPLES = 32
#: refit at every suggestion up to this many observations, then after this much growth (as the single objective)
_EVERY_STEP_UNTIL = 20
_REFIT_GROWTH = 0.1
#: the weight of the modelled log probability of feasibility added to the constrained acquisition (which holds
#: it once already): 1 makes it P(feasible)^2 x improvement, fewer evaluations spent beyond the constraints
_FEASIBILITY_WEIGHT = 1.0
#: the floor of every outcome model's inferred noise variance (standardized values). BoTorch's default, 1e-4,
#: blurs differences below about 1 % of an outcome's spread: near a constraint's boundary, where a constrained
#: optimum lies, the slack's sign and the objective's last digits are finer than that (benchmarks/README.md:
#: ConstrainedGramacy's feasible best 7.7e-5 from the optimum with 1e-4, about 0 with 1e-6, Optuna's GP floor)
_MIN_NOISE = 1e-6


def _slack(outcomes: Outcomes, values: Mapping[str, Any]) -> list[float]:
    """Each constraint's signed slack (<= 0 feasible); NaN when its metric is missing."""
    out = []
    for c in outcomes.constraints:
        v = values.get(c.metric)
        try:
            v = float(v)
        except (TypeError, ValueError):
            v = math.nan
        if not math.isfinite(v):
            out.append(math.nan)
            continue
        parts = ([v - c.max] if c.max is not None else []) + ([c.min - v] if c.min is not None else [])
        out.append(max(parts))
    return out


def _fill(col: np.ndarray, worst: float) -> np.ndarray:
    return np.where(np.isfinite(col), col, worst)


class OutcomeModels:
    """The fitted models of one tuning job's outcomes, refitted at each :meth:`acquisition` (warm-started).

    Args:
        outcomes: the objectives and constraints.
        cost_metric: the metric whose value is a training job's cost (e.g. its training time), or ``None``.
    """

    def __init__(self, outcomes: Outcomes, cost_metric: str | None = None) -> None:
        self.outcomes = outcomes
        self.cost_metric = cost_metric
        self._states: dict[int, Any] = {}
        self._fresh_n: dict[int, int] = {}
        self._fit_n: dict[int, int] = {}

    # -- data -------------------------------------------------------------------------------------------------
    def columns(self, values: Sequence[Mapping[str, Any]], n_failed: int) -> tuple[np.ndarray, int, int]:
        """``(Y, m, k)``: one column per objective (utilities) then per constraint (scaled slack), rows for the
        observed values then ``n_failed`` failures; ``m`` objectives, ``k`` constraints."""
        o = self.outcomes
        cols = []
        for obj in o.objectives:
            loss = np.array([o_loss(obj, v.get(obj.metric)) for v in values], dtype=float)
            worst = float(np.nanmax(loss)) if np.any(np.isfinite(loss)) else 0.0
            loss = np.concatenate([_fill(loss, worst), np.full(n_failed, worst)])
            cols.append(transform_values(loss)[0])
        for j in range(len(o.constraints)):
            s = np.array([_slack(o, v)[j] for v in values], dtype=float)
            finite = s[np.isfinite(s)]
            sd = float(np.std(finite)) if len(finite) > 1 else 0.0
            scale = sd if sd > 0 else (float(np.mean(np.abs(finite))) if len(finite) and np.any(finite) else 1.0)
            worst = float(np.max(finite)) if len(finite) else 1.0
            worst = max(worst, 0.0) + 0.5 * scale  # a failure, or a missing value, is infeasible
            s = np.concatenate([_fill(s, worst), np.full(n_failed, worst)])
            cols.append(s / scale)
        return np.stack(cols, axis=1), len(o.objectives), len(o.constraints)

    def cost_column(self, values: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, float, float] | None:
        """Standardized log costs (rows with a positive cost only marked by NaN otherwise), their mean and sd."""
        if not self.cost_metric:
            return None
        c = np.array([_positive(v.get(self.cost_metric)) for v in values], dtype=float)
        logc = np.log(np.where(np.isfinite(c), c, np.nan))
        finite = logc[np.isfinite(logc)]
        if len(finite) < 2:
            return None
        mu, sd = float(np.mean(finite)), float(np.std(finite)) or 1.0
        return (np.where(np.isfinite(logc), logc, float(np.max(finite))) - mu) / sd, mu, sd

    def _fit(self, key: int, X: np.ndarray, y: np.ndarray) -> Any:
        """A model of column ``key`` on ``X``, ``y``: refitted at every call up to ``_EVERY_STEP_UNTIL``
        observations, then after ``_REFIT_GROWTH`` growth (warm-started; from the priors' modes whenever the
        observations doubled); between refits the last hyperparameters on the new data."""
        n = len(y)
        state = self._states.get(key)
        if state is not None and n > _EVERY_STEP_UNTIL and n < self._fit_n.get(key, 0) * (1 + _REFIT_GROWTH):
            return make_model(X, y, state=state, min_noise=_MIN_NOISE)
        self._fit_n[key] = n
        best_loss, best = math.inf, None
        if state is not None:
            warm = make_model(X, y, state=state, min_noise=_MIN_NOISE)
            best_loss, best = fit_model(warm, _WARM_MAXITER), warm
        if state is None or n >= 2 * self._fresh_n.get(key, 0):
            cold = make_model(X, y, min_noise=_MIN_NOISE)
            loss = fit_model(cold, _FRESH_MAXITER)
            if loss < best_loss or best is None:
                best_loss, best = loss, cold
            self._fresh_n[key] = n
        self._states[key] = model_state(best)
        return best

    # -- acquisition ------------------------------------------------------------------------------------------
    def acquisition(
        self,
        X: np.ndarray,
        values: Sequence[Mapping[str, Any]],
        failed: np.ndarray,
        pending: np.ndarray,
        seed: int,
    ) -> AcquisitionFunction:
        """The acquisition function over rows (``b x 1 x width`` tensors), as the module docstring says.

        Args:
            X: rows of the observed configurations; ``values``: their metric values (name -> value).
            failed: rows of failed training jobs; ``pending``: rows of the running ones.
            seed: the seed of the quasi-Monte Carlo sampler.
        """
        Y, m, k = self.columns(values, len(failed))
        XA = np.concatenate([X, failed]) if len(failed) else X
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            models = [self._fit(j, XA, Y[:, j]) for j in range(m + k)]
            model = ModelListGP(*models)
            sampler = SobolQMCNormalSampler(sample_shape=torch.Size([_MC_SAMPLES]), seed=int(seed))
            tX = torch.as_tensor(np.clip(X, 0.0, 1.0), dtype=DTYPE)
            tP = torch.as_tensor(pending, dtype=DTYPE) if len(pending) else None
            constraints = [(lambda Z, j=j: Z[..., m + j]) for j in range(k)] or None
            if m > 1:
                observed = Y[: len(X), :m]
                feasible = np.all(Y[: len(X), m:] <= 0, axis=1) if k else np.ones(len(X), dtype=bool)
                ref_from = observed[feasible] if feasible.any() else observed
                lo, hi = ref_from.min(axis=0), observed.max(axis=0)
                ref = lo - 0.1 * np.maximum(hi - lo, 1e-6)
                acq: AcquisitionFunction = qLogNoisyExpectedHypervolumeImprovement(
                    model=model, ref_point=ref.tolist(), X_baseline=tX, sampler=sampler,
                    objective=IdentityMCMultiOutputObjective(outcomes=list(range(m))), constraints=constraints,
                    X_pending=tP, prune_baseline=True, cache_root=False,
                )
            else:
                acq = qLogNoisyExpectedImprovement(
                    model=model, X_baseline=tX, sampler=sampler, objective=GenericMCObjective(lambda Z, X=None: Z[..., 0]),
                    constraints=constraints, X_pending=tP, prune_baseline=True, cache_root=False,
                )
        if k:
            acq = Feasibility(acq, models[m:], _FEASIBILITY_WEIGHT)
        return self.per_cost(acq, X, values)

    def per_cost(self, acq: AcquisitionFunction, X: np.ndarray, values: Sequence[Mapping[str, Any]]
                 ) -> AcquisitionFunction:
        """``acq`` (a log acquisition) per unit of modelled cost, or ``acq`` itself without a cost metric."""
        cost = self.cost_column(values)
        if cost is None:
            return acq
        y, mu, sd = cost
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = self._fit(-1, X, y)
        return PerUnitCost(acq, model, mu, sd)


class Feasibility(AcquisitionFunction):
    """A log acquisition plus ``weight`` times the log probability that every constraint holds (independent
    Gaussian posteriors of the scaled slacks: ``log Phi(-mean / sd)`` summed over the constraints)."""

    def __init__(self, acq: AcquisitionFunction, constraint_models: Sequence[Any], weight: float) -> None:
        super().__init__(model=constraint_models[0])
        self.acq = acq
        self.constraint_models = list(constraint_models)
        self.weight = float(weight)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        from botorch.utils.probability.utils import log_ndtr

        total = self.acq(X)
        for model in self.constraint_models:
            post = model.posterior(X)
            mean = post.mean.reshape(X.shape[:-2] + (-1,))[..., 0]
            sd = post.variance.clamp_min(1e-12).sqrt().reshape(X.shape[:-2] + (-1,))[..., 0]
            total = total + self.weight * log_ndtr(-mean / sd)
        return total


class PerUnitCost(AcquisitionFunction):
    """A log acquisition minus the modelled log cost (the cost GP's posterior mean, back on the log scale)."""

    def __init__(self, acq: AcquisitionFunction, cost_model: Any, mu: float, sd: float) -> None:
        super().__init__(model=cost_model)
        self.acq = acq
        self.cost_model = cost_model
        self.mu, self.sd = float(mu), float(sd)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        mean = self.cost_model.posterior(X).mean.reshape(X.shape[:-2] + (-1,)).mean(dim=-1)
        return self.acq(X) - (self.mu + self.sd * mean)


def o_loss(objective: Any, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return math.nan
    return objective.loss(v) if math.isfinite(v) else math.nan


def _positive(value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) and v > 0 else math.nan


__all__ = ["Feasibility", "OutcomeModels", "PerUnitCost"]
