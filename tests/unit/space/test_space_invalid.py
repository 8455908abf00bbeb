"""Every rule of the space and of the Neptune file, broken once: a SpecError naming the place, value and fix."""

from __future__ import annotations

import copy
import re
from typing import Any, Callable

import pytest

from hyperjob.errors import SpecError
from hyperjob.formats.neptune import load_neptune_config
from hyperjob.space import (
    CategoricalRange,
    ContinuousRange,
    DiscreteRange,
    IntegerRange,
    SearchSpace,
    Tier,
    increment_range,
    tuned_tiers,
)


def _inc(lo: Any, hi: Any, strategy: str | None = "linear", inc_val: Any = None, integer: bool = True):
    return lambda: increment_range("p", lo, hi, integer=integer, inc_strategy=strategy, inc_val=inc_val)


def _c(**kw):
    return lambda: ContinuousRange("lr", **kw)


def _i(**kw):
    return lambda: IntegerRange("n", **kw)


def _cat(**kw):
    return lambda: CategoricalRange("opt", **kw)


_TIER2_NO_DEFAULT = SearchSpace(ranges=(ContinuousRange("wd", min_value=0.001, max_value=0.01, tier=Tier.TWO),))

# (build, substrings the message must hold): each a distinct broken rule or a distinct way to break it
SPACE_CASES: list[tuple[str, Callable[[], Any], list[str]]] = [
    ("min>=max", _c(min_value=1.0, max_value=0.1), ["hyperparameters.lr.min_value", "min_value=1.0, max_value=0.1", "Swap them"]),
    ("min==max int", _i(min_value=5, max_value=5), ["hyperparameters.n", "min_value=5, max_value=5", "static"]),
    ("log min 0", _c(min_value=0.0, max_value=0.1, scaling="logarithmic"), ["lr.scaling", "needs min_value > 0, got min_value=0.0", "positive min_value"]),
    ("log min<0 int", _i(min_value=-2, max_value=10, scaling="log"), ["n.scaling", "got min_value=-2", "'linear'"]),
    ("rlog max 1", _c(min_value=0.5, max_value=1.0, scaling="reverse_logarithmic"), ["0 <= min_value and max_value < 1", "[0.5, 1.0]", "inside [0, 1)"]),
    ("rlog min<0", _c(min_value=-0.1, max_value=0.5, scaling="ReverseLogarithmic"), ["[-0.1, 0.5]", "inside [0, 1)"]),
    ("rlog integer", _i(min_value=1, max_value=10, scaling="reverse_logarithmic"), ["continuous ranges only", "[1, 10]"]),
    ("unknown scaling", _c(min_value=0.0, max_value=1.0, scaling="exponential"), ["lr.scaling", "unknown scaling 'exponential'", "'reverse_logarithmic'"]),
    ("string bound", _c(min_value="0.1", max_value=1.0), ["lr.min_value", "min_value must be a number, got '0.1'"]),
    ("bool bound", _i(min_value=0, max_value=True), ["n.max_value", "must be a number, got True"]),
    ("nan bound", _c(min_value=float("nan"), max_value=1.0), ["must be finite, got nan"]),
    ("inf bound", _c(min_value=0.0, max_value=float("inf")), ["max_value must be finite, got inf"]),
    ("fractional int bound", _i(min_value=1.5, max_value=4), ["n.min_value", "whole number, got 1.5", "Round it"]),
    ("default outside", _c(min_value=0.0, max_value=1.0, default=2), ["lr.default", "default 2 is outside the range [0.0, 1.0]", "widen"]),
    ("default outside int", _i(min_value=0, max_value=4, default=9), ["n.default", "default 9 is outside the range [0, 4]"]),
    ("default fractional", _i(min_value=0, max_value=4, default=2.5), ["default must be a whole number, got 2.5"]),
    ("default not an option", _cat(values=("a", "b"), default="c"), ["opt.default", "default 'c' is not one of the allowed values ['a', 'b']"]),
    ("default off grid", lambda: DiscreteRange("g", values=(4, 8), integer=True, default=6), ["g.default", "default 6 is not one of", "[4, 8]"]),
    ("empty categorical", _cat(values=()), ["opt.values", "at least one value, got an empty list"]),
    ("duplicate categorical", _cat(values=("a", "b", "a")), ["the values 'a' appear more than once", "List each value once"]),
    ("duplicate 1 and 1.0", _cat(values=(1, 1.0, 2)), ["the values 1.0 appear more than once"]),
    ("duplicate lists", _cat(values=([1, 2], (1, 2))), ["appear more than once"]),
    ("values not a list", _cat(values="abc"), ["values must be a list, got 'abc'"]),
    ("None value", _cat(values=("a", None)), ["a categorical value cannot be None"]),
    ("dict value", _cat(values=({"a": 1},)), ["cannot be {'a': 1} (a dict)"]),
    ("grid duplicates", lambda: DiscreteRange("g", values=(1, 2, 2)), ["g.values", "[2.0] appear more than once"]),
    ("grid fractional", lambda: DiscreteRange("g", values=(1, 2.5), integer=True), ["whole numbers, got 2.5"]),
    ("grid non-number", lambda: DiscreteRange("g", values=(1, "a")), ["a grid value must be a number, got 'a'"]),
    ("empty name", lambda: ContinuousRange("", min_value=0, max_value=1), ["hyperparameters", "non-empty name, got ''"]),
    ("unknown tier", lambda: ContinuousRange("x", min_value=0, max_value=1, tier=4), ["x.tier", "unknown tier 4", "'fixed'"]),
    ("duplicate names", lambda: SearchSpace(ranges=(IntegerRange("n", min_value=0, max_value=1), IntegerRange("n", min_value=0, max_value=2))), ["hyperparameters.n", "'n' is declared twice"]),
    ("static and tuned", lambda: SearchSpace(ranges=(IntegerRange("n", min_value=0, max_value=1),), static={"n": 3}), ["'n' is both tuned (a range) and static"]),
    ("off-range default of unknown", lambda: SearchSpace(ranges=(IntegerRange("n", min_value=0, max_value=1),), off_range_defaults={"m": 0}), ["off_range_defaults names 'm'", "'n'"]),
    ("budget 0", lambda: tuned_tiers(0), ["max_jobs", "whole number >= 1, got 0"]),
    ("budget fractional", lambda: tuned_tiers(2.5), ["got 2.5"]),
    ("untuned tier without default", lambda: _TIER2_NO_DEFAULT.for_budget(10), ["wd.default", "tier 2, which a budget of 10 training jobs does not tune", "Add a default"]),
    ("validate missing", lambda: SearchSpace(ranges=(IntegerRange("n", min_value=0, max_value=1),)).validate({}), ["lacks 'n'"]),
    ("validate unknown", lambda: SearchSpace(ranges=(IntegerRange("n", min_value=0, max_value=1),)).validate({"n": 1, "m": 2}), ["'m' is not a hyperparameter of this space"]),
    ("validate outside", lambda: SearchSpace(ranges=(IntegerRange("n", min_value=0, max_value=1),)).validate({"n": 7}), ["value 7 is outside the range [0, 1]"]),
    # Neptune's increment strategies
    ("inc_val 0", _inc(0, 8, inc_val=0), ["p.inc_val", "inc_val must be positive, got 0"]),
    ("inc_val negative", _inc(0, 8, inc_val=-2), ["inc_val must be positive, got -2"]),
    ("inc_val not dividing", _inc(0, 8, inc_val=3), ["p.inc_val", "inc_val 3 does not divide the range [0, 8]", "e.g. 2"]),
    ("inc_val not dividing float", _inc(0.0, 1.0, inc_val=0.3, integer=False), ["inc_val 0.3 does not divide", "e.g. 0.333333333333"]),
    ("inc_val wider than range", _inc(0, 8, inc_val=10), ["inc_val 10 is larger than the range's width 8"]),
    ("inc_val fractional for int", _inc(0, 8, inc_val=0.5), ["inc_val of an int hyperparameter must be a whole number, got 0.5"]),
    ("inc_val too fine", _inc(0.0, 1.0, inc_val=1e-6, integer=False), ["makes 1000001 values", "more than 100000"]),
    ("inc_val with log", _inc(1, 8, strategy="log", inc_val=1), ["inc_val applies to inc_strategy 'linear' only", "'log'"]),
    ("inc_val with power2", _inc(1, 8, strategy="power2", inc_val=2), ["inc_val applies to inc_strategy 'linear' only", "'power2'"]),
    ("log with min 0", _inc(0, 8, strategy="log"), ["p.range", "inc_strategy 'log' needs a positive min, got [0, 8]"]),
    ("power2 negative", _inc(-4, 16, strategy="power2"), ["inc_strategy 'power2' needs positive bounds, got [-4, 16]"]),
    ("power2 zero", _inc(0, 16, strategy="power2"), ["needs positive bounds, got [0, 16]"]),
    ("power2 none inside", _inc(5, 7, strategy="power2"), ["found no power of two in [5, 7]", "[16, 128]"]),
    ("power2 none inside float", _inc(0.3, 0.45, strategy="power2", integer=False), ["no power of two in [0.3, 0.45]"]),
    ("unknown inc_strategy", _inc(1, 8, strategy="exp"), ["p.inc_strategy", "unknown inc_strategy 'exp'", "'power2'"]),
    ("int bounds fractional", _inc(0.5, 10), ["whole-number bounds, got [0.5, 10]"]),
    ("range reversed", _inc(10, 1), ["min must be less than its max, got [10, 1]"]),
    ("range bound not a number", _inc("a", 1), ["the range's min must be a number, got 'a'"]),
]


@pytest.mark.parametrize("build, expected", [c[1:] for c in SPACE_CASES], ids=[f"space: {c[0]}" for c in SPACE_CASES])
def test_space_rule_broken(build, expected):
    with pytest.raises(SpecError) as info:
        build()
    for text in expected:
        assert text in str(info.value), f"{text!r} not in {str(info.value)!r}"


# -- the Neptune file --------------------------------------------------------------------------------------------
BASE = {
    "models": [{
        "model": "rgcn",
        "task_type": "node_class",
        "eval_metric": {"metric": "acc"},
        "eval_frequency": {"type": "evaluate_every_epoch", "value": 1},
        "1-tier-param": [{"param": "lr", "type": "float", "range": [0.001, 0.01], "inc_strategy": "log"}],
        "2-tier-param": [{"param": "dropout", "type": "float", "range": [0.0, 0.5], "default": 0.3}],
        "3-tier-param": [],
        "fixed-param": [{"param": "low-mem", "type": "bool", "default": True}],
    }]
}
CUSTOM_METRIC = {"tuning_objective": {"MetricName": "MRR", "Type": "Maximize"},
                 "metric_definitions": [{"Name": "MRR", "Regex": "MRR=([0-9.]+)"}]}


def _set(key: str, value: Any) -> Callable[[dict], None]:
    def mutate(data: dict) -> None:
        data["models"][0][key] = value
    return mutate


def _param(key: str, index: int, **changes: Any) -> Callable[[dict], None]:
    """Change (or, with value ``...``, remove) fields of ``models[0][key][index]``; index -1 appends a new one."""
    def mutate(data: dict) -> None:
        items = data["models"][0][key]
        if index == -1:
            items.append({})
        item = items[index]
        for k, v in changes.items():
            k = k.replace("__", "-")
            if v is ...:
                item.pop(k, None)
            else:
                item[k] = v
    return mutate


def _root(value: Any) -> Callable[[dict], Any]:
    return lambda data: value


def _drop(key: str) -> Callable[[dict], None]:
    def mutate(data: dict) -> None:
        del data["models"][0][key]
    return mutate


NEPTUNE_CASES: list[tuple[str, Callable[[dict], Any], list[str]]] = [
    ("two models", lambda d: d["models"].append(copy.deepcopy(d["models"][0])), ["f.json: models:", "exactly one model configuration, got 2"]),
    ("no model", lambda d: d["models"].clear(), ["models:", "got 0"]),
    ("models not a list", _root({"models": {"model": "rgcn"}}), ["'models' must be a list"]),
    ("no models key", _root({"model": "rgcn"}), ["unknown key 'model'", "did you mean 'models'?"]),
    ("empty object", _root({}), ["needs a 'models' list"]),
    ("root not an object", _root([1]), ["the file must be a JSON object, got [1]"]),
    ("unknown model", _set("model", "gcn"), ["models[0].model", "model must be one of 'rgcn', 'transe', 'distmult', 'rotate', 'custom', got 'gcn'"]),
    ("unknown task", _set("task_type", "graph_class"), ["models[0].task_type", "'link_prediction', got 'graph_class'"]),
    ("missing task", _drop("task_type"), ["models[0].task_type", "needs 'task_type'"]),
    ("missing eval_metric", _drop("eval_metric"), ["needs 'eval_metric'"]),
    ("unknown metric", _set("eval_metric", {"metric": "auc"}), ["models[0].eval_metric.metric", "got 'auc'", "'roc_auc'"]),
    ("topk without acc_topk", _set("eval_metric", {"metric": "acc", "topk": 2}), ["eval_metric.topk", "topk goes with metric 'acc_topk' only", "'acc'"]),
    ("topk zero", _set("eval_metric", {"metric": "acc_topk", "topk": 0}), ["topk must be a positive whole number, got 0"]),
    ("topk fractional", _set("eval_metric", {"metric": "acc_topk", "topk": 2.5}), ["topk must be a whole number, got 2.5"]),
    ("metric missing", _set("eval_metric", {"topk": 2}), ["eval_metric.metric", "needs 'metric'"]),
    ("unknown frequency type", _set("eval_frequency", {"type": "evaluate_every_step", "value": 1}), ["eval_frequency.type", "got 'evaluate_every_step'"]),
    ("epoch frequency 0", _set("eval_frequency", {"type": "evaluate_every_epoch", "value": 0}), ["eval_frequency.value", "number of epochs >= 1, got 0"]),
    ("batch frequency fractional", _set("eval_frequency", {"type": "evaluate_every_batch", "value": 2.5}), ["value of evaluate_every_batch must be a whole number, got 2.5"]),
    ("pct frequency 0", _set("eval_frequency", {"type": "evaluate_every_pct", "value": 0}), ["fraction of training in (0, 1], got 0"]),
    ("pct frequency 1.5", _set("eval_frequency", {"type": "evaluate_every_pct", "value": 1.5}), ["(0, 1], got 1.5"]),
    ("frequency value missing", _set("eval_frequency", {"type": "evaluate_every_epoch"}), ["eval_frequency.value", "needs 'value'"]),
    ("frequency value text", _set("eval_frequency", {"type": "evaluate_every_epoch", "value": "often"}), ["must be a whole number, got 'often'"]),
    ("unknown type", _param("1-tier-param", 0, type="double"), ["models[0].1-tier-param[0].type", "the type of hyperparameter 'lr' must be one of 'bool', 'int', 'float'", "got 'double'"]),
    ("missing type", _param("1-tier-param", 0, type=...), ["1-tier-param[0].type", "'lr' needs a 'type'"]),
    ("missing name", _param("2-tier-param", 0, param=...), ["2-tier-param[0].param", "needs 'param'"]),
    ("range and options", _param("1-tier-param", 0, options=[0.001, 0.01]), ["1-tier-param[0]:", "'lr' has both 'range'", "'options'"]),
    ("neither range nor options", _param("3-tier-param", -1, param="num-layer", type="int", default=2), ["3-tier-param[0]:", "'num-layer' is in '3-tier-param' (tuned) but has neither 'range' nor 'options'"]),
    ("fixed without default", _param("fixed-param", 0, default=...), ["fixed-param[0].default", "'low-mem' is in 'fixed-param', so it needs a 'default'"]),
    ("tier 2 without default", _param("2-tier-param", 0, default=...), ["2-tier-param[0].default", "'dropout' is in '2-tier-param'", "more than 10 training jobs"]),
    ("range of three", _param("1-tier-param", 0, range=[1, 2, 3]), ["1-tier-param[0].range", "must be [min, max] (two numbers), got [1, 2, 3]"]),
    ("range not numeric", _param("1-tier-param", 0, range=["a", 0.01]), ["1-tier-param[0].range[0]", "the range's min must be a number, got 'a'"]),
    ("range reversed", _param("2-tier-param", 0, range=[0.5, 0.0]), ["2-tier-param[0].range", "hyperparameter 'dropout'", "got [0.5, 0.0]"]),
    ("log range min 0", _param("1-tier-param", 0, range=[0, 0.01]), ["1-tier-param[0].range", "'lr': inc_strategy 'log' needs a positive min, got [0, 0.01]"]),
    # an inc_val that does not divide an edited range is accepted (issue 17): tests/unit/formats/test_issue17_neptune.py
    ("power2 non-positive", _param("1-tier-param", 0, type="int", range=[0, 64], inc_strategy="power2"), ["1-tier-param[0].range", "'power2' needs positive bounds, got [0, 64]"]),
    ("unknown inc_strategy", _param("1-tier-param", 0, inc_strategy="exponential"), ["1-tier-param[0].inc_strategy", "unknown inc_strategy 'exponential'"]),
    ("inc_val without range", _param("3-tier-param", -1, param="fanout", type="int", options=[[10, 30]], inc_val=5, default=[10, 30]), ["3-tier-param[0].inc_val", "'fanout' has inc_val 5 but no 'range'"]),
    ("bool with range", _param("2-tier-param", -1, param="flag", type="bool", range=[0, 1], default=True), ["2-tier-param[1].range", "'flag' is a bool, which takes 'options', not a range"]),
    ("str with range", _param("2-tier-param", -1, param="act", type="str", range=[0, 1], default="relu"), ["'act' is a str, which takes 'options'"]),
    ("empty options", _param("2-tier-param", -1, param="act", type="str", options=[], default="relu"), ["2-tier-param[1].options", "options of hyperparameter 'act' are an empty list"]),
    ("options not a list", _param("2-tier-param", -1, param="act", type="str", options="relu", default="relu"), ["options of hyperparameter 'act' must be a list, got 'relu'"]),
    ("option of wrong type", _param("2-tier-param", -1, param="k", type="int", options=[1, "two"], default=1), ["2-tier-param[1].options[1]", "an option of an int hyperparameter must be a whole number, got 'two'"]),
    ("default of wrong type", _param("2-tier-param", 0, default="high"), ["2-tier-param[0].default", "the default of a float hyperparameter must be a number, got 'high'"]),
    ("bool default not bool", _param("fixed-param", 0, default="yes"), ["fixed-param[0].default", "must be true or false, got 'yes'"]),
    ("list default on a range", _param("2-tier-param", 0, default=[0.1, 0.2]), ["2-tier-param[0].default", "default of hyperparameter 'dropout' is a list ([0.1, 0.2])"]),
    ("list default for bool", _param("fixed-param", 0, default=[True]), ["default of a bool hyperparameter cannot be a list"]),
    ("name declared twice", _param("fixed-param", -1, param="lr", type="float", default=0.01), ["fixed-param[1].param", "'lr' is declared twice, at models[0].1-tier-param[0] and here"]),
    ("unknown node_strategy", _param("1-tier-param", 0, node_strategy="perK"), ["1-tier-param[0].node_strategy", "'perM', 'per10M', 'per100M', got 'perK'"]),
    ("unknown edge_strategy", _param("1-tier-param", 0, edge_strategy=5), ["1-tier-param[0].edge_strategy", "got 5"]),
    ("unknown param key", _param("1-tier-param", 0, inc_stategy="log"), ["1-tier-param[0].inc_stategy", "unknown key 'inc_stategy' in hyperparameter 'lr'", "did you mean 'inc_strategy'?"]),
    ("unknown model key", _set("eval_metrc", {"metric": "acc"}), ["models[0].eval_metrc", "did you mean 'eval_metric'?"]),
    ("tier twice", _set("tier-1-param", []), ["models[0].tier-1-param", "tier 1 is given twice, as '1-tier-param' and 'tier-1-param'"]),
    ("tier not a list", _set("3-tier-param", {}), ["models[0].3-tier-param", "must be a list of hyperparameters, got {}"]),
    ("param not an object", _set("3-tier-param", ["lr"]), ["3-tier-param[0]", "a hyperparameter must be a JSON object, got 'lr'"]),
    ("custom model with built-in metric", _set("model", "custom"), ["models[0].eval_metric", "a custom model needs eval_metric as"]),
    ("built-in model with objective", _set("eval_metric", CUSTOM_METRIC), ["models[0].eval_metric", "the model 'rgcn' is built in"]),
]

_CUSTOM_CASES: list[tuple[str, dict, list[str]]] = [
    ("objective not defined", {"tuning_objective": {"MetricName": "Loss", "Type": "Minimize"}},
     ["tuning_objective.MetricName", "MetricName 'Loss' is not among the metric definitions ('MRR')"]),
    ("bad direction", {"tuning_objective": {"MetricName": "MRR", "Type": "Best"}},
     ["tuning_objective.Type", "unknown objective direction 'Best'"]),
    ("regex without group", {"metric_definitions": [{"Name": "MRR", "Regex": "MRR=[0-9.]+"}]},
     ["metric_definitions[0].Regex", "has no capture group"]),
    ("regex not compiling", {"metric_definitions": [{"Name": "MRR", "Regex": "MRR=([0-9.]+"}]},
     ["metric_definitions[0].Regex", "does not compile"]),
    ("no tuning objective", {"tuning_objective": ...}, ["eval_metric.tuning_objective", "needs 'tuning_objective'"]),
]
for _name, _change, _expected in _CUSTOM_CASES:
    _metric = {**CUSTOM_METRIC, **{k: v for k, v in _change.items() if v is not ...}}
    for _k in [k for k, v in _change.items() if v is ...]:
        _metric.pop(_k)

    def _mutate(data: dict, metric: dict = _metric) -> None:
        data["models"][0].update(model="custom", eval_metric=metric)

    NEPTUNE_CASES.append((_name, _mutate, _expected))


@pytest.mark.parametrize("mutate, expected", [c[1:] for c in NEPTUNE_CASES], ids=[f"neptune: {c[0]}" for c in NEPTUNE_CASES])
def test_neptune_rule_broken(mutate, expected):
    data = copy.deepcopy(BASE)
    replaced = mutate(data)
    with pytest.raises(SpecError) as info:
        load_neptune_config(data if replaced is None else replaced, source="f.json")
    message = str(info.value)
    assert message.startswith("f.json: ")
    for text in expected:
        assert text in message, f"{text!r} not in {message!r}"


def test_base_config_is_valid():
    """The cases above break a valid file, so each failure comes from the one change."""
    config = load_neptune_config(copy.deepcopy(BASE), source="f.json")
    assert config.space.names == ("lr", "dropout") and config.space.static == {"low-mem": True}
    custom = copy.deepcopy(BASE)
    custom["models"][0].update(model="custom", eval_metric=CUSTOM_METRIC)
    assert load_neptune_config(custom).objective.metric == "MRR"


def test_enough_distinct_invalid_inputs():
    ids = [f"space: {c[0]}" for c in SPACE_CASES] + [f"neptune: {c[0]}" for c in NEPTUNE_CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 40
    assert all(re.search(r"\S", " ".join(c[2])) for c in SPACE_CASES + NEPTUNE_CASES)
