"""The image-classification hyperparameter table: every rule of seed 003, the registry and the tuning defaults."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hyperjob.algorithms import ALGORITHMS, BuiltinAlgorithm, get_algorithm
from hyperjob.algorithms.image_classification.hyperparameters import (
    HYPERPARAMETERS,
    LARGE_IMAGE_DEPTHS,
    SMALL_IMAGE_DEPTHS,
    ImageClassificationHyperparameters,
    default_ranges,
    describe_table,
    notes,
    parse_hyperparameters,
)
from hyperjob.errors import SpecError
from hyperjob.formats.spec import build_ranges

REQUIRED = {"num_classes": "10", "num_training_samples": "500"}


def parse(**values: object) -> ImageClassificationHyperparameters:
    return parse_hyperparameters({**REQUIRED, **values})


def test_defaults_are_the_seeds() -> None:
    hp = parse()
    assert (hp.num_classes, hp.num_training_samples) == (10, 500)
    assert hp.augmentation_type is None and hp.checkpoint_frequency is None and hp.kv_store is None
    assert (hp.beta_1, hp.beta_2, hp.eps, hp.gamma) == (0.9, 0.999, 1e-8, 0.9)
    assert (hp.early_stopping, hp.early_stopping_min_epochs, hp.early_stopping_patience,
            hp.early_stopping_tolerance) == (False, 10, 5, 0.0)
    assert (hp.epochs, hp.image_shape, hp.learning_rate, hp.lr_scheduler_factor) == (30, (3, 224, 224), 0.1, 0.1)
    assert (hp.mini_batch_size, hp.momentum, hp.multi_label, hp.num_layers) == (32, 0.9, False, 152)
    assert (hp.optimizer, hp.precision_dtype, hp.resize, hp.top_k) == ("sgd", "float32", None, None)
    assert (hp.use_pretrained_model, hp.use_weighted_loss, hp.weight_decay) == (False, False, 1e-4)
    assert hp.lr_scheduler_step == ()


def test_every_seed_hyperparameter_is_in_the_table() -> None:
    seed = {"num_classes", "num_training_samples", "augmentation_type", "beta_1", "beta_2", "checkpoint_frequency",
            "early_stopping", "early_stopping_min_epochs", "early_stopping_patience", "early_stopping_tolerance",
            "epochs", "eps", "gamma", "image_shape", "kv_store", "learning_rate", "lr_scheduler_factor",
            "lr_scheduler_step", "mini_batch_size", "momentum", "multi_label", "num_layers", "optimizer",
            "precision_dtype", "resize", "top_k", "use_pretrained_model", "use_weighted_loss", "weight_decay"}
    table = {h.name for h in HYPERPARAMETERS if not h.extension}
    assert table == seed
    assert all(f"`{name}`" in describe_table() for name in seed)


def test_strings_and_typed_values_read_alike() -> None:
    from_strings = parse(image_shape="3, 32, 32", lr_scheduler_step="5,10", early_stopping="True", multi_label="1",
                         learning_rate="1e-3", num_layers="20", top_k="3", epochs="12")
    typed = parse(image_shape=[3, 32, 32], lr_scheduler_step=[5, 10], early_stopping=True, multi_label=1,
                  learning_rate=0.001, num_layers=20, top_k=3, epochs=12.0)
    assert from_strings == typed
    assert from_strings.image_shape == (3, 32, 32) and from_strings.lr_scheduler_step == (5, 10)
    assert from_strings.early_stopping is True and from_strings.multi_label is True


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("num_classes", "0", r"num_classes: must be a positive integer, it is too small"),
        ("num_classes", "2.5", r"num_classes: must be a positive integer, a whole number.*got '2.5'"),
        ("num_training_samples", "many", r"num_training_samples: must be a positive integer.*got 'many'"),
        ("augmentation_type", "rotate", r"augmentation_type: must be crop, crop_color or crop_color_transform"),
        ("augmentation_type", "crop_colour", r"Did you mean 'crop_color'"),
        ("beta_1", "1.5", r"beta_1: must be a float in \[0, 1\], it is too large"),
        ("beta_2", "-0.1", r"beta_2: must be a float in \[0, 1\], it is too small"),
        ("eps", "nan", r"eps: must be a float in \[0, 1\]. Give a finite number"),
        ("gamma", "2", r"gamma: must be a float in \[0, 1\]"),
        ("momentum", "1.01", r"momentum: must be a float in \[0, 1\]"),
        ("weight_decay", "-1", r"weight_decay: must be a float in \[0, 1\]"),
        ("learning_rate", "fast", r"learning_rate: must be a float in \[0, 1\]. Give a number"),
        ("lr_scheduler_factor", "3", r"lr_scheduler_factor: must be a float in \[0, 1\]"),
        ("checkpoint_frequency", "0", r"checkpoint_frequency: must be a positive integer <= epochs"),
        ("early_stopping", "yes", r"early_stopping: must be True or False"),
        ("early_stopping_min_epochs", "0", r"early_stopping_min_epochs: must be a positive integer"),
        ("early_stopping_patience", "-2", r"early_stopping_patience: must be a positive integer"),
        ("early_stopping_tolerance", "1.5", r"early_stopping_tolerance: must be a float in \[0, 1\]"),
        ("epochs", "0", r"epochs: must be a positive integer"),
        ("image_shape", "224,224", r"image_shape: .*Write three positive integers, e.g. 3,32,32"),
        ("image_shape", "4,32,32", r"image_shape: .*4 channels is neither grayscale \(1\) nor RGB \(3\)"),
        ("kv_store", "device", r"kv_store: must be dist_sync or dist_async"),
        ("lr_scheduler_step", "20,10", r"lr_scheduler_step: .*the epochs must increase. Use 10,20"),
        ("lr_scheduler_step", "5,x", r"lr_scheduler_step: .*'x' is not an epoch number"),
        ("lr_scheduler_step", "0", r"lr_scheduler_step: .*not a positive whole number"),
        ("mini_batch_size", "0", r"mini_batch_size: must be a positive integer"),
        ("multi_label", "2", r"multi_label: must be 0 or 1"),
        ("num_layers", "19", r"num_layers: must be one of \[18, 34, 50, 101, 152, 200\].*Use e.g. 18"),
        ("optimizer", "adagrad", r"optimizer: must be sgd, adam, rmsprop or nag"),
        ("precision_dtype", "bfloat16", r"precision_dtype: must be float32 or float16"),
        ("resize", "0", r"resize: must be a positive integer"),
        ("top_k", "1", r"top_k: must be an integer > 1"),
        ("use_pretrained_model", "maybe", r"use_pretrained_model: must be 0 or 1"),
        ("use_weighted_loss", "3", r"use_weighted_loss: must be 0 or 1"),
        ("device", "tpu", r"device: must be auto, cpu or cuda"),
    ],
)
def test_each_rule_is_one_clear_error(name: str, value: str, match: str) -> None:
    with pytest.raises(SpecError, match=match) as info:
        parse(**{name: value})
    assert info.value.path == f"hyperparameters.{name}"
    assert repr(value) in str(info.value) or value in str(info.value)


def test_required_ones_are_named() -> None:
    with pytest.raises(SpecError, match="num_classes, num_training_samples are missing"):
        parse_hyperparameters({"epochs": 3})
    with pytest.raises(SpecError, match="num_training_samples are missing"):
        parse_hyperparameters({"num_classes": 3})


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(SpecError, match="no hyperparameter 'learning_rat'. Did you mean 'learning_rate'"):
        parse(learning_rat="0.1")
    # SageMaker's framework keys are not the algorithm's and are ignored
    assert parse(sagemaker_program="x", _tuning_objective_metric="validation:accuracy").epochs == 30


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"checkpoint_frequency": "5", "epochs": "3"}, r"checkpoint_frequency must be at most epochs \(3\), got 5"),
        ({"resize": "100", "image_shape": "3,128,128"}, r"resize \(100\) must be at least .* Use resize >= 128"),
        ({"top_k": "11"}, r"top_k \(11\) must be at most num_classes \(10\)"),
        ({"optimizer": "adam", "beta_1": "1"}, r"beta_1 must be below 1 with the adam optimizer"),
        ({"optimizer": "nag", "momentum": "0"}, r"nag optimizer \(Nesterov momentum\) needs momentum > 0"),
        ({"use_pretrained_model": "1", "num_layers": "20"}, r"use_pretrained_model needs a num_layers from \[18"),
    ],
)
def test_rules_between_hyperparameters(values: dict[str, str], match: str) -> None:
    with pytest.raises(SpecError, match=match):
        parse(**values)


def test_notes_for_values_without_effect() -> None:
    said = " ".join(notes(parse(kv_store="dist_sync", use_weighted_loss="1", epochs="5", lr_scheduler_step="2,8")))
    assert "kv_store 'dist_sync' is ignored" in said
    assert "use_weighted_loss is ignored" in said
    assert "lr_scheduler_step 8 is at or after the last epoch (5)" in said
    assert "top_k is ignored with multi_label 1" in " ".join(notes(parse(top_k="3", multi_label="1")))
    assert notes(parse()) == []


def test_depth_families() -> None:
    for depth in LARGE_IMAGE_DEPTHS:
        assert not parse(num_layers=str(depth)).small_network
    for depth in SMALL_IMAGE_DEPTHS:
        assert parse(num_layers=str(depth)).small_network


def test_default_ranges_fit_the_image_size_and_build() -> None:
    small = default_ranges({"image_shape": "3,32,32"})
    large = default_ranges({"image_shape": "3,224,224"})
    assert small["num_layers"]["values"] == [20, 32, 44, 56]
    assert large["num_layers"]["values"] == [18, 34, 50]
    assert small["learning_rate"]["scaling"] == "logarithmic" and small["weight_decay"]["scaling"] == "logarithmic"
    ranges = {r.name: r for r in build_ranges(small, path="hyperparameter_ranges")}
    assert set(ranges) == {"learning_rate", "mini_batch_size", "momentum", "weight_decay", "optimizer", "num_layers"}
    # every value a default range can produce is valid for the algorithm
    for value in small["num_layers"]["values"] + large["num_layers"]["values"]:
        parse(num_layers=value)
    for optimizer in small["optimizer"]["values"]:
        parse(optimizer=optimizer)
    parse(learning_rate=small["learning_rate"]["max_value"], momentum=small["momentum"]["max_value"],
          weight_decay=small["weight_decay"]["max_value"])
    with pytest.raises(SpecError, match="static_hyperparameters.image_shape"):
        default_ranges({"image_shape": "32x32"})


def test_registry() -> None:
    assert "image-classification" in ALGORITHMS
    algo = get_algorithm("Image_Classification")
    assert isinstance(algo, BuiltinAlgorithm)
    assert algo.objective.metric == "validation:accuracy" and algo.objective.maximize
    assert algo.required == ("num_classes", "num_training_samples")
    assert algo.command("/usr/bin/python3") == ["/usr/bin/python3", "-m", "hyperjob.algorithms.image_classification"]
    names = {d.name for d in algo.metric_definitions}
    assert {"train:accuracy", "validation:accuracy", "train:loss", "validation:top_k_accuracy",
            "train:epoch_time_s", "train:images_per_second"} <= names
    assert "optimizer" not in algo.ranges({"optimizer": "adam"})  # a static one is not tuned
    assert algo.ranges({"image_shape": "3,28,28"})["num_layers"]["values"] == [20, 32, 44, 56]
    with pytest.raises(SpecError, match="no built-in algorithm 'image-clasification'. Did you mean "
                                        "'image-classification'"):
        get_algorithm("image-clasification")


def test_registry_import_is_cheap() -> None:
    code = ("import sys, hyperjob.algorithms as a; a.get_algorithm('image-classification'); "
            "print(sorted(m for m in ('torch', 'PIL', 'pydantic', 'sqlalchemy', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_docs_table_is_the_table() -> None:
    from pathlib import Path

    docs = Path(__file__).parents[3] / "docs" / "image-classification.md"
    assert describe_table() in docs.read_text(encoding="utf-8")
