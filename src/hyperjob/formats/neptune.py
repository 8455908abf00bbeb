"""Neptune ML's ``model-HPO-configuration.json``, read as it is, into a :class:`~hyperjob.space.SearchSpace`.

The file (seed 000) holds ``models``, a list with exactly one model configuration: ``model``, ``task_type``,
``eval_metric`` (with ``topk`` for ``acc_topk``), ``eval_frequency``, and four arrays of hyperparameters:
``1-tier-param``, ``2-tier-param``, ``3-tier-param`` and ``fixed-param``. Tiered hyperparameters become ranges
with their tier set; fixed ones become static. :meth:`NeptuneConfig.space_for_budget` applies the tier rule
(:func:`hyperjob.space.tuned_tiers`).

Example:
    >>> config = load_neptune_config({"models": [{
    ...     "model": "rgcn", "task_type": "node_class", "eval_metric": {"metric": "acc"},
    ...     "1-tier-param": [{"param": "num-hidden", "type": "int", "range": [16, 128],
    ...                       "inc_strategy": "power2"}],
    ...     "2-tier-param": [{"param": "dropout", "type": "float", "range": [0.0, 0.5], "default": 0.3}],
    ...     "3-tier-param": [], "fixed-param": [{"param": "low-mem", "type": "bool", "default": True}]}]})
    >>> config.space["num-hidden"].values
    (16, 32, 64, 128)
    >>> config.space_for_budget(10).static
    {'low-mem': True, 'dropout': 0.3}

What real files carry, and what this reader does with it (the lenience of record, ``docs/space.md``):

- Numbers written as strings (``"value": "3"``, ``"7e-1"``) are read as numbers, ``"true"``/``"false"`` as
  booleans, wherever a number or boolean is expected.
- ``"type": "str"`` (neptuneml-toolkit configs) is accepted beside ``bool``/``int``/``float``.
- The neptuneml-toolkit's custom-model dialect: ``model: "custom"``, ``task_type: "link_predict"`` (read as
  ``link_prediction``), ``eval_metric`` as ``{"tuning_objective": {"MetricName", "Type"},
  "metric_definitions": [{"Name", "Regex"}]}``; the direction comes from ``Type``, never from the task type.
- ``eval_frequency`` may be left out: ``evaluate_every_epoch`` 1, Neptune's documented default.
- A missing tier array is read as empty, with a warning (Neptune ML requires all four).
- A boolean in a tuned tier with neither ``range`` nor ``options`` is a categorical ``[true, false]``.
- Options listed twice are kept once, with a warning (the seed's ``fanout`` lists ``[15, 30]`` twice).
- A tiered hyperparameter's default that its range does not allow (outside the range, off an increment grid,
  not among the options: ``weight-decay`` 0 beside ``[0.001, 0.01]``, ``num-negs`` 10 on a power-of-two grid,
  ``fanout`` ``[10, 15, 15]``) is kept, with a warning, as the value used when its tier is not tuned; a
  strategy never suggests it. Its type is still checked.
- ``range``/``options``/``inc_*`` on a fixed hyperparameter are ignored, with a warning.

Everything else that breaks a rule is a :class:`~hyperjob.errors.SpecError` with the JSON path
(``models[0].2-tier-param[1].range``) and the file as ``source``. Warnings are
:class:`NeptuneConfigWarning` (via :func:`warnings.warn`) and are also kept on :attr:`NeptuneConfig.warnings`.

A whole tuning job: :func:`load_neptune_spec` reads the file for a graph of a given size (its ranges resolved
by the graph-size rules of :mod:`hyperjob.formats.graph_size`, :func:`load_config_for_graph`), keeps the tiers
the budget tunes, and returns the :class:`~hyperjob.formats.spec.TuningJobSpec` that runs the built-in graph
algorithm on the ``train`` channel (:func:`neptune_job` is the same as job.yaml-shaped data). Reading the
processed graph to know its size is the graph algorithm's business (``hyperjob.algorithms.graph.tuning``).
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import sys
import time
import warnings as _warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from hyperjob.errors import SpecError
from hyperjob.formats.graph_size import resolve_graph_size
from hyperjob.records import Direction, MetricDefinition, Objective
from hyperjob.space import CategoricalRange, ContinuousRange, IntegerRange, Range, SearchSpace, Tier
from hyperjob.space.ranges import increment_range, value_key

if TYPE_CHECKING:  # pragma: no cover
    from hyperjob.formats.spec import TuningJobSpec

#: the file's name as the Neptune docs write it, and as Neptune's clients write it
FILE_NAMES = ("model-HPO-configuration.json", "model-hpo-configuration.json")
#: Neptune ML's built-in models
BUILTIN_MODELS = ("rgcn", "transe", "distmult", "rotate")
#: Neptune ML's default budget (``maxHPONumberOfTrainingJobs``) and parallelism
DEFAULT_MAX_JOBS = 2
DEFAULT_MAX_PARALLEL_JOBS = 2
#: the neptuneml-toolkit's custom-model dialect
CUSTOM_MODEL = "custom"
TASK_TYPES = ("node_class", "node_regression", "link_prediction")
_TASK_ALIASES = {"link_predict": "link_prediction"}
#: built-in evaluation metrics and the direction each is tuned in
EVAL_METRICS: Mapping[str, Direction] = {
    "acc": Direction.MAXIMIZE,
    "acc_topk": Direction.MAXIMIZE,
    "F1": Direction.MAXIMIZE,
    "mse": Direction.MINIMIZE,
    "mrr": Direction.MAXIMIZE,
    "precision": Direction.MAXIMIZE,
    "recall": Direction.MAXIMIZE,
    "roc_auc": Direction.MAXIMIZE,
}
EVAL_FREQUENCY_TYPES = ("evaluate_every_epoch", "evaluate_every_batch", "evaluate_every_pct")
GRAPH_STRATEGIES = ("perM", "per10M", "per100M")
PARAM_TYPES = ("bool", "int", "float", "str")

_MODEL_KEYS = ("model", "task_type", "eval_metric", "eval_frequency")
_PARAM_KEYS = (
    "param", "type", "default", "range", "options", "inc_strategy", "inc_val", "node_strategy", "edge_strategy",
)
_TIER_KEY = re.compile(r"^(?:([123])-tier-params?|tier-?([123])-params?|(fixed)-params?)$")
_TIER_OF = {"1": Tier.ONE, "2": Tier.TWO, "3": Tier.THREE, "fixed": Tier.FIXED}
_TIER_ORDER = (Tier.ONE, Tier.TWO, Tier.THREE, Tier.FIXED)
_CANONICAL_TIER_KEY = {Tier.ONE: "1-tier-param", Tier.TWO: "2-tier-param", Tier.THREE: "3-tier-param",
                       Tier.FIXED: "fixed-param"}
_MISSING = object()


class NeptuneConfigWarning(UserWarning):
    """Something in a ``model-HPO-configuration.json`` that is read leniently (see the module docstring)."""


@dataclass(frozen=True)
class EvalMetric:
    """The metric a Neptune tuning job selects its best model by.

    Attributes:
        name: a built-in metric (``acc``, ``acc_topk``, ``F1``, ``mse``, ``mrr``, ``precision``, ``recall``,
            ``roc_auc``) or, for a custom model, the tuning objective's ``MetricName``.
        direction: maximize or minimize (``mse`` is minimized, the other built-ins maximized).
        topk: ``k`` of ``acc_topk`` (``None``: Neptune's default).
        metric_definitions: for a custom model, the regexes that read metrics from its log.
    """

    name: str
    direction: Direction
    topk: int | None = None
    metric_definitions: tuple[MetricDefinition, ...] = ()

    @property
    def objective(self) -> Objective:
        """The objective of the tuning job."""
        return Objective(self.name, self.direction)


@dataclass(frozen=True)
class EvalFrequency:
    """How often a training job evaluates on the validation set.

    Attributes:
        type: ``evaluate_every_epoch``, ``evaluate_every_batch`` or ``evaluate_every_pct``.
        value: epochs or batches (an int >= 1), or a fraction of training in ``(0, 1]``.
    """

    type: str = "evaluate_every_epoch"
    value: float = 1


@dataclass(frozen=True)
class NeptuneConfig:
    """A ``model-HPO-configuration.json``, validated.

    Attributes:
        model: ``rgcn``, ``transe``, ``distmult``, ``rotate`` or ``custom``.
        task_type: ``node_class``, ``node_regression`` or ``link_prediction``.
        eval_metric: the metric and its direction.
        eval_frequency: how often to evaluate.
        space: every hyperparameter: tiered ones as ranges with their tier, fixed ones static.
        source: the file it was read from (``None`` for a dict).
        warnings: what was read leniently, one line each.
    """

    model: str
    task_type: str
    eval_metric: EvalMetric
    eval_frequency: EvalFrequency
    space: SearchSpace
    source: str | None = None
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def objective(self) -> Objective:
        """The tuning job's objective (metric and direction)."""
        return self.eval_metric.objective

    def space_for_budget(self, max_jobs: int) -> SearchSpace:
        """The space a budget of ``max_jobs`` training jobs tunes.

        ``max_jobs <= 10`` tunes tier 1, 11 to 50 tiers 1 and 2, 51 and more all three; the others take their
        defaults (static).

        Raises:
            SpecError: if ``max_jobs`` is not a whole number >= 1.
        """
        return self.space.for_budget(max_jobs)


def load_neptune_config(path_or_dict: "str | Path | Mapping[str, Any]", *, source: str | None = None) -> NeptuneConfig:
    """Read and validate a ``model-HPO-configuration.json``.

    Args:
        path_or_dict: the file, a folder holding it (either spelling of :data:`FILE_NAMES`), or its parsed
            JSON (anything but a ``str`` or ``Path`` is taken as parsed JSON).
        source: the name to show in errors and warnings (default: the path as given; none for a dict).

    Returns:
        The configuration, with the full search space.

    Raises:
        SpecError: if the file cannot be read, is not JSON, or breaks a rule; the message names the JSON path
            (``models[0].2-tier-param[1].range``), the offending value and the fix.
    """
    data, source = _document(path_or_dict, source)
    return _Reader(source).read(data)


def _document(path_or_dict: "str | Path | Mapping[str, Any]", source: str | None) -> tuple[Any, str | None]:
    """``(parsed JSON, source)`` of a file, a folder holding it, or data already parsed."""
    if not isinstance(path_or_dict, (str, Path)):
        return path_or_dict, source
    path = Path(path_or_dict)
    if path.is_dir():
        found = [path / n for n in FILE_NAMES if (path / n).is_file()]
        if not found:
            raise SpecError(
                f"the folder holds no {FILE_NAMES[0]} (nor {FILE_NAMES[1]}). Give the file's path.",
                source=source or str(path),
            )
        path = found[0]
    source = source or str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SpecError(f"cannot read the file: {exc.strerror or exc}. Check the path.", source=source) from None
    try:
        return json.loads(text), source
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}. Fix the syntax there.",
            source=source,
        ) from None


def load_config_for_graph(
    path_or_dict: "str | Path | Mapping[str, Any]",
    *,
    num_nodes: int,
    num_edges: int,
    train_size: int | None = None,
    source: str | None = None,
) -> tuple[NeptuneConfig, list[str]]:
    """Read a ``model-HPO-configuration.json`` (as :func:`load_neptune_config`) with its ranges resolved for a
    graph of ``num_nodes`` and ``num_edges`` (over all types) and ``train_size`` training items, by the rules of
    :mod:`hyperjob.formats.graph_size`. The file is first validated as written, so that errors name its own
    values and paths.

    Returns:
        ``(config, notes)``: the configuration whose space holds the resolved ranges, and one note per change.

    Raises:
        SpecError: the file is invalid (see :func:`load_neptune_config`).
    """
    raw, source = _document(path_or_dict, source)
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        _Reader(source).read(raw)  # as written
    resolved, notes = resolve_graph_size(raw, num_nodes=num_nodes, num_edges=num_edges, train_size=train_size)
    return load_neptune_config(resolved, source=source), notes


def neptune_job(
    config_path: "str | Path | Mapping[str, Any]",
    *,
    channel: "str | Path | None" = None,
    num_nodes: int | None = None,
    num_edges: int | None = None,
    train_size: int | None = None,
    task: str | None = None,
    max_jobs: int = DEFAULT_MAX_JOBS,
    max_parallel_jobs: int | None = None,
    name: str | None = None,
    strategy: str = "bayesian",
    output_dir: str | None = None,
    random_seed: int | None = None,
    timeout_s: float | None = None,
    notes: list[str] | None = None,
    command: "list[str] | None" = None,
    working_dir: str | None = None,
) -> dict[str, Any]:
    """The job.yaml-shaped tuning job of a ``model-HPO-configuration.json`` on a graph of the given size.

    Args:
        config_path: the configuration file (either spelling, or its folder) or its parsed JSON.
        channel: the processed graph's directory: the ``train`` channel of the graph algorithm.
        num_nodes, num_edges, train_size: the graph's size (:func:`load_config_for_graph`).
        task: the processed graph's task (``node_class``...), checked against ``task_type``; ``None``: unchecked.
        max_jobs: the budget; it selects the tiers (<= 10: tier 1; 11 to 50: tiers 1 and 2; more: all three).
            Default 2, Neptune ML's; ``max_parallel_jobs`` defaults to ``min(2, max_jobs)``, Neptune ML's.
        name: the tuning job's name (default ``<model>-<task>-<date>-<time>``).
        strategy, output_dir, random_seed, timeout_s: the spec's fields (``bayesian`` by default, as Neptune ML).
        notes: if given, the graph-size notes are appended to it (and a note when the budget's tiers are empty).
        command: the training program to run instead of the built-in model (``hyperjob tune CONFIG -- cmd``):
            required for a custom model (``model: "custom"``), whose ``metric_definitions`` read its log. Its
            hyperparameters are passed as ``--name value``; ``eval-metric`` and the ``eval-frequency-*`` keys
            are left out (they are the built-in program's).
        working_dir: where ``command`` runs (default: the current directory).

        Without ``num_nodes``/``num_edges`` (no graph given, a custom model) the ranges are taken as written.

    Returns:
        ``program: {algorithm: <model>, channels: {train: <channel>}}``, the budget's ranges in
        ``hyperparameter_ranges`` (with their tier), every other hyperparameter in ``static_hyperparameters``
        (the untuned tiers at their defaults, ``fixed-param``, plus ``eval-metric`` / ``topk`` /
        ``eval-frequency-*`` for the program), and ``objective`` = the ``eval_metric`` in its direction.

    Raises:
        SpecError: the configuration is invalid, names a custom model, or its ``task_type`` differs from
            ``task``; a bad budget.
    """
    if num_nodes is not None and num_edges is not None:
        config, size_notes = load_config_for_graph(config_path, num_nodes=num_nodes, num_edges=num_edges,
                                                   train_size=train_size)
    else:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore", NeptuneConfigWarning)
            config, size_notes = load_neptune_config(config_path), []
    source = config.source or FILE_NAMES[0]
    if config.model not in BUILTIN_MODELS and not command:
        raise SpecError(f"model {config.model!r} is not a built-in graph model ({', '.join(BUILTIN_MODELS)}); a "
                        "custom model's configuration runs with its own training program: give it after '--' "
                        "(hyperjob tune model-HPO-configuration.json -- python train.py).",
                        path="models[0].model", source=source)
    if task and config.task_type != task:
        raise SpecError(f"task_type {config.task_type!r} differs from the processed graph's task {task!r} "
                        f"({channel}). Process the export for {config.task_type}, or use a configuration "
                        f"for {task}.", path="models[0].task_type", source=source)
    if isinstance(max_jobs, bool) or not isinstance(max_jobs, int) or max_jobs < 1:
        raise SpecError(f"max_jobs must be a whole number >= 1, got {max_jobs!r}.", path="max_jobs")
    space = config.space_for_budget(max_jobs)
    if not space.ranges:  # the budget is the budget: Neptune ML runs them all with the same hyperparameters
        strategy = "random"  # (random search suggests as many as asked; a model-based one would stop at one)
        if notes is not None:
            notes.append(f"the tiers a budget of {max_jobs} tunes hold no hyperparameter: all {max_jobs} training "
                         "jobs run with the same hyperparameters (the defaults), as Neptune ML does.")
    static: dict[str, Any] = {k: _json_value(v) for k, v in space.static.items()}
    metric = config.eval_metric
    if not command:
        static["eval-metric"] = metric.name
        if metric.topk is not None:
            static["topk"] = metric.topk
        static["eval-frequency-type"] = config.eval_frequency.type
        static["eval-frequency-value"] = config.eval_frequency.value
    parallel = max_parallel_jobs if max_parallel_jobs is not None else min(DEFAULT_MAX_PARALLEL_JOBS, max_jobs)
    limits: dict[str, Any] = {"max_jobs": max_jobs, "max_parallel_jobs": parallel}
    if timeout_s is not None:
        limits["timeout_s"] = timeout_s
    job: dict[str, Any] = {
        "name": name or f"{config.model}-{config.task_type.replace('_', '-')}-{time.strftime('%Y%m%d-%H%M%S')}",
        "program": _program(config.model, channel, command, working_dir),
        "static_hyperparameters": static,
        "hyperparameter_ranges": {r.name: _range_json(r) for r in space.ranges},
        # the graph programs report the validation value under the metric's own name (acc, mse, mrr...)
        "objective": {"metric": metric.name, "type": metric.direction.value.lower()},
        "strategy": strategy,
        "limits": limits,
    }
    if metric.metric_definitions:
        job["metric_definitions"] = [{"name": d.name, "regex": d.regex} for d in metric.metric_definitions]
    if output_dir is not None:
        job["output_dir"] = output_dir
    if random_seed is not None:
        job["random_seed"] = random_seed
    if notes is not None:
        notes.extend(size_notes)
    return job


def _program(model: str, channel: "str | Path | None", command: "list[str] | None",
             working_dir: str | None) -> dict[str, Any]:
    program: dict[str, Any] = ({"command": [str(a) for a in command], "working_dir": working_dir or os.getcwd()}
                               if command else {"algorithm": model})
    if channel is not None:
        program["channels"] = {"train": str(Path(channel).resolve())}
    return program


def _layers_and_fanouts(space: SearchSpace) -> tuple[int | None, list[Any]]:
    """(the largest num-layer a training job of ``space`` can get, every fanout value it can get)."""
    tuned = {r.name: r for r in space.ranges}
    layer = tuned.get("num-layer")
    if layer is not None:
        values = getattr(layer, "values", None)
        top: int | None = int(max(values)) if values else int(getattr(layer, "max_value"))
    else:
        raw = space.static.get("num-layer")
        top = int(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else None
    fan = tuned.get("fanout")
    fanouts = list(getattr(fan, "values", ()) or ()) if fan is not None else [space.static.get("fanout")]
    return top, [f for f in fanouts if f is not None]


def neptune_problems(config: NeptuneConfig) -> list[str]:
    """What would make training jobs fail at some budget, one line each (``hyperjob validate`` shows them).

    The rule: a ``fanout`` list gives one value per GNN layer, so every ``fanout`` a training job can get must
    have at least as many values as the largest ``num-layer`` it can get with it (the graph program refuses
    the job otherwise). The seed's example breaks it from 51 training jobs on: tier 3 tunes ``num-layer``
    ``[1, 3]`` with ``fanout`` options ``[10, 30]`` / ``[15, 30]`` (two values).
    """
    problems = []
    for budget, tiers in ((2, "tier 1"), (11, "tiers 1-2"), (51, "tiers 1-3")):
        top, fanouts = _layers_and_fanouts(config.space_for_budget(budget))
        short = [f for f in fanouts if isinstance(f, (list, tuple)) and top is not None and len(f) < top]
        if short:
            first = min(len(f) for f in short)
            problems.append(
                f"from {budget} training jobs on ({tiers} tuned), num-layer can be {top} but fanout "
                f"{_show(list(short[0]))} has {first} value(s): every such training job fails. Give fanout "
                f"{top} values per option (one per layer, e.g. {_show([10] * top)}), or keep num-layer <= {first}.")
            break
    return problems


def load_neptune_spec(config_path: "str | Path | Mapping[str, Any]", **job: Any) -> "TuningJobSpec":
    """The validated :class:`~hyperjob.formats.spec.TuningJobSpec` of :func:`neptune_job` (same arguments),
    with ``source_format`` ``neptune``.

    Raises:
        SpecError: as :func:`neptune_job`, or a rule of the spec (located in the file, as ``source``).
    """
    from hyperjob.formats.spec import TuningJobSpec

    data = neptune_job(config_path, **job)
    source = str(config_path) if isinstance(config_path, (str, Path)) else None
    return TuningJobSpec.from_json({**data, "source_format": "neptune"}, source=source)


def _json_value(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_json_value(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def _range_json(r: Range) -> dict[str, Any]:
    from hyperjob.formats._range_spec import RangeSpec

    return {k: _json_value(v) for k, v in RangeSpec.from_range(r).model_dump(exclude_none=True).items()}


# --------------------------------------------------------------------------------------------------------------
# the reader


def _suggest(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}."


def _show(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (bool, list, dict)) or value is None else repr(value)


def _describe(r: Range) -> str:
    if isinstance(r, (ContinuousRange, IntegerRange)):
        return f"[{r.min_value!r}, {r.max_value!r}]"
    return f"{list(r.values)!r}"


def _caller_level() -> int:
    """The ``stacklevel`` that points a warning at the first frame outside this module (the user's call)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame, level = frame.f_back, level + 1
    return level


class _Reader:
    def __init__(self, source: str | None) -> None:
        self.source = source
        self.notes: list[str] = []

    # -- plumbing -------------------------------------------------------------------------------------------
    def fail(self, path: str, message: str) -> SpecError:
        return SpecError(message, path=path, source=self.source)

    def warn(self, path: str, message: str) -> None:
        where = ": ".join(p for p in (self.source, path) if p)
        line = f"{where}: {message}"
        self.notes.append(line)
        _warnings.warn(line, NeptuneConfigWarning, stacklevel=_caller_level())

    def obj(self, value: Any, path: str, what: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"{what} must be a JSON object, got {_show(value)}. Write it as {{...}}.")
        return value

    def known_keys(self, obj: Mapping[str, Any], known: tuple[str, ...], path: str, owner: str = "") -> None:
        for key in obj:
            if key not in known:
                raise self.fail(f"{path}.{key}" if path else key,
                                f"unknown key {key!r}{owner}; {_suggest(str(key), known)} Remove or rename it.")

    def number(self, value: Any, path: str, what: str, *, integer: bool = False) -> int | float:
        """A number, also when written as a string (``"3"``, ``"7e-1"``)."""
        parsed: Any = value
        if isinstance(value, str):
            try:
                parsed = float(value.strip())
            except ValueError:
                parsed = None
        if isinstance(parsed, bool) or not isinstance(parsed, (int, float)) or not math.isfinite(parsed):
            kind = "a whole number" if integer else "a number"
            raise self.fail(path, f"{what} must be {kind}, got {_show(value)}. Write it as {kind}.")
        if integer:
            if float(parsed) != int(parsed):
                raise self.fail(path, f"{what} must be a whole number, got {_show(value)}. Round it.")
            return int(parsed)
        return parsed

    def scalar(self, value: Any, ptype: str, path: str, what: str) -> Any:
        if ptype == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                return value.strip().lower() == "true"
            raise self.fail(path, f"{what} of a bool hyperparameter must be true or false, got {_show(value)}.")
        if ptype == "str":
            if isinstance(value, str):
                return value
            raise self.fail(path, f"{what} of a str hyperparameter must be a string, got {_show(value)}. "
                                  "Quote it.")
        if ptype == "int":
            return self.number(value, path, f"{what} of an int hyperparameter", integer=True)
        return float(self.number(value, path, f"{what} of a float hyperparameter"))

    def typed(self, value: Any, ptype: str, path: str, what: str) -> Any:
        """A value of the hyperparameter's type: a scalar, or (int/float) a list of them, as ``fanout``."""
        if isinstance(value, list):
            if ptype not in ("int", "float"):
                raise self.fail(path, f"{what} of a {ptype} hyperparameter cannot be a list, got {_show(value)}.")
            if not value:
                raise self.fail(path, f"{what} cannot be an empty list. Give at least one number.")
            return [self.scalar(v, ptype, f"{path}[{i}]", what) for i, v in enumerate(value)]
        return self.scalar(value, ptype, path, what)

    def choice(
        self, value: Any, allowed: tuple[str, ...], path: str, what: str, aliases: Mapping[str, str] | None = None
    ) -> str:
        aliases = aliases or {}
        if isinstance(value, str):
            text = value.strip()
            for a in allowed:
                if a.lower() == text.lower():
                    return a
            if text.lower() in aliases:
                return aliases[text.lower()]
        raise self.fail(path, f"{what} must be one of {', '.join(map(repr, allowed))}, got {_show(value)}.")

    # -- the file -------------------------------------------------------------------------------------------
    def read(self, data: Any) -> NeptuneConfig:
        root = self.obj(data, "", "the file")
        self.known_keys(root, ("models",), "")
        if "models" not in root:
            raise self.fail("models", "the file needs a 'models' list holding one model configuration. "
                                      'Write {"models": [{"model": ..., "task_type": ..., ...}]}.')
        models = root["models"]
        if not isinstance(models, list):
            raise self.fail("models", f"'models' must be a list with one model configuration, got {_show(models)}.")
        if len(models) != 1:
            raise self.fail(
                "models",
                f"'models' must hold exactly one model configuration, got {len(models)}. Neptune ML trains one "
                "model per tuning job: keep one configuration (copy another model's template over it to change "
                "model).",
            )
        return self.model(models[0], "models[0]")

    def model(self, value: Any, path: str) -> NeptuneConfig:
        m = self.obj(value, path, "a model configuration")
        tier_keys: dict[Tier, str] = {}
        for key in m:
            match = _TIER_KEY.match(str(key).strip().lower().replace("_", "-"))
            if match is None:
                if key not in _MODEL_KEYS:
                    known = _MODEL_KEYS + tuple(_CANONICAL_TIER_KEY.values())
                    raise self.fail(f"{path}.{key}", f"unknown key {key!r}; {_suggest(str(key), known)} "
                                                     "Remove or rename it.")
                continue
            tier = _TIER_OF[next(g for g in match.groups() if g)]
            if tier in tier_keys:
                raise self.fail(f"{path}.{key}", f"tier {tier.value} is given twice, as {tier_keys[tier]!r} and "
                                                 f"{key!r}. Merge them into one {_CANONICAL_TIER_KEY[tier]!r}.")
            tier_keys[tier] = key
        for required in ("model", "task_type", "eval_metric"):
            if required not in m:
                raise self.fail(f"{path}.{required}", f"the model configuration needs {required!r}. Add it "
                                                      "(see the Neptune ML docs for its values).")
        model = self.choice(m["model"], BUILTIN_MODELS + (CUSTOM_MODEL,), f"{path}.model", "model")
        task_type = self.choice(m["task_type"], TASK_TYPES, f"{path}.task_type", "task_type", _TASK_ALIASES)
        eval_metric = self.eval_metric(m["eval_metric"], f"{path}.eval_metric", model)
        eval_frequency = (
            self.eval_frequency(m["eval_frequency"], f"{path}.eval_frequency")
            if "eval_frequency" in m else EvalFrequency()
        )
        space = self.params(m, path, tier_keys)
        return NeptuneConfig(model=model, task_type=task_type, eval_metric=eval_metric,
                             eval_frequency=eval_frequency, space=space, source=self.source,
                             warnings=tuple(self.notes))

    # -- eval_metric / eval_frequency ---------------------------------------------------------------------------
    def eval_metric(self, value: Any, path: str, model: str) -> EvalMetric:
        em = self.obj(value, path, "eval_metric")
        if "tuning_objective" in em or "metric_definitions" in em:
            return self.custom_metric(em, path, model)
        self.known_keys(em, ("metric", "topk"), path)
        if model == CUSTOM_MODEL:
            raise self.fail(path, "a custom model needs eval_metric as {\"tuning_objective\": {\"MetricName\": ..., "
                                  "\"Type\": \"Maximize\"}, \"metric_definitions\": [{\"Name\": ..., \"Regex\": "
                                  f"...}}]}}, got {_show(dict(em))}: built-in metric names are for built-in models.")
        if "metric" not in em:
            raise self.fail(f"{path}.metric", f"eval_metric needs 'metric', one of {', '.join(EVAL_METRICS)}. "
                                              'Write e.g. {"metric": "acc"}.')
        name = self.choice(em["metric"], tuple(EVAL_METRICS), f"{path}.metric", "eval_metric")
        topk = None
        if "topk" in em:
            if name != "acc_topk":
                raise self.fail(f"{path}.topk", f"topk goes with metric 'acc_topk' only, got it with {name!r}. "
                                                "Remove topk, or use metric 'acc_topk'.")
            topk = self.number(em["topk"], f"{path}.topk", "topk", integer=True)
            if topk < 1:
                raise self.fail(f"{path}.topk", f"topk must be a positive whole number, got {_show(em['topk'])}. "
                                                "Use e.g. 2.")
        return EvalMetric(name=name, direction=EVAL_METRICS[name], topk=topk)

    def custom_metric(self, em: Mapping[str, Any], path: str, model: str) -> EvalMetric:
        self.known_keys(em, ("tuning_objective", "metric_definitions"), path)
        if model != CUSTOM_MODEL:
            raise self.fail(path, f"the model {model!r} is built in: its eval_metric is {{\"metric\": ...}}, one of "
                                  f"{', '.join(EVAL_METRICS)}. Use 'tuning_objective' only with model 'custom'.")
        tpath = f"{path}.tuning_objective"
        if "tuning_objective" not in em:
            raise self.fail(tpath, "a custom model's eval_metric needs 'tuning_objective': "
                                   '{"MetricName": ..., "Type": "Maximize" or "Minimize"}.')
        to = self.obj(em["tuning_objective"], tpath, "tuning_objective")
        self.known_keys(to, ("MetricName", "Type"), tpath)
        name = to.get("MetricName")
        if not isinstance(name, str) or not name.strip():
            raise self.fail(f"{tpath}.MetricName", f"MetricName must be a non-empty string, got {_show(name)}. "
                                                   "Name the metric to tune.")
        if "Type" not in to:
            raise self.fail(f"{tpath}.Type", "the tuning objective needs 'Type': 'Maximize' or 'Minimize'.")
        direction = self.direction(to["Type"], f"{tpath}.Type")
        definitions: list[MetricDefinition] = []
        dpath = f"{path}.metric_definitions"
        raw = em.get("metric_definitions", [])
        if not isinstance(raw, list):
            raise self.fail(dpath, f"metric_definitions must be a list of {{\"Name\", \"Regex\"}}, got {_show(raw)}.")
        for i, d in enumerate(raw):
            dp = f"{dpath}[{i}]"
            d = self.obj(d, dp, "a metric definition")
            self.known_keys(d, ("Name", "Regex"), dp)
            dname, regex = d.get("Name"), d.get("Regex")
            if not isinstance(dname, str) or not dname.strip():
                raise self.fail(f"{dp}.Name", f"Name must be a non-empty string, got {_show(dname)}.")
            if not isinstance(regex, str):
                raise self.fail(f"{dp}.Regex", f"Regex must be a string, got {_show(regex)}.")
            try:
                groups = re.compile(regex).groups
            except re.error as exc:
                raise self.fail(f"{dp}.Regex", f"Regex {regex!r} does not compile: {exc}. Fix the pattern.") from None
            if groups < 1:
                raise self.fail(f"{dp}.Regex", f"Regex {regex!r} has no capture group; the first group is the value. "
                                               "Wrap the number in parentheses, e.g. 'loss: ([0-9.]+)'.")
            definitions.append(MetricDefinition(name=dname, regex=regex))
        if definitions and name not in {d.name for d in definitions}:
            raise self.fail(f"{tpath}.MetricName",
                            f"MetricName {name!r} is not among the metric definitions "
                            f"({', '.join(repr(d.name) for d in definitions)}). Define it, or tune one of those.")
        return EvalMetric(name=name, direction=direction, metric_definitions=tuple(definitions))

    def direction(self, value: Any, path: str) -> Direction:
        try:
            return Direction.parse(value, path=path)
        except SpecError as exc:
            raise exc.at(source=self.source) from None

    def eval_frequency(self, value: Any, path: str) -> EvalFrequency:
        ef = self.obj(value, path, "eval_frequency")
        self.known_keys(ef, ("type", "value"), path)
        for required in ("type", "value"):
            if required not in ef:
                raise self.fail(f"{path}.{required}", f"eval_frequency needs {required!r}. Write e.g. "
                                                      '{"type": "evaluate_every_epoch", "value": 1}.')
        kind = self.choice(ef["type"], EVAL_FREQUENCY_TYPES, f"{path}.type", "eval_frequency type")
        vpath = f"{path}.value"
        if kind == "evaluate_every_pct":
            v = self.number(ef["value"], vpath, "the value of evaluate_every_pct")
            if not 0 < v <= 1:
                raise self.fail(vpath, f"the value of evaluate_every_pct is a fraction of training in (0, 1], got "
                                       f"{_show(ef['value'])}. Use e.g. 0.1 for every 10 %.")
            return EvalFrequency(kind, float(v))
        unit = "epochs" if kind == "evaluate_every_epoch" else "batches"
        v = self.number(ef["value"], vpath, f"the value of {kind}", integer=True)
        if v < 1:
            raise self.fail(vpath, f"the value of {kind} is a number of {unit} >= 1, got {_show(ef['value'])}. "
                                   "Use e.g. 1.")
        return EvalFrequency(kind, v)

    # -- hyperparameters ------------------------------------------------------------------------------------------
    def params(self, m: Mapping[str, Any], path: str, tier_keys: dict[Tier, str]) -> SearchSpace:
        ranges: list[Range] = []
        static: dict[str, Any] = {}
        off_range: dict[str, Any] = {}
        where: dict[str, str] = {}
        for tier in _TIER_ORDER:
            key = tier_keys.get(tier)
            if key is None:
                self.warn(f"{path}.{_CANONICAL_TIER_KEY[tier]}",
                          f"'{_CANONICAL_TIER_KEY[tier]}' is missing; read as empty (Neptune ML requires all four "
                          "tier arrays: add it, empty if you like).")
                continue
            tpath = f"{path}.{key}"
            items = m[key]
            if not isinstance(items, list):
                raise self.fail(tpath, f"{key!r} must be a list of hyperparameters, got {_show(items)}. "
                                       "Write [] for none.")
            for i, item in enumerate(items):
                ppath = f"{tpath}[{i}]"
                name, result, off = self.param(item, ppath, tier, key)
                if name in where:
                    raise self.fail(f"{ppath}.param", f"the hyperparameter {name!r} is declared twice, at "
                                                      f"{where[name]} and here. Keep one declaration.")
                where[name] = ppath
                if tier is Tier.FIXED:
                    static[name] = result
                else:
                    ranges.append(result)
                    if off is not _MISSING:
                        off_range[name] = off
        return SearchSpace(ranges=tuple(ranges), static=static, off_range_defaults=off_range)

    def param(self, value: Any, path: str, tier: Tier, tier_key: str) -> tuple[str, Any, Any]:
        """One hyperparameter: ``(name, range or static value, off-range default or _MISSING)``."""
        p = self.obj(value, path, "a hyperparameter")
        name = p.get("param")
        if not isinstance(name, str) or not name.strip():
            raise self.fail(f"{path}.param", f"each hyperparameter needs 'param', its name as a non-empty string, "
                                             f"got {_show(name)}.")
        who = f"hyperparameter {name!r}"
        self.known_keys(p, _PARAM_KEYS, path, owner=f" in {who}")
        if "type" not in p:
            raise self.fail(f"{path}.type", f"{who} needs a 'type': one of {', '.join(PARAM_TYPES[:3])}.")
        ptype = self.choice(p["type"], PARAM_TYPES, f"{path}.type", f"the type of {who}")
        default = self.typed(p["default"], ptype, f"{path}.default", "the default") if "default" in p else _MISSING
        node_strategy = self.graph_strategy(p, "node_strategy", path)
        edge_strategy = self.graph_strategy(p, "edge_strategy", path)
        range_keys = [k for k in ("range", "options", "inc_strategy", "inc_val") if k in p]

        if tier is Tier.FIXED:
            if default is _MISSING:
                raise self.fail(f"{path}.default", f"{who} is in {tier_key!r}, so it needs a 'default': the value "
                                                   f"every training job gets. Add \"default\": ... .")
            if range_keys:
                self.warn(path, f"{who} is fixed, so its {', '.join(range_keys)} is ignored; it always takes its "
                                f"default {_show(default)}.")
            return name, default, _MISSING

        if "range" in p and "options" in p:
            raise self.fail(path, f"{who} has both 'range' ({_show(p['range'])}) and 'options' "
                                  f"({_show(p['options'])}). Keep 'range' for an interval or 'options' for a list.")
        for k in ("inc_strategy", "inc_val"):
            if k in p and "range" not in p:
                raise self.fail(f"{path}.{k}", f"{who} has {k} {_show(p[k])} but no 'range': {k} applies to a "
                                               "range only. Remove it, or give a range [min, max].")
        if "range" in p:
            r = self.numeric_range(p, ptype, path, who, tier, node_strategy, edge_strategy)
        elif "options" in p:
            r = self.options(p, ptype, path, who, tier, node_strategy, edge_strategy)
        elif ptype == "bool":
            r = CategoricalRange(name=name, values=(True, False), tier=tier, node_strategy=node_strategy,
                                 edge_strategy=edge_strategy)
        else:
            raise self.fail(path, f"{who} is in {tier_key!r} (tuned) but has neither 'range' nor 'options'. Give "
                                  "a range [min, max] or a list of options, or move it to 'fixed-param' with a "
                                  "default.")

        if default is _MISSING:
            if tier is not Tier.ONE:
                raise self.fail(f"{path}.default", f"{who} is in {tier_key!r}, which small budgets do not tune "
                                                   f"(tier {tier.value} needs more than "
                                                   f"{10 if tier is Tier.TWO else 50} training jobs), so it needs a "
                                                   "'default'. Add one inside its range.")
            return name, r, _MISSING
        if isinstance(default, list) and not isinstance(r, CategoricalRange):
            raise self.fail(f"{path}.default", f"the default of {who} is a list ({_show(default)}) but its range "
                                               "is numeric. Give one number.")
        if r.contains(default):
            return name, replace(r, default=default), _MISSING
        self.warn(f"{path}.default",
                  f"the default {_show(default)} of {who} is not a value its range allows ({_describe(r)}); it is "
                  f"kept as the value used when tier {tier.value} is not tuned, and never suggested.")
        return name, r, default

    def graph_strategy(self, p: Mapping[str, Any], key: str, path: str) -> str | None:
        if key not in p:
            return None
        return self.choice(p[key], GRAPH_STRATEGIES, f"{path}.{key}", key)

    def numeric_range(self, p: Mapping[str, Any], ptype: str, path: str, who: str, tier: Tier,
                      node_strategy: str | None, edge_strategy: str | None) -> Range:
        rpath = f"{path}.range"
        if ptype not in ("int", "float"):
            raise self.fail(rpath, f"{who} is a {ptype}, which takes 'options', not a range, got range "
                                   f"{_show(p['range'])}. List its values as options.")
        bounds = p["range"]
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise self.fail(rpath, f"the range of {who} must be [min, max] (two numbers), got {_show(bounds)}.")
        lo = self.number(bounds[0], f"{rpath}[0]", "the range's min")
        hi = self.number(bounds[1], f"{rpath}[1]", "the range's max")
        inc_strategy = p.get("inc_strategy")
        if inc_strategy is not None and not isinstance(inc_strategy, str):
            raise self.fail(f"{path}.inc_strategy", f"inc_strategy must be 'linear', 'log' or 'power2', got "
                                                    f"{_show(inc_strategy)}.")
        inc_val = self.number(p["inc_val"], f"{path}.inc_val", "inc_val") if "inc_val" in p else None
        prefix = f"hyperparameters.{p['param']}"
        edited = self.uneven_grid(p, lo, hi, ptype, inc_strategy, inc_val, path, who, tier, node_strategy,
                                  edge_strategy)
        if edited is not None:
            return edited
        try:
            return increment_range(p["param"], lo, hi, integer=ptype == "int", inc_strategy=inc_strategy,
                                   inc_val=inc_val, tier=tier, node_strategy=node_strategy,
                                   edge_strategy=edge_strategy)
        except SpecError as exc:
            suffix = (exc.path or "")[len(prefix):] if (exc.path or "").startswith(prefix) else ""
            raise self.fail(f"{path}{suffix}", f"{who}: {exc.message}") from None

    def uneven_grid(self, p: Mapping[str, Any], lo: float, hi: float, ptype: str, inc_strategy: str | None,
                    inc_val: float | None, path: str, who: str, tier: Tier, node_strategy: str | None,
                    edge_strategy: str | None) -> Range | None:
        """The grid of an edited range whose ``inc_val`` does not divide it (``num-bases`` ``[1, 8]``, inc_val 2).

        The seed says to edit ``range`` and not ``inc_val``, so such a range is accepted: its values are
        ``min, min + inc_val, ...`` up to the max, and the max itself (``1, 3, 5, 7, 8``), with a note. ``None``
        when the range is not such a grid (``increment_range`` then applies its rules and messages).
        """
        if inc_val is None or (inc_strategy or "linear").strip().lower() != "linear":
            return None
        integer = ptype == "int"
        if not (lo < hi and 0 < inc_val <= hi - lo) or (integer and not all(float(x).is_integer()
                                                                            for x in (lo, hi, inc_val))):
            return None
        count = (hi - lo) / inc_val
        if abs(count - round(count)) <= 1e-9 * max(1.0, count) or count + 2 > 100_000:
            return None
        n = int(count)
        if integer:
            values: list[Any] = [int(lo) + k * int(inc_val) for k in range(n + 1)] + [int(hi)]
        else:
            values = [float(f"{lo + k * inc_val:.12g}") for k in range(n + 1)] + [float(hi)]
        self.warn(f"{path}.inc_val", f"{who}: inc_val {_show(inc_val)} does not divide the range "
                                     f"{_show(p['range'])}: the values tried are min + k * inc_val and the max: "
                                     f"{_show(values)}.")
        from hyperjob.space.ranges import DiscreteRange, Scaling

        return DiscreteRange(name=p["param"], values=tuple(values), integer=integer, scaling=Scaling.LINEAR,
                             tier=tier, node_strategy=node_strategy, edge_strategy=edge_strategy)

    def options(self, p: Mapping[str, Any], ptype: str, path: str, who: str, tier: Tier,
                node_strategy: str | None, edge_strategy: str | None) -> Range:
        opath = f"{path}.options"
        raw = p["options"]
        if not isinstance(raw, list):
            raise self.fail(opath, f"the options of {who} must be a list, got {_show(raw)}. Write [value1, value2].")
        if not raw:
            raise self.fail(opath, f"the options of {who} are an empty list. List the values to try, or move it to "
                                   "'fixed-param' with a default.")
        values = [self.typed(v, ptype, f"{opath}[{i}]", "an option") for i, v in enumerate(raw)]
        unique: list[Any] = []
        keys: set[Any] = set()
        for v in values:
            k = value_key(v)
            if k not in keys:
                keys.add(k)
                unique.append(v)
        if len(unique) < len(values):
            dupes = [_show(v) for i, v in enumerate(values) if value_key(v) in {value_key(u) for u in values[:i]}]
            self.warn(opath, f"the options of {who} list {', '.join(dict.fromkeys(dupes))} more than once; each is "
                             f"kept once: {_show(unique)}.")
        return CategoricalRange(name=p["param"], values=tuple(unique), tier=tier, node_strategy=node_strategy,
                                edge_strategy=edge_strategy)


__all__ = [
    "BUILTIN_MODELS",
    "CUSTOM_MODEL",
    "DEFAULT_MAX_JOBS",
    "DEFAULT_MAX_PARALLEL_JOBS",
    "EVAL_FREQUENCY_TYPES",
    "EVAL_METRICS",
    "EvalFrequency",
    "EvalMetric",
    "FILE_NAMES",
    "GRAPH_STRATEGIES",
    "NeptuneConfig",
    "NeptuneConfigWarning",
    "PARAM_TYPES",
    "TASK_TYPES",
    "load_config_for_graph",
    "load_neptune_config",
    "load_neptune_spec",
    "neptune_job",
    "neptune_problems",
]
