"""The Neptune format as a loader of tuning jobs: a model-HPO-configuration.json and a graph's size in, a spec out."""

from __future__ import annotations

import json
import warnings

import pytest

from hyperjob.errors import SpecError
from hyperjob.formats.neptune import load_neptune_spec, neptune_job
from hyperjob.formats.spec import TuningJobSpec

CONFIG = {"models": [{
    "model": "rgcn", "task_type": "node_class", "eval_metric": {"metric": "acc"},
    "1-tier-param": [
        {"param": "num-hidden", "type": "int", "range": [16, 128], "inc_strategy": "power2", "default": 32},
        {"param": "num-epochs", "type": "int", "range": [3, 30], "inc_strategy": "linear", "inc_val": 1,
         "default": 10, "node_strategy": "perM"},
        {"param": "batch-size", "type": "int", "range": [128, 4096], "inc_strategy": "power2", "default": 1024,
         "edge_strategy": "perM"},
    ],
    "2-tier-param": [{"param": "dropout", "type": "float", "range": [0.0, 0.5], "default": 0.3}],
    "3-tier-param": [], "fixed-param": [{"param": "low-mem", "type": "bool", "default": True}],
}]}


def _spec(tmp_path, **kw):
    path = tmp_path / "model-HPO-configuration.json"
    path.write_text(json.dumps(CONFIG))
    args = dict(channel=tmp_path, num_nodes=40_000_000, num_edges=57_645, train_size=100, max_jobs=3, name="g")
    args.update(kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_neptune_spec(path, **args), path


def test_a_configuration_and_a_graph_size_give_a_spec(tmp_path):
    spec, path = _spec(tmp_path)
    assert isinstance(spec, TuningJobSpec) and spec.source_format == "neptune"
    assert spec.program.algorithm == "rgcn" and spec.program.channels == {"train": str(tmp_path.resolve())}
    assert (spec.objective.metric, spec.objective.type) == ("acc", "maximize")
    space = spec.build_space()
    assert set(space.names) == {"num-hidden", "num-epochs", "batch-size"}  # 3 jobs: tier 1
    assert space.static["dropout"] == 0.3 and space.static["low-mem"] is True
    # the graph-size rules: 40M nodes shrink num-epochs, 57,645 edges and 100 training items cut batch-size
    assert (space["num-epochs"].min_value, space["num-epochs"].max_value) == (1, 5)
    assert max(space["batch-size"].values) <= 64
    assert TuningJobSpec.from_json(spec.to_json()) == spec
    assert spec == TuningJobSpec.from_json({**neptune_job(path, channel=tmp_path, num_nodes=40_000_000,
                                                          num_edges=57_645, train_size=100, max_jobs=3, name="g"),
                                            "source_format": "neptune"})


def test_refusals_name_the_file(tmp_path):
    with pytest.raises(SpecError, match=r"model-HPO-configuration.json: models\[0\].task_type: task_type 'node_class' "
                                        r"differs from the processed graph's task 'link_prediction'"):
        _spec(tmp_path, task="link_prediction")
    with pytest.raises(SpecError, match=r"^max_jobs: max_jobs must be a whole number >= 1, got 0"):
        _spec(tmp_path, max_jobs=0)
