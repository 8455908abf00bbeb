"""Image-classification training: ResNets, a run that learns, multi-label, lr schedule, early stopping, checkpoints,
the model directory and pretrained weights. Data: scikit-learn's digits written as small PNG files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_digits

from hyperjob.algorithms.image_classification import training
from hyperjob.algorithms.image_classification.hyperparameters import parse_hyperparameters
from hyperjob.algorithms.image_classification.models import build_resnet
from hyperjob.algorithms.image_classification.training import (
    EarlyStopping,
    EpochResult,
    Paths,
    Trainer,
    learning_rate_at,
    train,
)
from hyperjob.errors import SpecError

torch.set_num_threads(1)

CLASSES = 4


def _digits(root: Path, classes: int, per_class: int, multi_label: bool = False) -> None:
    """Train and validation channels of digit images (12x12 RGB); multi-label as .lst files."""
    digits = load_digits()
    for split, part in (("train", slice(0, per_class)), ("validation", slice(per_class, per_class + per_class // 2))):
        lines = []
        for c in range(classes):
            for i in np.where(digits.target == c)[0][part]:
                image = (digits.images[i] * 16).clip(0, 255).astype(np.uint8)
                name = f"{split}/c{c}/{i}.png"
                (root / split / f"c{c}").mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.stack([image] * 3, -1)).resize((12, 12)).save(root / name)
                # labels of the multi-label set: "round digit" (0), "digit >= 1", "digit == 2"
                vector = [int(c == 0), int(c >= 1), int(c == 2)]
                lines.append(f"{len(lines)}\t" + "\t".join(map(str, vector)) + f"\tc{c}/{i}.png")
        if multi_label:
            (root / split / f"{split}.lst").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("digits")
    _digits(root, CLASSES, 30)
    return root


@pytest.fixture(scope="module")
def multi_label_digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("digits_ml")
    _digits(root, 3, 40, multi_label=True)
    return root


def tiny(**values: object):
    base = dict(num_classes=CLASSES, num_training_samples=CLASSES * 30, image_shape="3,10,10", num_layers=20,
                base_channels=8, epochs=3, mini_batch_size=16, optimizer="adam", learning_rate=0.01, seed=1,
                num_workers=0)
    base.update(values)
    return parse_hyperparameters(base)


class Reports:
    """A stand-in for hyperjob.report that keeps the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, dict[str, float]]] = []

    def __call__(self, step: int | None = None, **metrics: float) -> None:
        assert step is not None
        self.calls.append((step, metrics))


def paths(root: Path, **extra: str) -> Paths:
    return Paths(train=str(root / "train"), validation=str(root / "validation"), **extra)


# --------------------------------------------------------------------------------------------------------------
# pure rules


def test_learning_rate_schedule() -> None:
    hp = tiny(learning_rate=0.2, lr_scheduler_step="1,3", lr_scheduler_factor=0.5, epochs=5)
    assert [learning_rate_at(e, hp) for e in range(5)] == pytest.approx([0.2, 0.1, 0.1, 0.05, 0.05])
    assert [learning_rate_at(e, tiny(learning_rate=0.3)) for e in range(3)] == [0.3, 0.3, 0.3]


def test_early_stopping_rule() -> None:
    rule = EarlyStopping(min_epochs=3, patience=2, tolerance=0.0)
    # best 0.6 at epoch 2; epochs 3 and 4 do not improve -> stop at epoch 4 (4 - 2 >= 2, 4 >= 3)
    assert [rule.update(a) for a in (0.5, 0.6, 0.6, 0.55)] == [False, False, False, True]
    # min_epochs holds it back: no improvement after epoch 1, but stopping waits for epoch 5
    rule = EarlyStopping(min_epochs=5, patience=1, tolerance=0.0)
    assert [rule.update(0.5) for _ in range(5)] == [False, False, False, False, True]
    # tolerance: 0.6 -> 0.62 is a relative gain of 3.3%, not more than 5%: no improvement
    rule = EarlyStopping(min_epochs=1, patience=1, tolerance=0.05)
    assert [rule.update(a) for a in (0.6, 0.62)] == [False, True]
    rule = EarlyStopping(min_epochs=1, patience=1, tolerance=0.05)
    assert [rule.update(a) for a in (0.6, 0.64)] == [False, False]


# --------------------------------------------------------------------------------------------------------------
# networks


def test_resnets_match_the_reference_parameter_counts() -> None:
    # torchvision's resnet18 / resnet50 with 1000 classes: 11,689,512 and 25,557,032 parameters
    for depth, count in ((18, 11_689_512), (50, 25_557_032)):
        model = build_resnet(depth, 1000)
        assert sum(p.numel() for p in model.parameters()) == count
    keys = build_resnet(18, 10).state_dict().keys()
    assert {"conv1.weight", "bn1.running_mean", "layer4.1.bn2.weight", "layer2.0.downsample.0.weight",
            "fc.weight"} <= set(keys)


@pytest.mark.parametrize("depth", [20, 32, 44, 56, 110, 34, 101, 152, 200])
def test_every_depth_builds_and_runs(depth: int) -> None:
    model = build_resnet(depth, 5, in_channels=1, base_channels=2).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, 1, 16, 16))
    assert tuple(out.shape) == (2, 5)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    three = sum(1 for m in convs if m.kernel_size == (3, 3))
    blocks = sum(len(getattr(model, f"layer{i}")) for i in range(1, model.num_stages + 1))
    # the depth counts the stem, the 3x3 (and bottleneck 1x1) convolutions on the main path and fc
    if depth in (20, 32, 44, 56, 110):
        assert three == depth - 1 and blocks == (depth - 2) // 2
    elif depth == 34:
        assert three == depth - 2 and blocks == 16
    else:
        assert 3 * blocks + 2 == depth and three == blocks


# --------------------------------------------------------------------------------------------------------------
# training runs


def test_a_short_run_learns_and_reports_every_epoch(digits: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    reports = Reports()
    result = train(tiny(top_k=2), paths(digits, model_dir=str(tmp_path / "model")), report=reports)
    out = capsys.readouterr().out
    accuracies = [e["validation:accuracy"] for e in result.epochs]
    assert len(accuracies) == 3
    assert accuracies[-1] > 0.6, accuracies  # chance is 1/4
    assert [step for step, _ in reports.calls] == [0, 1, 2]
    # each reported value is the number printed in the MXNet-shaped log line
    for step, metrics in reports.calls:
        assert f"Epoch[{step}] Validation-accuracy={metrics['validation:accuracy']:.6f}" in out
        assert f"Epoch[{step}] Train-accuracy={metrics['train:accuracy']:.6f}" in out
        assert f"Epoch[{step}] Train-loss={metrics['train:loss']:.6f}" in out
        assert f"Epoch[{step}] Validation-top_k_accuracy_2={metrics['validation:top_k_accuracy']:.6f}" in out
        assert re.search(rf"Epoch\[{step}\] Time cost=\d+\.\d{{3}}", out)
        assert re.search(rf"Epoch\[{step}\] Speed: \d+\.\d\d samples/sec", out)
        assert metrics["validation:top_k_accuracy"] >= metrics["validation:accuracy"]
        assert metrics["train:images_per_second"] > 0 and metrics["train:epoch_time_s"] > 0
    # the model directory: weights that load into the same network, the hyperparameters and the class names
    model_dir = tmp_path / "model"
    assert json.loads((model_dir / "classes.json").read_text()) == ["c0", "c1", "c2", "c3"]
    assert json.loads((model_dir / "hyperparameters.json").read_text())["num_layers"] == 20
    info = json.loads((model_dir / "model-info.json").read_text())
    assert info["epochs_trained"] == 3 and info["final_metrics"]["validation:accuracy"] == accuracies[-1]
    model = build_resnet(20, CLASSES, 3, 8)
    model.load_state_dict(torch.load(model_dir / "model.pt", weights_only=True))


def test_the_metric_definitions_read_the_log_lines(digits: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hyperjob.algorithms.image_classification.hyperparameters import METRIC_DEFINITIONS
    from hyperjob.executors.metrics import MetricParser

    reports = Reports()
    train(tiny(epochs=1, top_k=3), paths(digits), report=reports)
    parser = MetricParser(METRIC_DEFINITIONS)
    values = parser.feed_lines(capsys.readouterr().out.splitlines())
    from_log = {v.name: v.value for v in values}
    step, reported = reports.calls[0]
    assert from_log == reported  # the same names and the same numbers, so the store keeps each value once
    assert all(v.step == step for v in values)


def test_multi_label_with_weighted_loss(multi_label_digits: Path) -> None:
    hp = tiny(num_classes=3, num_training_samples=120, multi_label=1, use_weighted_loss=1, epochs=3)
    reports = Reports()
    result = train(hp, paths(multi_label_digits), report=reports)
    last = result.epochs[-1]
    assert last["validation:accuracy"] > 0.8, result.epochs  # mean per-label accuracy
    assert 0.0 < last["validation:f1"] <= 1.0
    assert "validation:top_k_accuracy" not in last


def test_class_weights_follow_the_label_distribution(multi_label_digits: Path) -> None:
    from hyperjob.algorithms.image_classification.data import load_channel

    hp = tiny(num_classes=3, num_training_samples=120, multi_label=1, use_weighted_loss=1)
    data = load_channel("train", multi_label_digits / "train", hp)
    weights = training._class_weights(data, hp)
    # labels: 40 of 120 are "round", 80 are ">= 1", 40 are "== 2": negatives / positives
    assert weights.tolist() == pytest.approx([2.0, 0.5, 2.0])
    assert training._class_weights(data, tiny(num_classes=3, multi_label=1)) is None


def test_the_learning_rate_follows_the_schedule_in_a_run(digits: Path) -> None:
    reports = Reports()
    hp = tiny(epochs=3, learning_rate=0.02, lr_scheduler_step="1,2", lr_scheduler_factor=0.5, optimizer="sgd")
    seen: list[float] = []
    def spy(self: Trainer, batches):  # the rate the optimizer actually uses in each epoch
        seen.append(self.optimizer.param_groups[0]["lr"])
        return EpochResult(1.0, 0.5, 10, 0.1)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Trainer, "train_epoch", spy)
        train(hp, paths(digits), report=reports)
    assert seen == pytest.approx([0.02, 0.01, 0.005])
    assert [m["train:learning_rate"] for _, m in reports.calls] == pytest.approx([0.02, 0.01, 0.005])


@pytest.mark.parametrize("early_stopping", [True, False])
def test_early_stopping_in_a_controlled_run(digits: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str], early_stopping: bool) -> None:
    accuracies = iter([0.5, 0.6, 0.6, 0.59, 0.7, 0.7, 0.7, 0.7])
    monkeypatch.setattr(Trainer, "evaluate", lambda self, batches, top_k=None: {"loss": 1.0,
                                                                                 "accuracy": next(accuracies)})
    monkeypatch.setattr(Trainer, "train_epoch", lambda self, batches: EpochResult(1.0, 0.5, 10, 0.1))
    hp = tiny(epochs=8, early_stopping=early_stopping, early_stopping_min_epochs=3, early_stopping_patience=2,
              learning_rate=0.0)
    result = train(hp, paths(digits, model_dir=str(tmp_path / "model")), report=Reports())
    out = capsys.readouterr().out
    if early_stopping:
        # best 0.6 at epoch 1 (0-based); epochs 2 and 3 do not improve -> stop after epoch 3
        assert [e["validation:accuracy"] for e in result.epochs] == [0.5, 0.6, 0.6, 0.59]
        assert result.stopped_early
        assert "early stopping after epoch 3" in out and "best 0.600000 at epoch 1" in out
        assert json.loads((tmp_path / "model" / "model-info.json").read_text())["stopped_early"] is True
    else:
        assert len(result.epochs) == 8 and not result.stopped_early


def test_checkpoints_and_resume_give_the_same_training(digits: Path, tmp_path: Path) -> None:
    straight = train(tiny(epochs=3), paths(digits), report=Reports())
    ck = tmp_path / "ck"
    first = train(tiny(epochs=2, checkpoint_frequency=1), paths(digits, checkpoint_dir=str(ck)), report=Reports())
    assert sorted(p.name for p in ck.iterdir()) == ["checkpoint-epoch-0001.pt", "checkpoint-epoch-0002.pt"]
    reports = Reports()
    resumed = train(tiny(epochs=3, checkpoint_frequency=1), paths(digits, checkpoint_dir=str(ck)), report=reports)
    assert resumed.first_epoch == 2 and [s for s, _ in reports.calls] == [2]
    assert (ck / "checkpoint-epoch-0003.pt").is_file()
    # the restored weights, optimizer, data order and random state continue the same run
    def learned(epochs: list[dict[str, float]]) -> list[dict[str, float]]:
        return [{k: v for k, v in e.items() if k not in ("train:epoch_time_s", "train:images_per_second")}
                for e in epochs]

    assert learned(first.epochs + resumed.epochs) == learned(straight.epochs)


def test_default_checkpoint_keeps_the_best_epoch(digits: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    accuracies = iter([0.5, 0.7, 0.6])
    monkeypatch.setattr(Trainer, "evaluate", lambda self, batches, top_k=None: {"loss": 1.0,
                                                                                 "accuracy": next(accuracies)})
    monkeypatch.setattr(Trainer, "train_epoch", lambda self, batches: EpochResult(1.0, 0.5, 10, 0.1))
    ck = tmp_path / "ck"
    train(tiny(epochs=3), paths(digits, checkpoint_dir=str(ck)), report=Reports())
    assert [p.name for p in ck.iterdir()] == ["checkpoint-epoch-0002.pt"]  # epoch 2 had the best accuracy


def test_a_checkpoint_of_another_network_is_refused(digits: Path, tmp_path: Path) -> None:
    ck = tmp_path / "ck"
    train(tiny(epochs=1, checkpoint_frequency=1), paths(digits, checkpoint_dir=str(ck)), report=Reports())
    with pytest.raises(SpecError, match=r"is of another network \(num_layers=20; now num_layers=32\)"):
        train(tiny(epochs=2, num_layers=32), paths(digits, checkpoint_dir=str(ck)), report=Reports())


def test_pretrained_weights_from_a_local_file(digits: Path, tmp_path: Path) -> None:
    source = build_resnet(18, 7, 3, 4)
    torch.save(source.state_dict(), tmp_path / "resnet18.pt")
    hp = tiny(num_layers=18, base_channels=4, use_pretrained_model=1)
    trainer = Trainer(hp)
    loaded = training._load_pretrained(trainer, Paths(pretrained=str(tmp_path)), hp)
    assert loaded.endswith("resnet18.pt")
    assert torch.equal(trainer.model.layer3[0].conv1.weight, source.layer3[0].conv1.weight)
    assert trainer.model.fc.out_features == CLASSES  # the last layer is new
    with pytest.raises(SpecError, match="use_pretrained_model 1 needs pretrained weights.*channel named 'pretrained'"):
        training._load_pretrained(trainer, Paths(), hp)
    with pytest.raises(SpecError, match=r"do not fit ResNet-18: \d+ tensors are missing or of another shape"):
        other = tiny(num_layers=18, base_channels=8, use_pretrained_model=1)
        training._load_pretrained(Trainer(other), Paths(pretrained=str(tmp_path / "resnet18.pt")), other)
    with pytest.raises(SpecError, match="use_pretrained_model 1 needs pretrained weights"):
        train(hp, paths(digits), report=Reports())


def test_missing_channels(digits: Path) -> None:
    with pytest.raises(SpecError, match="there is no validation channel"):
        train(tiny(), Paths(train=str(digits / "train")), report=Reports())
    with pytest.raises(SpecError, match="there is no train channel"):
        train(tiny(), Paths(), report=Reports())


def test_float16_on_a_cpu_trains_in_float32_and_says_so(digits: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = train(tiny(epochs=1, precision_dtype="float16", optimizer="rmsprop", learning_rate=0.001),
                   paths(digits), report=Reports())
    assert result.autocast_dtype is None
    assert "precision_dtype float16 needs a GPU for mixed precision; training in float32" in capsys.readouterr().out


@pytest.mark.parametrize("optimizer", ["sgd", "nag", "adam", "rmsprop"])
def test_optimizers_use_their_hyperparameters(optimizer: str) -> None:
    hp = tiny(optimizer=optimizer, momentum=0.8, weight_decay=0.01, beta_1=0.7, beta_2=0.9, eps=1e-6, gamma=0.95)
    opt = Trainer(hp).optimizer
    group = opt.param_groups[0]
    if optimizer in ("sgd", "nag"):
        assert isinstance(opt, torch.optim.SGD)
        assert (group["momentum"], group["weight_decay"], group["nesterov"]) == (0.8, 0.01, optimizer == "nag")
    elif optimizer == "adam":
        assert isinstance(opt, torch.optim.Adam)
        assert (group["betas"], group["eps"], group["weight_decay"]) == ((0.7, 0.9), 1e-6, 0)
    else:
        assert isinstance(opt, torch.optim.RMSprop)
        assert (group["alpha"], group["eps"], group["weight_decay"]) == (0.95, 1e-6, 0)


class _Crafted:
    """A pickle that would create a file when unpickled (what a crafted checkpoint could do, harmlessly)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_crafted_pickle_checkpoint_is_refused_and_runs_nothing(digits: Path, tmp_path: Path) -> None:
    ck = tmp_path / "ck"
    ck.mkdir()
    marker = tmp_path / "code-ran"
    torch.save({"epochs_done": 1, "payload": _Crafted(marker)}, ck / "checkpoint-epoch-0001.pt")
    with pytest.raises(SpecError, match=r"holds objects other than tensors and plain data, so it is not loaded"):
        train(tiny(epochs=2), paths(digits, checkpoint_dir=str(ck)), report=Reports())
    assert not marker.exists()
