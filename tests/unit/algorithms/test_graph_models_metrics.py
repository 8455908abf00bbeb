"""Every eval_metric against scikit-learn's value on the same predictions."""

import numpy as np
import pytest
import torch

from hyperjob.algorithms.graph import metrics as M
from hyperjob.errors import SpecError

import sklearn.metrics as sk  # scikit-learn: hyperjob[ml]

torch.set_num_threads(1)


def _single(n=200, c=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, c, (n,), generator=g)
    scores = torch.randn(n, c, generator=g) + 1.5 * torch.nn.functional.one_hot(y, c)
    return scores, y


@pytest.mark.parametrize("c", [2, 4])
def test_acc_precision_recall_f1_match_sklearn(c):
    scores, y = _single(c=c)
    pred = scores.argmax(1).numpy()
    avg = "binary" if c == 2 else "macro"
    assert M.classification_metric("acc", scores, y) == pytest.approx(sk.accuracy_score(y, pred))
    assert M.classification_metric("precision", scores, y) == pytest.approx(
        sk.precision_score(y, pred, average=avg, zero_division=0))
    assert M.classification_metric("recall", scores, y) == pytest.approx(
        sk.recall_score(y, pred, average=avg, zero_division=0))
    assert M.classification_metric("F1", scores, y) == pytest.approx(sk.f1_score(y, pred, average=avg, zero_division=0))


def test_macro_f1_with_a_class_never_predicted_or_present():
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    scores = torch.nn.functional.one_hot(torch.tensor([0, 0, 0, 1, 0, 1]), 4).float()  # class 2 never predicted
    pred = scores.argmax(1).numpy()
    for name, fn in [("F1", sk.f1_score), ("precision", sk.precision_score), ("recall", sk.recall_score)]:
        assert M.classification_metric(name, scores, y) == pytest.approx(fn(y, pred, average="macro", zero_division=0))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_acc_topk_matches_sklearn(k):
    scores, y = _single(c=5)
    assert M.classification_metric("acc_topk", scores, y, topk=k) == pytest.approx(
        sk.top_k_accuracy_score(y, scores.numpy(), k=k, labels=list(range(5))))


def test_acc_topk_default_k_is_3():
    scores, y = _single(c=5)
    assert M.classification_metric("acc_topk", scores, y) == pytest.approx(
        sk.top_k_accuracy_score(y, scores.numpy(), k=3, labels=list(range(5))))


def test_roc_auc_binary_and_multiclass_match_sklearn():
    scores, y = _single(c=2)
    assert M.classification_metric("roc_auc", scores, y) == pytest.approx(
        sk.roc_auc_score(y, (scores[:, 1] - scores[:, 0]).numpy()))
    scores, y = _single(c=4)
    prob = torch.softmax(scores.double(), 1).numpy()
    assert M.classification_metric("roc_auc", scores, y) == pytest.approx(
        sk.roc_auc_score(y, prob, multi_class="ovr", average="macro"))


def test_roc_auc_with_ties_matches_sklearn():
    s = torch.tensor([0.1, 0.1, 0.5, 0.5, 0.5, 0.9, 0.2, 0.2])
    pos = torch.tensor([0, 1, 0, 1, 1, 1, 0, 0]).bool()
    assert M._binary_auc(s, pos) == pytest.approx(sk.roc_auc_score(pos.numpy(), s.numpy()))


def test_multi_label_metrics_match_sklearn():
    g = torch.Generator().manual_seed(3)
    y = (torch.rand(100, 4, generator=g) < 0.4).float()
    logits = torch.randn(100, 4, generator=g) + 2 * (y - 0.5)
    pred = (logits > 0).numpy().astype(int)
    assert M.classification_metric("acc", logits, y, multi_label=True) == pytest.approx(sk.accuracy_score(y.numpy(), pred))
    assert M.classification_metric("F1", logits, y, multi_label=True) == pytest.approx(
        sk.f1_score(y.numpy(), pred, average="macro", zero_division=0))
    assert M.classification_metric("precision", logits, y, multi_label=True) == pytest.approx(
        sk.precision_score(y.numpy(), pred, average="macro", zero_division=0))
    assert M.classification_metric("recall", logits, y, multi_label=True) == pytest.approx(
        sk.recall_score(y.numpy(), pred, average="macro", zero_division=0))
    assert M.classification_metric("roc_auc", logits, y, multi_label=True) == pytest.approx(
        sk.roc_auc_score(y.numpy(), logits.numpy(), average="macro"))
    with pytest.raises(SpecError, match="acc_topk.*multi-label"):
        M.classification_metric("acc_topk", logits, y, multi_label=True)


def test_mse_matches_sklearn():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(50, generator=g), torch.randn(50, generator=g)
    assert M.mse(a, b) == pytest.approx(sk.mean_squared_error(b.numpy(), a.numpy()))


def test_mrr_and_hits_from_ranks():
    true = torch.tensor([0.9, 0.2, 0.5])
    cands = torch.tensor([[0.1, 0.3, 0.2], [0.5, 0.6, 0.1], [0.5, 0.1, float("-inf")]])
    ranks = M.ranks_of_true(true, cands)
    assert ranks.tolist() == [1.0, 3.0, 1.5]  # a tie counts half
    assert M.mrr(ranks) == pytest.approx(np.mean([1, 1 / 3, 1 / 1.5]))
    assert M.hits_at(ranks, 1) == pytest.approx(1 / 3) and M.hits_at(ranks, 3) == pytest.approx(1.0)
    # sklearn's label_ranking_average_precision equals MRR when each query has one relevant item (no ties)
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(30, 8, generator=g)
    truth = torch.randint(0, 8, (30,), generator=g)
    others = scores.clone()
    others[torch.arange(30), truth] = float("-inf")
    mine = M.mrr(M.ranks_of_true(scores[torch.arange(30), truth], others))
    onehot = torch.nn.functional.one_hot(truth, 8).numpy()
    assert mine == pytest.approx(sk.label_ranking_average_precision_score(onehot, scores.numpy()))


def test_defaults_per_task():
    assert M.default_metric("node_class") == "acc"
    assert M.default_metric("node_class", imbalanced=True) == "F1"
    assert M.default_metric("node_class", multi_label=True) == "roc_auc"
    assert M.default_metric("node_regression") == "mse"
    assert M.default_metric("link_prediction") == "mrr"
    assert M.is_imbalanced(torch.tensor([0] * 30 + [1] * 5), 2)
    assert not M.is_imbalanced(torch.tensor([0] * 10 + [1] * 8 + [-1] * 50), 2)
