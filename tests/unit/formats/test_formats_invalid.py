"""Invalid specs, native and SageMaker: each is one SpecError naming the file, the field path and the fix.

Every case is (a change to a valid spec, or the file's text), the field path the message must name, and the
words of the fix it must contain.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from hyperjob.errors import SpecError
from hyperjob.formats import load_spec

DROP = object()

NATIVE: dict[str, Any] = {
    "name": "demo",
    "program": {"command": ["python", "train.py"]},
    "hyperparameter_ranges": {
        "lr": {"type": "continuous", "min_value": 0.001, "max_value": 0.1},
        "opt": {"values": ["sgd", "adam"]},
    },
    "objective": {"metric": "loss", "type": "minimize"},
    "metric_definitions": [{"name": "loss", "regex": "loss: ([-+0-9.eE]+)"}],
    "limits": {"max_jobs": 10},
}


def request() -> dict[str, Any]:
    return {
        "HyperParameterTuningJobName": "req-1",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 10, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "lr", "MinValue": "0.001", "MaxValue": "0.1"}],
                "IntegerParameterRanges": [{"Name": "depth", "MinValue": "1", "MaxValue": "8"}],
                "CategoricalParameterRanges": [{"Name": "opt", "Values": ["sgd", "adam"]}],
            },
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"epochs": "3"},
            "AlgorithmSpecification": {"TrainingInputMode": "File",
                                       "MetricDefinitions": [{"Name": "loss", "Regex": "loss: ([-+0-9.eE]+)"}]},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
    }


def put(path: str, value: Any) -> Callable[[dict], None]:
    """A change: set (or with DROP, delete) the member at a dotted path (``a.b.0.c``)."""

    def change(data: dict) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        key: Any = int(last) if isinstance(node, list) else last
        if value is DROP:
            del node[key]
        else:
            node[key] = copy.deepcopy(value)

    return change


def both(*changes: Callable[[dict], None]) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        for c in changes:
            c(data)

    return change


RANGES = "hyperparameter_ranges"
LR = f"{RANGES}.lr"
CFG = "HyperParameterTuningJobConfig"
PR = f"{CFG}.ParameterRanges"
TJD = "TrainingJobDefinition"
MDS = f"{TJD}.AlgorithmSpecification.MetricDefinitions"

# (id, change or file text, field path the message names, words of the fix)
NATIVE_CASES: list[tuple[str, Any, str | None, tuple[str, ...]]] = [
    ("unknown-top-key", put("limt", {}), "limt", ("unknown field 'limt'", "Did you mean 'limits'?")),
    ("unknown-limit-key", put("limits.max_job", 3), "limits.max_job", ("Did you mean 'max_jobs'?",)),
    ("missing-name", put("name", DROP), "name", ("required", "name: mnist-lr")),
    ("missing-program", put("program", DROP), "program", ("required", "command: [python, train.py]")),
    ("missing-objective", put("objective", DROP), "objective", ("required", "metric: val_loss, type: minimize")),
    ("command-string", put("program.command", "python train.py --x 1"), "program.command",
     ("is never run through a shell", '["python", "train.py", "--x", "1"]')),
    ("command-empty", put("program.command", []), "program.command", ("at least 1",)),
    ("command-empty-program", put("program.command", ["", "x"]), "program.command[0]", ("empty", "Name it")),
    ("env-bad-name", put("program.env", {"1X": "a"}), "program.env.1X", ("environment variable name",)),
    ("channel-bad-name", put("program.channels", {"tr ain": "d"}), "program.channels.tr ain",
     ("channel name", "letters, digits")),
    ("program-unknown-key", put("program.cmd", ["x"]), "program.cmd", ("Did you mean 'command'?",)),
    ("name-with-space", put("name", "my job"), "name", ("not a valid tuning job name", "mnist-lr-1")),
    ("name-number", put("name", 2024), "name", ("must be a string", "Quote it")),
    ("objective-type-typo", put("objective.type", "maximise"), "objective.type", ("Did you mean 'maximize'?",)),
    ("objective-string", put("objective", "loss"), "objective", ("objective: {metric: loss, type: minimize}",)),
    ("objective-empty-metric", put("objective.metric", " "), "objective.metric", ("empty", "metric: val_loss")),
    ("objective-direction-key", put("objective.direction", "max"), "objective.direction",
     ("Did you mean 'type'?",)),
    ("range-min-above-max", put(f"{LR}.min_value", 0.5), f"{LR}.min_value", ("less than max_value", "Swap")),
    ("range-log-zero", both(put(f"{LR}.min_value", 0), put(f"{LR}.scaling", "log")), f"{LR}.scaling",
     ("min_value > 0", "scaling 'linear'")),
    ("range-revlog-integer", put(f"{RANGES}.n", {"min": 1, "max": 5, "scaling": "reverse_logarithmic"}),
     f"{RANGES}.n.scaling", ("continuous ranges only",)),
    ("range-unknown-scaling", put(f"{LR}.scaling", "exp"), f"{LR}.scaling", ("unknown scaling", "'linear'")),
    ("range-min-twice", put(f"{LR}.min", 0.01), f"{LR}.min", ("Keep one of them",)),
    ("range-list-shorthand", put(f"{RANGES}.opt", ["a", "b"]), f"{RANGES}.opt", ('{values: ["a", "b"]}',)),
    ("range-scalar", put(f"{RANGES}.epochs", 5), f"{RANGES}.epochs", ("static_hyperparameters",)),
    ("range-no-type", put(f"{RANGES}.x", {"scaling": "linear"}), f"{RANGES}.x", ("cannot tell the range's type",)),
    ("categorical-no-values", put(f"{RANGES}.opt", {"type": "categorical"}), f"{RANGES}.opt.values",
     ("needs values", "values: [sgd, adam]")),
    ("categorical-with-min", put(f"{RANGES}.opt.min", 1), f"{RANGES}.opt.min_value", ("does not apply",)),
    ("continuous-with-values", put(f"{LR}.values", [1, 2]), f"{LR}.values", ("belongs to categorical",)),
    ("categorical-duplicates", put(f"{RANGES}.opt.values", ["a", "a"]), f"{RANGES}.opt.values",
     ("more than once", "List each value once")),
    ("categorical-scaling", put(f"{RANGES}.opt.scaling", "linear"), f"{RANGES}.opt.scaling",
     ("no order", "discrete")),
    ("integer-fraction", put(f"{RANGES}.n", {"type": "integer", "min": 1.5, "max": 4}), f"{RANGES}.n.min_value",
     ("whole number", "Round it")),
    ("bound-string", put(f"{LR}.min_value", "small"), f"{LR}.min_value", ("must be a number",)),
    ("power2-none", put(f"{RANGES}.h", {"min": 17, "max": 31, "inc_strategy": "power2"}), f"{RANGES}.h",
     ("no power of two", "Widen")),
    ("inc-val-not-dividing", put(f"{RANGES}.h", {"min": 0, "max": 10, "inc_val": 3}), f"{RANGES}.h.inc_val",
     ("does not divide",)),
    ("inc-strategy-unknown", put(f"{RANGES}.h", {"min": 1, "max": 8, "inc_strategy": "exp"}),
     f"{RANGES}.h.inc_strategy", ("must be one of", "'power2'")),
    ("default-outside", put(f"{LR}.default", 5.0), f"{LR}.default", ("outside the range", "widen")),
    ("tier-unknown", put(f"{LR}.tier", 4), f"{LR}.tier", ("unknown tier", "'fixed'")),
    ("tier-needs-default", put(f"{RANGES}.d", {"min": 0.0, "max": 0.5, "tier": 3}), f"{RANGES}.d.default",
     ("needs a default", "Add a default")),
    ("range-unknown-key", put(f"{LR}.stepsize", 1), f"{LR}.stepsize", ("unknown field", "Valid fields here")),
    ("hp-name-space", put(f"{RANGES}.learning rate", {"min": 0.1, "max": 1.0}), f"{RANGES}.learning rate",
     ("--name value", "Rename it")),
    ("hp-name-dash", put("static_hyperparameters", {"-v": 1}), "static_hyperparameters.-v", ("not starting with '-'",)),
    ("static-and-tuned", put("static_hyperparameters", {"lr": 0.1}), "static_hyperparameters.lr",
     ("both tuned", "Remove it from one")),
    ("static-not-mapping", put("static_hyperparameters", ["a"]), "static_hyperparameters", ("mapping",)),
    ("ranges-not-mapping", put(RANGES, [{"name": "lr"}]), RANGES, ("must be a mapping",)),
    ("no-ranges", put(RANGES, DROP), RANGES, ("tunes no hyperparameter", "Add at least one range")),
    ("regex-no-group", put("metric_definitions.0.regex", "loss: [0-9.]+"), "metric_definitions[0].regex",
     ("no capture group", "'loss: ([0-9.]+)'")),
    ("regex-bad", put("metric_definitions.0.regex", "loss: ([0-9.]+"), "metric_definitions[0].regex",
     ("does not compile", "position 6", "backslash")),
    ("metric-twice", put("metric_definitions", [{"name": "loss", "regex": "a(1)"}, {"name": "loss", "regex": "b(2)"}]),
     "metric_definitions[1].name", ("defined twice",)),
    ("metric-missing-regex", put("metric_definitions", [{"name": "loss"}]), "metric_definitions[0].regex",
     ("required",)),
    ("metrics-not-list", put("metric_definitions", {"loss": "x(1)"}), "metric_definitions", ("must be a list",)),
    ("objective-typo", put("objective.metric", "Loss"), "objective.metric", ("a typo", "same spelling")),
    ("strategy-unknown", put("strategy", "bayes"), "strategy.name", ("must be one of", "'bayesian'")),
    ("strategy-setting-unknown", put("strategy", {"name": "random", "settings": {"n_initial": 3}}),
     "strategy.settings.n_initial", ("has no setting", "Remove or rename")),
    ("grid-continuous", put("strategy", "grid"), f"{LR}", ("categorical ranges only", "'random'")),
    ("grid-wrong-budget", both(put("strategy", "grid"), put(f"{RANGES}.lr", {"values": [0.1, 0.01]})),
     "limits.max_jobs", ("4 training jobs", "leave it out")),
    ("no-budget", put("limits", {}), "limits.max_jobs", ("needs a budget", "max_jobs: 20")),
    ("max-jobs-zero", put("limits.max_jobs", 0), "limits.max_jobs", ("at least 1",)),
    ("max-jobs-string", put("limits.max_jobs", "ten"), "limits.max_jobs", ("whole number", "without quotes")),
    ("max-parallel-zero", put("limits.max_parallel_jobs", 0), "limits.max_parallel_jobs", ("at least 1",)),
    ("timeout-negative", put("limits.timeout_s", -5), "limits.timeout_s", ("greater than 0",)),
    ("runtime-text", put("limits.max_runtime_s", "1h"), "limits.max_runtime_s", ("must be a number",)),
    ("max-failed-zero", put("limits.max_failed_jobs", 0), "limits.max_failed_jobs", ("at least 1",)),
    ("not-improving-2", put("completion", {"max_jobs_not_improving": 2}), "completion.max_jobs_not_improving",
     ("at least 3",)),
    ("convergence-word", put("completion", {"convergence": "sometimes"}), "completion.convergence",
     ("must be one of", "'auto'")),
    ("target-text", put("completion", {"target_value": "high"}), "completion.target_value", ("must be a number",)),
    ("early-stopping-word", put("early_stopping", "yes"), "early_stopping", ("'off' or 'auto'",)),
    ("hyperband-auto", both(put("strategy", "hyperband"), put("early_stopping", "auto")), "early_stopping",
     ("hyperband", "early_stopping: off")),
    ("hyperband-min-zero", put("strategy", {"name": "hyperband", "settings": {"min_resource": 0}}),
     "strategy.settings.min_resource", (">= 1",)),
    ("hyperband-min-above-max",
     put("strategy", {"name": "hyperband", "settings": {"min_resource": 9, "max_resource": 3}}),
     "strategy.settings.max_resource", ("greater than min_resource",)),
    ("seed-negative", put("random_seed", -1), "random_seed", ("at least 0",)),
    ("store-bad-url", put("store", "postgresql://u@h:port/db"), "store", ("not a database URL", "sqlite:///")),
    ("output-dir-empty", put("output_dir", " "), "output_dir", ("empty",)),
    ("warm-start-no-parent", put("warm_start", {"parents": []}), "warm_start.parents", ("at least 1",)),
    ("warm-start-six", put("warm_start", {"parents": list("abcdef")}), "warm_start.parents", ("at most 5",)),
    ("warm-start-twice", put("warm_start", {"parents": ["a", "a"]}), "warm_start.parents[1]", ("twice",)),
    ("warm-start-self", put("warm_start", {"parents": ["demo"]}), "warm_start.parents[0]", ("names itself",)),
    ("warm-start-type", put("warm_start", {"parents": ["a"], "type": "copy"}), "warm_start.type",
     ("must be one of", "'transfer_learning'")),
    ("source-format-in-file", put("source_format", "native"), "source_format", ("written by hyperjob", "Remove")),
    ("top-level-list", "- name: demo\n", None, ("must be a mapping of fields",)),
    ("yaml-tab", "name: demo\nprogram:\n\tcommand: [x]\n", None, ("line 3", "Indent with spaces")),
    ("yaml-duplicate-key", "name: a\nname: b\n", None, ("appears twice", "lines 1 and 2")),
    ("yaml-syntax", "name: [demo\n", None, ("not valid YAML at line",)),
    ("empty-file", "\n\n", None, ("empty",)),
    ("neptune-file", '{"models": [{"model": "rgcn"}]}', None, ("Neptune ML", "load_neptune_config")),
]

SAGEMAKER_CASES: list[tuple[str, Any, str | None, tuple[str, ...]]] = [
    ("name-too-long", put("HyperParameterTuningJobName", "x" * 33), "HyperParameterTuningJobName",
     ("33 characters", "at most 32")),
    ("name-underscore", put("HyperParameterTuningJobName", "my_job"), "HyperParameterTuningJobName",
     ("pattern", "'my-job'")),
    ("strategy-case", put(f"{CFG}.Strategy", "bayesian"), f"{CFG}.Strategy", ("case-sensitive", "'Bayesian'")),
    ("early-stopping-case", put(f"{CFG}.TrainingJobEarlyStoppingType", "OFF"), f"{CFG}.TrainingJobEarlyStoppingType",
     ("case-sensitive", "'Off'")),
    ("runtime-short", put(f"{CFG}.ResourceLimits.MaxRuntimeInSeconds", 60), f"{CFG}.ResourceLimits.MaxRuntimeInSeconds",
     ("120 to 15768000", "Use 120 or more")),
    ("runtime-long", put(f"{CFG}.ResourceLimits.MaxRuntimeInSeconds", 20_000_000),
     f"{CFG}.ResourceLimits.MaxRuntimeInSeconds", ("120 to 15768000", "Use 15768000 or less")),
    ("not-improving-2", put(f"{CFG}.TuningJobCompletionCriteria",
                            {"BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 2}}),
     f"{CFG}.TuningJobCompletionCriteria.BestObjectiveNotImproving.MaxNumberOfTrainingJobsNotImproving",
     ("at least 3", "Use 3 or more")),
    ("31-continuous", put(f"{PR}.ContinuousParameterRanges",
                          [{"Name": f"p{i}", "MinValue": "0", "MaxValue": "1"} for i in range(31)]),
     f"{PR}.ContinuousParameterRanges", ("31 continuous ranges", "at most 30")),
    ("31-values", put(f"{PR}.CategoricalParameterRanges.0.Values", [str(i) for i in range(31)]),
     f"{PR}.CategoricalParameterRanges[0].Values", ("at most 30",)),
    ("101-hyperparameters", put(f"{TJD}.StaticHyperParameters", {f"s{i}": "1" for i in range(98)}),
     f"{TJD}.StaticHyperParameters", ("101 hyperparameters", "at most 100")),
    ("21-metrics", put(MDS, [{"Name": f"m{i}", "Regex": "m(1)"} for i in range(21)]), MDS,
     ("21 metric definitions", "at most 20")),
    ("min-not-number", put(f"{PR}.ContinuousParameterRanges.0.MinValue", "abc"),
     f"{PR}.ContinuousParameterRanges[0].MinValue", ("a number", "0.001")),
    ("integer-fraction", put(f"{PR}.IntegerParameterRanges.0.MinValue", "1.5"),
     f"{PR}.IntegerParameterRanges[0].MinValue", ("whole-number", "ContinuousParameterRanges")),
    ("min-above-max", put(f"{PR}.ContinuousParameterRanges.0.MinValue", "0.5"),
     f"{PR}.ContinuousParameterRanges[0].MinValue", ("less than MaxValue", "Swap")),
    ("log-zero", both(put(f"{PR}.ContinuousParameterRanges.0.MinValue", "0"),
                      put(f"{PR}.ContinuousParameterRanges.0.ScalingType", "Logarithmic")),
     f"{PR}.ContinuousParameterRanges[0].ScalingType", ("MinValue > 0",)),
    ("revlog-integer", put(f"{PR}.IntegerParameterRanges.0.ScalingType", "ReverseLogarithmic"),
     f"{PR}.IntegerParameterRanges[0].ScalingType", ("continuous ranges only",)),
    ("scaling-case", put(f"{PR}.IntegerParameterRanges.0.ScalingType", "linear"),
     f"{PR}.IntegerParameterRanges[0].ScalingType", ("case-sensitive", "'Linear'")),
    ("grid-continuous", put(f"{CFG}.Strategy", "Grid"), f"{PR}.ContinuousParameterRanges[0]",
     ("Grid strategy takes categorical ranges only", "CategoricalParameterRanges")),
    ("grid-wrong-budget", both(put(f"{CFG}.Strategy", "Grid"), put(f"{PR}.ContinuousParameterRanges", []),
                               put(f"{PR}.IntegerParameterRanges", [])),
     f"{CFG}.ResourceLimits.MaxNumberOfTrainingJobs", ("2 training jobs", "Set it to 2 or leave it out")),
    ("no-budget", put(f"{CFG}.ResourceLimits.MaxNumberOfTrainingJobs", DROP),
     f"{CFG}.ResourceLimits.MaxNumberOfTrainingJobs", ("required with the Bayesian", '"MaxNumberOfTrainingJobs"')),
    ("hyperband-auto", both(put(f"{CFG}.Strategy", "Hyperband"), put(f"{CFG}.TrainingJobEarlyStoppingType", "Auto")),
     f"{CFG}.TrainingJobEarlyStoppingType", ("Hyperband", '"Off"')),
    ("strategy-config-bayesian", put(f"{CFG}.StrategyConfig", {"HyperbandStrategyConfig": {"MinResource": 1}}),
     f"{CFG}.StrategyConfig", ("Hyperband strategy only",)),
    ("hyperband-resources", both(put(f"{CFG}.Strategy", "Hyperband"),
                                 put(f"{CFG}.StrategyConfig", {"HyperbandStrategyConfig": {"MinResource": 5,
                                                                                           "MaxResource": 5}})),
     f"{CFG}.StrategyConfig.HyperbandStrategyConfig.MaxResource", ("greater than MinResource",)),
    ("two-definitions", put("TrainingJobDefinitions", [{"DefinitionName": "a"}]), "TrainingJobDefinitions",
     ("both TrainingJobDefinition and TrainingJobDefinitions", "Keep one of them")),
    ("no-objective", put(f"{CFG}.HyperParameterTuningJobObjective", DROP), f"{CFG}.HyperParameterTuningJobObjective",
     ("no objective", '"MetricName"')),
    ("objective-type", put(f"{CFG}.HyperParameterTuningJobObjective.Type", "Max"),
     f"{CFG}.HyperParameterTuningJobObjective.Type", ("not one of", "'Maximize'")),
    ("no-ranges", put(f"{CFG}.ParameterRanges", {}), PR, ("tunes no hyperparameter", "at least one range")),
    ("auto-without-autotune", put(f"{PR}.AutoParameters", [{"Name": "x", "ValueHint": "1"}]),
     f"{PR}.AutoParameters", ("needs Autotune", '"Mode": "Enabled"')),
    ("range-twice", put(f"{PR}.IntegerParameterRanges.0.Name", "lr"), f"{PR}.IntegerParameterRanges[0].Name",
     ("already has a range", "one range")),
    ("static-and-tuned", put(f"{TJD}.StaticHyperParameters.lr", "0.1"), f"{TJD}.StaticHyperParameters.lr",
     ("both tuned", "Remove it from StaticHyperParameters")),
    ("regex-no-group", put(f"{MDS}.0.Regex", "loss: [0-9.]+"), f"{MDS}[0].Regex", ("no capture group",)),
    ("metric-twice", put(MDS, [{"Name": "loss", "Regex": "a(1)"}, {"Name": "loss", "Regex": "b(1)"}]),
     f"{MDS}[1].Name", ("defined twice",)),
    ("six-parents", put("WarmStartConfig", {"WarmStartType": "TransferLearning",
                                            "ParentHyperParameterTuningJobs": [
                                                {"HyperParameterTuningJobName": f"p{i}"} for i in range(6)]}),
     "WarmStartConfig.ParentHyperParameterTuningJobs", ("at most 5",)),
    ("warm-start-type", put("WarmStartConfig", {"WarmStartType": "Identical", "ParentHyperParameterTuningJobs": [
        {"HyperParameterTuningJobName": "p"}]}), "WarmStartConfig.WarmStartType",
     ("not one of", "'IdenticalDataAndAlgorithm'")),
    ("no-parallel", put(f"{CFG}.ResourceLimits.MaxParallelTrainingJobs", DROP),
     f"{CFG}.ResourceLimits.MaxParallelTrainingJobs", ("required", "Add it")),
    ("template-placeholder", put(f"{CFG}.ResourceLimits.MaxNumberOfTrainingJobs", "{{ max_job }}"),
     f"{CFG}.ResourceLimits.MaxNumberOfTrainingJobs", ("whole number", "template placeholder", "render")),
    ("pipelines-placeholder", put(f"{TJD}.InputDataConfig", [{"ChannelName": "train", "DataSource": {
        "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": {"Get": "Parameters.Data"}}}}]),
     f"{TJD}.InputDataConfig[0].DataSource.S3DataSource.S3Uri", ("Pipelines placeholder", "value itself")),
    ("static-number", put(f"{TJD}.StaticHyperParameters.epochs", 3), f"{TJD}.StaticHyperParameters.epochs",
     ("must be a string", 'Quote it: "3"')),
    ("config-unknown-key", put(f"{CFG}.MaxJobs", 3), f"{CFG}.MaxJobs", ("unknown field 'MaxJobs'", "ResourceLimits")),
    ("env-bad-name", put(f"{TJD}.Environment", {"1X": "a"}), f"{TJD}.Environment.1X", ("pattern",)),
    ("channel-twice", put(f"{TJD}.InputDataConfig", [
        {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/a"}}},
        {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/b"}}},
    ]), f"{TJD}.InputDataConfig[1].ChannelName", ("used twice",)),
    ("channel-bad-uri", put(f"{TJD}.InputDataConfig", [
        {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "gs://b/a"}}}]),
     f"{TJD}.InputDataConfig[0].DataSource.S3DataSource.S3Uri", ("local path or file:// URI",)),
    ("program-command-string", put("HyperjobProgram", {"Command": "python train.py"}), "HyperjobProgram.Command",
     ("must be a list",)),
    ("program-definition-single", put("HyperjobProgram", {"DefinitionName": "x"}), "HyperjobProgram.DefinitionName",
     ("single TrainingJobDefinition", "Remove HyperjobProgram.DefinitionName")),
    ("seed-negative", put(f"{CFG}.RandomSeed", -1), f"{CFG}.RandomSeed", ("at least 0",)),
    ("objective-typo", put(f"{CFG}.HyperParameterTuningJobObjective.MetricName", "LOSS"),
     f"{CFG}.HyperParameterTuningJobObjective.MetricName", ("a typo", "same spelling")),
    ("output-not-s3", put(f"{TJD}.OutputDataConfig", {"S3OutputPath": "out"}), f"{TJD}.OutputDataConfig.S3OutputPath",
     ("s3://bucket/prefix", "leave OutputDataConfig out")),
    ("stopping-zero", put(f"{TJD}.StoppingCondition.MaxRuntimeInSeconds", 0),
     f"{TJD}.StoppingCondition.MaxRuntimeInSeconds", ("1 to 2419200 seconds", "got 0")),
    ("bool-as-string", put(f"{TJD}.EnableNetworkIsolation", "true"), f"{TJD}.EnableNetworkIsolation",
     ("true or false",)),
    ("ranges-as-list", put(f"{CFG}.ParameterRanges", [{"Name": "lr"}]), PR,
     ("got a list", "ContinuousParameterRanges")),
]


def run_case(tmp_path: Path, name: str, change: Any, base: dict | None) -> SpecError:
    if isinstance(change, str):
        path = tmp_path / name
        path.write_text(change)
    else:
        data = copy.deepcopy(base)
        change(data)
        path = tmp_path / name
        path.write_text(json.dumps(data) if name.endswith(".json") else yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(SpecError) as err:
        load_spec(path, command=None if base is NATIVE else ["python", "train.py"])
    return err.value


def check(err: SpecError, file: str, path: str | None, words: tuple[str, ...]) -> None:
    message = str(err)
    assert message.startswith(f"{file}: "), message  # the file
    if path is not None:
        assert err.path == path, (err.path, message)
        assert f": {path}: " in message, message  # the field path, in the message itself
    for word in words:
        assert word in message, (word, message)
    assert "Traceback" not in message and "pydantic" not in message.lower()
    assert err.exit_code == 2


@pytest.mark.parametrize("case_id, change, path, words", NATIVE_CASES, ids=[c[0] for c in NATIVE_CASES])
def test_invalid_native_spec(tmp_path, case_id, change, path, words):
    name = "job.json" if isinstance(change, str) and change.startswith("{") else "job.yaml"
    err = run_case(tmp_path, name, change, NATIVE)
    check(err, str(tmp_path / name), path, words)


@pytest.mark.parametrize("case_id, change, path, words", SAGEMAKER_CASES, ids=[c[0] for c in SAGEMAKER_CASES])
def test_invalid_sagemaker_request(tmp_path, case_id, change, path, words):
    err = run_case(tmp_path, "request.json", change, request())
    check(err, str(tmp_path / "request.json"), path, words)


def test_there_are_at_least_60_distinct_invalid_specs():
    ids = [c[0] for c in NATIVE_CASES] + [f"sm-{c[0]}" for c in SAGEMAKER_CASES]
    assert len(set(ids)) == len(ids) >= 60


def test_the_valid_bases_load(tmp_path):
    """The cases above fail because of their change, not because the bases are broken."""
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(NATIVE))
    (tmp_path / "request.json").write_text(json.dumps(request()))
    assert load_spec(tmp_path / "job.yaml").name == "demo"
    assert load_spec(tmp_path / "request.json", command=["python", "t.py"]).name == "req-1"


def test_json_trailing_comma_and_missing_file(tmp_path):
    path = tmp_path / "job.json"
    path.write_text('{"name": "demo",}')
    with pytest.raises(SpecError, match=r"job\.json: not valid JSON at line 1.*trailing comma"):
        load_spec(path)
    with pytest.raises(SpecError, match=r"nope\.yaml: the file does not exist.*Check the path"):
        load_spec(tmp_path / "nope.yaml")
    with pytest.raises(SpecError, match="is a directory"):
        load_spec(tmp_path)


def test_command_from_the_command_line_is_checked(tmp_path):
    (tmp_path / "request.json").write_text(json.dumps(request()))
    with pytest.raises(SpecError, match=r"request\.json: command: the command is empty"):
        load_spec(tmp_path / "request.json", command=[])
