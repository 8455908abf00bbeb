"""Edited and custom Neptune ML configs (issue 17): inc_val grids, empty tiers, custom models with a command,
the fanout / num-layer conflict, graph-size rescaling that keeps a model's width."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import pytest
from _corpus import CORPUS_ROOT, need

from hyperjob.errors import SpecError
from hyperjob.formats.graph_size import resolve_graph_size, scale_factor
from hyperjob.formats.neptune import load_neptune_config, neptune_job, neptune_problems
from hyperjob.formats.validate import render, validate_file

CONFIGS = CORPUS_ROOT / "neptune" / "configs"


def seed_config() -> dict:
    return json.loads(need(CONFIGS / "01-aws-docs-example-rgcn-node_class.json").read_text())


def _param(doc: dict, name: str) -> dict:
    for tier in ("1-tier-param", "2-tier-param", "3-tier-param", "fixed-param"):
        for p in doc["models"][0][tier]:
            if p["param"] == name:
                return p
    raise KeyError(name)


def test_an_edited_range_whose_inc_val_does_not_divide_it_is_accepted_with_its_grid() -> None:
    doc = seed_config()
    _param(doc, "num-bases")["range"] = [1, 8]  # the seed's most common edit; inc_val 2 is not touched
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config = load_neptune_config(doc, source="cfg.json")
    grid = next(r for r in config.space.ranges if r.name == "num-bases")
    assert grid.values == (1, 3, 5, 7, 8)  # min + k * inc_val, and the max
    assert any("inc_val 2 does not divide the range [1, 8]: the values tried are min + k * inc_val and the max: "
               "[1, 3, 5, 7, 8]" in str(w.message) for w in caught)
    _param(doc, "dropout").update(range=[0.0, 0.5], inc_strategy="linear", inc_val=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        floats = next(r for r in load_neptune_config(doc).space.ranges if r.name == "dropout")
    assert floats.values == (0.0, 0.2, 0.4, 0.5)


def test_an_inc_val_larger_than_the_range_is_still_refused() -> None:
    doc = seed_config()
    _param(doc, "num-bases")["range"] = [0, 1]
    with pytest.raises(SpecError, match=r"inc_val 2.* is larger than the range's width"):
        load_neptune_config(doc)


def test_an_empty_tier_1_runs_the_whole_budget_with_the_defaults() -> None:
    doc = seed_config()
    doc["models"][0]["1-tier-param"] = []
    notes: list[str] = []
    job = neptune_job(doc, channel="/data", num_nodes=100, num_edges=300, max_jobs=2, notes=notes)
    assert job["hyperparameter_ranges"] == {} and job["limits"]["max_jobs"] == 2
    assert job["strategy"] == "random"  # suggests as many as asked (a model-based strategy would stop at one)
    assert any("all 2 training jobs run with the same hyperparameters" in n for n in notes)


def test_a_custom_model_needs_a_command_and_runs_it_with_its_metric_definitions() -> None:
    path = need(CONFIGS / "03-toolkit-custom-node_class-movielens-rgcn.json")
    with pytest.raises(SpecError, match=r"custom model's configuration runs with its own training program: give it "
                                        r"after '--'"):
        neptune_job(path, max_jobs=2)
    job = neptune_job(path, max_jobs=2, command=["python", "train.py"], working_dir="/src")
    assert job["program"] == {"command": ["python", "train.py"], "working_dir": "/src"}
    assert job["objective"] == {"metric": "ROC_AUC", "type": "maximize"}
    assert job["metric_definitions"][0]["name"] == "ROC_AUC"
    assert "eval-metric" not in job["static_hyperparameters"]  # the built-in program's keys stay out


def test_validate_flags_the_seed_s_fanout_and_num_layer_conflict() -> None:
    config = load_neptune_config(seed_config())
    problems = neptune_problems(config)
    assert len(problems) == 1 and problems[0].startswith("from 51 training jobs on (tiers 1-3 tuned), num-layer can "
                                                         "be 3 but fanout [10, 30] has 2 value(s)")
    fixed = seed_config()
    _param(fixed, "fanout")["options"] = [[10, 15, 15], [15, 30, 30]]
    assert neptune_problems(load_neptune_config(fixed)) == []
    text = render(validate_file(need(CONFIGS / "01-aws-docs-example-rgcn-node_class.json")))
    assert "training jobs would fail:" in text and "num-layer can be 3 but fanout" in text


def test_a_model_s_width_keeps_a_quarter_of_its_range_on_a_tiny_graph() -> None:
    assert scale_factor("num-hidden", "perM", 47) == 0.25
    assert scale_factor("batch-size", "perM", 47) < 0.01  # batch-size follows the graph down
    doc = seed_config()
    _param(doc, "num-hidden")["node_strategy"] = "perM"  # as our templates write it
    resolved, notes = resolve_graph_size(copy.deepcopy(doc), num_nodes=47, num_edges=100)
    hidden = _param(resolved, "num-hidden")
    assert hidden["range"] == [4, 32]  # [16, 128] * 0.25 on the power-of-2 grid, not [1, 4]


def test_validate_data_previews_the_ranges_tune_runs(tmp_path: Path) -> None:
    from hyperjob.algorithms.graph import synthetic
    from hyperjob.algorithms.graph.processed import ProcessedGraph  # noqa: F401 - the layout the preview reads

    g = synthetic.planted_partition("node_class", num_users=30, num_items=10)
    g.save(tmp_path / "g")
    doc = seed_config()
    _param(doc, "num-hidden")["node_strategy"] = "perM"
    (tmp_path / "model-HPO-configuration.json").write_text(json.dumps(doc))
    text = render(validate_file(tmp_path / "model-HPO-configuration.json", data=tmp_path / "g", max_jobs=11))
    assert "as hyperjob tune runs it:" in text and "budget 11 training jobs, 2 at once" in text
    assert "tuned num-hidden: one of [4, 8, 16, 32]" in text and "num-hidden" in text.split("as hyperjob tune")[1]  # the tiny graph's rescaled width (rule 1, kept >= 1/4)
    assert "tuned dropout" in text  # tier 2 at 11 jobs
