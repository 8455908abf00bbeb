"""Each model learns on a small generated graph: its metric is clearly above chance (or above random
embeddings)."""

import pytest
import torch

from hyperjob.algorithms.graph import synthetic
from hyperjob.algorithms.graph._runners import KGERunner, RGCNLinkRunner
from hyperjob.algorithms.graph.hyperparameters import check_hyperparameters
from hyperjob.algorithms.graph.train import train

torch.set_num_threads(1)


def _quiet(**kw):
    return dict(log=lambda s: None, report=lambda **m: None, **kw)


def test_rgcn_node_classification_beats_chance():
    g = synthetic.planted_partition("node_class", num_users=150, num_items=50, num_classes=3, feature_noise=3.0)
    r = train(g, "rgcn", {"num-hidden": 16, "num-epochs": 8, "batch-size": 32, "fanout": [5, 5],
                          "enable-early-stop": False, "lr": 0.02}, **_quiet())
    assert r.eval_metric == "acc"
    assert r.test["acc"] >= 0.75  # chance: about 1/3


def test_rgcn_node_regression_explains_most_variance():
    g = synthetic.planted_partition("node_regression", num_users=150, num_items=50, feature_noise=3.0)
    var = float(g.labels[g.split["test"]].var())
    r = train(g, "rgcn", {"num-hidden": 16, "num-epochs": 8, "batch-size": 32, "fanout": [5, 5],
                          "enable-early-stop": False, "lr": 0.02}, **_quiet())
    assert r.eval_metric == "mse"
    assert r.test["mse"] < 0.3 * var


def test_rgcn_link_prediction_beats_random_embeddings():
    g = synthetic.planted_partition("link_prediction", num_users=150, num_items=60, num_classes=5, p_in=0.95)
    hp = {"num-hidden": 16, "num-epochs": 8, "batch-size": 64, "fanout": [5, 5], "enable-early-stop": False,
          "lr": 0.02, "sparse-lr": 0.05, "num-negs": 8}
    untrained = RGCNLinkRunner(g, check_hyperparameters("rgcn", "link_prediction", hp), torch.device("cpu"), 0, "mrr")
    base = untrained.evaluate("test")["mrr"]
    r = train(g, "rgcn", hp, **_quiet())
    assert r.eval_metric == "mrr"
    assert r.test["mrr"] > max(2 * base, base + 0.05), (r.test, base)


@pytest.mark.parametrize("model", ["transe", "distmult", "rotate"])
def test_kge_models_learn_the_rules(model):
    # rel1 = inverse of rel0 (to the next cluster); rel2 symmetric inside clusters. TransE cannot tell the members
    # of a cluster apart (the symmetric relation pulls them together), so it learns the cluster: hits@10, not hits@1
    g = synthetic.relational_kg(num_entities=120, num_edges=600, num_clusters=6)
    hp = {"num-hidden": 32, "num-epochs": 40 if model == "transe" else 20, "batch-size": 128, "gamma": 6.0,
          "num-negs": 16, "enable-early-stop": False, "lr": 0.05, "sparse-lr": 0.05}
    untrained = KGERunner(g, model, check_hyperparameters(model, "link_prediction", hp), torch.device("cpu"), 0, "mrr")
    base = untrained.evaluate("test")
    r = train(g, model, hp, **_quiet())
    assert r.test["hits@10"] > base["hits@10"] + 0.1, (r.test, base)
    assert r.test["mrr"] > base["mrr"] + (0.02 if model == "transe" else 0.2), (r.test, base)
