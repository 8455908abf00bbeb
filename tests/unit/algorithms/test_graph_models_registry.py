"""The four graph models in the built-in algorithm registry: objective, metric regexes that read the program's
own lines, the hyperparameters a spec may set; and the task defaults of the program (multi-label, imbalanced)."""

import re
import sys

import pytest
import torch

from hyperjob.algorithms import ALGORITHMS, get_algorithm
from hyperjob.algorithms.graph import synthetic
from hyperjob.algorithms.graph.processed import ProcessedGraph
from hyperjob.algorithms.graph.train import train

torch.set_num_threads(1)


@pytest.mark.parametrize("name,objective", [("rgcn", "acc"), ("transe", "mrr"), ("distmult", "mrr"), ("rotate", "mrr")])
def test_registered_with_objective_and_static_model(name, objective):
    assert name in ALGORITHMS
    algo = get_algorithm(name)
    assert algo.module == "hyperjob.algorithms.graph" and algo.default_static == {"model": name}
    assert algo.objective.metric == objective and algo.objective.maximize
    assert {"num-hidden", "num-epochs", "lr", "eval-metric", "eval-frequency-type", "topk"} <= set(algo.hyperparameters)
    assert set(algo.default_ranges) == {"num-hidden", "num-epochs", "lr"}


def test_the_registry_does_not_import_torch():
    import subprocess

    code = "import sys; from hyperjob.algorithms import get_algorithm; get_algorithm('rgcn'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_metric_regexes_read_the_lines_the_program_prints():
    lines = []
    g = synthetic.relational_kg(num_entities=30, num_edges=90)
    r = train(g, "distmult", {"num-hidden": 8, "num-epochs": 2, "batch-size": 64}, eval_metric="roc_auc",
              log=lines.append, report=lambda **m: None)
    defs = {d.name: d.regex for d in get_algorithm("distmult").metric_definitions}
    read = {}
    for line in lines:
        for name, regex in defs.items():
            m = re.search(regex, line)
            if m:
                read.setdefault(name, []).append(float(m.group(1)))
    last = r.evaluations[-1]["metrics"]
    for metric in ("roc_auc", "mrr", "hits@1", "hits@10"):
        assert read[f"validation:{metric}"][-1] == pytest.approx(last[metric], abs=1e-6)
    assert read["train:loss"][-1] == pytest.approx(last["train_loss"], abs=1e-6)
    assert len(read["validation:mrr"]) == len(r.evaluations)
    assert "validation:acc" not in read and not any("test " in line and "validation" in line for line in lines)


def _multi_label(g: ProcessedGraph) -> ProcessedGraph:
    y = torch.nn.functional.one_hot(g.labels, 3).float()
    y[:, 2] = torch.maximum(y[:, 2], (g.labels == 0).float())  # class 2 also holds every node of community 0
    g.labels, g.multi_label = y, True
    g.validate()
    return g


def test_multi_label_defaults_to_roc_auc_and_learns(tmp_path):
    g = _multi_label(synthetic.planted_partition("node_class", num_users=120, num_items=40))
    r = train(g, "rgcn", {"num-hidden": 16, "num-epochs": 8, "batch-size": 32, "fanout": [5, 5], "lr": 0.02,
                          "enable-early-stop": False}, output_dir=tmp_path, log=lambda s: None, report=lambda **m: None)
    assert r.eval_metric == "roc_auc" and r.test["roc_auc"] > 0.8  # chance 0.5
    rows = [row.split(",") for row in (tmp_path / "predictions.csv").read_text().splitlines()]
    assert rows[0] == ["~id", "prediction", "p(c0)", "p(c1)", "p(c2)"] and len(rows) == 1 + g.split["test"].numel()
    for row in rows[1:]:  # the prediction is every class with probability > 0.5, ';'-joined
        expected = [c for c, p in zip(["c0", "c1", "c2"], row[2:]) if float(p) > 0.5]
        assert row[1] == ";".join(expected)


def test_imbalanced_classes_default_to_f1():
    g = synthetic.planted_partition("node_class", num_users=120, num_items=40, num_classes=2)
    train_idx = g.split["train"]
    g.labels[train_idx[: int(0.85 * train_idx.numel())]] = 0
    r = train(g, "rgcn", {"num-hidden": 8, "num-epochs": 1, "fanout": [3, 3]}, log=lambda s: None,
              report=lambda **m: None)
    assert r.eval_metric == "F1"
    r = train(g, "rgcn", {"num-hidden": 8, "num-epochs": 1, "fanout": [3, 3]}, eval_metric="acc_topk", topk=1,
              log=lambda s: None, report=lambda **m: None)
    assert r.eval_metric == "acc_topk"
