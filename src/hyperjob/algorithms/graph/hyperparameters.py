"""The hyperparameters of the graph training program: Neptune ML's list (seed 000), which apply to which model
and task, their defaults, and how their values are read from ``--name value`` arguments.

This module imports no torch, so the algorithm registry and the processing step can use it cheaply.

Which hyperparameters apply (anything else is an error naming the model and task):

* ``rgcn``, every task: batch-size, concat-node-embed, dropout, edge-num-hidden, enable-early-stop, fanout,
  global-norm (accepted and ignored, below), l2norm, layer-norm, low-mem, lr, num-bases, num-epochs, num-hidden, num-layer, per-feat-name-embed,
  sparse-embedding, sparse-lr, use-edge-features, use-self-loop, window-for-early-stop; plus use-class-weight
  for node_class; plus neg-share, num-negs, regularization-coef for link_prediction.
* ``transe``, ``distmult``, ``rotate`` (link_prediction only): batch-size, enable-early-stop, gamma, lr,
  neg-share, num-epochs, num-hidden, num-negs, regularization-coef, rel-part, sparse-lr,
  window-for-early-stop. Their entity embeddings are the learnable node embeddings: they train at
  ``sparse-lr``, the relation embeddings at ``lr``.

``sparse-embedding`` is not in the seed's list but Neptune ML writes it into generated rgcn configurations
(``../shared/corpus/neptune/configs/02-*``): it makes the learnable node embeddings sparse (trained by their own
optimizer with ``sparse-lr``) or dense (trained with the other parameters by the main optimizer at ``lr``).

``global-norm`` (a bool) is written into the same generated rgcn configurations, but neither Neptune ML's
documentation nor its toolkit publishes what it does. It is *accepted and ignored* for rgcn (so a generated
configuration runs as its authors meant it to run: to completion): its value is checked (true or false), kept in
the hyperparameters the model is saved with, and has no effect; the training program logs one warning line naming
it (:func:`ignored_warnings`). Such names are listed in :data:`IGNORED_HYPERPARAMETERS`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from hyperjob.errors import SpecError

__all__ = [
    "HyperparameterSpec",
    "HYPERPARAMETERS",
    "IGNORED_HYPERPARAMETERS",
    "applicable",
    "ignored_warnings",
    "defaults",
    "parse_value",
    "check_hyperparameters",
    "MODEL_TASKS",
    "METRICS",
    "METRICS_BY_TASK",
]

#: the eval_metric values of seed 000 (computed in :mod:`hyperjob.algorithms.graph.metrics`)
METRICS = ("acc", "acc_topk", "F1", "mse", "mrr", "precision", "recall", "roc_auc")
#: which metrics each task can compute
METRICS_BY_TASK: dict[str, tuple[str, ...]] = {
    "node_class": ("acc", "acc_topk", "F1", "precision", "recall", "roc_auc"),
    "node_regression": ("mse",),
    "link_prediction": ("mrr", "roc_auc"),
}

#: tasks each model can train
MODEL_TASKS: dict[str, tuple[str, ...]] = {
    "rgcn": ("node_class", "node_regression", "link_prediction"),
    "transe": ("link_prediction",),
    "distmult": ("link_prediction",),
    "rotate": ("link_prediction",),
}


@dataclass(frozen=True)
class HyperparameterSpec:
    """One hyperparameter: its type (``bool``, ``int``, ``float``, ``int_list``), default and meaning."""

    name: str
    type: str
    default: Any
    help: str
    check: Callable[[Any], bool] = lambda v: True
    valid: str = ""


def _pos(v: Any) -> bool:
    return v > 0


HYPERPARAMETERS: dict[str, HyperparameterSpec] = {
    h.name: h
    for h in [
        HyperparameterSpec("batch-size", "int", 1024, "target nodes (node tasks) or positive edges (link "
                           "prediction) per mini-batch", _pos, "a whole number >= 1"),
        HyperparameterSpec("concat-node-embed", "bool", False, "concatenate a learnable embedding to each "
                           "node's projected features"),
        HyperparameterSpec("dropout", "float", 0.3, "dropout probability after the input and every layer",
                           lambda v: 0 <= v < 1, "in [0, 1)"),
        HyperparameterSpec("edge-num-hidden", "int", 16, "hidden size of the edge-feature module (with "
                           "use-edge-features)", _pos, "a whole number >= 1"),
        HyperparameterSpec("enable-early-stop", "bool", True, "stop when the validation metric is worse than "
                           "the average of the last window-for-early-stop evaluations"),
        HyperparameterSpec("fanout", "int_list", [10, 15, 15], "neighbours sampled per node and edge type, "
                           "one per layer (input layer first), -1 for all",
                           lambda v: all(f >= 1 or f == -1 for f in v) and len(v) >= 1,
                           "a list of whole numbers >= 1 (or -1), e.g. [10, 15]"),
        HyperparameterSpec("global-norm", "bool", True, "accepted and ignored: Neptune ML writes it into "
                           "generated rgcn configurations and publishes no meaning for it"),
        HyperparameterSpec("gamma", "float", 12.0, "margin in the TransE/RotatE score; initialisation scale",
                           _pos, "a number > 0"),
        HyperparameterSpec("l2norm", "float", 0.0, "weight decay of the optimizer", lambda v: v >= 0,
                           "a number >= 0"),
        HyperparameterSpec("layer-norm", "bool", False, "layer normalisation in every R-GCN layer"),
        HyperparameterSpec("low-mem", "bool", True, "relational messages one relation at a time (less memory, "
                           "slower)"),
        HyperparameterSpec("lr", "float", 0.01, "learning rate", _pos, "a number > 0"),
        HyperparameterSpec("neg-share", "bool", True, "the positive edges of a mini-batch share their negative "
                           "samples"),
        HyperparameterSpec("num-bases", "int", 0, "bases of the R-GCN basis decomposition (0: none)",
                           lambda v: v >= 0, "a whole number >= 0"),
        HyperparameterSpec("num-epochs", "int", 10, "training epochs", _pos, "a whole number >= 1"),
        HyperparameterSpec("num-hidden", "int", 32, "hidden size; embedding size of nodes without features",
                           _pos, "a whole number >= 1"),
        HyperparameterSpec("num-layer", "int", 2, "R-GCN layers", _pos, "a whole number >= 1"),
        HyperparameterSpec("num-negs", "int", 10, "negative samples per positive edge", _pos,
                           "a whole number >= 1"),
        HyperparameterSpec("per-feat-name-embed", "bool", False, "transform each feature on its own before "
                           "combining them"),
        HyperparameterSpec("regularization-coef", "float", 0.0, "coefficient of the embedding regularisation "
                           "loss (link prediction)", lambda v: v >= 0, "a number >= 0"),
        HyperparameterSpec("rel-part", "bool", False, "relation partitioning: every mini-batch holds the edges "
                           "of one relation"),
        HyperparameterSpec("sparse-embedding", "bool", True, "learnable node embeddings sparse, with their own "
                           "optimizer at sparse-lr"),
        HyperparameterSpec("sparse-lr", "float", 0.01, "learning rate of the learnable node embeddings", _pos,
                           "a number > 0"),
        HyperparameterSpec("use-class-weight", "bool", False, "weight the loss of each class by the inverse of "
                           "its frequency"),
        HyperparameterSpec("use-edge-features", "bool", False, "add an edge-feature module to the R-GCN "
                           "messages of edge types with features"),
        HyperparameterSpec("use-self-loop", "bool", True, "add each node's own transformed representation"),
        HyperparameterSpec("window-for-early-stop", "int", 3, "validation scores averaged by early stopping",
                           _pos, "a whole number >= 1"),
    ]
}

#: hyperparameters accepted (value checked) and ignored, with the reason the training log gives
IGNORED_HYPERPARAMETERS: dict[str, str] = {
    "global-norm": "Neptune ML writes it into generated rgcn configurations (e.g. ../shared/corpus/neptune/configs/"
                   "02-*) but neither its documentation nor the neptuneml-toolkit publishes what it does, so it has "
                   "no effect here",
}

_RGCN_COMMON = frozenset({
    "batch-size", "concat-node-embed", "dropout", "edge-num-hidden", "enable-early-stop", "fanout", "l2norm",
    "global-norm", "layer-norm", "low-mem", "lr", "num-bases", "num-epochs", "num-hidden", "num-layer", "per-feat-name-embed",
    "sparse-embedding", "sparse-lr", "use-edge-features", "use-self-loop", "window-for-early-stop",
})
_KGE = frozenset({
    "batch-size", "enable-early-stop", "gamma", "lr", "neg-share", "num-epochs", "num-hidden", "num-negs",
    "regularization-coef", "rel-part", "sparse-lr", "window-for-early-stop",
})
_APPLIES: dict[tuple[str, str], frozenset[str]] = {
    ("rgcn", "node_class"): _RGCN_COMMON | {"use-class-weight"},
    ("rgcn", "node_regression"): _RGCN_COMMON,
    ("rgcn", "link_prediction"): _RGCN_COMMON | {"neg-share", "num-negs", "regularization-coef"},
    ("transe", "link_prediction"): _KGE,
    ("distmult", "link_prediction"): _KGE,
    ("rotate", "link_prediction"): _KGE,
}
#: defaults that differ by model (DGL-KE's usual values for the KGE models)
_MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    m: {"num-hidden": 128, "lr": 0.05, "sparse-lr": 0.05, "num-negs": 64, "batch-size": 1024,
        "regularization-coef": 1e-6}
    for m in ("transe", "distmult", "rotate")
}


def _check_model_task(model: str, task: str) -> None:
    if model not in MODEL_TASKS:
        raise SpecError(
            f"model must be one of {', '.join(MODEL_TASKS)}, got {model!r}. Use rgcn for node tasks and "
            f"heterogeneous link prediction, transe (or distmult, rotate) for knowledge-graph link prediction.",
            path="model",
        )
    if task not in MODEL_TASKS[model]:
        raise SpecError(
            f"model {model!r} cannot train task {task!r}; it trains {', '.join(MODEL_TASKS[model])}. "
            f"Use rgcn for {task}.",
            path="task",
        )


def applicable(model: str, task: str) -> frozenset[str]:
    """Names of the hyperparameters that apply to ``model`` on ``task``.

    Raises:
        SpecError: unknown model, or a task the model cannot train.
    """
    _check_model_task(model, task)
    return _APPLIES[(model, task)]


def defaults(model: str, task: str) -> dict[str, Any]:
    """Default value of every hyperparameter that applies to ``model`` on ``task``."""
    names = applicable(model, task)
    out = {n: HYPERPARAMETERS[n].default for n in sorted(names) if n not in IGNORED_HYPERPARAMETERS}
    out.update({k: v for k, v in _MODEL_DEFAULTS.get(model, {}).items() if k in names})
    return out


def parse_value(name: str, raw: Any) -> Any:
    """Read one hyperparameter value as given on the command line (a string) or in JSON.

    Accepts ``True``/``true``/``1`` and ``False``/``false``/``0`` for booleans, ``"32"`` or ``32.0`` for whole
    numbers, JSON lists (``[10, 15]``), comma-separated lists (``10,15``) or one number for ``fanout``.

    Raises:
        SpecError: the name is unknown, or the value is not of the hyperparameter's type or out of its range;
            the message names ``hyperparameters.<name>`` and the value.
    """
    spec = HYPERPARAMETERS.get(name)
    path = f"hyperparameters.{name}"
    if spec is None:
        raise SpecError(
            f"unknown hyperparameter {name!r}. The graph models know {', '.join(sorted(HYPERPARAMETERS))}.",
            path=path,
        )
    value: Any
    try:
        if spec.type == "bool":
            value = _bool(raw)
        elif spec.type == "int":
            value = _int(raw)
        elif spec.type == "float":
            value = float(raw)
            if isinstance(raw, bool) or not math.isfinite(value):
                raise ValueError
        else:
            value = _int_list(raw)
    except (ValueError, TypeError):
        kind = {"bool": "true or false", "int": "a whole number", "float": "a finite number",
                "int_list": "a list of whole numbers such as [10, 15]"}[spec.type]
        raise SpecError(f"must be {kind}, got {raw!r}.", path=path) from None
    if not spec.check(value):
        raise SpecError(f"must be {spec.valid}, got {raw!r}.", path=path)
    return value


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    s = str(raw).strip().lower()
    if s in ("true", "1", "yes"):
        return True
    if s in ("false", "0", "no"):
        return False
    raise ValueError(raw)


def _int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError(raw)
    f = float(raw)
    if not f.is_integer():
        raise ValueError(raw)
    return int(f)


def _int_list(raw: Any) -> list[int]:
    if isinstance(raw, str):
        s = raw.strip()
        raw = json.loads(s) if s.startswith("[") else [p for p in s.split(",") if p.strip()]
    if isinstance(raw, (int, float, str)) and not isinstance(raw, bool):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise ValueError(raw)
    return [_int(v) for v in raw]


def check_hyperparameters(model: str, task: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """Every applicable hyperparameter's value: the given ones parsed and checked, the rest defaulted.

    Args:
        model: ``rgcn``, ``transe``, ``distmult`` or ``rotate``.
        task: ``node_class``, ``node_regression`` or ``link_prediction``.
        given: name → raw value (strings from the command line, or JSON values).

    A name of :data:`IGNORED_HYPERPARAMETERS` is in the result only when given (checked, without effect).

    Raises:
        SpecError: an unknown name, one that does not apply to the model (the message names the model and
            task and lists what applies), or a bad value.
    """
    names = applicable(model, task)
    out = defaults(model, task)
    for name, raw in given.items():
        if name not in HYPERPARAMETERS:
            parse_value(name, raw)  # raises the unknown-name error
        if name not in names:
            raise SpecError(
                f"{name!r} does not apply to model {model!r} on task {task!r}. Remove it from the "
                f"configuration; {model} on {task} takes {', '.join(sorted(names))}.",
                path=f"hyperparameters.{name}",
            )
        out[name] = parse_value(name, raw)
    if model == "rgcn" and len(out["fanout"]) < out["num-layer"]:
        raise SpecError(
            f"fanout {out['fanout']} has {len(out['fanout'])} value(s) for num-layer {out['num-layer']}: give one "
            f"fanout per layer (e.g. {([10] * out['num-layer'])}), or lower num-layer.",
            path="hyperparameters.fanout",
        )
    return out


def ignored_warnings(hyperparameters: Mapping[str, Any]) -> list[str]:
    """One warning line per accepted-and-ignored hyperparameter in ``hyperparameters`` (checked values).

    Example:
        >>> ignored_warnings({"global-norm": True, "lr": 0.01})[0][:60]
        "warning: hyperparameter 'global-norm' (True) is accepted and"
    """
    return [f"warning: hyperparameter {name!r} ({hyperparameters[name]!r}) is accepted and ignored: "
            f"{IGNORED_HYPERPARAMETERS[name]}." for name in sorted(hyperparameters) if name in IGNORED_HYPERPARAMETERS]
