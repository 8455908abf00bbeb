"""The command line of the image-classification training program (hyperjob's training-job contract).

Hyperparameters come as ``--name value`` arguments (what hyperjob and SageMaker's toolkit pass), over the
``HYPERJOB_HYPERPARAMETERS`` JSON file when it is set. Paths come from the environment, or from arguments when
the program is run by hand:

=====================  =========================================================  ======================
what                   environment (first found)                                   argument
=====================  =========================================================  ======================
train images           ``HYPERJOB_CHANNEL_TRAIN``, ``SM_CHANNEL_TRAIN``             ``--train``
validation images      ``HYPERJOB_CHANNEL_VALIDATION``, ``SM_CHANNEL_VALIDATION``   ``--validation``
``.lst`` files apart   ``..._CHANNEL_TRAIN_LST``, ``..._CHANNEL_VALIDATION_LST``    ``--train_lst``, ...
pretrained weights     ``HYPERJOB_CHANNEL_PRETRAINED``, ``SM_CHANNEL_PRETRAINED``   ``--pretrained``
model directory        ``HYPERJOB_MODEL_DIR``, ``SM_MODEL_DIR``                     ``--model_dir``
checkpoints            ``HYPERJOB_CHECKPOINT_DIR``, ``SM_CHECKPOINT_DIR``           ``--checkpoint_dir``
output (failure file)  ``HYPERJOB_OUTPUT_DIR``, ``SM_OUTPUT_DIR``                   ``--output_dir``
=====================  =========================================================  ======================

Exit codes: 0 done, 2 bad hyperparameters or data (the message is printed and written to ``<output>/failure``,
which hyperjob shows as the training job's failure reason), 1 anything else.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Sequence

from hyperjob.errors import SpecError

__all__ = ["main", "parse_arguments"]

_PATH_ARGS = {
    "train": ("HYPERJOB_CHANNEL_TRAIN", "SM_CHANNEL_TRAIN"),
    "validation": ("HYPERJOB_CHANNEL_VALIDATION", "SM_CHANNEL_VALIDATION"),
    "train_lst": ("HYPERJOB_CHANNEL_TRAIN_LST", "SM_CHANNEL_TRAIN_LST"),
    "validation_lst": ("HYPERJOB_CHANNEL_VALIDATION_LST", "SM_CHANNEL_VALIDATION_LST"),
    "pretrained": ("HYPERJOB_CHANNEL_PRETRAINED", "SM_CHANNEL_PRETRAINED"),
    "model_dir": ("HYPERJOB_MODEL_DIR", "SM_MODEL_DIR"),
    "checkpoint_dir": ("HYPERJOB_CHECKPOINT_DIR", "SM_CHECKPOINT_DIR"),
    "output_dir": ("HYPERJOB_OUTPUT_DIR", "SM_OUTPUT_DIR"),
}

_USAGE = """usage: python -m hyperjob.algorithms.image_classification --num_classes N --num_training_samples N
       [--name value ...] [--train DIR] [--validation DIR] [--model_dir DIR] [--checkpoint_dir DIR]
Every hyperparameter of docs/image-classification.md is a --name value pair."""


def parse_arguments(argv: Sequence[str], environ: dict[str, str] | None = None
                    ) -> tuple[dict[str, Any], dict[str, str | None]]:
    """Split the arguments into hyperparameters and paths.

    Args:
        argv: the arguments after the program (``--name value`` or ``--name=value`` pairs).
        environ: the environment (default ``os.environ``).

    Returns:
        ``(hyperparameters, paths)``: raw hyperparameter values (strings from ``argv``, typed from the JSON
        file) and the path of each entry of the table above (``None`` when not given).

    Raises:
        SpecError: an argument that is not ``--name value``, or an unreadable hyperparameters file.
    """
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    file = env.get("HYPERJOB_HYPERPARAMETERS")
    if file:
        try:
            loaded = json.loads(Path(file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SpecError(f"cannot read the hyperparameters file {file!r} (HYPERJOB_HYPERPARAMETERS): {exc}. "
                            "Unset the variable to pass hyperparameters as arguments only.") from None
        if isinstance(loaded, dict):
            raw.update(loaded)
    paths: dict[str, str | None] = {}
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) == 2:
            raise SpecError(f"expected a --name value pair at argument {i + 1}, got {arg!r}. Pass hyperparameters "
                            "as --name value, e.g. --num_classes 10.")
        name, eq, value = arg[2:].partition("=")
        if not eq:
            if i + 1 >= len(args):
                raise SpecError(f"the argument --{name} has no value. Give one, e.g. --{name} 10.",
                                path=f"hyperparameters.{name}")
            value = args[i + 1]
            i += 1
        i += 1
        if name in _PATH_ARGS:
            paths[name] = value
        else:
            raw[name] = value
    for name, variables in _PATH_ARGS.items():
        if paths.get(name) is None:
            paths[name] = next((env[v] for v in variables if env.get(v)), None)
    return raw, paths


def main(argv: Sequence[str] | None = None) -> int:
    """Run a training job from the command line; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print(_USAGE)
        return 0
    output_dir: str | None = None
    try:
        raw, paths = parse_arguments(args)
        output_dir = paths.get("output_dir")
        from hyperjob.algorithms.image_classification.hyperparameters import parse_hyperparameters

        hp = parse_hyperparameters(raw)
        from hyperjob.algorithms.image_classification.training import Paths, train

        train(hp, Paths(**paths))
    except SpecError as exc:
        message = _clean(exc)
        print(f"error: {message}", file=sys.stderr, flush=True)
        _write_failure(output_dir, message)
        return 2
    except RuntimeError as exc:  # a DataLoader worker re-raises our SpecError as its type with a traceback
        message = _clean(exc)
        if message != str(exc):
            print(f"error: {message}", file=sys.stderr, flush=True)
            _write_failure(output_dir, message)
            return 2
        raise
    return 0


def _clean(exc: BaseException) -> str:
    """The message of an error, without the traceback a DataLoader worker wraps around it."""
    text = str(exc)
    if "Original Traceback" in text:
        for line in reversed(text.strip().splitlines()):
            match = re.match(r"(?:[\w.]+\.)?(?:ImageDataError|SpecError): (.*)$", line)
            if match:
                return match.group(1)
    return text


def _write_failure(output_dir: str | None, message: str) -> None:
    if not output_dir:
        return
    try:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        (Path(output_dir) / "failure").write_text(message + "\n", encoding="utf-8")
    except OSError:
        pass  # the message is on stderr anyway
