"""Warm start: a tuning job learns from up to five earlier (parent) tuning jobs.

Two types (SageMaker's): ``identical_data_and_algorithm`` (same data, same training program: the parents'
results are results of this tuning job's objective) and ``transfer_learning`` (related data or program: the
parents' results hint where to look, nothing more). ``docs/warm-start.md`` is the user's guide; the rules and
the choices are below.

Rules, checked by :func:`load_warm_start` *before* the child tuning job is recorded (a refused child leaves
no trace in the store); each broken rule raises its own :class:`~hyperjob.errors.WarmStartError` located at
``warm_start.parents[i]``:

1. 1 to 5 parents.
2. Each parent is in the store and in a terminal state (Completed, Stopped or Failed).
3. The same objective metric name and direction.
4. The same total number of static plus tuned hyperparameters.
5. No hyperparameter changes type. Types are SageMaker's three: ``continuous``, ``integer``, ``categorical``.
   An increment grid (a discrete range: Neptune's ``inc_val``/``power2``) counts as the type of its numbers:
   ``integer`` for an integer grid, ``continuous`` otherwise. Where a hyperparameter is tuned on one side and
   static on the other, the static value must be one a range of that type could take: any value for
   ``categorical``, a whole number for ``integer``, a number for ``continuous`` (booleans are not numbers).
   Static on both sides: no type (SageMaker passes static values as strings); a different value is a change.
6. At most 10 changes per parent (each parent compared with the child), counting, as seed 001 says: a tuned
   hyperparameter of the parent made static in the child counts the number of values of its range when that
   range is categorical (``{red, blue}`` counts 2) and 1 when it is numeric; a static value that differs
   between parent and child counts 2 (the old value and the new one, as ``red`` -> ``blue`` in the seed).
   A static hyperparameter made tuned counts nothing (SageMaker counts only the two kinds above).
7. Not recursive: only the listed parents' training jobs are used (a parent's own parents are not).
8. The parents' training jobs (all of them, whatever their state) plus the child's ``max_jobs`` are at most
   500.
9. ``identical_data_and_algorithm`` only: the same training program (built-in algorithm or command line; a
   Python function is not compared) and the same input channels (names and locations as given) as each parent (:func:`check_program`);
   new data or a new program is ``transfer_learning``.

How the parents' training jobs are used (:meth:`WarmStart.attach`, called by the Tuner once per ``run``,
before the first suggestion; a resumed child rebuilds its strategy from scratch, so the parents are fed
exactly once to each strategy object):

- Only **completed** training jobs with an objective value are used (failed and stopped ones are not: their
  configuration may well work in the child).
- A parent's training job is **mapped** into the child's space: its full hyperparameters (the parent's static
  ones plus its tuned ones) give the child's tuned hyperparameters by name. It is **skipped** (counted in
  :attr:`WarmStart.skipped`, never an error) when a child's tuned hyperparameter is missing from it, or a value
  lies outside the child's range (a shorter list of categorical values; for ``transfer_learning`` also a
  narrowed numeric range), or, for
  ``identical_data_and_algorithm`` only, when one of its hyperparameters differs from a child's static value
  (it is not the same experiment). For ``transfer_learning`` the child's static values are not compared: the
  data differ anyway and only the tuned part is transferred.
- ``identical_data_and_algorithm``: every mapped training job is told to the strategy as a ``Final`` event, as
  if the child had run it. A training job whose continuous or integer values lie *beyond* the child's narrowed
  ranges (its categorical and grid values being the child's) is told too: the Bayesian strategy takes it as model
  data with extrapolated coordinates (it describes the function around the new ranges' edges); the others only
  note it as known. The Bayesian strategy fits its model on them (its initial random design is skipped
  when the parents already gave it enough configurations); the random and grid strategies never suggest a
  configuration a parent evaluated (in a finite space).
- ``transfer_learning``: the parents' values are of another (related) function, so they are not given to the
  model as data of this one: values of two related functions differ by offsets and scales that would distort a
  Gaussian process fitted on both. Instead the child starts with the parents' best configurations
  (:data:`TRANSFER_SEEDS` distinct ones, best first, mapped into its space) and then continues with its
  strategy, which models the child's own results only. Any strategy benefits; a configuration the child has
  already run (on resume) is not queued again. The seeds come on top of the Bayesian strategy's random initial
  design (warm start calls the strategy's ``extend_initial_design`` with their number): the parents' best
  configurations are usually close together, and a model fitted on them and little else explores too little
  (measured: ``benchmarks/README.md``). Also
  measured and not taken: the parents' results as model data with a task feature (learned or capped
  correlation): better on shifted functions, worse than a cold start on a real task whose best region moved.
"""

from __future__ import annotations

import json
import logging
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from hyperjob.errors import HyperjobError, SpecError, WarmStartError
from hyperjob.records import (
    Configuration,
    Final,
    Objective,
    Observation,
    Pending,
    TrainingJobRecord,
    TrainingJobStatus,
    TuningJobRecord,
)
from hyperjob.space import CategoricalRange, DiscreteRange, IntegerRange, SearchSpace
from hyperjob.space.ranges import Range, value_key
from hyperjob.stopping.base import EarlyStopper
from hyperjob.store.base import Store
from hyperjob.strategies.base import Strategy

log = logging.getLogger("hyperjob.warm_start")

#: The two warm-start types (SageMaker's ``IdenticalDataAndAlgorithm`` and ``TransferLearning``).
IDENTICAL = "identical_data_and_algorithm"
TRANSFER = "transfer_learning"
WARM_START_TYPES = (IDENTICAL, TRANSFER)

MAX_PARENTS = 5
MAX_CHANGES = 10
MAX_TRAINING_JOBS = 500
#: How many of the parents' best configurations a ``transfer_learning`` child evaluates first.
TRANSFER_SEEDS = 3


@dataclass(frozen=True)
class ParentObservation:
    """A parent's completed training job, mapped into the child's space.

    Attributes:
        parent: the parent tuning job's name.
        training_job: the training job's name.
        config: its tuned hyperparameters in the child's space (the child's types).
        value: its final objective value.
        inside: whether the configuration lies in the child's ranges; ``False`` for an identical-data parent's
            training job whose numbers lie beyond them (model data only, never suggested again as such).
    """

    parent: str
    training_job: str
    config: Configuration
    value: float
    inside: bool = True


@dataclass(frozen=True)
class WarmStart:
    """A validated warm start: the parents, and their training jobs mapped into the child's space.

    Attributes:
        type: ``identical_data_and_algorithm`` or ``transfer_learning``.
        parents: the parent tuning jobs' names, as listed.
        observations: the mapped completed training jobs, parent by parent, in the parents' order.
        skipped: why parents' training jobs were not used -> how many (``not completed``, ``outside the
            child's ranges``, ``static hyperparameter differs``, ``hyperparameter missing``).
        objective: the objective (the child's, which is the parents').
    """

    type: str
    parents: tuple[str, ...]
    observations: tuple[ParentObservation, ...]
    skipped: Mapping[str, int] = field(default_factory=dict)
    objective: Objective | None = None

    def seeds(self, n: int = TRANSFER_SEEDS) -> list[Configuration]:
        """The ``n`` best distinct configurations of the parents, best first (ties: the parents' order)."""
        assert self.objective is not None
        order = sorted(range(len(self.observations)),
                       key=lambda i: (self.objective.loss(self.observations[i].value), i))  # type: ignore[union-attr]
        out: list[Configuration] = []
        seen: set[str] = set()
        for i in order:
            if not self.observations[i].inside:
                continue
            config = self.observations[i].config
            key = json.dumps(config, sort_keys=True, default=str)
            if key not in seen:
                seen.add(key)
                out.append(dict(config))
            if len(out) >= n:
                break
        return out

    def summary(self) -> str:
        """One line for the user: the parents, the type, and how many of the parents' training jobs are used."""
        parents = ", ".join(self.parents)
        inside = sum(1 for o in self.observations if o.inside)
        beyond = len(self.observations) - inside
        skipped = "; ".join(f"{n} {why}" for why, n in self.skipped.items() if n)
        if self.type == IDENTICAL:
            text = (f"warm start from {parents} (identical data and algorithm): {inside} of their training jobs "
                    "count as results of this tuning job")
            if beyond:
                text += f", {beyond} beyond its ranges as model data for the bayesian strategy"
        else:
            text = (f"warm start from {parents} (transfer learning): {len(self.observations)} of their training "
                    "jobs map into this tuning job's ranges")
            if self.observations:
                text += f"; their {len(self.seeds())} best configurations run first"
        return text + (f" (not used: {skipped})" if skipped else "")

    def attach(self, strategy: Strategy) -> Strategy:
        """Give the parents' results to a freshly built strategy; returns the strategy the Tuner should use.

        Called once per strategy object, before its first suggestion and before the child's own training jobs
        are replayed. ``identical_data_and_algorithm``: each observation becomes a ``Final`` event and the same
        strategy is returned. ``transfer_learning``: a :class:`TransferSeeding` wrapping it is returned.
        """
        if self.type == IDENTICAL:
            for obs in self.observations:
                strategy.observe(Final(dict(obs.config), obs.value, training_job=obs.training_job))
            return strategy
        seeds = self.seeds()
        # the seeds come on top of the strategy's initial design, not instead of it: the parents' best
        # configurations are usually close together, and a model fitted on them alone explores too little
        strategy.extend_initial_design(len(seeds))
        return TransferSeeding(strategy, seeds)


class TransferSeeding:
    """A strategy (:class:`~hyperjob.strategies.base.Strategy`) that first suggests given configurations, then
    those of the strategy it wraps.

    Each seed it hands out is registered with the wrapped strategy as ``Pending`` (so that the wrapped
    strategy knows it is running); every event goes to the wrapped strategy, and an event for a seed not yet
    handed out removes it from the queue (it was run already, e.g. before a resume). Its space, objective,
    views (``pending``, ``best``) and abilities (``stopper``, ``extend_initial_design``) are the wrapped
    strategy's.

    Args:
        inner: the strategy to wrap.
        seeds: the configurations to suggest first, in order.
    """

    def __init__(self, inner: Strategy, seeds: Sequence[Configuration]) -> None:
        self.inner = inner
        self.queue: list[Configuration] = [dict(c) for c in seeds]

    @property
    def space(self) -> SearchSpace:
        return self.inner.space

    @property
    def objective(self) -> Objective:
        return self.inner.objective

    @staticmethod
    def _key(config: Mapping[str, Any]) -> str:
        return json.dumps({k: value_key(v) for k, v in config.items()}, sort_keys=True, default=str)

    def suggest(self, n: int) -> list[Configuration]:
        """The queued seeds first (up to ``n``), then the wrapped strategy's suggestions."""
        out: list[Configuration] = []
        while self.queue and len(out) < n:
            config = self.queue.pop(0)
            self.inner.observe(Pending(dict(config)))
            out.append(config)
        if len(out) < n:
            out.extend(self.inner.suggest(n - len(out)))
        return out

    def observe(self, event: Observation) -> None:
        """Pass the event on; a seed still queued that the event names is dropped from the queue."""
        if self.queue and isinstance(getattr(event, "config", None), Mapping):
            self.queue = [c for c in self.queue if self._key({k: event.config.get(k) for k in c}) != self._key(c)]
        self.inner.observe(event)

    @property
    def pending(self) -> list[Configuration]:
        """The wrapped strategy's pending configurations (the seeds handed out included)."""
        return self.inner.pending

    @property
    def best(self) -> tuple[Configuration, float] | None:
        """The wrapped strategy's best result (the parents' values are not among them)."""
        return self.inner.best

    def stopper(self) -> EarlyStopper | None:
        """The wrapped strategy's stopping rule."""
        return self.inner.stopper()

    def extend_initial_design(self, n: int) -> None:
        """Extend the wrapped strategy's initial design."""
        self.inner.extend_initial_design(n)


# ----------------------------------------------------------------------------------------------------------------
# the rules


def range_type(r: Range) -> str:
    """SageMaker's type of a range: ``continuous``, ``integer`` or ``categorical`` (grids: by their numbers)."""
    if isinstance(r, CategoricalRange):
        return "categorical"
    if isinstance(r, IntegerRange):
        return "integer"
    if isinstance(r, DiscreteRange):
        return "integer" if r.integer else "continuous"
    return "continuous"


def _static_fits(value: Any, kind: str) -> bool:
    """True if a static ``value`` is one a range of type ``kind`` could take (module docstring, rule 5)."""
    if kind == "categorical":
        return True
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    if kind == "integer":
        return math.isfinite(float(value)) and float(value).is_integer()
    return True


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _what(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, numbers.Integral):
        return "a whole number"
    if isinstance(value, numbers.Real):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


def _describe_range(r: Range) -> str:
    kind = range_type(r)
    if isinstance(r, (CategoricalRange, DiscreteRange)):
        return f"a tuned {kind} range {list(r.values)!r}"
    return f"a tuned {kind} range [{r.min_value!r}, {r.max_value!r}]"


def count_changes(parent: SearchSpace, child: SearchSpace) -> list[tuple[str, str, int]]:
    """The changes from ``parent`` to ``child`` that count against the limit of 10 (module docstring, rule 6).

    Returns:
        ``(hyperparameter, what changed, count)`` per change, in the child's order of names.
    """
    out: list[tuple[str, str, int]] = []
    for name, value in child.static.items():
        if name in parent:
            r = parent[name]
            n = len(r.values) if isinstance(r, CategoricalRange) else 1
            out.append((name, f"{_describe_range(r)} made static {value!r}", n))
        elif name in parent.static and value_key(parent.static[name]) != value_key(value):
            out.append((name, f"static {parent.static[name]!r} changed to {value!r}", 2))
    return out


def check_parent(
    index: int, name: str, parent: SearchSpace, parent_objective: Objective, child: SearchSpace,
    objective: Objective,
) -> None:
    """Check rules 3 to 6 for one parent (its space and objective against the child's).

    Raises:
        WarmStartError: the first broken rule, at ``warm_start.parents[index]``.
    """
    where = f"warm_start.parents[{index}]"
    if parent_objective.metric != objective.metric or parent_objective.direction is not objective.direction:
        raise WarmStartError(
            f"the parent {name!r} has the objective {parent_objective.direction.value.lower()} "
            f"{parent_objective.metric!r}, this tuning job {objective.direction.value.lower()} "
            f"{objective.metric!r}. A warm start needs the same objective metric and direction: use the "
            f"parent's, or remove {name!r} from the parents.",
            path=where,
        )
    n_parent = len(parent.ranges) + len(parent.static)
    n_child = len(child.ranges) + len(child.static)
    if n_parent != n_child:
        p_names = set(parent.names) | set(parent.static)
        c_names = set(child.names) | set(child.static)
        extra = sorted(c_names - p_names)
        gone = sorted(p_names - c_names)
        raise WarmStartError(
            f"the parent {name!r} has {n_parent} hyperparameters (static plus tuned), this tuning job "
            f"{n_child} (only here: {extra or 'none'}; only in the parent: {gone or 'none'}). A warm start keeps "
            f"the total number of static plus tuned hyperparameters: declare every hyperparameter on both "
            f"sides (make one static rather than removing it), or remove {name!r} from the parents.",
            path=where,
        )
    for r in child.ranges:
        kind = range_type(r)
        if r.name in parent:
            p_kind = range_type(parent[r.name])
            if p_kind != kind:
                raise WarmStartError(
                    f"the hyperparameter {r.name!r} is {_describe_range(parent[r.name])} in the parent {name!r} "
                    f"but {_describe_range(r)} here. A hyperparameter keeps its type (continuous, integer, "
                    f"categorical) across a warm start: declare it as {p_kind} again, or remove {name!r} from "
                    "the parents.",
                    path=where,
                )
        elif r.name in parent.static and not _static_fits(parent.static[r.name], kind):
            value = parent.static[r.name]
            raise WarmStartError(
                f"the hyperparameter {r.name!r} is static {value!r} ({_what(value)}) in the parent {name!r} but "
                f"{_describe_range(r)} here. A hyperparameter keeps its type (continuous, integer, categorical) "
                f"across a warm start: tune it as a range that can hold {value!r}, or remove {name!r} from the "
                "parents.",
                path=where,
            )
    for r in parent.ranges:
        if r.name in child.static and not _static_fits(child.static[r.name], range_type(r)):
            value = child.static[r.name]
            raise WarmStartError(
                f"the hyperparameter {r.name!r} is {_describe_range(r)} in the parent {name!r} but static "
                f"{value!r} ({_what(value)}) here. A hyperparameter keeps its type (continuous, integer, "
                f"categorical) across a warm start: give it {_article(range_type(r))} {range_type(r)} value, or remove "
                f"{name!r} from the parents.",
                path=where,
            )
    changes = count_changes(parent, child)
    total = sum(n for _, _, n in changes)
    if total > MAX_CHANGES:
        listed = "; ".join(f"{h!r}: {what} ({n})" for h, what, n in changes)
        raise WarmStartError(
            f"from the parent {name!r} to this tuning job the changes counter is {total}, more than the "
            f"{MAX_CHANGES} allowed (a tuned categorical made static counts its values, a changed static value "
            f"counts 2): {listed}. Keep more hyperparameters tuned or keep the parent's static values, or "
            f"remove {name!r} from the parents.",
            path=where,
        )


def _program_text(program: Mapping[str, Any]) -> str:
    if program.get("algorithm"):
        return f"the built-in algorithm {program['algorithm']!r}"
    if program.get("function"):
        return f"the Python function {program['function']!r}"
    return f"the command {' '.join(map(str, program.get('command') or []))!r}"


def check_program(index: int, name: str, parent: Mapping[str, Any], child: Mapping[str, Any]) -> None:
    """Rule 9 (``identical_data_and_algorithm`` only): the same training program and the same input data.

    SageMaker's definition of the type: the child "uses the same input data and training image as the parent
    tuning jobs". Here the training image is the program (its built-in algorithm or command line; the working
    directory is not compared; a Python function on either side is not compared, since the same code may run
    as a function and as a command) and the input data are the channels: the same names and the same locations
    (paths or URLs as given, before any fetch). New data or a new program is what ``transfer_learning`` is for.

    Raises:
        WarmStartError: at ``warm_start.parents[index]``, naming what differs and the fix.
    """
    where = f"warm_start.parents[{index}]"
    # a Python function (hyperjob.tune) has no identity a stored spec can compare: the same code may run as a
    # function on one side and as a command on the other, so a function on either side is not compared
    function = bool(parent.get("function") or child.get("function"))
    keys = ("algorithm",) if (parent.get("algorithm") or child.get("algorithm")) else ("command",)
    if not function and any((parent.get(k) or None) != (child.get(k) or None) for k in keys):
        raise WarmStartError(
            f"the parent {name!r} ran {_program_text(parent)}, this tuning job runs {_program_text(child)}. "
            "identical_data_and_algorithm needs the same training program (SageMaker: the same training "
            "image): run the parent's program, or use warm start type transfer_learning (TransferLearning).",
            path=where,
        )
    p_chan, c_chan = dict(parent.get("channels") or {}), dict(child.get("channels") or {})
    if p_chan != c_chan:
        diff = [f"{n}: {p_chan.get(n, 'none')} -> {c_chan.get(n, 'none')}" for n in sorted(set(p_chan) | set(c_chan))
                if p_chan.get(n) != c_chan.get(n)]
        raise WarmStartError(
            f"the parent {name!r} read other input data than this tuning job ({'; '.join(diff)}). "
            "identical_data_and_algorithm needs the same input data: give the parent's channels (--channel "
            "NAME=PATH), or use warm start type transfer_learning (TransferLearning) for new data.",
            path=where,
        )


def parent_space_and_objective(record: TuningJobRecord) -> tuple[SearchSpace, Objective]:
    """The space and objective a tuning job ran with, rebuilt from the spec the store holds.

    Raises:
        WarmStartError: the recorded spec cannot be read back (e.g. a Python-API tuning job recorded by a
            version that did not keep its ranges).
    """
    from hyperjob.formats.spec import TuningJobSpec

    try:
        parsed = TuningJobSpec.from_json(dict(record.spec or {}))
        return parsed.build_space(), parsed.build_objective()
    except SpecError as exc:
        raise WarmStartError(
            f"the stored spec of the parent {record.name!r} cannot be read back ({exc}). Use a parent recorded "
            f"by this version of hyperjob, or remove {record.name!r} from the parents."
        ) from None


def space_to_json(space: SearchSpace) -> dict[str, Any]:
    """A space as job.yaml writes it: ``{"hyperparameter_ranges": ..., "static_hyperparameters": ...}``.

    Static values that are not JSON (a Python object) are kept as their ``repr``. Used by the Python API so
    that its tuning jobs can be parents.
    """
    from hyperjob.formats._range_spec import RangeSpec

    ranges = {
        r.name: {k: v for k, v in RangeSpec.from_range(r).model_dump(mode="json").items() if v is not None}
        for r in space.ranges
    }
    static: dict[str, Any] = {}
    for k, v in space.static.items():
        try:
            json.dumps(v)
            static[k] = v
        except (TypeError, ValueError):
            static[k] = repr(v)
    return {"hyperparameter_ranges": ranges, "static_hyperparameters": static}


def map_training_job(
    record: TrainingJobRecord, parent: SearchSpace, child: SearchSpace, warm_type: str
) -> tuple[Configuration | None, str | None]:
    """Map a parent's training job into the child's space.

    Returns:
        ``(configuration, None)``, or ``(None, why it is skipped)`` (module docstring).
    """
    full = {**parent.static, **dict(record.config)}
    if warm_type == IDENTICAL:
        for name, value in child.static.items():
            if name not in full or value_key(full[name]) != value_key(value):
                return None, "static hyperparameter differs"
    missing = [n for n in child.names if n not in full]
    if missing:
        return None, "hyperparameter missing"
    try:
        config = child.validate({n: full[n] for n in child.names})
    except SpecError:
        config = None
    if config is not None and child.contains(config):
        return config, None
    if warm_type == IDENTICAL and _numbers_beyond(child, full):
        return {n: full[n] for n in child.names}, BEYOND
    return None, "outside the child's ranges"


#: why a parent's training job is used as data beyond the child's ranges (identical data only)
BEYOND = "beyond the child's ranges (used as model data)"


def _numbers_beyond(child: SearchSpace, full: Mapping[str, Any]) -> bool:
    """Only continuous/integer values lie outside the child's ranges (categorical and grid values are listed)."""
    for r in child.ranges:
        value = full[r.name]
        if r.kind in ("continuous", "integer"):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
                return False
            if r.kind == "integer" and float(value) != int(value):
                return False
        else:
            try:
                r.index(value)
            except (SpecError, ValueError, KeyError):
                return False
    return True


def load_warm_start(
    store: Store,
    parents: Sequence[str],
    warm_type: str,
    space: SearchSpace,
    objective: Objective,
    max_jobs: int,
    program: Mapping[str, Any] | None = None,
) -> WarmStart:
    """Check every warm-start rule and map the parents' training jobs into the child's space.

    Args:
        store: the store holding the parents (and, later, the child).
        parents: the parent tuning jobs' names, as listed.
        warm_type: ``identical_data_and_algorithm`` or ``transfer_learning``.
        space: the child's space (tiers applied).
        objective: the child's objective.
        max_jobs: the child's budget of training jobs.
        program: the child's stored ``program`` (spec JSON): with ``identical_data_and_algorithm``, each
            parent's program and input channels must be the same (rule 9, :func:`check_program`).

    Returns:
        The :class:`WarmStart` to attach to the child's strategy.

    Raises:
        WarmStartError: a rule is broken (module docstring); the message names the parent, the hyperparameter
            or the counter, the values and the fix.
    """
    parents = tuple(parents)
    if warm_type not in WARM_START_TYPES:
        raise WarmStartError(
            f"unknown warm start type {warm_type!r}. Use 'identical_data_and_algorithm' or 'transfer_learning'.",
            path="warm_start.type",
        )
    if not 1 <= len(parents) <= MAX_PARENTS:
        raise WarmStartError(
            f"a warm start takes 1 to {MAX_PARENTS} parent tuning jobs, got {len(parents)}"
            f"{': ' + ', '.join(map(repr, parents)) if parents else ''}. "
            f"{'Keep the 5 most relevant ones.' if parents else 'Name at least one, or leave warm_start out.'}",
            path="warm_start.parents",
        )
    records: dict[str, list[TrainingJobRecord]] = {}
    spaces: dict[str, SearchSpace] = {}
    for i, name in enumerate(parents):
        where = f"warm_start.parents[{i}]"
        try:
            tuning = store.get_tuning_job(name)
        except HyperjobError:
            raise WarmStartError(
                f"the parent tuning job {name!r} is not in the store. Check the name (`hyperjob list`), or run "
                "it first.",
                path=where,
            ) from None
        if not tuning.status.terminal:
            raise WarmStartError(
                f"the parent tuning job {name!r} is {tuning.status.value}; a parent must have ended (Completed, "
                f"Stopped or Failed). Wait for it to end, or stop it with `hyperjob stop {name}`.",
                path=where,
            )
        p_space, p_objective = parent_space_and_objective(tuning)
        check_parent(i, name, p_space, p_objective, space, objective)
        if warm_type == IDENTICAL and program is not None:
            check_program(i, name, (tuning.spec or {}).get("program") or {}, program)
        spaces[name] = p_space
        records[name] = store.list_training_jobs(name)
    n_parents = sum(len(r) for r in records.values())
    if n_parents + max_jobs > MAX_TRAINING_JOBS:
        per = ", ".join(f"{p!r}: {len(records[p])}" for p in parents)
        raise WarmStartError(
            f"the parents' training jobs ({n_parents}: {per}) plus this tuning job's max_jobs ({max_jobs}) "
            f"make {n_parents + max_jobs}, more than the {MAX_TRAINING_JOBS} a warm-started tuning job may "
            f"count. Lower max_jobs to {max(MAX_TRAINING_JOBS - n_parents, 0)} or fewer, or name fewer parents.",
            path="warm_start.parents",
        )
    observations: list[ParentObservation] = []
    skipped: dict[str, int] = {}
    beyond: dict[str, int] = {}
    for name in parents:
        for rec in sorted(records[name], key=lambda r: r.index):
            if rec.status is not TrainingJobStatus.COMPLETED or rec.final_objective is None:
                skipped["not completed"] = skipped.get("not completed", 0) + 1
                continue
            config, why = map_training_job(rec, spaces[name], space, warm_type)
            if config is None:
                skipped[why or "?"] = skipped.get(why or "?", 0) + 1
                continue
            if why == BEYOND:
                beyond[name] = beyond.get(name, 0) + 1
            observations.append(ParentObservation(name, rec.id, config, float(rec.final_objective),
                                                  inside=why != BEYOND))
    log.info("warm start (%s) from %s: %d training jobs used (%s beyond the ranges), skipped %s", warm_type,
             list(parents), len(observations), sum(beyond.values()), skipped)
    return WarmStart(warm_type, parents, tuple(observations), skipped, objective)


def overall_best(store: Store, tuning: TuningJobRecord, objective: Objective) -> tuple[TrainingJobRecord, str] | None:
    """The best completed training job across a tuning job and its listed parents (not theirs), with the name of
    the tuning job it belongs to; ``None`` when none has a value. Ties: the child first, then the parents in
    their order, then the earlier training job."""
    best: tuple[TrainingJobRecord, str] | None = None
    for name in (tuning.name, *tuning.parents):
        try:
            records = store.list_training_jobs(name)
        except HyperjobError:
            continue  # a parent removed from the store since: the others still count
        for r in sorted(records, key=lambda r: r.index):
            if r.status is TrainingJobStatus.COMPLETED and r.final_objective is not None:
                if best is None or objective.is_better(r.final_objective, best[0].final_objective):
                    best = (r, name)
    return best


__all__ = [
    "IDENTICAL",
    "MAX_CHANGES",
    "MAX_PARENTS",
    "MAX_TRAINING_JOBS",
    "TRANSFER",
    "TRANSFER_SEEDS",
    "ParentObservation",
    "TransferSeeding",
    "WarmStart",
    "check_parent",
    "count_changes",
    "load_warm_start",
    "map_training_job",
    "overall_best",
    "parent_space_and_objective",
    "range_type",
    "space_to_json",
]
