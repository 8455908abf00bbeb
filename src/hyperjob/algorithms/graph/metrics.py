"""The ``eval_metric`` values of Neptune ML (seed 000), computed with torch on whole prediction tensors.

=============  =====================================================================================  =========
metric         meaning                                                                                direction
=============  =====================================================================================  =========
``acc``        fraction of correct predictions (multi-label: every label of a node right, "subset")  maximize
``acc_topk``   fraction of nodes whose label is among the ``topk`` highest scores (default 3)        maximize
``F1``         F1 score: binary for 2 classes (class 1 positive), else macro average over classes    maximize
``precision``  true positives / predicted positives, averaged like ``F1``                            maximize
``recall``     true positives / actual positives, averaged like ``F1``                               maximize
``roc_auc``    area under the ROC curve: binary on class 1's score, multi-class one-vs-rest macro,    maximize
               multi-label macro over labels; link prediction: positive against negative scores
``mse``        mean squared error (node regression)                                                  minimize
``mrr``        mean reciprocal rank of the true node among the candidates (link prediction)          maximize
=============  =====================================================================================  =========

The values equal scikit-learn's (``accuracy_score``, ``top_k_accuracy_score``, ``f1_score`` /
``precision_score`` / ``recall_score`` with ``average="binary"`` or ``"macro"`` and ``zero_division=0``,
``roc_auc_score`` with ``multi_class="ovr"``, ``mean_squared_error``); the tests check each one. scikit-learn is
not needed at training time.

Defaults per task (seed 000): ``acc`` for single-label node classification, ``F1`` when its labels are
imbalanced (:func:`is_imbalanced`), ``roc_auc`` for multi-label classification, ``mse`` for node regression,
``mrr`` for link prediction.
"""

from __future__ import annotations

import torch

from hyperjob.algorithms.graph.hyperparameters import METRICS, METRICS_BY_TASK
from hyperjob.errors import SpecError

__all__ = [
    "METRICS",
    "METRICS_BY_TASK",
    "DIRECTIONS",
    "DEFAULT_TOPK",
    "IMBALANCE_RATIO",
    "default_metric",
    "is_imbalanced",
    "is_better",
    "accuracy",
    "topk_accuracy",
    "precision_recall_f1",
    "roc_auc",
    "mse",
    "mrr",
    "hits_at",
    "ranks_of_true",
    "classification_metric",
]

#: "max" or "min" per metric
DIRECTIONS: dict[str, str] = {m: ("min" if m == "mse" else "max") for m in METRICS}
#: k of acc_topk when the configuration gives no ``topk``
DEFAULT_TOPK = 3
#: labels are imbalanced when the most frequent class has at least this many times the labelled nodes of the
#: least frequent one
IMBALANCE_RATIO = 3.0


def is_imbalanced(labels: torch.Tensor, num_classes: int) -> bool:
    """Whether single-label classes are imbalanced: max class count >= IMBALANCE_RATIO × min class count.

    Args:
        labels: int64 ``[n]`` class ids of labelled nodes (-1 entries are ignored).
        num_classes: number of classes; a class with no labelled node counts as 0 (imbalanced).
    """
    y = labels[labels >= 0]
    if y.numel() == 0 or num_classes < 2:
        return False
    counts = torch.bincount(y, minlength=num_classes).double()
    return bool(counts.max() >= IMBALANCE_RATIO * counts.min())


def default_metric(task: str, multi_label: bool = False, imbalanced: bool = False) -> str:
    """The seed's default eval_metric for a task."""
    if task == "node_regression":
        return "mse"
    if task == "link_prediction":
        return "mrr"
    if multi_label:
        return "roc_auc"
    return "F1" if imbalanced else "acc"


def is_better(metric: str, new: float, old: float) -> bool:
    """Whether ``new`` is strictly better than ``old`` for ``metric``."""
    return new < old if DIRECTIONS[metric] == "min" else new > old


# ---------------------------------------------------------------------------------------------- classification
def accuracy(scores: torch.Tensor, labels: torch.Tensor, multi_label: bool = False) -> float:
    """Accuracy. Single-label: ``scores [n, C]`` argmax against ``labels [n]``. Multi-label: ``scores [n, C]``
    are logits, a label is predicted when its logit > 0 (probability > 0.5); a node counts when all C match."""
    if labels.numel() == 0:
        return float("nan")
    if multi_label:
        pred = scores > 0
        return float((pred == labels.bool()).all(dim=1).double().mean())
    return float((scores.argmax(dim=1) == labels).double().mean())


def topk_accuracy(scores: torch.Tensor, labels: torch.Tensor, k: int = DEFAULT_TOPK) -> float:
    """Fraction of nodes whose true class is among the ``k`` highest scores (ties: lower class id first)."""
    if labels.numel() == 0:
        return float("nan")
    k = min(int(k), scores.shape[1])
    # a stable order that breaks ties by class id, as scikit-learn's top_k_accuracy_score does
    order = torch.argsort(-scores.double(), dim=1, stable=True)[:, :k]
    return float((order == labels.unsqueeze(1)).any(dim=1).double().mean())


def precision_recall_f1(
    scores: torch.Tensor, labels: torch.Tensor, multi_label: bool = False
) -> tuple[float, float, float]:
    """Precision, recall and F1: binary on class 1 for two classes, macro average over classes otherwise.

    A class with no predicted (or no actual) positive contributes 0 to the average (``zero_division=0``).
    """
    C = scores.shape[1]
    if multi_label:
        pred = scores > 0
        true = labels.bool()
        tp = (pred & true).sum(0).double()
        pp = pred.sum(0).double()
        ap = true.sum(0).double()
    else:
        pred_c = scores.argmax(dim=1)
        tp = torch.bincount(labels[pred_c == labels], minlength=C).double()
        pp = torch.bincount(pred_c, minlength=C).double()
        ap = torch.bincount(labels, minlength=C).double()
        if C == 2:
            tp, pp, ap = tp[1:], pp[1:], ap[1:]
        else:  # macro over the classes that occur in the labels or the predictions (as scikit-learn)
            seen = (pp + ap) > 0
            tp, pp, ap = tp[seen], pp[seen], ap[seen]
    prec = torch.where(pp > 0, tp / pp.clamp(min=1), torch.zeros_like(tp))
    rec = torch.where(ap > 0, tp / ap.clamp(min=1), torch.zeros_like(tp))
    denom = pp + ap
    f1 = torch.where(denom > 0, 2 * tp / denom.clamp(min=1), torch.zeros_like(tp))
    return float(prec.mean()), float(rec.mean()), float(f1.mean())


def _binary_auc(score: torch.Tensor, positive: torch.Tensor) -> float:
    """Area under the ROC curve of one binary problem (Mann-Whitney U with average ranks for ties)."""
    score = score.double()
    n_pos = int(positive.sum())
    n_neg = int(positive.numel() - n_pos)
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    sorted_s, order = torch.sort(score)
    # average rank (1-based) of each group of equal scores
    _, inverse, counts = torch.unique_consecutive(sorted_s, return_inverse=True, return_counts=True)
    ends = torch.cumsum(counts, 0).double()
    avg_rank = ends - (counts.double() - 1) / 2
    ranks = torch.empty_like(score)
    ranks[order] = avg_rank[inverse]
    rank_sum = ranks[positive.bool()].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_auc(scores: torch.Tensor, labels: torch.Tensor, multi_label: bool = False) -> float:
    """ROC AUC: binary (class 1's score), multi-class one-vs-rest macro on softmax probabilities, or
    multi-label macro over labels. Classes that never (or always) occur are left out of the average."""
    if labels.numel() == 0:
        return float("nan")
    if multi_label:
        per = [_binary_auc(scores[:, c], labels[:, c] > 0.5) for c in range(scores.shape[1])]
    elif scores.shape[1] == 2:
        return _binary_auc(scores[:, 1] - scores[:, 0], labels == 1)
    else:
        prob = torch.softmax(scores.double(), dim=1)
        per = [_binary_auc(prob[:, c], labels == c) for c in range(scores.shape[1])]
    vals = torch.tensor([p for p in per if p == p], dtype=torch.float64)
    return float(vals.mean()) if vals.numel() else float("nan")


def classification_metric(
    metric: str, scores: torch.Tensor, labels: torch.Tensor, multi_label: bool = False, topk: int | None = None
) -> float:
    """One node-classification metric from scores (logits) ``[n, C]`` and labels.

    Raises:
        SpecError: the metric is not one of node classification's, or acc_topk with multi-label.
    """
    if metric == "acc":
        return accuracy(scores, labels, multi_label)
    if metric == "acc_topk":
        if multi_label:
            raise SpecError(
                "eval_metric 'acc_topk' needs single-label classes, the graph is multi-label. "
                "Use 'roc_auc' (the default), 'acc', 'F1', 'precision' or 'recall'."
            )
        return topk_accuracy(scores, labels, DEFAULT_TOPK if topk is None else topk)
    if metric in ("F1", "precision", "recall"):
        p, r, f = precision_recall_f1(scores, labels, multi_label)
        return {"F1": f, "precision": p, "recall": r}[metric]
    if metric == "roc_auc":
        return roc_auc(scores, labels, multi_label)
    raise SpecError(
        f"eval_metric {metric!r} does not apply to node classification; use one of "
        f"{', '.join(METRICS_BY_TASK['node_class'])}."
    )


# ---------------------------------------------------------------------------------------------- regression
def mse(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Mean squared error."""
    if target.numel() == 0:
        return float("nan")
    return float(((pred.double() - target.double()) ** 2).mean())


# ---------------------------------------------------------------------------------------------- ranking
def ranks_of_true(true_scores: torch.Tensor, candidate_scores: torch.Tensor) -> torch.Tensor:
    """1-based rank of each true score among its candidates' scores (ties count half, "average" rank).

    Args:
        true_scores: ``[q]`` score of the true answer of each query.
        candidate_scores: ``[q, c]`` scores of the other candidates (filtered ones set to ``-inf``).
    """
    t = true_scores.unsqueeze(1)
    higher = (candidate_scores > t).sum(1).double()
    ties = (candidate_scores == t).sum(1).double()
    return 1 + higher + ties / 2


def mrr(ranks: torch.Tensor) -> float:
    """Mean reciprocal rank from 1-based ranks."""
    if ranks.numel() == 0:
        return float("nan")
    return float((1.0 / ranks.double()).mean())


def hits_at(ranks: torch.Tensor, k: int) -> float:
    """Fraction of queries whose true answer ranks in the top ``k``."""
    if ranks.numel() == 0:
        return float("nan")
    return float((ranks <= k).double().mean())
