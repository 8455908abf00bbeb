"""Every hyperparameter of the image-classification algorithm (seed 003), parsed and validated before training.

This module is standard library only (no torch): the registry and the spec read :data:`ALGORITHM` from it.

The table follows SageMaker's image-classification hyperparameters: name, type, valid values, range and default.
hyperjob adds a few (marked *extension* in :data:`HYPERPARAMETERS`) that SageMaker decides for you: the
network width, the device, channels-last memory, ``torch.compile``, DataLoader workers and the random seed.

Values arrive as strings (``--name value`` arguments, ``SM_HPS``) or typed (``hyperparameters.json``); both
are accepted. Every rule that is broken is one :class:`~hyperjob.errors.SpecError` naming the hyperparameter,
the value, what is allowed and the fix.

Example:
    >>> hp = parse_hyperparameters({"num_classes": "10", "num_training_samples": "500", "image_shape": "3,32,32",
    ...                             "num_layers": "20", "lr_scheduler_step": "10,20"})
    >>> hp.image_shape, hp.num_layers, hp.lr_scheduler_step, hp.optimizer
    ((3, 32, 32), 20, (10, 20), 'sgd')
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from hyperjob.errors import SpecError, did_you_mean
from hyperjob.records import Direction, MetricDefinition, Objective

__all__ = [
    "ALGORITHM",
    "HYPERPARAMETERS",
    "LARGE_IMAGE_DEPTHS",
    "METRIC_DEFINITIONS",
    "SMALL_IMAGE_DEPTHS",
    "Hyperparameter",
    "ImageClassificationHyperparameters",
    "default_ranges",
    "parse_hyperparameters",
]

#: ResNet depths for large images (ImageNet-style network; also the only ones with pretrained weights).
LARGE_IMAGE_DEPTHS = (18, 34, 50, 101, 152, 200)
#: ResNet depths for small images (CIFAR-style network, He et al. 2016, section 4.2).
SMALL_IMAGE_DEPTHS = (20, 32, 44, 56, 110)

_NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"

#: What the training program prints each epoch (MXNet's shapes, which SageMaker's regexes read) and the metric
#: each line is. ``Epoch[k]`` counts from 0; the same values go to ``hyperjob.report(step=k, ...)``.
METRIC_DEFINITIONS: tuple[MetricDefinition, ...] = (
    MetricDefinition("train:accuracy", r"Epoch\[\d+\] Train-accuracy=" + _NUMBER),
    MetricDefinition("train:loss", r"Epoch\[\d+\] Train-loss=" + _NUMBER),
    MetricDefinition("validation:accuracy", r"Epoch\[\d+\] Validation-accuracy=" + _NUMBER),
    MetricDefinition("validation:loss", r"Epoch\[\d+\] Validation-loss=" + _NUMBER),
    MetricDefinition("validation:top_k_accuracy", r"Epoch\[\d+\] Validation-top_k_accuracy_\d+=" + _NUMBER),
    MetricDefinition("validation:f1", r"Epoch\[\d+\] Validation-f1=" + _NUMBER),
    MetricDefinition("train:epoch_time_s", r"Epoch\[\d+\] Time cost=" + _NUMBER),
    MetricDefinition("train:images_per_second", r"Epoch\[\d+\] Speed: " + _NUMBER + r" samples/sec"),
    MetricDefinition("train:learning_rate", r"Epoch\[\d+\] Learning-rate=" + _NUMBER),
)


@dataclass(frozen=True)
class Hyperparameter:
    """One row of the table: how a value is read and checked.

    Attributes:
        name: the hyperparameter's name.
        kind: ``int``, ``float``, ``bool``, ``choice``, ``shape``, ``steps`` (what the value is read as).
        default: the value when it is not given (``None``: not set).
        allowed: what is valid, in words (for messages and docs).
        required: it must be given.
        choices: the valid values of a ``choice`` or an ``int`` with a fixed set.
        low, high: the inclusive bounds of a number (``None``: unbounded); ``low_open``: ``low`` excluded.
        extension: a hyperjob addition, not one of SageMaker's.
        help: one line for the docs.
    """

    name: str
    kind: str
    default: Any
    allowed: str
    required: bool = False
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    extension: bool = False
    help: str = ""


def _row(name: str, kind: str, default: Any, allowed: str, **kw: Any) -> Hyperparameter:
    return Hyperparameter(name, kind, default, allowed, **kw)


_UNIT = dict(low=0.0, high=1.0)
#: The table, in SageMaker's order, then hyperjob's extensions.
HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    _row("num_classes", "int", None, "a positive integer", required=True, low=1,
         help="number of output classes"),
    _row("num_training_samples", "int", None, "a positive integer", required=True, low=1,
         help="number of training images (a mismatch with the data is reported as a note)"),
    _row("augmentation_type", "choice", None, "crop, crop_color or crop_color_transform",
         choices=("crop", "crop_color", "crop_color_transform"),
         help="random crop and flip; + hue/saturation/lightness shifts; + rotation, shear, aspect changes"),
    _row("beta_1", "float", 0.9, "a float in [0, 1]", help="adam's first-moment decay", **_UNIT),
    _row("beta_2", "float", 0.999, "a float in [0, 1]", help="adam's second-moment decay", **_UNIT),
    _row("checkpoint_frequency", "int", None, "a positive integer <= epochs", low=1,
         help="save a checkpoint every N epochs (default: at the epoch with the best validation accuracy)"),
    _row("early_stopping", "bool", False, "True or False", help="stop when validation accuracy stops improving"),
    _row("early_stopping_min_epochs", "int", 10, "a positive integer", low=1,
         help="epochs to run before early stopping may stop"),
    _row("early_stopping_patience", "int", 5, "a positive integer", low=1,
         help="epochs without improvement before stopping"),
    _row("early_stopping_tolerance", "float", 0.0, "a float in [0, 1]",
         help="relative improvement (gain / best) below which an epoch does not count as an improvement", **_UNIT),
    _row("epochs", "int", 30, "a positive integer", low=1, help="training epochs"),
    _row("eps", "float", 1e-8, "a float in [0, 1]", help="epsilon of adam and rmsprop", **_UNIT),
    _row("gamma", "float", 0.9, "a float in [0, 1]", help="rmsprop's decay of the squared-gradient average",
         **_UNIT),
    _row("image_shape", "shape", (3, 224, 224), "'channels,height,width' with 1 or 3 channels, e.g. '3,224,224'",
         help="network input; larger images are cropped (randomly with augmentation, centred without)"),
    _row("kv_store", "choice", None, "dist_sync or dist_async", choices=("dist_sync", "dist_async"),
         help="distributed weight updates; accepted and ignored (single-machine training)"),
    _row("learning_rate", "float", 0.1, "a float in [0, 1]", help="initial learning rate", **_UNIT),
    _row("lr_scheduler_factor", "float", 0.1, "a float in [0, 1]", help="lr_new = lr_old * factor at each step",
         **_UNIT),
    _row("lr_scheduler_step", "steps", None, "increasing positive epoch numbers separated by ',', e.g. '10,20'",
         help="epochs after which the learning rate is multiplied by lr_scheduler_factor"),
    _row("mini_batch_size", "int", 32, "a positive integer", low=1, help="batch size"),
    _row("momentum", "float", 0.9, "a float in [0, 1]", help="momentum of sgd and nag (ignored by the others)",
         **_UNIT),
    _row("multi_label", "bool", False, "0 or 1", help="each image may have several labels (.lst input)"),
    _row("num_layers", "int", 152, f"one of {list(LARGE_IMAGE_DEPTHS)} (large images) or "
         f"{list(SMALL_IMAGE_DEPTHS)} (small images)", choices=LARGE_IMAGE_DEPTHS + SMALL_IMAGE_DEPTHS,
         help="ResNet depth"),
    _row("optimizer", "choice", "sgd", "sgd, adam, rmsprop or nag", choices=("sgd", "adam", "rmsprop", "nag"),
         help="optimizer (nag: SGD with Nesterov momentum)"),
    _row("precision_dtype", "choice", "float32", "float32 or float16", choices=("float32", "float16"),
         help="float16: mixed precision on a GPU (bfloat16 where the GPU has it); float32 on a CPU"),
    _row("resize", "int", None, "a positive integer >= the image_shape height and width", low=1,
         help="resize the shorter side of each image to this many pixels before cropping"),
    _row("top_k", "int", None, "an integer > 1 and <= num_classes", low=2,
         help="also report top-k validation accuracy"),
    _row("use_pretrained_model", "bool", False, "0 or 1",
         help="start from local pretrained weights (channel 'pretrained'); the last layer is re-initialized"),
    _row("use_weighted_loss", "bool", False, "0 or 1",
         help="multi-label only: weight each class's loss by its frequency in the training data"),
    _row("weight_decay", "float", 1e-4, "a float in [0, 1]", help="weight decay of sgd and nag (ignored by others)",
         **_UNIT),
    # hyperjob's extensions
    _row("base_channels", "int", None, "a positive integer", low=1, extension=True,
         help="channels of the first stage (default 16 for small-image depths, 64 for large ones)"),
    _row("device", "choice", "auto", "auto, cpu or cuda", choices=("auto", "cpu", "cuda"), extension=True,
         help="where to train (auto: cuda when available)"),
    _row("channels_last", "choice", "auto", "auto, 0 or 1", choices=("auto", "0", "1"), extension=True,
         help="channels-last memory format (auto: on a GPU)"),
    _row("compile", "bool", False, "0 or 1", extension=True, help="torch.compile the model"),
    _row("num_workers", "int", None, "an integer >= 0", low=0, extension=True,
         help="DataLoader worker processes that decode and augment (default: 0 for small data, else up to 8)"),
    _row("seed", "int", None, "an integer >= 0", low=0, extension=True, help="random seed (default: random)"),
)

_BY_NAME = {h.name: h for h in HYPERPARAMETERS}
#: Keys that SageMaker's toolkit may pass and that are not the algorithm's.
_IGNORED_PREFIXES = ("sagemaker_",)
_IGNORED = frozenset({"_tuning_objective_metric", "default_user_module_name"})


@dataclass(frozen=True)
class ImageClassificationHyperparameters:
    """All hyperparameters, typed and validated (see :data:`HYPERPARAMETERS` for each one)."""

    num_classes: int
    num_training_samples: int
    augmentation_type: str | None = None
    beta_1: float = 0.9
    beta_2: float = 0.999
    checkpoint_frequency: int | None = None
    early_stopping: bool = False
    early_stopping_min_epochs: int = 10
    early_stopping_patience: int = 5
    early_stopping_tolerance: float = 0.0
    epochs: int = 30
    eps: float = 1e-8
    gamma: float = 0.9
    image_shape: tuple[int, int, int] = (3, 224, 224)
    kv_store: str | None = None
    learning_rate: float = 0.1
    lr_scheduler_factor: float = 0.1
    lr_scheduler_step: tuple[int, ...] = ()
    mini_batch_size: int = 32
    momentum: float = 0.9
    multi_label: bool = False
    num_layers: int = 152
    optimizer: str = "sgd"
    precision_dtype: str = "float32"
    resize: int | None = None
    top_k: int | None = None
    use_pretrained_model: bool = False
    use_weighted_loss: bool = False
    weight_decay: float = 1e-4
    base_channels: int | None = None
    device: str = "auto"
    channels_last: str = "auto"
    compile: bool = False
    num_workers: int | None = None
    seed: int | None = None

    @property
    def small_network(self) -> bool:
        """True for the CIFAR-style depths (20, 32, 44, 56, 110)."""
        return self.num_layers in SMALL_IMAGE_DEPTHS

    def to_json(self) -> dict[str, Any]:
        """The values as JSON-able data (what the model directory and checkpoints keep)."""
        data = dataclasses.asdict(self)
        data["image_shape"] = ",".join(str(v) for v in self.image_shape)
        data["lr_scheduler_step"] = ",".join(str(v) for v in self.lr_scheduler_step) or None
        return data


def _fail(name: str, value: Any, message: str) -> SpecError:
    return SpecError(f"{message} (got {value!r}).", path=f"hyperparameters.{name}")


def _as_int(h: Hyperparameter, value: Any) -> int:
    if isinstance(value, bool):
        raise _fail(h.name, value, f"must be {h.allowed}, not a boolean. Give a whole number")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text)
        except ValueError:
            try:
                as_float = float(text)
            except ValueError:
                raise _fail(h.name, value, f"must be {h.allowed}. Give a whole number, e.g. "
                                           f"--{h.name} {_example(h)}") from None
            if not as_float.is_integer():
                raise _fail(h.name, value, f"must be {h.allowed}, a whole number. Round it, e.g. "
                                           f"--{h.name} {round(as_float)}") from None
            value = int(as_float)
    if not isinstance(value, int):
        raise _fail(h.name, value, f"must be {h.allowed}. Give a whole number, e.g. --{h.name} {_example(h)}")
    if h.choices is not None and value not in h.choices:
        near = min(h.choices, key=lambda c: abs(c - value))
        raise _fail(h.name, value, f"must be {h.allowed}. Use e.g. {near}")
    _check_bounds(h, value)
    return value


def _as_float(h: Hyperparameter, value: Any) -> float:
    if isinstance(value, bool):
        raise _fail(h.name, value, f"must be {h.allowed}, not a boolean. Give a number")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise _fail(h.name, value, f"must be {h.allowed}. Give a number, e.g. --{h.name} {h.default}") from None
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(h.name, value, f"must be {h.allowed}. Give a finite number, e.g. --{h.name} {h.default}")
    value = float(value)
    _check_bounds(h, value)
    return value


def _check_bounds(h: Hyperparameter, value: float) -> None:
    if h.low is not None and (value < h.low or (h.low_open and value == h.low)):
        raise _fail(h.name, value, f"must be {h.allowed}, it is too small. Use a value in range")
    if h.high is not None and value > h.high:
        raise _fail(h.name, value, f"must be {h.allowed}, it is too large. Use a value in range")


def _example(h: Hyperparameter) -> str:
    if h.default is not None:
        return str(h.default)
    return {"num_classes": "10", "num_training_samples": "50000", "checkpoint_frequency": "5"}.get(h.name, "1")


def _as_bool(h: Hyperparameter, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("0", "1", "true", "false"):
        return value.strip().lower() in ("1", "true")
    raise _fail(h.name, value, f"must be {h.allowed} (1/0 and True/False are both read). Use e.g. --{h.name} 1")


def _as_choice(h: Hyperparameter, value: Any) -> str:
    text = str(value).strip() if not isinstance(value, bool) else str(int(value))
    if h.name in ("augmentation_type", "optimizer", "precision_dtype", "kv_store", "device"):
        text = text.lower()
    assert h.choices is not None
    if text not in h.choices:
        hint = did_you_mean(text, [str(c) for c in h.choices], cutoff=0.5) or " Use one of these values."
        raise SpecError(f"must be {h.allowed}, got {value!r}.{hint}", path=f"hyperparameters.{h.name}")
    return text


def _as_shape(h: Hyperparameter, value: Any) -> tuple[int, int, int]:
    parts: list[Any]
    if isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        text = str(value).strip().strip("[]()").strip()
        parts = [p.strip() for p in text.split(",")]
    try:
        dims = tuple(int(p) for p in parts)
    except (TypeError, ValueError):
        dims = ()
    if len(dims) != 3 or any(d < 1 for d in dims):
        raise _fail(h.name, value, f"must be {h.allowed}. Write three positive integers, e.g. 3,32,32")
    if dims[0] not in (1, 3):
        raise _fail(h.name, value, f"must be {h.allowed}: {dims[0]} channels is neither grayscale (1) nor RGB (3). "
                                   f"Use {3},{dims[1]},{dims[2]}")
    return dims  # type: ignore[return-value]


def _as_steps(h: Hyperparameter, value: Any) -> tuple[int, ...]:
    if isinstance(value, (list, tuple)):
        parts = list(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        parts = [value]
    else:
        text = str(value).strip().strip("[]").strip()
        if text.startswith('"') and text.endswith('"'):
            text = text[1:-1]
        parts = [p.strip() for p in text.split(",") if p.strip()]
    steps: list[int] = []
    for p in parts:
        try:
            f = float(p)
        except (TypeError, ValueError):
            raise _fail(h.name, value, f"must be {h.allowed}; {p!r} is not an epoch number. Use e.g. 10,20") from None
        if not f.is_integer() or f < 1:
            raise _fail(h.name, value, f"must be {h.allowed}; {p!r} is not a positive whole number. Use e.g. 10,20")
        steps.append(int(f))
    if any(b <= a for a, b in zip(steps, steps[1:])):
        fixed = ",".join(str(s) for s in sorted(set(steps)))
        raise _fail(h.name, value, f"must be {h.allowed}: the epochs must increase. Use {fixed}")
    return tuple(steps)


_READERS: dict[str, Callable[[Hyperparameter, Any], Any]] = {
    "int": _as_int, "float": _as_float, "bool": _as_bool, "choice": _as_choice, "shape": _as_shape,
    "steps": _as_steps,
}


def parse_hyperparameters(raw: Mapping[str, Any]) -> ImageClassificationHyperparameters:
    """Read and validate every hyperparameter, then the rules between them.

    Args:
        raw: name -> value, strings (command-line arguments) or typed values (JSON). ``None`` and ``""``
            mean "not set". SageMaker's framework keys (``sagemaker_*``, ``_tuning_objective_metric``) are
            ignored.

    Returns:
        The typed hyperparameters, with the seed's defaults for the ones not given.

    Raises:
        SpecError: an unknown name (with the closest known one), a missing required one, or a value that breaks
            a rule; the path is ``hyperparameters.<name>``.
    """
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name in _IGNORED or name.startswith(_IGNORED_PREFIXES):
            continue
        h = _BY_NAME.get(name)
        if h is None:
            hint = did_you_mean(name, _BY_NAME)
            raise SpecError(
                f"image-classification has no hyperparameter {name!r}.{hint} Remove it or fix its name; the "
                f"hyperparameters are listed in docs/image-classification.md.",
                path=f"hyperparameters.{name}",
            )
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        values[name] = _READERS[h.kind](h, value)
    missing = [h.name for h in HYPERPARAMETERS if h.required and h.name not in values]
    if missing:
        raise SpecError(
            f"the required hyperparameter(s) {', '.join(missing)} are missing. Set them, e.g. "
            f"--num_classes 10 --num_training_samples 50000 (static_hyperparameters in a tuning job).",
            path=f"hyperparameters.{missing[0]}",
        )
    hp = ImageClassificationHyperparameters(**values)
    _check_rules(hp)
    return hp


def _check_rules(hp: ImageClassificationHyperparameters) -> None:
    """The rules between hyperparameters."""
    if hp.checkpoint_frequency is not None and hp.checkpoint_frequency > hp.epochs:
        raise SpecError(
            f"checkpoint_frequency must be at most epochs ({hp.epochs}), got {hp.checkpoint_frequency}: no "
            f"checkpoint would ever be written. Use a value from 1 to {hp.epochs}.",
            path="hyperparameters.checkpoint_frequency",
        )
    _, height, width = hp.image_shape
    if hp.resize is not None and hp.resize < max(height, width):
        raise SpecError(
            f"resize ({hp.resize}) must be at least the image_shape height and width ({height}x{width}): the "
            f"resized image could not be cropped to {height}x{width}. Use resize >= {max(height, width)}, or a "
            "smaller image_shape.",
            path="hyperparameters.resize",
        )
    if hp.top_k is not None and hp.top_k > hp.num_classes:
        raise SpecError(
            f"top_k ({hp.top_k}) must be at most num_classes ({hp.num_classes}): a top-{hp.top_k} accuracy "
            f"over {hp.num_classes} classes is always 1. Use a top_k from 2 to {hp.num_classes}, or leave it out.",
            path="hyperparameters.top_k",
        )
    if hp.optimizer == "adam":
        for name in ("beta_1", "beta_2"):
            if getattr(hp, name) >= 1.0:
                raise SpecError(
                    f"{name} must be below 1 with the adam optimizer, got {getattr(hp, name)}: the moment "
                    f"estimates would never forget and adam divides by (1 - {name}^t) = 0. Use e.g. "
                    f"{_BY_NAME[name].default}.",
                    path=f"hyperparameters.{name}",
                )
    if hp.optimizer == "nag" and hp.momentum <= 0.0:
        raise SpecError(
            f"the nag optimizer (Nesterov momentum) needs momentum > 0, got {hp.momentum}. Use e.g. momentum "
            "0.9, or the sgd optimizer for plain gradient descent.",
            path="hyperparameters.momentum",
        )
    if hp.use_pretrained_model and hp.num_layers not in LARGE_IMAGE_DEPTHS:
        raise SpecError(
            f"use_pretrained_model needs a num_layers from {list(LARGE_IMAGE_DEPTHS)} (the ImageNet-style "
            f"networks, as in SageMaker), got {hp.num_layers}. Pick one of them, or set use_pretrained_model 0.",
            path="hyperparameters.num_layers",
        )


def notes(hp: ImageClassificationHyperparameters) -> list[str]:
    """Things worth saying about valid hyperparameters that have no effect here."""
    out = []
    if hp.kv_store is not None:
        out.append(f"kv_store {hp.kv_store!r} is ignored: this is single-machine training (no parameter server).")
    if hp.use_weighted_loss and not hp.multi_label:
        out.append("use_weighted_loss is ignored: it applies to multi-label training (multi_label 1) only.")
    if hp.top_k is not None and hp.multi_label:
        out.append("top_k is ignored with multi_label 1: top-k accuracy needs one true class per image; "
                   "validation:f1 is reported instead.")
    if hp.lr_scheduler_step and hp.lr_scheduler_step[-1] >= hp.epochs:
        late = [s for s in hp.lr_scheduler_step if s >= hp.epochs]
        out.append(f"lr_scheduler_step {','.join(map(str, late))} is at or after the last epoch ({hp.epochs}): "
                   "the rate never changes there.")
    return out


# ---------------------------------------------------------------------------------------------------------------
# tuning defaults

_COMMON_RANGES: dict[str, dict[str, Any]] = {
    "learning_rate": {"type": "continuous", "min_value": 1e-4, "max_value": 0.5, "scaling": "logarithmic"},
    "mini_batch_size": {"type": "discrete", "values": [32, 64, 128, 256], "scaling": "logarithmic"},
    "momentum": {"type": "continuous", "min_value": 0.8, "max_value": 0.99, "scaling": "reverse_logarithmic"},
    "weight_decay": {"type": "continuous", "min_value": 1e-6, "max_value": 1e-2, "scaling": "logarithmic"},
    "optimizer": {"type": "categorical", "values": ["sgd", "nag", "adam", "rmsprop"]},
}


def default_ranges(static: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """The published ranges for tuning, with ResNet depths of the family that fits the image size.

    Images of at most 64x64 pixels (``image_shape`` in ``static``) get the small-image depths 20, 32, 44, 56
    (110 is left out of the default: it costs 5 times ResNet-20 for little gain on small data); larger ones
    (the default 3,224,224) get 18, 34, 50.

    >>> default_ranges({"image_shape": "3,32,32"})["num_layers"]["values"]
    [20, 32, 44, 56]
    >>> default_ranges()["num_layers"]["values"]
    [18, 34, 50]
    """
    static = static or {}
    shape = (3, 224, 224)
    if static.get("image_shape") is not None:
        try:
            shape = _as_shape(_BY_NAME["image_shape"], static["image_shape"])
        except SpecError as exc:
            raise SpecError(exc.message, path="static_hyperparameters.image_shape") from None
    small = max(shape[1], shape[2]) <= 64
    depths = [20, 32, 44, 56] if small else [18, 34, 50]
    ranges = {name: dict(r) for name, r in _COMMON_RANGES.items()}
    ranges["num_layers"] = {"type": "categorical", "values": depths}
    return ranges


ALGORITHM: Any  # set below; typed Any to keep the registry import light
from hyperjob.algorithms import BuiltinAlgorithm  # noqa: E402  (the registry imports this module lazily)

ALGORITHM = BuiltinAlgorithm(
    name="image-classification",
    module="hyperjob.algorithms.image_classification",
    metric_definitions=METRIC_DEFINITIONS,
    objective=Objective("validation:accuracy", Direction.MAXIMIZE),
    default_ranges=default_ranges(),
    default_static={},
    required=("num_classes", "num_training_samples"),
    description="ResNet image classifier (SageMaker's image-classification hyperparameters)",
    hyperparameters=tuple(h.name for h in HYPERPARAMETERS),
    ranges_for="hyperjob.algorithms.image_classification.hyperparameters:default_ranges",
)


def describe_table() -> str:
    """The table as Markdown (the source of the table in ``docs/image-classification.md``)."""
    lines = ["| name | valid values | default | meaning |", "|---|---|---|---|"]
    for h in HYPERPARAMETERS:
        if h.required or h.default is None:
            default = "required" if h.required else "not set"
        elif isinstance(h.default, bool):
            default = ("1" if h.default else "0") if h.allowed == "0 or 1" else str(h.default)
        elif isinstance(h.default, tuple):
            default = ",".join(map(str, h.default))
        else:
            default = str(h.default)
        name = f"`{h.name}`" + (" (extension)" if h.extension else "")
        lines.append(f"| {name} | {h.allowed} | {default} | {h.help} |")
    return "\n".join(lines)
