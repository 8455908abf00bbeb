"""The graph training program: ``python -m hyperjob.algorithms.graph --model rgcn --num-hidden 32 ...``.

It reads the :class:`~hyperjob.algorithms.graph.processed.ProcessedGraph` of the ``train`` channel
(``HYPERJOB_CHANNEL_TRAIN`` or ``SM_CHANNEL_TRAIN``, or ``--train DIR``), trains one model with the given
hyperparameters, evaluates it on the validation split as ``eval_frequency`` says, stops early as Neptune ML does,
saves the best model and writes the test split's predictions and embeddings.

Arguments (``--name value`` or ``--name=value``; ``_`` and ``-`` are the same in names):

* ``--model``: ``rgcn``, ``transe``, ``distmult`` or ``rotate`` (required).
* ``--task`` (or ``--task-type``): ``node_class``, ``node_regression`` or ``link_prediction``; default: the
  processed graph's task (a different one is an error).
* ``--eval-metric``: acc, acc_topk, F1, precision, recall, roc_auc (node_class), mse (node_regression), mrr,
  roc_auc (link_prediction); default per task (:func:`~hyperjob.algorithms.graph.metrics.default_metric`).
  ``--topk K`` goes with ``acc_topk`` (default 3).
* ``--eval-frequency-type``: ``evaluate_every_epoch`` (default), ``evaluate_every_batch`` or
  ``evaluate_every_pct``; ``--eval-frequency-value``: epochs or batches per evaluation (whole number >= 1,
  default 1), or the fraction of all training batches between evaluations (in (0, 1]).
* ``--seed`` (default 0), ``--device`` (``cpu``, ``cuda``, ``auto``: default ``cpu``).
* ``--train DIR``, ``--model-dir DIR``, ``--output-dir DIR``, ``--checkpoint-dir DIR``: override the channel and
  the environment's ``HYPERJOB_MODEL_DIR``/``SM_MODEL_DIR``, ``HYPERJOB_OUTPUT_DIR``/``SM_OUTPUT_DATA_DIR`` and
  ``HYPERJOB_CHECKPOINT_DIR``/``SM_CHECKPOINT_DIR``.
* every hyperparameter of :mod:`~hyperjob.algorithms.graph.hyperparameters` that applies to the model and task;
  any other is an error naming the model. Neptune's ``global-norm`` (rgcn) is accepted and ignored, with one
  ``warning: hyperparameter 'global-norm' ... is accepted and ignored: ...`` line in the log.

Each evaluation prints one line, e.g. ``[epoch 3 batch 12] validation acc=0.812500 train_loss=0.431000`` (the
built-in algorithm's metric definitions read it as ``validation:acc``, ``train:loss``...), and calls
``hyperjob.report(step=<epoch>, acc=..., train_loss=...)`` with the metric's own name (the objective of a
``model-HPO-configuration.json``'s ``eval_metric``). The step is the epoch the evaluation belongs to, counted
from 0 as the image-classification program does: 0 after the first epoch with ``evaluate_every_epoch`` 1, and
the epoch in progress for an evaluation inside an epoch (hyperband uses the step as the resource). Early stopping (``enable-early-stop``, on by default): after an evaluation whose metric is
worse than the average of the ``window-for-early-stop`` evaluations before it, training stops. The best
evaluation's model is kept: ``model.pt`` (state dict, model, task, hyperparameters) and ``hyperparameters.json``
in the model dir. **One rule for the objective and the saved model**: the tuner takes a training job's last
reported value as its objective (SageMaker's final metric), so the program ends with one more report of the
metric, at the last evaluation's step, with the saved (best) model's value: the tuning job's objective, its
best training job and ``model.pt`` agree (``describe`` shows the value ``model.pt`` holds); ``predictions.csv`` and ``embeddings.pt`` for the test split (the validation split when the
test split is empty) in the output dir.

**Checkpoints and resume** (the pause/resume contract of docs/early-stopping.md, for hyperband's promotions):
with a checkpoint folder, the program writes ``checkpoint.pt`` there after every epoch (the modules, the
optimizers, the random generators, the evaluations so far and the best model), replacing the previous one, and
with ``evaluate_every_epoch`` before that epoch's validation line, with SIGTERM held until both are out. At
start it resumes from the folder's checkpoint (``resuming from ... after epoch N``): the epochs it holds are not
trained again, and a resumed run reports what the uninterrupted run would have (same batches, same samples).
A checkpoint of another model, task or hyperparameters is refused (use an empty folder).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from hyperjob.algorithms._checkpointing import save_atomic, sigterm_held
from hyperjob.algorithms.graph.hyperparameters import (
    METRICS_BY_TASK,
    MODEL_TASKS,
    check_hyperparameters,
    ignored_warnings,
)
from hyperjob.errors import HyperjobError, SpecError

__all__ = ["TrainResult", "train", "parse_arguments", "main", "EVAL_FREQUENCY_TYPES", "CONTROL_OPTIONS"]

EVAL_FREQUENCY_TYPES = ("evaluate_every_epoch", "evaluate_every_batch", "evaluate_every_pct")
#: options of the program that are not model hyperparameters
CONTROL_OPTIONS = (
    "model", "task", "task-type", "eval-metric", "topk", "eval-frequency-type", "eval-frequency-value", "seed",
    "device", "train", "model-dir", "output-dir", "checkpoint-dir",
)
#: the checkpoint file in the checkpoint folder
CHECKPOINT = "checkpoint.pt"


@dataclass
class TrainResult:
    """What a training run did.

    Attributes:
        eval_metric: the metric evaluated; best: its best validation value; best_step: the step of that value.
        evaluations: every evaluation: ``{"step", "batch", "metrics"}``.
        stopped_early: whether early stopping ended training.
        epochs: epochs trained (a partial epoch counts); batches: mini-batches trained.
        items_per_s: training items (target nodes or edges) per second of training steps.
        test: metrics of the best model on the test split (empty when there is no test split).
        files: files written.
    """

    eval_metric: str
    best: float
    best_step: int
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    stopped_early: bool = False
    epochs: float = 0.0
    batches: int = 0
    items_per_s: float = 0.0
    test: dict[str, float] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def _check_eval(task: str, multi_label: bool, eval_metric: str | None, topk: Any, freq_type: str,
                freq_value: Any) -> tuple[str | None, int | None, str, float]:
    if eval_metric is not None and eval_metric not in METRICS_BY_TASK[task]:
        raise SpecError(
            f"eval_metric {eval_metric!r} does not apply to task {task!r}; use one of "
            f"{', '.join(METRICS_BY_TASK[task])}.",
            path="eval_metric",
        )
    if eval_metric == "acc_topk" and multi_label:
        raise SpecError("eval_metric 'acc_topk' needs single-label classes, the graph is multi-label. Use "
                        "'roc_auc' (the default), 'acc', 'F1', 'precision' or 'recall'.", path="eval_metric")
    k: int | None = None
    if topk not in (None, ""):
        if eval_metric != "acc_topk":
            raise SpecError(f"topk goes with eval_metric 'acc_topk' only, got it with {eval_metric!r}. Remove "
                            f"topk or use 'acc_topk'.", path="eval_metric.topk")
        try:
            kf = float(topk)
        except (TypeError, ValueError):
            kf = float("nan")
        if not (kf >= 1 and kf.is_integer()):
            raise SpecError(f"topk must be a whole number >= 1, got {topk!r}.", path="eval_metric.topk")
        k = int(kf)
    if freq_type not in EVAL_FREQUENCY_TYPES:
        raise SpecError(f"eval_frequency type must be one of {', '.join(EVAL_FREQUENCY_TYPES)}, got "
                        f"{freq_type!r}.", path="eval_frequency.type")
    try:
        v = float(freq_value)
    except (TypeError, ValueError):
        v = float("nan")
    if freq_type == "evaluate_every_pct":
        if not 0 < v <= 1:
            raise SpecError(f"evaluate_every_pct needs a value in (0, 1] (a fraction of training), got "
                            f"{freq_value!r}.", path="eval_frequency.value")
    elif not (v >= 1 and v.is_integer()):
        unit = "epochs" if freq_type == "evaluate_every_epoch" else "batches"
        raise SpecError(f"{freq_type} needs a whole number of {unit} >= 1, got {freq_value!r}.",
                        path="eval_frequency.value")
    return eval_metric, k, freq_type, v


def train(
    graph: Any,
    model: str,
    hyperparameters: Mapping[str, Any] | None = None,
    *,
    task: str | None = None,
    eval_metric: str | None = None,
    topk: Any = None,
    eval_frequency: tuple[str, Any] = ("evaluate_every_epoch", 1),
    seed: int = 0,
    device: str = "cpu",
    model_dir: str | os.PathLike[str] | None = None,
    output_dir: str | os.PathLike[str] | None = None,
    log: Callable[[str], None] = print,
    report: Callable[..., None] | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
) -> TrainResult:
    """Train one graph model on a processed graph.

    Args:
        graph: a :class:`~hyperjob.algorithms.graph.processed.ProcessedGraph`.
        model: ``rgcn``, ``transe``, ``distmult`` or ``rotate``.
        hyperparameters: name → value (strings as on the command line, or typed); defaults for the rest.
        task: must equal ``graph.task`` when given.
        eval_metric, topk: the validation metric (default per task) and k of ``acc_topk``.
        eval_frequency: ``(type, value)`` as in the module docstring.
        seed: seeds the model initialisation, the batch order and the neighbour and negative samples.
        device: ``cpu``, ``cuda`` or ``auto``.
        model_dir: where the best model goes (nothing saved when None).
        output_dir: where the predictions and embeddings go (nothing written when None).
        log: receives every log line.
        report: called as ``report(step=..., **metrics)`` at every evaluation (default: ``hyperjob.report``).
        checkpoint_dir: where ``checkpoint.pt`` is written after every epoch and resumed from (module docstring);
            None: no checkpoints.

    Returns:
        A :class:`TrainResult`.

    Raises:
        SpecError: a bad model, task, metric, frequency or hyperparameter (the message names it).
    """
    import torch

    from hyperjob.algorithms.graph import metrics as M
    from hyperjob.algorithms.graph._runners import make_runner

    if report is None:
        from hyperjob.report import report as report_fn

        report = report_fn
    if model not in MODEL_TASKS:
        raise SpecError(f"model must be one of {', '.join(MODEL_TASKS)}, got {model!r}.", path="model")
    if task is not None and task != graph.task:
        raise SpecError(
            f"task {task!r} differs from the processed graph's task {graph.task!r}. Process the graph again "
            f"for {task}, or pass --task {graph.task}.",
            path="task",
        )
    task = graph.task
    hp = check_hyperparameters(model, task, dict(hyperparameters or {}))
    for line in ignored_warnings(hp):  # e.g. Neptune's global-norm: accepted, no effect (hyperparameters.py)
        log(line)
    metric, k, freq_type, freq_value = _check_eval(task, graph.multi_label, eval_metric, topk, *eval_frequency)
    if metric is None:
        imbalanced = False
        if task == "node_class" and not graph.multi_label:
            imbalanced = M.is_imbalanced(graph.labels[graph.split["train"]], graph.num_classes)
        metric = M.default_metric(task, graph.multi_label, imbalanced)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    torch.manual_seed(seed)
    runner = make_runner(graph, model, hp, dev, seed, metric, k)
    val_split = "validation" if graph.split.get("validation") is not None and graph.split["validation"].numel() else "train"
    if val_split == "train":
        log("note: the validation split is empty; evaluating on the train split")

    epochs = hp["num-epochs"]
    first_batches = runner.batches()
    per_epoch = max(1, len(first_batches))
    total = epochs * per_epoch
    interval = None
    if freq_type == "evaluate_every_batch":
        interval = int(freq_value)
    elif freq_type == "evaluate_every_pct":
        interval = max(1, math.ceil(freq_value * total))
    result = TrainResult(eval_metric=metric, best=float("nan"), best_step=-1)
    history: list[float] = []
    best_state: dict[str, Any] | None = None
    window = hp["window-for-early-stop"]
    losses: list[float] = []
    step_time = 0.0
    items = 0
    mdir = Path(model_dir) if model_dir is not None else None
    odir = Path(output_dir) if output_dir is not None else None

    last_step = [0]
    cdir = Path(checkpoint_dir) if checkpoint_dir is not None else None
    identity = {"model": model, "task": task, "hyperparameters": hp, "seed": seed, "eval_metric": metric,
                "eval_frequency": [freq_type, freq_value]}

    def evaluate(step: int, batch_no: int, epoch_no: int, checkpoint: bool = False) -> bool:
        """Evaluate, keep the best model, then (``checkpoint``: after writing this epoch's checkpoint) report."""
        nonlocal best_state
        last_step[0] = step
        values = runner.evaluate(val_split)
        value = values[metric]
        train_loss = sum(losses) / len(losses) if losses else float("nan")
        losses.clear()
        shown = {metric: value, **{n: v for n, v in values.items() if n != metric}, "train_loss": train_loss}
        result.evaluations.append({"step": step, "batch": batch_no, "metrics": shown})
        stop = False
        if hp["enable-early-stop"] and len(history) >= window:
            avg = sum(history[-window:]) / window
            if M.is_better(metric, avg, value) or math.isnan(value):
                stop = True
        history.append(value)
        if best_state is None or M.is_better(metric, value, result.best) or (math.isnan(result.best) and not math.isnan(value)):
            result.best, result.best_step = value, step
            best_state = runner.state_dict()
            if mdir is not None:
                _save_model(mdir, best_state, model, task, hp, metric, k, value, step,
                            {"seed": seed, "eval_frequency": {"type": freq_type, "value": freq_value}})
        if checkpoint:
            save_checkpoint(epoch_no, stop)
        log(f"[epoch {epoch_no} batch {batch_no}] validation " + " ".join(f"{n}={v:.6f}" for n, v in shown.items()))
        report(step=step, **shown)
        if stop:
            log(f"early stop: validation {metric}={value:.6f} is worse than the average {avg:.6f} of the last "
                f"{window} evaluations")
        return stop

    batch_no = 0
    last_eval_batch = -1
    stopped = False

    def save_checkpoint(epochs_done: int, stopping: bool = False) -> None:
        """``stopping``: the program's early stopping ends training after this epoch (a resumed run ends too)."""
        if cdir is None:
            return
        cdir.mkdir(parents=True, exist_ok=True)
        save_atomic({
            **identity, "epochs_done": epochs_done, "runner": runner.checkpoint_state(),
            "torch_random": torch.get_rng_state(), "history": list(history), "best": result.best,
            "best_step": result.best_step, "best_state": best_state, "evaluations": result.evaluations,
            "batch_no": batch_no, "last_eval_batch": last_eval_batch, "last_step": last_step[0],
            "stopped": stopped or stopping, "items": items, "step_time": step_time, "losses": list(losses),
        }, cdir / CHECKPOINT)

    start_epoch = 0
    if cdir is not None and (cdir / CHECKPOINT).is_file():
        state = _load_checkpoint(cdir / CHECKPOINT, identity)
        runner.load_checkpoint_state(state["runner"])
        torch.set_rng_state(state["torch_random"])
        history[:] = state["history"]
        result.best, result.best_step, best_state = state["best"], state["best_step"], state["best_state"]
        result.evaluations = list(state["evaluations"])
        batch_no, last_eval_batch, last_step[0] = state["batch_no"], state["last_eval_batch"], state["last_step"]
        stopped, items, step_time = state["stopped"], state["items"], state["step_time"]
        losses[:] = state["losses"]
        start_epoch = state["epochs_done"]
        result.epochs = float(start_epoch)
        log(f"resuming from {cdir / CHECKPOINT} after epoch {start_epoch} ({start_epoch} epochs done)")
    batches = first_batches
    for epoch in range(start_epoch, epochs):
        if stopped:
            break
        if epoch:
            batches = runner.batches()
        for i, b in enumerate(batches):
            t0 = time.perf_counter()
            losses.append(runner.train_step(b))
            step_time += time.perf_counter() - t0
            items += int(b.numel())
            batch_no += 1
            if interval is not None and batch_no % interval == 0:
                last_eval_batch = batch_no
                if evaluate(epoch, batch_no, epoch + 1):
                    stopped = True
                    break
        result.epochs = epoch + (1.0 if not stopped else (i + 1) / max(1, len(batches)))
        if stopped:
            break
        if freq_type == "evaluate_every_epoch" and (epoch + 1) % int(freq_value) == 0:
            last_eval_batch = batch_no
            with sigterm_held():  # the checkpoint and the epoch's line go together (module docstring)
                if evaluate(epoch, batch_no, epoch + 1, checkpoint=True):
                    stopped = True
                    break
        else:
            save_checkpoint(epoch + 1)
    if not stopped and last_eval_batch != batch_no:
        evaluate(epochs - 1, batch_no, epochs)
    result.stopped_early = stopped
    result.batches = batch_no
    result.items_per_s = items / step_time if step_time > 0 else float("nan")
    if best_state is not None:
        runner.load_state_dict(best_state)
    if result.best_step >= 0 and not math.isnan(result.best):
        # the objective is the last value reported: make it the saved model's (see the module docstring)
        log(f"final: the saved model (step {result.best_step}) has validation {metric}={result.best:.6f}")
        report(step=last_step[0], **{metric: result.best})
    test_split = "test" if graph.split.get("test") is not None and graph.split["test"].numel() else None
    if test_split:
        result.test = runner.evaluate(test_split)
        log("test " + " ".join(f"{n}={v:.6f}" for n, v in result.test.items()))
    if odir is not None:
        odir.mkdir(parents=True, exist_ok=True)
        written = runner.write_predictions(test_split or val_split, odir)
        result.files += [str(p) for p in written]
        log(f"wrote {', '.join(str(p) for p in written)} ({test_split or val_split} split)")
    if mdir is not None:
        result.files += [str(mdir / "model.pt"), str(mdir / "hyperparameters.json")]
    log(f"best validation {metric}={result.best:.6f} at step {result.best_step}; {result.batches} batches, "
        f"{result.items_per_s:.1f} items/s")
    return result


def _load_checkpoint(path: Path, identity: Mapping[str, Any]) -> dict[str, Any]:
    """The checkpoint at ``path``, if it belongs to this training run (same model, task, hyperparameters, seed,
    metric and evaluation frequency).

    Raises:
        SpecError: it cannot be read, holds more than tensors and plain data, or belongs to another run.
    """
    import pickle

    import torch

    try:  # weights only: a crafted pickle in a user-set folder must not run code
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, OSError, EOFError) as exc:
        raise SpecError(
            f"the checkpoint {str(path)!r} cannot be loaded ({str(exc).splitlines()[0] if str(exc) else exc!r}). "
            "Delete it or use an empty checkpoint directory.", path="checkpoint_dir",
        ) from None
    changed = [key for key, value in identity.items() if _plain(state.get(key)) != _plain(value)]
    if changed:
        raise SpecError(
            f"the checkpoint {str(path)!r} is of another training run (its {', '.join(changed)} differ). Use an "
            "empty checkpoint directory, or the same model and hyperparameters.", path="checkpoint_dir",
        )
    return state


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _save_model(directory: Path, state: dict[str, Any], model: str, task: str, hp: dict[str, Any], metric: str,
                topk: int | None, value: float, step: int, extra: dict[str, Any]) -> None:
    import torch

    directory.mkdir(parents=True, exist_ok=True)
    info = {"model": model, "task": task, "eval_metric": metric, "topk": topk, "best": value, "step": step,
            **extra, "hyperparameters": hp}
    tmp = directory / "model.pt.tmp"
    torch.save({"state_dict": state, **info}, tmp)
    os.replace(tmp, directory / "model.pt")
    (directory / "hyperparameters.json").write_text(json.dumps(info, indent=1), encoding="utf-8")


def parse_arguments(argv: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Split ``--name value`` arguments into the program's options and the model hyperparameters.

    Returns:
        ``(options, hyperparameters)``, names with ``-`` (``eval_metric`` is read as ``eval-metric``).

    Raises:
        SpecError: an argument that is not ``--name``, or a name without a value.
    """
    options: dict[str, str] = {}
    hps: dict[str, str] = {}
    i = 0
    args = list(argv)
    while i < len(args):
        a = args[i]
        if not a.startswith("--") or len(a) == 2:
            raise SpecError(f"expected --name value, got {a!r} (argument {i + 1}). Pass every hyperparameter as "
                            "--name value.", path="arguments")
        name, eq, value = a[2:].partition("=")
        if not eq:
            if i + 1 >= len(args):
                raise SpecError(f"--{name} has no value. Pass it as --{name} VALUE.", path="arguments")
            value = args[i + 1]
            i += 1
        i += 1
        name = name.replace("_", "-")
        (options if name in CONTROL_OPTIONS else hps)[name] = value
    return options, hps


def _env_dir(explicit: str | None, names: Sequence[str], default: str | None) -> str | None:
    if explicit:
        return explicit
    for n in names:
        if os.environ.get(n):
            return os.environ[n]
    return default


def _check_before_loading(train_dir: str, options: Mapping[str, str], hps: Mapping[str, str]) -> None:
    """Refuse bad hyperparameters before torch is imported: the task comes from ``graph.json`` alone."""
    try:
        doc = json.loads(Path(train_dir, "graph.json").read_text(encoding="utf-8"))
        task, multi_label = doc["task"], bool(doc.get("multi_label", False))
    except (OSError, ValueError, KeyError, TypeError):
        return  # ProcessedGraph.load says what is wrong with the directory
    check_hyperparameters(options["model"], task, hps)
    _check_eval(task, multi_label, options.get("eval-metric"), options.get("topk"),
                options.get("eval-frequency-type", "evaluate_every_epoch"), options.get("eval-frequency-value", 1))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the training program; returns the exit code (0 done, 2 bad input, 1 failure)."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        options, hps = parse_arguments(args)
        if "model" not in options:
            raise SpecError(f"--model is required: one of {', '.join(MODEL_TASKS)}.", path="model")
        train_dir = _env_dir(options.get("train"), ("HYPERJOB_CHANNEL_TRAIN", "SM_CHANNEL_TRAIN"), None)
        if not train_dir:
            raise SpecError("no train channel: set HYPERJOB_CHANNEL_TRAIN (or SM_CHANNEL_TRAIN), or pass --train DIR, "
                            "pointing at a processed graph directory.", path="channels.train")
        _check_before_loading(train_dir, options, hps)
        from hyperjob.algorithms.graph.processed import ProcessedGraph

        graph = ProcessedGraph.load(train_dir)
        seed_raw = options.get("seed", "0")
        try:
            seed = int(seed_raw)
        except ValueError:
            raise SpecError(f"--seed must be a whole number, got {seed_raw!r}.", path="seed") from None
        device = options.get("device", "cpu")
        if device not in ("cpu", "cuda", "auto") and not device.startswith("cuda:"):
            raise SpecError(f"--device must be cpu, cuda or auto, got {device!r}.", path="device")
        train(
            graph,
            options["model"],
            hps,
            task=options.get("task") or options.get("task-type"),
            eval_metric=options.get("eval-metric"),
            topk=options.get("topk"),
            eval_frequency=(options.get("eval-frequency-type", "evaluate_every_epoch"),
                            options.get("eval-frequency-value", 1)),
            seed=seed,
            device=device,
            model_dir=_env_dir(options.get("model-dir"), ("HYPERJOB_MODEL_DIR", "SM_MODEL_DIR"), "model"),
            output_dir=_env_dir(options.get("output-dir"), ("HYPERJOB_OUTPUT_DIR", "SM_OUTPUT_DATA_DIR"), "output"),
            checkpoint_dir=_env_dir(options.get("checkpoint-dir"), ("HYPERJOB_CHECKPOINT_DIR", "SM_CHECKPOINT_DIR"),
                                    None),
            log=lambda line: print(line, flush=True),
        )
    except HyperjobError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        failure_dir = os.environ.get("SM_OUTPUT_DIR")
        if failure_dir and os.path.isdir(failure_dir):
            Path(failure_dir, "failure").write_text(str(exc), encoding="utf-8")
        return exc.exit_code
    return 0
