"""One Gaussian process over (configuration, resource): hyperband's ``model: multifidelity``.

The per-level models of ``model: bayesian`` see each level's values only, so the lower rungs' data is lost to
the model once a higher level is used, and a higher level waits for ``n_initial`` jobs to reach it. This model
sees every value of every training job at the resource levels it reached (one point per job and level) and
learns how they relate: the resource is one more input of the same Matern-5/2 ARD kernel as the
configuration's coordinates (``_bo_model.make_model``), ``z = Z_SPAN * log(level / lowest) / log(full /
lowest)``. A training job stopped or paused at a rung is a point at that rung, not a stand-in value at the
levels it never reached: the model says what it would have done there, with its uncertainty.

Two choices make the lower rungs' values useful before many jobs reach the top:

- **Z_SPAN = 0.25.** BoTorch's dimension-scaled length-scale prior has its mode near 0.35-0.65 (2 to 10
  columns); on a [0, 1] resource axis the lowest and the full resource would be almost uncorrelated a priori, and
  while every point is at the lowest level nothing in the data can say otherwise, so the expected improvement at
  the full resource would be driven by the prior's variance (random exploration). On [0, 0.25] the prior
  correlation of the two ends is 0.7-0.9, near the measured rank correlations of epoch 1 or 3 with the best
  value (0.6-0.94 on the benchmark's tables); the fit moves the length scale once promoted jobs show how the
  ranks change.
- **Level offsets from paired differences.** Values rise with the resource; a GP with a constant mean would
  explain that shift with a short length scale in ``z`` and forget the correlation. The warped, standardized
  values (``_bo_model.transform_values``, all points together) are shifted per level by the median difference
  between a job's value at that level and at the level below (jobs that reached both, so that the selection of
  promoted jobs does not bias it), summed up the levels; a level without such pairs takes its lower neighbour's
  offset.

A suggestion maximizes log expected improvement *at the full resource* (``z = Z_SPAN``) over the best posterior
mean there at an observed configuration, with the acquisition search of the Bayesian strategy
(``_bo_acquisition.search``) and its Kriging believer: running training jobs are believed at their posterior
mean there. The values are warped and standardized together (``_bo_model.transform_values``).

Fits follow the Bayesian strategy's schedule (every suggestion up to 20 points, then after 10 % growth, warm
started, with a fresh fit whenever the points have doubled). Above ``MAX_POINTS`` points the model keeps every
point above the lowest level and a subset of the lowest level's (its best third, the most recent third and an
even spread, as the Bayesian strategy keeps a subset).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Callable, Sequence

import numpy as np
import torch

from hyperjob.records import Configuration, Objective
from hyperjob.space import SearchSpace
from hyperjob.strategies import _bo_acquisition as am
from hyperjob.strategies import _bo_model as mm

#: the length of the resource axis (module docstring)
Z_SPAN = 0.25
#: points the model keeps at most (a subset of the lowest level's points above it)
MAX_POINTS = 300
_WARM_MAXITER, _FRESH_MAXITER = 30, 100
_EVERY_STEP_UNTIL, _REFIT_GROWTH = 20, 0.1
#: the acquisition's gradient polish runs up to this many points (as in the Bayesian strategy)
_POLISH_UNTIL = 200


class _AtFullResource:
    """A :class:`~hyperjob.strategies._bo_model.CachedPosterior` seen at the full resource: rows of the space in, the
    resource column appended (what :class:`~hyperjob.strategies._bo_acquisition.CachedLogEI` evaluates)."""

    def __init__(self, posterior: mm.CachedPosterior) -> None:
        self.posterior, self.model = posterior, posterior.model

    def mean_var(self, Z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        full = torch.full((Z.shape[0], 1), Z_SPAN, dtype=Z.dtype)
        return self.posterior.mean_var(torch.cat([Z, full], dim=-1))

    def mean(self, X: np.ndarray) -> np.ndarray:
        return self.posterior.mean(_at_full(X))


def _at_full(X: np.ndarray) -> np.ndarray:
    return np.concatenate([X, np.full((len(X), 1), Z_SPAN)], axis=1)


class MultiFidelityModel:
    """The model (module docstring).

    Args:
        space: the search space.
        objective: the objective (its direction decides what "better" means).
        levels: the resource levels, increasing; the last one is the full resource.
        seed: the seed of every random choice.
        num_threads: torch threads while suggesting.
    """

    def __init__(self, space: SearchSpace, objective: Objective, levels: Sequence[int], seed: int,
                 num_threads: int = 1) -> None:
        self.space, self.objective, self.seed, self.num_threads = space, objective, int(seed), int(num_threads)
        self.levels = tuple(int(level) for level in levels)
        self.encoder = mm.Encoder(space)
        self._search = am.SearchSettings()
        self._x: list[np.ndarray] = []  # encoded configuration of each point
        self._level: list[int] = []  # the index of its level in ``levels``
        self._job: list[str] = []  # the training job it belongs to
        self._losses: list[float] = []
        self._state: Any = None
        self._model: Any = None
        self._fit_n = self._fresh_n = 0
        self._lmbda: float | None = None
        self._base: tuple[Any, np.ndarray, np.ndarray] | None = None

    def z_of(self, level: int) -> float:
        """The resource coordinate of ``level`` (0 at the lowest level, ``Z_SPAN`` at the full resource)."""
        lo, hi = self.levels[0], self.levels[-1]
        return Z_SPAN if hi <= lo else Z_SPAN * min(1.0, max(0.0, math.log(level / lo) / math.log(hi / lo)))

    @property
    def points(self) -> int:
        return len(self._losses)

    def add(self, config: Configuration, level: int, value: float, job: str) -> None:
        """The objective ``value`` of ``config`` (inside the space) at ``level``, one of :attr:`levels`, reached
        by training job ``job``."""
        loss = self.objective.loss(float(value))
        if not math.isfinite(loss):
            return
        self._x.append(self.encoder.encode([config])[0])
        self._level.append(self.levels.index(level))
        self._job.append(job)
        self._losses.append(loss)
        self._base = None

    def suggest(self, pending: Sequence[Configuration], is_known: Callable[[Configuration], bool],
                canonical: Callable[[Configuration], Configuration], draws: int) -> Configuration | None:
        """The best unknown configuration under log EI at the full resource, ``None`` if every candidate is
        known. ``draws`` (how many suggestions were made so far) varies the seeded search between calls."""
        previous = torch.get_num_threads()
        torch.set_num_threads(self.num_threads)
        try:
            with torch.random.fork_rng(devices=[]):
                return self._suggest(pending, is_known, canonical, draws)
        finally:
            torch.set_num_threads(previous)

    # -- internals -------------------------------------------------------------------------------------------
    def _suggest(self, pending: Sequence[Configuration], is_known: Callable[[Configuration], bool],
                 canonical: Callable[[Configuration], Configuration], draws: int) -> Configuration | None:
        import gpytorch

        rng = np.random.default_rng([self.seed, 5, draws, self.points])
        torch.manual_seed(int(rng.integers(2**31)))
        with gpytorch.settings.max_cholesky_size(100_000), gpytorch.settings.debug(False):
            posterior, X, y = self._posterior()
            top = _AtFullResource(posterior)
            observed = np.unique(X[:, :-1], axis=0)
            means = top.mean(observed)
            best_f = float(np.max(means))
            if pending:  # Kriging believer at the full resource
                P = self.encoder.encode(list(pending))
                believed = top.mean(P)
                full = _at_full(P)
                posterior = mm.CachedPosterior(posterior.model, np.concatenate([X, full]),
                                               np.concatenate([y, believed]), exact_from=len(y))
                top = _AtFullResource(posterior)
                best_f = max(best_f, float(np.max(believed)))
            acq = am.CachedLogEI(top, best_f)  # type: ignore[arg-type]
            anchors = np.clip(observed[np.argsort(-means, kind="stable")[: self._search.anchors]], 0.0, 1.0)
            scale = min(1.0, max(0.25, MAX_POINTS / max(1, self.points)))
            search = self._search if len(y) <= _POLISH_UNTIL else replace(self._search, polish_starts=0)
            rows, _ = am.search(acq, self.encoder, anchors, rng, search, scale=scale)
        for row in rows:
            config = canonical(self.encoder.decode(row))
            if not is_known(config):
                return config
        return None

    def _subset(self) -> np.ndarray:
        """Indices of the points the model keeps (all of them up to ``MAX_POINTS``)."""
        n = self.points
        if n <= MAX_POINTS:
            return np.arange(n)
        level = np.array(self._level)
        upper = np.flatnonzero(level > 0)
        lowest = np.flatnonzero(level == 0)
        room = max(MAX_POINTS - len(upper), MAX_POINTS // 3)
        if len(lowest) <= room:
            return np.arange(n)
        from hyperjob.strategies.bayesian import _model_subset

        kept = lowest[_model_subset(np.array(self._losses)[lowest], room)]
        return np.sort(np.concatenate([upper, kept]))

    def _offsets(self, idx: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Each point's level offset (module docstring): the summed median paired differences up to its level."""
        levels = np.array(self._level)[idx]
        by_job: dict[str, dict[int, float]] = {}
        for i, k, value in zip(idx, levels, y):
            by_job.setdefault(self._job[i], {})[int(k)] = float(value)
        offset = np.zeros(len(self.levels))
        for k in range(1, len(self.levels)):
            diffs = [v[k] - v[k - 1] for v in by_job.values() if k in v and k - 1 in v]
            offset[k] = offset[k - 1] + (float(np.median(diffs)) if diffs else 0.0)
        return offset[levels]

    def _posterior(self) -> tuple[mm.CachedPosterior, np.ndarray, np.ndarray]:
        """The posterior of the points (refitted when the schedule says so), cached until a new point."""
        if self._base is not None:
            return self._base
        idx = self._subset()
        z = np.array([self.z_of(self.levels[k]) for k in range(len(self.levels))])[np.array(self._level)[idx]]
        X = np.concatenate([np.array(self._x)[idx], z[:, None]], axis=1)
        losses = np.array(self._losses)[idx]
        n = self.points
        due = self._state is None or (n <= _EVERY_STEP_UNTIL and n != self._fit_n) or \
            n >= self._fit_n * (1.0 + _REFIT_GROWTH)
        y, self._lmbda = mm.transform_values(losses, None if due else self._lmbda)
        y = y - self._offsets(idx, y)
        if due:
            fresh = self._state is None or (n >= 2 * self._fresh_n and len(idx) == n)
            self._model = mm.refit(X, y, self._state, self._model, fresh, _WARM_MAXITER, _FRESH_MAXITER)
            if fresh:
                self._fresh_n = n
            self._state, self._fit_n = mm.model_state(self._model), n
        self._base = (mm.CachedPosterior(self._model, X, y), X, y)
        return self._base


__all__ = ["MultiFidelityModel"]
