"""``hyperjob.report(step=..., **metrics)``: how a training program reports its metrics.

Use it from a training program (a subprocess started by the local executor) or from a Python function tuned
in-process (``hyperjob.tune(fn, ...)``)::

    from hyperjob import report

    for epoch in range(epochs):
        ...
        report(step=epoch, loss=val_loss, accuracy=val_acc)

Where the values go, checked at each call in this order:

1. Inside a function run by the in-process executor (``CallableExecutor``): straight to that training job
   (a context variable set by the executor routes each call to the right job, also with several jobs running
   in parallel threads). If the tuner asked the job to stop (or its timeout passed), the call raises
   :class:`StopTrainingJob` so the function ends early; let it propagate.
2. With ``HYPERJOB_METRICS_FILE`` set (a training job started by hyperjob): one JSON line
   ``{"step": 3, "metrics": {"loss": 0.25}, "time": 1700000000.0}`` is appended to that file (strict JSON: a
   NaN or infinite value is written as the string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``). The executor
   reads the file while the job runs.
3. Otherwise (the program run by hand): a readable line is printed to stdout, and nothing else happens.

Durability: each line is written with one ``write`` on a file opened with ``O_APPEND`` and no user-space
buffer, so it reaches the kernel at once and survives a crash of the training program (or a SIGKILL). There is
no ``fsync``: that only matters if the machine itself goes down, and then the training job is lost anyway.

Import cost: this module uses the standard library only (``os``, ``sys``, ``time``, ``contextvars``); it
imports no JSON library, numpy, torch, pydantic or SQLAlchemy, so ``from hyperjob import report`` takes a few
milliseconds. Values may be Python numbers or anything with ``__float__`` (numpy scalars, 0-d torch tensors).

``from hyperjob import report`` may give this module or the function, depending on import order; both can be
called the same way (the module is callable).
"""

from __future__ import annotations

import contextvars
import os
import sys
import time

__all__ = ["report", "StopTrainingJob", "METRICS_FILE_ENV"]

#: The environment variable that names the file report() appends to.
METRICS_FILE_ENV = "HYPERJOB_METRICS_FILE"


class StopTrainingJob(BaseException):
    """Raised by :func:`report` inside an in-process training function that was asked to stop.

    It derives from ``BaseException`` (like ``KeyboardInterrupt``) so that a training function's own
    ``except Exception:`` does not swallow it. The in-process executor catches it and ends the training job
    as ``Stopped`` (or ``Failed`` with "timed out" after a timeout).
    """


#: The in-process training job a call belongs to (set by ``CallableExecutor`` in its worker thread). The value
#: is an object with ``emit(step: int | None, metrics: dict[str, float]) -> None``.
_current_sink: contextvars.ContextVar[object | None] = contextvars.ContextVar("hyperjob_report_sink", default=None)

# per metrics file: [open file descriptor, number of report() calls so far]
_files: dict[str, list[int]] = {}
_by_hand_calls = [0]


def report(step: int | None = None, **metrics: float) -> None:
    """Report metric values of the running training job.

    Args:
        step: the step (epoch, iteration, resource level) the values belong to, an int >= 0. When left out,
            the number of earlier ``report`` calls of this training job is used (0, 1, 2, ...).
        **metrics: metric name -> value (a number, or anything with ``__float__``). Names that are not Python
            identifiers can be passed with ``**{"val loss": 0.3}``. NaN and infinities are allowed (but an
            objective whose last value is one fails its training job).

    Raises:
        SpecError: no metric given, a step that is not an int >= 0, or a value that is not a number.
        StopTrainingJob: in an in-process training function that was asked to stop.
    """
    if step is not None:
        if type(step) is not int:
            step = _as_step(step)
        if step < 0:
            _bad_step(step)
    if not metrics:
        _bad_call(
            "hyperjob.report() was called without any metric. Pass the metrics as keyword arguments, "
            "e.g. report(step=3, loss=0.25)."
        )
    values: dict[str, float] = {}
    for name, value in metrics.items():
        if type(value) is float:
            values[name] = value
            continue
        try:
            values[name] = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            _bad_call(
                f"hyperjob.report(): metric {name!r} must be a number, got {value!r} "
                f"({type(value).__name__}). Pass a float (e.g. loss.item() for a tensor)."
            )
    sink = _current_sink.get()
    if sink is not None:
        sink.emit(step, values)  # type: ignore[attr-defined]
        return
    path = os.environ.get(METRICS_FILE_ENV)
    if path:
        _append(path, step, values)
        return
    if step is None:
        step = _by_hand_calls[0]
    _by_hand_calls[0] += 1
    shown = " ".join(f"{k}={v:g}" for k, v in values.items())
    print(f"hyperjob.report: step {step}: {shown}", flush=True)


def _append(path: str, step: int | None, values: dict[str, float]) -> None:
    state = _files.get(path)
    if state is None:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as exc:
            _bad_call(
                f"hyperjob.report(): cannot open the metrics file {path!r} ({METRICS_FILE_ENV}): "
                f"{exc.strerror}. Unset {METRICS_FILE_ENV} when running the program by hand, or point it "
                "to a writable file."
            )
        state = _files[path] = [fd, 0]
    if step is None:
        step = state[1]
    state[1] += 1
    body = ",".join(f"{_json_str(k)}:{_json_float(v)}" for k, v in values.items())
    line = f'{{"step":{step},"metrics":{{{body}}},"time":{time.time()!r}}}\n'
    os.write(state[0], line.encode("utf-8"))


def _json_float(value: float) -> str:
    """A number as strict JSON: NaN and infinities (which JSON has no literal for) as the strings ``"NaN"``,
    ``"Infinity"`` and ``"-Infinity"``, which ``float()`` reads back."""
    if value != value:
        return '"NaN"'
    if value in (float("inf"), float("-inf")):
        return '"Infinity"' if value > 0 else '"-Infinity"'
    return repr(value)


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def _json_str(text: str) -> str:
    """A JSON string literal, without importing ``json`` (costly at start-up)."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or not ch.isprintable():
            code = ord(ch)
            if code > 0xFFFF:  # a surrogate pair
                code -= 0x10000
                out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
            else:
                out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _as_step(step: object) -> int:
    """An int from an int-like step (numpy integers, 0-d integer tensors); bools and floats are refused."""
    index = getattr(step, "__index__", None)
    if isinstance(step, bool) or index is None:
        _bad_step(step)
    try:
        return int(index())  # type: ignore[misc]
    except (TypeError, ValueError):
        _bad_step(step)
    raise AssertionError("unreachable")


def _bad_step(step: object) -> None:
    _bad_call(
        f"hyperjob.report(): step must be an int >= 0, got {step!r} ({type(step).__name__}). "
        "Pass the epoch or iteration number, e.g. report(step=epoch, loss=...), or leave step out."
    )


def _bad_call(message: str) -> None:
    from hyperjob.errors import SpecError  # lazy: keeps the import of this module cheap

    raise SpecError(message)


class _CallableModule(type(sys)):  # type: ignore[misc]
    """Lets ``from hyperjob import report`` work when it gives this module instead of the function."""

    def __call__(self, step: int | None = None, **metrics: float) -> None:
        report(step, **metrics)


sys.modules[__name__].__class__ = _CallableModule
