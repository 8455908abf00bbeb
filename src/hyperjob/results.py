"""Results anywhere: the CSV of a tuning job's training jobs (one owner of its columns), written to a local
path or any fsspec URL (``s3://``, ``gs://``, ``memory://``, ``file://``), continuously while it runs.

:func:`write_csv` is the table ``hyperjob export`` writes and the results CSV holds: one row per training job
with its status, times, final objective, hyperparameters, period (for a tuning job with periods) and every
metric the program reported (last, best and count of values). :class:`ResultsWriter` is what the Tuner calls
(``results: {url: ...}`` in the spec): the target is checked before anything runs (one line, exit 2, when the
URL is bad or credentials are missing), the CSV is rewritten as each training job ends (a whole object each
time, so that a reader never sees half a file), each training job's model folder is uploaded next to it
(``<folder>/models/<training job>/``), and for a tuning job with periods the winner test goes to
``<name>.summary.json`` beside the CSV. A write that fails while the tuning job runs is a warning: the store
keeps everything, and ``hyperjob export NAME -o URL`` writes it again.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from hyperjob.errors import SpecError
from hyperjob.records import TrainingJobRecord


def _cell(value: float | None) -> str:
    """A number in a CSV cell, read back exactly by float(); NaN, inf and none are empty."""
    return "" if value is None or not math.isfinite(value) else repr(value)


def _finite(data: Any) -> Any:
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(v) for v in data]
    return data


def write_csv(fh: Any, tuning: Any, records: Sequence[TrainingJobRecord], metrics: Mapping[str, Sequence[Any]],
              long: bool = False) -> None:
    """Write the tuning job's training jobs as CSV to ``fh`` (``long``: one row per metric value instead)."""
    w = csv.writer(fh)
    if long:
        w.writerow(["training_job", "metric", "step", "value", "timestamp"])
        for r in records:
            for m in metrics.get(r.id, []):
                w.writerow([r.id, m.name, m.step, _cell(m.value), m.timestamp])
        return
    from hyperjob.outcomes import export_marks
    from hyperjob.tuner.describe import objective_of, outcomes_of
    from hyperjob.tuner.periods import configuration_of, period_of

    with_periods = any(configuration_of(r) is not None for r in records)
    # several objectives or constraints: pareto_front and feasible (hyperjob.outcomes, docs/objectives.md)
    marks = export_marks(outcomes_of(tuning), records, metrics)
    hp_names = sorted({k for r in records for k in r.config})
    metric_names = sorted({m.name for ms in metrics.values() for m in ms})
    # issue 17: the static hyperparameters, why a training job was stopped, and each metric's own direction
    from hyperjob.tuner.describe import metric_direction

    static = dict((tuning.spec or {}).get("static_hyperparameters") or {})
    static_names = sorted(n for n in static if n not in hp_names)
    directions = {n: metric_direction(tuning, n) for n in metric_names}
    w.writerow(
        ["training_job", "status", "created_at", "started_at", "ended_at", "final_objective", "failure_reason",
         "stop_reason"]
        + (["configuration", "period", "period_start", "period_end", "seed"] if with_periods else [])
        + [f"hp:{n}" for n in hp_names]
        + [f"static:{n}" for n in static_names]
        + [f"{n}:last" for n in metric_names]
        + [f"{n}:best" for n in metric_names]
        + [f"{n}:count" for n in metric_names]
        + marks[0]
    )
    def best_of(vals: list[float], name: str) -> float | None:
        finite = [v for v in vals if math.isfinite(v)]
        direction = directions[name]
        if not finite or direction is None:  # a metric whose direction nothing says: no "best"
            return None
        return max(finite) if direction.value == "Maximize" else min(finite)

    for r in records:
        by_name: dict[str, list[float]] = {}
        for m in metrics.get(r.id, []):
            by_name.setdefault(m.name, []).append(m.value)
        period: list[Any] = []
        if with_periods:
            p = period_of(r)
            k = configuration_of(r)
            period = ["" if k is None else f"c{k}", "" if p is None else p.index,
                      (p.start if p else None) or "", (p.end if p else None) or "",
                      "" if p is None or p.seed is None else p.seed]
        w.writerow(
            [r.id, r.status.value, r.created_at, r.started_at or "", r.ended_at or "",
             _cell(r.final_objective), (r.failure_reason or "") if r.status.value == "Failed" else "",
             (r.failure_reason or "") if r.status.value != "Failed" else ""]
            + period
            + [json.dumps(_finite(r.config.get(n)), allow_nan=False)
               if isinstance(r.config.get(n), (list, dict)) else r.config.get(n, "") for n in hp_names]
            + [json.dumps(_finite(static[n]), allow_nan=False) if isinstance(static[n], (list, dict)) else static[n]
               for n in static_names]
            + [_cell(by_name[n][-1]) if n in by_name else "" for n in metric_names]
            + [_cell(best_of(by_name[n], n)) if n in by_name else "" for n in metric_names]
            + [len(by_name.get(n, [])) for n in metric_names]
            + marks[1][r.id]
        )


# ---------------------------------------------------------------------------------------------------- targets
def _local(url: str) -> Path | None:
    from hyperjob.remote import is_url, local_path

    return None if is_url(url) else Path(local_path(url))


def _parent(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[0] if "/" in url.split("://", 1)[-1] else url


def check_target(url: str, options: Mapping[str, Any] | None = None) -> None:
    """Raise one :class:`SpecError` line unless a file can be written at ``url`` (its folder is created when
    it is local); called before anything runs."""
    local = _local(url)
    if local is None:
        from hyperjob.remote import check_writable, filesystem

        fs, path = filesystem(url, options)
        try:
            is_dir = fs.isdir(path)
        except Exception:  # noqa: BLE001 - check_writable says what is wrong with the folder
            is_dir = False
        if is_dir:
            raise SpecError(f"{url}: this is a folder; give the results file's URL, e.g. {url.rstrip('/')}/results.csv.")
        check_writable(_parent(url), options)
        return
    if local.is_dir():
        raise SpecError(f"{url}: this is a folder; give the results file's path, e.g. {local / 'results.csv'}.")
    try:
        local.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=local.parent, prefix=".hyperjob-write-check-"):
            pass
    except OSError as exc:
        raise SpecError(f"{url}: cannot write there ({exc.strerror or exc}). Check the folder and its "
                        "permissions.") from None


def put_text(url: str, text: str, options: Mapping[str, Any] | None = None) -> None:
    """Write ``text`` at ``url`` as a whole (a local file is written beside and renamed into place)."""
    local = _local(url)
    if local is None:
        from hyperjob.remote import filesystem

        fs, path = filesystem(url, options)
        with fs.open(path, "wb") as fh:
            fh.write(text.encode("utf-8"))
        return
    local.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=local.parent, prefix=f".{local.name}.")
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, local)


def put_folder(folder: Path, url: str, options: Mapping[str, Any] | None = None) -> int:
    """Copy the files of a local folder to ``url`` (a folder); returns how many were copied."""
    files = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
    local = _local(url)
    if local is None:
        from hyperjob.remote import filesystem

        fs, path = filesystem(url, options)
        for p in files:
            fs.put_file(str(p), f"{path.rstrip('/')}/{p.relative_to(folder).as_posix()}")
        return len(files)
    import shutil

    for p in files:
        target = local / p.relative_to(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, target)
    return len(files)


def csv_text(store: Any, name: str, long: bool = False) -> str:
    """The tuning job's CSV (as :func:`write_csv` writes it) from the store."""
    buf = io.StringIO(newline="")
    write_csv(buf, store.get_tuning_job(name), store.list_training_jobs(name), store.get_all_metrics(name), long)
    return buf.getvalue()


class ResultsWriter:
    """Writes a tuning job's results while it runs (the Tuner calls it; ``results: {url: ...}``).

    Args:
        spec: the spec's ``results`` (url, models, storage_options).
        plan: the tuning job's plan (its name and output folder).
        store: where the records are read from.
        warn: told when a write fails while the tuning job runs (the tuning job goes on).

    Raises:
        SpecError: the URL cannot be written (bad scheme, no credentials, no bucket...): before anything runs.
    """

    def __init__(self, spec: Any, plan: Any, store: Any, warn: Callable[[str], None] | None = None) -> None:
        self.url = spec.url
        self.options = dict(spec.storage_options)
        self.models = bool(spec.models)
        self.plan = plan
        self.store = store
        self.warn = warn or (lambda message: None)
        self._warned: set[str] = set()
        try:
            check_target(self.url, self.options)
        except SpecError as exc:
            raise SpecError(exc.message, path="results.url") from None

    @classmethod
    def of(cls, plan: Any, store: Any, warn: Callable[[str], None] | None = None) -> "ResultsWriter | None":
        return cls(plan.results, plan, store, warn) if getattr(plan, "results", None) is not None else None

    @property
    def folder(self) -> str:
        return _parent(self.url)

    @property
    def models_url(self) -> str:
        return f"{self.folder}/models"

    def _guard(self, what: str, fn: Callable[[], Any]) -> None:
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - the tuning job goes on; the store has everything
            text = " ".join(str(exc).split())[:200]
            key = f"{what}:{type(exc).__name__}"
            if key not in self._warned:
                self._warned.add(key)
                self.warn(f"results: could not write {what} ({type(exc).__name__}: {text}); the tuning job goes on "
                          f"and the store keeps everything: `hyperjob export {self.plan.name} -o {self.url}`.")

    def write(self) -> None:
        """Rewrite the CSV (and, with periods, the summary) from the store."""
        self._guard(self.url, lambda: put_text(self.url, csv_text(self.store, self.plan.name), self.options))
        if self.plan.periods:
            self._guard("the summary", self._write_summary)

    def _write_summary(self) -> None:
        from hyperjob.tuner.describe import objective_of
        from hyperjob.tuner.periods import winner_report

        tuning = self.store.get_tuning_job(self.plan.name)
        report = winner_report(self.store.list_training_jobs(self.plan.name), tuning.spec, objective_of(tuning))
        stem = self.url.rsplit(".", 1)[0] if self.url.rsplit("/", 1)[-1].count(".") else self.url
        put_text(f"{stem}.summary.json", json.dumps(_finite(report), indent=1, allow_nan=False), self.options)

    def training_job_ended(self, record: TrainingJobRecord) -> None:
        """A training job ended: upload its model folder, then rewrite the CSV."""
        if self.models:
            folder = self.plan.output_dir / self.plan.name / record.id / "model"
            self._guard(f"the model of {record.id}",
                        lambda: put_folder(folder, f"{self.models_url}/{record.id}", self.options))
        self.write()

    def tuning_job_ended(self) -> None:
        self.write()
