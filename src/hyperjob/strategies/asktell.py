"""The ask/tell API: drive a strategy from your own loop, no Tuner, executor or store.

Example (a quadratic in place of a training run)::

    >>> from hyperjob import AskTell
    >>> at = AskTell({"x": {"type": "continuous", "min_value": -2.0, "max_value": 2.0},
    ...               "n": {"type": "integer", "min": 1, "max": 4}, "epochs": 10},
    ...              objective="loss", strategy="random", seed=0)
    >>> for _ in range(16):
    ...     s = at.ask()
    ...     at.tell(s, (s.config["x"] - 1.0) ** 2 + s.config["n"])
    >>> config, value = at.best
    >>> value < 1.5
    True

The space takes exactly what ``hyperjob.tune`` takes: job.yaml's ``hyperparameter_ranges`` syntax (``inc_strategy``,
``discrete``, ``tier``...) with static hyperparameters as plain values, built by the spec's own builder
(:func:`hyperjob.formats.python_api.python_space`); ranges with a tier need ``max_jobs``, the budget that picks
the tuned tiers.

``tell`` also takes a dict of metrics (the objective's metric is picked out), intermediate values
(``step=``) and failures (``failed="reason"``); a configuration that was never asked is accepted as extra data.

**Stopping early.** With the ``hyperband`` strategy (its rungs) or ``early_stopping="auto"`` (SageMaker's median
rule, :class:`~hyperjob.stopping.median.MedianStopper`; a warm-up is asked for as in a spec,
``early_stopping={"rule": "median", "min_jobs": 3, "grace_values": 1}``), ``tell(s, value, step=k)`` returns a
:class:`TellResult` from the same stopper the Tuner uses (``registry.create_stopper``): stop training ``s`` when ``.stop`` is true (``.reason`` says why). A
stopped suggestion is finished: it is no longer pending, and its last value counts as a result at a lower
resource, as a stopped training job's does (a stop at hyperband's ``max_resource`` is a final value). The step
is the resource (epochs done); as in the Tuner, a suggestion whose first step is 0 counts from 0 and its values
are at step + 1. Without a stopper, ``tell`` returns ``None``::

    >>> at = AskTell({"x": {"min_value": 0.0, "max_value": 1.0}}, objective="loss", strategy="random",
    ...              seed=0, early_stopping="auto")
    >>> for s in at.ask(3):
    ...     for epoch in (1, 2):
    ...         _ = at.tell(s, 1.0, step=epoch)
    ...     at.tell(s, 1.0)
    >>> late = at.ask()
    >>> verdict = at.tell(late, 5.0, step=1)   # judged from its first value: worse than the median 1.0
    >>> verdict.stop, late in at.pending
    (True, False)

**Promotions (pause and resume).** With ``strategy="hyperband", promotions=True`` the rungs pause instead of
letting the best go on (ASHA with promotions, :mod:`hyperjob.stopping.promotions`): ``tell`` answers
``pause=True`` (and ``stop=True``) at the suggestion's rung; keep its checkpoint. A later ``ask()`` hands a
promoted suggestion back, the same ``id`` with ``resume_from`` (the epochs it had done) and ``until`` (where it
pauses next): resume it from its checkpoint and tell the steps from ``resume_from + 1``. New suggestions carry
``until`` too (their first rung); :attr:`AskTell.paused` lists the paused ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Union

from hyperjob.errors import SpecError, StrategyError
from hyperjob.outcomes import Outcomes, best_of, front_of
from hyperjob.records import Configuration, Direction, Failed, Final, Intermediate, Objective, Pending
from hyperjob.space import SearchSpace
from hyperjob.stopping.base import Decision, EarlyStopper, MedianRule
from hyperjob.stopping.promotions import PromotionStopper
from hyperjob.strategies.base import Strategy
from hyperjob.strategies.registry import create_stopper, create_strategy, strategy_entry


@dataclass(frozen=True)
class Suggestion:
    """A configuration to evaluate, as :meth:`AskTell.ask` returns it.

    Attributes:
        id: its number, 0 for the first one asked (or told, for a configuration that was never asked).
        config: the tuned hyperparameters, name -> value (a copy: changing it changes nothing here).
        static: the static hyperparameters of the space (the same for every suggestion).
    """

    id: int
    config: Configuration
    static: Mapping[str, Any] = field(default_factory=dict, repr=False)
    #: with hyperband's promotions: the resource (epochs done) at which it was paused, to resume from its
    #: checkpoint there (``None``: a new configuration, train it from the start)
    resume_from: int | None = None
    #: with hyperband's promotions: the resource (epochs done) at which it will be paused next (its next rung)
    until: int | None = None

    @property
    def full_config(self) -> Configuration:
        """The static hyperparameters with the tuned ones: everything a training run receives."""
        return {**self.static, **self.config}


@dataclass(frozen=True)
class TellResult:
    """What :meth:`AskTell.tell` returns for an intermediate value when a stopper runs (hyperband's rungs, or
    early stopping ``auto``).

    Attributes:
        stop: stop training this suggestion now (it is finished: tell it nothing more).
        reason: why, or why it goes on, in one sentence.
        decision: the stopper's own :class:`~hyperjob.stopping.base.Decision` (rule, threshold, rung...), or
            ``None`` when the value needed none (e.g. between two rungs, or a value that is not finite).
    """

    stop: bool
    reason: str
    decision: Decision | None = None
    #: with hyperband's promotions: stop now but keep the checkpoint; ``ask()`` may hand the suggestion back
    #: (with ``resume_from``) when it is promoted
    pause: bool = False


@dataclass
class _Entry:
    suggestion: Suggestion
    key: str
    value: float | None = None
    reason: str | None = None
    finished: bool = False
    stopped: bool = False
    paused: bool = False  # hyperband's promotions: paused at a rung, not pending, may come back from ask()
    offset: int | None = None  # resource = step + offset (the Tuner's rule)
    intermediate: list[tuple[int, float]] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)  # the outcomes' other metrics, told with the value


Told = Union[Suggestion, int, Mapping[str, Any]]


class AskTell:
    """A strategy behind ``ask()`` / ``tell()``, for users who run training themselves.

    Args:
        space: a :class:`SearchSpace`, or a dict in job.yaml's ``hyperparameter_ranges`` syntax, as
            ``hyperjob.tune`` takes it: ``name -> {"type": "continuous" | "integer" | "categorical" |
            "discrete", "min_value"/"min", "max_value"/"max", "scaling", "values", "inc_strategy", "inc_val",
            "tier", "default"}``; a value that is not a dict is a static hyperparameter.
        objective: the metric's name, or an :class:`Objective`.
        maximize: ``True`` to maximize the metric, ``False`` to minimize it; ``None`` (default) keeps an
            :class:`Objective`'s direction, or minimizes a metric given by name.
        strategy: ``'bayesian'`` (default, as in a spec; needs ``pip install 'hyperjob[bo]'``), ``'random'``,
            ``'grid'`` or ``'hyperband'`` (whose rungs then decide on intermediate values); SageMaker's
            spellings work too.
        seed: a non-negative integer for reproducible suggestions.
        early_stopping: ``'off'`` (default), ``'auto'`` (SageMaker's median rule decides on intermediate
            values, from the first one) or a dict of the rule's settings, as in a spec: ``{"rule": "median",
            "min_jobs": 3, "grace_values": 1}`` (a warm-up). Not with ``hyperband``, which stops with its rungs.
        max_jobs: the training runs you mean to make; needed (and only used) when ranges have a tier: fewer
            than 10 tunes tier 1, 10 to 50 tiers 1 and 2, more all three; the others keep their default.
        objectives: several objectives instead of ``objective``, as in a spec: ``[{"metric": "error", "type":
            "minimize"}, {"metric": "latency_ms", "type": "minimize"}]``; tell a dict with every one's value.
        constraints: outcome constraints, as in a spec: ``[{"metric": "memory_mb", "max": 2000}]``; a result that
            violates one (or lacks its metric) is infeasible: never :attr:`best`, never on :attr:`front`.
        **settings: the strategy's own settings (e.g. hyperband's ``min_resource``, ``max_resource``).

    Raises:
        SpecError: a bad space, objective, strategy name or setting, or early stopping.
    """

    def __init__(
        self,
        space: SearchSpace | Mapping[str, Any],
        objective: str | Objective = "objective",
        maximize: bool | None = None,
        strategy: str = "bayesian",
        seed: int | None = None,
        *,
        early_stopping: str | Mapping[str, Any] = "off",
        max_jobs: int | None = None,
        objectives: Any = None,
        constraints: Any = None,
        resource_budget: int | None = None,
        **settings: Any,
    ) -> None:
        from hyperjob.formats.python_api import python_space
        from hyperjob.tuner.budget import ResourceBudget

        #: ``resource_budget``: the steps (epochs) all suggestions may be trained together, as a tuning job
        #: counts them (:mod:`hyperjob.tuner.budget`); once told that many, ``done`` is true, the value that
        #: reached it answers ``stop``, and ``ask()`` has nothing more
        self.budget: ResourceBudget | None = (
            ResourceBudget(resource_budget, path="resource_budget") if resource_budget is not None else None
        )

        self.space: SearchSpace = python_space(space, max_jobs)
        #: the objectives (the first is ``objective``) and outcome constraints (docs/objectives.md)
        self.outcomes: Outcomes = _outcomes(objective, maximize, objectives, constraints)
        self.objective: Objective = self.outcomes.primary
        early = _early_stopping(early_stopping)
        strategy_entry(strategy).check_early_stopping(early)  # the strategy's own rule, as the spec applies it
        self.strategy: Strategy = create_strategy(strategy, self.space, self.objective, seed=seed,
                                                  outcomes=self.outcomes, **settings)
        #: what decides on intermediate values (built as the Tuner builds it), or ``None``
        self.stopper: EarlyStopper | None = create_stopper(self.strategy, early, self.objective)
        self._entries: list[_Entry] = []

    # -- ask ------------------------------------------------------------------------------------------------
    def ask(self, n: int = 1) -> Suggestion | list[Suggestion]:
        """Get configurations to evaluate: one :class:`Suggestion` when ``n == 1``, else a list of up to ``n``.

        Every suggestion is pending until it is told a final value or a failure; the strategy takes the
        pending ones into account, so asking several at once (to run them in parallel) is fine.

        Raises:
            SpecError: ``n`` is not a positive integer.
            StrategyError: ``n == 1`` and the strategy has nothing more to suggest (a finished grid). With
                ``n > 1`` the list is shorter instead, possibly empty.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise SpecError(f"ask(n) needs a positive integer n, got {n!r}. Use e.g. ask() or ask(4).", path="n")
        if self.done:
            if n > 1:
                return []
            raise StrategyError(
                f"the {self.budget.reason('steps')}: nothing more to suggest. Stop asking when `done` is "  # type: ignore[union-attr]
                "true, or give a larger resource_budget."
            )
        out = self._promotions(n)
        configs = self.strategy.suggest(n - len(out)) if len(out) < n else []
        out += [self._until(self._add(config).suggestion) for config in configs]
        if n == 1:
            if not out:
                raise StrategyError(
                    f"the {type(self.strategy).__name__} has nothing more to suggest after {len(self._entries)} "
                    "configurations (every combination of a grid was asked). Stop asking, or use the "
                    "'random' or 'bayesian' strategy for more."
                )
            return out[0]
        return out

    # -- tell -----------------------------------------------------------------------------------------------
    def tell(
        self,
        suggestion: Told,
        value: float | Mapping[str, Any] | None = None,
        *,
        step: int | None = None,
        failed: str | None = None,
    ) -> TellResult | None:
        """Report the result of a suggestion.

        Args:
            suggestion: what :meth:`ask` returned, its ``id``, or a configuration (a dict of the tuned
                hyperparameters; one that was never asked is accepted as extra data).
            value: the objective's value, or a dict of metrics that holds the objective's metric. A final value
                that is not finite (NaN, inf) is recorded as a failure; an intermediate one is ignored.
            step: give it for an intermediate value: the resource it was reached at (e.g. the epoch); leave it
                out for the final value.
            failed: the reason the evaluation failed, instead of a value.

        Returns:
            For an intermediate value when a stopper runs (``hyperband``, or ``early_stopping='auto'``): a
            :class:`TellResult`; stop training when its ``stop`` is true (the suggestion is then finished).
            Otherwise ``None``.

        Raises:
            SpecError: an unknown id, a configuration outside the space, no value and no failure (or both), a
                metrics dict without the objective's metric, or a result for a suggestion already finished
                (or stopped).
        """
        found = self._entry(suggestion)
        entry = found if isinstance(found, _Entry) else None
        where = f"suggestion {entry.suggestion.id}" if entry else f"the configuration {found!r}"
        if entry is not None and entry.paused:
            raise SpecError(
                f"{where} ({entry.suggestion.config!r}) is paused ({entry.reason}). Resume it when ask() hands "
                "it back (resume_from= says from which step), and ask() for another meanwhile.",
                path="tell",
            )
        if entry is not None and entry.finished:
            if entry.stopped:
                raise SpecError(
                    f"{where} ({entry.suggestion.config!r}) was stopped early ({entry.reason}). Stop training it "
                    "when tell returns stop=True, and ask() for another.",
                    path="tell",
                )
            raise SpecError(
                f"{where} ({entry.suggestion.config!r}) already has its final result. Tell each suggestion "
                "once (intermediate values go with step=), or ask() again.",
                path="tell",
            )
        if failed is not None and value is not None:
            raise SpecError(
                f"{where}: got both a value ({value!r}) and failed={failed!r}. Give one of them.", path="tell"
            )
        if failed is None and value is None:
            raise SpecError(
                f"{where}: tell needs a value, or failed='reason' when the evaluation failed.", path="tell"
            )
        if step is not None:
            if failed is not None:
                raise SpecError(f"{where}: failed= takes no step, got step={step!r}. Remove step.", path="tell")
            if isinstance(step, bool) or not isinstance(step, int) or step < 0:
                raise SpecError(f"{where}: step must be a non-negative integer, got {step!r}.", path="tell")
        number = None if failed is not None else self._number(value, where)
        # the call is valid: record it
        if entry is None:  # a configuration that was never asked: extra data for the strategy
            entry = self._add(found)  # type: ignore[arg-type]
            if step is not None:
                self.strategy.observe(Pending(dict(entry.suggestion.config), training_job=str(entry.suggestion.id)))
        config = dict(entry.suggestion.config)
        job = str(entry.suggestion.id)
        if number is None:
            self._finish(entry, None, str(failed))
            self.strategy.observe(Failed(config, reason=str(failed), training_job=job))
        elif step is not None:
            return self._intermediate(entry, step, number)
        elif not math.isfinite(number):
            reason = f"the objective {self.objective.metric!r} was {number!r}"
            self._finish(entry, None, reason)
            self.strategy.observe(Failed(config, reason=reason, training_job=job))
        else:
            self._finish(entry, number, None)
            entry.metrics = self._metrics(value, where)
            self.strategy.observe(Final(config, number, training_job=job, metrics=entry.metrics))
        return None

    def _intermediate(self, entry: _Entry, step: int, number: float) -> TellResult | None:
        """An intermediate value: to the strategy, then to the stopper, as the Tuner does with a reported value."""
        if not math.isfinite(number):  # a non-finite intermediate value carries no information
            return None if self.stopper is None else TellResult(False, "a value that is not finite is not judged")
        if entry.offset is None:
            from hyperjob.tuner.loop import resource_offset  # the Tuner's rule: steps from 0 count epochs done

            entry.offset = resource_offset(step)
        resource = step + entry.offset
        config, job = dict(entry.suggestion.config), str(entry.suggestion.id)
        entry.intermediate.append((step, number))
        self.strategy.observe(Intermediate(config, step=resource, value=number, training_job=job))
        if self.budget is not None:
            self.budget.add(job, resource)
            if self.budget.reached:  # the budget ends it: stopped with its last value, as a tuning job does
                self._finish(entry, None, self.budget.reason("steps"))
                entry.stopped = True
                self.strategy.observe(Intermediate(config, step=resource, value=number, training_job=job,
                                                   stopped=True))
                return TellResult(True, self.budget.reason("steps"))
        if self.stopper is None:
            return None
        decision = self.stopper.decide(job, entry.suggestion.id, resource, number)
        if decision is None:
            return TellResult(False, f"no stopping rule decides at step {step}: go on")
        if decision.pause:
            entry.paused, entry.reason = True, decision.reason
            self.strategy.observe(Intermediate(config, step=resource, value=number, training_job=job, stopped=True))
            return TellResult(True, decision.reason, decision, pause=True)
        if decision.stop:
            if decision.rule == "max_resource":  # hyperband: it had its whole resource, the value is final
                self._finish(entry, number, decision.reason)
                self.strategy.observe(Final(config, number, training_job=job, step=resource))
            else:
                self._finish(entry, None, decision.reason)
                entry.stopped = True
                self.strategy.observe(Intermediate(config, step=resource, value=number, training_job=job,
                                                   stopped=True))
        return TellResult(decision.stop, decision.reason, decision)

    # -- results --------------------------------------------------------------------------------------------
    @property
    def best(self) -> tuple[Configuration, float] | None:
        """``(config, value)`` of the best final value told so far (the earliest on ties), ``None`` if none;
        never an infeasible one, and with several objectives the front's best on the first
        (:func:`hyperjob.outcomes.best_of`)."""
        best = best_of(self._entries, self.outcomes, self._values_of)
        return None if best is None else (dict(best.suggestion.config), best.value)  # type: ignore[return-value]

    @property
    def front(self) -> list[tuple[Suggestion, dict[str, float]]]:
        """The Pareto front: the feasible suggestions no other feasible one dominates, with their told values
        (objectives and constraints' metrics), in the order asked (with one objective: the best ones)."""
        return [(e.suggestion, dict(self._values_of(e) or {})) for e in front_of(self._entries, self.outcomes,
                                                                                  self._values_of)]

    def _values_of(self, entry: _Entry) -> dict[str, float] | None:
        if entry.value is None:
            return None
        return {**entry.metrics, self.objective.metric: entry.value}

    def _metrics(self, value: Any, where: str) -> dict[str, float]:
        """The other metrics of a told dict, for the strategy (several objectives: each is required;
        constraints' metrics; a ``cost_metric``): every numeric one."""
        if self.outcomes.plain and not isinstance(value, Mapping):
            return {}
        if not isinstance(value, Mapping):
            raise SpecError(
                f"{where}: with several objectives or constraints, tell a dict of metrics, e.g. "
                f"{{{', '.join(repr(m) + ': ...' for m in self.outcomes.metrics)}}}; got {value!r}.",
                path="tell",
            )
        for o in self.outcomes.objectives[1:]:
            if o.metric not in value:
                raise SpecError(f"{where}: the metrics {sorted(map(str, value))} lack the objective {o.metric!r}. "
                                "Tell every objective's value.", path="tell")
        out = {}
        for name, v in value.items():
            if name == self.objective.metric:
                continue
            try:
                out[str(name)] = float(v)
            except (TypeError, ValueError):
                if name in self.outcomes.metrics:
                    raise SpecError(f"{where}: the value of {name!r} must be a number, got {v!r}.",
                                    path="tell") from None
        return out

    @property
    def results(self) -> list[tuple[Suggestion, float | None]]:
        """Every finished suggestion with its final value (``None`` for a failure or a suggestion stopped early),
        in the order asked."""
        return [(e.suggestion, e.value) for e in self._entries if e.finished]

    @property
    def pending(self) -> list[Suggestion]:
        """The suggestions without a final value or failure yet (and not paused), in the order asked."""
        return [e.suggestion for e in self._entries if not e.finished and not e.paused]

    @property
    def done(self) -> bool:
        """True once the ``resource_budget`` is spent (never without one)."""
        return self.budget is not None and self.budget.reached

    @property
    def paused(self) -> list[Suggestion]:
        """Hyperband's promotions: the suggestions paused at a rung (they may come back from ``ask()``)."""
        return [e.suggestion for e in self._entries if e.paused]

    def __repr__(self) -> str:
        return (
            f"AskTell({type(self.strategy).__name__}, objective={self.objective.metric!r} "
            f"{self.objective.direction.value.lower()}, asked={len(self._entries)}, pending={len(self.pending)})"
        )

    # -- internals ------------------------------------------------------------------------------------------
    def _promotions(self, n: int) -> list[Suggestion]:
        """Up to ``n`` paused suggestions promoted now (hyperband's promotions), resumed where they paused."""
        if not isinstance(self.stopper, PromotionStopper):
            return []
        out: list[Suggestion] = []
        for job in self.stopper.promotable()[:n]:
            entry = self._entries[int(job)]
            decision = self.stopper.promote(job)
            entry.paused = False
            self.strategy.observe(Pending(dict(entry.suggestion.config), training_job=job))
            out.append(replace(entry.suggestion, resume_from=decision.step, until=decision.rung))
        return out

    def _until(self, suggestion: Suggestion) -> Suggestion:
        """A new suggestion with the step of its first pause (hyperband's promotions), as far as it is known."""
        if not isinstance(self.stopper, PromotionStopper):
            return suggestion
        ladder = self.stopper.ladder
        levels = ladder.levels(ladder.bracket(suggestion.id))
        return replace(suggestion, until=levels[0] if levels else ladder.max_resource)

    def _add(self, config: Configuration) -> _Entry:
        suggestion = Suggestion(id=len(self._entries), config=dict(config), static=self.space.static)
        entry = _Entry(suggestion, self.space.key(config))
        self._entries.append(entry)
        return entry

    def _entry(self, told: Told) -> _Entry | Configuration:
        """The entry ``told`` names, or, for a configuration never asked (nor pending), that configuration."""
        if isinstance(told, Suggestion):
            told = told.id
        if isinstance(told, int) and not isinstance(told, bool):
            if 0 <= told < len(self._entries):
                return self._entries[told]
            raise SpecError(
                f"no suggestion has id {told!r} (ids run from 0 to {len(self._entries) - 1}). Tell what ask() "
                "returned.",
                path="tell",
            )
        if isinstance(told, Mapping):
            config = self.space.validate(told)
            key = self.space.key(config)
            for entry in self._entries:
                if entry.key == key and not entry.finished:
                    return entry
            return config
        raise SpecError(f"tell takes a Suggestion, its id or a configuration dict, got {told!r}.", path="tell")

    def _number(self, value: Any, where: str) -> float:
        if isinstance(value, Mapping):
            if self.objective.metric not in value:
                raise SpecError(
                    f"{where}: the metrics {sorted(map(str, value))} lack the objective "
                    f"{self.objective.metric!r}. Report it, or name the right metric in objective=.",
                    path="tell",
                )
            value = value[self.objective.metric]
        if not isinstance(value, (bool, str, bytes)) and hasattr(value, "__float__"):
            try:
                return float(value)  # int, float, numpy and torch scalars
            except (TypeError, ValueError):
                pass
        raise SpecError(
            f"{where}: the value of {self.objective.metric!r} must be a number, got {value!r}.", path="tell"
        )

    @staticmethod
    def _finish(entry: _Entry, value: float | None, reason: str | None) -> None:
        entry.finished, entry.value, entry.reason = True, value, reason


def _early_stopping(value: Any) -> MedianRule | None:
    """``early_stopping`` read exactly as a spec reads it (the spec's reader, with its messages and paths)."""
    from hyperjob.formats.spec import read_early_stopping

    return read_early_stopping(value)


def _outcomes(objective: str | Objective, maximize: bool | None, objectives: Any, constraints: Any) -> Outcomes:
    """``objective`` alone, or ``objectives`` (the spec's rules, ``formats.spec.outcomes_from_parts``)."""
    if objectives is None:
        outcomes = Outcomes.single(_objective(objective, maximize))
        if not constraints:
            return outcomes
        objectives = list(outcomes.objectives)
    from hyperjob.formats.spec import outcomes_from_parts

    return outcomes_from_parts(objectives, constraints)


def _objective(objective: str | Objective, maximize: bool | None) -> Objective:
    if maximize is not None and not isinstance(maximize, bool):
        raise SpecError(f"maximize must be True, False or None, got {maximize!r}.", path="maximize")
    if isinstance(objective, Objective):
        if maximize is not None and maximize != objective.maximize:
            raise SpecError(
                f"maximize={maximize} contradicts the objective's direction {objective.direction.value!r}. "
                "Give the direction once.",
                path="maximize",
            )
        return objective
    if not isinstance(objective, str):
        raise SpecError(f"objective must be a metric name or an Objective, got {objective!r}.", path="objective")
    return Objective(objective, Direction.MAXIMIZE if maximize else Direction.MINIMIZE)


__all__ = ["AskTell", "Suggestion", "TellResult"]
