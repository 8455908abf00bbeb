"""The processing step (hyperjob.algorithms.graph.process): features, target, split, written once."""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from hyperjob.algorithms.graph.process import default_eval_metric, process_graph
from hyperjob.algorithms.graph.processed import ProcessedGraph
from hyperjob.errors import SpecError
from _corpus import CORPUS_ROOT, need as corpus

GRAPHS = CORPUS_ROOT / "neptune" / "graphs"


def write(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def people(tmp_path: Path, n: int = 20) -> Path:
    """n people (age, color one-hot, tags multi-hot, emb, unique handle, a class) and 'knows' edges."""
    rows = ["~id,~label,age:Int,color:String,tags:String[],emb:Double[],handle:String,kind:String,y:Double"]
    for i in range(n):
        age = "" if i == 3 else str(20 + i)
        kind = "" if i == 5 else ("a" if i % 5 else "b")
        rows.append(f"p{i},person,{age},{['red', 'blue'][i % 2]},t{i % 3};t{(i + 1) % 3},{i};{-i},h{i},{kind},"
                    f"{i / 2}")
    edges = ["~id,~from,~to,~label,w:Double"] + [f"e{i},p{i},p{(i + 1) % n},knows,{i}" for i in range(n)]
    return write(tmp_path, {"n.csv": "\n".join(rows) + "\n", "e.csv": "\n".join(edges) + "\n"})


def test_features_of_each_kind(tmp_path):
    g = process_graph(people(tmp_path), task="node_class", target="person.kind")
    names = g.feature_names["person"]
    x = g.node_features["person"]
    assert x.dtype == torch.float32 and x.shape == (20, len(names))
    assert "age" in names and "color=red" in names and "color=blue" in names
    assert {"tags=t0", "tags=t1", "tags=t2"} <= set(names) and "emb[0]" in names and "emb[1]" in names
    assert not any(n.startswith("handle") for n in names)  # an identifier
    assert not any(n.startswith("kind") for n in names)  # the target
    age = x[:, names.index("age")]
    assert float(age.min()) == 0.0 and float(age.max()) == 1.0  # min-max
    ages = np.array([20 + i for i in range(20) if i != 3], dtype=float)
    assert math.isclose(float(age[3]), (np.median(ages) - 20) / 19, rel_tol=1e-6)  # median imputed
    assert x[0, names.index("color=red")] == 1 and x[0, names.index("color=blue")] == 0
    assert x[0, names.index("tags=t0")] == 1 and x[0, names.index("tags=t1")] == 1
    assert x[0, names.index("tags=t2")] == 0
    assert x[2, names.index("emb[1]")] == -2.0  # numeric arrays as they are
    assert g.edge_features[("person", "knows", "person")].shape == (20, 1)
    encodings = {r["property"]: r["encoding"] for r in g.meta["features"]["person"]}
    assert encodings["handle"].startswith("left out: every value is distinct")


def test_node_class_labels_and_split(tmp_path):
    g = process_graph(people(tmp_path), task="node_class", target="person.kind", seed=3)
    assert g.class_names == ["a", "b"]
    assert g.labels is not None and g.labels[5] == -1 and g.labels[0] == 1 and g.labels[1] == 0
    labelled = set(range(20)) - {5}
    train, val, test = (set(g.split[k].tolist()) for k in ("train", "validation", "test"))
    assert train | val | test == labelled and not (train & val) and len(test) == 0
    assert len(val) == round(0.1 * 19)
    again = process_graph(tmp_path, task="node_class", target="person.kind", seed=3)
    other = process_graph(tmp_path, task="node_class", target="person.kind", seed=4)
    assert torch.equal(again.split["validation"], g.split["validation"])
    assert not torch.equal(other.split["train"], g.split["train"])
    # 16 'a' and 3 'b' labelled: imbalanced at ratio >= 3 -> F1, as the seed says
    assert g.meta["imbalanced"] and default_eval_metric(g) == {"metric": "F1"}


def test_regression_and_custom_split(tmp_path):
    g = process_graph(people(tmp_path), task="node_regression", target="person.y", split=[0.5, 0.25, 0.25])
    assert g.labels is not None and g.labels.dtype == torch.float32 and float(g.labels[4]) == 2.0
    assert [len(g.split[k]) for k in ("train", "validation", "test")] == [10, 5, 5]
    assert "y" not in g.feature_names["person"]
    assert default_eval_metric(g) == {"metric": "mse"}


def test_multi_label_target(tmp_path):
    g = process_graph(people(tmp_path), task="node_class", target="person.tags")
    assert g.multi_label and g.class_names == ["t0", "t1", "t2"]
    assert g.labels is not None and g.labels.shape == (20, 3) and g.labels[0].tolist() == [1.0, 1.0, 0.0]
    assert default_eval_metric(g) == {"metric": "roc_auc"}


def test_link_prediction_split_and_save_once(tmp_path):
    out = tmp_path / "out"
    g = process_graph(people(tmp_path), task="link_prediction", target="knows", out=out)
    assert g.target_edge_type == ("person", "knows", "person")
    assert [len(g.split[k]) for k in ("train", "validation", "test")] == [18, 2, 0]
    loaded = ProcessedGraph.load(out)
    assert torch.equal(loaded.edges[g.target_edge_type], g.edges[g.target_edge_type])
    assert torch.equal(loaded.node_features["person"], g.node_features["person"])
    assert loaded.meta["num_edges_total"] == 20 and loaded.meta["train_size"] == 18
    with pytest.raises(SpecError, match="already holds a processed graph.*--force"):
        process_graph(tmp_path, task="link_prediction", target="knows", out=out)
    process_graph(tmp_path, task="link_prediction", target="person,knows,person", out=out, overwrite=True)


def test_target_errors(tmp_path):
    people(tmp_path)
    cases = [
        ("node_class", "Person.kind", r"no node has the label 'Person'.*Did you mean 'person'\? \(labels and "
                                      r"properties are case-sensitive\)"),
        ("node_class", "person.knd", r"have no property 'knd'.*Did you mean 'kind'"),
        ("node_class", "kind", r"a node_class target is 'label.property'"),
        ("node_regression", "person.color", r"node_regression needs a numeric target.*'color'"),
        ("link_prediction", "likes", r"no edge has the label 'likes'; the edge labels are knows"),
        ("node_tagging", "person.kind", r"unknown task 'node_tagging'"),
    ]
    for task, target, pattern in cases:
        with pytest.raises(SpecError, match=pattern):
            process_graph(tmp_path, task=task, target=target)
    with pytest.raises(SpecError, match=r"split must be three fractions .* add up to 1"):
        process_graph(tmp_path, task="node_class", target="person.kind", split=[0.9, 0.2, 0.0])


def test_empty_target_names_file_and_column(tmp_path):
    write(tmp_path, {"n.csv": "~id,~label,y:Int\na,p,\nb,p,\n", "e.csv": "~id,~from,~to,~label\ne,a,b,r\n"})
    with pytest.raises(SpecError) as info:
        process_graph(tmp_path, task="node_regression", target="p.y")
    msg = str(info.value)
    assert "the target is empty" in msg and "column 'y'" in msg and "n.csv" in msg


def test_ragged_numeric_array_is_an_error(tmp_path):
    write(tmp_path, {"n.csv": "~id,emb:Double[],y:Int\na,1;2,0\nb,1;2;3,1\n"})
    with pytest.raises(SpecError, match=r"array property 'emb' .*n\.csv\) has arrays of lengths \[2, 3\]"):
        process_graph(tmp_path, task="node_class", target="vertex.y")


def test_many_categories_are_embedded(tmp_path):
    rows = ["~id,cat:String,y:Int"] + [f"n{i},c{i % 150},{i % 2}" for i in range(600)]
    write(tmp_path, {"n.csv": "\n".join(rows) + "\n"})
    g = process_graph(tmp_path, task="node_class", target="vertex.y", embed_dim=8)
    x = g.node_features["vertex"]
    assert x.shape == (600, 8)
    assert torch.equal(x[0], x[150]) and not torch.equal(x[0], x[1])  # same value, same vector


# ------------------------------------------------------------------------------------------------ the corpus


def test_air_routes_small_node_regression(tmp_path):
    g = process_graph(corpus(GRAPHS / "air-routes-small-neptune-export" / "typed-plain"), task="node_regression",
                      target="airport.elev", out=tmp_path / "p")
    assert g.num_nodes == {"airport": 46, "version": 1}
    assert [len(g.split[k]) for k in ("train", "validation", "test")] == [41, 5, 0]
    assert "elev" not in g.feature_names["airport"] and "longest" in g.feature_names["airport"]
    ProcessedGraph.load(tmp_path / "p").validate()


def test_air_routes_processes_fast(tmp_path):
    start = time.perf_counter()
    g = process_graph(corpus(GRAPHS / "air-routes"), task="node_class", target="airport.runways",
                      out=tmp_path / "p")
    elapsed = time.perf_counter() - start
    assert g.class_names == ["1", "2", "3", "4", "5", "6", "7"]
    assert g.meta["class_counts"] == {"1": 2429, "2": 775, "3": 227, "4": 53, "5": 14, "6": 4, "7": 2}
    assert default_eval_metric(g) == {"metric": "F1"}
    assert g.num_edges == 57645 and g.total_nodes == 3749
    assert elapsed < 5, f"processing air-routes took {elapsed:.1f} s"


def test_messy_graph_processes(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = process_graph(corpus(GRAPHS / "collaborative-filtering-games"), task="link_prediction",
                          target="likes")
    assert g.target_edge_type == ("person", "likes", "game")
    assert {"ReleaseDate.year", "ReleaseDate.month"} <= set(g.feature_names["game"])
    assert g.meta["warnings"] and len(g.split["train"]) + len(g.split["validation"]) == 26
