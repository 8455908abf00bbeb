"""SageMaker's limits of CreateHyperParameterTuningJob, one row per limit: the value at the limit is accepted, the
next one is refused at its path, with SageMaker's number in the message.

Sources, quoted in each row's comment:
- API: the SageMaker API Reference of each member ("Valid Range", "Array Members", "Length Constraints");
- Limits: "Resource Limits for Automatic Model Tuning" (docs/sagemaker/latest/dg/automatic-model-tuning-limits);
- Ranges: "Define Hyperparameter Ranges" (automatic-model-tuning-define-ranges).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from hyperjob.errors import SpecError
from hyperjob.formats.sagemaker import load_sagemaker_request

BASE = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "specs" / "sagemaker-local.json").read_text())
CFG = "HyperParameterTuningJobConfig"
PR = f"{CFG}.ParameterRanges"
RL = f"{CFG}.ResourceLimits"
TJD = "TrainingJobDefinition"
MDS = f"{TJD}.AlgorithmSpecification.MetricDefinitions"


def _plain(r: dict[str, Any]) -> None:
    """The base without the rules a limit row does not test (warm start, early stopping with Hyperband)."""
    r.pop("WarmStartConfig", None)
    r[CFG]["TrainingJobEarlyStoppingType"] = "Off"


def hyperband(max_resource: int) -> Callable[[dict[str, Any]], None]:
    def edit(r: dict[str, Any]) -> None:
        r[CFG].update(Strategy="Hyperband",
                      StrategyConfig={"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": max_resource}})
    return edit


def limit(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(r: dict[str, Any]) -> None:
        r[CFG]["ResourceLimits"][field] = value
    return edit


def strategy_jobs(strategy: str, jobs: int) -> Callable[[dict[str, Any]], None]:
    def edit(r: dict[str, Any]) -> None:
        r[CFG]["Strategy"] = strategy
        r[CFG]["ResourceLimits"]["MaxNumberOfTrainingJobs"] = jobs
    return edit


def grid_of(combinations: int) -> Callable[[dict[str, Any]], None]:
    def edit(r: dict[str, Any]) -> None:
        r[CFG]["Strategy"] = "Grid"
        r[CFG]["ResourceLimits"].pop("MaxNumberOfTrainingJobs")
        a, b = (30, combinations // 30) if combinations % 30 == 0 else (combinations, 1)
        r[CFG]["ParameterRanges"] = {"CategoricalParameterRanges": [
            {"Name": "a", "Values": [str(i) for i in range(a)]}, {"Name": "b", "Values": [str(i) for i in range(b)]}]}
    return edit


def tuned(n_continuous: int, n_integer: int = 0) -> Callable[[dict[str, Any]], None]:
    def edit(r: dict[str, Any]) -> None:
        r[CFG]["ParameterRanges"] = {
            "ContinuousParameterRanges": [{"Name": f"c{i}", "MinValue": "0", "MaxValue": "1"}
                                          for i in range(n_continuous)],
            "IntegerParameterRanges": [{"Name": f"i{i}", "MinValue": "1", "MaxValue": "9"} for i in range(n_integer)],
        }
    return edit


def categorical_values(n: int, length: int = 1) -> Callable[[dict[str, Any]], None]:
    def edit(r: dict[str, Any]) -> None:
        r[CFG]["ParameterRanges"]["CategoricalParameterRanges"][1]["Values"] = [
            str(i).rjust(length, "v") for i in range(n)]
    return edit


def range_name(length: int) -> Callable[[dict[str, Any]], None]:
    def edit(r: dict[str, Any]) -> None:
        r[CFG]["ParameterRanges"]["ContinuousParameterRanges"][0]["Name"] = "n" * length
    return edit


def bound_length(length: int) -> Callable[[dict[str, Any]], None]:
    def edit(r: dict[str, Any]) -> None:
        r[CFG]["ParameterRanges"]["ContinuousParameterRanges"][0]["MaxValue"] = "0." + "1" * (length - 2)
    return edit


def static(key_length: int = 1, value_length: int = 1, count: int = 1) -> Callable[[dict[str, Any]], None]:
    def edit(r: dict[str, Any]) -> None:
        r[TJD]["StaticHyperParameters"] = {("k" * key_length if i == 0 else f"s{i}"): "v" * value_length
                                           for i in range(count)}
    return edit


def metrics(count: int = 1, name_length: int = 15, regex_length: int = 10) -> Callable[[dict[str, Any]], None]:
    def edit(r: dict[str, Any]) -> None:
        r[TJD]["AlgorithmSpecification"]["MetricDefinitions"] = [
            {"Name": "validation:loss" if i == 0 else f"m{i}".ljust(name_length, "m"),
             "Regex": "(" + "x" * (regex_length - 2) + ")"} for i in range(count)]
    return edit


def name(length: int) -> Callable[[dict[str, Any]], None]:
    def edit(r: dict[str, Any]) -> None:
        r["HyperParameterTuningJobName"] = "j" * length
    return edit


def stopping(seconds: int) -> Callable[[dict[str, Any]], None]:
    def edit(r: dict[str, Any]) -> None:
        r[TJD]["StoppingCondition"]["MaxRuntimeInSeconds"] = seconds
    return edit


def not_improving(n: int) -> Callable[[dict[str, Any]], None]:
    def edit(r: dict[str, Any]) -> None:
        r[CFG]["TuningJobCompletionCriteria"]["BestObjectiveNotImproving"]["MaxNumberOfTrainingJobsNotImproving"] = n
    return edit


def seed(value: int) -> Callable[[dict[str, Any]], None]:
    def edit(r: dict[str, Any]) -> None:
        r[CFG]["RandomSeed"] = value
    return edit


def parents(n: int) -> Callable[[dict[str, Any]], None]:
    def edit(r: dict[str, Any]) -> None:
        r["WarmStartConfig"] = {"WarmStartType": "TransferLearning", "ParentHyperParameterTuningJobs": [
            {"HyperParameterTuningJobName": f"parent-{i}"} for i in range(n)]}
    return edit


def env(count: int = 1, value_length: int = 1) -> Callable[[dict[str, Any]], None]:
    def edit(r: dict[str, Any]) -> None:
        r[TJD]["Environment"] = {f"E{i}": "v" * value_length for i in range(count)}
    return edit


#: (limit, the edit at the limit, the edit past it, the path refused, words of the message)
LIMITS = [
    # API HyperbandStrategyConfig.MaxResource: "The maximum value is 20,000 epochs."
    ("hyperband-max-resource", hyperband(20_000), hyperband(20_001),
     f"{CFG}.StrategyConfig.HyperbandStrategyConfig.MaxResource", ("1 to 20000", "got 20001")),
    # API HyperbandStrategyConfig.MinResource / MaxResource: "Valid Range: Minimum value of 1."
    ("hyperband-max-resource-min", hyperband(2), hyperband(0),
     f"{CFG}.StrategyConfig.HyperbandStrategyConfig.MaxResource", ("1 to 20000", "got 0")),
    # API ResourceLimits.MaxRuntimeInSeconds: "Valid Range: Minimum value of 120. Maximum value of 15768000."
    ("tuning-runtime-max", limit("MaxRuntimeInSeconds", 15_768_000), limit("MaxRuntimeInSeconds", 15_768_001),
     f"{RL}.MaxRuntimeInSeconds", ("120 to 15768000 seconds", "got 15768001")),
    ("tuning-runtime-min", limit("MaxRuntimeInSeconds", 120), limit("MaxRuntimeInSeconds", 119),
     f"{RL}.MaxRuntimeInSeconds", ("120 to 15768000 seconds", "got 119")),
    # API ResourceLimits.MaxParallelTrainingJobs: "Minimum value of 1"; Limits: "Number of parallel training jobs
    # per hyperparameter tuning job: 10, can be increased to 100"
    ("parallel-max", limit("MaxParallelTrainingJobs", 100), limit("MaxParallelTrainingJobs", 101),
     f"{RL}.MaxParallelTrainingJobs", ("1 to 100 training jobs at once", "got 101")),
    ("parallel-min", limit("MaxParallelTrainingJobs", 1), limit("MaxParallelTrainingJobs", 0),
     f"{RL}.MaxParallelTrainingJobs", ("1 to 100", "got 0")),
    # API ResourceLimits.MaxNumberOfTrainingJobs: "Minimum value of 1"; Limits: "[Bayesian optimization] Number of
    # training jobs per hyperparameter tuning job: 750, N/A"
    ("jobs-min", limit("MaxNumberOfTrainingJobs", 1), limit("MaxNumberOfTrainingJobs", 0),
     f"{RL}.MaxNumberOfTrainingJobs", ("at least 1", "got 0")),
    ("jobs-bayesian", strategy_jobs("Bayesian", 750), strategy_jobs("Bayesian", 751),
     f"{RL}.MaxNumberOfTrainingJobs", ("at most 750", "Bayesian")),
    # Limits: "[Random search] Number of training jobs per hyperparameter tuning job: 750, can be increased to 10000"
    ("jobs-random", strategy_jobs("Random", 10_000), strategy_jobs("Random", 10_001),
     f"{RL}.MaxNumberOfTrainingJobs", ("at most 10000", "Random")),
    # Limits: "[Hyperband] Number of training jobs per hyperparameter tuning job: 750"
    ("jobs-hyperband", lambda r: (hyperband(30)(r), strategy_jobs("Hyperband", 750)(r)),
     lambda r: (hyperband(30)(r), strategy_jobs("Hyperband", 751)(r)),
     f"{RL}.MaxNumberOfTrainingJobs", ("at most 750", "Hyperband")),
    # Limits: "[Grid] Number of training jobs per hyperparameter tuning job, either specified explicitly or inferred
    # from the search space: 750"
    ("jobs-grid-inferred", grid_of(750), grid_of(780), f"{RL}.MaxNumberOfTrainingJobs",
     ("780 training jobs", "at most 750", "Grid")),
    # Limits: "Number of hyperparameters that can be searched: 30"
    ("tuned-in-all", tuned(15, 15), tuned(16, 15), PR, ("31 hyperparameters", "at most 30")),
    # API IntegerParameterRanges / ContinuousParameterRanges: "Array Members: Maximum number of 30 items."
    ("ranges-per-list", tuned(30), tuned(31), f"{PR}.ContinuousParameterRanges", ("31 continuous ranges",
                                                                                    "at most 30")),
    # API CategoricalParameterRange.Values: "Array Members: Minimum number of 1 item. Maximum number of 30 items."
    ("categorical-values-max", categorical_values(30), categorical_values(31),
     f"{PR}.CategoricalParameterRanges[1].Values", ("31 values", "at most 30")),
    # API ParameterValue: "Length Constraints: Maximum length of 256."
    ("categorical-value-length", categorical_values(2, 256), categorical_values(2, 257),
     f"{PR}.CategoricalParameterRanges[1].Values[0]", ("257 characters", "at most 256")),
    ("bound-length", bound_length(256), bound_length(257),
     f"{PR}.ContinuousParameterRanges[0].MaxValue", ("257 characters", "at most 256", "'lr'")),
    # API ParameterKey (a range's Name): "Length Constraints: Maximum length of 256."
    ("range-name-length", range_name(256), range_name(257),
     f"{PR}.ContinuousParameterRanges[0].Name", ("257 characters", "at most 256")),
    # API HyperParameters (StaticHyperParameters): "Map Entries: Maximum number of 100 items. Key Length
    # Constraints: Maximum length of 256. Value Length Constraints: Maximum length of 2500."
    ("static-key-length", static(key_length=256), static(key_length=257),
     f"{TJD}.StaticHyperParameters.{'k' * 257}", ("257 characters", "at most 256")),
    ("static-value-length", static(value_length=2500), static(value_length=2501),
     f"{TJD}.StaticHyperParameters.k", ("2501 characters", "at most 2500")),
    ("static-count", static(count=96), static(count=101), f"{TJD}.StaticHyperParameters",
     ("101 static hyperparameters", "at most 100")),
    # Ranges: "You can use up to 100 hyperparameters in total (static + tunable)."
    ("hyperparameters-in-all", static(count=96), static(count=97), f"{TJD}.StaticHyperParameters",
     ("101 hyperparameters", "at most 100")),
    # Limits: "Number of metrics defined per hyperparameter tuning job: 20" (the API list takes 40 for one training job)
    ("metric-definitions", metrics(20), metrics(21), MDS, ("21 metric definitions", "at most 20")),
    # API MetricName: "Length Constraints: Minimum length of 1. Maximum length of 255."
    ("metric-name-length", metrics(2, name_length=255), metrics(2, name_length=256), f"{MDS}[1].Name",
     ("256 characters", "at most 255")),
    # API MetricRegex: "Length Constraints: Minimum length of 1. Maximum length of 500."
    ("metric-regex-length", metrics(1, regex_length=500), metrics(1, regex_length=501), f"{MDS}[0].Regex",
     ("501 characters", "at most 500")),
    # API HyperParameterTuningJobName: "Length Constraints: Minimum length of 1. Maximum length of 32."
    ("job-name-length", name(32), name(33), "HyperParameterTuningJobName", ("33 characters", "at most 32")),
    # API StoppingCondition.MaxRuntimeInSeconds: "Minimum value of 1"; "The maximum value is 28 days."
    ("training-runtime-max", stopping(2_419_200), stopping(2_419_201),
     f"{TJD}.StoppingCondition.MaxRuntimeInSeconds", ("1 to 2419200 seconds", "28 days")),
    ("training-runtime-min", stopping(1), stopping(0), f"{TJD}.StoppingCondition.MaxRuntimeInSeconds",
     ("1 to 2419200 seconds", "got 0")),
    # API BestObjectiveNotImproving.MaxNumberOfTrainingJobsNotImproving: "Valid Range: Minimum value of 3."
    ("not-improving-min", not_improving(3), not_improving(2),
     f"{CFG}.TuningJobCompletionCriteria.BestObjectiveNotImproving.MaxNumberOfTrainingJobsNotImproving",
     ("at least 3", "got 2")),
    # API HyperParameterTuningJobConfig.RandomSeed: "Type: Integer. Valid Range: Minimum value of 0."
    ("seed-min", seed(0), seed(-1), f"{CFG}.RandomSeed", ("at least 0", "got -1")),
    # API: every "Type: Integer" member is a 32-bit signed integer
    ("seed-32-bit", seed(2**31 - 1), seed(2**31), f"{CFG}.RandomSeed", ("32-bit", "2147483647")),
    # API ParentHyperParameterTuningJobs: "Array Members: Minimum number of 1 item. Maximum number of 5 items."
    ("parents-max", parents(5), parents(6), "WarmStartConfig.ParentHyperParameterTuningJobs",
     ("6 parent tuning jobs", "at most 5")),
    # API HyperParameterTrainingJobDefinition.Environment: "Map Entries: Maximum number of 48 items. Value Length
    # Constraints: Maximum length of 512."
    ("environment-count", env(48), env(49), f"{TJD}.Environment", ("49 environment variables", "at most 48")),
    ("environment-value-length", env(1, 512), env(1, 513), f"{TJD}.Environment.E0",
     ("513 characters", "at most 512")),
]


def _request(edit: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    r = copy.deepcopy(BASE)
    _plain(r)
    edit(r)
    return r


@pytest.mark.parametrize("edit_ok, edit_over, path, words",
                         [row[1:] for row in LIMITS], ids=[row[0] for row in LIMITS])
def test_a_sagemaker_limit_accepts_its_bound_and_refuses_the_next_value(edit_ok, edit_over, path, words):
    load_sagemaker_request(_request(edit_ok), source="request.json", command=["python", "train.py"])
    with pytest.raises(SpecError) as err:
        load_sagemaker_request(_request(edit_over), source="request.json", command=["python", "train.py"])
    assert err.value.path == path, str(err.value)
    for word in words:
        assert word in str(err.value), (word, str(err.value))


def test_each_row_is_a_distinct_limit():
    names = [row[0] for row in LIMITS]
    assert len(names) == len(set(names)) and len(LIMITS) >= 30
