"""Bad input is refused, always, and the refusal names the thing (issue 16): property-based mutations.

Every case starts from a real, valid spec (the SageMaker requests of ``../shared/corpus/sagemaker/requests``,
``tests/fixtures/specs/sagemaker-local.json``, ``tests/fixtures/specs/job.yaml`` and the examples' job.yaml
files) and breaks exactly one rule: a wrong type, a value out of bounds, min above max, an unknown key, an empty
or too long name, a bad enum value, a scaling that does not fit the range, a negative count, a missing required
field, too many ranges, a duplicate name, nesting too deep. The mutated file goes through the real CLI entry
(``hyperjob validate FILE``, in-process with Typer's runner so that 500 cases take seconds; a few cases run
``hyperjob`` as a subprocess at the end). Each case must give exit code 2, no traceback, at most 15 lines, the
field path and, for a range rule, the hyperparameter's name.

The cases are drawn by hypothesis under the fixed ``ci`` profile (derandomized, no database, no deadline), so
every run checks the same cases; the refusal rate is printed and must be 100 %.
"""

from __future__ import annotations

import copy
import json
import os
import string
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from hypothesis import HealthCheck, given, reject, settings
from hypothesis.errors import InvalidArgument
from hypothesis import strategies as st
from typer.testing import CliRunner

from hyperjob.cli.app import app
from hyperjob.formats._files import parse_yaml
from _corpus import CORPUS_ROOT, need

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "specs"
CONFIG = "HyperParameterTuningJobConfig"
KINDS = ("IntegerParameterRanges", "ContinuousParameterRanges", "CategoricalParameterRanges")
SCALINGS = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")

settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
#: cases per run, per format (two formats: >= 500 in all)
EXAMPLES = 300


@dataclass
class Case:
    """A mutated document and what its refusal must name."""

    rule: str  #: the rule broken, in words (shown when the case is not refused as it should be)
    doc: Any  #: the document (written as JSON or YAML), or the file's text when ``text`` is set
    path: str | None  #: the field path the message must hold
    name: str | None = None  #: the hyperparameter the message must name (range rules)
    text: bool = False


# --------------------------------------------------------------------------------------------------------------
# the real specs the cases start from


def _sagemaker_bases() -> list[tuple[str, dict[str, Any]]]:
    files = sorted((CORPUS_ROOT / "sagemaker" / "requests").glob("*.json")) + [FIXTURES / "sagemaker-local.json"]
    return [(f.name, json.loads(f.read_text())) for f in files if f.exists()]


def _native_bases() -> list[tuple[str, dict[str, Any]]]:
    files = [FIXTURES / "job.yaml", *sorted((ROOT / "examples").glob("*/job*.yaml"))]
    out = []
    for f in files:
        doc = parse_yaml(f.read_text())  # hyperjob's reading (YAML 1.2 numbers: 1e-4 is a float)
        program = doc.get("program") or {}
        if "working_dir" not in program:  # the copy is written elsewhere: keep the program's directory
            program["working_dir"] = str(f.parent)
        out.append((f.name, doc))
    return out


SAGEMAKER = _sagemaker_bases()
NATIVE = _native_bases()

#: names that are not SageMaker members nor native fields
unknown_key = st.text(string.ascii_letters + "_", min_size=1, max_size=16).map(lambda s: "Zz" + s)
junk_word = st.text(string.ascii_letters, min_size=1, max_size=12).map(lambda s: s + "Qx")


# --------------------------------------------------------------------------------------------------------------
# SageMaker mutations


def _ranges(req: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The ranges object the request tunes and its path (the first training job definition's, or the config's)."""
    if "TrainingJobDefinitions" in req:
        return req["TrainingJobDefinitions"][0].setdefault("HyperParameterRanges", {}), \
            "TrainingJobDefinitions[0].HyperParameterRanges"
    return req[CONFIG].setdefault("ParameterRanges", {}), f"{CONFIG}.ParameterRanges"


def _definition(req: dict[str, Any]) -> tuple[dict[str, Any], str]:
    if "TrainingJobDefinitions" in req:
        return req["TrainingJobDefinitions"][0], "TrainingJobDefinitions[0]"
    return req["TrainingJobDefinition"], "TrainingJobDefinition"


def _range_items(req: dict[str, Any], kinds: tuple[str, ...] = KINDS) -> list[tuple[dict[str, Any], str]]:
    obj, at = _ranges(req)
    return [(item, f"{at}.{kind}[{j}]") for kind in kinds for j, item in enumerate(obj.get(kind) or [])]


def _numeric(req: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    return _range_items(req, KINDS[:2])


def _is_integer(at: str) -> bool:
    return ".IntegerParameterRanges[" in at


def sm_range_not_string(req, draw):
    item, at = draw(st.sampled_from(_numeric(req)))
    field = draw(st.sampled_from(["MinValue", "MaxValue"]))
    item[field] = draw(st.sampled_from([float(item[field]), None, True, [item[field]], {"v": item[field]}]))
    return Case("a range bound that is not a string", req, f"{at}.{field}", item["Name"])


def sm_range_not_number(req, draw):
    item, at = draw(st.sampled_from(_numeric(req)))
    field = draw(st.sampled_from(["MinValue", "MaxValue"]))
    item[field] = draw(st.sampled_from(["", "abc", "1e", "0x1g", "nan", "inf", "-Infinity", "1,5"]) | junk_word)
    return Case("a range bound that is not a number", req, f"{at}.{field}", item["Name"])


def sm_integer_fraction(req, draw):
    items = _range_items(req, ("IntegerParameterRanges",))
    item, at = draw(st.sampled_from(items))
    field = draw(st.sampled_from(["MinValue", "MaxValue"]))
    lo, hi = float(item["MinValue"]), float(item["MaxValue"])
    item[field] = str((lo + 0.5) if field == "MinValue" else (hi - 0.5))
    if float(item["MinValue"]) >= float(item["MaxValue"]):
        return None
    return Case("an integer range with a fractional bound", req, f"{at}.{field}", item["Name"])


def sm_min_above_max(req, draw):
    item, at = draw(st.sampled_from(_numeric(req)))
    hi = float(item["MaxValue"])
    gap = draw(st.integers(1, 1000)) if _is_integer(at) else draw(st.floats(1e-3, 1e3))
    item["MinValue"] = str(int(hi) + gap) if _is_integer(at) else repr(hi + gap)
    return Case("MinValue above MaxValue", req, at, item["Name"])


def sm_bad_scaling(req, draw):
    item, at = draw(st.sampled_from(_numeric(req)))
    item["ScalingType"] = draw(st.sampled_from(["Log", "log", "logarithmic", "Exponential", "auto", ""]) | junk_word)
    return Case("an unknown ScalingType", req, f"{at}.ScalingType", item["Name"])


def sm_log_not_positive(req, draw):
    item, at = draw(st.sampled_from(_numeric(req)))
    hi = float(item["MaxValue"])
    lo = draw(st.sampled_from([0.0, -1.0, -10.0]))
    if lo >= hi:
        return None
    item["MinValue"], item["ScalingType"] = str(int(lo)) if _is_integer(at) else repr(lo), "Logarithmic"
    return Case("Logarithmic scaling with MinValue <= 0", req, at, item["Name"])


def sm_reverse_log_integer(req, draw):
    items = _range_items(req, ("IntegerParameterRanges",))
    item, at = draw(st.sampled_from(items))
    item["ScalingType"] = "ReverseLogarithmic"
    return Case("ReverseLogarithmic on an integer range", req, at, item["Name"])


def sm_reverse_log_outside(req, draw):
    items = _range_items(req, ("ContinuousParameterRanges",))
    item, at = draw(st.sampled_from(items))
    lo = float(item["MinValue"])
    item["MaxValue"] = repr(max(lo + 1.0, draw(st.floats(1.0, 100.0))))
    item["ScalingType"] = "ReverseLogarithmic"
    return Case("ReverseLogarithmic with MaxValue >= 1", req, at, item["Name"])


def sm_unknown_key(req, draw):
    key = draw(unknown_key)
    places: list[tuple[dict[str, Any], str, str | None]] = [(req, "", None), (req[CONFIG], CONFIG, None)]
    places += [(item, at, item["Name"]) for item, at in _range_items(req)]
    definition, defpath = _definition(req)
    places.append((definition, defpath, None))
    if "ResourceLimits" in req[CONFIG]:
        places.append((req[CONFIG]["ResourceLimits"], f"{CONFIG}.ResourceLimits", None))
    target, at, name = draw(st.sampled_from(places))
    target[key] = draw(st.sampled_from(["1", 1, True, None, {}]))
    return Case("an unknown key", req, f"{at}.{key}" if at else key, name)


def sm_empty_range_name(req, draw):
    item, at = draw(st.sampled_from(_range_items(req)))
    item["Name"] = ""
    return Case("an empty range Name", req, f"{at}.Name")


def sm_long_range_name(req, draw):
    item, at = draw(st.sampled_from(_range_items(req)))
    item["Name"] = "p" * draw(st.integers(257, 400))
    return Case("a range Name over 256 characters", req, f"{at}.Name")


def sm_flag_unsafe_range_name(req, draw):
    item, at = draw(st.sampled_from(_range_items(req)))
    bad = draw(st.sampled_from(["learning rate", "lr=0.1", "-lr", "--lr", "a\tb"]))
    item["Name"] = bad
    return Case("a range Name that cannot be a --name flag", req, at, None)


def sm_duplicate_range(req, draw):
    obj, at = _ranges(req)
    kind = draw(st.sampled_from([k for k in KINDS if obj.get(k)]))
    j = draw(st.integers(0, len(obj[kind]) - 1))
    obj[kind].append(copy.deepcopy(obj[kind][j]))
    if "Grid" == req[CONFIG]["Strategy"]:
        return None
    return Case("the same range Name twice", req, f"{at}.{kind}[{len(obj[kind]) - 1}].Name", obj[kind][j]["Name"])


def _fresh_range(kind: str, i: int) -> dict[str, Any]:
    if kind == "CategoricalParameterRanges":
        return {"Name": f"zz_extra_{i}", "Values": ["a", "b"]}
    return {"Name": f"zz_extra_{i}", "MinValue": "1", "MaxValue": "10"}


def sm_too_many_in_a_list(req, draw):
    obj, at = _ranges(req)
    kind = draw(st.sampled_from(KINDS))
    items = obj.setdefault(kind, [])
    items.extend(_fresh_range(kind, i) for i in range(31 - len(items) + draw(st.integers(0, 5))))
    return Case("more than 30 ranges of one kind", req, f"{at}.{kind}")


def sm_too_many_in_all(req, draw):
    obj, at = _ranges(req)
    total = sum(len(obj.get(k) or []) for k in KINDS)
    need_more = 31 - total + draw(st.integers(0, 5))
    i = 0
    while need_more > 0:
        kind = KINDS[i % 2]  # integer and continuous lists, none of them over 30
        if len(obj.setdefault(kind, [])) < 30:
            obj[kind].append(_fresh_range(kind, i))
            need_more -= 1
        i += 1
    if req[CONFIG]["Strategy"] == "Grid":
        return None
    return Case("more than 30 tuned hyperparameters in all", req, at)


def sm_categorical_values(req, draw):
    item, at = draw(st.sampled_from(_range_items(req, ("CategoricalParameterRanges",))))
    how = draw(st.sampled_from(["empty", "too many", "too long", "duplicate", "not a string"]))
    values = item["Values"]
    if how == "empty":
        item["Values"], path = [], f"{at}.Values"
    elif how == "too many":
        item["Values"], path = [f"v{i}" for i in range(31 + draw(st.integers(0, 5)))], f"{at}.Values"
    elif how == "too long":
        k = draw(st.integers(0, len(values) - 1))
        values[k], path = "v" * 257, f"{at}.Values[{k}]"
    elif how == "duplicate":
        values.append(values[draw(st.integers(0, len(values) - 1))])
        path = f"{at}.Values"
    else:
        k = draw(st.integers(0, len(values) - 1))
        values[k], path = draw(st.sampled_from([1, 0.5, True, None, ["a"]])), f"{at}.Values[{k}]"
    if req[CONFIG]["Strategy"] == "Grid":
        return None
    return Case(f"categorical Values: {how}", req, path, item["Name"])


def sm_resource_limits(req, draw):
    rl = req[CONFIG]["ResourceLimits"]
    strategy = req[CONFIG]["Strategy"]
    most_jobs = 10_000 if strategy == "Random" else 750
    field = draw(st.sampled_from(["MaxNumberOfTrainingJobs", "MaxParallelTrainingJobs", "MaxRuntimeInSeconds"]))
    bad = {
        "MaxNumberOfTrainingJobs": [0, -1, -draw(st.integers(2, 10**6)), most_jobs + draw(st.integers(1, 10**4))],
        "MaxParallelTrainingJobs": [0, -1, 101, 100 + draw(st.integers(1, 10**4))],
        "MaxRuntimeInSeconds": [0, 119, -draw(st.integers(1, 10**6)), 15_768_001, 2**31],
    }[field] + ["10", 2.5, True, None, 2**31 + draw(st.integers(0, 10))]
    rl[field] = draw(st.sampled_from(bad))
    if field == "MaxNumberOfTrainingJobs" and strategy == "Grid":
        return None
    return Case(f"ResourceLimits.{field} out of bounds or not a whole number", req, f"{CONFIG}.ResourceLimits.{field}")


def sm_missing_required(req, draw):
    definition, defpath = _definition(req)
    options: list[tuple[Callable[[], None], str, str | None]] = [
        (lambda: req.pop("HyperParameterTuningJobName"), "HyperParameterTuningJobName", None),
        (lambda: req[CONFIG].pop("Strategy"), f"{CONFIG}.Strategy", None),
        (lambda: req[CONFIG].pop("ResourceLimits"), f"{CONFIG}.ResourceLimits", None),
        (lambda: req[CONFIG]["ResourceLimits"].pop("MaxParallelTrainingJobs"),
         f"{CONFIG}.ResourceLimits.MaxParallelTrainingJobs", None),
    ]
    if req[CONFIG]["Strategy"] != "Grid":
        options.append((lambda: req[CONFIG]["ResourceLimits"].pop("MaxNumberOfTrainingJobs"),
                        f"{CONFIG}.ResourceLimits.MaxNumberOfTrainingJobs", None))
    if "TrainingJobDefinition" in req:
        obj = f"{CONFIG}.HyperParameterTuningJobObjective"
        options += [
            (lambda: req[CONFIG].pop("HyperParameterTuningJobObjective"), obj, None),
            (lambda: req[CONFIG]["HyperParameterTuningJobObjective"].pop("Type"), f"{obj}.Type", None),
            (lambda: req[CONFIG]["HyperParameterTuningJobObjective"].pop("MetricName"), f"{obj}.MetricName", None),
        ]
    for item, at in _range_items(req):
        for field in ("Name", "Values") if "Values" in item else ("Name", "MinValue", "MaxValue"):
            options.append((lambda item=item, field=field: item.pop(field), f"{at}.{field}",
                            None if field == "Name" else item["Name"]))
    for i, md in enumerate((definition.get("AlgorithmSpecification") or {}).get("MetricDefinitions") or []):
        for field in ("Name", "Regex"):
            options.append((lambda md=md, field=field: md.pop(field),
                            f"{defpath}.AlgorithmSpecification.MetricDefinitions[{i}].{field}", None))
    if "WarmStartConfig" in req:
        options.append((lambda: req["WarmStartConfig"].pop("WarmStartType"), "WarmStartConfig.WarmStartType", None))
    drop, path, name = draw(st.sampled_from(options))
    drop()
    return Case("a required field left out", req, path, name)


def sm_bad_enum(req, draw):
    options = [(req[CONFIG], "Strategy", CONFIG), (req[CONFIG], "TrainingJobEarlyStoppingType", CONFIG)]
    if "TrainingJobDefinition" in req:
        options.append((req[CONFIG]["HyperParameterTuningJobObjective"], "Type",
                        f"{CONFIG}.HyperParameterTuningJobObjective"))
    if "WarmStartConfig" in req:
        options.append((req["WarmStartConfig"], "WarmStartType", "WarmStartConfig"))
    target, field, at = draw(st.sampled_from(options))
    target[field] = draw(st.sampled_from(["", "OFF", "bayesian", "Maximise", "None", "Identical"]) | junk_word)
    return Case(f"{field}: not one of its values", req, f"{at}.{field}")


def sm_job_name(req, draw):
    req["HyperParameterTuningJobName"] = draw(st.sampled_from([
        "", "my_tuning_job", "-starts-with-hyphen", "ends-with-hyphen-", "has space", "a" * 33,
        "x" * draw(st.integers(33, 80)), "dots.are.not.allowed"]))
    return Case("a bad HyperParameterTuningJobName", req, "HyperParameterTuningJobName")


def sm_hyperband(req, draw):
    config = req[CONFIG]
    if config["Strategy"] != "Hyperband":
        config["StrategyConfig"] = {"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 10}}
        return Case("StrategyConfig without the Hyperband strategy", req, f"{CONFIG}.StrategyConfig")
    hb = config.setdefault("StrategyConfig", {}).setdefault("HyperbandStrategyConfig", {})
    at = f"{CONFIG}.StrategyConfig.HyperbandStrategyConfig"
    how = draw(st.sampled_from(["max too big", "min zero", "min above max", "max zero"]))
    if how == "max too big":
        hb["MaxResource"] = 20_000 + draw(st.integers(1, 10**6))
        return Case("MaxResource above 20000", req, f"{at}.MaxResource")
    if how == "max zero":
        hb["MaxResource"] = draw(st.integers(-100, 0))
        return Case("MaxResource below 1", req, f"{at}.MaxResource")
    if how == "min zero":
        hb["MinResource"] = draw(st.integers(-100, 0))
        return Case("MinResource below 1", req, f"{at}.MinResource")
    hb["MinResource"] = hb.get("MaxResource", 30) + draw(st.integers(0, 100))
    return Case("MinResource not below MaxResource", req, at)


def sm_negative_counts(req, draw):
    config = req[CONFIG]
    definition, defpath = _definition(req)
    how = draw(st.sampled_from(["not improving", "seed", "stopping"]))
    if how == "not improving":
        cc = config.setdefault("TuningJobCompletionCriteria", {})
        cc["BestObjectiveNotImproving"] = {"MaxNumberOfTrainingJobsNotImproving": draw(st.integers(-10, 2))}
        at = f"{CONFIG}.TuningJobCompletionCriteria.BestObjectiveNotImproving"
        return Case("MaxNumberOfTrainingJobsNotImproving below 3", req, f"{at}.MaxNumberOfTrainingJobsNotImproving")
    if how == "seed":
        config["RandomSeed"] = draw(st.sampled_from([-1, -draw(st.integers(2, 10**9)), 2**31, "7", 1.5]))
        return Case("RandomSeed negative or not a whole number", req, f"{CONFIG}.RandomSeed")
    definition.setdefault("StoppingCondition", {})["MaxRuntimeInSeconds"] = draw(
        st.sampled_from([0, -1, -3600, 2_419_201, "3600"]))
    return Case("StoppingCondition.MaxRuntimeInSeconds out of bounds", req,
                f"{defpath}.StoppingCondition.MaxRuntimeInSeconds")


def sm_static(req, draw):
    definition, defpath = _definition(req)
    static = definition.setdefault("StaticHyperParameters", {})
    at = f"{defpath}.StaticHyperParameters"
    how = draw(st.sampled_from(["value too long", "key too long", "not a string", "too many", "tuned too"]))
    if how == "value too long":
        static["zz_static"] = "v" * draw(st.integers(2501, 3000))
        return Case("a static value over 2500 characters", req, f"{at}.zz_static")
    if how == "key too long":
        key = "k" * draw(st.integers(257, 300))
        static[key] = "1"
        return Case("a static key over 256 characters", req, at)
    if how == "not a string":
        static["zz_static"] = draw(st.sampled_from([1, 0.5, True, None, ["a"]]))
        return Case("a static value that is not a string", req, f"{at}.zz_static")
    if how == "too many":
        static.update({f"zz_static_{i}": "1" for i in range(101)})
        return Case("more than 100 static hyperparameters", req, at)
    item, _ = draw(st.sampled_from(_range_items(req)))
    static[item["Name"]] = "1"
    return Case("a hyperparameter both static and tuned", req, f"{at}.{item['Name']}", item["Name"])


def sm_metric_definitions(req, draw):
    definition, defpath = _definition(req)
    algo = definition.setdefault("AlgorithmSpecification", {"TrainingInputMode": "File"})
    defs = algo.get("MetricDefinitions")
    at = f"{defpath}.AlgorithmSpecification.MetricDefinitions"
    if not defs:
        return None
    how = draw(st.sampled_from(["empty regex", "empty name", "long name", "long regex", "too many", "no group"]))
    i = draw(st.integers(0, len(defs) - 1))
    if how == "too many":
        defs.extend({"Name": f"zz_metric_{k}", "Regex": f"zz_{k}=([0-9.]+)"} for k in range(41))
        return Case("more metric definitions than SageMaker allows", req, at)
    field, value = {
        "empty regex": ("Regex", ""), "empty name": ("Name", ""), "long name": ("Name", "m" * 256),
        "long regex": ("Regex", "(" + "x" * 500 + ")"), "no group": ("Regex", "loss=[0-9.]+"),
    }[how]
    defs[i][field] = value
    return Case(f"a metric definition: {how}", req, f"{at}[{i}]" if how != "no group" else f"{at}[{i}].Regex")


def sm_wrong_shape(req, draw):
    definition, defpath = _definition(req)
    options = [(req, "HyperParameterTuningJobConfig", ""), (req[CONFIG], "ResourceLimits", CONFIG)]
    obj, rpath = _ranges(req)
    parent, key = rpath.rsplit(".", 1)
    options.append((req[CONFIG] if parent == CONFIG else definition, key, parent))
    options.append((definition, "StaticHyperParameters", defpath))
    if "AlgorithmSpecification" in definition:
        options.append((definition, "AlgorithmSpecification", defpath))
    for kind in KINDS:
        if obj.get(kind):
            options.append((obj, kind, rpath))
    target, key, at = draw(st.sampled_from(options))
    value = target[key] if key in target else None
    target[key] = draw(st.sampled_from(["x", 1, True, [value] if not isinstance(value, list) else {"x": value}]))
    return Case(f"{key} of the wrong type", req, f"{at}.{key}" if at else key)


def sm_too_deep(req, draw):
    depth = draw(st.integers(70, 300))
    value: Any = 7
    for _ in range(depth):
        value = [value]
    req[CONFIG]["RandomSeed"] = value
    return Case("a value nested too deep", req, f"{CONFIG}.RandomSeed")


SAGEMAKER_MUTATIONS = [
    sm_range_not_string, sm_range_not_number, sm_integer_fraction, sm_min_above_max, sm_bad_scaling,
    sm_log_not_positive, sm_reverse_log_integer, sm_reverse_log_outside, sm_unknown_key, sm_empty_range_name,
    sm_long_range_name, sm_flag_unsafe_range_name, sm_duplicate_range, sm_too_many_in_a_list, sm_too_many_in_all,
    sm_categorical_values, sm_resource_limits, sm_missing_required, sm_bad_enum, sm_job_name, sm_hyperband,
    sm_negative_counts, sm_static, sm_metric_definitions, sm_wrong_shape, sm_too_deep,
]


# --------------------------------------------------------------------------------------------------------------
# native (job.yaml) mutations


def _native_ranges(doc: dict[str, Any], kinds: tuple[str, ...] = ("continuous", "integer", "categorical")
                   ) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name, r in doc["hyperparameter_ranges"].items():
        kind = r.get("type") or ("categorical" if "values" in r else "numeric")
        if kind in kinds or (kind == "numeric" and {"continuous", "integer"} & set(kinds)):
            out.append((name, r))
    return out


def _bound(r: dict[str, Any], which: str) -> str:
    return which if which in r else {"min_value": "min", "max_value": "max"}[which]


def nat_min_above_max(doc, draw):
    name, r = draw(st.sampled_from(_native_ranges(doc, ("continuous", "integer"))))
    lo, hi = _bound(r, "min_value"), _bound(r, "max_value")
    r[lo] = r[hi] + (draw(st.integers(1, 100)) if isinstance(r[hi], int) else draw(st.floats(1e-3, 100.0)))
    if "inc_strategy" in r:
        return Case("min above max (increment range)", doc, f"hyperparameter_ranges.{name}", name)
    return Case("min_value above max_value", doc, f"hyperparameter_ranges.{name}", name)


def nat_bound_type(doc, draw):
    name, r = draw(st.sampled_from(_native_ranges(doc, ("continuous", "integer"))))
    field = _bound(r, draw(st.sampled_from(["min_value", "max_value"])))
    r[field] = draw(st.sampled_from(["abc", "0.1x", [r[field]], {"v": 1}, True, float("inf")]))
    return Case("a bound of the wrong type", doc, f"hyperparameter_ranges.{name}", name)


def nat_bad_scaling(doc, draw):
    name, r = draw(st.sampled_from(_native_ranges(doc, ("continuous", "integer"))))
    r.pop("inc_strategy", None)
    r.pop("inc_val", None)
    r["scaling"] = draw(st.sampled_from(["quadratic", "exp", "logarithmicc", 3]) | junk_word)
    return Case("an unknown scaling", doc, f"hyperparameter_ranges.{name}.scaling", name)


def nat_scaling_misfit(doc, draw):
    name, r = draw(st.sampled_from(_native_ranges(doc, ("continuous", "integer"))))
    r.pop("inc_strategy", None)
    r.pop("inc_val", None)
    lo, hi = _bound(r, "min_value"), _bound(r, "max_value")
    integer = r.get("type") == "integer" or (isinstance(r[lo], int) and isinstance(r[hi], int))
    how = draw(st.sampled_from(["log", "reverse"]))
    if how == "log":
        if r[hi] <= 0:
            return None
        r[lo], r["scaling"] = (0 if integer else 0.0), "logarithmic"
        return Case("logarithmic scaling with min_value <= 0", doc, f"hyperparameter_ranges.{name}", name)
    if not integer:
        r[hi] = max(r[lo] + 1.0, 1.5)
    r["scaling"] = "reverse_logarithmic"
    return Case("reverse_logarithmic outside [0, 1) or on integers", doc, f"hyperparameter_ranges.{name}", name)


def nat_unknown_key(doc, draw):
    key = draw(unknown_key).lower()
    places: list[tuple[dict[str, Any], str, str | None]] = [(doc, "", None), (doc["program"], "program", None),
                                                            (doc["objective"], "objective", None)]
    places += [(r, f"hyperparameter_ranges.{n}", n) for n, r in doc["hyperparameter_ranges"].items()]
    if isinstance(doc.get("limits"), dict):
        places.append((doc["limits"], "limits", None))
    target, at, name = draw(st.sampled_from(places))
    target[key] = 1
    return Case("an unknown key", doc, f"{at}.{key}" if at else key, name)


def nat_names(doc, draw):
    how = draw(st.sampled_from(["empty job name", "long job name", "bad job name", "empty range name",
                                "long range name", "flag-unsafe range name"]))
    if how.endswith("job name"):
        doc["name"] = {"empty job name": "", "long job name": "n" * draw(st.integers(65, 100)),
                       "bad job name": draw(st.sampled_from(["has space", "-lead", "trail-", "a/b", "é"]))}[how]
        return Case(how, doc, "name")
    ranges = doc["hyperparameter_ranges"]
    old = draw(st.sampled_from(sorted(ranges)))
    new = {"empty range name": "", "long range name": "h" * draw(st.integers(257, 300)),
           "flag-unsafe range name": draw(st.sampled_from(["learning rate", "lr=1", "-lr"]))}[how]
    doc["hyperparameter_ranges"] = {(new if k == old else k): v for k, v in ranges.items()}
    return Case(how, doc, "hyperparameter_ranges")


def nat_bad_enum(doc, draw):
    how = draw(st.sampled_from(["objective", "strategy", "range type", "inc_strategy", "warm start"]))
    if how == "objective":
        doc["objective"]["type"] = draw(st.sampled_from(["maximise", "up", "", "best"]) | junk_word)
        return Case("objective.type not maximize/minimize", doc, "objective.type")
    if how == "strategy":
        doc["strategy"] = {"name": draw(st.sampled_from(["bayes", "gird", "hyperbands"]) | junk_word)}
        return Case("an unknown strategy", doc, "strategy.name")
    if how == "warm start":
        doc["warm_start"] = {"parents": ["earlier-job"], "type": draw(junk_word)}
        return Case("warm_start.type not one of its values", doc, "warm_start.type")
    name, r = draw(st.sampled_from(_native_ranges(doc, ("continuous", "integer"))))
    if how == "range type":
        r["type"] = draw(st.sampled_from(["floaty", "str", "bool"]) | junk_word)
        return Case("an unknown range type", doc, f"hyperparameter_ranges.{name}.type", name)
    r.pop("scaling", None)
    r["inc_strategy"] = draw(st.sampled_from(["exponential", "pow2"]) | junk_word)
    return Case("an unknown inc_strategy", doc, f"hyperparameter_ranges.{name}.inc_strategy", name)


def nat_counts(doc, draw):
    limits = doc.setdefault("limits", {})
    field = draw(st.sampled_from(["max_jobs", "max_parallel_jobs", "timeout_s", "max_runtime_s", "max_failed_jobs",
                                  "random_seed", "max_jobs_not_improving"]))
    value = draw(st.sampled_from([0, -1, -draw(st.integers(2, 10**6)), "ten", 2.5 if field != "timeout_s" else "5"]))
    if field in ("timeout_s", "max_runtime_s") and value == 2.5:
        value = -2.5
    if field == "random_seed":
        doc["random_seed"] = value
        return Case("random_seed negative or not a whole number", doc, "random_seed")
    if field == "max_jobs_not_improving":
        doc.setdefault("completion", {})["max_jobs_not_improving"] = draw(st.integers(-10, 2))
        return Case("completion.max_jobs_not_improving below 3", doc, "completion.max_jobs_not_improving")
    if field == "max_jobs" and doc.get("strategy", {}).get("name") == "grid":
        return None
    limits[field] = value
    return Case(f"limits.{field} not a positive number", doc, f"limits.{field}")


def nat_missing(doc, draw):
    options: list[tuple[Callable[[], None], str, str | None]] = [
        (lambda: doc.pop("name"), "name", None),
        (lambda: doc.pop("program"), "program", None),
        (lambda: doc.pop("objective"), "objective", None),
        (lambda: doc["objective"].pop("metric"), "objective.metric", None),
        (lambda: doc["objective"].pop("type"), "objective.type", None),
        (lambda: doc["program"].pop("command"), "program.command", None),
        (lambda: doc.pop("hyperparameter_ranges"), "hyperparameter_ranges", None),
    ]
    for name, r in _native_ranges(doc, ("continuous", "integer")):
        for which in ("min_value", "max_value"):
            if r.get("type") and "inc_strategy" not in r:
                options.append((lambda r=r, f=_bound(r, which): r.pop(f), f"hyperparameter_ranges.{name}", name))
    for name, r in _native_ranges(doc, ("categorical",)):
        if r.get("type"):
            options.append((lambda r=r: r.pop("values"), f"hyperparameter_ranges.{name}.values", name))
    if doc.get("metric_definitions"):
        options.append((lambda: doc["metric_definitions"][0].pop("regex"), "metric_definitions[0].regex", None))
    if doc.get("limits", {}).get("max_jobs") is not None and doc.get("strategy", {}).get("name") != "grid":
        options.append((lambda: doc["limits"].pop("max_jobs"), "limits.max_jobs", None))
    drop, path, name = draw(st.sampled_from(options))
    drop()
    return Case("a required field left out", doc, path, name)


def nat_categorical(doc, draw):
    name, r = draw(st.sampled_from(_native_ranges(doc, ("categorical",))))
    how = draw(st.sampled_from(["empty", "duplicate", "not a list", "bad value"]))
    if how == "empty":
        r["values"] = []
    elif how == "duplicate":
        r["values"] = list(r["values"]) + [r["values"][0]]
    elif how == "not a list":
        r["values"] = draw(st.sampled_from(["a,b", 3]))
    else:
        r["values"] = list(r["values"]) + [{"nested": "mapping"}]
    return Case(f"categorical values: {how}", doc, f"hyperparameter_ranges.{name}", name)


def nat_duplicates(doc, draw):
    how = draw(st.sampled_from(["static and tuned", "metric twice", "yaml key twice"]))
    if how == "static and tuned":
        name = draw(st.sampled_from(sorted(doc["hyperparameter_ranges"])))
        doc.setdefault("static_hyperparameters", {})[name] = 1
        return Case("a hyperparameter both static and tuned", doc, name, name)
    if how == "metric twice" and doc.get("metric_definitions"):
        doc["metric_definitions"].append(dict(doc["metric_definitions"][0]))
        return Case("a metric defined twice", doc, f"metric_definitions[{len(doc['metric_definitions']) - 1}]")
    name = draw(st.sampled_from(sorted(doc["hyperparameter_ranges"])))
    text = yaml.safe_dump(doc, sort_keys=False, width=1000)
    first = f"  {name}:"
    lines = text.splitlines()
    i = next((k for k, line in enumerate(lines) if line.startswith(first + " ") or line == first), None)
    if i is None:
        return None
    j = i + 1
    while j < len(lines) and lines[j].startswith("    "):
        j += 1
    lines[j:j] = lines[i:j]  # the same range written twice in hyperparameter_ranges
    return Case("a YAML key given twice", "\n".join(lines) + "\n", f"the key {name!r} appears twice", name, text=True)


def nat_increment(doc, draw):
    name, r = draw(st.sampled_from(_native_ranges(doc, ("continuous", "integer"))))
    r.pop("scaling", None)
    r["inc_strategy"] = "linear"
    r["inc_val"] = draw(st.sampled_from([0, -1, -0.5, "one"]))
    return Case("inc_val not a positive number", doc, f"hyperparameter_ranges.{name}", name)


def nat_wrong_shape(doc, draw):
    key = draw(st.sampled_from(["program", "objective", "limits", "hyperparameter_ranges", "static_hyperparameters",
                                "metric_definitions"]))
    doc[key] = draw(st.sampled_from([["x"], 7])) if key != "metric_definitions" else {"name": "x"}
    return Case(f"{key} of the wrong type", doc, key)


def nat_too_deep(doc, draw):
    value: Any = 1
    for _ in range(draw(st.integers(70, 300))):
        value = {"a": value} if draw(st.booleans()) else [value]
    doc.setdefault("static_hyperparameters", {})["zz_deep"] = value
    return Case("a value nested too deep", doc, "static_hyperparameters.zz_deep")


NATIVE_MUTATIONS = [
    nat_min_above_max, nat_bound_type, nat_bad_scaling, nat_scaling_misfit, nat_unknown_key, nat_names,
    nat_bad_enum, nat_counts, nat_missing, nat_categorical, nat_duplicates, nat_increment, nat_wrong_shape,
    nat_too_deep,
]


# --------------------------------------------------------------------------------------------------------------
# running a case


@dataclass
class Outcome:
    case: Case
    exit_code: int
    output: str

    def problems(self) -> list[str]:
        """What is wrong with the refusal (empty: refused as it should be)."""
        out, case = self.output, self.case
        found = []
        if self.exit_code != 2:
            found.append(f"exit code {self.exit_code}, not 2")
        if "Traceback" in out or "internal error" in out:
            found.append("a traceback or an internal error")
        if len(out.strip().splitlines()) > 15:
            found.append(f"{len(out.strip().splitlines())} lines (at most 15)")
        flat = " ".join(out.split())  # the console may wrap a long line
        if case.path is not None and case.path not in flat:
            found.append(f"the field path {case.path!r} is not named")
        if case.name is not None and repr(case.name) not in flat:
            found.append(f"the hyperparameter {case.name!r} is not named")
        return found


def _write(case: Case, folder: Path, suffix: str) -> Path:
    path = folder / f"spec{suffix}"
    if case.text:
        path.write_text(case.doc)
    elif suffix == ".json":
        path.write_text(json.dumps(case.doc))
    else:
        path.write_text(yaml.safe_dump(case.doc, sort_keys=False, width=1000))
    return path


def _run(case: Case, folder: Path, suffix: str) -> Outcome:
    path = _write(case, folder, suffix)
    result = CliRunner().invoke(app, ["validate", str(path)])
    return Outcome(case, result.exit_code, result.output)


def mutated(bases: list[tuple[str, Any]], mutate: Callable[..., Case | None], draw: Callable[..., Any]
            ) -> Case | None:
    """A case of ``mutate`` from a drawn base, or from the next base it applies to (``None``: from none)."""
    first = draw(st.integers(0, len(bases) - 1), label="base")
    for k in range(len(bases)):
        label, base = bases[(first + k) % len(bases)]
        try:
            case = mutate(copy.deepcopy(base), draw)
        except InvalidArgument:  # a choice among none: the mutation does not apply to this base
            continue
        if case is not None:
            case.rule = f"{label}: {mutate.__name__}: {case.rule}"
            return case
    return None


def _check_all(bases, mutations, suffix: str, tmp_path: Path) -> list[Outcome]:
    outcomes: list[Outcome] = []

    @settings(settings.get_profile("ci"), max_examples=EXAMPLES)
    @given(st.data())
    def one(data: st.DataObject) -> None:
        mutate = data.draw(st.sampled_from(mutations), label="mutation")
        case = mutated(bases, mutate, data.draw)
        if case is None:
            reject()
        outcomes.append(_run(case, tmp_path, suffix))

    one()
    return outcomes


def _report(outcomes: list[Outcome], what: str) -> None:
    refused = [o for o in outcomes if not o.problems()]
    rate = 100.0 * len(refused) / len(outcomes)
    print(f"\n{what}: {len(refused)} of {len(outcomes)} mutated specs refused cleanly ({rate:.1f} %)")
    misses = [o for o in outcomes if o.problems()]
    shown = "\n".join(f"- {o.case.rule}: {'; '.join(o.problems())}\n    {o.output.strip()[:300]}"
                      for o in misses[:10])
    assert rate == 100.0, f"{len(misses)} of {len(outcomes)} {what} cases not refused cleanly:\n{shown}"


def test_every_mutated_sagemaker_request_is_refused(tmp_path: Path) -> None:
    need(CORPUS_ROOT / "sagemaker" / "requests")
    outcomes = _check_all(SAGEMAKER, SAGEMAKER_MUTATIONS, ".json", tmp_path)
    assert len(outcomes) >= 250, f"only {len(outcomes)} SageMaker cases ran"
    _report(outcomes, "SageMaker requests")


def test_every_mutated_native_spec_is_refused(tmp_path: Path) -> None:
    outcomes = _check_all(NATIVE, NATIVE_MUTATIONS, ".yaml", tmp_path)
    assert len(outcomes) >= 250, f"only {len(outcomes)} native cases ran"
    _report(outcomes, "native specs")


@pytest.mark.parametrize("name, base", SAGEMAKER + NATIVE, ids=[n for n, _ in SAGEMAKER + NATIVE])
def test_the_unmutated_bases_are_valid(name: str, base: dict[str, Any], tmp_path: Path) -> None:
    """The cases start from valid specs, so each refusal is the mutation's."""
    suffix = ".yaml" if name.endswith(".yaml") else ".json"
    outcome = _run(Case("none", copy.deepcopy(base), None), tmp_path, suffix)
    assert outcome.exit_code == 0, outcome.output


# --------------------------------------------------------------------------------------------------------------
# a few cases through the real executable


def _hyperjob(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("hyperjob")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "from hyperjob.cli.app import main; main()"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "200"})


@pytest.mark.parametrize("suffix, text, words", [
    (".json", "[" * 100_000 + "]" * 100_000, "nests lists or mappings more than 64 levels deep"),
    (".yaml", "a:\n" + "".join("  " * i + "- \n" for i in range(1, 3000)) + "  " * 3000 + "- 1\n",
     "nests lists or mappings more than 64 levels deep"),
    (".yaml", "a: &x [1, *x]\n", "holds a value inside itself"),
])
def test_deep_documents_are_refused_by_the_executable(suffix: str, text: str, words: str, tmp_path: Path) -> None:
    spec = tmp_path / f"deep{suffix}"
    spec.write_text(text)
    proc = _hyperjob("validate", str(spec))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert words in out and "Traceback" not in out and "RecursionError" not in out, out


def test_a_range_error_names_the_hyperparameter_through_the_executable(tmp_path: Path) -> None:
    request = json.loads((FIXTURES / "sagemaker-local.json").read_text())
    request[CONFIG]["ParameterRanges"]["ContinuousParameterRanges"][0].update(MinValue="0.5", MaxValue="0.1")
    spec = tmp_path / "request.json"
    spec.write_text(json.dumps(request))
    proc = _hyperjob("validate", str(spec))
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 2, out
    assert f"{CONFIG}.ParameterRanges.ContinuousParameterRanges[0]" in out and "'lr'" in out, out


def test_hyperband_max_resource_over_20000_is_refused_through_the_executable(tmp_path: Path) -> None:
    request = json.loads((FIXTURES / "sagemaker-local.json").read_text())
    request[CONFIG].update(Strategy="Hyperband", TrainingJobEarlyStoppingType="Off",
                           StrategyConfig={"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 20001}})
    spec = tmp_path / "request.json"
    spec.write_text(json.dumps(request))
    proc = _hyperjob("validate", str(spec))
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 2, out
    assert f"{CONFIG}.StrategyConfig.HyperbandStrategyConfig.MaxResource" in out and "20000" in out, out
