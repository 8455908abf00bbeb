"""The training loop: optimizer, learning-rate schedule, mixed precision, metrics, early stopping, checkpoints.

:class:`Trainer` holds the model and runs epochs over any iterable of ``(uint8 images, targets)`` batches, so the
benchmark can feed it synthetic data on the device. :func:`train` runs a whole training job: data, model,
epochs, log lines, ``hyperjob.report``, checkpoints, resume and the final model.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import torch
from torch import nn

from hyperjob.algorithms._checkpointing import save_atomic, sigterm_held
from hyperjob.algorithms.image_classification.data import DataSet, ImageDataError, ImageDataset, load_channel
from hyperjob.algorithms.image_classification.hyperparameters import ImageClassificationHyperparameters, notes
from hyperjob.algorithms.image_classification.models import build_resnet
from hyperjob.errors import SpecError

__all__ = [
    "EarlyStopping",
    "EpochResult",
    "Paths",
    "Trainer",
    "TrainingResult",
    "learning_rate_at",
    "train",
]

_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def learning_rate_at(epoch: int, hp: ImageClassificationHyperparameters) -> float:
    """The learning rate of 0-based ``epoch``: multiplied by ``lr_scheduler_factor`` after each epoch number in
    ``lr_scheduler_step`` (``10,20``: epochs 0-9 at the initial rate, 10-19 at rate x factor, then x factor^2).

    >>> from hyperjob.algorithms.image_classification.hyperparameters import parse_hyperparameters
    >>> hp = parse_hyperparameters({"num_classes": 2, "num_training_samples": 10, "learning_rate": 0.1,
    ...                             "lr_scheduler_step": "2,4", "lr_scheduler_factor": 0.5})
    >>> [learning_rate_at(e, hp) for e in range(6)]
    [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    """
    passed = sum(1 for step in hp.lr_scheduler_step if epoch >= step)
    return hp.learning_rate * hp.lr_scheduler_factor ** passed


@dataclass
class EarlyStopping:
    """SageMaker's rule: after ``min_epochs`` epochs, stop when validation accuracy has not improved for
    ``patience`` epochs, where an epoch improves on the best when ``(accuracy - best) / best > tolerance``.

    Example:
        >>> rule = EarlyStopping(min_epochs=2, patience=2, tolerance=0.0)
        >>> [rule.update(a) for a in (0.5, 0.6, 0.6, 0.59, 0.7)]
        [False, False, False, True, False]
    """

    min_epochs: int
    patience: int
    tolerance: float
    best: float | None = None
    best_epoch: int = 0
    epochs: int = 0

    def update(self, accuracy: float) -> bool:
        """Record one epoch's validation accuracy; True when training should stop now."""
        self.epochs += 1
        if self.best is None or self._improves(accuracy):
            self.best, self.best_epoch = accuracy, self.epochs
        return self.epochs >= self.min_epochs and self.epochs - self.best_epoch >= self.patience

    def _improves(self, accuracy: float) -> bool:
        assert self.best is not None
        if self.best <= 0.0:
            return accuracy > self.best
        return (accuracy - self.best) / self.best > self.tolerance

    def state(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "epochs": self.epochs}

    def load(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch, self.epochs = state["best"], state["best_epoch"], state["epochs"]


@dataclass(frozen=True)
class EpochResult:
    """What one training epoch measured."""

    loss: float
    accuracy: float
    images: int
    seconds: float

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else float("nan")


@dataclass(frozen=True)
class Paths:
    """Where a training job reads and writes (channels, model, checkpoints, output)."""

    train: str | None = None
    validation: str | None = None
    train_lst: str | None = None
    validation_lst: str | None = None
    pretrained: str | None = None
    model_dir: str | None = None
    checkpoint_dir: str | None = None
    output_dir: str | None = None


@dataclass
class TrainingResult:
    """What :func:`train` did: the metrics of every epoch (0-based), and why it ended."""

    epochs: list[dict[str, float]] = field(default_factory=list)
    first_epoch: int = 0
    stopped_early: bool = False
    class_names: tuple[str, ...] = ()
    device: str = "cpu"
    autocast_dtype: str | None = None


# ---------------------------------------------------------------------------------------------------------------
# the trainer


class Trainer:
    """A model, its optimizer and loss, and the precision and memory-format settings of a device.

    Args:
        hp: the hyperparameters.
        device: ``cpu`` or ``cuda`` (``cuda:N``).
        class_weights: per-class positive weights of the multi-label loss (``use_weighted_loss``).
        model: a model to use instead of building ``hp``'s ResNet.
    """

    def __init__(self, hp: ImageClassificationHyperparameters, device: str | torch.device = "cpu",
                 class_weights: torch.Tensor | None = None, model: nn.Module | None = None) -> None:
        self.hp = hp
        self.device = torch.device(device)
        cuda = self.device.type == "cuda"
        channels = hp.image_shape[0]
        self.model = model if model is not None else build_resnet(hp.num_layers, hp.num_classes, channels,
                                                                   hp.base_channels)
        self.channels_last = cuda if hp.channels_last == "auto" else hp.channels_last == "1"
        memory = torch.channels_last if self.channels_last else torch.contiguous_format
        self.model.to(self.device, memory_format=memory)
        #: the autocast dtype (``None``: float32). float16 precision on a GPU is mixed precision, in bfloat16
        #: where the GPU supports it (no loss scaling needed), else float16 with a gradient scaler.
        self.autocast_dtype: torch.dtype | None = None
        if hp.precision_dtype == "float16" and cuda:
            self.autocast_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.autocast_dtype == torch.float16)
        if cuda:
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        self.optimizer = make_optimizer(self.model, hp)
        if hp.multi_label:
            weights = class_weights.to(self.device) if class_weights is not None else None
            self.loss_fn: nn.Module = nn.BCEWithLogitsLoss(pos_weight=weights)
        else:
            self.loss_fn = nn.CrossEntropyLoss()
        self.forward: Callable[[torch.Tensor], torch.Tensor] = self.model
        if hp.compile:
            self.forward = torch.compile(self.model)  # type: ignore[assignment]
        dtype = torch.float32
        shape = (1, channels, 1, 1)
        mean = _MEAN if channels == 3 else (sum(_MEAN) / 3,)
        std = _STD if channels == 3 else (sum(_STD) / 3,)
        self._scale = (1.0 / (255.0 * torch.tensor(std, dtype=dtype))).view(shape).to(self.device)
        self._shift = (-torch.tensor(mean, dtype=dtype) / torch.tensor(std, dtype=dtype)).view(shape).to(self.device)

    def set_learning_rate(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (or float 0-255) N x C x H x W images -> normalized float32 on the device, in the memory format."""
        x = images.to(self.device, non_blocking=True).float()
        x = torch.addcmul(self._shift, x, self._scale)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def _autocast(self) -> Any:
        if self.autocast_dtype is None:
            return torch.autocast(self.device.type, enabled=False)
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def train_epoch(self, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> EpochResult:
        """One pass of training over ``batches``; loss and accuracy are accumulated on the device (one sync at the
        end)."""
        self.model.train()
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device)
        count = 0
        labels_per_item = self.hp.num_classes if self.hp.multi_label else 1
        start = time.perf_counter()
        for images, targets in batches:
            x = self.prepare(images)
            y = targets.to(self.device, non_blocking=True)
            with self._autocast():
                logits = self.forward(x)
                loss = self.loss_fn(logits.float(), y)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            n = y.shape[0]
            with torch.no_grad():
                loss_sum += loss.detach() * n
                correct += _correct(logits.detach(), y, self.hp.multi_label)
            count += n
        total_loss, total_correct = (float(v) for v in torch.stack([loss_sum, correct]).tolist())
        seconds = time.perf_counter() - start
        if count == 0:
            return EpochResult(float("nan"), float("nan"), 0, seconds)
        return EpochResult(total_loss / count, total_correct / (count * labels_per_item), count, seconds)

    @torch.no_grad()
    def evaluate(self, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], top_k: int | None = None
                 ) -> dict[str, float]:
        """Loss, accuracy (multi-label: mean per-label accuracy, and micro F1) and top-k accuracy."""
        self.model.eval()
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device)
        top = torch.zeros((), device=self.device)
        tp = torch.zeros((), device=self.device)
        fp_fn = torch.zeros((), device=self.device)
        count = 0
        for images, targets in batches:
            x = self.prepare(images)
            y = targets.to(self.device, non_blocking=True)
            with self._autocast():
                logits = self.forward(x).float()
            n = y.shape[0]
            loss_sum += self.loss_fn(logits, y) * n
            correct += _correct(logits, y, self.hp.multi_label)
            if self.hp.multi_label:
                predicted = (logits > 0).float()
                tp += (predicted * y).sum()
                fp_fn += (predicted != y).float().sum()
            elif top_k is not None:
                k = min(top_k, logits.shape[1])
                top += (logits.topk(k, dim=1).indices == y.unsqueeze(1)).any(dim=1).sum()
            count += n
        if count == 0:
            return {}
        values = [float(v) for v in torch.stack([loss_sum, correct, top, tp, fp_fn]).tolist()]
        out = {"loss": values[0] / count}
        if self.hp.multi_label:
            out["accuracy"] = values[1] / (count * self.hp.num_classes)
            denominator = 2 * values[3] + values[4]
            out["f1"] = 2 * values[3] / denominator if denominator > 0 else 0.0
        else:
            out["accuracy"] = values[1] / count
            if top_k is not None:
                out["top_k_accuracy"] = values[2] / count
        return out

    def state(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict()}

    def load(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])


def _correct(logits: torch.Tensor, y: torch.Tensor, multi_label: bool) -> torch.Tensor:
    if multi_label:
        return ((logits > 0).float() == y).float().sum()
    return (logits.argmax(dim=1) == y).sum()


def make_optimizer(model: nn.Module, hp: ImageClassificationHyperparameters) -> torch.optim.Optimizer:
    """sgd and nag (SGD with Nesterov momentum) use momentum and weight_decay; adam uses beta_1, beta_2 and eps;
    rmsprop uses gamma (the squared-gradient decay) and eps. As the seed says, momentum and weight decay are
    ignored by adam and rmsprop."""
    params = model.parameters()
    if hp.optimizer in ("sgd", "nag"):
        return torch.optim.SGD(params, lr=hp.learning_rate, momentum=hp.momentum, weight_decay=hp.weight_decay,
                               nesterov=hp.optimizer == "nag")
    if hp.optimizer == "adam":
        return torch.optim.Adam(params, lr=hp.learning_rate, betas=(hp.beta_1, hp.beta_2), eps=hp.eps)
    return torch.optim.RMSprop(params, lr=hp.learning_rate, alpha=hp.gamma, eps=hp.eps)


# ---------------------------------------------------------------------------------------------------------------
# a whole training job


def _say(text: str) -> None:
    print(text, flush=True)


def pick_device(hp: ImageClassificationHyperparameters) -> str:
    """``cuda`` when asked or available (``auto``), else ``cpu``."""
    if hp.device == "cuda":
        if not torch.cuda.is_available():
            raise SpecError(
                "device is 'cuda' but torch sees no CUDA GPU here. Use device auto or cpu, or install a CUDA "
                "build of torch.",
                path="hyperparameters.device",
            )
        return "cuda"
    if hp.device == "cpu":
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def _loader(dataset: ImageDataset, hp: ImageClassificationHyperparameters, *, shuffle: bool, device: str,
            generator: torch.Generator) -> torch.utils.data.DataLoader:
    workers = hp.num_workers
    if workers is None:
        workers = 0 if len(dataset) < 2000 else min(8, os.cpu_count() or 1)
    drop_last = shuffle and len(dataset) > hp.mini_batch_size
    return torch.utils.data.DataLoader(
        dataset, batch_size=hp.mini_batch_size, shuffle=shuffle, num_workers=workers, drop_last=drop_last,
        pin_memory=device == "cuda", persistent_workers=workers > 0, generator=generator,
        prefetch_factor=4 if workers > 0 else None,
    )


def _class_weights(data: DataSet, hp: ImageClassificationHyperparameters) -> torch.Tensor | None:
    """Positive-class weights (negatives / positives per class) of the multi-label loss, from the training data."""
    if not (hp.multi_label and hp.use_weighted_loss):
        return None
    positives = torch.tensor(data.label_counts(hp.num_classes), dtype=torch.float32)
    negatives = len(data) - positives
    return (negatives / positives.clamp(min=1.0)).clamp(min=0.1, max=100.0)


def _load_pretrained(trainer: Trainer, paths: Paths, hp: ImageClassificationHyperparameters) -> str:
    where = paths.pretrained
    if where is None:
        raise SpecError(
            "use_pretrained_model 1 needs pretrained weights, and there is no network here to download them: "
            f"give a channel named 'pretrained' (a .pt file, or a directory holding resnet{hp.num_layers}.pt or "
            "model.pt) with a torchvision-style ResNet state dict, or set use_pretrained_model 0.",
            path="hyperparameters.use_pretrained_model",
        )
    path = Path(where)
    if path.is_dir():
        candidates = [path / f"resnet{hp.num_layers}.pt", path / f"resnet{hp.num_layers}.pth", path / "model.pt"]
        found = [c for c in candidates if c.is_file()]
        if not found:
            raise SpecError(
                f"the pretrained channel {str(path)!r} holds none of {', '.join(c.name for c in candidates)}. Put "
                "the weights there under one of these names.",
                path="channels.pretrained",
            )
        path = found[0]
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError, pickle.UnpicklingError) as exc:
        raise SpecError(f"cannot read pretrained weights from {str(path)!r}: {exc}. Give a torch state dict file.",
                        path="channels.pretrained") from None
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    own = trainer.model.state_dict()
    kept = {k: v for k, v in state.items() if not k.startswith("fc.") and k in own and own[k].shape == v.shape}
    missing = [k for k in own if not k.startswith("fc.") and k not in kept]
    if missing:
        raise SpecError(
            f"the pretrained weights {str(path)!r} do not fit ResNet-{hp.num_layers}: {len(missing)} tensors are "
            f"missing or of another shape, e.g. {missing[0]!r}. Give weights of the same depth "
            f"(num_layers {hp.num_layers}) and base_channels.",
            path="channels.pretrained",
        )
    trainer.model.load_state_dict(kept, strict=False)  # fc keeps its fresh random initialization
    return str(path)


def _default_report() -> Callable[..., None]:
    """``hyperjob.report`` under hyperjob (a metrics file, or an in-process training job); by hand, nothing more
    than the log lines."""
    from hyperjob import report
    from hyperjob.report import METRICS_FILE_ENV, _current_sink

    if os.environ.get(METRICS_FILE_ENV) or _current_sink.get() is not None:
        return report
    return lambda step=None, **metrics: None


def _checkpoints(directory: Path) -> list[Path]:
    return sorted(directory.glob("checkpoint-epoch-*.pt"))


_SHAPE_KEYS = ("num_classes", "num_layers", "image_shape", "multi_label", "base_channels")


def train(hp: ImageClassificationHyperparameters, paths: Paths,
          report: Callable[..., None] | None = None) -> TrainingResult:
    """Run a training job: read the channels, train ``hp.epochs`` epochs (or until early stopping), print and
    report the metrics of every epoch, write checkpoints, resume from the last one, save the final model.

    Args:
        hp: validated hyperparameters.
        paths: channels and output directories.
        report: ``hyperjob.report`` (or a stand-in in tests); called once per epoch with ``step`` = the 0-based
            epoch and the epoch's metrics.

    Raises:
        SpecError: missing channels, bad data, missing pretrained weights, a checkpoint of another network.
    """
    if report is None:
        report = _default_report()
    for note in notes(hp):
        _say(f"note: {note}")
    seed = hp.seed if hp.seed is not None else int.from_bytes(os.urandom(4), "little") % (2**31)
    random.seed(seed)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    if paths.train is None:
        raise ImageDataError("there is no train channel. Give one: program.channels.train in a tuning job, or "
                             "--train DIR when running the program by hand.", path="channels.train")
    if paths.validation is None:
        raise ImageDataError("there is no validation channel (its accuracy is the objective). Give one: "
                             "program.channels.validation, or --validation DIR by hand.", path="channels.validation")
    train_data = load_channel("train", paths.train, hp, lst_directory=paths.train_lst)
    val_data = load_channel("validation", paths.validation, hp, lst_directory=paths.validation_lst,
                            class_names=train_data.class_names)
    if len(train_data) != hp.num_training_samples:
        _say(f"note: num_training_samples is {hp.num_training_samples} but the train channel has {len(train_data)} "
             "images; training uses the images it finds.")
    device = pick_device(hp)
    trainer = Trainer(hp, device, class_weights=_class_weights(train_data, hp))
    result = TrainingResult(class_names=train_data.class_names, device=device,
                            autocast_dtype=str(trainer.autocast_dtype).replace("torch.", "")
                            if trainer.autocast_dtype else None)
    precision = (f"mixed precision in {result.autocast_dtype}" if trainer.autocast_dtype is not None else "float32")
    if hp.precision_dtype == "float16" and device == "cpu":
        precision += " (precision_dtype float16 needs a GPU for mixed precision; training in float32 on the CPU)"
    _say(f"ResNet-{hp.num_layers} on {device}, {precision}, channels_last={trainer.channels_last}, "
         f"compile={hp.compile}; {len(train_data)} training and {len(val_data)} validation images "
         f"({train_data.source}), {hp.num_classes} classes, seed {seed}")
    if hp.use_pretrained_model:
        _say(f"pretrained weights: {_load_pretrained(trainer, paths, hp)} (last layer re-initialized)")
    stopper = EarlyStopping(hp.early_stopping_min_epochs, hp.early_stopping_patience, hp.early_stopping_tolerance)
    best_accuracy: float | None = None
    checkpoint_dir = Path(paths.checkpoint_dir) if paths.checkpoint_dir else None
    start_epoch = 0
    if checkpoint_dir is not None and checkpoint_dir.is_dir():
        found = _checkpoints(checkpoint_dir)
        if found:
            try:  # weights only: a crafted pickle in a user-set folder must not run code
                state = torch.load(found[-1], map_location=device, weights_only=True)
            except pickle.UnpicklingError as exc:
                raise SpecError(
                    f"the checkpoint {str(found[-1])!r} holds objects other than tensors and plain data, so it is "
                    f"not loaded (torch.load with weights_only=True refused it: {str(exc).splitlines()[0]}). "
                    "hyperjob's checkpoints never do; delete the file or use an empty checkpoint directory.",
                    path="checkpoint_dir",
                ) from None
            saved = state.get("hyperparameters", {})
            current = hp.to_json()
            changed = [k for k in _SHAPE_KEYS if saved.get(k) != current.get(k)]
            if changed:
                raise SpecError(
                    f"the checkpoint {str(found[-1])!r} is of another network ({', '.join(f'{k}={saved.get(k)!r}' for k in changed)}"
                    f"; now {', '.join(f'{k}={current.get(k)!r}' for k in changed)}). Use an empty checkpoint "
                    "directory, or the same hyperparameters.",
                    path="checkpoint_dir",
                )
            trainer.load(state["trainer"])
            stopper.load(state["early_stopping"])
            best_accuracy = state.get("best_accuracy")
            random.setstate(state["python_random"])
            torch.set_rng_state(state["torch_random"])
            generator.set_state(state["generator"])
            start_epoch = state["epochs_done"]
            _say(f"resuming from {found[-1]} after epoch {start_epoch - 1} ({start_epoch} epochs done)")
    result.first_epoch = start_epoch
    train_loader = _loader(ImageDataset(train_data, hp, train=True), hp, shuffle=True, device=device,
                           generator=generator)
    val_loader = _loader(ImageDataset(val_data, hp, train=False), hp, shuffle=False, device=device,
                         generator=generator)
    epoch = start_epoch - 1
    for epoch in range(start_epoch, hp.epochs):
        lr = learning_rate_at(epoch, hp)
        trainer.set_learning_rate(lr)
        fit = trainer.train_epoch(train_loader)
        val = trainer.evaluate(val_loader, hp.top_k)
        lines = [
            ("train:learning_rate", "Learning-rate", f"{lr:.6g}"),
            ("train:accuracy", "Train-accuracy", f"{fit.accuracy:.6f}"),
            ("train:loss", "Train-loss", f"{fit.loss:.6f}"),
            ("train:epoch_time_s", "Time cost", f"{fit.seconds:.3f}"),
            ("train:images_per_second", "Speed", f"{fit.images_per_second:.2f}"),
            ("validation:accuracy", "Validation-accuracy", f"{val['accuracy']:.6f}"),
            ("validation:loss", "Validation-loss", f"{val['loss']:.6f}"),
        ]
        if "top_k_accuracy" in val:
            lines.append(("validation:top_k_accuracy", f"Validation-top_k_accuracy_{hp.top_k}",
                          f"{val['top_k_accuracy']:.6f}"))
        if "f1" in val:
            lines.append(("validation:f1", "Validation-f1", f"{val['f1']:.6f}"))
        metrics = {name: float(text) for name, _label, text in lines}  # the printed values: a regex and
        accuracy = metrics["validation:accuracy"]                          # report() give the same number
        stop = stopper.update(accuracy) and hp.early_stopping
        improved = best_accuracy is None or accuracy > best_accuracy
        if improved:
            best_accuracy = accuracy
        # the checkpoint before the epoch's lines, and no SIGTERM between them: a tuning job that pauses this
        # training job at a rung (hyperband's promotions) stops it right after the lines, and its resume goes on
        # after this epoch (docs/early-stopping.md, the pause/resume contract)
        with sigterm_held():
            if checkpoint_dir is not None:
                if hp.checkpoint_frequency is not None:
                    save = (epoch + 1) % hp.checkpoint_frequency == 0
                else:
                    save = improved  # SageMaker's default: the epoch with the best validation accuracy
                if save:
                    _save_checkpoint(checkpoint_dir, epoch, trainer, stopper, best_accuracy, generator, hp,
                                     train_data.class_names, keep_others=hp.checkpoint_frequency is not None)
            for name, label, text in lines:
                _say(f"Epoch[{epoch}] {label}: {text} samples/sec" if label == "Speed"
                     else f"Epoch[{epoch}] {label}={text}")
            report(step=epoch, **metrics)
        result.epochs.append(metrics)
        if stop:
            result.stopped_early = True
            _say(f"early stopping after epoch {epoch}: validation accuracy has not improved by more than "
                 f"{hp.early_stopping_tolerance:g} (relative) for {hp.early_stopping_patience} epochs; best "
                 f"{stopper.best:.6f} at epoch {stopper.best_epoch - 1}")
            break
    if paths.model_dir is not None:
        _save_model(Path(paths.model_dir), trainer, hp, train_data.class_names, epoch + 1, result)
    return result


def _save_checkpoint(directory: Path, epoch: int, trainer: Trainer, stopper: EarlyStopping,
                     best_accuracy: float | None, generator: torch.Generator,
                     hp: ImageClassificationHyperparameters, class_names: tuple[str, ...], keep_others: bool) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"checkpoint-epoch-{epoch + 1:04d}.pt"
    state = {
        "epochs_done": epoch + 1,
        "trainer": trainer.state(),
        "early_stopping": stopper.state(),
        "best_accuracy": best_accuracy,
        "python_random": random.getstate(),
        "torch_random": torch.get_rng_state(),
        "generator": generator.get_state(),
        "hyperparameters": hp.to_json(),
        "class_names": list(class_names),
    }
    save_atomic(state, path)
    if not keep_others:
        for old in _checkpoints(directory):
            if old != path:
                old.unlink(missing_ok=True)


def _save_model(directory: Path, trainer: Trainer, hp: ImageClassificationHyperparameters,
                class_names: tuple[str, ...], epochs_done: int, result: TrainingResult) -> None:
    """``model.pt`` (the state dict), ``hyperparameters.json``, ``classes.json`` and ``model-info.json``."""
    directory.mkdir(parents=True, exist_ok=True)
    save_atomic(trainer.model.state_dict(), directory / "model.pt")
    (directory / "hyperparameters.json").write_text(json.dumps(hp.to_json(), indent=2) + "\n")
    (directory / "classes.json").write_text(json.dumps(list(class_names), indent=2) + "\n")
    info = {
        "algorithm": "image-classification",
        "architecture": f"resnet{hp.num_layers}",
        "image_shape": list(hp.image_shape),
        "num_classes": hp.num_classes,
        "multi_label": hp.multi_label,
        "epochs_trained": epochs_done,
        "stopped_early": result.stopped_early,
        "final_metrics": result.epochs[-1] if result.epochs else {},
        "normalization": {"mean": list(_MEAN), "std": list(_STD), "scale": "pixels / 255"},
        "load": "build_resnet(num_layers, num_classes, image_shape[0], base_channels).load_state_dict("
                "torch.load('model.pt'))",
    }
    (directory / "model-info.json").write_text(json.dumps(info, indent=2) + "\n")


def synthetic_batches(n_batches: int, batch: torch.Tensor, target: torch.Tensor
                      ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The same device batch ``n_batches`` times (the benchmark's synthetic data)."""
    for _ in range(n_batches):
        yield batch, target
