"""SageMaker CreateHyperParameterTuningJob requests: the corpus (valid and invalid) and the mapping rules."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest

from hyperjob.errors import SpecError
from hyperjob.formats import load_spec
from hyperjob.formats.sagemaker import decode_hyperparameter, load_sagemaker_request
from hyperjob.formats.spec import TuningJobSpec
from _corpus import CORPUS_ROOT, need as need_corpus

FIXTURES = Path(__file__).parents[2] / "fixtures" / "specs"
CORPUS = CORPUS_ROOT / "sagemaker"
VALID = sorted((CORPUS / "requests").glob("*.json"))
INVALID = sorted((CORPUS / "invalid").glob("*.json"))
needs_corpus = pytest.mark.usefixtures("corpus_required")


@pytest.fixture
def corpus_required() -> None:
    """Skip without the shared corpus, but fail in CI (``CI`` set), so that CI never passes without reading it."""
    need_corpus(CORPUS)

#: the rule each invalid corpus request breaks first, as the message names it
INVALID_RULES = {
    "i01": ("HyperParameterTuningJobConfig.ParameterRanges", "got a list", "IntegerParameterRanges"),
    "i02": ("TrainingJobDefinitions[0].DefinitionName", "'estimator_1'", "pattern", "'estimator-1'"),
    "i03": ("S3Operations", "unknown field", "Airflow"),
    "i04": ("S3Operations", "unknown field", "Airflow"),
    "i05": ("HyperParameterTuningJobName", "required", "Pipelines"),
    "i06": ("HyperParameterTuningJobName", "'base_tuning_job-240101-0000'", "pattern", "'base-tuning-job-240101-0000'"),
    "i07": ("ResourceLimits.MaxParallelTrainingJobs", "1 to 100 training jobs at once", "Use 100 or less"),
    "i08": ("TrainingJobDefinition.RoleArn", "role, not a user", "arn:aws:iam::111122223333:role/MyRole"),
}


def request() -> dict:
    """A small valid request (the shape of the corpus' PyTorch script-mode example)."""
    return {
        "HyperParameterTuningJobName": "pytorch-1",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 9, "MaxParallelTrainingJobs": 3},
            "TrainingJobEarlyStoppingType": "Off",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "average test loss"},
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "lr", "MinValue": "0.001", "MaxValue": "0.1",
                                               "ScalingType": "Auto"}],
                "CategoricalParameterRanges": [{"Name": "batch-size", "Values": ["\"32\"", "\"64\""]}],
                "IntegerParameterRanges": [],
            },
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"epochs": "1", "backend": "\"gloo\"", "sagemaker_program": "\"mnist.py\""},
            "AlgorithmSpecification": {
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": "average test loss", "Regex": "Test set: Average loss: ([0-9\\.]+)"}],
                "TrainingImage": "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-training:1.8.0-cpu-py3",
            },
            "RoleArn": "arn:aws:iam::111122223333:role/service-role/Role",
            "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        },
    }


def load(data: dict, **kw) -> TuningJobSpec:
    kw.setdefault("command", ["python", "train.py"])
    return load_sagemaker_request(data, source="request.json", **kw)


# -- the corpus ---------------------------------------------------------------------------------------------------
@needs_corpus
@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name[:2])
def test_every_valid_corpus_request_loads_and_round_trips(path):
    spec = load_spec(path, command=["python", "train.py"])
    assert spec.source_format == "sagemaker"
    data = json.loads(path.read_text())
    assert spec.name == data["HyperParameterTuningJobName"]
    assert TuningJobSpec.from_json(spec.to_json()) == spec
    assert spec.limits.max_jobs == data["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"]
    assert all(not k.startswith("sagemaker_") for k in spec.static_hyperparameters)
    spec.build_space()  # the ranges are valid hyperjob ranges


@needs_corpus
def test_corpus_has_the_expected_files():
    assert len(VALID) == 23 and len(INVALID) == 8


@needs_corpus
@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name[:3])
def test_every_invalid_corpus_request_is_refused_naming_its_rule(path):
    with pytest.raises(SpecError) as err:
        load_spec(path, command=["python", "train.py"])
    message = str(err.value)
    assert message.startswith(str(path) + ": ")
    for part in INVALID_RULES[path.name[:3]]:
        assert part in message, (part, message)


@needs_corpus
def test_corpus_details_are_mapped():
    by = {p.name[:2]: p for p in VALID}
    s01 = load_spec(by["01"], command=["python", "x.py"])
    assert s01.random_seed == 123 and s01.strategy.name == "bayesian"
    assert s01.static_hyperparameters["num_round"] == 100
    assert s01.static_hyperparameters["objective"] == "binary:logistic"
    assert any("built-in algorithm 'xgboost'" in w for w in s01.warnings)
    s15 = load_spec(by["15"], command=["python", "x.py"])
    assert s15.strategy.name == "hyperband" and s15.strategy.settings == {"min_resource": 1, "max_resource": 30}
    s07 = load_spec(by["07"], command=["python", "x.py"])
    assert s07.early_stopping == "auto"
    s13 = load_spec(by["13"], command=["python", "x.py"])
    assert s13.warm_start.type == "identical_data_and_algorithm"
    s14 = load_spec(by["14"], command=["python", "x.py"])
    assert s14.warm_start.type == "transfer_learning" and len(s14.warm_start.parents) == 2
    s16 = load_spec(by["16"], command=["python", "x.py"])
    assert s16.strategy.name == "random"
    assert "logarithmic" in {r.scaling for r in s16.hyperparameter_ranges.values()}
    s19 = load_spec(by["19"], command=["python", "x.py"])
    assert s19.hyperparameter_ranges == {} and s19.static_hyperparameters["max_depth"] == 5
    assert s19.limits.max_runtime_s == 3600.0
    assert sum("Autotune is not implemented yet" in w for w in s19.warnings) == 1
    s22 = load_spec(by["22"], command=["python", "x.py"])
    assert s22.completion.max_jobs_not_improving == 20
    assert any("3 definitions" in w and "'estimator-rf-mean-imp-scale'" in w for w in s22.warnings)
    s10 = load_spec(by["10"], command=["python", "x.py"])
    assert s10.hyperparameter_ranges["batch-size"].values == ["32", "64", "128", "256", "512"]
    assert s10.static_hyperparameters == {"epochs": 1, "backend": "gloo"}


# -- mapping rules on the fixture request -------------------------------------------------------------------------
def test_fixture_request_maps_every_member():
    spec = load_spec(FIXTURES / "sagemaker-local.json")
    assert spec.name == "local-mnist-1"
    assert spec.program.command == ["python", "train.py"]
    assert spec.program.working_dir == str(FIXTURES)
    assert spec.program.env == {"OMP_NUM_THREADS": "1", "LOG_LEVEL": "debug"}
    assert spec.program.channels == {"train": str(FIXTURES / "data" / "train"),
                                     "test": str(FIXTURES / "data" / "train")}
    assert spec.static_hyperparameters == {"backend": "gloo", "dropout": 0.25, "use_bias": "True"}
    ranges = spec.hyperparameter_ranges
    assert ranges["lr"].scaling == "logarithmic" and ranges["lr"].min_value == 0.0001
    assert ranges["epochs"].type == "integer" and ranges["epochs"].max_value == 10
    assert ranges["batch-size"].values == ["32", "64", 128]
    assert spec.objective.metric == "validation:loss" and spec.objective.type == "minimize"
    assert spec.early_stopping == "auto"
    assert spec.limits.max_jobs == 12 and spec.limits.max_parallel_jobs == 3
    assert spec.limits.max_runtime_s == 7200 and spec.limits.timeout_s == 900
    assert spec.completion.target_value == 0.05 and spec.completion.max_jobs_not_improving == 4
    assert spec.completion.convergence == "auto"
    assert spec.random_seed == 42
    assert spec.warm_start.parents == ["local-mnist-0"]
    ignored = spec.warnings[0]
    for member in ("RoleArn", "ResourceConfig", "Tags", "TrainingImage", "sagemaker_program",
                   "_tuning_objective_metric"):
        assert member in ignored
    assert len(spec.warnings) == 1  # the S3 channel is replaced by a local one


def test_command_line_overrides_hyperjob_program(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = load_spec(FIXTURES / "sagemaker-local.json", command=["python", "other.py"])
    assert spec.program.command == ["python", "other.py"]
    assert spec.program.working_dir == str(tmp_path)


def test_request_without_program_is_refused_with_both_fixes():
    data = request()
    del data["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_program"]
    with pytest.raises(SpecError) as err:
        load_sagemaker_request(data, source="request.json")
    message = str(err.value)
    assert message.startswith("request.json: HyperjobProgram.Command: ")
    assert "-- python train.py" in message and '"HyperjobProgram"' in message


def test_script_mode_entry_point_next_to_the_request_is_run(tmp_path):
    (tmp_path / "mnist.py").write_text("print('hi')\n")
    spec = load_sagemaker_request(request(), source="r.json", base_dir=tmp_path)
    assert spec.program.command == [sys.executable, "mnist.py"]
    assert spec.program.working_dir == str(tmp_path)
    assert any("sagemaker_program 'mnist.py'" in w for w in spec.warnings)


def test_script_mode_entry_point_missing_is_named_in_the_error(tmp_path):
    with pytest.raises(SpecError, match=r"sagemaker_program 'mnist.py'.* not next to the request .*--submit-dir DIR"):
        load_sagemaker_request(request(), source="r.json", base_dir=tmp_path)


def test_validate_mode_accepts_a_request_without_program():
    data = request()
    del data["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_program"]
    spec = load_sagemaker_request(data, require_program=False)
    assert spec.program.command == ["<no command given>"]


def test_local_and_file_uri_channels(tmp_path):
    (tmp_path / "train").mkdir()
    data = request()
    data["TrainingJobDefinition"]["InputDataConfig"] = [
        {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "train"}}},
        {"ChannelName": "val", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                                 "S3Uri": f"file://{tmp_path}/val%20set"}}},
        {"ChannelName": "test", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/t"}}},
    ]
    spec = load(data, base_dir=tmp_path)
    assert spec.program.channels == {"train": str(tmp_path / "train"), "val": f"{tmp_path}/val set",
                                     "test": "s3://b/t"}  # an S3 channel is kept, fetched when the tuning starts
    assert not any("s3://b/t" in w for w in spec.warnings)
    assert any("val=" in w and "does not exist" in w for w in spec.warnings)


def test_several_definitions_pick_by_name():
    data = request()
    definition = data.pop("TrainingJobDefinition")
    config = data["HyperParameterTuningJobConfig"]
    objective = config.pop("HyperParameterTuningJobObjective")
    ranges = config.pop("ParameterRanges")
    first = {**copy.deepcopy(definition), "DefinitionName": "one", "TuningObjective": objective,
             "HyperParameterRanges": ranges}
    second = copy.deepcopy(first)
    second["DefinitionName"] = "two"
    second["HyperParameterRanges"] = {"IntegerParameterRanges": [{"Name": "k", "MinValue": "1", "MaxValue": "9"}]}
    data["TrainingJobDefinitions"] = [first, second]
    spec = load(data)
    assert list(spec.hyperparameter_ranges) == ["lr", "batch-size"]
    assert any("tunes 'one' and ignores 'two'" in w for w in spec.warnings)
    data["HyperjobProgram"] = {"DefinitionName": "two"}
    spec = load(data)
    assert list(spec.hyperparameter_ranges) == ["k"]
    assert any("tunes 'two' and ignores 'one'" in w for w in spec.warnings)
    data["HyperjobProgram"] = {"DefinitionName": "three"}
    with pytest.raises(SpecError) as err:
        load(data)
    assert err.value.path == "HyperjobProgram.DefinitionName"
    assert "Use one of 'one', 'two'" in str(err.value)


def test_grid_without_max_jobs_runs_every_combination():
    data = request()
    config = data["HyperParameterTuningJobConfig"]
    config["Strategy"] = "Grid"
    del config["ResourceLimits"]["MaxNumberOfTrainingJobs"]
    del config["ParameterRanges"]["ContinuousParameterRanges"]
    config["ParameterRanges"]["CategoricalParameterRanges"].append({"Name": "opt", "Values": ["a", "b", "c"]})
    spec = load(data)
    assert spec.strategy.name == "grid" and spec.limits.max_jobs == 6


def test_warnings_name_unimplemented_members_once():
    data = request()
    data["Tags"] = [{"Key": "k", "Value": "v"}]
    data["TrainingJobDefinition"]["EnableManagedSpotTraining"] = True
    data["TrainingJobDefinition"]["StoppingCondition"]["MaxWaitTimeInSeconds"] = 100
    spec = load(data)
    ignored = [w for w in spec.warnings if "were ignored" in w]
    assert len(ignored) == 1
    for member in ("Tags", "EnableManagedSpotTraining", "MaxWaitTimeInSeconds", "RoleArn", "sagemaker_program"):
        assert member in ignored[0]


def test_objective_metric_without_definition_is_a_warning():
    data = request()
    data["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"][0]["Name"] = "loss"
    spec = load(data)
    assert any("'average test loss' is not among the metric definitions" in w for w in spec.warnings)


@pytest.mark.parametrize(
    "text, value",
    [('"gloo"', "gloo"), ("100", 100), ("0.5", 0.5), ("True", "True"), ("true", True), ("NaN", "NaN"),
     ("[1, 2]", [1, 2]), ("3,224,224", "3,224,224"), ("", "")],
)
def test_hyperparameter_values_decode_like_the_training_toolkit(text, value):
    assert decode_hyperparameter(text) == value


def test_an_augmented_manifest_channel_names_the_label_attribute_for_the_program(tmp_path):
    data = request()
    data["TrainingJobDefinition"]["InputDataConfig"] = [
        {"ChannelName": "train", "DataSource": {"S3DataSource": {
            "S3DataType": "AugmentedManifestFile", "S3Uri": "s3://b/train.manifest",
            "AttributeNames": ["source-ref", "dog-class"]}}}]
    spec = load(data, base_dir=tmp_path)
    assert spec.program.env["HYPERJOB_LABEL_ATTRIBUTE"] == "dog-class"  # read by the built-in classifier
    assert spec.program.channels == {"train": "s3://b/train.manifest"}
    assert not any("AttributeNames" in w for w in spec.warnings)  # used, so not listed as ignored
