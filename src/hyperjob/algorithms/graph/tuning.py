"""A tuning job from a ``model-HPO-configuration.json`` and a processed graph: the ``job.yaml``-shaped spec.

:func:`graph_tuning_spec` reads the configuration, resolves its ranges for the graph (graph-size rules,
:mod:`hyperjob.algorithms.graph.graph_size`), keeps the tiers the budget tunes (the others become static at
their defaults), and names the built-in algorithm, the ``train`` channel and the objective from ``eval_metric``.
``hyperjob tune model-HPO-configuration.json --data PROCESSED_DIR --max-jobs N`` runs it.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any, Mapping

from hyperjob.errors import SpecError
from hyperjob.formats.neptune import BUILTIN_MODELS, NeptuneConfig
from hyperjob.space import SearchSpace

__all__ = ["DEFAULT_MAX_JOBS", "DEFAULT_MAX_PARALLEL_JOBS", "graph_size_of", "graph_tuning_spec", "objective_metric"]

#: Neptune ML's default budget (``maxHPONumberOfTrainingJobs``) and parallelism
DEFAULT_MAX_JOBS = 2
DEFAULT_MAX_PARALLEL_JOBS = 2


def objective_metric(eval_metric: str) -> str:
    """The name under which the graph training program reports the validation value of ``eval_metric``: the
    metric's own name (``acc``, ``mse``, ``mrr``...), as :mod:`hyperjob.algorithms.graph.algorithm` reads it."""
    return eval_metric


def graph_size_of(processed_dir: "str | Path") -> dict[str, Any]:
    """``task``, ``num_nodes``, ``num_edges`` and ``train_size`` of a processed graph.

    Read from ``graph.json`` when the processing step recorded them there (no torch needed), else from the
    tensors.

    Raises:
        SpecError: the folder holds no processed graph.
    """
    src = Path(processed_dir)
    gj = src / "graph.json"
    if not gj.is_file():
        raise SpecError(f"{src} holds no processed graph (graph.json is missing). Write one with `hyperjob graph "
                        "process EXPORT_DIR --task ... --target ... --out DIR`.", path="data")
    try:
        doc = json.loads(gj.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SpecError(f"{gj} is not valid JSON ({exc}). Write the processed graph again.", path="data") from None
    meta = doc.get("meta") or {}
    if all(k in meta for k in ("num_nodes_total", "num_edges_total", "train_size")):
        return {"task": doc.get("task"), "num_nodes": int(meta["num_nodes_total"]),
                "num_edges": int(meta["num_edges_total"]), "train_size": int(meta["train_size"])}
    from hyperjob.algorithms.graph.processed import ProcessedGraph

    g = ProcessedGraph.load(src)
    return {"task": g.task, "num_nodes": g.total_nodes, "num_edges": g.num_edges,
            "train_size": int(g.split["train"].numel())}


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def _range_json(r: Any) -> dict[str, Any]:
    from hyperjob.formats._range_spec import RangeSpec

    spec = RangeSpec.from_range(r)
    return {k: _json_value(v) for k, v in spec.model_dump(exclude_none=True).items()}


def _default_name(config: NeptuneConfig) -> str:
    task = config.task_type.replace("_", "-")
    return f"{config.model}-{task}-{time.strftime('%Y%m%d-%H%M%S')}"


def graph_tuning_spec(
    config_path: "str | Path | Mapping[str, Any]",
    processed_dir: "str | Path",
    max_jobs: int = DEFAULT_MAX_JOBS,
    *,
    max_parallel_jobs: int | None = None,
    name: str | None = None,
    strategy: str = "bayesian",
    output_dir: str | None = None,
    random_seed: int | None = None,
    timeout_s: float | None = None,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """The ``job.yaml``-shaped tuning job for a ``model-HPO-configuration.json`` on a processed graph.

    Args:
        config_path: the configuration file (either spelling, or its folder) or its parsed JSON.
        processed_dir: the processed graph (``hyperjob graph process``); the ``train`` channel.
        max_jobs: the budget; it selects the tiers (<= 10: tier 1; 11 to 50: tiers 1 and 2; more: all three).
            Default 2, Neptune ML's.
        max_parallel_jobs: training jobs at once (default ``min(2, max_jobs)``, Neptune ML's).
        name: the tuning job's name (default ``<model>-<task>-<date>-<time>``).
        strategy: ``bayesian`` (default, as Neptune ML's SageMaker tuning job), ``random``, ...
        output_dir: where training jobs write (default: the spec's default).
        random_seed: the strategy's seed.
        timeout_s: the limit of each training job, seconds.
        notes: if given, the graph-size notes are appended to it.

    Returns:
        A dict for :meth:`hyperjob.formats.spec.TuningJobSpec.from_json` / ``job.yaml``:
        ``program: {algorithm: <model>, channels: {train: <processed_dir>}}``, the budget's ranges in
        ``hyperparameter_ranges`` (with their tier), every other hyperparameter in ``static_hyperparameters``
        (the untuned tiers at their defaults, ``fixed-param``, plus ``eval-metric`` / ``topk`` /
        ``eval-frequency-*`` for the program), and ``objective`` = the ``eval_metric`` in its direction.

    Raises:
        SpecError: the configuration is invalid, names a custom model, or its ``task_type`` differs from the
            processed graph's; the folder holds no processed graph; a bad budget.
    """
    from hyperjob.algorithms.graph.graph_size import load_config_for_graph

    size = graph_size_of(processed_dir)
    config, size_notes = load_config_for_graph(config_path, num_nodes=size["num_nodes"],
                                               num_edges=size["num_edges"], train_size=size["train_size"])
    source = config.source or "model-HPO-configuration.json"
    if config.model not in BUILTIN_MODELS:
        raise SpecError(f"model {config.model!r} is not a built-in graph model ({', '.join(BUILTIN_MODELS)}); a "
                        "custom model's configuration runs with its own training program: write a job.yaml with "
                        "program.command.", path="models[0].model", source=source)
    if size["task"] and config.task_type != size["task"]:
        raise SpecError(f"task_type {config.task_type!r} differs from the processed graph's task {size['task']!r} "
                        f"({processed_dir}). Process the export for {config.task_type}, or use a configuration "
                        f"for {size['task']}.", path="models[0].task_type", source=source)
    if isinstance(max_jobs, bool) or not isinstance(max_jobs, int) or max_jobs < 1:
        raise SpecError(f"max_jobs must be a whole number >= 1, got {max_jobs!r}.", path="max_jobs")
    space: SearchSpace = config.space_for_budget(max_jobs)
    static: dict[str, Any] = {k: _json_value(v) for k, v in space.static.items()}
    metric = config.eval_metric
    static["eval-metric"] = metric.name
    if metric.topk is not None:
        static["topk"] = metric.topk
    static["eval-frequency-type"] = config.eval_frequency.type
    static["eval-frequency-value"] = config.eval_frequency.value
    parallel = max_parallel_jobs if max_parallel_jobs is not None else min(DEFAULT_MAX_PARALLEL_JOBS, max_jobs)
    limits: dict[str, Any] = {"max_jobs": max_jobs, "max_parallel_jobs": parallel}
    if timeout_s is not None:
        limits["timeout_s"] = timeout_s
    spec: dict[str, Any] = {
        "name": name or _default_name(config),
        "program": {"algorithm": config.model, "channels": {"train": str(Path(processed_dir).resolve())}},
        "static_hyperparameters": static,
        "hyperparameter_ranges": {r.name: _range_json(r) for r in space.ranges},
        "objective": {"metric": objective_metric(metric.name), "type": metric.direction.value.lower()},
        "strategy": strategy,
        "limits": limits,
    }
    if output_dir is not None:
        spec["output_dir"] = output_dir
    if random_seed is not None:
        spec["random_seed"] = random_seed
    if notes is not None:
        notes.extend(size_notes)
    if not re.match(r"^[A-Za-z0-9]", spec["name"]):  # pragma: no cover - our own default is always valid
        raise SpecError(f"invalid tuning job name {spec['name']!r}.", path="name")
    return spec
