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
- ``model: random``: every configuration from the random strategy (Hyperband as published).

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

MODELS = ("bayesian", "random")


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
            "of the highest rung with enough data, 'random' draws every configuration at random.",
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
        model: ``bayesian`` (default) or ``random``: where new configurations come from.
        promotions: ``False`` (default, SageMaker's Hyperband: a job among the best at a rung goes on) or
            ``True``: ASHA with promotions, jobs pause at each rung and resume from their checkpoint when
            promoted (:mod:`hyperjob.stopping.promotions`).
        n_initial: values a level needs before its model is used (default ``min(max(5, dim + 1), 10)``).
        num_threads: torch threads of the models (default 1).

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
             "brackets": brackets, "model": model, "n_initial": n_initial, "promotions": promotions},
            self.seed,
        )
        self.model = model.strip().lower()
        self.promotions = promotions
        self._ledger = Ledger(space, objective)
        self._random = RandomStrategy(space, objective, seed=self.seed)
        #: resource levels with a model: bracket 0's rungs and max_resource
        self.levels: tuple[int, ...] = (*self.ladder.levels(0), self.ladder.max_resource)
        self._models: dict[int, Any] = {}
        #: level -> the number of training jobs whose value at that level is known (they reached it)
        self._reached: dict[int, int] = {level: 0 for level in self.levels}
        if self.model == "bayesian":
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
        if self._models:
            self.n_initial += n

    # -- Strategy protocol -------------------------------------------------------------------------------------
    def suggest(self, n: int) -> list[Configuration]:
        """Up to ``n`` new configurations: from the model of the highest level with enough values, else random."""
        n = check_count(n)
        out: list[Configuration] = []
        for _ in range(n):
            if self._ledger.known_in_space >= self.space.cardinality:
                break
            level = self._model_level()
            if level is None:
                got = self._random.suggest(1)
                if not got:
                    break
                config = got[0]
                for m in self._models.values():
                    m.add_suggested(config)
            else:
                got = self._models[level].suggest(1)
                if not got:
                    break
                config = got[0]
                self._random.add_suggested(config)
                for other, m in self._models.items():
                    if other != level:
                        m.add_suggested(config)
            self._ledger.add_suggested(config)
            out.append(config)
        return out

    def observe(self, event: Observation) -> None:
        """Record an event: intermediate values feed the models of the levels they reach (module docstring)."""
        self._ledger.record(event)
        self._random.observe(event)
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
            for level in self.levels:
                if level <= event.step and level not in job["given"]:
                    job["given"].add(level)
                    self._reached[level] += 1
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
    def _job(self, event: Observation, config: Configuration) -> dict[str, Any]:
        key = event.training_job
        if key is None:  # ask/tell without training-job names: one job per configuration
            key = "config:" + self.space.key(config)
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
