"""A tuning job from a ``model-HPO-configuration.json`` and a processed graph: the ``job.yaml``-shaped spec.

:func:`graph_tuning_spec` reads the processed graph's size and task, and hands the configuration to the Neptune
format (:func:`hyperjob.formats.neptune.neptune_job`), which resolves its ranges for the graph (graph-size
rules, :mod:`hyperjob.formats.graph_size`), keeps the tiers the budget tunes (the others become static at their
defaults), and names the built-in algorithm, the ``train`` channel and the objective from ``eval_metric``.
``hyperjob tune model-HPO-configuration.json --data PROCESSED_DIR --max-jobs N`` runs it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from hyperjob.errors import SpecError
from hyperjob.formats.neptune import DEFAULT_MAX_JOBS, DEFAULT_MAX_PARALLEL_JOBS, neptune_job

__all__ = ["DEFAULT_MAX_JOBS", "DEFAULT_MAX_PARALLEL_JOBS", "config_tuning_spec", "graph_size_of", "graph_tuning_spec",
           "objective_metric"]


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
    size = graph_size_of(processed_dir)
    return neptune_job(config_path, channel=processed_dir, num_nodes=size["num_nodes"], num_edges=size["num_edges"],
                       train_size=size["train_size"], task=size["task"], max_jobs=max_jobs,
                       max_parallel_jobs=max_parallel_jobs, name=name, strategy=strategy, output_dir=output_dir,
                       random_seed=random_seed, timeout_s=timeout_s, notes=notes)


def config_tuning_spec(
    config_path: "str | Path",
    processed_dir: "str | Path | None",
    max_jobs: int | None = None,
    *,
    command: "list[str] | None" = None,
    notes: list[str] | None = None,
) -> Any:
    """The :class:`~hyperjob.formats.spec.TuningJobSpec` that ``hyperjob tune CONFIG [--data DIR] [-- cmd]`` runs
    (and ``hyperjob validate`` previews): a built-in model needs the processed graph (``--data``); a custom
    model (or any model given a command) runs the command, on the graph when one is given (its ranges then
    scaled to its size), else with the ranges as written.

    Raises:
        SpecError: a built-in model without ``--data``, or anything :func:`graph_tuning_spec` refuses.
    """
    from hyperjob.formats.spec import TuningJobSpec

    budget = max_jobs if max_jobs is not None else DEFAULT_MAX_JOBS
    if processed_dir is None and not command:
        raise SpecError("a Neptune ML model-HPO-configuration.json needs the processed graph: add --data DIR (the "
                        "folder `hyperjob graph process` or `hyperjob graph init` wrote), or, for a custom model, "
                        "its training command after '--'.", source=str(config_path))
    if processed_dir is not None:
        size = graph_size_of(processed_dir)
        spec = neptune_job(config_path, channel=processed_dir, num_nodes=size["num_nodes"],
                           num_edges=size["num_edges"], train_size=size["train_size"],
                           task=None if command else size["task"], max_jobs=budget, notes=notes, command=command)
    else:
        spec = neptune_job(config_path, max_jobs=budget, notes=notes, command=command)
    return TuningJobSpec.from_json({**spec, "source_format": "neptune"}, source=str(config_path))
