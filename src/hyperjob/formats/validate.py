"""``hyperjob validate FILE [--log sample.log]``: check a spec without running it.

:func:`validate_file` loads the spec (any error is the loader's :class:`~hyperjob.errors.SpecError`) and returns
a :class:`ValidationReport`: a summary of the spec, its warnings and, with a sample log, which metrics each
line yields. Metric regexes are what users get wrong most, so for every metric definition that matched no
line the report says why, trying the usual mistakes one by one: a different case, an anchor (``^``/``$``), a
backslash escaped twice, a ``(`` meant literally that starts a group, a number pattern without a sign, and
finally the literal text before the group, which the log may not contain (the closest line is shown). Lines
whose value is misread (a lost minus sign, an exponent cut off) are reported too.

:func:`render` gives the plain-text report; ``report.ok`` is ``False`` when a metric definition matched no
line of the sample log or misread a value. Lines are read by the executors' metric reader
(:mod:`hyperjob.executors.metrics`), imported where it is used: formats import only ``hyperjob.space``,
``hyperjob.records`` and ``hyperjob.errors`` when they load.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from hyperjob.errors import SpecError
from hyperjob.formats.sagemaker import NO_COMMAND
from hyperjob.formats.spec import TuningJobSpec
from hyperjob.records import MetricDefinition

__all__ = [
    "LineResult",
    "MetricCheck",
    "NeptuneValidationReport",
    "ValidationReport",
    "check_definitions",
    "explain_regex",
    "render",
    "validate_file",
]

#: Lines of a sample log that are read (the rest are counted, not matched).
MAX_LOG_LINES = 100_000
#: Lines shown per report section.
SHOWN_LINES = 40

#: How the spec's warning about narrow metric regexes begins (formats/spec.py); validate shows those problems
#: in its own section instead.
REGEX_WARNING_PREFIX = "the regex"


@dataclass(frozen=True)
class LineResult:
    """A log line that yields at least one metric value."""

    number: int  #: 1-based line number
    text: str
    metrics: dict[str, float]


@dataclass(frozen=True)
class MetricCheck:
    """One metric definition checked against the regex rules and the sample log.

    Attributes:
        name, regex: the definition.
        problems: what is wrong with the regex itself (before any log is read).
        values: how many lines yielded a value (``None`` without a log).
        first, last: the first and last values read.
        why_no_match: when no line yielded a value, the reasons found.
        misreads: lines whose value is read wrongly (sign lost, exponent cut off).
        skipped: lines that hold the regex's literal text but yield no value, and why (a negative value the
            group cannot read, ``nan``...).
    """

    name: str
    regex: str
    problems: tuple[str, ...] = ()
    values: int | None = None
    first: float | None = None
    last: float | None = None
    why_no_match: tuple[str, ...] = ()
    misreads: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()


class _LogVerdict:
    """The verdict of a sample-log check, for reports that carry ``log`` and ``metrics``."""

    log: str | None
    metrics: tuple["MetricCheck", ...]

    @property
    def ok(self) -> bool:
        """False when, with a sample log, a metric definition matched no line or misread a value."""
        if self.log is None:
            return True
        return all(m.values and not m.misreads and not m.skipped for m in self.metrics)


@dataclass(frozen=True)
class ValidationReport(_LogVerdict):
    """What ``hyperjob validate`` found.

    Attributes:
        path: the spec file.
        spec: the validated spec.
        summary: (label, text) lines describing the spec.
        warnings: the spec's warnings.
        notes: things to know before ``hyperjob tune`` (no program given, program not found).
        log: the sample log's path, if one was given.
        line_count: lines read from the log.
        lines: the lines that yield metric values.
        metrics: one check per metric definition.
    """

    path: str
    spec: TuningJobSpec
    summary: tuple[tuple[str, str], ...]
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    log: str | None = None
    line_count: int = 0
    lines: tuple[LineResult, ...] = ()
    metrics: tuple[MetricCheck, ...] = ()



# --------------------------------------------------------------------------------------------------------------
# regex analysis


def literal_prefix(regex: str) -> str:
    """The literal text the regex requires just before its first capture group (``'loss: '`` for
    ``'.*loss: ([0-9.]+)'``); empty when there is none."""
    from hyperjob.executors.metrics import capturing_groups

    groups = capturing_groups(regex)
    end = groups[0][0] if groups else len(regex)
    text: list[str] = []
    i = 0
    while i < end:
        ch = regex[i]
        if ch == "\\" and i + 1 < end:
            nxt = regex[i + 1]
            if nxt.isalnum():
                text.clear()  # \d, \s, \b ...: not literal
            else:
                text.append(nxt)
            i += 2
            continue
        if ch in "*+?{":
            if text:
                text.pop()  # the quantified character is optional or repeated
            if ch == "{":
                close = regex.find("}", i)
                i = close + 1 if close != -1 else i + 1
                continue
            text.clear()
        elif ch in ".^$|[()":
            text.clear()
            if ch == "[":
                close = regex.find("]", i + 2)
                i = close + 1 if close != -1 else i + 1
                continue
        else:
            text.append(ch)
        i += 1
    return "".join(text)


def _static_problems(regex: str) -> list[str]:
    """check_regex's problems, plus escaping mistakes that make a regex match the wrong text."""
    from hyperjob.executors.metrics import capturing_groups, check_regex

    problems = list(check_regex(regex))
    if "\\\\" in regex:
        problems.append(
            f"the regex {regex!r} contains '\\\\', a literal backslash: it was probably escaped twice (JSON-style "
            "escaping inside YAML single quotes, or '\\\\.' in a raw string). Write '\\.' for a literal dot."
        )
    groups = capturing_groups(regex)
    outside = regex[: groups[0][0]] if groups else regex
    for m in re.finditer(r"(?<![\\\[])([A-Za-z0-9_])\.([A-Za-z_])", outside):
        word = outside[max(0, m.start() - 8): m.end() + 8]
        problems.append(
            f"the '.' in {word!r} is not escaped, so it matches any character (also '_' or '-'). Write '\\.' for "
            "a literal dot."
        )
        break
    return problems


def _first_line(pattern: re.Pattern[str], lines: Sequence[str]) -> tuple[int, re.Match[str]] | None:
    from hyperjob.executors.metrics import parse_value

    for i, line in enumerate(lines):
        m = pattern.search(line)
        if m is not None and m.re.groups >= 1 and parse_value(m.group(1)) is not None:
            return i, m
    return None


def _try(regex: str, lines: Sequence[str], flags: int = 0) -> tuple[int, re.Match[str]] | None:
    try:
        pattern = re.compile(regex, flags)
    except re.error:
        return None
    if pattern.groups < 1:
        return None
    return _first_line(pattern, lines)


def _closest_line(text: str, lines: Sequence[str]) -> tuple[int, float] | None:
    """The index of the line most like ``text`` (share of ``text`` found in it), and that share."""
    if not text or not lines:
        return None
    best: tuple[int, float] | None = None
    key = text.lower()
    for i, line in enumerate(lines[:5000]):
        sm = difflib.SequenceMatcher(None, key, line.lower(), autojunk=False)
        share = sum(b.size for b in sm.get_matching_blocks()) / len(key)
        if best is None or share > best[1]:
            best = (i, share)
    return best


def _show(i: int, lines: Sequence[str]) -> str:
    line = lines[i]
    return f"line {i + 1}: {line[:100]!r}{'...' if len(line) > 100 else ''}"


def explain_regex(regex: str, lines: Sequence[str]) -> list[str]:
    """Why ``regex`` yields no value on any of ``lines``: one sentence per likely cause, most likely first.

    Args:
        regex: a metric definition's regex (it compiles and has a capture group).
        lines: the sample log's lines.
    """
    from hyperjob.executors.metrics import SUGGESTED_NUMBER, capturing_groups, explain_no_match

    if not lines:
        return ["the log is empty."]
    reasons: list[str] = []
    hit = _try(regex, lines, re.IGNORECASE)
    if hit:
        i, m = hit
        reasons.append(
            f"it matches {_show(i, lines)} only when case is ignored (the log has {m.group(0)!r}). Fix the case "
            "in the regex, or start it with (?i)."
        )
    stripped = re.sub(r"^\^|(?<!\\)\$$", "", regex)
    if stripped != regex:
        hit = _try(stripped, lines)
        if hit:
            i, _ = hit
            reasons.append(
                f"it is anchored with '^' or '$', but {_show(i, lines)} has more text around the match. Remove "
                "the anchor."
            )
    if "\\\\" in regex:
        hit = _try(regex.replace("\\\\", "\\"), lines)
        if hit:
            i, _ = hit
            reasons.append(
                f"it contains '\\\\' (a literal backslash), which the log does not have: it was escaped twice. "
                f"With single backslashes it matches {_show(i, lines)}."
            )
    groups = capturing_groups(regex)
    for start, end in groups[:-1] if len(groups) > 1 else []:
        variant = regex[:start] + "\\(" + regex[start + 1:end] + "\\)" + regex[end + 1:]
        hit = _try(variant, lines)
        if hit:
            i, _ = hit
            reasons.append(
                f"the '(' at position {start} starts a capture group, but the log has a literal "
                f"{regex[start:end + 1]!r}: escape it as '\\(' and '\\)'. Then it matches {_show(i, lines)}."
            )
    if groups:
        start, end = groups[0]
        variant = regex[:start] + SUGGESTED_NUMBER + regex[end + 1:]
        hit = _try(variant, lines)
        if hit and variant != regex:
            i, m = hit
            reasons.append(
                f"the group {regex[start:end + 1]!r} cannot read the value {m.group(1)!r} of {_show(i, lines)} "
                f"(a sign, an exponent, or no digit before the dot). Use {SUGGESTED_NUMBER}."
            )
    if reasons:
        return reasons
    prefix = literal_prefix(regex).strip()
    if prefix:
        containing = [i for i, line in enumerate(lines) if prefix in line]
        if not containing:
            near = _closest_line(prefix, lines)
            where = f" The closest is {_show(near[0], lines)}." if near and near[1] >= 0.5 else ""
            return [
                f"the text before the group, {prefix!r}, occurs in no line of the log.{where} Copy the text "
                "exactly as the program prints it (spaces, case and punctuation), and escape . ( ) [ ] + * ? with "
                "a backslash."
            ]
        i = containing[0]
        why = explain_no_match(regex, lines[i])
        return [f"{prefix!r} occurs in {_show(i, lines)}, but {why or 'the rest of the regex does not match it.'}"]
    near = _closest_line(re.sub(r"\\(.)", r"\1", re.sub(r"\[[^\]]*\]|[()*+?^$|]", "", regex)), lines)
    if near is not None:
        why = explain_no_match(regex, lines[near[0]])
        return [f"no line matches; on the most similar, {_show(near[0], lines)}: {why or 'no match.'}"]
    return ["no line matches."]


def _misreads(regex: str, lines: Sequence[str], limit: int = 3) -> list[str]:
    """Lines where the value read loses the sign in front of it or the exponent after it."""
    from hyperjob.executors.metrics import SUGGESTED_NUMBER, parse_value

    try:
        pattern = re.compile(regex)
    except re.error:
        return []
    out: list[str] = []
    for i, line in enumerate(lines):
        m = pattern.search(line)
        if m is None or pattern.groups < 1 or m.group(1) is None:
            continue
        value = parse_value(m.group(1))
        if value is None:
            continue
        start, end = m.span(1)
        if start > 0 and line[start - 1] == "-" and not m.group(1).lstrip().startswith("-"):
            out.append(f"line {i + 1}: read {value:g} from {line[start - 1:end]!r}: the minus sign is lost. "
                       f"Use {SUGGESTED_NUMBER}.")
        elif re.match(r"[eE][-+]?[0-9]", line[end:]):
            full = re.match(r"[eE][-+]?[0-9]+", line[end:])
            shown = line[start:end] + (full.group(0) if full else "")
            out.append(f"line {i + 1}: read {value:g} from {shown!r}: the exponent is cut off. "
                       f"Use {SUGGESTED_NUMBER}.")
        if len(out) >= limit:
            break
    return out


def _skipped(regex: str, lines: Sequence[str], limit: int = 3) -> list[str]:
    """Lines that hold the literal text before the group but yield no value, with the reason."""
    from hyperjob.executors.metrics import explain_no_match, match_line

    prefix = literal_prefix(regex).strip()
    if len(prefix) < 3:
        return []
    definition = [MetricDefinition("m", regex)]
    out: list[str] = []
    for i, line in enumerate(lines):
        if prefix in line and not match_line(definition, line):
            why = explain_no_match(regex, line) or "it yields no value."
            out.append(f"{_show(i, lines)} holds {prefix!r} but yields no value: {why}")
            if len(out) >= limit:
                break
    return out


# --------------------------------------------------------------------------------------------------------------
# the report


def _summary(spec: TuningJobSpec) -> list[tuple[str, str]]:
    kinds: dict[str, int] = {}
    for r in spec.hyperparameter_ranges.values():
        kinds[r.type] = kinds.get(r.type, 0) + 1
    ranges = f"{len(spec.hyperparameter_ranges)}"
    if kinds:
        ranges += " (" + ", ".join(f"{n} {k}" for k, n in kinds.items()) + ")"
    ranges += ": " + ", ".join(spec.hyperparameter_ranges) if spec.hyperparameter_ranges else ""
    limits = spec.limits
    limit_text = ", ".join(
        f"{k} {v}" for k, v in (
            ("max_jobs", limits.max_jobs), ("max_parallel_jobs", limits.max_parallel_jobs),
            ("max_runtime_s", limits.max_runtime_s), ("timeout_s", limits.timeout_s),
            ("max_failed_jobs", limits.max_failed_jobs),
        ) if v is not None
    )
    c = spec.completion
    completion = ", ".join(
        f"{k} {v}" for k, v in (
            ("target_value", c.target_value), ("max_jobs_not_improving", c.max_jobs_not_improving),
            ("convergence", c.convergence if c.convergence != "off" else None),
        ) if v is not None
    ) or "none (the budget)"
    strategy = spec.strategy.name
    if spec.strategy.settings:
        strategy += " " + ", ".join(f"{k}={v!r}" for k, v in spec.strategy.settings.items())
    metrics = ", ".join(d.name for d in spec.metric_definitions) or "none (the program reports with hyperjob.report)"
    out = [
        ("name", spec.name),
        ("format", spec.source_format),
        ("program", " ".join(spec.program.command) if spec.program.command != [NO_COMMAND] else "none given"),
        ("strategy", strategy),
        ("ranges", ranges),
        ("static", f"{len(spec.static_hyperparameters)}" + (": " + ", ".join(spec.static_hyperparameters)
                                                             if spec.static_hyperparameters else "")),
        ("objective", f"{spec.objective.type} {spec.objective.metric}"),
        ("metrics", metrics),
        ("limits", limit_text),
        ("completion", completion),
        ("early stopping", spec.early_stopping),
    ]
    if spec.random_seed is not None:
        out.append(("random seed", str(spec.random_seed)))
    if spec.warm_start is not None:
        out.append(("warm start", f"{spec.warm_start.type} from {', '.join(spec.warm_start.parents)}"))
    if spec.periods is not None:  # evaluation periods, fast mode, results (docs/experiments.md)
        from hyperjob.formats.periods import resolve_periods

        periods = resolve_periods(spec)
        out.append(("periods", f"{len(periods)}, {spec.periods.aggregate} of each configuration: "
                               + ", ".join(p.label for p in periods)))
    if spec.fast is not None:
        overrides = ", ".join(f"{k}={v!r}" for k, v in spec.fast.static_hyperparameters.items()) or "no overrides"
        out.append(("fast mode", f"{'on' if spec.fast.enabled else 'off (--fast)'}: {spec.fast.months} month, "
                                 f"{overrides}"))
    if spec.results is not None:
        out.append(("results", spec.results.url))
    return out


def _notes(spec: TuningJobSpec) -> list[str]:
    command = spec.program.command
    if command == [NO_COMMAND]:
        return [
            "the request names no local program: pass one to hyperjob tune after '--' (hyperjob tune FILE -- "
            "python train.py), or add \"HyperjobProgram\": {\"Command\": [...]} to the request."
        ]
    program = command[0]
    wd = spec.program.working_dir or os.getcwd()
    if os.sep in program or (os.altsep and os.altsep in program):
        found = os.path.exists(os.path.join(wd, program))
    else:
        found = shutil.which(program) is not None or os.path.exists(os.path.join(wd, program))
    notes = []
    if not found:
        notes.append(f"the program {program!r} is not on the PATH nor in {wd}: check the command, or install it.")
    if spec.program.working_dir and not os.path.isdir(spec.program.working_dir):
        notes.append(f"the working directory {spec.program.working_dir!r} does not exist.")
    return notes


def _channel_notes(channels: Mapping[str, str]) -> list[str]:
    """A note per ``--channel`` that cannot be read now (one line each, from hyperjob.remote). The spec's own URLs
    are not tried here (that needs the credentials ``tune`` will have); ``tune`` checks them before any job."""
    from hyperjob import remote

    notes = []
    for name, where in sorted(channels.items()):
        if not remote.is_url(where):
            if not os.path.exists(where):
                notes.append(f"the input channel {name!r} is {where}, which does not exist.")
        else:
            try:
                remote.check_readable(where)
            except SpecError as exc:
                notes.append(f"the input channel {name!r} cannot be read now: {exc}")
    return notes


def _read_log(log: str | Path) -> list[str]:
    p = Path(log)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise SpecError(f"cannot read the sample log: {exc.strerror or exc}. Check the path.",
                        source=str(log)) from None
    text = raw.decode("utf-8", errors="replace")
    return re.split(r"\r\n|\r|\n", text.rstrip("\r\n")) if text.strip() else []


def check_log(spec: TuningJobSpec, lines: Sequence[str]) -> tuple[list[LineResult], list[MetricCheck]]:
    """Match every metric definition against ``lines``; explain the ones that yield nothing."""
    return check_definitions([MetricDefinition(d.name, d.regex) for d in spec.metric_definitions], lines)


def check_definitions(definitions: Sequence[MetricDefinition],
                      lines: Sequence[str]) -> tuple[list[LineResult], list[MetricCheck]]:
    """:func:`check_log` for any metric definitions (a Neptune custom model's, for instance)."""
    from hyperjob.executors.metrics import match_line

    results: list[LineResult] = []
    values: dict[str, list[float]] = {d.name: [] for d in definitions}
    for i, line in enumerate(lines[:MAX_LOG_LINES]):
        got = match_line(definitions, line)
        if got:
            results.append(LineResult(i + 1, line, got))
            for k, v in got.items():
                values[k].append(v)
    checks = []
    for d in definitions:
        vals = values[d.name]
        checks.append(MetricCheck(
            name=d.name,
            regex=d.regex,
            problems=tuple(_static_problems(d.regex)),
            values=len(vals),
            first=vals[0] if vals else None,
            last=vals[-1] if vals else None,
            why_no_match=() if vals else tuple(explain_regex(d.regex, lines[:MAX_LOG_LINES])),
            misreads=tuple(_misreads(d.regex, lines[:MAX_LOG_LINES])) if vals else (),
            skipped=tuple(_skipped(d.regex, lines[:MAX_LOG_LINES])) if vals else (),
        ))
    return results, checks


def validate_file(path: str | Path, log: str | Path | None = None, *,
                  command: list[str] | None = None,
                  submit_dir: str | Path | None = None,
                  channels: Sequence[str] | None = None,
                  data: str | Path | None = None,
                  max_jobs: int | None = None) -> "ValidationReport | NeptuneValidationReport":
    """Check a spec file without running it; with ``log``, check its metric regexes on sample log lines.

    Args:
        path: a job.yaml / job.json, a SageMaker request JSON, or a Neptune ML ``model-HPO-configuration.json``
            (either spelling of the name, or the folder that holds it).
        log: a sample of what the training program prints.
        command: the program, as ``hyperjob tune FILE -- ...`` would get it (optional here).
        submit_dir: a script-mode request's local source directory, as ``hyperjob tune FILE --submit-dir DIR``
            would get it (optional here).
        channels: ``--channel NAME=PATH|URL`` values, as ``hyperjob tune`` takes them; every channel given as a
            URL is checked for reading (a failure is a note: the data may be uploaded later).
        data: for a Neptune config, the processed graph: the report shows the ranges resolved for its size.
        max_jobs: for a Neptune config with ``data``, the budget (default Neptune ML's 2).

    Returns:
        The report (see :func:`render`). A SageMaker request without a program is reported, not refused.

    Raises:
        SpecError: the spec (or the log file) cannot be read, or the spec is invalid.
    """
    from hyperjob.formats import _load

    from hyperjob.formats.channels import parse_channel_flags, with_channels

    neptune = _neptune_file(path)
    if neptune is not None:
        return _validate_neptune(path, neptune, log, data=data, max_jobs=max_jobs, command=command)
    if data is not None or max_jobs is not None:
        raise SpecError("--data and --max-jobs (with validate) apply to a Neptune ML model-HPO-configuration.json, "
                        "and this file is not one. Set program.channels and limits.max_jobs in the spec instead.",
                        source=str(path))
    spec = _load(path, command=command, require_program=False, submit_dir=submit_dir)
    given = parse_channel_flags(channels)
    spec = with_channels(spec, given, source=str(path))
    lines: tuple[LineResult, ...] = ()
    count = 0
    if log is not None:
        log_lines = _read_log(log)
        count = len(log_lines)
        found, checks = check_log(spec, log_lines)
        lines = tuple(found)
    else:
        checks = [MetricCheck(d.name, d.regex, problems=tuple(_static_problems(d.regex)))
                  for d in spec.metric_definitions]
    # a regex's problems are shown once, under "metric regexes" (or the sample log's verdict), not as a warning too
    shown_below = any(m.problems for m in checks)
    warnings = tuple(w for w in spec.warnings if not (shown_below and w.startswith(REGEX_WARNING_PREFIX)))
    return ValidationReport(
        path=str(path),
        spec=spec,
        summary=tuple(_summary(spec)),
        warnings=warnings,
        notes=tuple(_notes(spec)) + tuple(_channel_notes(given)),
        log=str(log) if log is not None else None,
        line_count=count,
        lines=lines,
        metrics=tuple(checks),
    )


def _bullets(items: Iterable[str], indent: str = "  ") -> list[str]:
    return [f"{indent}- {item}" for item in items]


def render(report: "ValidationReport | NeptuneValidationReport") -> str:
    """The report as plain text (no colour), as ``hyperjob validate`` prints it."""
    if isinstance(report, NeptuneValidationReport):
        return _render_neptune(report)
    out = [f"{report.path}: a valid {report.spec.source_format} spec"]
    width = max(len(label) for label, _ in report.summary)
    out += [f"  {label + ':':<{width + 1}} {text}" for label, text in report.summary]
    if report.warnings:
        out.append("warnings:")
        out += _bullets(report.warnings)
    if report.notes:
        out.append("before running:")
        out += _bullets(report.notes)
    regex_problems = [(m.name, p) for m in report.metrics for p in m.problems]
    if regex_problems and report.log is None:
        out.append("metric regexes:")
        out += _bullets(f"{name}: {p}" for name, p in regex_problems)
    if report.log is not None:
        out.append(f"sample log {report.log}: {report.line_count} lines, {len(report.lines)} yield metric values")
        if not report.metrics:
            out.append("  (no metric definitions: the program reports its metrics with hyperjob.report)")
        for r in report.lines[:SHOWN_LINES]:
            got = ", ".join(f"{k}={v:g}" for k, v in r.metrics.items())
            out.append(f"  line {r.number}: {got}    <- {r.text[:80]!r}")
        if len(report.lines) > SHOWN_LINES:
            out.append(f"  ... and {len(report.lines) - SHOWN_LINES} more lines")
        for m in report.metrics:
            if m.values:
                out.append(f"metric {m.name!r}: {m.values} values (first {m.first:g}, last {m.last:g})")
                out += _bullets(m.misreads, "    ")
                out += _bullets(m.skipped, "    ")
                if m.problems:
                    out.append("    regex:")
                    out += _bullets(m.problems, "      ")
            else:
                out.append(f"metric {m.name!r}: no line yields a value, regex {m.regex!r}. Why:")
                out += _bullets(m.why_no_match, "    ")
        out.append("OK: every metric definition reads values from the sample log." if report.ok
                   else "NOT OK: fix the metric definitions above.")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------------------------
# Neptune ML model-HPO-configuration.json

#: The budgets whose tuned hyperparameters ``hyperjob validate`` shows for a Neptune config: Neptune ML's default
#: (2 training jobs) and both sides of each tier boundary.
NEPTUNE_BUDGETS = (2, 10, 11, 50, 51)


@dataclass(frozen=True)
class NeptuneValidationReport(_LogVerdict):
    """What ``hyperjob validate`` found in a Neptune ML ``model-HPO-configuration.json``.

    Attributes:
        path: the file as given (a file or the folder holding it).
        config: the validated configuration.
        tuned: ``(budget, names of the hyperparameters tuned at that budget)`` for :data:`NEPTUNE_BUDGETS`.
        log, line_count, lines, metrics: as :class:`ValidationReport` (a custom model's metric definitions).
    """

    path: str
    config: Any
    tuned: tuple[tuple[int, tuple[str, ...]], ...]
    log: str | None = None
    line_count: int = 0
    lines: tuple[LineResult, ...] = ()
    metrics: tuple[MetricCheck, ...] = ()
    #: what would make training jobs fail at some budget (fanout lists shorter than num-layer's maximum); shown,
    #: not fatal: the file is valid at the budgets below it
    problems: tuple[str, ...] = ()
    #: with --data (or a command): the tuned ranges as `hyperjob tune` would run them
    resolved: tuple[str, ...] = ()
    #: the graph-size changes (one line each) and the budget
    size_notes: tuple[str, ...] = ()



def _neptune_file(path: str | Path) -> Path | None:
    """The Neptune config that ``path`` is or holds (a folder with either spelling of the name), else None."""
    from hyperjob.formats import detect_format
    from hyperjob.formats._files import read_document
    from hyperjob.formats.neptune import FILE_NAMES

    p = Path(path)
    if p.is_dir():
        for name in FILE_NAMES:
            if (p / name).is_file():
                return p / name
        return None
    if p.name.lower() != FILE_NAMES[1] and p.suffix.lower() != ".json":
        return None
    try:
        data, _ = read_document(p)
    except SpecError:
        return None  # the regular loader reports it
    return p if detect_format(data) == "neptune" else None


def _validate_neptune(path: str | Path, file: Path, log: str | Path | None, *, data: str | Path | None = None,
                      max_jobs: int | None = None, command: list[str] | None = None) -> NeptuneValidationReport:
    import warnings as _warnings

    from hyperjob.formats.neptune import DEFAULT_MAX_JOBS, NeptuneConfigWarning, load_neptune_config, neptune_problems

    source = str(path) if Path(path) == file else str(file)
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", NeptuneConfigWarning)  # kept on config.warnings, shown by render
        config = load_neptune_config(file, source=source)
    tuned = tuple((b, config.space_for_budget(b).names) for b in NEPTUNE_BUDGETS)
    problems = tuple(neptune_problems(config))
    resolved: tuple[str, ...] = ()
    size_notes: tuple[str, ...] = ()
    if data is not None or command is not None:
        # the spec `hyperjob tune CONFIG [--data DIR] [-- cmd]` would run: every rule it applies, applied here
        from hyperjob.algorithms.graph.tuning import config_tuning_spec

        notes: list[str] = []
        spec = config_tuning_spec(file, Path(data) if data is not None else None, max_jobs, command=command,
                                  notes=notes)
        budget = spec.limits.max_jobs if spec.limits.max_jobs is not None else DEFAULT_MAX_JOBS
        resolved = tuple(f"{name}: {_range_text(r)}" for name, r in spec.hyperparameter_ranges.items())
        size_notes = tuple(notes) + (f"budget {budget} training jobs, {spec.limits.max_parallel_jobs} at once",)
    definitions = list(config.eval_metric.metric_definitions)
    extra = {"problems": problems, "resolved": resolved, "size_notes": size_notes}
    if log is None:
        checks = [MetricCheck(d.name, d.regex, problems=tuple(_static_problems(d.regex))) for d in definitions]
        return NeptuneValidationReport(str(path), config, tuned, metrics=tuple(checks), **extra)
    log_lines = _read_log(log)
    found, checks = check_definitions(definitions, log_lines)
    return NeptuneValidationReport(str(path), config, tuned, log=str(log), line_count=len(log_lines),
                                   lines=tuple(found), metrics=tuple(checks), **extra)


def _range_text(r: Any) -> str:
    """A spec range in a few words: ``[32, 1024] power2 (default 256)``, ``one of [true, false]``."""
    if getattr(r, "values", None):
        return f"one of {list(r.values)}"
    scaling = getattr(r, "scaling", None)
    text = f"[{r.min_value:g}, {r.max_value:g}]"
    if scaling not in (None, "auto", "linear"):
        text += f" {scaling}"
    default = getattr(r, "default", None)
    return text + (f" (default {default})" if default is not None else "")


def _render_neptune(report: NeptuneValidationReport) -> str:
    from hyperjob.space import Tier

    config = report.config
    space = config.space
    objective = config.objective
    shown = f" ({config.source})" if config.source != report.path else ""
    out = [f"{report.path}: a valid Neptune ML model-HPO-configuration{shown}"]
    by_tier: dict[str, list[str]] = {}
    for r in space.ranges:
        label = {Tier.ONE: "tier 1", Tier.TWO: "tier 2", Tier.THREE: "tier 3"}.get(r.tier, "tier ?")
        by_tier.setdefault(label, []).append(r.name)
    rows = [
        ("model", config.model),
        ("task type", config.task_type),
        ("objective", f"{objective.direction.value.lower()} {objective.metric}"),
        ("eval frequency", f"{config.eval_frequency.type} {config.eval_frequency.value:g}"),
    ]
    rows += [(label, ", ".join(names)) for label, names in sorted(by_tier.items())]
    rows.append(("fixed", ", ".join(space.static) or "none"))
    rows += [(f"tuned at {b} jobs", ", ".join(names) or "none") for b, names in report.tuned]
    width = max(len(label) for label, _ in rows)
    out += [f"  {label + ':':<{width + 1}} {text}" for label, text in rows]
    out.append("  (Neptune ML's default budget is 2 training jobs: tier 1 only; up to 10 jobs tune tier 1, 11 to 50 "
               "tiers 1 and 2, 51 and more all three; the others take their defaults.)")
    if config.warnings:
        out.append("read leniently:")
        out += _bullets(config.warnings)
    if report.problems:
        out.append("training jobs would fail:")
        out += _bullets(report.problems)
    if report.size_notes or report.resolved:
        out.append("as hyperjob tune runs it:")
        out += _bullets(report.size_notes)
        out += _bullets((f"tuned {r}" for r in report.resolved))
    if report.log is not None:
        out.append(f"sample log {report.log}: {report.line_count} lines, {len(report.lines)} yield metric values")
        for m in report.metrics:
            if m.values:
                out.append(f"metric {m.name!r}: {m.values} values (first {m.first:g}, last {m.last:g})")
                out += _bullets(m.misreads, "    ")
                out += _bullets(m.skipped, "    ")
            else:
                out.append(f"metric {m.name!r}: no line yields a value, regex {m.regex!r}. Why:")
                out += _bullets(m.why_no_match, "    ")
        out.append("OK: every metric definition reads values from the sample log." if report.ok
                   else "NOT OK: fix the metric definitions above.")
    else:
        problems = [(m.name, p) for m in report.metrics for p in m.problems]
        if problems:
            out.append("metric regexes:")
            out += _bullets(f"{name}: {p}" for name, p in problems)
    return "\n".join(out)
