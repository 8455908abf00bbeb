"""The graph models as built-in algorithms (``rgcn``, ``transe``, ``distmult``, ``rotate``) for the registry.

Standard library only (no torch): :mod:`hyperjob.algorithms` reads :data:`RGCN`, :data:`TRANSE`,
:data:`DISTMULT` and :data:`ROTATE` from here. Each runs ``python -m hyperjob.algorithms.graph`` with the static
hyperparameter ``model`` set to its name; the processed graph comes from the ``train`` channel.

The training program reports every evaluation with ``hyperjob.report(step=<epoch from 0>, acc=..., ...)``
under the metric's own name (``acc``, ``F1``, ``mrr``, ``hits@10``, ``train_loss``): the name a
``model-HPO-configuration.json``'s ``eval_metric`` gives the tuning job as its objective, and the objective of
these algorithms by default. It also prints one line per evaluation,
``[epoch E batch B] validation acc=0.81 ... train_loss=0.4``, which :data:`METRIC_DEFINITIONS` reads as
``validation:acc``, ``validation:mrr``, ..., ``train:loss`` (SageMaker-style names, as image-classification's).
The two series have different names on purpose: a value read from a log line gets the count of earlier values as
its step, which equals the epoch only when every epoch is evaluated once; the reported series always has the
epoch as its step.

Example:
    >>> RGCN.objective.metric, TRANSE.objective.metric, RGCN.default_static
    ('acc', 'mrr', {'model': 'rgcn'})
"""

from __future__ import annotations

import re
from typing import Any

from hyperjob.algorithms.graph.hyperparameters import MODEL_TASKS, applicable
from hyperjob.records import Direction, MetricDefinition, Objective

__all__ = ["METRIC_DEFINITIONS", "RGCN", "TRANSE", "DISTMULT", "ROTATE", "default_ranges", "metric_regex"]

_NUMBER = r"([-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|nan|inf))"
#: every metric the program can print: the eval_metric values, hits@k of link prediction, the train loss
_METRICS = ("acc", "acc_topk", "F1", "precision", "recall", "roc_auc", "mse", "mrr", "hits@1", "hits@3",
            "hits@10", "train_loss")
#: the program's own options (not model hyperparameters), both spellings
_CONTROL = ("model", "task", "task-type", "eval-metric", "topk", "eval-frequency-type", "eval-frequency-value",
            "seed", "device")
_CONTROL_ALL = _CONTROL + tuple(c.replace("-", "_") for c in _CONTROL if "-" in c)


def metric_regex(name: str) -> str:
    """The regex that reads metric ``name`` from the program's validation lines."""
    return r"\] validation .*?(?<![\w@])" + re.escape(name) + "=" + _NUMBER


METRIC_DEFINITIONS: tuple[MetricDefinition, ...] = tuple(
    MetricDefinition("train:loss" if m == "train_loss" else f"validation:{m}", metric_regex(m)) for m in _METRICS
)


def default_ranges(model: str) -> dict[str, dict[str, Any]]:
    """Tier 1 of the default ``model-HPO-configuration.json`` (``templates.py``) in ``job.yaml`` syntax:
    ``num-hidden`` 16..128 in powers of 2, ``num-epochs`` 3..30, ``lr`` log-scaled (0.001..0.01 for rgcn,
    0.001..0.1 for the KGE models)."""
    return {
        "num-hidden": {"type": "discrete", "values": [16, 32, 64, 128]},
        "num-epochs": {"type": "integer", "min_value": 3, "max_value": 30},
        "lr": {"type": "continuous", "min_value": 0.001, "max_value": 0.01 if model == "rgcn" else 0.1,
               "scaling": "logarithmic"},
    }


def _algorithm(model: str, objective: str, description: str) -> Any:
    from hyperjob.algorithms import BuiltinAlgorithm  # the registry imports this module lazily

    names: set[str] = set()
    for task in MODEL_TASKS[model]:
        names |= applicable(model, task)
    return BuiltinAlgorithm(
        name=model,
        module="hyperjob.algorithms.graph",
        metric_definitions=METRIC_DEFINITIONS,
        objective=Objective(objective, Direction.MAXIMIZE),
        default_ranges=default_ranges(model),
        default_static={"model": model},
        required=(),
        description=description,
        hyperparameters=tuple(sorted(names)) + _CONTROL_ALL,
    )


RGCN = _algorithm("rgcn", "acc", "R-GCN graph neural network: node classification, node regression, "
                  "heterogeneous link prediction (Neptune ML)")
TRANSE = _algorithm("transe", "mrr", "TransE knowledge-graph embeddings: link prediction (Neptune ML)")
DISTMULT = _algorithm("distmult", "mrr", "DistMult knowledge-graph embeddings: link prediction (Neptune ML)")
ROTATE = _algorithm("rotate", "mrr", "RotatE knowledge-graph embeddings: link prediction (Neptune ML)")
