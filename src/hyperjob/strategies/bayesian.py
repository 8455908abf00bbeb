"""Bayesian optimization: a Gaussian-process model of the objective (BoTorch + GPyTorch), aware of running jobs.

How a suggestion is made (the choices were measured with the shared benchmark harness, see
``benchmarks/README.md``):

- **Initial design.** Until the strategy knows ``n_initial`` configurations (suggested, running or finished)
  and has at least two final values, suggestions come from the random strategy
  (:class:`~hyperjob.strategies.random.RandomStrategy`, a scrambled Sobol sequence under the same seed).
- **Model.** A ``SingleTaskGP`` over the encoded space (``_bo_model.py``): unit coordinates for continuous,
  integer and discrete ranges (integers and increment grids are ordinal, each value at the centre of its
  share), one-hot columns for categorical ranges (no order implied); Matern-5/2 ARD kernel with BoTorch's
  dimension-scaled priors; inferred noise; the losses warped by a fitted Yeo-Johnson transform (robust to heavy
  tails) and standardized. Hyperparameters are refitted by L-BFGS-B warm-started from the previous fit
  (``_WARM_MAXITER`` iterations), with a fit from the priors' modes (``_FRESH_MAXITER``) whenever the number of
  observations has doubled, keeping whichever has the better marginal likelihood. Up to ``_EVERY_STEP_UNTIL``
  observations the fit runs at every suggestion; after that only when the observations have grown by
  ``_REFIT_GROWTH`` (10 %) since the last fit; between fits the posterior is recomputed on the new data with
  the last hyperparameters. Above ``_MAX_MODEL`` observations the model (fit and posterior) keeps a subset:
  the best third, the most recent third and an even spread over the rest, so that a suggestion costs about
  the same at 1,000 observations as at 300; there, refits are warm-started only, after 20 % growth.
- **Acquisition.** Analytic log expected improvement (BoTorch's ``LogExpectedImprovement`` formula, evaluated on a
  posterior whose training factorization is cached: ``CachedLogEI``) over the best posterior mean at an
  observed configuration (robust to noise), maximized by a seeded search over valid configurations
  (``_bo_acquisition.py``: random and local candidates, refinement, gradient polish up to ``_POLISH_UNTIL``
  observations, then projection of integers, grids and one-hot blocks). Above ``_FULL_SEARCH_UNTIL``
  observations the search uses proportionally fewer candidates (down to a quarter).
- **Running jobs (pending) and batches.** Kriging believer: the model is conditioned, with the fitted
  hyperparameters, on each pending configuration at its posterior mean (and the incumbent value is raised to the
  best of those beliefs), so ``suggest(4)`` gives four different configurations spread over the promising
  regions, and ``suggest(1)`` twice without an ``observe`` gives two.
- **Training jobs stopped early** (early stopping ``auto``, or a rung of hyperband) count with their last value
  (an ``Intermediate`` event with ``stopped=True``): they were stopped because that value was worse than the
  others', so the model learns that the region is worse, without waiting for a value that will never come.
- **Learning curves** (``multifidelity: auto``, an option; the default is ``off``): once a training job has been
  stopped early, the suggestions come from one Gaussian process over (configuration, resource) instead
  (:mod:`hyperjob.strategies._bo_multifidelity`, the model of hyperband's ``model: multifidelity``): every
  training job's value at each resource level it reached is a point there, with the levels ``R, R/3, R/9, ...,
  1`` below the largest step ``R`` a completed training job reached, and a suggestion maximizes the expected
  improvement at ``R``. A job stopped at epoch 2 then says what it did at epoch 2, not that its configuration
  is worth its epoch-2 value; running jobs' values are points too. Failed training jobs are not in that model.
  ``multifidelity: off`` (the default) keeps the stopped values as results (the item above); without stopped
  jobs both are the same strategy. Measured with early stopping ``auto`` on tabulated learning curves
  (``benchmarks/README.md``, 20 seeds, 4 workers), neither wins: ``auto`` 2.7x / 4.2x / 3.1x against ``off``'s
  3.0x / 3.1x / 4.1x over full-training random search, hence the default.
- **Results beyond the ranges** (a warm start's parent that searched wider ranges): a ``Final`` for a
  configuration outside the space is data when only its continuous or integer values lie outside (their
  coordinates are extrapolated past [0, 1] in the range's scaling): the model learns the function around the
  narrowed ranges' edges; suggestions stay inside.
- **Failed training jobs** are never taken as values: they stay out of the value scale and of the
  hyperparameter fit, and the model is conditioned on them at the worst value observed so far (a pessimistic
  belief), so the strategy moves away from where training jobs fail without distorting the rest of the model.
  A ``Final`` whose value is not a finite number counts as a failure.
- **Duplicates.** A configuration the strategy already knows is never suggested again while the space has
  others (the best-scored unknown candidate is taken; failing that, a random unknown one).
- **Determinism.** Every random choice comes from ``numpy.random.default_rng`` seeded with the seed and the
  numbers of known configurations, final values and failures; the model fit is deterministic; torch runs in a
  forked RNG state with ``num_threads`` threads (1 by default, restored afterwards). The same seed and the same
  sequence of calls give the same suggestions in any process.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace
from typing import Any, Mapping

import numpy as np

from hyperjob.errors import SpecError, StrategyError
from hyperjob.outcomes import Outcomes, best_of, front_of
from hyperjob.records import Configuration, Failed, Final, Intermediate, Objective, Observation, Pending
from hyperjob.space import SearchSpace
from hyperjob.strategies._tracking import Ledger, LedgerViews, check_count, check_seed
from hyperjob.strategies.base import BaseStrategy
from hyperjob.strategies.random import RandomStrategy

#: Largest default initial design (the default is ``min(max(5, dim + 1), _MAX_DEFAULT_INITIAL)``).
_MAX_DEFAULT_INITIAL = 10
#: L-BFGS-B iterations of a warm-started hyperparameter fit, and of a fit from the priors' modes.
_WARM_MAXITER = 30
_FRESH_MAXITER = 100
#: Refit at every suggestion up to this many observations ...
_EVERY_STEP_UNTIL = 20
#: ... and after that only when the observations have grown by this fraction since the last fit.
_REFIT_GROWTH = 0.1
#: The model keeps at most this many observations (a subset above it, see :func:`_model_subset`).
_MAX_MODEL = 300

#: Full-size acquisition search up to this many observations, proportionally fewer candidates after (>= 1/4).
_FULL_SEARCH_UNTIL = 300

#: The acquisition's gradient polish runs up to this many observations (with more data it costs more than it
#: brings: the sampled candidates are dense enough, and the cost per suggestion must stay flat).
_POLISH_UNTIL = 200

def default_n_initial(dim: int) -> int:
    """The default size of the initial design for a space of ``dim`` ranges: ``min(max(5, dim + 1), 10)``."""
    return min(max(5, dim + 1), _MAX_DEFAULT_INITIAL)


def _positive_int(name: str, value: Any, example: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise SpecError(
            f"{name} must be a positive integer, got {value!r}. Use e.g. {name}: {example}.",
            path=f"strategy.settings.{name}",
        )
    return int(value)


def _check_cost_metric(value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise SpecError(
            f"cost_metric must be the name of a metric (e.g. train_time_s), got {value!r}.",
            path="strategy.settings.cost_metric",
        )


def check_settings(settings: Mapping[str, Any]) -> None:
    """The values of the Bayesian strategy's settings (``strategy.settings``), as its constructor checks them:
    the spec refuses a bad one before anything runs, and without torch installed.

    Raises:
        SpecError: at ``strategy.settings.<name>``.
    """
    if settings.get("n_initial") is not None:
        _positive_int("n_initial", settings["n_initial"], 8)
    if settings.get("num_threads") is not None:
        _positive_int("num_threads", settings["num_threads"], 1)
    _check_cost_metric(settings.get("cost_metric"))
    if "multifidelity" in settings:
        _check_multifidelity(settings["multifidelity"])


def _check_multifidelity(value: Any) -> str:
    if value is True or value is False:  # YAML reads a bare off as false
        return "auto" if value else "off"
    if isinstance(value, str) and value.strip().lower() in ("auto", "off"):
        return value.strip().lower()
    raise SpecError(
        f"multifidelity must be auto or off, got {value!r}: auto models the learning curves once a training job "
        "was stopped early, off (the default) counts a stopped job with its last value. Use e.g. multifidelity: auto.",
        path="strategy.settings.multifidelity",
    )


class BayesianStrategy(LedgerViews, BaseStrategy):
    """Bayesian optimization with a Gaussian process (see the module docstring).

    Args:
        space: the search space.
        objective: the objective (its direction decides what "better" means).
        seed: a non-negative integer; ``None`` draws one from the operating system (see :attr:`seed`).
        n_initial: the size of the random initial design (a positive int, default ``min(max(5, dim + 1), 10)``).
        num_threads: torch threads while suggesting (a positive int, default 1).
        multifidelity: ``off`` (default): stopped jobs count with their last value; ``auto``: a model of the
            learning curves once a training job was stopped early (module docstring).

    Raises:
        SpecError: a bad seed or a bad setting value.
        StrategyError: torch, gpytorch or BoTorch is not installed (``pip install 'hyperjob[bo]'``).
    """

    def __init__(
        self,
        space: SearchSpace,
        objective: Objective,
        seed: int | None = None,
        *,
        n_initial: int | None = None,
        num_threads: int | None = None,
        cost_metric: str | None = None,
        outcomes: Outcomes | None = None,
        multifidelity: str | bool = "off",
    ) -> None:
        #: the size of the random initial design (grown by :meth:`extend_initial_design`)
        self.n_initial: int = (
            default_n_initial(space.dim) if n_initial is None else _positive_int("n_initial", n_initial, 8)
        )
        self.num_threads: int = 1 if num_threads is None else _positive_int("num_threads", num_threads, 1)
        self.space = space
        self.objective = objective
        seed = check_seed(seed)
        #: the seed in use (drawn from the operating system when none was given)
        self.seed: int = seed if seed is not None else int(np.random.SeedSequence().entropy % 2**63)
        try:
            from hyperjob.strategies import _bo_acquisition, _bo_model
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise StrategyError(
                f"the bayesian strategy needs torch, gpytorch and botorch ({exc}). "
                "Install them with: pip install 'hyperjob[bo]'"
            ) from exc
        self._model_mod = _bo_model
        self._acq_mod = _bo_acquisition
        self._encoder = _bo_model.Encoder(space)
        self._search = _bo_acquisition.SearchSettings()
        self._ledger = Ledger(space, objective)
        self._random = RandomStrategy(space, objective, seed=self.seed)
        self._failed: list[Configuration] = []
        # hyperparameter fit bookkeeping
        self._state: dict[str, Any] | None = None
        self._fit_n = 0
        self._fresh_n = 0
        self._fitted_for: tuple[int, int] | None = None
        self._lmbda: float | None = None
        self._model: Any = None  # a SingleTaskGP holding the fitted hyperparameters
        self._rows: list[np.ndarray] = []  # encoded rows of the observed configurations (in the space)
        self._losses: list[float] = []
        self._base: Any = None  # (model, X, y, best_f) of the current data
        # several objectives, outcome constraints, a cost metric (``_bo_outcomes.py``, docs/objectives.md)
        _check_cost_metric(cost_metric)
        #: the metric whose value is a training job's cost: suggestions maximize improvement per unit of cost
        self.cost_metric: str | None = cost_metric
        self._outcomes: Outcomes | None = outcomes if outcomes is not None and not outcomes.plain else None
        self._outcome_models: Any = None
        if self._outcomes is not None or cost_metric is not None:
            from hyperjob.strategies import _bo_outcomes

            self._outcome_models = _bo_outcomes.OutcomeModels(
                self._outcomes or Outcomes.single(objective), cost_metric
            )
        self._mrows: list[np.ndarray] = []  # rows of the in-space final results, with ...
        self._mvalues: list[dict[str, float]] = []  # ... their metric values (the objective's included)
        self._mconfigs: list[Configuration] = []
        #: ``auto``: learning curves once a job was stopped early (module docstring); ``off``
        self.multifidelity: str = _check_multifidelity(multifidelity)
        #: the learning curves' model can be used: ``auto``, one objective, no cost metric
        self._curves_wanted = self.multifidelity == "auto" and self._outcomes is None and cost_metric is None
        self._curves: dict[str, dict[str, Any]] = {}  # training job -> its configuration, values, final value
        self._any_stopped = False
        self._top_step = 0  # the largest step a completed training job reached
        self._mf: Any = None  # the learning curves' model (``_bo_multifidelity.MultiFidelityModel``) in use
        self._mf_given: dict[str, set[int]] = {}  # training job -> the levels it gave the model a point at

    # -- Strategy protocol ----------------------------------------------------------------------------------
    def suggest(self, n: int) -> list[Configuration]:
        """Return up to ``n`` new configurations, each one aware of the pending ones and of the earlier ones.

        Fewer than ``n`` only when a finite space has no configuration left that the strategy does not know.

        Raises:
            SpecError: ``n`` is not a non-negative integer.
        """
        n = check_count(n)
        out: list[Configuration] = []
        if n == 0:
            return out
        import torch

        previous_threads = torch.get_num_threads()
        torch.set_num_threads(self.num_threads)
        try:
            with torch.random.fork_rng(devices=[]):
                for _ in range(n):
                    if self._ledger.known_in_space >= self.space.cardinality:
                        break  # every configuration of a finite space is known
                    config, from_random = self._next()
                    if config is None:
                        break
                    self._ledger.add_suggested(config)
                    if not from_random:  # the random strategy must know it too, to keep its draws unseen
                        self._random.observe(Pending(config))
                    out.append(config)
        finally:
            torch.set_num_threads(previous_threads)
        return out

    def observe(self, event: Observation) -> None:
        """Record an event; the model is refitted lazily at the next :meth:`suggest` (cheap to call).

        Raises:
            SpecError: ``event`` is not an event, or its configuration lacks a tuned hyperparameter.
        """
        finals, stopped = len(self._ledger.finals), len(self._ledger.stopped)
        self._ledger.record(event)
        self._random.observe(event)
        if self._curves_wanted and isinstance(event, (Intermediate, Final)):
            self._record_curve(event)
        if isinstance(event, (Final, Failed)) or (isinstance(event, Intermediate) and event.stopped):
            config = self._ledger.canonical(event.config)
            if not self.space.contains(config):
                # e.g. a parent's training job before the child narrowed a range: a value beyond the ranges is
                # data for the model (extrapolated coordinates), when its categorical values are the child's
                if isinstance(event, Final) and len(self._ledger.finals) > finals:
                    row = self._encoder.encode_beyond(config)
                    if row is not None:
                        self._rows.append(row)
                        self._losses.append(self.objective.loss(self._ledger.finals[-1][1]))
                return
            if len(self._ledger.finals) > finals:
                self._rows.append(self._encoder.encode([config])[0])
                self._losses.append(self.objective.loss(self._ledger.finals[-1][1]))
                if self._outcome_models is not None and isinstance(event, Final):
                    self._mrows.append(self._rows[-1])
                    self._mconfigs.append(config)
                    self._mvalues.append({**event.metrics, self.objective.metric: self._ledger.finals[-1][1]})
            elif len(self._ledger.stopped) > stopped:
                # a training job stopped early: its last value is the result we have (module docstring)
                self._rows.append(self._encoder.encode([config])[0])
                self._losses.append(self.objective.loss(self._ledger.stopped[-1][1]))
            elif not isinstance(event, Intermediate):
                self._failed.append(config)

    def retract_stopped(self, config: Configuration, value: float) -> bool:
        """Take back the last value of a training job stopped early, because the job goes on after all (hyperband
        pauses a job at a rung and may resume it later: a promotion). The model no longer counts ``value`` as the
        configuration's result; observe a ``Pending`` for it next (it runs again), and the value it reaches later
        as usual.

        Returns whether such a stopped value was known (nothing changes when it was not).
        """
        config = self._ledger.canonical(config)
        key, loss = self._ledger.key(config), self.objective.loss(float(value))
        stopped = self._ledger.stopped
        for i in range(len(stopped) - 1, -1, -1):
            if self._ledger.key(stopped[i][0]) == key and stopped[i][1] == float(value):
                break
        else:
            return False
        row = self._encoder.encode([config])[0] if self.space.contains(config) else None
        if row is not None:
            for j in range(len(self._rows) - 1, -1, -1):
                if self._losses[j] == loss and np.array_equal(self._rows[j], row):
                    del self._rows[j], self._losses[j]
                    break
        del stopped[i]
        self._base = None  # the cached posterior was conditioned on the retracted value
        self._fitted_for = None
        return True

    def extend_initial_design(self, n: int) -> None:
        """Draw ``n`` more random configurations before the model is used (warm start's transfer seeds come on
        top of the initial design: a model fitted on a few close configurations explores too little)."""
        self.n_initial += check_count(n)

    # -- internals ------------------------------------------------------------------------------------------
    def _next(self) -> tuple[Configuration | None, bool]:
        """The next configuration, and whether the random strategy chose it."""
        if len(self._ledger.known) < self.n_initial or len(self._losses) < 2 or self._encoder.width == 0:
            return self._from_random(), True
        if self._outcomes is not None:
            if len(self._mrows) < 2:
                return self._from_random(), True
            config = self._from_outcome_model()
            return (config, False) if config is not None else (self._from_random(), True)
        mf = self._curves_model()
        if mf is not None:
            pending = [c for c in self._ledger.pending_configs if self.space.contains(c)]
            config = mf.suggest(pending, self._ledger.is_known, self._ledger.canonical, len(self._ledger.known))
        else:
            config = self._from_model()
        return (config, False) if config is not None else (self._from_random(), True)

    # -- learning curves (``multifidelity: auto``) -------------------------------------------------------------
    def _record_curve(self, event: Intermediate | Final) -> None:
        config = self._ledger.canonical(event.config)
        if not self.space.contains(config):
            return
        key = event.training_job if event.training_job is not None else "config:" + self.space.key(config)
        curve = self._curves.setdefault(key, {"config": config, "values": [], "final": None})
        value = float(event.value)
        if isinstance(event, Intermediate):
            self._any_stopped = self._any_stopped or event.stopped
            if math.isfinite(value) and event.step >= 1:
                curve["values"].append((int(event.step), value))
        elif math.isfinite(value):
            last = curve["values"][-1][0] if curve["values"] else None
            step = event.step if event.step is not None else last
            curve["final"] = (step, value)  # step None: no steps known, it ran to the end
            if step is not None and step > self._top_step:
                self._top_step = int(step)
        if self._mf is not None:
            if self._levels() != self._mf.levels:
                self._mf = None  # a longer training job: new levels, the model is rebuilt at the next suggestion
            else:
                self._feed_curve(key)

    def _levels(self) -> tuple[int, ...] | None:
        """``R, R/3, R/9, ..., 1`` (rounded, increasing) below the largest step ``R`` a completed training job
        reached; ``None`` before one completed with a known step > 1."""
        top = self._top_step
        if top <= 1:
            return None
        levels, level = {1, int(top)}, float(top)
        while level / 3 >= 1:
            level /= 3
            levels.add(max(1, round(level)))
        return tuple(sorted(levels))

    def _feed_curve(self, key: str) -> None:
        """Give the model the points of training job ``key`` it has not had: its value at the first step >= each
        level it reached, and a completed job's final value at the full resource when it got there."""
        curve, given = self._curves[key], self._mf_given.setdefault(key, set())
        levels = self._mf.levels
        final = curve["final"]
        todo = [level for level in levels if level not in given]
        last = curve["values"][-1][0] if curve["values"] else 0
        if not todo or (final is None and last < todo[0]):
            return  # no new level reached (most values): no scan of the curve
        for level in todo:
            if level == levels[-1] and final is not None and (final[0] is None or final[0] >= level):
                value = final[1]
            else:
                value = next((v for step, v in curve["values"] if step >= level), None)
                if value is None:
                    continue
            given.add(level)
            self._mf.add(curve["config"], level, value, key)

    def _curves_model(self) -> Any:
        """The learning curves' model when it is in use (``multifidelity: auto``, a training job was stopped
        early, one completed, one objective, no cost metric), built on first use; else ``None``."""
        if not self._curves_wanted or not self._any_stopped:
            return None
        if self._mf is None:
            levels = self._levels()
            if levels is None:
                return None
            from hyperjob.strategies._bo_multifidelity import MultiFidelityModel

            self._mf = MultiFidelityModel(self.space, self.objective, levels, (self.seed + 7919) % 2**63,
                                          num_threads=self.num_threads)
            self._mf_given = {}
            for key in self._curves:
                self._feed_curve(key)
        return self._mf if self._mf.points >= 2 else None

    def _from_random(self) -> Configuration | None:
        config = self._random.suggest(1)[0]
        if self._ledger.is_known(config) and self._ledger.known_in_space < self.space.cardinality:
            return None  # pragma: no cover - the random strategy only repeats when the space is exhausted
        return config

    def _from_model(self) -> Configuration | None:
        """The best unknown candidate under the acquisition function; ``None`` if every candidate is known."""
        mm, am = self._model_mod, self._acq_mod
        import gpytorch
        import torch

        rng = np.random.default_rng(
            [self.seed, 2, len(self._ledger.known), len(self._ledger.finals) + len(self._ledger.stopped),
             self._ledger.failures]
        )
        torch.manual_seed(int(rng.integers(2**31)))
        with gpytorch.settings.max_cholesky_size(100_000), gpytorch.settings.debug(False):
            posterior, X, y, best_f = self._base_model()
            # Kriging believer: condition on pending configurations (posterior mean) and failures (worst value)
            pending = [c for c in self._ledger.pending_configs if self.space.contains(c)]
            extra_X, extra_y = [], []
            if self._failed:
                extra_X.append(self._encoder.encode(self._failed))
                extra_y.append(np.full(len(self._failed), float(np.min(y))))
            if pending:
                P = self._encoder.encode(pending)
                believed = posterior.mean(P)
                extra_X.append(P)
                extra_y.append(believed)
                # the believer believes its fantasies: a pending point above the incumbent becomes the incumbent,
                # so that the next point is not chosen right beside it
                best_f = max(best_f, float(np.max(believed)))
            if extra_X:
                # fantasies are exact (failures keep the fitted noise: they are beliefs about a region)
                posterior = mm.CachedPosterior(
                    posterior.model,
                    np.concatenate([X, *extra_X]),
                    np.concatenate([y, *extra_y]),
                    exact_from=len(y) + len(self._failed) if pending else None,
                )
            acq = am.CachedLogEI(posterior, best_f)
            if self.cost_metric is not None and self._mrows:  # improvement per unit of cost
                acq = self._outcome_models.per_cost(acq, np.array(self._mrows), self._mvalues)
            anchors = np.clip(X[np.argsort(-y, kind="stable")[: self._search.anchors]], 0.0, 1.0)
            # fewer candidates beyond _FULL_SEARCH_UNTIL observations (the search matters less with that much data)
            scale = min(1.0, max(0.25, _FULL_SEARCH_UNTIL / len(self._losses)))
            search = self._search if len(self._losses) <= _POLISH_UNTIL else replace(self._search, polish_starts=0)
            rows, _ = am.search(acq, self._encoder, anchors, rng, search, scale=scale)
        for row in rows:
            config = self._ledger.canonical(self._encoder.decode(row))
            if not self._ledger.is_known(config):
                return config
        return None

    def _from_outcome_model(self) -> Configuration | None:
        """The best unknown candidate under the outcomes' acquisition (several objectives, constraints)."""
        import gpytorch
        import torch

        assert self._outcomes is not None
        rng = np.random.default_rng(
            [self.seed, 3, len(self._ledger.known), len(self._mrows), self._ledger.failures]
        )
        torch.manual_seed(int(rng.integers(2**31)))
        X = np.array(self._mrows)
        failed = self._encoder.encode(self._failed) if self._failed else np.zeros((0, self._encoder.width))
        pending = [c for c in self._ledger.pending_configs if self.space.contains(c)]
        P = self._encoder.encode(pending) if pending else np.zeros((0, self._encoder.width))
        with gpytorch.settings.max_cholesky_size(100_000), gpytorch.settings.debug(False), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")  # jitter added to a near-singular fantasy covariance is expected
            acq = self._outcome_models.acquisition(X, self._mvalues, failed, P, seed=int(rng.integers(2**31)))
            # anchors: the observed front first (feasible, non-dominated), then the feasible ones by the first
            # objective, then the infeasible ones by how far they are outside the constraints
            front = set(id(v) for v in front_of(self._mvalues, self._outcomes, lambda v: v))
            outcomes = self._outcomes

            def rank(i: int) -> tuple[bool, float, float]:
                v = self._mvalues[i]
                return (id(v) not in front, sum(outcomes.violations(v)), self.objective.loss(v[self.objective.metric]))

            order = sorted(range(len(X)), key=rank)
            anchors = np.clip(X[order[: self._search.anchors]], 0.0, 1.0)
            # a smaller search than the single objective's, without gradient polish: the Monte Carlo
            # acquisitions (qLogNEI, qLogNEHVI) cost more per candidate
            search = replace(self._search, polish_starts=0, global_samples=256, local_samples=256,
                             refine_samples=16)
            rows, _ = self._acq_mod.search(acq, self._encoder, anchors, rng, search)
        for row in rows:
            config = self._ledger.canonical(self._encoder.decode(row))
            if not self._ledger.is_known(config):
                return config
        return None

    @property
    def best(self) -> tuple[Configuration, float] | None:
        """``(configuration, value)`` of the best final result (feasible, with several objectives the front's
        best on the first: :func:`hyperjob.outcomes.best_of`), or ``None``."""
        if self._outcomes is None:
            return self._ledger.best
        found = best_of(self._mvalues, self._outcomes, lambda v: v)
        if found is None:
            return None
        i = next(j for j, v in enumerate(self._mvalues) if v is found)
        return dict(self._mconfigs[i]), found[self.objective.metric]

    def _base_model(self) -> tuple[Any, np.ndarray, np.ndarray, float]:
        """The posterior of the observed values (refitted when the schedule says so), cached until new data."""
        mm = self._model_mod
        key = (len(self._ledger.finals) + len(self._ledger.stopped), self._ledger.failures)
        if self._base is not None and self._fitted_for == key:
            return self._base
        X = np.array(self._rows)
        losses = np.array(self._losses)
        if len(losses) > _MAX_MODEL:  # a subset keeps the cost of a suggestion flat (module docstring)
            idx = _model_subset(losses, _MAX_MODEL)
            X, losses = X[idx], losses[idx]
        n = len(self._losses)
        growth = _REFIT_GROWTH if n <= _MAX_MODEL else 2 * _REFIT_GROWTH
        due = (
            self._state is None
            or (n <= _EVERY_STEP_UNTIL and n != self._fit_n)
            or n >= self._fit_n * (1.0 + growth)
        )
        # the value transform's exponent is refitted with the hyperparameters only
        y, lmbda = mm.transform_values(losses, None if due else self._lmbda)
        self._lmbda = lmbda
        if due:
            fresh = self._state is None or (n >= 2 * self._fresh_n and n <= _MAX_MODEL)
            best_model = mm.refit(X, y, self._state, self._model, fresh, _WARM_MAXITER, _FRESH_MAXITER)
            if fresh:
                self._fresh_n = n
            self._model = best_model  # only its hyperparameters are used from here on
            self._state = mm.model_state(best_model)
            self._fit_n = n
        posterior = mm.CachedPosterior(self._model, X, y)
        best_f = float(np.max(posterior.mean(X)))
        self._base = (posterior, X, y, best_f)
        self._fitted_for = key
        return self._base


def _model_subset(losses: np.ndarray, size: int) -> np.ndarray:
    """Indices of the observations the model keeps when there are more than ``size``, in arrival order.

    A third are the best ones (the incumbent's region is modelled with every detail), a third the most recent
    (where the search is now, so that it does not return there), and the rest an even spread over the others
    (so that no region of the space is forgotten).
    """
    n = len(losses)
    best = set(np.argsort(losses, kind="stable")[: size // 3].tolist())
    recent = [i for i in range(n - 1, -1, -1) if i not in best][: size // 3]
    chosen = best | set(recent)
    rest = np.array([i for i in range(n) if i not in chosen])
    spread = rest[np.linspace(0, len(rest) - 1, size - len(chosen)).round().astype(int)]
    return np.array(sorted(chosen | set(spread.tolist())), dtype=int)


__all__ = ["BayesianStrategy", "check_settings", "default_n_initial"]
