"""The 23 real CreateHyperParameterTuningJob requests of ../shared/corpus/sagemaker/requests: the spec each becomes.

Every expectation below is read off the request itself (its JSON), not off hyperjob's output: strategy, objective
and direction, ranges with their scaling, static hyperparameters decoded as SageMaker's training toolkit decodes
them (``json.loads`` when it can, the text otherwise), limits, early stopping, completion criteria, warm-start
parents, the training definition tuned among several, the metric regexes of built-in algorithms, and the one
warning that names the features not run yet (Autotune, further definitions).
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hyperjob.cli.app import app
from hyperjob.errors import SpecError
from hyperjob.formats import load_spec
from hyperjob.formats.builtin_metrics import ALGORITHMS
from hyperjob.formats.sagemaker import load_sagemaker_request
from hyperjob.formats.spec import TuningJobSpec
from _corpus import CORPUS_ROOT, need

CORPUS = CORPUS_ROOT / "sagemaker" / "requests"
FILES = sorted(CORPUS.glob("*.json")) or [CORPUS / "missing-corpus.json"]
NOT_RUN = "not run yet (named here, not silently dropped)"


def by_prefix(prefix: str) -> Path:
    found = [p for p in FILES if p.name.startswith(prefix)]
    return need(found[0] if found else CORPUS / f"{prefix}-missing.json")


def C(lo: float, hi: float, scaling: str | None = None) -> tuple:  # noqa: N802 - table shorthand
    return ("continuous", lo, hi, scaling)


def I(lo: int, hi: int, scaling: str | None = None) -> tuple:  # noqa: N802, E743
    return ("integer", lo, hi, scaling)


def K(*values: Any) -> tuple:  # noqa: N802
    return ("categorical", list(values))


XGB_CHURN = {"eval_metric": "auc", "num_round": 100, "objective": "binary:logistic", "rate_drop": 0.3,
             "tweedie_variance_power": 1.4}
XGB_RANDOM = {"eval_metric": "auc", "objective": "binary:logistic", "num_round": 10, "rate_drop": 0.3,
              "tweedie_variance_power": 1.4}
IC_ADAM_RANGES = {"beta_1": C(1e-6, 0.999), "beta_2": C(1e-6, 0.999), "eps": C(1e-8, 1.0), "gamma": C(1e-8, 0.999),
                  "learning_rate": C(1e-6, 0.5), "momentum": C(0.0, 0.999), "weight_decay": C(0.0, 0.999),
                  "mini_batch_size": I(8, 64)}
IC_WARM_RANGES = {"learning_rate": C(0.0001, 0.05), "momentum": C(0.0, 0.99), "weight_decay": C(0.0, 0.99)}
IC_WARM_STATIC = {"num_layers": 18, "image_shape": "3,224,224", "num_classes": 257, "num_training_samples": 15420,
                  "mini_batch_size": 128, "epochs": 10, "optimizer": "sgd", "top_k": 2, "precision_dtype": "float32",
                  "augmentation_type": "crop"}
AUTOML_STATIC = {"features": "medianIncome housingMedianAge totalRooms totalBedrooms population households latitude "
                             "longitude", "target": "medianHouseValue"}

#: prefix -> what the request says. Keys: strategy, settings, objective, ranges, static (full dict, or a subset
#: with static_count), limits (max_jobs, max_parallel_jobs, max_runtime_s, timeout_s), early_stopping,
#: completion, warm_start, seed, metrics (name -> regex, or an algorithm name), tuned/others (definitions),
#: autotune (the AutoParameters left static).
EXPECTED: dict[str, dict[str, Any]] = {
    "01": dict(strategy="bayesian", objective=("validation:auc", "maximize"),
               ranges={"eta": C(0, 1), "alpha": C(0, 2), "min_child_weight": C(1, 10), "max_depth": I(1, 10)},
               static=XGB_CHURN, limits=(20, 3, None, 43200), seed=123, metrics="xgboost"),
    "02": dict(strategy="bayesian", objective=("validation:auc", "maximize"),
               ranges={"eta": C(0, 1), "min_child_weight": C(1, 10), "alpha": C(0, 2), "max_depth": I(1, 10)},
               static=XGB_CHURN, limits=(20, 3, None, 43200), metrics="xgboost"),
    "03": dict(strategy="bayesian", objective=("loss", "minimize"), ranges={"learning_rate": C(0.0001, 0.001)},
               static={"batch_size": 32, "data_augmentation": "True", "height_shift_range": 0.1,
                       "width_shift_range": 0.1, "epochs": 1},
               limits=(9, 3, None, 43200), metrics={"loss": r"loss: ([0-9\.]+)"}),
    "04": dict(strategy="bayesian", objective=("validation:accuracy", "maximize"), ranges={"enc_dim": I(16, 1024)},
               static={"learning_rate": 0.0004, "mlp_dim": 512, "output_layer": "softmax", "enc0_layers": "auto",
                       "enc0_vocab_file": "", "dropout": 0, "enc1_network": "enc0", "_num_gpus": "auto",
                       "_kvstore": "device"},
               static_count=31, limits=(3, 3, None, 43200), metrics="object2vec"),
    "05": dict(strategy="bayesian", objective=("validation:rmse", "minimize"),
               ranges={"eta": C(0.1, 0.5), "gamma": C(0, 5), "min_child_weight": C(0, 120), "subsample": C(0.5, 1),
                       "alpha": C(0, 2), "max_depth": I(0, 10), "num_round": I(1, 4000)},
               static={"objective": "reg:linear", "verbosity": 2}, limits=(6, 2, None, 43200), metrics="xgboost"),
    "06": dict(strategy="bayesian", objective=("validation:merror", "minimize"),
               ranges={"eta": C(0.1, 0.5), "gamma": C(0, 5), "min_child_weight": C(0, 120), "subsample": C(0.5, 1),
                       "alpha": C(0, 2), "max_depth": I(0, 10), "num_round": I(1, 50)},
               static={"objective": "multi:softmax", "verbosity": 2, "num_class": 10}, limits=(6, 2, None, 86400),
               metrics="xgboost"),
    "07": dict(strategy="bayesian", objective=("validation:auc", "maximize"),
               ranges={"eta": C(0, 1), "alpha": C(0, 2), "min_child_weight": C(1, 10), "max_depth": I(1, 10)},
               static=XGB_CHURN, limits=(20, 3, None, 43200), early_stopping="auto", metrics="xgboost"),
    "08": dict(strategy="bayesian", objective=("validation:accuracy", "maximize"), ranges=IC_ADAM_RANGES,
               static={"num_training_samples": 15420, "num_classes": 257, "num_layers": 18, "image_shape": "3,224,224",
                       "epochs": 2},
               limits=(6, 2, None, 43200), metrics="image-classification"),
    "09": dict(strategy="bayesian", objective=("validation:accuracy", "maximize"), ranges=IC_ADAM_RANGES,
               static={"num_training_samples": 15240, "num_classes": 257, "num_layers": 18, "image_shape": "3,206,206",
                       "epochs": 2},
               limits=(6, 2, None, 43200), metrics="image-classification"),
    "10": dict(strategy="bayesian", objective=("average test loss", "minimize"),
               ranges={"lr": C(0.001, 0.1), "batch-size": K("32", "64", "128", "256", "512")},
               static={"epochs": 1, "backend": "gloo"}, limits=(9, 3, None, 86400),
               metrics={"average test loss": r"Test set: Average loss: ([0-9\.]+)"}, script="mnist.py"),
    "11": dict(strategy="bayesian", objective=("median-AE", "minimize"),
               ranges={"n-estimators": I(20, 100), "min-samples-leaf": I(2, 6)},
               static={"features": "MedInc HouseAge AveRooms AveBedrms Population AveOccup Latitude Longitude",
                       "target": "target"},
               limits=(10, 2, None, 86400), metrics={"median-AE": r"AE-at-50th-percentile: ([0-9.]+).*$"},
               script="script.py"),
    "12": dict(strategy="bayesian", objective=("validation:accuracy", "maximize"), ranges=IC_WARM_RANGES,
               static=IC_WARM_STATIC, limits=(5, 2, None, 86400), metrics="image-classification"),
    "13": dict(strategy="bayesian", objective=("validation:accuracy", "maximize"), ranges=IC_WARM_RANGES,
               static=IC_WARM_STATIC, limits=(5, 2, None, 86400), metrics="image-classification",
               warm_start=("identical_data_and_algorithm", ["image-classification-240101-0000"])),
    "14": dict(strategy="bayesian", objective=("validation:accuracy", "maximize"), ranges=IC_WARM_RANGES,
               static={**IC_WARM_STATIC, "augmentation_type": "crop_color_transform"}, limits=(5, 2, None, 86400),
               metrics="image-classification",
               warm_start=("transfer_learning", ["image-classification-240101-0000", "warmstart-240101-0000"])),
    "15": dict(strategy="hyperband", settings={"min_resource": 1, "max_resource": 30},
               objective=("validation:auc", "maximize"),
               ranges={"eta": C(0, 1), "min_child_weight": C(1, 10), "alpha": C(0, 2), "colsample_bylevel": C(0, 1),
                       "colsample_bytree": C(0, 1), "num_round": I(100, 200), "max_depth": I(1, 10)},
               static={"eval_metric": "auc", "objective": "binary:logistic", "rate_drop": 0.0, "tree_method": "exact"},
               limits=(30, 4, None, 86400), metrics="xgboost"),
    "16": dict(strategy="random", objective=("validation:auc", "maximize"),
               ranges={"alpha": C(0.01, 10, "logarithmic"), "lambda": C(0.01, 10, "logarithmic")},
               static=XGB_RANDOM, limits=(5, 5, None, 86400), metrics="xgboost"),
    "17": dict(strategy="random", objective=("validation:auc", "maximize"),
               ranges={"alpha": C(0.01, 10, "linear"), "lambda": C(0.01, 10, "linear")},
               static=XGB_RANDOM, limits=(5, 5, None, 86400), metrics="xgboost"),
    "18": dict(strategy="bayesian", objective=("validation:accuracy", "maximize"),
               ranges={"learning_rate": C(1e-05, 1.0), "optimizer": K("sgd", "adam", "rmsprop", "nag"),
                       "mini_batch_size": I(16, 64)},
               static={"num_layers": 18, "image_shape": "3,224,224", "num_classes": 257, "epochs": 10, "top_k": 2,
                       "num_training_samples": 15420, "precision_dtype": "float32", "augmentation_type": "crop"},
               limits=(10, 2, None, 86400), early_stopping="auto", metrics="image-classification"),
    "19": dict(strategy="bayesian", objective=("validation:auc", "maximize"), ranges={},
               static={"max_depth": 5, "eta": 0.1, "gamma": 8, "min_child_weight": 2, "subsample": 0.5,
                       "num_round": 50},
               limits=(50, 5, 3600, 3600), early_stopping="auto", metrics="xgboost",
               autotune={"max_depth": 5, "eta": 0.1, "gamma": 8, "min_child_weight": 2, "subsample": 0.5,
                         "num_round": 50}),
    "20": dict(strategy="bayesian", objective=("test:rmse", "minimize"),
               ranges={"factors_wd": C(1, 30), "factors_lr": C(40, 50)},
               static={"num_factors": 10, "feature_dim": 784, "mini_batch_size": 100, "predictor_type": "regressor"},
               limits=(2, 2, None, 86400), metrics="factorization-machines", tuned="fm-one", others=["knn-two"]),
    "21": dict(strategy="bayesian", objective=("test:rmse", "minimize"),
               ranges={"factors_wd": C(1, 30), "factors_lr": C(40, 50)},
               static={"num_factors": 10, "predictor_type": "regressor", "feature_dim": 784, "mini_batch_size": 100},
               limits=(2, 2, None, 86400), metrics="factorization-machines", tuned="fm-one", others=["knn-two"],
               autotune={"feature_dim": 784, "mini_batch_size": 100}),
    "22": dict(strategy="bayesian", objective=("RMSE", "minimize"),
               ranges={"max_features": K("auto", "sqrt", "log2"), "n_estimators": I(100, 2000, "linear"),
                       "max_depth": I(1, 100, "logarithmic"), "min_samples_leaf": I(1, 6, "linear"),
                       "min_samples_split": I(2, 20, "linear")},
               static=AUTOML_STATIC, limits=(100, 10, 3600, 86400), completion={"max_jobs_not_improving": 20},
               metrics={"RMSE": r"RMSE: ([0-9.]+).*$"}, tuned="estimator-rf-mean-imp-scale",
               others=["estimator-rf-mean-imp-scale-knn", "estimator-rf-mean-imp-scale-pca"],
               script="script-rf-mean-imp-scale-pca.py"),
    "23": dict(strategy="bayesian", objective=("RMSE", "minimize"),
               ranges={"alpha": C(0.0001, 1, "logarithmic"), "l1_ratio": C(0, 1)},
               static=AUTOML_STATIC, limits=(100, 10, 3600, 86400), completion={"max_jobs_not_improving": 20},
               metrics={"RMSE": r"RMSE: ([0-9.]+).*$"}, tuned="estimator-en-mean-imp-scale",
               others=["estimator-en-mean-imp-scale-knn", "estimator-en-mean-imp-scale-pca"],
               script="script-en-mean-imp-scale-pca.py"),
}


def load(path: Path) -> TuningJobSpec:
    return load_spec(path, command=["python", "train.py"])


def ranges_of(spec: TuningJobSpec) -> dict[str, tuple]:
    out: dict[str, tuple] = {}
    for name, r in spec.hyperparameter_ranges.items():
        if r.type == "categorical":
            out[name] = ("categorical", list(r.values))
        else:
            out[name] = (r.type, r.min_value, r.max_value, r.scaling)
    return out


def test_the_corpus_holds_the_23_requests():
    need(FILES[0])
    assert [p.name[:2] for p in FILES] == sorted(EXPECTED) and len(FILES) == 23


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:2])
def test_each_request_becomes_the_spec_it_describes(path):
    spec = load(need(path))
    raw = json.loads(path.read_text())
    want = EXPECTED[path.name[:2]]
    assert spec.name == raw["HyperParameterTuningJobName"] and spec.source_format == "sagemaker"
    assert spec.strategy.name == want["strategy"]
    assert spec.strategy.settings == want.get("settings", {})
    assert (spec.objective.metric, spec.objective.type) == want["objective"]
    got = ranges_of(spec)
    assert got == want["ranges"]
    assert list(got) == list(want["ranges"])  # SageMaker's order within each kind is kept
    if "static_count" in want:
        assert len(spec.static_hyperparameters) == want["static_count"]
        assert {k: spec.static_hyperparameters[k] for k in want["static"]} == want["static"]
    else:
        assert spec.static_hyperparameters == want["static"]
    limits = spec.limits
    assert (limits.max_jobs, limits.max_parallel_jobs, limits.max_runtime_s, limits.timeout_s) == want["limits"]
    assert spec.early_stopping == want.get("early_stopping", "off")
    completion = {k: v for k, v in spec.completion.model_dump().items() if v not in (None, "off")}
    assert completion == want.get("completion", {})
    assert spec.random_seed == want.get("seed")
    if "warm_start" in want:
        assert (spec.warm_start.type, spec.warm_start.parents) == want["warm_start"]
    else:
        assert spec.warm_start is None
    TuningJobSpec.from_json(spec.to_json())  # what the store keeps reads back
    spec.build_space()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:2])
def test_each_request_reads_its_objective_from_the_right_regex(path):
    spec = load(need(path))
    want = EXPECTED[path.name[:2]]["metrics"]
    got = {d.name: d.regex for d in spec.metric_definitions}
    if isinstance(want, str):  # a built-in algorithm: its own regex for the objective
        metric = spec.objective.metric
        assert got == {metric: ALGORITHMS[want].metric(metric).regex}
        assert any(f"built-in algorithm {want!r}, which sends no MetricDefinitions" in w for w in spec.warnings)
    else:
        assert got == want


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:2])
def test_features_not_run_are_named_in_one_warning(path):
    spec = load(need(path))
    want = EXPECTED[path.name[:2]]
    not_run = [w for w in spec.warnings if w.startswith(NOT_RUN)]
    expected_parts = []
    if "others" in want:
        expected_parts.append(f"so it tunes {want['tuned']!r} and ignores {', '.join(map(repr, want['others']))}")
    if "autotune" in want:
        shown = ", ".join(f"{k}={v!r}" for k, v in want["autotune"].items())
        expected_parts.append(f"Autotune is not implemented yet: hyperjob tunes the ranges given and keeps the "
                              f"strategy and limits of the request; AutoParameters stay static at their ValueHint "
                              f"({shown})")
    if not expected_parts:
        assert not_run == []
        return
    assert len(not_run) == 1
    for part in expected_parts:
        assert part in not_run[0]
    assert not any("Autotune" in w for w in spec.warnings if w is not not_run[0])


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:2])
def test_validate_accepts_every_request_without_a_program(path):
    result = CliRunner().invoke(app, ["validate", str(need(path))])
    assert result.exit_code == 0, result.output
    assert "a valid sagemaker spec" in result.output
    assert "Traceback" not in result.output


def test_the_definition_named_in_hyperjobprogram_is_tuned():
    raw = json.loads(by_prefix("21").read_text())
    raw["HyperjobProgram"] = {"DefinitionName": "knn-two"}
    spec = load_sagemaker_request(raw, source="21.json", command=["python", "knn.py"])
    assert (spec.objective.metric, spec.objective.type) == ("test:mse", "minimize")
    assert ranges_of(spec) == {"k": I(3, 400), "sample_size": I(40, 550)}
    assert spec.static_hyperparameters == {"mini_batch_size": 100, "predictor_type": "regressor", "feature_dim": 784}
    knn_mse = ALGORITHMS["knn"].metric("test:mse").regex
    assert [(d.name, d.regex) for d in spec.metric_definitions] == [("test:mse", knn_mse)]
    assert any("so it tunes 'knn-two' and ignores 'fm-one'" in w for w in spec.warnings)


# -- script mode: the local source directory ---------------------------------------------------------------------
@pytest.mark.parametrize("prefix", ["10", "11", "22", "23"])
def test_script_mode_requests_run_their_entry_point_from_the_submit_dir(prefix, tmp_path):
    path = by_prefix(prefix)
    script = EXPECTED[prefix]["script"]
    (tmp_path / script).write_text("print('ok')\n")
    spec = load_spec(path, submit_dir=tmp_path)
    assert spec.program.command[1:] == [script] and os.path.isabs(spec.program.command[0])
    assert spec.program.working_dir == str(tmp_path)


def test_script_mode_request_without_submit_dir_says_how_to_give_it():
    with pytest.raises(SpecError) as err:
        load_spec(by_prefix("11"))
    message = str(err.value)
    assert "StaticHyperParameters.sagemaker_program" in message and "'script.py'" in message
    assert "--submit-dir DIR" in message and "s3://" in message


def test_submit_dir_without_the_entry_point_is_refused(tmp_path):
    (tmp_path / "other.py").write_text("")
    with pytest.raises(SpecError, match=r"has no 'script.py', the request's sagemaker_program \(it has: other.py\)"):
        load_spec(by_prefix("11"), submit_dir=tmp_path)
    with pytest.raises(SpecError, match=r"is not a directory"):
        load_spec(by_prefix("11"), submit_dir=tmp_path / "nope")


def test_submit_dir_with_a_command_or_without_sagemaker_program_is_refused(tmp_path):
    with pytest.raises(SpecError, match=r"both --submit-dir .* and a command after '--'"):
        load_spec(by_prefix("11"), submit_dir=tmp_path, command=["python", "x.py"])
    with pytest.raises(SpecError, match=r"the request names none: StaticHyperParameters has no sagemaker_program"):
        load_spec(by_prefix("01"), submit_dir=tmp_path)


def test_a_local_sagemaker_submit_directory_is_used(tmp_path):
    raw = json.loads(by_prefix("11").read_text())
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "script.py").write_text("")
    raw["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_submit_directory"] = json.dumps("src")
    spec = load_sagemaker_request(raw, base_dir=tmp_path)
    assert spec.program.working_dir == str(tmp_path / "src") and spec.program.command[1:] == ["script.py"]


def test_cli_validate_takes_submit_dir(tmp_path):
    (tmp_path / "script.py").write_text("")
    result = CliRunner().invoke(app, ["validate", str(by_prefix("11")), "--submit-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert re.search(r"program:\s+\S*python\S* script\.py", result.output)
    assert "before running" not in result.output


# -- built-in algorithms -----------------------------------------------------------------------------------------
def test_an_objective_the_builtin_algorithm_does_not_compute_is_refused():
    raw = copy.deepcopy(json.loads(by_prefix("01").read_text()))
    raw["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["MetricName"] = "validation:aucc"
    with pytest.raises(SpecError) as err:
        load_sagemaker_request(raw, source="r.json", command=["python", "x.py"])
    message = str(err.value)
    assert message.startswith("r.json: HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName: ")
    assert "Did you mean 'validation:auc'?" in message and "add MetricDefinitions" in message


def test_an_unknown_builtin_algorithm_says_what_to_add():
    raw = copy.deepcopy(json.loads(by_prefix("01").read_text()))
    algo = raw["TrainingJobDefinition"]["AlgorithmSpecification"]
    algo["TrainingImage"] = "174872318107.dkr.ecr.us-west-2.amazonaws.com/linear-learner:1"
    spec = load_sagemaker_request(raw, command=["python", "x.py"])
    assert spec.metric_definitions == []
    (warning,) = [w for w in spec.warnings if "linear-learner" in w]
    assert "are not shipped with hyperjob" in warning and "Add MetricDefinitions to AlgorithmSpecification" in warning
    assert '"Name": "validation:auc"' in warning and "hyperjob.report" in warning


def test_object2vec_regexes_are_flagged_as_unconfirmed():
    spec = load(by_prefix("04"))
    assert any("no published object2vec log confirms them" in w for w in spec.warnings)
    assert not any("log confirms them" in w for w in load(by_prefix("20")).warnings)


# -- image-classification: hyperjob ships its own ---------------------------------------------------------------
@pytest.mark.parametrize("prefix", ["08", "09", "12", "13", "14", "18"])
def test_image_classification_requests_run_hyperjobs_own_algorithm(prefix):
    spec = load_spec(by_prefix(prefix))  # no command, no HyperjobProgram: the image stands for our algorithm
    assert spec.program.algorithm == "image-classification"
    assert spec.program.command[1:] == ["-m", "hyperjob.algorithms.image_classification"]
    assert any("runs its own built-in algorithm of that name" in w for w in spec.warnings)
    with_command = load_spec(by_prefix(prefix), command=["python", "mine.py"])
    assert with_command.program.algorithm is None and with_command.program.command == ["python", "mine.py"]


def test_other_builtin_images_need_a_command():
    with pytest.raises(SpecError, match=r"HyperjobProgram\.Command: the request names no local program to run"):
        load_spec(by_prefix("01"))


def test_submit_dir_is_refused_for_a_native_spec(tmp_path):
    (tmp_path / "job.yaml").write_text("name: j\nprogram: {command: [python, t.py]}\n"
                                       "objective: {metric: m, type: min}\n"
                                       "hyperparameter_ranges: {x: {min: 0, max: 1}}\nlimits: {max_jobs: 2}\n")
    with pytest.raises(SpecError, match=r"submit_dir: --submit-dir applies to a SageMaker script-mode request"):
        load_spec(tmp_path / "job.yaml", submit_dir=tmp_path)
