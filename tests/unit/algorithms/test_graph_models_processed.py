"""ProcessedGraph: save/load round trip and the errors validate() and load() give."""

import json

import pytest
import torch

from hyperjob.algorithms.graph import synthetic
from hyperjob.algorithms.graph.processed import ProcessedGraph
from hyperjob.errors import SpecError

torch.set_num_threads(1)


def test_round_trip_keeps_every_field(tmp_path):
    g = synthetic.planted_partition("node_class", num_users=30, num_items=10)
    g.edge_features[("user", "buys", "item")] = torch.rand(g.edges[("user", "buys", "item")].shape[1], 2)
    g.save(tmp_path)
    back = ProcessedGraph.load(tmp_path)
    assert back.node_types == g.node_types and back.num_nodes == g.num_nodes and back.node_ids == g.node_ids
    assert back.edge_types == g.edge_types and back.task == g.task and back.class_names == g.class_names
    for et in g.edge_types:
        assert torch.equal(back.edges[et], g.edges[et])
    assert torch.equal(back.edge_features[("user", "buys", "item")], g.edge_features[("user", "buys", "item")])
    assert torch.equal(back.node_features["user"], g.node_features["user"])
    assert torch.equal(back.labels, g.labels)
    for s in ("train", "validation", "test"):
        assert torch.equal(back.split[s], g.split[s])


def test_link_prediction_round_trip(tmp_path):
    g = synthetic.relational_kg(num_entities=20, num_edges=40)
    g.save(tmp_path)
    back = ProcessedGraph.load(tmp_path)
    assert back.target_edge_type == ("entity", "rel1", "entity") and back.labels is None


def test_load_missing_directory_names_the_file(tmp_path):
    with pytest.raises(SpecError, match="graph.json.*does not exist"):
        ProcessedGraph.load(tmp_path / "nope")


def test_load_other_format_version(tmp_path):
    synthetic.relational_kg(num_entities=20, num_edges=40).save(tmp_path)
    doc = json.loads((tmp_path / "graph.json").read_text())
    doc["format_version"] = 99
    (tmp_path / "graph.json").write_text(json.dumps(doc))
    with pytest.raises(SpecError, match="format_version 99"):
        ProcessedGraph.load(tmp_path)


def test_load_corrupt_tensors(tmp_path):
    synthetic.relational_kg(num_entities=20, num_edges=40).save(tmp_path)
    (tmp_path / "tensors.pt").write_bytes(b"not a torch file")
    with pytest.raises(SpecError, match="tensors.pt.*torch.load"):
        ProcessedGraph.load(tmp_path)


def test_validate_edge_index_out_of_range():
    g = synthetic.planted_partition("node_class", num_users=30, num_items=10)
    g.edges[("user", "buys", "item")][1, 0] = 10
    with pytest.raises(SpecError, match=r"edges.user\|buys\|item.*destination index out of range \[0, 10\)"):
        g.validate()


def test_validate_overlapping_splits():
    g = synthetic.planted_partition("node_class", num_users=30, num_items=10)
    g.split["test"] = torch.cat([g.split["test"], g.split["train"][:1]])
    with pytest.raises(SpecError, match="split.test.*'train' and 'test' share 1"):
        g.validate()


def test_validate_label_dtype_and_empty_train():
    g = synthetic.planted_partition("node_class", num_users=30, num_items=10)
    g.labels = g.labels.float()
    with pytest.raises(SpecError, match="labels: node_class labels must be int64"):
        g.validate()
    g = synthetic.planted_partition("node_regression", num_users=30, num_items=10)
    g.split["train"] = torch.empty(0, dtype=torch.int64)
    with pytest.raises(SpecError, match="split.train: the train split is empty"):
        g.validate()


def test_validate_feature_shape():
    g = synthetic.planted_partition("node_class", num_users=30, num_items=10)
    g.node_features["user"] = g.node_features["user"][:5]
    with pytest.raises(SpecError, match=r"node_features.user.*float32 \[30, d\]"):
        g.validate()


def test_meta_must_be_json(tmp_path):
    g = synthetic.relational_kg(num_entities=20, num_edges=40)
    g.meta["when"] = object()
    with pytest.raises(SpecError, match="meta: must hold JSON values only"):
        g.save(tmp_path)
