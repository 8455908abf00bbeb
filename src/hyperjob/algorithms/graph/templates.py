"""Default ``model-HPO-configuration.json`` files: one per model and task type (Neptune's
``hpo-configuration-templates``, which Neptune does not publish; these are ours, documented in ``docs/graph.md``).

Each template is a valid file for :func:`hyperjob.formats.neptune.load_neptune_config`. The tiers follow seed
000: ``lr`` in tier 1, ``fanout`` with ``num-layer`` in tier 3 (``fanout``'s options are whole per-layer lists,
``[10, 15, 15]`` = 10 neighbours in the first layer, 15 in the second and third, so that the default is one of
them; seed 000's ``[[10, 30], [15, 30], [15, 30]]`` repeats an option and leaves the default outside), ``num-epochs`` scaled by the graph's size
(``node_strategy``/``edge_strategy``, see :mod:`hyperjob.formats.graph_size`), ``batch-size`` too.

Example:
    >>> from hyperjob.formats.neptune import load_neptune_config
    >>> config = load_neptune_config(template("transe", "link_prediction"))
    >>> config.model, config.eval_metric.name, sorted(config.space_for_budget(2).names)
    ('transe', 'mrr', ['lr', 'num-epochs', 'num-hidden'])
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Mapping

from hyperjob.errors import SpecError

__all__ = [
    "MODELS_FOR_TASK",
    "TEMPLATE_DIR",
    "default_model",
    "template",
    "write_templates",
]

#: the models each task type may use, the default first (seed 000)
MODELS_FOR_TASK: Mapping[str, tuple[str, ...]] = {
    "node_class": ("rgcn",),
    "node_regression": ("rgcn",),
    "link_prediction": ("rgcn", "transe", "distmult", "rotate"),
}
#: where :func:`write_templates` puts the other models' templates (Neptune's folder name)
TEMPLATE_DIR = "hpo-configuration-templates"
_DEFAULT_METRIC = {"node_class": "acc", "node_regression": "mse", "link_prediction": "mrr"}


def _p(name: str, ptype: str, **kw: Any) -> dict[str, Any]:
    return {"param": name, "type": ptype, **kw}


def _rgcn(task: str, *, features: bool, imbalanced: bool, multi_label: bool) -> dict[str, list[dict[str, Any]]]:
    size = "edge_strategy" if task == "link_prediction" else "node_strategy"
    tier1 = [
        _p("num-hidden", "int", range=[16, 128], inc_strategy="power2"),
        _p("num-epochs", "int", range=[3, 30], inc_strategy="linear", inc_val=1, node_strategy="perM"),
        _p("lr", "float", range=[0.001, 0.01], inc_strategy="log"),
    ]
    tier2 = [
        _p("dropout", "float", range=[0.0, 0.5], inc_strategy="linear", default=0.3),
        _p("layer-norm", "bool", default=True),
    ]
    tier3 = [
        _p("batch-size", "int", range=[128, 4096], inc_strategy="power2", default=1024, **{size: "perM"}),
        _p("fanout", "int", options=[[5, 10, 10], [10, 15, 15], [15, 30, 30]], default=[10, 15, 15]),
        _p("num-layer", "int", range=[1, 3], inc_strategy="linear", inc_val=1, default=2),
        _p("num-bases", "int", range=[0, 8], inc_strategy="linear", inc_val=2, default=0),
        _p("sparse-lr", "float", range=[0.001, 0.01], inc_strategy="log", default=0.001),
    ]
    fixed = [
        _p("concat-node-embed", "bool", default=True),
        _p("use-self-loop", "bool", default=True),
        _p("low-mem", "bool", default=True),
        _p("l2norm", "float", default=0),
        _p("enable-early-stop", "bool", default=True),
        _p("window-for-early-stop", "int", default=3),
    ]
    if features:
        tier3.append(_p("per-feat-name-embed", "bool", default=True))
    if task == "node_class" and not multi_label:
        fixed.append(_p("use-class-weight", "bool", default=bool(imbalanced)))
    if task == "link_prediction":
        tier2.append(_p("num-negs", "int", range=[4, 32], inc_strategy="power2", default=8))
        fixed.append(_p("neg-share", "bool", default=True))
        fixed.append(_p("regularization-coef", "float", default=0.01))
    return {"1-tier-param": tier1, "2-tier-param": tier2, "3-tier-param": tier3, "fixed-param": fixed}


def _kge(model: str) -> dict[str, list[dict[str, Any]]]:
    tier1 = [
        _p("num-hidden", "int", range=[16, 128], inc_strategy="power2"),
        _p("num-epochs", "int", range=[3, 30], inc_strategy="linear", inc_val=1, edge_strategy="perM"),
        _p("lr", "float", range=[0.001, 0.1], inc_strategy="log"),
    ]
    tier2 = [
        _p("gamma", "float", range=[1.0, 24.0], inc_strategy="linear", default=12.0),
        _p("num-negs", "int", range=[4, 64], inc_strategy="power2", default=16),
    ]
    tier3 = [
        _p("batch-size", "int", range=[128, 4096], inc_strategy="power2", default=1024, edge_strategy="perM"),
        _p("regularization-coef", "float", range=[1e-7, 1e-3], inc_strategy="log", default=1e-6),
        _p("sparse-lr", "float", range=[0.001, 0.1], inc_strategy="log", default=0.01),
    ]
    fixed = [
        _p("neg-share", "bool", default=True),
        _p("rel-part", "bool", default=False),
        _p("enable-early-stop", "bool", default=True),
        _p("window-for-early-stop", "int", default=3),
    ]
    return {"1-tier-param": tier1, "2-tier-param": tier2, "3-tier-param": tier3, "fixed-param": fixed}


def default_model(task_type: str, *, features: bool = True) -> str:
    """Neptune's default model: ``rgcn`` for node tasks and heterogeneous link prediction (nodes with
    features), ``transe`` for knowledge-graph link prediction (no node features)."""
    _check_task(task_type)
    if task_type == "link_prediction" and not features:
        return "transe"
    return "rgcn"


def _check_task(task_type: str) -> None:
    if task_type not in MODELS_FOR_TASK:
        raise SpecError(f"unknown task type {task_type!r}. Use one of {', '.join(MODELS_FOR_TASK)}.",
                        path="task_type")


def template(
    model: str,
    task_type: str,
    *,
    eval_metric: Mapping[str, Any] | None = None,
    features: bool = True,
    imbalanced: bool = False,
    multi_label: bool = False,
) -> dict[str, Any]:
    """The default ``model-HPO-configuration.json`` of ``model`` for ``task_type``, as parsed JSON.

    Args:
        model: ``rgcn``, ``transe``, ``distmult`` or ``rotate``.
        task_type: ``node_class``, ``node_regression`` or ``link_prediction``.
        eval_metric: the ``eval_metric`` object (default: ``acc``, ``mse`` or ``mrr`` by task; the processing
            step passes :func:`~hyperjob.algorithms.graph.process.default_eval_metric`).
        features: whether the graph's nodes have features (adds ``per-feat-name-embed`` to rgcn's tier 3).
        imbalanced: whether the classes are imbalanced (rgcn node_class: ``use-class-weight`` true).
        multi_label: multi-label classification (no ``use-class-weight``; default metric ``roc_auc``).

    Returns:
        ``{"models": [{...}]}``, a fresh copy the caller may edit.

    Raises:
        SpecError: an unknown task type, or a model that does not do the task.
    """
    _check_task(task_type)
    allowed = MODELS_FOR_TASK[task_type]
    if model not in allowed:
        raise SpecError(f"the model {model!r} does not do {task_type}; it takes {', '.join(allowed)}.", path="model")
    if eval_metric is None:
        eval_metric = {"metric": "roc_auc" if multi_label else _DEFAULT_METRIC[task_type]}
    tiers = (_rgcn(task_type, features=features, imbalanced=imbalanced, multi_label=multi_label)
             if model == "rgcn" else _kge(model))
    body = {"model": model, "task_type": task_type, "eval_metric": dict(eval_metric),
            "eval_frequency": {"type": "evaluate_every_epoch", "value": 1}, **tiers}
    return copy.deepcopy({"models": [body]})


def write_templates(directory: "str | Path", model: str, task_type: str, **kwargs: Any) -> list[Path]:
    """Write ``model-HPO-configuration.json`` for ``model`` and, for each other model that does the task,
    ``hpo-configuration-templates/<model>.json`` (as Neptune's processing step does).

    Args:
        directory: where to write (created if missing).
        model: the model of ``model-HPO-configuration.json``.
        task_type: the task.
        **kwargs: passed to :func:`template`.

    Returns:
        The files written, the configuration first.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    main = out / "model-HPO-configuration.json"
    main.write_text(json.dumps(template(model, task_type, **kwargs), indent=2) + "\n", encoding="utf-8")
    written = [main]
    others = [m for m in MODELS_FOR_TASK[task_type] if m != model]
    if others:
        tdir = out / TEMPLATE_DIR
        tdir.mkdir(exist_ok=True)
        for m in others:
            path = tdir / f"{m}.json"
            path.write_text(json.dumps(template(m, task_type, **kwargs), indent=2) + "\n", encoding="utf-8")
            written.append(path)
    return written
