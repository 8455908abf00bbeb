"""Metric values of a running training job: regexes over its log lines, and the ``report()`` file.

Rules for metric definitions (as SageMaker's ``MetricDefinitions``):

- Each log line is searched (``re.search``) with each definition's regex; the **first capture group** of the
  first match is the value. A regex without a capture group is refused (SageMaker refuses it too): the whole
  match (``loss: 0.5``) is rarely a number. One line gives at most one value per metric.
- The captured text is parsed with ``float()`` after stripping spaces: signs, exponents (``1e-3``,
  ``-2.5E+04``), ``nan`` and ``inf`` are read (``1e400``, beyond a float's range, reads as ``inf``); the Tuner
  decides what a non-finite value means (an objective that ends non-finite fails its training job). Text that is
  not a number gives no value (no error: logs are noisy), but the parser keeps what it captured
  (:attr:`MetricParser.unreadable`) so that a training job without a value can say what was read instead of
  blaming the regex; :func:`explain_no_match` says why a line gives nothing when asked.
- The step of a value is the count of earlier values of the same metric in this training job (0, 1, 2, ...).
- Lines end at ``\\n`` or ``\\r`` (so progress bars that redraw with ``\\r`` are read update by update). A line
  longer than :data:`MAX_LINE_BYTES` is cut there.

Values from ``hyperjob.report()`` arrive as JSON lines ``{"step": ..., "metrics": {...}, "time": ...}`` in the
metrics file; :class:`ReportFileReader` tails that file incrementally (a partial last line waits for its end).

The validate command uses :func:`check_regex` (problems of a regex, before any job runs), :func:`match_line`
(what one line gives) and :func:`explain_no_match` (why a line gives nothing).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import deque
from typing import Iterable, Iterator, Sequence

from hyperjob.errors import SpecError
from hyperjob.executors.base import MetricDefinition
from hyperjob.records import MetricValue

__all__ = [
    "MAX_LINE_BYTES",
    "SUGGESTED_NUMBER",
    "LineBuffer",
    "MetricParser",
    "ReportFileReader",
    "check_regex",
    "explain_no_match",
    "match_line",
    "parse_value",
]

#: A line longer than this (bytes) is cut and read as if it ended there.
MAX_LINE_BYTES = 64 * 1024

#: A regex that reads every float notation; suggested when a definition's group is too narrow.
SUGGESTED_NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"

_LINE_END = re.compile(rb"[\r\n]")


def parse_value(text: str | None) -> float | None:
    """The float in ``text`` (spaces stripped), or ``None`` if it is not a number.

    >>> parse_value(" -1.5e-3 ")
    -0.0015
    >>> parse_value("1.2.3") is None
    True
    """
    if text is None:
        return None
    text = text.strip()
    if not text or "_" in text:  # float() accepts "1_000"; a log never means that
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _compile(definition: MetricDefinition, index: int) -> re.Pattern[str]:
    where = f"metric_definitions[{index}].regex"
    try:
        pattern = re.compile(definition.regex)
    except re.error as exc:
        raise SpecError(
            f"the regex of metric {definition.name!r} does not compile ({exc}): {definition.regex!r}. "
            f"Fix it, e.g. '{definition.name}: {SUGGESTED_NUMBER}'.",
            path=where,
        ) from None
    if pattern.groups < 1:
        raise SpecError(
            f"the regex of metric {definition.name!r} has no capture group: {definition.regex!r}. Put the "
            f"value in parentheses, e.g. '{definition.name}: {SUGGESTED_NUMBER}'.",
            path=where,
        )
    return pattern


class MetricParser:
    """Reads metric values from log lines, one line at a time, while the training job runs.

    Args:
        definitions: the metric definitions (name + regex with a capture group).

    Raises:
        SpecError: a regex that does not compile or has no capture group (path ``metric_definitions[i].regex``).
    """

    def __init__(self, definitions: Sequence[MetricDefinition]) -> None:
        self.definitions = tuple(definitions)
        self._patterns = [(d.name, _compile(d, i)) for i, d in enumerate(self.definitions)]
        self._counts: dict[str, int] = {}
        #: per metric name: the last text its regex captured that is not a number, and how many times that happened
        self.unreadable: dict[str, tuple[str, int]] = {}

    def unreadable_note(self) -> str | None:
        """One sentence on the captures that were not numbers, e.g. "the regex of metric 'loss' matched 'abc'
        (3 times, the last shown): not a number."; ``None`` when every capture was a number.

        >>> p = MetricParser([MetricDefinition("loss", r"loss=(\\S+)")])
        >>> p.feed_lines(["loss=abc", "loss=0.5"], timestamp=0.0)[0].value
        0.5
        >>> p.unreadable_note()
        "the regex of metric 'loss' matched 'abc': not a number."
        """
        if not self.unreadable:
            return None
        parts = []
        for name, (text, count) in self.unreadable.items():
            times = f" ({count} times, the last shown)" if count > 1 else ""
            parts.append(f"the regex of metric {name!r} matched {text[:80]!r}{times}: not a number")
        return "; ".join(parts) + "."

    def feed(self, line: str, timestamp: float | None = None) -> list[MetricValue]:
        """The metric values in one log line (without its line end), with their steps.

        Args:
            line: one line of the log.
            timestamp: when it was read (seconds since the epoch); default now.
        """
        if not self._patterns:
            return []
        out: list[MetricValue] = []
        for name, pattern in self._patterns:
            m = pattern.search(line)
            if m is None:
                continue
            value = parse_value(m.group(1))
            if value is None:
                _text, count = self.unreadable.get(name, ("", 0))
                self.unreadable[name] = (m.group(1) or "", count + 1)
                continue
            step = self._counts.get(name, 0)
            self._counts[name] = step + 1
            out.append(MetricValue(name, value, step, time.time() if timestamp is None else timestamp))
        return out

    def feed_lines(self, lines: Iterable[str], timestamp: float | None = None) -> list[MetricValue]:
        """:meth:`feed` for several lines, in order."""
        out: list[MetricValue] = []
        for line in lines:
            out.extend(self.feed(line, timestamp))
        return out


class LineBuffer:
    """Splits a byte stream into text lines as the bytes arrive; keeps the partial last line for later.

    Args:
        tail_lines: how many of the last non-empty lines to keep in :attr:`tail` (for failure reasons).
    """

    def __init__(self, tail_lines: int = 20) -> None:
        self._partial = b""
        self.tail: deque[str] = deque(maxlen=tail_lines)

    def push(self, data: bytes) -> list[str]:
        """The complete lines in ``data`` (joined to what was left from the last call), decoded as UTF-8."""
        if not data:
            return []
        buf = self._partial + data if self._partial else data
        parts = _LINE_END.split(buf)
        self._partial = parts.pop()
        while len(self._partial) > MAX_LINE_BYTES:
            parts.append(self._partial[:MAX_LINE_BYTES])
            self._partial = self._partial[MAX_LINE_BYTES:]
        return self._decode(parts)

    def flush(self) -> list[str]:
        """The partial last line (the stream ended without a line end), if any."""
        rest, self._partial = self._partial, b""
        return self._decode([rest]) if rest else []

    def _decode(self, parts: list[bytes]) -> list[str]:
        lines = [p.decode("utf-8", errors="replace") for p in parts if p]
        self.tail.extend(line for line in lines if line.strip())
        return lines


class ReportFileReader:
    """Tails the metrics file that ``hyperjob.report()`` appends to (JSON lines), from where it left off.

    The file may not exist yet; a partial last line is kept until its end arrives; a line that is not valid
    JSON of the expected shape is skipped (counted in :attr:`bad_lines`).

    Args:
        path: the metrics file (``HYPERJOB_METRICS_FILE``).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._fd: int | None = None
        self._partial = b""
        self.bad_lines = 0

    def read(self) -> list[MetricValue]:
        """The metric values written since the last call, in order."""
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            except FileNotFoundError:
                return []
        chunks = []
        while True:
            chunk = os.read(self._fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        if not chunks:
            return []
        data = self._partial + b"".join(chunks)
        lines = data.split(b"\n")
        self._partial = lines.pop()
        out: list[MetricValue] = []
        for line in lines:
            if line.strip():
                out.extend(self._parse(line))
        return out

    def _parse(self, line: bytes) -> Iterator[MetricValue]:
        try:
            obj = json.loads(line)
            step = obj["step"]
            metrics = obj["metrics"]
            stamp = float(obj.get("time") or time.time())
            if not isinstance(step, int) or isinstance(step, bool) or not isinstance(metrics, dict):
                raise ValueError("bad shape")
            # report() writes NaN and infinities as the strings "NaN", "Infinity", "-Infinity" (strict JSON)
            values = [MetricValue(str(k), _report_number(v), step, stamp) for k, v in metrics.items()]
        except (ValueError, KeyError, TypeError, AttributeError):
            self.bad_lines += 1
            return iter(())
        return iter(values)

    def close(self) -> None:
        """Close the file (reading again reopens it from the start)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


_NON_FINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


def _report_number(value: object) -> float:
    """A value of a metrics-file line: a JSON number, or one of the strings report() writes for non-finite ones."""
    if isinstance(value, str):
        return _NON_FINITE[value]  # KeyError: another string is a bad line
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"not a number: {value!r}")
    return float(value)


# --------------------------------------------------------------------------------------------- validation
def match_line(definitions: Sequence[MetricDefinition], line: str) -> dict[str, float]:
    """What one log line gives: metric name -> value (stateless; bad regexes are skipped).

    >>> match_line([MetricDefinition("loss", r"loss: ([0-9.]+)")], "epoch 1 loss: 0.25")
    {'loss': 0.25}
    """
    out: dict[str, float] = {}
    for d in definitions:
        try:
            pattern = re.compile(d.regex)
        except re.error:
            continue
        if pattern.groups < 1:
            continue
        m = pattern.search(line)
        value = parse_value(m.group(1)) if m else None
        if value is not None:
            out[d.name] = value
    return out


def check_regex(regex: str) -> list[str]:
    """Problems of a metric regex, each a sentence that says how to fix it; empty when it is fine.

    Checks: it compiles; it has a capture group; the group can match nothing; the group reads a sign, an
    exponent and a decimal point (a common regex like ``([0-9\\.]+)`` reads a logged ``1.2e-05`` as ``1.2``
    and ``-0.5`` as ``0.5``).
    """
    try:
        pattern = re.compile(regex)
    except re.error as exc:
        return [f"the regex {regex!r} does not compile: {exc}."]
    if pattern.groups < 1:
        return [
            f"the regex {regex!r} has no capture group: put the value in parentheses, "
            f"e.g. 'loss: {SUGGESTED_NUMBER}'."
        ]
    group = _first_group_source(regex)
    if group is None:  # pragma: no cover - compiled regexes with groups always have one
        return []
    try:
        inner = re.compile(f"(?:{group})", pattern.flags)
    except re.error:
        return []
    problems: list[str] = []
    if inner.fullmatch("") is not None:
        problems.append(
            f"the capture group ({group}) can match an empty string, which is not a number; "
            f"use + instead of *, e.g. {SUGGESTED_NUMBER}."
        )
    checks = [
        ("1.5", "a decimal point"),
        ("-0.5", "a minus sign"),
        ("1.2e-05", "an exponent"),
    ]
    for sample, what in checks:
        if inner.fullmatch(sample) is None:
            seen = _what_it_reads(pattern, group, sample)
            problems.append(
                f"the capture group ({group}) does not read {what}: a logged {sample} is read as {seen}. "
                f"Use {SUGGESTED_NUMBER} unless the metric can never have {what}."
            )
    return problems


def _what_it_reads(pattern: re.Pattern[str], group: str, sample: str) -> str:
    try:
        m = re.compile(f"(?:{group})", pattern.flags).match(sample)
    except re.error:
        return "something else"
    if m is None or not m.group(0):
        return "nothing"
    value = parse_value(m.group(0))
    return repr(m.group(0)) if value is None else f"{value:g}"


def capturing_groups(regex: str) -> list[tuple[int, int]]:
    """``(open, close)`` positions of every capturing group's parentheses, in order of their ``(``.

    Escapes and character classes are understood; non-capturing ``(?:...)``, look-arounds and flags are not
    groups, named ``(?P<name>...)`` ones are.
    """
    groups: list[tuple[int, int]] = []
    stack: list[tuple[int, bool]] = []
    i, n, in_class = 0, len(regex), False
    while i < n:
        ch = regex[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            if regex.startswith("[^]", i) or regex.startswith("[]", i):  # a literal ] first in the class
                i += 2 if regex[i + 1] == "]" else 3
                continue
        elif ch == "(":
            stack.append((i, not regex.startswith("(?", i) or regex.startswith("(?P<", i)))
        elif ch == ")" and stack:
            start, capturing = stack.pop()
            if capturing:
                groups.append((start, i))
        i += 1
    return sorted(groups)


def _first_group_source(regex: str) -> str | None:
    """The source text inside the first capturing group of ``regex`` (without a ``?P<name>`` prefix)."""
    groups = capturing_groups(regex)
    if not groups:
        return None
    start, end = groups[0]
    inner = regex[start + 1 : end]
    if inner.startswith("?P<") and ">" in inner:
        inner = inner[inner.index(">") + 1 :]
    return inner


def explain_no_match(regex: str, line: str) -> str | None:
    """Why ``line`` gives no value for ``regex``, in one sentence; ``None`` when it gives one.

    It finds the longest start of the regex that still matches the line and shows where the line stops
    following it, or the captured text that is not a number.

    >>> explain_no_match(r"loss: ([0-9.]+)", "loss = 0.5")
    "the line matches the regex up to 'loss', then the regex expects ': ([0-9.]+)' but the line has ' = 0.5'."
    """
    try:
        pattern = re.compile(regex)
    except re.error as exc:
        return f"the regex {regex!r} does not compile: {exc}."
    if pattern.groups < 1:
        return f"the regex {regex!r} has no capture group: put the value in parentheses."
    m = pattern.search(line)
    if m is not None:
        captured = m.group(1)
        if captured is None:
            return f"the regex matches {m.group(0)!r} but its capture group matched nothing."
        if parse_value(captured) is None:
            return f"the regex matches {m.group(0)!r} but the captured text {captured!r} is not a number."
        return None
    for cut in range(len(regex) - 1, 0, -1):
        prefix = regex[:cut]
        try:
            pm = re.compile(prefix, pattern.flags).search(line)
        except re.error:
            continue
        if pm is not None and pm.group(0):
            rest_line = line[pm.end() : pm.end() + 30]
            return (
                f"the line matches the regex up to {pm.group(0)!r}, then the regex expects "
                f"{regex[cut:]!r} but the line has {rest_line!r}."
            )
    return f"no part of the regex {regex!r} matches the line {line[:80]!r}."

