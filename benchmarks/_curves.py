"""Real learning curves for ``benchmarks/multifidelity.py``: small torch MLPs trained epoch by epoch.

Two problems on data sets scikit-learn ships (no download):

- ``digits_mlp``: 8x8 handwritten digits (1,797 images, 10 classes), validation **accuracy**, maximized;
- ``cancer_mlp``: breast_cancer (569 samples, 30 features, 2 classes), validation **log-loss**, minimized.

Each splits its data once (fixed seed) into train / validation / test, standardizes the features on the train
split and keeps everything as torch tensors, so that an epoch costs a few milliseconds on one thread. The
training of a configuration is deterministic (the torch seed is derived from the configuration), so each
problem is a fixed function ``(configuration, epoch) -> (validation value, test value)``: what differs between
tuning methods is only which configurations they train and for how many epochs.

Seven tuned hyperparameters per problem (learning rate and weight decay on a log scale, optimizer, momentum,
hidden units, layers, dropout, batch size); ``epochs`` (27) is static. The training loop calls
``on_epoch(epoch, validation_value, test_value)`` after every epoch; the caller counts the epoch and may stop
the training by raising (``hyperjob.report`` raises ``StopTrainingJob``, Optuna's pruning ``TrialPruned``).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

__all__ = ["MAX_EPOCHS", "Problem", "PROBLEMS", "problem"]

#: Maximum resource: epochs of a full training.
MAX_EPOCHS = 27

#: A loss that diverged (NaN or larger) is reported as this value, so that every method sees a finite number.
LOSS_CAP = 10.0

_SPLIT_SEED = 20261123


def _common_ranges() -> dict[str, Any]:
    """The seven tuned hyperparameters (job.yaml ``hyperparameter_ranges`` syntax), shared by both problems."""
    return {
        "lr": {"type": "continuous", "min_value": 1e-4, "max_value": 1.0, "scaling": "logarithmic"},
        "weight_decay": {"type": "continuous", "min_value": 1e-6, "max_value": 1e-1, "scaling": "logarithmic"},
        "optimizer": {"type": "categorical", "values": ["sgd", "adam"]},
        "momentum": {"type": "continuous", "min_value": 0.0, "max_value": 0.99},
        "hidden": {"type": "integer", "min_value": 8, "max_value": 128, "scaling": "logarithmic"},
        "layers": {"type": "integer", "min_value": 1, "max_value": 3},
        "dropout": {"type": "continuous", "min_value": 0.0, "max_value": 0.6},
        "batch_size": {"type": "integer", "min_value": 64, "max_value": 512, "scaling": "logarithmic"},
    }


@dataclass
class _Data:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int
    x_eval: torch.Tensor = field(init=False)

    def __post_init__(self) -> None:
        self.x_eval = torch.cat([self.x_val, self.x_test])


def _load(name: str) -> _Data:
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    if name == "digits":
        x, y = datasets.load_digits(return_X_y=True)
        n_train = 600  # a small training set keeps the problem hard (and epochs cheap)
        n_val, n_test = 600, 597
    elif name == "breast_cancer":
        x, y = datasets.load_breast_cancer(return_X_y=True)
        n_train = 285
        n_val, n_test = 142, 142
    else:  # pragma: no cover - our own table
        raise ValueError(name)
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=n_test, stratify=y, random_state=_SPLIT_SEED)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, train_size=n_train, test_size=n_val, stratify=y_rest, random_state=_SPLIT_SEED + 1)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-8

    def tx(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor((a - mean) / std, dtype=torch.float32)

    def ty(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch.long)

    return _Data(tx(x_train), ty(y_train), tx(x_val), ty(y_val), tx(x_test), ty(y_test), int(y.max()) + 1)


def _config_seed(config: dict[str, Any]) -> int:
    """A torch seed derived from the tuned values, so that training a configuration is deterministic."""
    text = json.dumps({k: config[k] for k in sorted(_common_ranges())}, sort_keys=True, default=str)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def _build_model(config: dict[str, Any], n_in: int, n_out: int) -> nn.Module:
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(int(config["layers"])):
        layers += [nn.Linear(width, int(config["hidden"])), nn.ReLU()]
        if float(config["dropout"]) > 0:
            layers.append(nn.Dropout(float(config["dropout"])))
        width = int(config["hidden"])
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


def _build_optimizer(config: dict[str, Any], params: Any) -> torch.optim.Optimizer:
    lr, wd, momentum = float(config["lr"]), float(config["weight_decay"]), float(config["momentum"])
    if config["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=wd, foreach=True)
    # adam: momentum is its first-moment decay (beta1)
    return torch.optim.Adam(params, lr=lr, betas=(momentum, 0.999), weight_decay=wd, foreach=True)


@dataclass
class Problem:
    """One tuning problem: a data set, a model family, the ranges and the objective.

    Attributes:
        name: short name used in tables and file names.
        dataset: scikit-learn data set.
        objective: the objective metric's name (as reported to hyperjob).
        maximize: whether larger is better.
        max_epochs: the maximum resource (epochs of a full training).
    """

    name: str
    dataset: str
    objective: str
    maximize: bool
    max_epochs: int = MAX_EPOCHS
    _data: _Data | None = field(default=None, repr=False)

    @property
    def ranges(self) -> dict[str, Any]:
        """The tuned hyperparameters, in job.yaml ``hyperparameter_ranges`` syntax."""
        return _common_ranges()

    @property
    def space(self) -> dict[str, Any]:
        """Ranges plus the static ``epochs`` (hyperjob's ``space`` argument)."""
        return {**self.ranges, "epochs": self.max_epochs}

    def data(self) -> _Data:
        if self._data is None:
            self._data = _load(self.dataset)
        return self._data

    def better(self, a: float, b: float) -> bool:
        """``a`` strictly better than ``b``."""
        return a > b if self.maximize else a < b

    def train(self, config: dict[str, Any], on_epoch: Callable[[int, float, float], None],
              max_epochs: int | None = None) -> float:
        """Train ``config`` for up to ``max_epochs`` epochs, calling ``on_epoch`` after each one.

        Args:
            config: the tuned hyperparameters (extra keys are ignored).
            on_epoch: called as ``on_epoch(epoch, validation_value, test_value)`` with epoch = 1, 2, ...; it may
                raise to end the training.
            max_epochs: default: the problem's maximum resource.

        Returns:
            The validation value after the last epoch.
        """
        torch.set_num_threads(1)
        d = self.data()
        torch.manual_seed(_config_seed(config))
        model = _build_model(config, d.x_train.shape[1], d.n_classes)
        opt = _build_optimizer(config, model.parameters())
        loss_fn = nn.CrossEntropyLoss()
        n = d.x_train.shape[0]
        n_val = d.x_val.shape[0]
        bs = int(config["batch_size"])
        value = math.nan
        for epoch in range(1, (max_epochs or self.max_epochs) + 1):
            model.train()
            order = torch.randperm(n)
            for start in range(0, n, bs):
                idx = order[start:start + bs]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(d.x_train[idx]), d.y_train[idx])
                loss.backward()
                opt.step()
            model.eval()
            with torch.no_grad():  # validation and test in one forward pass
                logits = model(d.x_eval)
                value = self._score(logits[:n_val], d.y_val)
                test = self._score(logits[n_val:], d.y_test)
            on_epoch(epoch, value, test)
        return value

    def _score(self, logits: torch.Tensor, y: torch.Tensor) -> float:
        if self.objective.endswith("accuracy"):
            return float((logits.argmax(dim=1) == y).float().mean())
        loss = float(nn.functional.cross_entropy(logits, y))
        return loss if math.isfinite(loss) and loss < LOSS_CAP else LOSS_CAP


#: The problems of the benchmark, by name.
PROBLEMS: dict[str, Problem] = {
    "digits_mlp": Problem("digits_mlp", "digits", "validation:accuracy", maximize=True),
    "cancer_mlp": Problem("cancer_mlp", "breast_cancer", "validation:loss", maximize=False),
}


def problem(name: str) -> Problem:
    """The problem called ``name`` (a key of :data:`PROBLEMS`)."""
    return PROBLEMS[name]
