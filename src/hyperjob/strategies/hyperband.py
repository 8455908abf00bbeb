"""Hyperband: asynchronous successive halving, with new configurations from a model of the best rung.

The rungs (which training job goes on, which is stopped) are :mod:`hyperjob.stopping.rungs`; the Tuner applies
them with the stopper this strategy builds (:meth:`HyperbandStrategy.stopper`). This module chooses the
configurations:

- ``model: bayesian`` (the default, BOHB-style): one Gaussian-process model
  (:class:`~hyperjob.strategies.bayesian.BayesianStrategy`) per resource level (every rung level of bracket 0,
  and ``max_resource``). The model of level L sees, for each training job, its objective value at the first
  step >= L once it gets there; a training job that ended before L (stopped at a lower rung, or completed with
  fewer epochs) counts with its last value, which is a worse value at a lower resource (it lost at its rung),
  so the model learns where not to go; a running one that has not reached L is pending (the model is aware of
  it, as with the Bayesian strategy). A suggestion comes from the model of the *highest level with at least
  ``n_initial`` values* (values of training jobs that reached it); until some level has that many, from the
  random strategy (a scrambled Sobol sequence). The models keep their fits between suggestions (warm-started,
  as the Bayesian strategy does), so a suggestion costs about what a Bayesian one costs.
- ``model: multifidelity``: one Gaussian process over (configuration, resource)
  (:mod:`hyperjob.strategies._bo_multifidelity`): every training job's value at every level it reached is a
  point at that level (a job stopped or paused at a rung is a point at the rung, with no stand-in values above
  it), and a suggestion maximizes the expected improvement at ``max_resource``. It is used once ``n_initial``
  training jobs reached the lowest level, so the first rung's results steer new configurations long before
  any job gets to the top.
- ``model: random``: every configuration from the random strategy (Hyperband as published).

``random_fraction`` (default 0): once a model is used, this share of new configurations still comes from the
random strategy (a seeded draw per suggestion; BOHB draws a third at random), which keeps exploring where the
model has settled. A model that has no unknown configuration left also falls back to random.

A parent's training job (warm start) or any ``Final`` event without intermediate values counts as a value at
every level (it ran to the end). ``max_resource`` left out is taken from a static hyperparameter named
``epochs``, ``numepochs``, ``n-epochs``, ``n_epochs`` or ``num_epochs`` (SageMaker's rule); without one it is
a :class:`~hyperjob.errors.SpecError`.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from hyperjob.errors import SpecError
from hyperjob.records import Configuration, Failed, Final, Intermediate, Objective, Observation, Pending
from hyperjob.space import SearchSpace
from hyperjob.stopping.rungs import RungLadder, RungStopper, check_whole
from hyperjob.strategies._tracking import Ledger, LedgerViews, check_count, check_seed
from hyperjob.strategies.base import BaseStrategy
from hyperjob.strategies.random import RandomStrategy

#: Static hyperparameters that give ``max_resource`` when it is left out (SageMaker's rule), in this order.
EPOCH_NAMES = ("epochs", "numepochs", "n-epochs", "n_epochs", "num_epochs")

MODELS = ("bayesian", "multifidelity", "random")


def _whole(value: Any) -> int | None:
    """An integer from an int, an integral float or a string of digits; ``None`` otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def epochs_of(space: SearchSpace) -> tuple[str, int] | None:
    """The static epochs hyperparameter (name, value) of ``space``, if it has one with a whole-number value."""
    for name in EPOCH_NAMES:
        if name in space.static:
            value = _whole(space.static[name])
            if value is not None:
                return name, value
    return None


def resolve_settings(space: SearchSpace, settings: Mapping[str, Any], seed: int = 0) -> RungLadder:
    """Check hyperband's settings against ``space`` without building models; returns the rung ladder.

    Raises:
        SpecError: a bad setting, or no ``max_resource`` and no static epochs hyperparameter.
    """
    if settings.get("min_resource") is not None:  # a bad one is named before a missing max_resource
        check_whole("min_resource", settings["min_resource"], 1)
    max_resource = settings.get("max_resource")
    if max_resource is None:
        epochs = epochs_of(space)
        if epochs is None:
            raise SpecError(
                "the hyperband strategy needs max_resource: the resource (epochs) at which every training job "
                "ends. Set strategy.settings.max_resource (e.g. 30), or add a static hyperparameter named one "
                f"of {', '.join(EPOCH_NAMES)} (SageMaker's rule).",
                path="strategy.settings.max_resource",
            )
        max_resource = epochs[1]
    model = settings.get("model", "bayesian")
    if not isinstance(model, str) or model.strip().lower() not in MODELS:
        raise SpecError(
            f"model must be one of {', '.join(MODELS)}, got {model!r}: 'bayesian' fits a model on the results "
            "of the highest rung with enough data, 'multifidelity' one model of every rung's results with the "
            "resource as an input, 'random' draws every configuration at random.",
            path="strategy.settings.model",
        )
    n_initial = settings.get("n_initial")
    if n_initial is not None and (isinstance(n_initial, bool) or not isinstance(n_initial, int) or n_initial < 2):
        raise SpecError(
            f"n_initial must be a whole number >= 2, got {n_initial!r}. Use e.g. n_initial: 6.",
            path="strategy.settings.n_initial",
        )
    promotions = settings.get("promotions", False)
    if not isinstance(promotions, bool):
        raise SpecError(
            f"promotions must be true or false, got {promotions!r}: true pauses training jobs at each rung and "
            "resumes the promoted ones from their checkpoints (ASHA with promotions).",
            path="strategy.settings.promotions",
        )
    fraction = settings.get("random_fraction", 0.0)
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0.0 <= fraction < 1.0:
        raise SpecError(
            f"random_fraction must be a number in [0, 1), got {fraction!r}: the share of new configurations drawn "
            "at random once the model is used (BOHB uses 1/3). Use e.g. random_fraction: 0.33.",
            path="strategy.settings.random_fraction",
        )
    return RungLadder(
        settings.get("min_resource", 1), max_resource, settings.get("reduction_factor", 3),
        settings.get("brackets", 1), seed,
    )


class HyperbandStrategy(LedgerViews, BaseStrategy):
    """Hyperband (asynchronous successive halving) with model-based configurations (module docstring).

    Args:
        space: the search space.
        objective: the objective.
        seed: a non-negative integer; ``None`` draws one.
        min_resource: the first rung (default 1): no training job is stopped before it.
        max_resource: where every training job ends; default: the static epochs hyperparameter.
        reduction_factor: one in ``reduction_factor`` goes on at each rung (an integer >= 2, default 3).
        brackets: the number of brackets (default 1, plain ASHA; up to ⌊log_η(R/r)⌋ + 1).
        model: ``bayesian`` (default), ``multifidelity`` or ``random``: where new configurations come from.
        promotions: ``False`` (default, SageMaker's Hyperband: a job among the best at a rung goes on) or
            ``True``: ASHA with promotions, jobs pause at each rung and resume from their checkpoint when
            promoted (:mod:`hyperjob.stopping.promotions`).
        n_initial: values a level needs before its model is used (default ``min(max(5, dim + 1), 10)``).
        num_threads: torch threads of the models (default 1).
        random_fraction: the share of new configurations drawn at random once a model is used (default 0).

    Raises:
        SpecError: a bad setting, or no ``max_resource`` and no static epochs hyperparameter.
    """

    def __init__(
        self,
        space: SearchSpace,
        objective: Objective,
        seed: int | None = None,
        min_resource: int = 1,
        max_resource: int | None = None,
        reduction_factor: int = 3,
        brackets: int = 1,
        model: str = "bayesian",
        n_initial: int | None = None,
        num_threads: int | None = None,
        promotions: bool = False,
        random_fraction: float = 0.0,
    ) -> None:
        self.space = space
        self.objective = objective
        seed = check_seed(seed)
        import numpy as np

        self.seed: int = seed if seed is not None else int(np.random.SeedSequence().entropy % 2**63)
        epochs = epochs_of(space)
        #: the static epochs value, when there is one: where the program ends by itself
        self.ends_at: int | None = epochs[1] if epochs else None
        self.ladder = resolve_settings(
            space,
            {"min_resource": min_resource, "max_resource": max_resource, "reduction_factor": reduction_factor,
             "brackets": brackets, "model": model, "n_initial": n_initial, "promotions": promotions,
             "random_fraction": random_fraction},
            self.seed,
        )
        self.model = model.strip().lower()
        self.promotions = promotions
        #: the share of new configurations drawn at random once a model is used
        self.random_fraction = float(random_fraction)
        self._ledger = Ledger(space, objective)
        self._random = RandomStrategy(space, objective, seed=self.seed)
        #: resource levels with a model: bracket 0's rungs and max_resource
        self.levels: tuple[int, ...] = (*self.ladder.levels(0), self.ladder.max_resource)
        self._models: dict[int, Any] = {}
        self._mf: Any = None  # model: multifidelity (``_bo_multifidelity.MultiFidelityModel``)
        #: level -> the number of training jobs whose value at that level is known (they reached it)
        self._reached: dict[int, int] = {level: 0 for level in self.levels}
        if self.model == "multifidelity":
            from hyperjob.strategies.registry import strategy_entry

            strategy_entry("bayesian").load()  # names the install command without torch
            from hyperjob.strategies._bo_multifidelity import MultiFidelityModel
            from hyperjob.strategies.bayesian import default_n_initial

            self.n_initial = default_n_initial(space.dim) if n_initial is None else n_initial
            self._mf = MultiFidelityModel(space, objective, self.levels, (self.seed + 7919) % 2**63,
                                          num_threads=1 if num_threads is None else num_threads)
        elif self.model == "bayesian":
            from hyperjob.strategies.registry import strategy_entry

            bayesian = strategy_entry("bayesian").load()  # names the install command without torch
            from hyperjob.strategies.bayesian import default_n_initial

            self.n_initial = default_n_initial(space.dim) if n_initial is None else n_initial
            for i, level in enumerate(self.levels):
                settings: dict[str, Any] = {"n_initial": 1}
                if num_threads is not None:
                    settings["num_threads"] = num_threads
                self._models[level] = bayesian(space, objective, seed=(self.seed + 7919 * (i + 1)) % 2**63,
                                               **settings)
        else:
            self.n_initial = 0
        # per training job: its configuration, values by step, and the levels already given to the models
        self._jobs: dict[str, dict[str, Any]] = {}
        self._anonymous = 0

    # -- the rungs and the initial design -----------------------------------------------------------------
    def stopper(self) -> RungStopper:
        """A new stopper that applies this strategy's rungs (the Tuner uses it): with ``promotions``, one that
        pauses at rungs and promotes (:class:`~hyperjob.stopping.promotions.PromotionStopper`)."""
        if self.promotions:
            from hyperjob.stopping.promotions import PromotionStopper

            return PromotionStopper(self.ladder, self.objective, ends_at=self.ends_at)
        return RungStopper(self.ladder, self.objective, ends_at=self.ends_at)

    def extend_initial_design(self, n: int) -> None:
        """A level needs ``n`` more values before its model is used (warm start's seeds come on top)."""
        n = check_count(n)
        if self._models or self._mf is not None:
            self.n_initial += n

    # -- Strategy protocol -------------------------------------------------------------------------------------
    def suggest(self, n: int) -> list[Configuration]:
        """Up to ``n`` new configurations: from the model of the highest level with enough values, else random."""
        n = check_count(n)
        out: list[Configuration] = []
        for _ in range(n):
            if self._ledger.known_in_space >= self.space.cardinality:
                break
            config = self._next_config()
            if config is None:
                break
            self._ledger.add_suggested(config)
            out.append(config)
        return out

    def observe(self, event: Observation) -> None:
        """Record an event: intermediate values feed the models of the levels they reach (module docstring)."""
        self._ledger.record(event)
        self._random.observe(event)
        if self._mf is not None:
            self._observe_multifidelity(event)
            return
        if not self._models:
            return
        config = self._ledger.canonical(event.config)
        if isinstance(event, Pending):
            job = self._jobs.get(event.training_job) if event.training_job is not None else None
            if job is not None and job["closed"] is not None:  # a paused job promoted: resumed at its step
                reached, value = job["closed"], job["last"]
                job["closed"] = None
                job["given"] = {level for level in job["given"] if level <= reached}
                for level, m in self._models.items():
                    if level > reached:  # its lost-rung value there is taken back: it goes on after all
                        m.retract_stopped(config, value)
                        m.observe(Pending(config, training_job=event.training_job))
                return
            for m in self._models.values():
                m.observe(Pending(config, training_job=event.training_job))
            return
        job = self._job(event, config)
        if isinstance(event, Intermediate):
            value = float(event.value)
            if not math.isfinite(value):
                return
            job["last"] = value
            for level in self._reach(job, event.step):
                self._models[level].observe(Final(config, value, training_job=event.training_job, step=event.step))
            if event.stopped:  # ended below the other levels: its last value there (a lost rung)
                job["closed"] = event.step
                self._close(job, config, lambda: Intermediate(config, event.step, value, event.training_job, True))
            return
        if isinstance(event, Final):
            if job["last"] is None:  # a final value without intermediate ones: it ran to the end
                for level in self.levels:
                    if level not in job["given"]:
                        self._reached[level] += 1
            self._close(job, config, lambda: Final(config, event.value, training_job=event.training_job))
            return
        if isinstance(event, Failed):
            self._close(job, config, lambda: Failed(config, event.reason, training_job=event.training_job))

    # -- internals -------------------------------------------------------------------------------------------
    def _random_turn(self) -> bool:
        """Whether this new configuration is drawn at random although a model could be used
        (``random_fraction``; a seeded draw per suggestion)."""
        if self.random_fraction <= 0.0:
            return False
        import numpy as np

        return bool(np.random.default_rng([self.seed, 11, len(self._ledger.known)]).random() < self.random_fraction)

    def _tell_models_suggested(self, config: Configuration, chosen_by: int | None) -> None:
        """Every model but the one that chose ``config`` must count it as suggested (pending)."""
        for level, m in self._models.items():
            if level != chosen_by:
                m.add_suggested(config)

    def _next_config(self) -> Configuration | None:
        """From the model (the multi-fidelity one once ``n_initial`` training jobs reached the lowest level, or
        the highest level's with enough values), unless it is a random turn or the model has nothing unknown;
        else from the random strategy. The sources that did not choose it count it as suggested."""
        use_mf = self._mf is not None and self._reached[self.levels[0]] >= self.n_initial
        level = self._model_level() if self._mf is None else None
        if (use_mf or level is not None) and not self._random_turn():
            if use_mf:
                pending = [c for c in self._ledger.pending_configs if self.space.contains(c)]
                config = self._mf.suggest(pending, self._ledger.is_known, self._ledger.canonical,
                                          len(self._ledger.known))
                if config is not None:
                    self._random.add_suggested(config)
                    return config
            else:
                got = self._models[level].suggest(1)
                if got:
                    self._random.add_suggested(got[0])
                    self._tell_models_suggested(got[0], level)
                    return got[0]
        got = self._random.suggest(1)
        if not got:
            return None
        self._tell_models_suggested(got[0], None)
        return got[0]

    def _observe_multifidelity(self, event: Observation) -> None:
        """A value at each level a training job reaches (its value at the first step >= the level); a final
        value without intermediate ones at the full resource. Stopped and paused jobs add nothing more."""
        if isinstance(event, Pending):
            return
        config = self._ledger.canonical(event.config)
        if not self.space.contains(config):
            return
        job = self._job(event, config)
        if isinstance(event, Intermediate):
            value = float(event.value)
            if not math.isfinite(value):
                return
            job["last"] = value
            for level in self._reach(job, event.step):
                self._mf.add(config, level, value, self._job_key(event, config))
        elif isinstance(event, Final) and job["last"] is None and math.isfinite(float(event.value)):
            self._reach(job, self.levels[-1])  # it ran to the end: one point, at the full resource
            self._mf.add(config, self.levels[-1], float(event.value), self._job_key(event, config))

    def _reach(self, job: dict[str, Any], step: int) -> list[int]:
        """The levels at or below ``step`` that ``job`` reaches for the first time, marked and counted."""
        new = [level for level in self.levels if level <= step and level not in job["given"]]
        for level in new:
            job["given"].add(level)
            self._reached[level] += 1
        return new

    def _job_key(self, event: Observation, config: Configuration) -> str:
        if event.training_job is None:  # ask/tell without training-job names: one job per configuration
            return "config:" + self.space.key(config)
        return event.training_job

    def _job(self, event: Observation, config: Configuration) -> dict[str, Any]:
        key = self._job_key(event, config)
        job = self._jobs.get(key)
        if job is None:
            job = self._jobs[key] = {"given": set(), "last": None, "closed": None}
        return job

    def _close(self, job: dict[str, Any], config: Configuration, make: Any) -> None:
        event = make()
        for level in self.levels:
            if level not in job["given"]:
                job["given"].add(level)
                self._models[level].observe(event)

    def _model_level(self) -> int | None:
        """The highest level with at least ``n_initial`` values of training jobs that reached it (the lost-rung
        values of jobs that ended below it do not count)."""
        if not self._models:
            return None
        for level in reversed(self.levels):
            if self._reached[level] >= self.n_initial:
                return level
        return None


__all__ = ["EPOCH_NAMES", "HyperbandStrategy", "epochs_of", "resolve_settings"]
