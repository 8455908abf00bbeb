"""The command line's part of experiments (docs/experiments.md): ``tune --fast/--as-of``, staged experiment
files, the winner test in ``describe`` and ``best``, ``compare`` and ``rankcheck``.

Imported at the end of :mod:`hyperjob.cli.app`, whose ``app`` and error boundary it uses.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape

from hyperjob.cli.app import STORE_HELP, _open, _print_json, _run, _store_url, app, boundary, err, out
from hyperjob.errors import SpecError, TuningJobError


# ---------------------------------------------------------------------------------------------------- tune
def apply_flags(spec_obj: Any, source: str, fast: bool, as_of: Optional[str]) -> Any:
    """The spec with ``--fast`` (fast mode on) and ``--as-of YYYY-MM`` (the month rotation draws for)."""
    if not fast and as_of is None:
        return spec_obj
    from hyperjob.formats.periods import check_month
    from hyperjob.formats.spec import TuningJobSpec

    data = spec_obj.to_json()
    if fast:
        data["fast"] = {**(data.get("fast") or {}), "enabled": True}
    if as_of is not None:
        check_month(as_of, "--as-of")
        rotate = (data.get("periods") or {}).get("rotate")
        if rotate is None:
            raise SpecError(f"--as-of {as_of} picks the month that periods.rotate draws its periods for, but this "
                            "tuning job has no periods.rotate. Remove --as-of, or declare periods: {rotate: ...}.",
                            source=source)
        data["periods"] = {**data["periods"], "rotate": {**rotate, "as_of": as_of}}
    return TuningJobSpec.from_json(data, source=source)


def staged(path: Path) -> bool:
    """An experiment file with ``stages: true`` (the learning-rate family first, then the rest)."""
    from hyperjob.formats._files import read_document
    from hyperjob.formats.experiments import is_experiment_file

    try:
        data, _ = read_document(path)
    except SpecError:
        return False
    return is_experiment_file(data) and bool(data.get("stages"))


def run_stages(path: Path, store: Optional[str], quiet: bool, fast: bool, as_of: Optional[str]) -> None:
    """Run a staged experiment file: stage 1 (``<name>-stage1``) tunes the learning-rate family, stage 2
    (``<name>-stage2``) the rest with stage 1's best values held static."""
    from hyperjob.formats._files import read_document
    from hyperjob.formats.experiments import experiment_spec_data, stage_specs
    from hyperjob.formats.spec import TuningJobSpec
    from hyperjob.tuner.plan import TuningPlan

    data, source = read_document(path)
    spec, arch = experiment_spec_data(data, source=source, base_dir=path.resolve().parent,
                                      default_name=path.stem)
    first = apply_flags(TuningJobSpec.model_validate(stage_specs(spec, arch.learning_rate_family)[0]), source,
                        fast, as_of)
    store_url = store or first.store or os.environ.get("HYPERJOB_STORE") or str(Path(first.output_dir) / "hyperjob.db")
    err.print(f"stage 1: {first.name} tunes {', '.join(first.hyperparameter_ranges)}", highlight=False)
    _run(TuningPlan.from_spec(first), store_url, resume=False, quiet=quiet)
    db = _open(store_url)
    try:
        best = _best_config(db, first.name)
    finally:
        db.close()
    stages = stage_specs(spec, arch.learning_rate_family, best)
    if len(stages) < 2:
        return
    second = apply_flags(TuningJobSpec.model_validate(stages[1]), source, fast, as_of)
    err.print(f"stage 2: {second.name} tunes {', '.join(second.hyperparameter_ranges)} with {best}", highlight=False)
    _run(TuningPlan.from_spec(second), store_url, resume=False, quiet=quiet)


def _best_config(db: Any, name: str) -> dict[str, Any]:
    from hyperjob.tuner.describe import best_training_job, objective_of

    tuning = db.get_tuning_job(name)
    report = experiment_report(db, name)
    if report is not None and report.get("BestConfiguration"):
        return dict(report["BestConfiguration"]["TunedHyperParameters"])
    b = best_training_job(db.list_training_jobs(name), objective_of(tuning))
    if b is None:
        raise TuningJobError(f"stage 1 ({name}) has no completed training job with a value, so stage 2 cannot "
                             f"start. See `hyperjob trials {name}`.")
    return dict(b.config)


# ---------------------------------------------------------------------------------------------------- describe, best
def experiment_report(db: Any, name: str, compare: Optional[tuple[str, str]] = None) -> Optional[dict[str, Any]]:
    """The winner report of a tuning job with periods (``None`` without periods)."""
    from hyperjob.tuner.describe import objective_of
    from hyperjob.tuner.periods import winner_report

    tuning = db.get_tuning_job(name)
    return winner_report(db.list_training_jobs(name), tuning.spec, objective_of(tuning), compare)


def with_experiment(d: dict[str, Any], report: dict[str, Any]) -> None:
    """``describe``'s answer for a tuning job with periods: the report under ``Experiment``, and the best
    training job is the best configuration's (its first period's training job, valued at the aggregate)."""
    d["Experiment"] = report
    best = report.get("BestConfiguration")
    if best is None:
        d.pop("BestTrainingJob", None)
        return
    if d.get("BestTrainingJob"):
        metric = d["BestTrainingJob"].get("FinalHyperParameterTuningJobObjectiveMetric") or {}
        d["BestTrainingJob"] = {**d["BestTrainingJob"], "TrainingJobName": best["TrainingJobs"][0],
                                "TunedHyperParameters": best["TunedHyperParameters"],
                                "FinalHyperParameterTuningJobObjectiveMetric": {**metric, "Value": best["Aggregate"]},
                                "Configuration": best["Configuration"]}


def experiment_lines(report: dict[str, Any], metric: str) -> list[str]:
    from hyperjob.tuner.periods import winner_lines

    return [escape(line) for line in winner_lines(report, metric)]


def best_configuration(report: dict[str, Any], tuning: Any, as_json: bool) -> None:
    """``hyperjob best`` of a tuning job with periods: the best configuration by its aggregate, its values per
    period, its training jobs' model directories and the winner test."""
    from hyperjob.tuner.describe import objective_of

    objective = objective_of(tuning)
    best = report.get("BestConfiguration")
    if not best:
        raise TuningJobError(f"tuning job {tuning.name!r} has no configuration with a value in every period yet.")
    spec = tuning.spec
    static = {**(spec.get("static_hyperparameters") or {})}
    if (spec.get("fast") or {}).get("enabled"):
        static.update((spec.get("fast") or {}).get("static_hyperparameters") or {})
    output_dir = Path(spec.get("output_dir") or "hyperjob-runs")
    result = {
        "Configuration": best["Configuration"],
        "MetricName": objective.metric,
        "Aggregate": report["Aggregate"],
        "Value": best["Aggregate"],
        "PeriodValues": dict(zip(report["Periods"], best["Values"])),
        "HyperParameters": {**static, **best["TunedHyperParameters"]},
        "TrainingJobs": best["TrainingJobs"],
        "ModelDirs": [str(output_dir / tuning.name / j / "model") for j in best["TrainingJobs"]],
        "WinnerTest": report.get("WinnerTest"),
    }
    if as_json:
        _print_json(result)
        return
    out.print(f"{best['Configuration']}: {report['Aggregate']} {objective.metric} = {best['Aggregate']:.6g} over "
              f"{len(report['Periods'])} periods", highlight=False)
    for label, value in result["PeriodValues"].items():
        out.print(f"  {label}: {value:.6g}", highlight=False)
    out.print(f"hyperparameters: {json.dumps(result['HyperParameters'], default=str)}", highlight=False)
    test = report.get("WinnerTest") or {}
    if test.get("verdict"):
        out.print(f"winner test: {escape(test['verdict'])}", highlight=False, soft_wrap=True)
    out.print(f"model dirs: {', '.join(result['ModelDirs'])}", highlight=False, soft_wrap=True)


@app.command()
@boundary
def compare(
    name: str = typer.Argument(..., help="A tuning job with periods."),
    a: str = typer.Argument(..., help="A configuration (c0, c1, ...: `hyperjob describe NAME` lists them)."),
    b: str = typer.Argument(..., help="Another configuration."),
    store: Optional[str] = typer.Option(None, help=STORE_HELP),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """The paired winner test of two configurations over the tuning job's periods (signed-rank, sign count,
    mean difference with its interval)."""
    from hyperjob.tuner.describe import objective_of

    db = _open(store)
    try:
        report = experiment_report(db, name, (a, b))
        metric = objective_of(db.get_tuning_job(name)).metric
    finally:
        db.close()
    if report is None:
        raise TuningJobError(f"tuning job {name!r} has no periods: a paired test needs the same periods for both "
                             "configurations. Declare periods (docs/experiments.md).")
    if as_json:
        _print_json(report)
        return
    for line in experiment_lines(report, metric):
        out.print(line, highlight=False, soft_wrap=True)


# ---------------------------------------------------------------------------------------------------- rankcheck
@app.command()
@boundary
def rankcheck(
    name: str = typer.Argument(..., help="A tuning job run in fast mode (`hyperjob tune SPEC --fast`)."),
    top: int = typer.Option(8, "--top", help="How many of its best configurations to run again in full mode (>= 5)."),
    store: Optional[str] = typer.Option(None, help=STORE_HELP),
    full_name: Optional[str] = typer.Option(None, "--name", help="The full-mode tuning job (default NAME-full)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """Run a fast tuning job's top K configurations in full mode (a linked tuning job) and report how well the
    fast ranking tracks the full one (Spearman and Kendall, with confidence intervals)."""
    from hyperjob.formats.spec import TuningJobSpec
    from hyperjob.records import TuningJobStatus
    from hyperjob.tuner.describe import objective_of
    from hyperjob.tuner.plan import TuningPlan
    from hyperjob.tuner.rankcheck import check_fast, compare_rankings, full_spec_json, ranked_values

    store_url = _store_url(store)
    full = full_name or f"{name}-full"
    db = _open(store)
    try:
        tuning = db.get_tuning_job(name)
        check_fast(tuning, top)
        objective = objective_of(tuning)
        configs = [c for c, _ in ranked_values(db, name, objective)][:top]
        known = {t.name: t for t in db.list_tuning_jobs()}
    finally:
        db.close()
    if len(configs) < top:
        raise SpecError(f"tuning job {name!r} has {len(configs)} configurations with a value, fewer than "
                             f"--top {top}. Use --top {max(len(configs), 1)} or run more training jobs.")
    existing = known.get(full)
    was_quiet = out.quiet
    out.quiet = was_quiet or as_json  # with --json, only the JSON goes to standard output
    try:
        if existing is None:
            spec = TuningJobSpec.from_json(full_spec_json(tuning.spec, configs, name, full))
            _run(TuningPlan.from_spec(spec), store_url, resume=False, quiet=quiet)
        elif existing.status is not TuningJobStatus.COMPLETED:
            _run(TuningPlan.from_spec(TuningJobSpec.from_json(dict(existing.spec))), store_url, resume=True,
                 quiet=quiet)
    finally:
        out.quiet = was_quiet
    confidence = float(((tuning.spec.get("periods") or {}).get("confidence")) or 0.95)
    db = _open(store)
    try:
        check = compare_rankings(db, name, full, configs, objective, confidence)
    finally:
        db.close()
    if as_json:
        _print_json(check.to_json())
        return
    level = f"{confidence * 100:g} %"
    out.print(f"fast {name} vs full {full}, top {check.n} configurations:", highlight=False)
    out.print(f"  Spearman {check.spearman:.3f} ({level} CI {check.spearman_ci[0]:.3f} .. {check.spearman_ci[1]:.3f})",
              highlight=False)
    out.print(f"  Kendall  {check.kendall:.3f} ({level} CI {check.kendall_ci[0]:.3f} .. {check.kendall_ci[1]:.3f})",
              highlight=False)
    out.print(f"  verdict: {escape(check.verdict)}", highlight=False, soft_wrap=True)
