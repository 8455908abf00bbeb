"""Several objectives and outcome constraints: which training jobs are feasible, the Pareto front, the best one.

The one owner of "best": the Tuner, ``describe``, ``best``, ``export``, ``hyperjob.tune`` and ``AskTell`` all
choose with :func:`best_of` and :func:`front_of` here. The rules:

- a training job is **eligible** when it completed with a finite value of every objective;
- it is **feasible** when, besides, every outcome constraint holds on the last value of its metric (a missing
  or non-finite value violates the constraint); an infeasible training job is never the best, nor on the front;
- with one objective the best is the feasible one with the best value (the earlier one on ties);
- with several, the **Pareto front** is the set of feasible training jobs no other feasible one dominates (at
  least as good on every objective, better on one; equal value vectors are all on the front), and the best
  is the front's member with the best value of the first objective (the earlier one on ties).

No torch here: random and grid search with several objectives, the CLI and the store's readers need numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar

import numpy as np

from hyperjob.errors import SpecError
from hyperjob.records import Direction, MetricValue, Objective

T = TypeVar("T")


@dataclass(frozen=True)
class Constraint:
    """An outcome constraint: the last value of ``metric`` must be ``<= max`` and/or ``>= min``."""

    metric: str
    max: float | None = None
    min: float | None = None

    def __post_init__(self) -> None:
        if self.max is None and self.min is None:
            raise SpecError(
                f"the constraint on {self.metric!r} has neither max nor min. Write e.g. "
                f"{{metric: {self.metric}, max: 2000}}."
            )
        if self.max is not None and self.min is not None and self.min > self.max:
            raise SpecError(
                f"the constraint on {self.metric!r} has min {self.min!r} > max {self.max!r}: nothing is feasible. "
                "Swap them or drop one."
            )

    def violation(self, value: Any) -> float:
        """How far ``value`` is outside the bounds (0 when it holds; ``inf`` for a missing or non-finite value)."""
        number = _finite(value)
        if number is None:
            return math.inf
        over = number - self.max if self.max is not None else 0.0
        under = self.min - number if self.min is not None else 0.0
        return max(over, under, 0.0)

    def holds(self, value: Any) -> bool:
        return self.violation(value) == 0.0

    def __str__(self) -> str:
        parts = ([f"{self.min:g} <= "] if self.min is not None else []) + [self.metric]
        if self.max is not None:
            parts.append(f" <= {self.max:g}")
        return "".join(parts)


@dataclass(frozen=True)
class Outcomes:
    """What a tuning job optimizes: its objectives (the first is the spec's ``objective``) and constraints."""

    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.objectives:
            raise SpecError("a tuning job needs at least one objective.", path="objectives")

    @classmethod
    def single(cls, objective: Objective) -> "Outcomes":
        return cls((objective,))

    @property
    def primary(self) -> Objective:
        """The first objective (the spec's ``objective``; what the rungs, the median rule and SageMaker see)."""
        return self.objectives[0]

    @property
    def several(self) -> bool:
        """More than one objective: the result is a Pareto front."""
        return len(self.objectives) > 1

    @property
    def plain(self) -> bool:
        """One objective and no constraint: the single-objective path, exactly as before."""
        return not self.several and not self.constraints

    @property
    def metrics(self) -> tuple[str, ...]:
        """Every metric the outcomes read: the objectives', then the constraints', without repeats."""
        names = [o.metric for o in self.objectives] + [c.metric for c in self.constraints]
        return tuple(dict.fromkeys(names))

    def losses(self, values: Mapping[str, Any]) -> tuple[float, ...] | None:
        """The objectives' values as losses (lower is better), or ``None`` if one is missing or non-finite."""
        out = []
        for o in self.objectives:
            number = _finite(values.get(o.metric))
            if number is None:
                return None
            out.append(o.loss(number))
        return tuple(out)

    def violations(self, values: Mapping[str, Any]) -> tuple[float, ...]:
        """Each constraint's violation (0 when it holds)."""
        return tuple(c.violation(values.get(c.metric)) for c in self.constraints)

    def feasible(self, values: Mapping[str, Any]) -> bool:
        """Every constraint holds on ``values`` (metric name -> last value)."""
        return all(v == 0.0 for v in self.violations(values))

    def to_json(self) -> dict[str, Any]:
        return {
            "objectives": [{"metric": o.metric, "type": o.direction.value.lower()} for o in self.objectives],
            "constraints": [{"metric": c.metric, **({"max": c.max} if c.max is not None else {}),
                             **({"min": c.min} if c.min is not None else {})} for c in self.constraints],
        }


def non_dominated(losses: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """A mask of the rows of ``losses`` (``n x m``, lower is better) that no other row dominates.

    A row dominates another when it is no worse on every column and better on one; equal rows do not dominate
    each other (all of them are kept). The same set as BoTorch's ``is_non_dominated(-Y, deduplicate=False)``.
    """
    L = np.asarray(losses, dtype=float)
    if L.ndim != 2 or len(L) == 0:
        return np.zeros(len(L), dtype=bool)
    if L.shape[1] == 1:  # one objective: the best value (all of its ties)
        return L[:, 0] == L[:, 0].min()
    dominated = np.zeros(len(L), dtype=bool)
    for start in range(0, len(L), 256):  # blocks of dominating rows: memory stays O(256 n m)
        A = L[start : start + 256, None, :]
        no_worse = np.all(A <= L[None, :, :], axis=-1)  # [i, j]: i is no worse than j everywhere
        better = np.any(A < L[None, :, :], axis=-1)
        dominated |= np.any(no_worse & better, axis=0)
    return ~dominated


def front_of(items: Sequence[T], outcomes: Outcomes, values_of: Callable[[T], Mapping[str, Any] | None]
             ) -> list[T]:
    """The feasible items no other feasible item dominates, in their given order (see the module docstring).

    Args:
        items: candidates (training job records, results).
        outcomes: the objectives and constraints.
        values_of: an item's metric values (name -> last value), or ``None`` when it has no result (failed,
            stopped, running): it is not eligible.
    """
    eligible: list[tuple[T, tuple[float, ...]]] = []
    for item in items:
        values = values_of(item)
        if values is None or not outcomes.feasible(values):
            continue
        losses = outcomes.losses(values)
        if losses is not None:
            eligible.append((item, losses))
    if not eligible:
        return []
    mask = non_dominated([l for _, l in eligible])
    return [item for (item, _), keep in zip(eligible, mask) if keep]


def best_of(items: Sequence[T], outcomes: Outcomes, values_of: Callable[[T], Mapping[str, Any] | None]
            ) -> T | None:
    """The best item: the feasible one with the best first objective among the front (see the module
    docstring); ``None`` when no item is feasible with every objective."""
    best: tuple[T, float] | None = None
    for item in front_of(items, outcomes, values_of):
        loss = outcomes.primary.loss(float(values_of(item)[outcomes.primary.metric]))  # type: ignore[index]
        if best is None or loss < best[1]:
            best = (item, loss)
    return best[0] if best else None


def final_values(values: Iterable[MetricValue]) -> dict[str, float]:
    """Each metric's last value (the highest step; the later one at equal steps), non-finite ones included."""
    out: dict[str, tuple[int, float]] = {}
    for v in values:
        seen = out.get(v.name)
        if seen is None or v.step >= seen[0]:
            out[v.name] = (v.step, float(v.value))
    return {name: value for name, (_, value) in out.items()}


def outcomes_from_json(spec: Mapping[str, Any] | None, objective: Objective | None) -> Outcomes:
    """The outcomes of a stored spec (``TuningJobSpec.to_json``): its ``objectives`` and ``constraints`` lists,
    else the one ``objective`` (a spec stored before several objectives existed)."""
    spec = spec or {}
    objectives = []
    for o in spec.get("objectives") or ():
        objectives.append(Objective(o["metric"], Direction.parse(o.get("type", "minimize"))))
    if not objectives:
        if objective is None:
            o = spec.get("objective") or {}
            objective = Objective(o.get("metric") or "objective", Direction.parse(o.get("type", "minimize")))
        objectives = [objective]
    constraints = tuple(Constraint(c["metric"], c.get("max"), c.get("min")) for c in spec.get("constraints") or ())
    return Outcomes(tuple(objectives), constraints)


def _finite(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None




def job_values(record: Any, outcomes: Outcomes, metrics: Iterable[MetricValue] | Mapping[str, float] = ()
               ) -> dict[str, float] | None:
    """A training job's values for :func:`front_of` / :func:`best_of`: ``None`` unless it completed with a
    finite objective; the first objective's value is the record's ``final_objective``, the others' the last
    values of their metrics (``metrics``: the store's values of that training job, or name -> value)."""
    from hyperjob.records import TrainingJobStatus

    value = _finite(record.final_objective)
    if record.status is not TrainingJobStatus.COMPLETED or value is None:
        return None
    values = dict(metrics) if isinstance(metrics, Mapping) else final_values(metrics)
    values[outcomes.primary.metric] = value
    return values


def best_job(records: Sequence[T], outcomes: Outcomes,
             metrics: Mapping[str, Iterable[MetricValue]] | None = None) -> T | None:
    """The best training job record (:func:`best_of`); ``metrics``: the store's values by training job id
    (``store.get_all_metrics``), needed only when ``outcomes`` has several objectives or constraints."""
    metrics = metrics or {}
    return best_of(records, outcomes, lambda r: job_values(r, outcomes, metrics.get(r.id, ())))  # type: ignore[attr-defined]


def front_jobs(records: Sequence[T], outcomes: Outcomes,
               metrics: Mapping[str, Iterable[MetricValue]] | None = None) -> list[T]:
    """The training job records on the Pareto front (:func:`front_of`), in creation order."""
    metrics = metrics or {}
    return front_of(records, outcomes, lambda r: job_values(r, outcomes, metrics.get(r.id, ())))  # type: ignore[attr-defined]


def export_marks(outcomes: Outcomes, records: Sequence[Any], metrics: Mapping[str, Iterable[MetricValue]]
                 ) -> tuple[list[str], dict[str, list[str]]]:
    """The CSV export's two columns for several objectives or constraints: ``pareto_front`` (``true`` on the
    front) and ``feasible`` (``true``/``false``; empty without a result); no columns with one objective alone.

    Returns:
        ``(header, cells by training job id)``.
    """
    if outcomes.plain:
        return [], {r.id: [] for r in records}
    on_front = {r.id for r in front_jobs(records, outcomes, metrics)}
    cells = {}
    for r in records:
        values = job_values(r, outcomes, metrics.get(r.id, ()))
        cells[r.id] = [str(r.id in on_front).lower(), "" if values is None else str(outcomes.feasible(values)).lower()]
    return ["pareto_front", "feasible"], cells


__all__ = [
    "export_marks",
    "Constraint",
    "Outcomes",
    "best_of",
    "final_values",
    "front_of",
    "front_jobs",
    "best_job",
    "job_values",
    "non_dominated",
    "outcomes_from_json",
]
