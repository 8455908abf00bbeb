"""Templates, the graph-size rules and the tuning spec of a model-HPO-configuration.json."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pytest

from hyperjob.algorithms.graph.hyperparameters import applicable
from hyperjob.algorithms.graph.templates import MODELS_FOR_TASK, TEMPLATE_DIR, default_model, template, write_templates
from hyperjob.algorithms.graph.tuning import graph_tuning_spec
from hyperjob.errors import SpecError
from hyperjob.formats.graph_size import GROWING, resolve_graph_size, scale_factor
from hyperjob.formats.neptune import NeptuneConfigWarning, load_config_for_graph, load_neptune_config
from hyperjob.space import Tier

PAIRS = [(m, t) for t, models in MODELS_FOR_TASK.items() for m in models]
SEED_EXAMPLE = Path(__file__).parents[2] / "fixtures" / "neptune" / "seed-example.json"


@pytest.mark.parametrize("model,task", PAIRS)
def test_every_template_loads_cleanly_and_only_names_what_the_model_takes(model, task):
    with warnings.catch_warnings():
        warnings.simplefilter("error", NeptuneConfigWarning)
        config = load_neptune_config(template(model, task))
    assert (config.model, config.task_type) == (model, task)
    names = set(config.space.names) | set(config.space.static)
    assert names <= applicable(model, task), names - applicable(model, task)
    assert config.space["lr"].tier is Tier.ONE
    # tiers follow the budget: 2 jobs tune tier 1 only, 60 all three
    small, large = config.space_for_budget(2), config.space_for_budget(60)
    assert set(small.names) == {"num-hidden", "num-epochs", "lr"}
    assert len(large.names) > len(small.names)
    assert all(r.tier is Tier.ONE for r in small.ranges)
    if model == "rgcn":
        assert config.space["fanout"].tier is config.space["num-layer"].tier is Tier.THREE
        assert config.space["num-epochs"].node_strategy == "perM"
    else:
        assert "gamma" in config.space and "fanout" not in names


def test_template_choices():
    assert default_model("node_class") == "rgcn"
    assert default_model("link_prediction", features=True) == "rgcn"
    assert default_model("link_prediction", features=False) == "transe"
    t = template("rgcn", "node_class", eval_metric={"metric": "F1"}, imbalanced=True)["models"][0]
    assert t["eval_metric"] == {"metric": "F1"}
    assert {"param": "use-class-weight", "type": "bool", "default": True} in t["fixed-param"]
    assert template("rgcn", "node_class", multi_label=True)["models"][0]["eval_metric"] == {"metric": "roc_auc"}
    assert not any(p["param"] == "per-feat-name-embed"
                   for p in template("rgcn", "node_regression", features=False)["models"][0]["3-tier-param"])
    with pytest.raises(SpecError, match="the model 'transe' does not do node_class; it takes rgcn"):
        template("transe", "node_class")
    with pytest.raises(SpecError, match="unknown task type 'node_classification'"):
        template("rgcn", "node_classification")


def test_write_templates(tmp_path):
    files = write_templates(tmp_path, "transe", "link_prediction")
    assert files[0] == tmp_path / "model-HPO-configuration.json"
    assert sorted(p.name for p in (tmp_path / TEMPLATE_DIR).iterdir()) == ["distmult.json", "rgcn.json",
                                                                           "rotate.json"]
    assert load_neptune_config(tmp_path).model == "transe"
    assert load_neptune_config(tmp_path / TEMPLATE_DIR / "rotate.json").model == "rotate"
    assert write_templates(tmp_path / "n", "rgcn", "node_regression") == [tmp_path / "n" / "model-HPO-configuration.json"]


# ------------------------------------------------------------------------------------------------ graph size


def test_scale_factor_formula():
    # growing hyperparameters shrink on graphs below the unit, by the square root of the size ratio
    assert math.isclose(scale_factor("batch-size", "perM", 57_645), math.sqrt(0.057645))
    assert math.isclose(scale_factor("batch-size", "per10M", 2_500_000), 0.5)
    assert scale_factor("batch-size", "per100M", 10**9) == 1.0  # never above the written range
    # the others shrink on graphs above the unit
    assert scale_factor("num-epochs", "perM", 3_749) == 1.0
    assert math.isclose(scale_factor("num-epochs", "perM", 4_000_000), 0.5)
    assert math.isclose(scale_factor("num-epochs", "PER10M", 40_000_000), 0.5)  # any case
    assert "batch-size" in GROWING and "num-epochs" not in GROWING
    with pytest.raises(SpecError, match="unknown graph-size strategy 'perK'"):
        scale_factor("lr", "perK", 10)


def _one(param: dict, tier: str = "1-tier-param") -> dict:
    body = {"model": "rgcn", "task_type": "node_class", "eval_metric": {"metric": "acc"},
            "1-tier-param": [], "2-tier-param": [], "3-tier-param": [], "fixed-param": []}
    body[tier] = [param]
    return {"models": [body]}


def _resolved(cfg: dict, **size) -> dict:
    out, notes = resolve_graph_size(cfg, **size)
    body = out["models"][0]
    return next(p for k in ("1-tier-param", "2-tier-param", "3-tier-param") for p in body[k])


def test_worked_example_of_the_docs():
    epochs = {"param": "num-epochs", "type": "int", "range": [3, 30], "inc_strategy": "linear", "inc_val": 1,
              "node_strategy": "perM"}
    assert _resolved(_one(epochs), num_nodes=3_749, num_edges=57_645)["range"] == [3, 30]
    assert _resolved(_one(epochs), num_nodes=40_000_000, num_edges=0)["range"] == [1, 5]
    batch = {"param": "batch-size", "type": "int", "range": [128, 4096], "inc_strategy": "power2",
             "default": 1024, "edge_strategy": "perM"}
    air = _resolved(_one(batch, "3-tier-param"), num_nodes=3_749, num_edges=57_645, train_size=45_573)
    assert air["range"] == [32, 1024] and air["default"] == 256
    small = _resolved(_one(batch, "3-tier-param"), num_nodes=47, num_edges=1_326, train_size=1_193)
    assert small["range"] == [4, 128] and small["default"] == 32
    # the input is not modified
    assert batch["range"] == [128, 4096]


def test_tier_arrays_in_other_spellings_are_resolved_too():
    cfg = _one({"param": "batch-size", "type": "int", "range": [128, 4096], "inc_strategy": "power2",
                "default": 1024, "edge_strategy": "perM"}, "3-tier-param")
    body = cfg["models"][0]
    body["tier-3-params"] = body.pop("3-tier-param")
    out, notes = resolve_graph_size(cfg, num_nodes=47, num_edges=1_326)
    assert out["models"][0]["tier-3-params"][0]["range"] == [4, 128]
    assert notes == ["models[0].tier-3-params[0]: batch-size edge_strategy perM: 1326 edges, factor 0.03641, "
                     "range [128, 4096] -> [4, 128], default 32"]


def test_scaled_ranges_stay_valid_on_every_grid():
    for size in (10, 1_000, 100_000, 10**7, 10**9):
        for p in [
            {"param": "num-epochs", "type": "int", "range": [3, 30], "inc_strategy": "linear", "inc_val": 1,
             "node_strategy": "perM"},
            {"param": "num-negs", "type": "int", "range": [4, 64], "inc_strategy": "power2", "default": 16,
             "edge_strategy": "perM"},
            {"param": "num-bases", "type": "int", "range": [2, 8], "inc_strategy": "linear", "inc_val": 2,
             "default": 4, "node_strategy": "per10M"},
            {"param": "lr", "type": "float", "range": [0.001, 0.01], "inc_strategy": "log",
             "node_strategy": "perM"},
            {"param": "batch-size", "type": "int", "range": [128, 4096], "default": 1024, "edge_strategy": "perM"},
        ]:
            cfg = _one(p, "1-tier-param" if "default" not in p else "2-tier-param")
            resolved, _ = resolve_graph_size(cfg, num_nodes=size, num_edges=size, train_size=None)
            with warnings.catch_warnings():
                warnings.simplefilter("error", NeptuneConfigWarning)
                space = load_neptune_config(resolved).space  # valid, default on the grid, no warning
            r = space[p["param"]]
            lo, hi = (r.values[0], r.values[-1]) if hasattr(r, "values") else (r.min_value, r.max_value)
            assert lo < hi, (p["param"], size, lo, hi)
            assert hi <= p["range"][1]
            assert lo >= min(p["range"][0], 1) if p["type"] == "int" else lo > 0


def test_rule_two_cuts_batch_size_to_the_training_set():
    seed_cfg = json.loads(SEED_EXAMPLE.read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeptuneConfigWarning)
        config, notes = load_config_for_graph(seed_cfg, num_nodes=47, num_edges=1_326, train_size=41)
    r = config.space["batch-size"]
    assert tuple(r.values) == (16, 32) and config.space.default_of("batch-size") == 32
    assert any("graph-size rule 2" in n for n in notes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeptuneConfigWarning)
        untouched, _ = load_config_for_graph(seed_cfg, num_nodes=47, num_edges=1_326, train_size=10_000)
    assert untouched.space["batch-size"].values[-1] == 4096


def test_bad_file_is_reported_as_written(tmp_path):
    bad = _one({"param": "num-epochs", "type": "int", "range": [30, 3], "node_strategy": "perM"})
    (tmp_path / "model-HPO-configuration.json").write_text(json.dumps(bad))
    with pytest.raises(SpecError, match=r"model-HPO-configuration\.json: models\[0\]\.1-tier-param\[0\]\.range.*\[30, 3\]"):
        load_config_for_graph(tmp_path, num_nodes=10, num_edges=10)


# ------------------------------------------------------------------------------------------------ tuning spec


def _processed(tmp_path: Path, task: str = "node_class") -> Path:
    from hyperjob.algorithms.graph.process import process_graph

    rows = ["~id,~label,a:Int,c:String"] + [f"n{i},v,{i},{'xy'[i % 2]}" for i in range(30)]
    edges = ["~id,~from,~to,~label"] + [f"e{i},n{i},n{(i * 7) % 30},r" for i in range(30)]
    (tmp_path / "n.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "e.csv").write_text("\n".join(edges) + "\n")
    target = "v.c" if task == "node_class" else "r"
    process_graph(tmp_path, task=task, target=target, out=tmp_path / "processed")
    return tmp_path / "processed"


def test_graph_tuning_spec_is_job_yaml_shaped(tmp_path):
    processed = _processed(tmp_path)
    cfg = tmp_path / "model-HPO-configuration.json"
    cfg.write_text(json.dumps(template("rgcn", "node_class", eval_metric={"metric": "acc_topk", "topk": 2})))
    notes: list[str] = []
    spec = graph_tuning_spec(cfg, processed, 3, name="g1", notes=notes)
    assert spec["program"] == {"algorithm": "rgcn", "channels": {"train": str(processed.resolve())}}
    assert spec["objective"] == {"metric": "acc_topk", "type": "maximize"}
    assert set(spec["hyperparameter_ranges"]) == {"num-hidden", "num-epochs", "lr"}  # tier 1 for 3 jobs
    assert spec["hyperparameter_ranges"]["num-hidden"]["values"] == [16, 32, 64, 128]
    static = spec["static_hyperparameters"]
    assert static["dropout"] == 0.3 and static["fanout"] == [10, 15, 15] and static["low-mem"] is True
    # 30 nodes, node_strategy perM: rule 1 scales [128, 4096] by sqrt(30 / 1e6) to [1, 16], default 1024 to 4
    assert static["batch-size"] == 4
    assert static["eval-metric"] == "acc_topk" and static["topk"] == 2
    assert static["eval-frequency-type"] == "evaluate_every_epoch" and static["eval-frequency-value"] == 1
    assert spec["limits"] == {"max_jobs": 3, "max_parallel_jobs": 2}
    assert any("batch-size" in n for n in notes)
    json.dumps(spec)  # plain JSON
    bigger = graph_tuning_spec(cfg, processed, 20, name="g2")
    assert {"dropout", "layer-norm"} <= set(bigger["hyperparameter_ranges"])


def test_graph_tuning_spec_refusals(tmp_path):
    processed = _processed(tmp_path)
    cfg = tmp_path / "lp.json"
    cfg.write_text(json.dumps(template("transe", "link_prediction")))
    with pytest.raises(SpecError, match=r"task_type 'link_prediction' differs from the processed graph's task "
                                        r"'node_class'"):
        graph_tuning_spec(cfg, processed, 2)
    with pytest.raises(SpecError, match=r"holds no processed graph.*hyperjob graph process"):
        graph_tuning_spec(cfg, tmp_path / "nowhere", 2)
    custom = tmp_path / "custom.json"
    custom.write_text(json.dumps({"models": [{"model": "custom", "task_type": "node_class",
                                              "eval_metric": {"tuning_objective": {"MetricName": "acc",
                                                                                   "Type": "Maximize"}},
                                              "1-tier-param": [], "2-tier-param": [], "3-tier-param": [],
                                              "fixed-param": []}]}))
    with pytest.raises(SpecError, match="model 'custom' is not a built-in graph model"):
        graph_tuning_spec(custom, processed, 2)
    (tmp_path / "lp").mkdir()
    lp = _processed(tmp_path / "lp", "link_prediction")
    assert graph_tuning_spec(cfg, lp, 2)["program"]["algorithm"] == "transe"
    with pytest.raises(SpecError, match="max_jobs must be a whole number >= 1"):
        graph_tuning_spec(cfg, lp, 0)
