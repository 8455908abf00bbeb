"""The 9 real model-HPO-configuration.json files of ../shared/corpus/neptune/configs, read as their authors meant.

For each file: which hyperparameters are tuned at budgets 2 (Neptune ML's default), 10, 11, 50 and 51, with which
values, and which value every other one takes. The tier rule read at the boundaries (where Neptune's docs
disagree): up to 10 training jobs tune tier 1, 11 to 50 tiers 1 and 2, 51 and more all three.

Every expectation is read off the file with Neptune's increment rules (``power2`` [16, 128] is 16, 32, 64, 128;
``linear`` with ``inc_val`` 5 on [5, 30] is 5, 10, ..., 30; ``log`` is a log-scaled interval; a bool in a tier is
true or false), not off hyperjob's output. Then each oddity the files carry is a documented rule with its test,
and what is refused (two models) is a clear error.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hyperjob.cli.app import app
from hyperjob.errors import SpecError
from hyperjob.formats.neptune import FILE_NAMES, NeptuneConfig, NeptuneConfigWarning, load_neptune_config
from hyperjob.records import Direction
from hyperjob.space import CategoricalRange, ContinuousRange, DiscreteRange, IntegerRange
from _corpus import CORPUS_ROOT, need

CORPUS = CORPUS_ROOT / "neptune" / "configs"
FILES = sorted(CORPUS.glob("*.json")) or [CORPUS / "missing-corpus.json"]
BUDGETS = (2, 10, 11, 50, 51)


def by_prefix(prefix: str) -> Path:
    found = [p for p in FILES if p.name.startswith(prefix)]
    return need(found[0] if found else CORPUS / f"{prefix}-missing.json")


def load(path: Path | dict) -> NeptuneConfig:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeptuneConfigWarning)
        return load_neptune_config(path)


# -- how a range is described in the tables --------------------------------------------------------------------
def V(*values: Any) -> tuple:  # noqa: N802 - a finite set of values
    return ("values", values)


def INT(lo: int, hi: int, node_strategy: str | None = None) -> tuple:  # noqa: N802 - every integer in [lo, hi]
    return ("int", lo, hi, "Linear", node_strategy)


def FLOAT(lo: float, hi: float, scaling: str) -> tuple:  # noqa: N802 - an interval
    return ("float", lo, hi, scaling)


BOOL = V(True, False)


def describe(r: Any) -> tuple:
    if isinstance(r, (CategoricalRange, DiscreteRange)):
        return ("values", tuple(r.values))
    if isinstance(r, IntegerRange):
        return ("int", r.min_value, r.max_value, r.scaling.value, r.node_strategy)
    if isinstance(r, ContinuousRange):
        return ("float", r.min_value, r.max_value, r.scaling.value)
    raise AssertionError(f"unexpected range {r!r}")


# -- the files, tier by tier: name -> values allowed (tuned tiers) or value (fixed); defaults of tiers 2 and 3 ----
RGCN_T1 = {"num-hidden": V(16, 32, 64, 128), "num-epochs": INT(3, 30, "perM"), "lr": FLOAT(0.001, 0.01, "Logarithmic")}
CUSTOM_T1 = {"hidden-size": V(16, 32, 64, 128), "num-bases": V(2, 4, 8), "n-epochs": INT(3, 30, "perM"),
             "num-neighbors": V(5, 10, 15, 20, 25, 30), "lr": FLOAT(0.001, 0.01, "Logarithmic")}
WEIGHT_DECAY = {"weight-decay": FLOAT(0.001, 0.01, "Logarithmic")}
BATCH = {"batch-size": V(128, 256, 512, 1024, 2048, 4096)}

EXPECTED: dict[str, dict[str, Any]] = {
    "01": dict(
        model="rgcn", task="node_class", objective=("acc", Direction.MAXIMIZE),
        tiers=(RGCN_T1,
               {"dropout": FLOAT(0.0, 0.5, "Linear"), "layer-norm": BOOL},
               {**BATCH, "fanout": V([10, 30], [15, 30]), "num-layer": INT(1, 3), "num-bases": V(0, 2, 4, 6, 8)}),
        defaults={"dropout": 0.3, "layer-norm": True, "batch-size": 1024, "fanout": [10, 15, 15], "num-layer": 2,
                  "num-bases": 0},
        fixed={"concat-node-embed": True, "use-self-loop": True, "low-mem": True, "l2norm": 0.0}),
    "02": dict(
        model="rgcn", task="node_class", objective=("roc_auc", Direction.MAXIMIZE),
        tiers=(RGCN_T1,
               {"dropout": FLOAT(0.0, 0.5, "Linear"), "global-norm": BOOL},
               {**BATCH, "sparse-embedding": BOOL, "concat-node-embed": BOOL,
                "sparse-lr": FLOAT(0.001, 0.01, "Logarithmic"), "per-feat-name-embed": BOOL, "use-class-weight": BOOL,
                "fanout": V([10, 30], [15, 30]), "num-layer": INT(1, 3), "num-bases": V(2, 4, 6, 8)}),
        defaults={"dropout": 0.3, "global-norm": True, "batch-size": 1024, "sparse-embedding": True,
                  "concat-node-embed": True, "sparse-lr": 0.001, "per-feat-name-embed": True,
                  "use-class-weight": True, "fanout": [10, 15, 15], "num-layer": 2, "num-bases": 2},
        fixed={"layer-norm": False, "use-self-loop": True, "low-mem": True, "enable-early-stop": True,
               "l2norm": 0.0}),
    "03": dict(
        model="custom", task="node_class", objective=("ROC_AUC", Direction.MAXIMIZE),
        tiers=(CUSTOM_T1, WEIGHT_DECAY, BATCH), defaults={"weight-decay": 0.0, "batch-size": 1024},
        fixed={"num-encoder-layers": 2, "num-decoder-layers": 1}),
    "04": dict(
        model="custom", task="node_class", objective=("Accuracy", Direction.MAXIMIZE),
        tiers=(CUSTOM_T1, WEIGHT_DECAY, BATCH), defaults={"weight-decay": 0.0, "batch-size": 1024},
        fixed={"num-encoder-layers": 2, "num-decoder-layers": 1}),
    "05": dict(  # a regression objective under task_type node_class: the direction comes from Type
        model="custom", task="node_class", objective=("MSE", Direction.MINIMIZE),
        tiers=(CUSTOM_T1, WEIGHT_DECAY, BATCH), defaults={"weight-decay": 0.0, "batch-size": 1024},
        fixed={"num-encoder-layers": 2, "num-decoder-layers": 1}),
    "06": dict(
        model="custom", task="link_prediction", objective=("MRR", Direction.MAXIMIZE),
        tiers=({**CUSTOM_T1, "n-epochs": INT(3, 100, "perM")},
               {**WEIGHT_DECAY, "num-negs": V(4, 8, 16, 32)}, BATCH),
        defaults={"weight-decay": 0.0, "num-negs": 10, "batch-size": 1024}, fixed={"num-encoder-layers": 1}),
    "07": dict(
        model="custom", task="link_prediction", objective=("MRR", Direction.MAXIMIZE),
        tiers=(CUSTOM_T1, {**WEIGHT_DECAY, "num-negs": V(4, 8, 16, 32)}, BATCH),
        defaults={"weight-decay": 0.0, "num-negs": 10, "batch-size": 1024}, fixed={"num-encoder-layers": 2}),
    "08": dict(
        model="custom", task="node_class", objective=("ROC_AUC", Direction.MAXIMIZE),
        tiers=({**{k: v for k, v in CUSTOM_T1.items() if k != "num-bases"}, "num-heads": V(2, 4, 8)},
               WEIGHT_DECAY, BATCH),
        defaults={"weight-decay": 0.0, "batch-size": 1024},
        fixed={"metapaths": "same_user,same_month,same_rating", "num-encoder-layers": 1, "num-decoder-layers": 1}),
    "09": dict(
        model="custom", task="node_class", objective=("ROC_AUC", Direction.MAXIMIZE),
        tiers=({"max-depth": V(2, 4, 8), "eta": FLOAT(0.1, 0.5, "Linear"), "gamma": V(2, 4, 6, 8, 10),
                "min-child-weight": V(2, 4, 6, 8, 10)},
               {"num-round": V(10, 20, 30, 40, 50, 60, 70, 80, 90, 100)}, {}),
        defaults={"num-round": 30}, fixed={"subsample": 0.7, "verbosity": 1}),
}


def tuned_tiers(budget: int) -> int:
    """The tier rule of record: <= 10 jobs tier 1, 11 to 50 tiers 1-2, 51 and more all three."""
    return 1 if budget <= 10 else 2 if budget <= 50 else 3


def test_the_corpus_holds_the_9_configs():
    need(FILES[0])
    assert [p.name[:2] for p in FILES] == sorted(EXPECTED)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:2])
def test_each_config_reads_its_model_task_and_objective(path):
    config = load(need(path))
    want = EXPECTED[path.name[:2]]
    assert (config.model, config.task_type) == (want["model"], want["task"])
    assert (config.objective.metric, config.objective.direction) == want["objective"]


@pytest.mark.parametrize("budget", BUDGETS)
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:2])
def test_what_each_budget_tunes_and_with_which_values(path, budget):
    config = load(need(path))
    want = EXPECTED[path.name[:2]]
    n = tuned_tiers(budget)
    tuned: dict[str, tuple] = {}
    for tier in want["tiers"][:n]:
        tuned.update(tier)
    space = config.space_for_budget(budget)
    assert {name: describe(space[name]) for name in space.names} == tuned
    untuned = {name for tier in want["tiers"][n:] for name in tier}
    assert space.static == {**want["fixed"], **{k: v for k, v in want["defaults"].items() if k in untuned}}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:2])
def test_neptune_default_budget_of_2_tunes_tier_1_only(path):
    config = load(need(path))
    raw = json.loads(path.read_text())["models"][0]
    assert config.space_for_budget(2).names == tuple(p["param"] for p in raw["1-tier-param"])


# -- the oddities, each a documented rule (formats/neptune.py's docstring) ------------------------------------
def test_numbers_written_as_strings_are_numbers():
    assert load(by_prefix("02")).eval_frequency.value == 3  # "value": "3"
    raw = json.loads(by_prefix("01").read_text())
    m = raw["models"][0]
    m["2-tier-param"][0].update({"range": ["0.0", "7e-1"], "default": "0.3"})
    m["2-tier-param"][1]["default"] = "false"
    config = load(raw)
    assert describe(config.space["dropout"]) == FLOAT(0.0, 0.7, "Linear")
    assert config.space_for_budget(2).static["dropout"] == 0.3
    assert config.space_for_budget(2).static["layer-norm"] is False


def test_a_bool_in_a_tier_with_only_a_default_is_a_search_over_true_and_false():
    config = load(by_prefix("02"))
    for name in ("global-norm", "sparse-embedding", "use-class-weight"):  # beside the documented list, too
        assert describe(config.space[name]) == BOOL
    assert config.space_for_budget(10).static["global-norm"] is True


def test_str_type_is_accepted():
    assert load(by_prefix("08")).space.static["metapaths"] == "same_user,same_month,same_rating"


def test_list_default_and_repeated_options_of_fanout():
    with pytest.warns(NeptuneConfigWarning) as caught:
        config = load_neptune_config(by_prefix("01"))
    messages = [str(w.message) for w in caught]
    assert any("list [15, 30] more than once; each is kept once: [[10, 30], [15, 30]]" in m for m in messages)
    assert any("the default [10, 15, 15] of hyperparameter 'fanout' is not a value its range allows" in m
               for m in messages)
    assert config.space.off_range_defaults == {"fanout": [10, 15, 15]}
    assert config.space_for_budget(50).static["fanout"] == [10, 15, 15]


def test_defaults_off_the_grid_or_outside_the_range_are_kept_but_never_suggested():
    config = load(by_prefix("06"))
    assert config.space.off_range_defaults == {"weight-decay": 0.0, "num-negs": 10}
    assert any("the default 10 of hyperparameter 'num-negs' is not a value its range allows ([4, 8, 16, 32])" in w
               for w in config.warnings)
    tuned = config.space_for_budget(11)
    assert 10 not in tuned["num-negs"].values and not tuned["weight-decay"].contains(0.0)


def test_empty_tiers_and_a_missing_eval_frequency_are_accepted():
    with warnings.catch_warnings():
        warnings.simplefilter("error", NeptuneConfigWarning)  # an empty tier is no oddity: no warning
        config = load_neptune_config(by_prefix("09"))
    assert config.space_for_budget(51).names == config.space_for_budget(11).names  # tier 3 is []
    assert (config.eval_frequency.type, config.eval_frequency.value) == ("evaluate_every_epoch", 1)


def test_the_custom_model_dialect():
    config = load(by_prefix("06"))
    assert config.model == "custom" and config.task_type == "link_prediction"  # "link_predict"
    (definition,) = config.eval_metric.metric_definitions
    assert (definition.name, definition.regex) == ("MRR", r"Validation average MRR[ ]*: (\S*)")
    regression = load(by_prefix("05"))
    assert regression.task_type == "node_class" and regression.objective.direction is Direction.MINIMIZE


def test_tier_1_needs_no_default_but_tiers_2_and_3_do():
    raw = json.loads(by_prefix("03").read_text())
    assert all("default" not in p for p in raw["models"][0]["1-tier-param"])
    load(raw)
    del raw["models"][0]["2-tier-param"][0]["default"]
    with pytest.raises(SpecError, match=r"models\[0\]\.2-tier-param\[0\]\.default: hyperparameter 'weight-decay' is "
                                        r"in '2-tier-param', which small budgets do not tune"):
        load(raw)


# -- what is refused -------------------------------------------------------------------------------------------
def test_two_models_are_refused_with_a_clear_error():
    raw = json.loads(by_prefix("01").read_text())
    raw["models"].append(json.loads(by_prefix("02").read_text())["models"][0])
    with pytest.raises(SpecError) as err:
        load_neptune_config(raw, source="two.json")
    message = str(err.value)
    assert message.startswith("two.json: models: 'models' must hold exactly one model configuration, got 2.")
    assert "Neptune ML trains one model per tuning job" in message


def test_an_unknown_model_or_task_is_refused():
    raw = json.loads(by_prefix("01").read_text())
    raw["models"][0]["model"] = "gat"
    with pytest.raises(SpecError, match=r"models\[0\]\.model: model must be one of 'rgcn', 'transe', 'distmult', "
                                        r"'rotate', 'custom', got 'gat'"):
        load(raw)


# -- file names: the docs' and the clients' spelling ----------------------------------------------------------
@pytest.mark.parametrize("name", FILE_NAMES)
def test_both_file_names_load_from_a_folder_and_through_the_cli(tmp_path, name):
    shutil.copy(by_prefix("06"), tmp_path / name)
    config = load(tmp_path)
    assert config.source == str(tmp_path / name) and config.task_type == "link_prediction"
    for target in (tmp_path, tmp_path / name):
        result = CliRunner().invoke(app, ["validate", str(target)])
        assert result.exit_code == 0, result.output
        assert "a valid Neptune ML model-HPO-configuration" in result.output
        assert "tuned at 2 jobs:  hidden-size, num-bases, n-epochs, num-neighbors, lr\n" in result.output
        assert "tuned at 51 jobs: hidden-size, num-bases, n-epochs, num-neighbors, lr, weight-decay, num-negs, " \
               "batch-size\n" in result.output


def test_cli_validate_checks_a_custom_models_regex_on_a_log(tmp_path):
    log = tmp_path / "train.log"
    log.write_text("Validation Average MRR=0.31\nValidation Average MRR=4.2e-01\n")
    result = CliRunner().invoke(app, ["validate", str(by_prefix("07")), "--log", str(log)])
    assert result.exit_code == 2
    assert "read 4.2 from '4.2e-01': the exponent is cut off" in result.output


def test_a_folder_without_the_file_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 2 and "is a directory" in result.output and "Traceback" not in result.output
