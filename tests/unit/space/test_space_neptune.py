"""Reading Neptune ML's model-HPO-configuration.json: the seed's example, the corpus, and the lenience."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from hyperjob.errors import SpecError
from hyperjob.formats.neptune import NeptuneConfig, NeptuneConfigWarning, load_neptune_config
from hyperjob.records import Direction
from hyperjob.space import CategoricalRange, ContinuousRange, DiscreteRange, IntegerRange, Scaling, Tier
from _corpus import CORPUS_ROOT, need as need_corpus

REPO = Path(__file__).parents[3]
SEED_EXAMPLE = REPO / "tests" / "fixtures" / "neptune" / "seed-example.json"
CORPUS = CORPUS_ROOT / "neptune" / "configs"
CORPUS_FILES = sorted(CORPUS.glob("*.json")) if CORPUS.is_dir() else []
UNIT = np.random.default_rng(7).random((300, 20))


@pytest.fixture
def corpus_required() -> None:
    """Skip without the shared corpus, but fail in CI (``CI`` set), so that CI never passes without reading it."""
    need_corpus(CORPUS)


def _load_quietly(source) -> NeptuneConfig:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeptuneConfigWarning)
        return load_neptune_config(source)


# -- the seed's example ---------------------------------------------------------------------------------------
def test_seed_example_loads_with_every_field_as_documented():
    with pytest.warns(NeptuneConfigWarning) as caught:
        config = load_neptune_config(SEED_EXAMPLE)
    assert (config.model, config.task_type) == ("rgcn", "node_class")
    assert (config.eval_metric.name, config.eval_metric.topk, config.objective.direction) == (
        "acc", None, Direction.MAXIMIZE)
    assert (config.eval_frequency.type, config.eval_frequency.value) == ("evaluate_every_epoch", 1)
    assert config.source == str(SEED_EXAMPLE)
    space = config.space
    assert space.names == ("num-hidden", "num-epochs", "lr", "dropout", "layer-norm", "batch-size", "fanout",
                           "num-layer", "num-bases")
    assert [space[n].tier for n in space.names] == [Tier.ONE] * 3 + [Tier.TWO] * 2 + [Tier.THREE] * 4
    assert isinstance(space["num-hidden"], DiscreteRange) and space["num-hidden"].values == (16, 32, 64, 128)
    epochs = space["num-epochs"]
    assert isinstance(epochs, IntegerRange) and (epochs.min_value, epochs.max_value) == (3, 30)
    assert epochs.node_strategy == "perM" and epochs.edge_strategy is None
    lr = space["lr"]
    assert isinstance(lr, ContinuousRange) and lr.scaling is Scaling.LOGARITHMIC and lr.default is None
    dropout = space["dropout"]
    assert isinstance(dropout, ContinuousRange) and dropout.scaling is Scaling.LINEAR and dropout.default == 0.3
    assert isinstance(space["layer-norm"], CategoricalRange) and space["layer-norm"].values == (True, False)
    assert space["layer-norm"].default is True
    assert space["batch-size"].values == (128, 256, 512, 1024, 2048, 4096) and space["batch-size"].default == 1024
    assert space["fanout"].values == ([10, 30], [15, 30]) and space["fanout"].default is None
    assert space.off_range_defaults == {"fanout": [10, 15, 15]}
    assert isinstance(space["num-layer"], IntegerRange) and space["num-layer"].default == 2
    assert space["num-bases"].values == (0, 2, 4, 6, 8) and space["num-bases"].default == 0
    assert space.static == {"concat-node-embed": True, "use-self-loop": True, "low-mem": True, "l2norm": 0.0}
    # the two documented lenient readings, each warned about once, with file and JSON path
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2 and config.warnings == tuple(messages)
    assert "models[0].3-tier-param[1].options" in messages[0] and "[15, 30] more than once" in messages[0]
    assert "models[0].3-tier-param[1].default" in messages[1] and "[10, 15, 15]" in messages[1]
    assert all(m.startswith(str(SEED_EXAMPLE)) for m in messages)


@pytest.mark.parametrize(
    "max_jobs, tuned",
    [
        (1, 3), (2, 3), (10, 3),  # tier 1: num-hidden, num-epochs, lr
        (11, 5), (50, 5),  # + dropout, layer-norm
        (51, 9), (200, 9),  # + batch-size, fanout, num-layer, num-bases
    ],
)
def test_seed_example_budget_tiers(max_jobs, tuned):
    config = _load_quietly(SEED_EXAMPLE)
    space = config.space_for_budget(max_jobs)
    assert space.dim == tuned
    expected_static = {"concat-node-embed": True, "use-self-loop": True, "low-mem": True, "l2norm": 0.0}
    untuned = {"dropout": 0.3, "layer-norm": True, "batch-size": 1024, "fanout": [10, 15, 15], "num-layer": 2,
               "num-bases": 0}
    for name, value in untuned.items():
        if name not in space:
            expected_static[name] = value
    assert space.static == expected_static
    # every configuration a strategy can produce is one the ranges allow, never the off-range fanout default
    for u in UNIT:
        config_ = space.from_unit(u[: space.dim])
        assert space.contains(config_)
        assert config_.get("fanout") != [10, 15, 15]


def test_budget_must_be_a_positive_whole_number():
    config = _load_quietly(SEED_EXAMPLE)
    with pytest.raises(SpecError, match=r"max_jobs: max_jobs must be a whole number >= 1, got 0"):
        config.space_for_budget(0)


# -- the corpus (real configs written by others) ------------------------------------------------------------
@pytest.mark.usefixtures("corpus_required")
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_every_corpus_config_loads(path):
    config = _load_quietly(path)
    raw = json.loads(path.read_text())["models"][0]
    declared = [p["param"] for key in ("1-tier-param", "2-tier-param", "3-tier-param", "fixed-param")
                for p in raw.get(key, [])]
    assert sorted(config.space.names + tuple(config.space.static)) == sorted(declared)
    assert config.space_for_budget(2).names == tuple(p["param"] for p in raw["1-tier-param"])  # Neptune's default
    for budget in (2, 11, 51):
        space = config.space_for_budget(budget)
        assert set(space.names) | set(space.static) == set(declared)
        for u in UNIT[:50]:
            assert space.contains(space.from_unit(u[: space.dim]))


@pytest.mark.usefixtures("corpus_required")
def test_corpus_quirks_are_read_as_documented():
    by_prefix = {p.name[:2]: p for p in CORPUS_FILES}
    fraud = _load_quietly(by_prefix["02"])
    assert fraud.eval_frequency.value == 3 and fraud.eval_metric.name == "roc_auc"  # "value": "3"
    assert fraud.space["sparse-embedding"].values == (True, False)  # bool in a tier, default only
    regression = _load_quietly(by_prefix["05"])
    assert regression.task_type == "node_class" and regression.objective.direction is Direction.MINIMIZE
    assert regression.objective.metric == "MSE"
    assert regression.eval_metric.metric_definitions[0].regex == "Validation loss: ([0-9\\.]+)"
    link = _load_quietly(by_prefix["06"])
    assert link.model == "custom" and link.task_type == "link_prediction"
    assert link.space.off_range_defaults == {"weight-decay": 0.0, "num-negs": 10}
    assert link.space_for_budget(10).static["num-negs"] == 10
    assert link.space_for_budget(10).static["weight-decay"] == 0.0
    assert "num-negs" in link.space_for_budget(11) and link.space_for_budget(11)["num-negs"].values == (4, 8, 16, 32)
    han = _load_quietly(by_prefix["08"])
    assert han.space.static["metapaths"] == "same_user,same_month,same_rating"
    xgb = _load_quietly(by_prefix["09"])
    assert xgb.space.static == {"subsample": 0.7, "verbosity": 1}
    assert [r.tier for r in xgb.space.ranges].count(Tier.THREE) == 0


# -- files ----------------------------------------------------------------------------------------------------
def test_reads_a_folder_with_the_lower_case_file_name(tmp_path):
    shutil.copy(SEED_EXAMPLE, tmp_path / "model-hpo-configuration.json")
    config = _load_quietly(tmp_path)
    assert config.source == str(tmp_path / "model-hpo-configuration.json") and config.space.dim == 9


def test_errors_name_the_file(tmp_path):
    path = tmp_path / "model-HPO-configuration.json"
    data = json.loads(SEED_EXAMPLE.read_text())
    data["models"][0]["2-tier-param"][0]["range"] = [0.5, 0.0]
    path.write_text(json.dumps(data))
    with pytest.raises(SpecError) as info:
        load_neptune_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: models[0].2-tier-param[0].range: hyperparameter 'dropout':")
    assert "[0.5, 0.0]" in message and "Swap them" in message
    assert info.value.source == str(path) and info.value.path == "models[0].2-tier-param[0].range"


@pytest.mark.parametrize(
    "content, expected",
    [
        ('{"models": [', "not valid JSON: Expecting value at line 1, column 13"),
        ("", "not valid JSON"),
    ],
)
def test_bad_json_is_a_spec_error_with_the_position(tmp_path, content, expected):
    path = tmp_path / "model-HPO-configuration.json"
    path.write_text(content)
    with pytest.raises(SpecError, match=expected):
        load_neptune_config(path)


def test_missing_file_and_empty_folder(tmp_path):
    with pytest.raises(SpecError, match=r"nope\.json: cannot read the file: No such file"):
        load_neptune_config(tmp_path / "nope.json")
    with pytest.raises(SpecError, match="the folder holds no model-HPO-configuration.json"):
        load_neptune_config(tmp_path)


# -- lenience -------------------------------------------------------------------------------------------------
def _model(**tiers) -> dict:
    model = {"model": "rgcn", "task_type": "node_class", "eval_metric": {"metric": "acc"},
             "1-tier-param": [], "2-tier-param": [], "3-tier-param": [], "fixed-param": []}
    model.update(tiers)
    return {"models": [model]}


def test_numbers_and_booleans_written_as_strings():
    data = _model(**{"1-tier-param": [{"param": "n", "type": "int", "range": ["2", "8"], "inc_strategy": "linear",
                                        "inc_val": "2"}],
                     "fixed-param": [{"param": "sub", "type": "float", "default": "7e-1"},
                                     {"param": "flag", "type": "bool", "default": "True"}]})
    data["models"][0]["eval_frequency"] = {"type": "evaluate_every_batch", "value": "50"}
    config = load_neptune_config(data)
    assert config.space["n"].values == (2, 4, 6, 8)
    assert config.space.static == {"sub": 0.7, "flag": True}
    assert config.eval_frequency.value == 50 and config.source is None


def test_missing_tier_array_is_read_as_empty_with_a_warning():
    data = _model()
    del data["models"][0]["3-tier-param"]
    with pytest.warns(NeptuneConfigWarning, match=r"models\[0\]\.3-tier-param: '3-tier-param' is missing"):
        config = load_neptune_config(data)
    assert config.space.dim == 0


def test_other_tier_spellings():
    data = {"models": [{"model": "transe", "task_type": "link_prediction", "eval_metric": {"metric": "MRR"},
                        "tier-1-param": [{"param": "lr", "type": "float", "range": [0.001, 0.1]}],
                        "2_tier_param": [], "tier3-params": [], "Fixed-Param": []}]}
    config = load_neptune_config(data)
    assert config.space["lr"].tier is Tier.ONE and config.eval_metric.name == "mrr"


def test_fixed_param_range_is_ignored_with_a_warning():
    data = _model(**{"fixed-param": [{"param": "lr", "type": "float", "range": [0.001, 0.1], "default": 0.01}]})
    with pytest.warns(NeptuneConfigWarning, match="'lr' is fixed, so its range is ignored"):
        config = load_neptune_config(data)
    assert config.space.static == {"lr": 0.01} and config.space.dim == 0


def test_off_range_default_keeps_its_type_check():
    data = _model(**{"2-tier-param": [{"param": "wd", "type": "float", "range": [0.001, 0.01], "inc_strategy": "log",
                                       "default": 0}]})
    with pytest.warns(NeptuneConfigWarning, match=r"default 0\.0 of hyperparameter 'wd' is not a value its range"):
        config = load_neptune_config(data)
    assert config.space.off_range_defaults == {"wd": 0.0} and config.space["wd"].default is None


def test_acc_topk_and_graph_strategies():
    data = _model(**{"1-tier-param": [{"param": "num-epochs", "type": "int", "range": [3, 30],
                                       "edge_strategy": "PER10M"}]})
    data["models"][0]["eval_metric"] = {"metric": "acc_topk", "topk": 3}
    data["models"][0]["eval_frequency"] = {"type": "evaluate_every_pct", "value": 0.1}
    config = load_neptune_config(data)
    assert (config.eval_metric.name, config.eval_metric.topk) == ("acc_topk", 3)
    assert config.space["num-epochs"].edge_strategy == "per10M"
    assert (config.eval_frequency.type, config.eval_frequency.value) == ("evaluate_every_pct", 0.1)
