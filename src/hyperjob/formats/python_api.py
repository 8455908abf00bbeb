"""The Python API as a format: the arguments of ``hyperjob.tune`` read into a spec (:func:`tune_spec`), and the
space argument that ``hyperjob.tune`` and ``AskTell`` share (:func:`split_space`, :func:`python_space`).

A Python call is one more road into the same :class:`~hyperjob.formats.spec.TuningJobSpec`: its arguments
become the spec's fields and the spec checks every rule, with the message and path a job.yaml gets
(``early_stopping: ...``, ``strategy.settings.foo: ...``). What JSON cannot hold stays outside the spec: a
training *function* is only named in it (``program: {function: "module:qualname"}``), and the callable goes
beside the spec to ``TuningPlan.from_spec(spec, function=train)``. So the store keeps a real spec that
``TuningJobSpec.from_json`` reads back (warm start, ``describe``), and ``hyperjob resume`` sees from
``program.function`` that only Python can continue the tuning job.

The space argument is job.yaml's ``hyperparameter_ranges`` syntax with the static hyperparameters mixed in: a
mapping (or a :mod:`hyperjob.space` range) is a range, any other value is static. A
:class:`~hyperjob.space.SearchSpace` is taken as it is.

Example:
    >>> spec = tune_spec(lambda hp: hp["x"] ** 2, {"x": {"min_value": -1.0, "max_value": 1.0}, "epochs": 3},
    ...                  objective="loss", max_jobs=5, strategy="random", name="demo")
    >>> spec.program.function, spec.static_hyperparameters, spec.source_format
    ('hyperjob.formats.python_api:<lambda>', {'epochs': 3}, 'python')
"""

from __future__ import annotations

import datetime as _dt
import os
from typing import Any, Callable, Mapping, Sequence

from hyperjob.errors import SpecError
from hyperjob.formats._base import name_the_range, range_named_by
from hyperjob.formats._range_spec import RangeSpec
from hyperjob.formats.spec import TuningJobSpec, space_from_parts
from hyperjob.space import CategoricalRange, ContinuousRange, DiscreteRange, IntegerRange, SearchSpace

__all__ = ["function_name", "python_space", "split_space", "tune_spec"]

_RANGES = (ContinuousRange, IntegerRange, DiscreteRange, CategoricalRange)


def function_name(function: Callable[..., Any]) -> str:
    """``"module:qualname"`` of a callable: what ``program.function`` records (for people; never imported).

    >>> function_name(function_name)
    'hyperjob.formats.python_api:function_name'
    """
    target = function if hasattr(function, "__qualname__") else type(function)
    module = getattr(target, "__module__", None) or "?"
    return f"{module}:{getattr(target, '__qualname__', repr(function))}"


def split_space(space: SearchSpace | Mapping[str, Any], static: Mapping[str, Any] | None = None
                ) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(hyperparameter_ranges, static_hyperparameters)`` of a space argument, in the spec's syntax.

    Args:
        space: a :class:`SearchSpace`, or a dict: a mapping value is a range (job.yaml syntax), a
            :mod:`hyperjob.space` range is one too, anything else a static hyperparameter.
        static: more static hyperparameters (they win over the space's).

    Raises:
        SpecError: ``space`` is neither; a range object listed under another name; a SearchSpace with
            off-range defaults (a spec cannot hold them).
    """
    if isinstance(space, SearchSpace):
        if space.off_range_defaults:
            names = ", ".join(map(repr, space.off_range_defaults))
            raise SpecError(
                f"the SearchSpace has off-range defaults ({names}: Neptune's lenience), which a spec cannot hold. "
                "Pass space.for_budget(max_jobs), which applies them, instead.",
                path="hyperparameter_ranges",
            )
        ranges: dict[str, Any] = {r.name: RangeSpec.from_range(r) for r in space.ranges}
        fixed = dict(space.static)
    elif isinstance(space, Mapping):
        ranges, fixed = {}, {}
        for name, value in space.items():
            if isinstance(value, _RANGES):
                if value.name != name:
                    raise SpecError(f"the range is named {value.name!r} but listed as {name!r}. Use the same name.",
                                    path=f"hyperparameter_ranges.{name}")
                ranges[name] = RangeSpec.from_range(value)
            elif isinstance(value, (Mapping, RangeSpec)):
                ranges[name] = value
            else:
                fixed[name] = value
    else:
        raise SpecError(
            f"the space must be a SearchSpace or a dict of ranges, got {type(space).__name__} {space!r}. Write "
            "e.g. {'lr': {'type': 'continuous', 'min_value': 1e-4, 'max_value': 0.1, 'scaling': 'logarithmic'}}.",
            path="hyperparameter_ranges",
        )
    if static is not None and not isinstance(static, Mapping):
        raise SpecError(f"static must be a dict of hyperparameter name -> value, got {static!r}.",
                        path="static_hyperparameters")
    return ranges, {**fixed, **(static or {})}


def python_space(space: SearchSpace | Mapping[str, Any], max_jobs: int | None = None) -> SearchSpace:
    """The :class:`SearchSpace` of a space argument, built as a spec builds its own (``AskTell``'s).

    A :class:`SearchSpace` is returned as it is. In a dict, ranges with a tier need ``max_jobs``, which picks
    the tuned tiers as in a spec (fewer than 10 training jobs: tier 1; 10 to 50: tiers 1 and 2; more: all);
    the others become static at their default.

    Raises:
        SpecError: as :func:`split_space`, or an invalid range (at ``hyperparameter_ranges.<name>...``), or
            tiers without ``max_jobs``.
    """
    if isinstance(space, SearchSpace):
        return space
    try:
        ranges, static = split_space(space)
        built = space_from_parts(ranges, static, max_jobs)
    except SpecError as exc:  # named as the spec names it (TuningJobSpec.model_validate): one message either way
        raise name_the_range(exc, range_named_by(exc.path, space)) from None
    if max_jobs is None:
        tiered = [r.name for r in built.ranges if r.tier is not None]
        if tiered:
            raise SpecError(
                f"the range {tiered[0]!r} has a tier, and the tiers that are tuned depend on the budget, which is "
                "not given. Pass max_jobs (the training jobs you mean to run), or remove the tiers.",
                path=f"hyperparameter_ranges.{tiered[0]}.tier",
            )
    return built


def tune_spec(
    train: Callable[..., Any] | Sequence[str] | str,
    space: SearchSpace | Mapping[str, Any],
    *,
    objective: str = "objective",
    maximize: bool = False,
    max_jobs: int | None = 20,
    max_parallel_jobs: int = 1,
    strategy: str = "bayesian",
    strategy_settings: Mapping[str, Any] | None = None,
    early_stopping: str | Mapping[str, Any] = "off",
    static: Mapping[str, Any] | None = None,
    metric_definitions: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    seed: int | None = None,
    name: str | None = None,
    store: str | None = None,
    output_dir: str | os.PathLike[str] = "hyperjob-runs",
    timeout_s: float | None = None,
    max_runtime_s: float | None = None,
    target_value: float | None = None,
    max_jobs_not_improving: int | None = None,
    max_failed_jobs: int | None = None,
    resource_budget: int | None = None,
    warm_start: Mapping[str, Any] | None = None,
    objectives: Sequence[Mapping[str, Any]] | None = None,
    constraints: Sequence[Mapping[str, Any]] | None = None,
    executor: str | Mapping[str, Any] | None = None,
    resources: Mapping[str, Any] | None = None,
) -> TuningJobSpec:
    """The spec of a ``hyperjob.tune(...)`` call (its arguments are documented there).

    ``train`` is a callable (recorded as ``program.function``) or a command (``program.command``, run in the
    current directory); ``max_jobs=None`` lets grid search take the number of combinations.

    Raises:
        SpecError: the first argument that breaks a spec rule, at the spec field's path (``limits.max_jobs``,
            ``early_stopping``, ``hyperparameter_ranges.lr.scaling``...), with the message a job.yaml gets.
    """
    if callable(train):
        program: dict[str, Any] = {"function": function_name(train)}
    elif isinstance(train, Sequence) and not isinstance(train, str):
        program = {"command": [os.fspath(a) if isinstance(a, os.PathLike) else a for a in train],
                   "working_dir": os.getcwd()}
    else:
        program = {"command": train}  # the spec says why a string (or anything else) is not a command
    ranges, fixed = split_space(space, static)
    limits: dict[str, Any] = {"max_jobs": max_jobs, "max_parallel_jobs": max_parallel_jobs,
                              "max_runtime_s": max_runtime_s, "timeout_s": timeout_s,
                              "max_failed_jobs": max_failed_jobs, "resource_budget": resource_budget}
    completion = {"target_value": target_value, "max_jobs_not_improving": max_jobs_not_improving}
    data: dict[str, Any] = {
        "name": name if name is not None else "tune-" + _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")[:-3],
        "program": program,
        "hyperparameter_ranges": ranges,
        "static_hyperparameters": fixed,
        "objective": {"metric": objective, "type": "maximize" if maximize else "minimize"},
        "metric_definitions": _metric_definitions(metric_definitions),
        "strategy": {"name": strategy, "settings": strategy_settings if strategy_settings is not None else {}},
        "early_stopping": early_stopping,
        "limits": {k: v for k, v in limits.items() if v is not None},
        "completion": {k: v for k, v in completion.items() if v is not None},
        "random_seed": seed,
        "store": store,
        "output_dir": os.fspath(output_dir),
        "source_format": "python",
    }
    if warm_start is not None:
        data["warm_start"] = warm_start
    if objectives is not None:  # several objectives: the first is the objective (docs/objectives.md)
        data["objectives"] = objectives
        del data["objective"]
    if constraints is not None:
        data["constraints"] = constraints
    if executor is not None:  # job.yaml's executor: the spec checks it (ExecutorSpec)
        data["executor"] = {"type": executor} if isinstance(executor, str) else dict(executor)
    if resources is not None:
        data["resources"] = dict(resources)
    return TuningJobSpec.model_validate(data)


def _metric_definitions(value: Mapping[str, str] | Sequence[tuple[str, str]] | None) -> list[Any]:
    """``{name: regex}`` or ``[(name, regex), ...]`` as the spec's list of ``{name, regex}``."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [{"name": n, "regex": r} for n, r in value.items()]
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise SpecError(f"must be a dict of metric name -> regex, got {value!r}. Write e.g. "
                        "{'loss': r'loss=([0-9.eE+-]+)'}.", path="metric_definitions")
    out: list[Any] = []
    for i, item in enumerate(value):
        if isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2:
            out.append({"name": item[0], "regex": item[1]})
        else:
            raise SpecError(f"each metric definition is a (name, regex) pair, got {item!r}. Write e.g. "
                            "('loss', r'loss=([0-9.eE+-]+)').", path=f"metric_definitions[{i}]")
    return out
