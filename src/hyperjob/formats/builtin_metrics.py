"""Metric names and log regexes of SageMaker's built-in algorithm images, for requests without MetricDefinitions.

A ``CreateHyperParameterTuningJob`` request for a built-in algorithm (``TrainingImage`` ``.../xgboost:1.7-1``)
carries no ``MetricDefinitions``: SageMaker keeps the regexes of its own algorithms. hyperjob ships them for the
algorithms it knows, so that such a request reads its objective from the log of the local program that stands in
for the image (a script printing the same lines, or hyperjob's own built-in algorithm):

- **xgboost** (``xgboost``, ``sagemaker-xgboost``): the names and directions of SageMaker's XGBoost tuning page
  (``validation:auc`` maximize, ``validation:rmse`` minimize, ...), the full lists and the regex of the open-source
  container (``sagemaker_xgboost_container/algorithm_mode/metrics.py``):
  ``.*\\[[0-9]+\\].*#011validation-<name>:(\\S+)``. ``#011`` is how CloudWatch writes the tab that XGBoost prints
  between metrics (``[3]#011train-auc:0.91#011validation-auc:0.89``); hyperjob reads the real tab as well, so a
  local ``xgboost.train(..., evals=...)`` log and a log copied from CloudWatch both match, and its value group is
  a number (sign and exponent included) rather than ``\\S+``, which in CloudWatch's form would swallow the
  metrics that follow (``0.89#011validation-error:0.1``).
- **image-classification**: ``validation:accuracy`` (maximize) is the metric SageMaker's page documents; the
  algorithm is MXNet's and prints ``Epoch[3] Validation-accuracy=0.912345``, which hyperjob's own
  ``image-classification`` prints too, beside ``Epoch[3] Train-accuracy=...``, ``Epoch[3] Train-loss=...`` and
  ``Epoch[3] Validation-top_k_accuracy_5=...``; those are ``train:accuracy``, ``train:loss`` (minimize) and
  ``validation:top_k_accuracy``.
- **factorization-machines**, **knn**, **object2vec**: the names and directions of their tuning pages
  (``test:rmse``, ``test:binary_classification_accuracy``, ``test:binary_classification_cross_entropy``,
  ``test:binary_f_beta``; ``test:accuracy``, ``test:mse``; ``validation:``/``test:`` ``accuracy``,
  ``cross_entropy``, ``mean_squared_error``). These first-party algorithms log
  ``#quality_metric: host=algo-1, [epoch=3, ]test rmse <loss>=0.93``; the regexes follow the definitions
  SageMaker attaches to first-party algorithms of that family (seen in a ``DescribeHyperParameterTuningJob``
  response for linear-learner: ``#quality_metric: host=\\S+, test mse <loss>=(\\S+)``). No public log of
  object2vec's metric lines was found, so its regexes are marked unconfirmed, and the request gets a warning
  that says so.

Every other value group is ``(\\S+)`` as in SageMaker's own definitions; all of them read signs and exponents.
Any other built-in image (``linear-learner``, ``kmeans``, ...) is recognised, and
:func:`missing_definitions_message` says what to add.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from hyperjob.errors import did_you_mean

__all__ = [
    "ALGORITHMS",
    "BUILTIN_IMAGES",
    "BuiltinAlgorithm",
    "BuiltinMetric",
    "algorithm_for_image",
    "image_repository",
    "missing_definitions_message",
]

Direction = Literal["maximize", "minimize"]

#: Image repository names of SageMaker's built-in algorithms (their metric regexes live inside SageMaker).
BUILTIN_IMAGES = (
    "xgboost", "sagemaker-xgboost", "image-classification", "object2vec", "factorization-machines", "knn",
    "linear-learner", "blazingtext", "kmeans", "pca", "lda", "ntm", "randomcutforest", "seq2seq",
    "semantic-segmentation", "object-detection", "ipinsights", "forecasting-deepar",
)


@dataclass(frozen=True)
class BuiltinMetric:
    """One metric a built-in algorithm logs: SageMaker's name, the regex that reads it, its tuning direction."""

    name: str
    regex: str
    direction: Direction


@dataclass(frozen=True)
class BuiltinAlgorithm:
    """A built-in algorithm whose metrics hyperjob knows.

    Attributes:
        name: the algorithm (``xgboost``, ``image-classification``...).
        images: the image repository names that run it.
        metrics: every metric it can be tuned on.
        example: a log line it prints, as an example for messages.
        confirmed: ``False`` when the regexes follow the algorithm family's convention but no published log of
            this algorithm confirms them (a warning says so).
    """

    name: str
    images: tuple[str, ...]
    metrics: tuple[BuiltinMetric, ...]
    example: str
    confirmed: bool = True

    def metric(self, name: str) -> BuiltinMetric | None:
        """The metric named ``name`` (exact spelling), or ``None``."""
        for m in self.metrics:
            if m.name == name:
                return m
        return None

    @property
    def names(self) -> tuple[str, ...]:
        """The metric names, in table order."""
        return tuple(m.name for m in self.metrics)

    def unknown_metric_message(self, metric: str) -> str:
        """What to tell a request whose objective is not one of this algorithm's metrics."""
        hint = did_you_mean(metric, self.names)
        return (
            f"the objective metric {metric!r} is not one that SageMaker's built-in algorithm {self.name!r} "
            f"computes.{hint} Its metrics: {', '.join(self.names)}. Use one of them, or add MetricDefinitions "
            f"[{{\"Name\": \"{metric}\", \"Regex\": ...}}] that read it from the program's output."
        )


# -- xgboost ------------------------------------------------------------------------------------------------------
#: sagemaker_xgboost_container.constants.xgb_constants
_XGB_MAXIMIZE = (
    "accuracy", "auc", "aucpr", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "map", "ndcg", "precision",
    "r2", "recall", "precision_macro", "precision_micro", "recall_macro", "recall_micro",
)
_XGB_MINIMIZE = (
    "aft-nloglik", "cox-nloglik", "error", "gamma-deviance", "gamma-nloglik", "interval-regression-accuracy",
    "logloss", "mae", "mape", "merror", "mlogloss", "mphe", "mse", "poisson-nloglik", "rmse", "rmsle",
    "tweedie-nloglik",
)


#: A number with sign and exponent; unlike ``\S+`` it stops at CloudWatch's ``#011`` before the next metric.
_XGB_VALUE = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"


def _xgb(name: str, direction: Direction) -> BuiltinMetric:
    return BuiltinMetric(f"validation:{name}",
                         rf".*\[[0-9]+\].*(?:#011|\t)validation-{re.escape(name)}:{_XGB_VALUE}", direction)


XGBOOST = BuiltinAlgorithm(
    name="xgboost",
    images=("xgboost", "sagemaker-xgboost"),
    metrics=tuple(_xgb(n, "maximize") for n in _XGB_MAXIMIZE) + tuple(_xgb(n, "minimize") for n in _XGB_MINIMIZE),
    example="[3]\ttrain-auc:0.912\tvalidation-auc:0.894",
)

# -- image-classification (MXNet's log lines; hyperjob's own algorithm prints the same) ----------------------------
_NUM = r"(\S+)"
IMAGE_CLASSIFICATION = BuiltinAlgorithm(
    name="image-classification",
    images=("image-classification",),
    metrics=(
        BuiltinMetric("validation:accuracy", rf"Epoch\[[0-9]+\] Validation-accuracy={_NUM}", "maximize"),
        BuiltinMetric("train:accuracy", rf"Epoch\[[0-9]+\] Train-accuracy={_NUM}", "maximize"),
        BuiltinMetric("train:loss", rf"Epoch\[[0-9]+\] Train-loss={_NUM}", "minimize"),
        BuiltinMetric("validation:top_k_accuracy", rf"Epoch\[[0-9]+\] Validation-top_k_accuracy_[0-9]+={_NUM}",
                      "maximize"),
    ),
    example="Epoch[3] Validation-accuracy=0.912345",
)


# -- first-party algorithms: "#quality_metric: host=algo-1, [epoch=N, ]<channel> <metric> <score|loss>=<value>" ---
def _quality(channel: str, metric: str, kind: Literal["score", "loss"], direction: Direction,
             name: str | None = None, pattern: str | None = None) -> BuiltinMetric:
    text = pattern if pattern is not None else re.escape(metric)
    regex = rf"#quality_metric: host=\S+, (?:epoch=\S+, )?{channel} {text} <{kind}>=(\S+)"
    return BuiltinMetric(name or f"{channel}:{metric}", regex, direction)


FACTORIZATION_MACHINES = BuiltinAlgorithm(
    name="factorization-machines",
    images=("factorization-machines",),
    metrics=(
        _quality("test", "rmse", "loss", "minimize"),
        _quality("test", "binary_classification_accuracy", "score", "maximize"),
        _quality("test", "binary_classification_cross_entropy", "loss", "minimize"),
        _quality("test", "binary_f_beta", "score", "maximize", pattern=r"binary_f_\S+"),
    ),
    example="#quality_metric: host=algo-1, test rmse <loss>=0.9321",
)

KNN = BuiltinAlgorithm(
    name="knn",
    images=("knn",),
    metrics=(
        _quality("test", "accuracy", "score", "maximize"),
        _quality("test", "mse", "loss", "minimize"),
    ),
    example="#quality_metric: host=algo-1, test mse <loss>=0.0412",
)

OBJECT2VEC = BuiltinAlgorithm(
    name="object2vec",
    images=("object2vec",),
    metrics=tuple(
        _quality(channel, metric, kind, direction)
        for channel in ("validation", "test")
        for metric, kind, direction in (
            ("accuracy", "score", "maximize"),
            ("cross_entropy", "loss", "minimize"),
            ("mean_squared_error", "loss", "minimize"),
        )
    ),
    example="#quality_metric: host=algo-1, epoch=3, validation accuracy <score>=0.81",
    confirmed=False,
)

#: The built-in algorithms whose metrics hyperjob knows, by name.
ALGORITHMS: dict[str, BuiltinAlgorithm] = {
    a.name: a for a in (XGBOOST, IMAGE_CLASSIFICATION, FACTORIZATION_MACHINES, KNN, OBJECT2VEC)
}


def image_repository(image: str) -> str:
    """The repository name of a container image URI, without registry, tag or digest.

    >>> image_repository("246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-1")
    'sagemaker-xgboost'
    >>> image_repository("433757028032.dkr.ecr.us-west-2.amazonaws.com/image-classification@sha256:ab12")
    'image-classification'
    """
    return image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]


def algorithm_for_image(image: str) -> BuiltinAlgorithm | None:
    """The known built-in algorithm an image runs, or ``None`` (an unknown built-in, or not a built-in)."""
    repo = image_repository(image)
    for algorithm in ALGORITHMS.values():
        if repo in algorithm.images:
            return algorithm
    return None


def missing_definitions_message(image: str, metric: str) -> str:
    """What to tell a request for a built-in image whose metrics hyperjob does not know."""
    repo = image_repository(image)
    known = ", ".join(sorted(ALGORITHMS))
    return (
        f"TrainingImage {image!r} is SageMaker's built-in algorithm {repo!r}, whose metric regexes live inside "
        f"SageMaker and are not shipped with hyperjob (it knows those of {known}). Add MetricDefinitions to "
        f"AlgorithmSpecification, e.g. [{{\"Name\": \"{metric}\", \"Regex\": \"{metric}=(\\\\S+)\"}}] with a "
        "regex that matches the line your local program prints, or report the objective from the program with "
        f"hyperjob.report(step=..., **{{{metric!r}: value}})."
    )
