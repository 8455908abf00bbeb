"""Tabulated learning curves for ``benchmarks/multifidelity.py``: three tasks, 27 epochs, N Sobol configurations.

- ``digits_mlp``: a torch MLP on scikit-learn's 8x8 digits (600 train / 600 validation / 597 test), validation
  accuracy, maximized; 8 hyperparameters.
- ``digits_cnn``: a small torch conv net (two 3x3 convolutions, a max-pool, a dense layer) on the same images;
  7 hyperparameters.
- ``cancer_sgd``: scikit-learn's ``SGDClassifier`` (log-loss) with one ``partial_fit`` pass per epoch on
  breast_cancer (285 / 142 / 142), validation log-loss, minimized; 7 hyperparameters.

Each task's table holds, for N configurations (the first N points of a scrambled Sobol sequence with a fixed
seed, mapped onto the ranges), the validation and test value after every epoch. Training is deterministic (the
seed of configuration i is i), so the table is a pure function of the task and N; it is cached as
``benchmarks/results/raw/multifidelity/<task>-<N>-v<VERSION>.npz`` and rebuilt when missing.

A suggestion outside the table is mapped to the **nearest tabulated configuration not used yet in the run**
(:class:`RowMap`; ``nearest`` mode: used or not) in the normalized space:
every numeric hyperparameter scaled to [0, 1] (on a log scale where its range is logarithmic), a categorical one
adding 1 to the squared distance when it differs (so a row with the same categories always wins unless none
is within distance 1).
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

__all__ = ["MAX_EPOCHS", "TASKS", "RowMap", "Table", "Task", "load_table"]

MAX_EPOCHS = 27
VERSION = 1
LOSS_CAP = 10.0
RAW = Path(__file__).resolve().parent / "results" / "raw" / "multifidelity"
_SPLIT_SEED = 20261123


def _lin(lo: float, hi: float) -> dict[str, Any]:
    return {"type": "continuous", "min_value": lo, "max_value": hi}


def _log(lo: float, hi: float, kind: str = "continuous") -> dict[str, Any]:
    return {"type": kind, "min_value": lo, "max_value": hi, "scaling": "logarithmic"}


def _cat(*values: str) -> dict[str, Any]:
    return {"type": "categorical", "values": list(values)}


@dataclass
class Task:
    """One tuning task: its ranges (job.yaml syntax), objective and the training that makes its table.

    Attributes:
        name: short name used in tables and file names.
        ranges: the tuned hyperparameters, as ``hyperjob.tune`` / ``AskTell`` take them.
        objective: the objective metric's name.
        maximize: whether larger is better.
        n_configs: rows of the full table.
        train: ``train(config, seed) -> (validation values, test values)``, one per epoch.
    """

    name: str
    ranges: dict[str, Any]
    objective: str
    maximize: bool
    n_configs: int
    train: Callable[[dict[str, Any], int], tuple[list[float], list[float]]] = field(repr=False)

    @property
    def space(self) -> dict[str, Any]:
        """Ranges plus the static ``epochs`` (what hyperband reads its ``max_resource`` from)."""
        return {**self.ranges, "epochs": MAX_EPOCHS}

    def better(self, a: float, b: float) -> bool:
        """``a`` strictly better than ``b``."""
        return a > b if self.maximize else a < b


# ------------------------------------------------------------------------------------------------ data
_DATA: dict[str, Any] = {}


def _split(name: str) -> tuple[np.ndarray, ...]:
    if name in _DATA:
        return _DATA[name]
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    if name == "digits":
        x, y = datasets.load_digits(return_X_y=True)
        n_train, n_val, n_test = 600, 600, 597
    else:
        x, y = datasets.load_breast_cancer(return_X_y=True)
        n_train, n_val, n_test = 285, 142, 142
    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=n_test, stratify=y, random_state=_SPLIT_SEED)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, train_size=n_train, test_size=n_val, stratify=y_rest, random_state=_SPLIT_SEED + 1)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-8
    out = tuple((a - mean) / std for a in (x_train, x_val, x_test)) + (y_train, y_val, y_test)
    _DATA[name] = out
    return out


def _torch_train(config: dict[str, Any], seed: int, build: Callable[[dict[str, Any]], Any],
                 shape: tuple[int, ...]) -> tuple[list[float], list[float]]:
    import torch
    from torch import nn

    torch.set_num_threads(1)
    xtr, xva, xte, ytr, yva, yte = _split("digits")
    t = lambda a: torch.as_tensor(a, dtype=torch.float32).reshape((-1, *shape))  # noqa: E731
    x_train, x_eval = t(xtr), torch.cat([t(xva), t(xte)])
    y_train, y_val, y_test = (torch.as_tensor(a, dtype=torch.long) for a in (ytr, yva, yte))
    torch.manual_seed(seed)
    model = build(config)
    lr, wd, mom = float(config["lr"]), float(config["weight_decay"]), float(config["momentum"])
    if config.get("optimizer", "sgd") == "sgd":
        opt: Any = torch.optim.SGD(model.parameters(), lr=lr, momentum=mom, weight_decay=wd)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(mom, 0.999), weight_decay=wd)
    loss_fn = nn.CrossEntropyLoss()
    n, n_val, bs = x_train.shape[0], y_val.shape[0], int(config["batch_size"])
    vals, tests = [], []
    for _ in range(MAX_EPOCHS):
        model.train()
        order = torch.randperm(n)
        for start in range(0, n, bs):
            idx = order[start:start + bs]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            if torch.isfinite(loss):
                loss.backward()
                opt.step()
        model.eval()
        with torch.no_grad():
            pred = model(x_eval).argmax(dim=1)
        vals.append(float((pred[:n_val] == y_val).float().mean()))
        tests.append(float((pred[n_val:] == y_test).float().mean()))
    return vals, tests


def _mlp(config: dict[str, Any]) -> Any:
    from torch import nn

    layers: list[Any] = []
    width = 64
    for _ in range(int(config["layers"])):
        layers += [nn.Linear(width, int(config["hidden"])), nn.ReLU(), nn.Dropout(float(config["dropout"]))]
        width = int(config["hidden"])
    return nn.Sequential(*layers, nn.Linear(width, 10))


def _cnn(config: dict[str, Any]) -> Any:
    from torch import nn

    c = int(config["channels"])
    return nn.Sequential(
        nn.Conv2d(1, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(float(config["dropout"])), nn.Linear(2 * c * 16, int(config["dense"])), nn.ReLU(),
        nn.Linear(int(config["dense"]), 10))


def train_digits_mlp(config: dict[str, Any], seed: int) -> tuple[list[float], list[float]]:
    return _torch_train(config, seed, _mlp, (64,))


def train_digits_cnn(config: dict[str, Any], seed: int) -> tuple[list[float], list[float]]:
    return _torch_train(config, seed, _cnn, (1, 8, 8))


def train_cancer_sgd(config: dict[str, Any], seed: int) -> tuple[list[float], list[float]]:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier
    from sklearn.metrics import log_loss

    xtr, xva, xte, ytr, yva, yte = _split("breast_cancer")
    model = SGDClassifier(
        loss="log_loss", penalty=config["penalty"], alpha=float(config["alpha"]), l1_ratio=float(config["l1_ratio"]),
        learning_rate=config["learning_rate"], eta0=float(config["eta0"]), power_t=float(config["power_t"]),
        average=config["average"] == "yes", random_state=seed)
    vals, tests = [], []
    for _ in range(MAX_EPOCHS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            model.partial_fit(xtr, ytr, classes=np.array([0, 1]))
        scores = []
        for x, y in ((xva, yva), (xte, yte)):
            with np.errstate(all="ignore"):
                p = model.predict_proba(x)
            loss = log_loss(y, np.clip(np.nan_to_num(p, nan=0.5), 1e-15, 1 - 1e-15), labels=[0, 1]) \
                if np.all(np.isfinite(p)) else LOSS_CAP
            scores.append(min(float(loss), LOSS_CAP))
        vals.append(scores[0])
        tests.append(scores[1])
    return vals, tests


TASKS: dict[str, Task] = {
    "digits_mlp": Task("digits_mlp", {
        "lr": _log(1e-4, 1.0), "weight_decay": _log(1e-6, 1e-1), "optimizer": _cat("sgd", "adam"),
        "momentum": _lin(0.0, 0.99), "hidden": _log(8, 128, "integer"),
        "layers": {"type": "integer", "min_value": 1, "max_value": 3}, "dropout": _lin(0.0, 0.6),
        "batch_size": _log(32, 512, "integer")}, "validation:accuracy", True, 512, train_digits_mlp),
    "digits_cnn": Task("digits_cnn", {
        "lr": _log(1e-3, 1.0), "weight_decay": _log(1e-6, 1e-1), "momentum": _lin(0.0, 0.99),
        "channels": _log(4, 32, "integer"), "dense": _log(16, 128, "integer"), "dropout": _lin(0.0, 0.6),
        "batch_size": _log(32, 512, "integer")}, "validation:accuracy", True, 256, train_digits_cnn),
    "cancer_sgd": Task("cancer_sgd", {
        "alpha": _log(1e-7, 1e-1), "penalty": _cat("l2", "l1", "elasticnet"), "l1_ratio": _lin(0.0, 1.0),
        "learning_rate": _cat("constant", "optimal", "invscaling", "adaptive"), "eta0": _log(1e-5, 1.0),
        "power_t": _lin(0.1, 1.0), "average": _cat("no", "yes")}, "validation:loss", False, 1024, train_cancer_sgd),
}


# ------------------------------------------------------------------------------------------------ the table
def to_unit(ranges: dict[str, Any], config: dict[str, Any]) -> tuple[np.ndarray, list[int]]:
    """The normalized coordinates of ``config``: numeric ones in [0, 1], categorical ones as their index."""
    num, cat = [], []
    for name, r in ranges.items():
        v = config[name]
        if r["type"] == "categorical":
            cat.append(r["values"].index(v))
            continue
        lo, hi, v = float(r["min_value"]), float(r["max_value"]), float(v)
        if r.get("scaling") == "logarithmic":
            lo, hi, v = math.log(lo), math.log(hi), math.log(v)
        num.append((v - lo) / (hi - lo))
    return np.array(num, dtype=float), cat


def from_unit(ranges: dict[str, Any], u: np.ndarray) -> dict[str, Any]:
    """A configuration from a point of the unit cube (one coordinate per hyperparameter)."""
    config: dict[str, Any] = {}
    for x, (name, r) in zip(u, ranges.items()):
        if r["type"] == "categorical":
            config[name] = r["values"][min(int(x * len(r["values"])), len(r["values"]) - 1)]
            continue
        lo, hi = float(r["min_value"]), float(r["max_value"])
        log = r.get("scaling") == "logarithmic"
        v = math.exp(math.log(lo) + x * (math.log(hi) - math.log(lo))) if log else lo + x * (hi - lo)
        config[name] = min(max(int(round(v)), int(lo)), int(hi)) if r["type"] == "integer" else v
    return config


@dataclass
class Table:
    """The tabulated curves of one task: ``val[i, e]`` / ``test[i, e]`` after epoch ``e + 1`` of row ``i``."""

    task: Task
    configs: list[dict[str, Any]]
    val: np.ndarray
    test: np.ndarray
    num: np.ndarray = field(init=False, repr=False)
    cat: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        units = [to_unit(self.task.ranges, c) for c in self.configs]
        self.num = np.array([u for u, _ in units])
        self.cat = np.array([c for _, c in units], dtype=int).reshape(len(units), -1)

    def __len__(self) -> int:
        return len(self.configs)

    def nearest(self, config: dict[str, Any], used: np.ndarray | None = None) -> int:
        """The row nearest to ``config`` in the normalized space (see the module docstring); with ``used`` (a
        boolean mask), the nearest row not used yet, while one is left."""
        num, cat = to_unit(self.task.ranges, config)
        d = ((self.num - num) ** 2).sum(axis=1)
        if self.cat.shape[1]:
            d = d + (self.cat != np.array(cat)).sum(axis=1)
        if used is not None and not used.all():
            d = np.where(used, np.inf, d)
        return int(np.argmin(d))


class RowMap:
    """Maps a method's configurations to table rows for one run.

    ``unused`` (the default): each new configuration gets the nearest row *not used yet in this run* (rows drawn
    without replacement, as the reference methods draw them), so no method pays twice for one row; ``nearest``:
    the nearest row, used or not. A configuration resumed or told again (same ``key``) keeps its row.
    """

    def __init__(self, table: Table, mode: str = "unused") -> None:
        if mode not in ("unused", "nearest"):
            raise ValueError(f"mapping must be 'unused' or 'nearest', got {mode!r}")
        self.table, self.mode = table, mode
        self.used = np.zeros(len(table), dtype=bool)
        self.rows: dict[Any, int] = {}

    def row(self, key: Any, config: dict[str, Any]) -> int:
        if key not in self.rows:
            row = self.table.nearest(config, self.used if self.mode == "unused" else None)
            self.used[row] = True
            self.rows[key] = row
        return self.rows[key]


def _sobol_configs(task: Task, n: int) -> list[dict[str, Any]]:
    from scipy.stats import qmc

    points = qmc.Sobol(len(task.ranges), scramble=True, seed=_SPLIT_SEED).random(n)
    return [from_unit(task.ranges, p) for p in points]


def _train_rows(args: tuple[str, list[dict[str, Any]], int]) -> list[tuple[list[float], list[float]]]:
    name, configs, first = args
    return [TASKS[name].train(c, first + i) for i, c in enumerate(configs)]


def load_table(name: str, n: int | None = None, jobs: int = 1, log: Callable[[str], None] = print) -> Table:
    """The table of task ``name`` with ``n`` rows (default: the task's ``n_configs``), built when not cached."""
    task = TASKS[name]
    n = n or task.n_configs
    path = RAW / f"{name}-{n}-v{VERSION}.npz"
    configs = _sobol_configs(task, n)
    if path.exists():
        data = np.load(path)
        return Table(task, configs, data["val"], data["test"])
    started = time.perf_counter()
    chunk = max(1, math.ceil(n / (4 * jobs)))
    parts = [(name, configs[i:i + chunk], i) for i in range(0, n, chunk)]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            rows = [r for part in pool.map(_train_rows, parts) for r in part]
    else:
        rows = [r for part in map(_train_rows, parts) for r in part]
    val = np.array([v for v, _ in rows], dtype=float)
    test = np.array([t for _, t in rows], dtype=float)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, val=val, test=test)
    tmp.replace(path)
    log(f"tabulated {name}: {n} configurations x {MAX_EPOCHS} epochs in {time.perf_counter() - started:.0f} s -> {path}")
    return Table(task, configs, val, test)
