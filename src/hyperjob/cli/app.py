"""The ``hyperjob`` command line: tune, validate, resume, stop, list, describe, trials, best, export.

This module is the error boundary: a ``HyperjobError`` becomes one red line and exit code 2 (bad input) or 1
(a failed run); a traceback is shown only with ``--debug``.

Output: every ``--json`` is strict JSON (no ``NaN``/``Infinity``: a non-finite number is written as null), and
``export`` writes a non-finite number as an empty cell. A reader that goes away (``hyperjob tune ... | head -1``)
silences the output and changes nothing else: the command goes on, the tuning job is not harmed, and the exit
code is the command's own (0 for a completed tuning job).
"""

from __future__ import annotations

import csv
import functools
import json
import math
import os
import signal
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hyperjob.errors import HyperjobError, TuningJobError

app = typer.Typer(
    name="hyperjob",
    help="Automatic model tuning that you run yourself.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
from hyperjob.cli.graph import graph_app  # noqa: E402  (hyperjob graph ...)
app.add_typer(graph_app, name="graph")


class _Console(Console):
    """A rich console that goes quiet when its reader has gone (a closed pipe), instead of rich's default of
    exiting with code 1: the rest of the output goes to /dev/null and the command finishes as it would."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.file.fileno())  # so that the interpreter's last flush has nowhere to fail
            os.close(devnull)
        except (OSError, ValueError, AttributeError):  # not a real file (tests capture it): quiet is enough
            pass


out = _Console()
err = _Console(stderr=True)
_state: dict[str, Any] = {"debug": False, "store_retry": None}

DEFAULT_STORE = os.path.join("hyperjob-runs", "hyperjob.db")
STORE_HELP = "Store URL or SQLite file (env HYPERJOB_STORE; default hyperjob-runs/hyperjob.db)."
EXECUTOR_HELP = "Where the training jobs run: local (processes on this machine) or ray (overrides the spec's executor)."
RAY_ADDRESS_HELP = ("The Ray cluster to run on (host:port, ray://host:10001 or auto; implies --executor ray); "
                    "without it, --executor ray starts a private local cluster.")

F = TypeVar("F", bound=Callable[..., Any])


def boundary(fn: F) -> F:
    """Turn our errors into one red line and an exit code; anything else too, unless --debug."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except HyperjobError as exc:
            if _state["debug"]:
                err.print_exception()
            err.print(f"[red]{type(exc).__name__}[/red]: {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("[red]interrupted[/red]")
            raise typer.Exit(130) from None
        except Exception as exc:  # noqa: BLE001 - the boundary
            if _state["debug"]:
                err.print_exception()
            err.print(
                f"[red]internal error[/red] {type(exc).__name__}: {escape(str(exc))} (run with --debug for the traceback)",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def _main(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
    store_retry: Optional[float] = typer.Option(
        None, "--store-retry", metavar="SECONDS", help="How long to ride out a database outage before stopping "
        "(resumable, exit code 75); env HYPERJOB_STORE_RETRY_S, default 120, 0: no retry."),
) -> None:
    _state["debug"] = debug
    _state["store_retry"] = store_retry


def finite_json(data: Any) -> Any:
    """``data`` with every non-finite float (NaN, inf, -inf) replaced by ``None``, for strict JSON.

    >>> finite_json({"a": [1.0, float("inf")], "b": float("nan")})
    {'a': [1.0, None], 'b': None}
    """
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite_json(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite_json(v) for v in data]
    return data


def _print_json(data: Any) -> None:
    """Strict JSON on standard output (``allow_nan=False``: a non-finite number is null)."""
    out.print_json(data=finite_json(data), default=str, allow_nan=False)


def _store_url(store: Optional[str]) -> str:
    return store or os.environ.get("HYPERJOB_STORE") or DEFAULT_STORE


def _open(store: Optional[str]):
    from hyperjob.store import open_store

    return open_store(_store_url(store), retry_s=_state["store_retry"])


# ---------------------------------------------------------------------------------------------------- tune
@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@boundary
def tune(
    ctx: typer.Context,
    spec: Path = typer.Argument(..., help="job.yaml / job.json, or a SageMaker CreateHyperParameterTuningJob request."),
    executor: Optional[str] = typer.Option(None, "--executor", help=EXECUTOR_HELP),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help=RAY_ADDRESS_HELP),
    store: Optional[str] = typer.Option(None, help=STORE_HELP),
    name: Optional[str] = typer.Option(None, help="Name of the tuning job (overrides the spec's)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
    fast: bool = typer.Option(False, "--fast", help="Fast mode: one period of one month and the spec's fast: "
                              "overrides (fewer epochs); `hyperjob rankcheck NAME` checks it against full mode."),
    as_of: Optional[str] = typer.Option(None, "--as-of", metavar="YYYY-MM", help="The month periods.rotate draws "
                                        "its periods for (default: this month), to reproduce a month's periods."),
    submit_dir: Optional[Path] = typer.Option(
        None, "--submit-dir", help="For a script-mode SageMaker request: the local source directory holding its "
        "sagemaker_program, which runs there as `python <sagemaker_program> --key value ...`."),
    data: Optional[Path] = typer.Option(
        None, "--data", help="For a Neptune ML model-HPO-configuration.json: the processed graph folder "
        "(`hyperjob graph process` / `hyperjob graph init`)."),
    max_jobs: Optional[int] = typer.Option(
        None, "--max-jobs", help="The budget: the number of training jobs (overrides the spec's limits.max_jobs / "
        "MaxNumberOfTrainingJobs). For a Neptune ML model-HPO-configuration.json (default 2, Neptune's) it also "
        "selects the tiers that are tuned."),
    channel: Optional[list[str]] = typer.Option(
        None, "--channel", help="An input channel NAME=PATH or NAME=URL (s3://bucket/prefix, any fsspec URL), "
        "repeatable; replaces the spec's channel of that name. A URL is fetched once into a local cache."),
    max_parallel_jobs: Optional[int] = typer.Option(
        None, "--max-parallel-jobs", help="Training jobs at once (overrides the spec's limits.max_parallel_jobs; "
        "for a Neptune ML config, its maxHPOParallelTrainingJobs, default 2)."),
    resource_budget: Optional[int] = typer.Option(
        None, "--resource-budget", help="The budget in epochs (the steps of every training job together; "
        "overrides the spec's limits.resource_budget): the tuning job ends when they are spent."),
) -> None:
    """Run a tuning job. For a SageMaker request, give the training command after `--`:
    `hyperjob tune request.json -- python train.py`, or the source directory of a script-mode request:
    `hyperjob tune request.json --submit-dir src/`."""
    from hyperjob.formats import load_spec
    from hyperjob.tuner.plan import TuningPlan
    from hyperjob.cli.experiments import apply_flags, run_stages, staged

    if staged(spec):  # an experiment file with stages: the learning-rate family first, then the rest
        run_stages(spec, store, quiet, fast, as_of)
        return
    command = list(ctx.args) or None
    if command and command[0] == "--":
        command = command[1:] or None
    from hyperjob.cli.graph import is_neptune_config, neptune_tuning_spec

    if data is not None or is_neptune_config(spec):
        notes: list[str] = []
        spec_obj = neptune_tuning_spec(spec, data, max_jobs, command=command, notes=notes)
        for note in notes:  # graph-size rescaling, an empty tier: said, not silent
            err.print(f"[yellow]note[/yellow]: {escape(note)}", highlight=False, soft_wrap=True)
    else:
        spec_obj = load_spec(spec, command=command, submit_dir=submit_dir)
        if max_jobs is not None:  # the budget, for any spec
            spec_obj = _limit(spec_obj, str(spec), "max_jobs", max_jobs, "--max-jobs")
    if resource_budget is not None:
        spec_obj = _limit(spec_obj, str(spec), "resource_budget", resource_budget, "--resource-budget")
    if name:
        from hyperjob.formats.spec import TuningJobSpec

        spec_obj = TuningJobSpec.from_json({**spec_obj.to_json(), "name": name}, source=str(spec))
    spec_obj = apply_flags(spec_obj, str(spec), fast, as_of)  # --fast, --as-of (docs/experiments.md)
    spec_obj = _overrides(spec_obj, str(spec), channel, max_parallel_jobs)
    from hyperjob.executors.env import prepare_channels

    prepare_channels(spec_obj.program.channels, spec_obj.program.working_dir)  # one line before any job starts
    plan = TuningPlan.from_spec(_with_executor(spec_obj, str(spec), executor, ray_address))
    store_url = store or spec_obj.store or os.environ.get("HYPERJOB_STORE") or str(Path(spec_obj.output_dir) / "hyperjob.db")
    _run(plan, store_url, resume=False, quiet=quiet)


def _overrides(spec_obj: Any, source: str, channel: Optional[list[str]], max_parallel_jobs: Optional[int]) -> Any:
    """The spec with ``--channel`` and ``--max-parallel-jobs`` applied (tune and validate)."""
    from hyperjob.errors import SpecError
    from hyperjob.formats.channels import parse_channel_flags, with_channels
    from hyperjob.formats.spec import TuningJobSpec

    spec_obj = with_channels(spec_obj, parse_channel_flags(channel), source=source)
    if max_parallel_jobs is not None:
        spec_obj = _limit(spec_obj, source, "max_parallel_jobs", max_parallel_jobs, "--max-parallel-jobs")
    return spec_obj


def _limit(spec_obj: Any, source: str, key: str, value: int, flag: str) -> Any:
    """The spec with ``limits.<key>`` set from a command-line flag (the spec's own rules apply to it)."""
    from hyperjob.errors import SpecError
    from hyperjob.formats.spec import TuningJobSpec

    data = spec_obj.to_json()
    data["limits"] = {**(data.get("limits") or {}), key: value}
    try:
        return TuningJobSpec.from_json(data)
    except SpecError as exc:
        raise SpecError(f"{flag} {value}: {exc.message}", source=source) from None


def _run(plan: Any, store_url: str, *, resume: bool, quiet: bool) -> None:
    from hyperjob.cli.progress import ProgressListener
    from hyperjob.store import open_store
    from hyperjob.tuner.loop import Tuner, TunerListener

    db = open_store(store_url, retry_s=_state["store_retry"])
    listener = TunerListener() if quiet else ProgressListener(plan, console=err)
    tuner = Tuner(plan, db, listener=listener)
    presses = {"n": 0}

    def on_signal(signum: int, frame: Any) -> None:
        # flags only (the Tuner acts on them at its next turn), so every status is still recorded
        presses["n"] += 1
        if presses["n"] == 1:
            tuner.request_stop("Interrupted by the user")
            err.print(f"[yellow]stopping the running training jobs (SIGTERM, SIGKILL after "
                      f"{plan.grace_period_s:g} s)... press Ctrl-C again to kill them now[/yellow]")
        elif presses["n"] == 2:
            tuner.request_kill("Interrupted by the user")
            err.print("[yellow]killing the running training jobs now (SIGKILL)...[/yellow]")
        else:  # a third time: leave at once; the store may show training jobs InProgress until a resume
            raise KeyboardInterrupt

    old_int = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    try:
        outcome = tuner.run(resume=resume)
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
        if hasattr(listener, "close"):
            listener.close()
        db.close()
    _print_outcome(outcome, plan, store_url)  # a closed stdout only silences it (_Console)
    if outcome.status.value == "Failed":
        raise typer.Exit(1)
    if outcome.interrupted:
        raise typer.Exit(130)


def _store_flag(store_url: str) -> str:
    default = os.environ.get("HYPERJOB_STORE") or DEFAULT_STORE
    return "" if store_url == default else f" --store {store_url}"


def _print_outcome(outcome: Any, plan: Any, store_url: str) -> None:
    color = {"Completed": "green", "Stopped": "yellow", "Failed": "red"}.get(outcome.status.value, "white")
    out.print(f"[{color}]{outcome.status.value}[/{color}]: {outcome.reason}", highlight=False, soft_wrap=True)
    if outcome.interrupted:
        out.print(f"resume with: hyperjob resume {plan.name}{_store_flag(store_url)}", highlight=False)
    best = outcome.best
    if best is not None:
        if getattr(plan, "periods", ()):  # a configuration over its periods (docs/experiments.md)
            out.print(f"best configuration: c{best.extra.get('configuration')} (first training job [bold]{best.id}"
                      f"[/bold])  {plan.objective.metric} = {best.final_objective:.6g}, the "
                      f"{best.extra.get('aggregate', 'mean')} of {len(plan.periods)} periods; `hyperjob describe "
                      f"{plan.name}` says whether it beats the runner-up", highlight=False, soft_wrap=True)
        else:
            out.print(
                f"best training job: [bold]{best.id}[/bold]  {plan.objective.metric} = {best.final_objective:.6g}",
                highlight=False,
            )
        out.print(f"hyperparameters: {json.dumps(plan.space.full(best.config), default=str)}", highlight=False)
        out.print(f"model dir: {plan.output_dir / plan.name / best.id / 'model'}", highlight=False)
    elif outcome.status.value != "Failed":
        out.print("no training job reported the objective metric.")


# ---------------------------------------------------------------------------------------------------- validate
@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@boundary
def validate(
    ctx: typer.Context,
    spec: Path = typer.Argument(..., help="The spec file to check."),
    log: Optional[Path] = typer.Option(None, "--log", help="Sample log lines to check the metric regexes against."),
    submit_dir: Optional[Path] = typer.Option(
        None, "--submit-dir", help="For a script-mode SageMaker request: the local source directory holding its "
        "sagemaker_program."),
    channel: Optional[list[str]] = typer.Option(
        None, "--channel", help="An input channel NAME=PATH or NAME=URL, as `hyperjob tune --channel` takes it; "
        "validate checks that it can be read."),
    data: Optional[Path] = typer.Option(
        None, "--data", help="For a Neptune ML config: the processed graph folder; shows the ranges resolved for "
        "its size (graph-size rescaling) as `hyperjob tune --data` would run them."),
    max_jobs: Optional[int] = typer.Option(
        None, "--max-jobs", help="For a Neptune ML config with --data: the budget (default 2)."),
) -> None:
    """Check a spec without running it (and its metric regexes against sample log lines). Also reads a Neptune ML
    model-HPO-configuration.json (either spelling, or the folder holding it). A command after `--` is checked
    as `hyperjob tune FILE -- cmd` would run it."""
    from hyperjob.errors import SpecError
    from hyperjob.formats.validate import render, validate_file

    command = list(ctx.args) or None
    if command and command[0] == "--":
        command = command[1:] or None
    if command and command[0].startswith("-"):
        raise SpecError(f"validate does not know the option {command[0]!r}. See hyperjob validate --help; a "
                        "command to run goes after '--'.")
    report = validate_file(spec, log, submit_dir=submit_dir, command=command, channels=channel, data=data,
                           max_jobs=max_jobs)
    out.print(render(report), highlight=False, soft_wrap=True, markup=False)
    if not report.ok:
        raise typer.Exit(2)


# ---------------------------------------------------------------------------------------------------- resume
@app.command()
@boundary
def resume(
    name: str = typer.Argument(..., help="The tuning job to continue."),
    store: Optional[str] = typer.Option(None, help=STORE_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
    executor: Optional[str] = typer.Option(None, "--executor", help=EXECUTOR_HELP + " For this run only."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help=RAY_ADDRESS_HELP),
) -> None:
    """Continue a tuning job after Ctrl-C, a kill or a reboot (or another machine's tuner that stopped renewing
    its lease: see docs/cluster.md)."""
    from hyperjob.formats.spec import TuningJobSpec
    from hyperjob.tuner.plan import TuningPlan

    store_url = _store_url(store)
    db = _open(store)
    try:
        tuning = db.get_tuning_job(name)
    finally:
        db.close()
    spec = TuningJobSpec.from_json(dict(tuning.spec))
    if spec.program_is_function:
        raise TuningJobError(
            f"tuning job {name!r} trains the Python function {spec.program.function!r} (it was started with "
            f"hyperjob.tune), which only a Python process holds. Resume it from Python with "
            f"hyperjob.tune(..., name={name!r}, resume=True)."
        )
    from hyperjob.executors.env import prepare_channels

    if not tuning.status.terminal:  # one line before any job starts again (a URL's cached copy is reused)
        prepare_channels(spec.program.channels, spec.program.working_dir)
    plan = TuningPlan.from_spec(_with_executor(spec, f"tuning job {name!r}", executor, ray_address))
    _run(plan, store_url, resume=True, quiet=quiet)


def _with_executor(spec_obj: Any, source: str, executor: Optional[str], ray_address: Optional[str]) -> Any:
    """The spec with ``--executor`` / ``--ray-address`` applied (tune and resume); unchanged without them."""
    if executor is None and ray_address is None:
        return spec_obj
    from hyperjob.errors import SpecError
    from hyperjob.formats.spec import TuningJobSpec

    kind = executor or "ray"
    if kind == "local" and ray_address is not None:
        raise SpecError(f"--ray-address {ray_address} needs --executor ray, not --executor local. Remove one.")
    chosen = {"type": kind, **({"address": ray_address} if ray_address else {})}
    try:
        return TuningJobSpec.from_json({**spec_obj.to_json(), "executor": chosen}, source=source)
    except SpecError as exc:
        raise SpecError(f"--executor {kind}: {exc.message}") from None


# ---------------------------------------------------------------------------------------------------- stop
@app.command()
@boundary
def stop(
    name: str = typer.Argument(..., help="The tuning job to stop."),
    store: Optional[str] = typer.Option(None, help=STORE_HELP),
    wait_s: float = typer.Option(30.0, "--wait", help="Seconds to wait for the tuner to stop."),
) -> None:
    """Stop a running tuning job: its running training jobs are stopped, the tuning job ends Stopped."""
    from hyperjob.tuner.stop import stop_tuning_job

    db = _open(store)
    try:
        out.print(stop_tuning_job(db, name, wait_s=wait_s), highlight=False)
    finally:
        db.close()


# ---------------------------------------------------------------------------------------------------- dashboard
@app.command()
@boundary
def dashboard(
    store: Optional[str] = typer.Option(None, help=STORE_HELP),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; any other than loopback needs a token."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    token: Optional[str] = typer.Option(
        None, "--token", envvar="HYPERJOB_DASHBOARD_TOKEN", help="Access token (16+ characters; env "
        "HYPERJOB_DASHBOARD_TOKEN). Generated and printed when --host is not loopback; given, it is required on "
        "loopback too."),
) -> None:
    """Watch, understand and compare tuning jobs in the browser (docs/dashboard.md)."""
    try:
        from hyperjob.dashboard.app import serve
    except ImportError as exc:
        raise TuningJobError(f"the dashboard needs FastAPI, uvicorn and plotly ({exc}): "
                             "pip install 'hyperjob[dashboard]'") from None

    def ready(url: str) -> None:
        out.print(f"hyperjob dashboard on {url}  (store {_store_url(store)}; Ctrl-C ends it)", highlight=False,
                  soft_wrap=True)

    serve(_store_url(store), host=host, port=port, token=token, retry_s=_state["store_retry"], on_ready=ready)


# ---------------------------------------------------------------------------------------------------- list
@app.command("list")
@boundary
def list_(
    store: Optional[str] = typer.Option(None, help=STORE_HELP),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """List the tuning jobs in the store."""
    from hyperjob.tuner.describe import best_training_job, objective_of

    db = _open(store)
    try:
        rows = []
        for t in db.list_tuning_jobs():
            records = db.list_training_jobs(t.name)
            objective = objective_of(t)
            best = best_training_job(records, objective)
            rows.append(
                {
                    "HyperParameterTuningJobName": t.name,
                    "HyperParameterTuningJobStatus": t.status.value,
                    "CreationTime": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t.created_at)),
                    "TrainingJobs": len(records),
                    "MaxNumberOfTrainingJobs": (t.spec.get("limits") or {}).get("max_jobs"),
                    "Objective": f"{objective.direction.value} {objective.metric}",
                    "BestValue": best.final_objective if best else None,
                }
            )
    finally:
        db.close()
    if as_json:
        _print_json(rows)
        return
    if not rows:
        out.print("no tuning jobs in this store.")
        return
    table = Table()
    for col in ("name", "status", "created", "jobs", "objective", "best"):
        table.add_column(col)
    for r in rows:
        jobs = f"{r['TrainingJobs']}/{r['MaxNumberOfTrainingJobs'] or '?'}"
        best = "" if r["BestValue"] is None else f"{r['BestValue']:.6g}"
        table.add_row(r["HyperParameterTuningJobName"], r["HyperParameterTuningJobStatus"], r["CreationTime"], jobs,
                      r["Objective"], best)
    out.print(table)


# ---------------------------------------------------------------------------------------------------- describe
@app.command()
@boundary
def describe(
    name: str = typer.Argument(...),
    store: Optional[str] = typer.Option(None, help=STORE_HELP),
    as_json: bool = typer.Option(False, "--json", help="SageMaker-shaped JSON (DescribeHyperParameterTuningJob)."),
) -> None:
    """Describe a tuning job: status, counters, best training job, completion details."""
    from hyperjob.tuner.describe import describe_tuning_job

    db = _open(store)
    from hyperjob.cli.experiments import experiment_lines, experiment_report, with_experiment

    try:
        d = describe_tuning_job(db, name)
        experiment = experiment_report(db, name)  # periods: the best configuration and the winner test
    finally:
        db.close()
    if experiment is not None:
        with_experiment(d, experiment)
    if as_json:
        _print_json(d)
        return
    c = d["TrainingJobStatusCounters"]
    o = d["ObjectiveStatusCounters"]
    cfg = d["HyperParameterTuningJobConfig"]
    lines = [
        f"[bold]{d['HyperParameterTuningJobName']}[/bold]: {d['HyperParameterTuningJobStatus']}",
        f"strategy {cfg['Strategy']}; objective: {cfg['HyperParameterTuningJobObjective']['Type']} "
        f"{cfg['HyperParameterTuningJobObjective']['MetricName']}; limits {cfg['ResourceLimits']}",
        f"training jobs: {c['Completed']} completed, {c['InProgress']} in progress, {c['NonRetryableError']} failed, "
        f"{c['Stopped']} stopped; objective: {o['Succeeded']} succeeded, {o['Pending']} pending, {o['Failed']} failed",
        f"runtime: {d['ConsumedResources']['RuntimeInSeconds']} s",
    ]
    ranges = cfg.get("ParameterRanges") or {}
    shown = [f"{r['Name']} [{r['MinValue']}, {r['MaxValue']}] {r['ScalingType']}"
             + (f" -> {r['ResolvedScalingType']}" if r.get("ResolvedScalingType", r["ScalingType"]) != r["ScalingType"]
                else "")
             for key in ("ContinuousParameterRanges", "IntegerParameterRanges") for r in ranges.get(key, [])]
    shown += [f"{r['Name']} {{{', '.join(r['Values'])}}}" for r in ranges.get("CategoricalParameterRanges", [])]
    if shown:
        lines.append(f"ranges: {escape('; '.join(shown))}")
    if "TunerNote" in d:
        lines.append(f"[yellow]note[/yellow]: {escape(d['TunerNote'])}")
    if "FailureReason" in d:
        lines.append(f"[red]failure reason[/red]: {escape(d['FailureReason'])}")
    if "TuningJobCompletionDetails" in d:
        lines.append(f"ended: {d['TuningJobCompletionDetails']['Reason']}")
    best = d.get("BestTrainingJob")
    if best:
        m = best["FinalHyperParameterTuningJobObjectiveMetric"]
        lines.append(f"best training job: [bold]{best['TrainingJobName']}[/bold] {m['MetricName']} = {m['Value']:.6g}")
        lines.append(f"  hyperparameters: {json.dumps(best['TunedHyperParameters'], default=str)}")
    warm = d.get("WarmStartConfig")
    if warm:
        parents = ", ".join(p["HyperParameterTuningJobName"] for p in warm["ParentHyperParameterTuningJobs"])
        lines.append(f"warm start: {warm['WarmStartType']} from {escape(parents)}")
    overall = d.get("OverallBestTrainingJob")
    if overall:
        m = overall["FinalHyperParameterTuningJobObjectiveMetric"]
        lines.append(f"overall best (this tuning job and its parents): [bold]{overall['TrainingJobName']}[/bold] of "
                     f"{escape(overall['TuningJobName'])} {m['MetricName']} = {m['Value']:.6g}")
    if "EarlyStoppingNote" in d:
        lines.append(f"[yellow]note[/yellow]: {escape(d['EarlyStoppingNote'])}")
    stopped = d.get("StoppedEarly") or []
    if stopped:
        lines.append(f"stopped early: {len(stopped)} training jobs")
        shown = 20
        for s in stopped[:shown]:
            lines.append(f"  {s['TrainingJobName']}: {escape(s.get('Reason', ''))}")
        if len(stopped) > shown:
            lines.append(f"  ... and {len(stopped) - shown} more: `hyperjob trials {name} --status Stopped`")
    if experiment is not None:
        lines += experiment_lines(experiment, cfg["HyperParameterTuningJobObjective"]["MetricName"])
    for line in lines:
        out.print(line, highlight=False, soft_wrap=True)


# ---------------------------------------------------------------------------------------------------- trials
@app.command()
@boundary
def trials(
    name: str = typer.Argument(...),
    store: Optional[str] = typer.Option(None, help=STORE_HELP),
    sort_by: str = typer.Option("CreationTime", "--sort-by", help="Name, CreationTime, Status or FinalObjectiveMetricValue."),
    descending: bool = typer.Option(False, "--descending", help="Reverse the order."),
    status: Optional[str] = typer.Option(None, "--status", help="Only training jobs with this status."),
    limit: Optional[int] = typer.Option(None, "--limit", help="At most this many rows."),
    as_json: bool = typer.Option(False, "--json", help="JSON (TrainingJobSummaries)."),
) -> None:
    """List the training jobs of a tuning job (ListTrainingJobsForHyperParameterTuningJob)."""
    from hyperjob.tuner.describe import list_training_jobs

    db = _open(store)
    try:
        rows = list_training_jobs(db, name, sort_by=sort_by, descending=descending, status=status)
    finally:
        db.close()
    if limit is not None:
        rows = rows[:limit]
    if as_json:
        _print_json({"TrainingJobSummaries": rows})
        return
    names = sorted({k for r in rows for k in r["TunedHyperParameters"]})
    why = any("StoppingDecision" in r for r in rows)
    table = Table()
    for col in ("training job", "status", "objective", *names, *(["why stopped"] if why else [])):
        table.add_column(col)
    for r in rows:
        m = r.get("FinalHyperParameterTuningJobObjectiveMetric")
        reason = _why_stopped(r.get("StoppingDecision")) if why else None
        table.add_row(r["TrainingJobName"], r["TrainingJobStatus"], "" if not m else f"{m['Value']:.6g}",
                      *[_fmt(r["TunedHyperParameters"].get(n)) for n in names], *([reason] if why else []))
    out.print(table)


def _why_stopped(d: Optional[dict]) -> str:
    """A stopping decision, short: ``median 0.81 < 0.86 at step 5 (6 jobs)``, ``rung 9: 0.7 < cut-off 0.8``."""
    if not d:
        return ""
    rule, step, value, thr = d.get("Rule"), d.get("Step"), d.get("Value"), d.get("Threshold")
    if rule == "median" and value is not None and thr is not None:
        return f"median: {value:.4g} worse than {thr:.4g} at step {step} ({d.get('Compared')} earlier jobs)"
    if rule == "rung" and value is not None and thr is not None:
        return f"rung {d.get('Rung')}: {value:.4g} worse than cut-off {thr:.4g} ({d.get('Compared')} at the rung)"
    if rule == "max_resource":
        return f"max_resource reached at step {step}"
    return escape(str(d.get("Reason", "")))


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


# ---------------------------------------------------------------------------------------------------- best
@app.command()
@boundary
def best(
    name: str = typer.Argument(...),
    store: Optional[str] = typer.Option(None, help=STORE_HELP),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """The best training job: its objective value, hyperparameters and model directory (with several
    objectives: the Pareto front, and its best on the first objective; never an infeasible training job)."""
    from hyperjob.outcomes import best_of
    from hyperjob.tuner.describe import objective_of, pareto_front

    db = _open(store)
    try:
        tuning = db.get_tuning_job(name)
        objective = objective_of(tuning)
        from hyperjob.cli.experiments import best_configuration, experiment_report

        experiment = experiment_report(db, name)  # periods: the best configuration by its aggregate
        if experiment is not None:
            return best_configuration(experiment, tuning, as_json)
        outcomes, front, values = pareto_front(db, tuning, db.list_training_jobs(name))
        b = front[0] if outcomes.plain and front else best_of(front, outcomes, lambda r: values[r.id])
    finally:
        db.close()
    if b is None:
        raise TuningJobError(f"tuning job {name!r} has no completed training job with a value of {objective.metric!r} yet.")
    static = (tuning.spec.get("static_hyperparameters") or {})
    output_dir = Path(tuning.spec.get("output_dir") or "hyperjob-runs")
    result = {
        "TrainingJobName": b.id,
        "MetricName": objective.metric,
        "Value": b.final_objective,
        "HyperParameters": {**static, **b.config},
        "ModelDir": str(output_dir / name / b.id / "model"),
    }
    if not outcomes.plain:  # several objectives or constraints (docs/objectives.md): the front too
        result["Values"] = {m: values[b.id].get(m) for m in outcomes.metrics}
        result["ParetoFront"] = [{"TrainingJobName": r.id, "Values": {m: values[r.id].get(m) for m in outcomes.metrics},
                                  "HyperParameters": {**static, **r.config},
                                  "ModelDir": str(output_dir / name / r.id / "model")} for r in front]
    if as_json:
        _print_json(result)
        return
    out.print(f"{b.id}: {objective.metric} = {b.final_objective:.6g}", highlight=False)
    out.print(f"hyperparameters: {json.dumps(result['HyperParameters'], default=str)}", highlight=False)
    out.print(f"model dir: {result['ModelDir']}", highlight=False)
    if outcomes.several:
        table = Table(title=f"Pareto front ({len(front)} training jobs; "
                            + ", ".join(f"{o.metric} {o.direction.value.lower()}" for o in outcomes.objectives)
                            + (f"; subject to {', '.join(map(str, outcomes.constraints))}" if outcomes.constraints
                               else "") + ")")
        names = sorted({k for r in front for k in r.config})
        for col in ("training job", *outcomes.metrics, *names):
            table.add_column(col)
        for r in front:
            table.add_row(r.id, *[_fmt(values[r.id].get(m)) for m in outcomes.metrics],
                          *[_fmt(r.config.get(n)) for n in names])
        out.print(table)


# ---------------------------------------------------------------------------------------------------- export
@app.command()
@boundary
def export(
    name: str = typer.Argument(...),
    output: str = typer.Option("-", "--output", "-o", help="CSV file or URL: s3://, gs://, memory://, file:// "
                               "(default: standard output)."),
    store: Optional[str] = typer.Option(None, help=STORE_HELP),
    long: bool = typer.Option(False, "--long", help="One row per metric value instead of one row per training job."),
) -> None:
    """Export every training job with all its metrics as CSV (a NaN or infinite value is an empty cell)."""
    from hyperjob.results import write_csv  # the one owner of the CSV: export, the dashboard, the results CSV

    if output != "-":  # a file or any fsspec URL: checked before anything is read (hyperjob.results)
        from hyperjob.results import check_target

        check_target(output)
    db = _open(store)
    try:
        tuning = db.get_tuning_job(name)
        records = db.list_training_jobs(name)
        metrics = db.get_all_metrics(name)
    finally:
        db.close()
    if output != "-":
        import io

        from hyperjob.results import put_text

        buf = io.StringIO(newline="")
        write_csv(buf, tuning, records, metrics, long)
        put_text(output, buf.getvalue())
        return
    fh = sys.stdout if str(output) == "-" else open(output, "w", newline="")
    try:
        write_csv(fh, tuning, records, metrics, long)
        fh.flush()
    except BrokenPipeError:  # the reader went away (`hyperjob export NAME | head`): nothing more to say
        if fh is not sys.stdout:
            raise
        _silence_stdout()
    finally:
        if fh is not sys.stdout:
            fh.close()


def _silence_stdout() -> None:
    """After a closed pipe: the rest of standard output (and the interpreter's last flush) goes to /dev/null."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


from hyperjob.cli import experiments as _experiments  # noqa: E402,F401  (compare, rankcheck)


def _show_warning(message: Any, category: type, filename: str, lineno: int, file: Any = None,
                  line: Any = None) -> None:
    """Warnings from hyperjob's readers as one yellow line (not Python's format with a source line)."""
    if category.__module__.startswith("hyperjob"):
        err.print(f"[yellow]warning[/yellow]: {escape(str(message))}", highlight=False, soft_wrap=True)
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


_default_showwarning = warnings.showwarning


def main() -> None:
    """Entry point of the ``hyperjob`` script."""
    warnings.showwarning = _show_warning
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
