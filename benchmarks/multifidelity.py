"""Multi-fidelity benchmark on tabulated learning curves, hyperjob and its peers in the same run (issue 20).

    .venv/bin/python benchmarks/multifidelity.py --seeds 20 --workers 1 4 --jobs 2 --out benchmarks/results/multifidelity
    .venv/bin/python benchmarks/multifidelity.py --quick        # small tables, 2 seeds: a smoke run (< 60 s)

The tasks and their tables are ``benchmarks/_tabulated.py`` (3 tasks, 27 epochs, N Sobol configurations; a
suggestion is mapped to the nearest tabulated configuration). A discrete-event simulator runs W workers; time is
counted in epochs, each busy worker trains one epoch per time unit, and every epoch's value is told to the
method as it happens (workers in a fixed order within a time unit). When a worker is free the method is asked
for :class:`Work`: a new configuration, or a paused one resumed from its checkpoint up to a later epoch. The
simulator owns the clock: it stops when the run has spent its epoch budget (the cap), so no method needs an
exception to end.

**Metric.** q* (per task) = the mean over seeds of ``random_full``'s best validation value after 30 full
trainings (30 x 27 epochs) at W = 1. For each run, the epochs spent (all workers together) until its best value
so far (any epoch of any training job) reaches q*; a run that never does counts as the cap. Speed-up =
``random_full``'s mean epochs to q* / the method's mean (same W), with a paired bootstrap interval over seeds;
the ratio of medians and the fraction of seeds that reached q* are given too.

Adding a method is one factory in :data:`METHODS`: ``factory(table, seed, workers) -> Method``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

import _tabulated  # noqa: E402
from _tabulated import MAX_EPOCHS, Table  # noqa: E402

RUNGS = (1, 3, 9, 27)
ETA = 3
REFERENCE_JOBS = 30
#: how configurations become table rows (``--mapping``): "unused" (the nearest row not used yet in the run, rows
#: drawn without replacement as the reference methods draw them) or "nearest" (used or not)
MAPPING = "unused"


# ------------------------------------------------------------------------------------------------ simulator
@dataclass
class Work:
    """What a method gives a free worker: train table row ``row`` from epoch ``start`` (0: a new configuration,
    k: resume a paused one from its checkpoint after epoch k) up to epoch ``until``. ``job`` is the method's own
    handle, given back in every call about this work."""

    job: Any
    row: int
    start: int = 0
    until: int = MAX_EPOCHS


class Method(Protocol):
    def next_work(self) -> Work | None:
        """Work for a free worker, or ``None`` to leave it idle for one time unit."""

    def on_epoch(self, job: Any, epoch: int, value: float) -> bool:
        """The value after ``epoch``; return ``True`` to stop the job now."""

    def on_end(self, job: Any, epoch: int, value: float) -> None:
        """The job reached its ``until`` without a stop: completed (``epoch == 27``) or paused."""


@dataclass
class Trace:
    """One run: improvements ``(epochs spent, time, validation, test)`` and counters."""

    spent: int = 0
    time: int = 0
    improvements: list[tuple[int, int, float, float]] = field(default_factory=list)
    works: int = 0
    resumed: int = 0
    idle: int = 0
    rows: set[int] = field(default_factory=set)  # the table rows trained (distinct configurations)


def simulate(method: Method, table: Table, workers: int, cap: int) -> Trace:
    """Run ``method`` on ``workers`` simulated workers until ``cap`` epochs are spent (or nothing is left)."""
    trace = Trace()
    slots: list[list[Any] | None] = [None] * workers  # [work, epochs done]
    better = table.task.better
    while trace.spent < cap:
        for w in range(workers):
            if slots[w] is None:
                work = method.next_work()
                if work is not None:
                    slots[w] = [work, work.start]
                    trace.works += 1
                    trace.resumed += work.start > 0
                    trace.rows.add(work.row)
        if all(s is None for s in slots):
            break
        trace.time += 1
        for w in range(workers):
            slot = slots[w]
            if slot is None:
                trace.idle += 1
                continue
            if trace.spent >= cap:
                break
            work, done = slot
            epoch = done + 1
            slot[1] = epoch
            trace.spent += 1
            value, test = float(table.val[work.row, epoch - 1]), float(table.test[work.row, epoch - 1])
            if not trace.improvements or better(value, trace.improvements[-1][2]):
                trace.improvements.append((trace.spent, trace.time, value, test))
            if method.on_epoch(work.job, epoch, value):
                slots[w] = None
            elif epoch >= work.until:
                method.on_end(work.job, epoch, value)
                slots[w] = None
    return trace


# ------------------------------------------------------------------------------------------------ methods
class AskTellMethod:
    """A hyperjob strategy through ``hyperjob.AskTell``: every suggestion trains to 27 epochs unless told to stop."""

    def __init__(self, table: Table, seed: int, strategy: str, **kwargs: Any) -> None:
        from hyperjob import AskTell

        task = table.task
        self.table = table
        self.rows = _tabulated.RowMap(table, MAPPING)
        self.at = AskTell(task.space, objective=task.objective, maximize=task.maximize, strategy=strategy,
                          seed=seed, **kwargs)

    def next_work(self) -> Work:
        s = self.at.ask()
        return Work(s, self.rows.row(s.id, s.config))

    def on_epoch(self, job: Any, epoch: int, value: float) -> bool:
        result = self.at.tell(job, value, step=epoch)
        return bool(result is not None and result.stop)

    def on_end(self, job: Any, epoch: int, value: float) -> None:
        self.at.tell(job, value)


def _optuna_config(trial: Any, ranges: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for name, r in ranges.items():
        log = r.get("scaling") == "logarithmic"
        if r["type"] == "continuous":
            config[name] = trial.suggest_float(name, r["min_value"], r["max_value"], log=log)
        elif r["type"] == "integer":
            config[name] = trial.suggest_int(name, r["min_value"], r["max_value"], log=log)
        else:
            config[name] = trial.suggest_categorical(name, r["values"])
    return config


class OptunaMethod:
    """Optuna TPE (seeded) with a pruner, through its ask/tell interface (``trial.report`` / ``should_prune``)."""

    def __init__(self, table: Table, seed: int, pruner: Any) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        self.optuna, self.table, self.rows = optuna, table, _tabulated.RowMap(table, MAPPING)
        self.study = optuna.create_study(
            study_name=f"mf-{table.task.name}-{seed}", direction="maximize" if table.task.maximize else "minimize",
            sampler=optuna.samplers.TPESampler(seed=seed), pruner=pruner)

    def next_work(self) -> Work:
        trial = self.study.ask()
        return Work(trial, self.rows.row(trial.number, _optuna_config(trial, self.table.task.ranges)))

    def on_epoch(self, job: Any, epoch: int, value: float) -> bool:
        job.report(value, epoch)
        if job.should_prune():
            self.study.tell(job, state=self.optuna.trial.TrialState.PRUNED)
            return True
        return False

    def on_end(self, job: Any, epoch: int, value: float) -> None:
        self.study.tell(job, value)


class _Rows:
    """Table rows in a seeded random order (reshuffled when used up): the reference methods' random search."""

    def __init__(self, n: int, seed: int) -> None:
        self.rng, self.n, self.order = np.random.default_rng(seed), n, []  # type: ignore[var-annotated]

    def next(self) -> int:
        if not self.order:
            self.order = list(self.rng.permutation(self.n))
        return int(self.order.pop())


@dataclass
class _Job:
    row: int
    values: list[float] = field(default_factory=list)


class MedianRuleMethod:
    """Random search + SageMaker's median rule, from its text: stop a job at step t if its value is worse than
    the median of the running averages of the earlier jobs' values up to t (earlier: started before it, and
    already at step t); no warm-up."""

    def __init__(self, table: Table, seed: int) -> None:
        self.table, self.rows, self.jobs = table, _Rows(len(table), seed), []  # type: ignore[var-annotated]

    def next_work(self) -> Work:
        job = _Job(self.rows.next())
        self.jobs.append(job)
        return Work(job, job.row)

    def on_epoch(self, job: _Job, epoch: int, value: float) -> bool:
        job.values.append(value)
        averages = [statistics.fmean(j.values[:epoch]) for j in self.jobs[:self.jobs.index(job)]
                    if len(j.values) >= epoch]
        return bool(averages) and self.table.task.better(statistics.median(averages), value)

    def on_end(self, job: _Job, epoch: int, value: float) -> None:
        pass


class AshaMethod:
    """Asynchronous successive halving with promotions (Li et al. 2020): rungs 1, 3, 9, 27, reduction factor 3.
    A free worker promotes the best not-yet-promoted job in the top 1/3 of the highest rung that has one (it
    resumes from its checkpoint and trains only the epochs up to the next rung); otherwise it starts a new
    random configuration, trained to the first rung."""

    def __init__(self, table: Table, seed: int) -> None:
        self.table, self.rows = table, _Rows(len(table), seed)
        self.rungs: list[list[tuple[float, int, _Job]]] = [[] for _ in RUNGS]
        self.promoted: list[set[int]] = [set() for _ in RUNGS]
        self.count = 0

    def next_work(self) -> Work:
        sign = -1.0 if self.table.task.maximize else 1.0
        for k in range(len(RUNGS) - 2, -1, -1):
            ranked = sorted(self.rungs[k], key=lambda e: (sign * e[0], e[1]))
            for value, key, job in ranked[:len(ranked) // ETA]:
                if key not in self.promoted[k]:
                    self.promoted[k].add(key)
                    return Work(job, job.row, start=RUNGS[k], until=RUNGS[k + 1])
        job = _Job(self.rows.next())
        self.count += 1
        job.values = [self.count]  # its key
        return Work(job, job.row, start=0, until=RUNGS[0])

    def on_epoch(self, job: _Job, epoch: int, value: float) -> bool:
        return False

    def on_end(self, job: _Job, epoch: int, value: float) -> None:
        self.rungs[RUNGS.index(epoch)].append((value, job.values[0], job))


class PromotingMethod(AskTellMethod):
    """hyperjob ``hyperband`` with ``promotions: true`` through ``AskTell``: a suggestion trains to its ``until``
    (its rung), pauses there (``tell`` answers ``pause``), and comes back from ``ask()`` with ``resume_from`` when
    it is promoted: the simulator resumes it from that epoch, so a promoted job trains only the epochs beyond it."""

    def next_work(self) -> Work:
        s = self.at.ask()
        return Work(s, self.rows.row(s.id, s.config), start=s.resume_from or 0, until=s.until or MAX_EPOCHS)


def _hb_promote(table: Table, seed: int, **settings: Any) -> PromotingMethod:
    return PromotingMethod(table, seed, "hyperband", min_resource=1, max_resource=MAX_EPOCHS,
                           reduction_factor=ETA, promotions=True, **settings)


def _hb(table: Table, seed: int, **settings: Any) -> AskTellMethod:
    return AskTellMethod(table, seed, "hyperband", min_resource=1, max_resource=MAX_EPOCHS, reduction_factor=ETA,
                         **settings)


def _optuna_hb(table: Table, seed: int) -> OptunaMethod:
    import optuna

    return OptunaMethod(table, seed, optuna.pruners.HyperbandPruner(1, MAX_EPOCHS, ETA))


def _optuna_median(table: Table, seed: int) -> OptunaMethod:
    import optuna

    return OptunaMethod(table, seed, optuna.pruners.MedianPruner())


#: name -> (factory(table, seed) -> Method, what it is). The first one is the reference of the speed-ups.
METHODS: dict[str, tuple[Callable[[Table, int], Method], str]] = {
    "random_full": (lambda t, s: AskTellMethod(t, s, "random"), "hyperjob random, early stopping off (reference)"),
    "hb_default": (lambda t, s: _hb(t, s), "hyperjob hyperband, its default model"),
    "hb_random": (lambda t, s: _hb(t, s, model="random"), "hyperjob hyperband, model random"),
    "hb_promote": (lambda t, s: _hb_promote(t, s, model="random"),
                   "hyperjob hyperband, promotions: true (pause/resume), model random"),
    "hb_promote_bayes": (lambda t, s: _hb_promote(t, s), "hyperjob hyperband, promotions: true, model bayesian"),
    "hb_promote_mf": (lambda t, s: _hb_promote(t, s, model="multifidelity"),
                      "hyperjob hyperband, promotions: true, model multifidelity (one GP over configuration and "
                      "resource)"),
    "hb_promote_mf_rf": (lambda t, s: _hb_promote(t, s, model="multifidelity", random_fraction=1 / 3),
                         "hyperjob hyperband, promotions: true, model multifidelity, random_fraction 1/3"),
    "hb_promote_bayes_rf": (lambda t, s: _hb_promote(t, s, random_fraction=1 / 3),
                            "hyperjob hyperband, promotions: true, model bayesian, random_fraction 1/3"),
    "random_auto": (lambda t, s: AskTellMethod(t, s, "random", early_stopping="auto"),
                    "hyperjob random + early_stopping auto"),
    "bayes_auto": (lambda t, s: AskTellMethod(t, s, "bayesian", early_stopping="auto", multifidelity="auto"),
                   "hyperjob bayesian, multifidelity auto (a model of the learning curves) + early_stopping auto"),
    "bayes_auto_plain": (lambda t, s: AskTellMethod(t, s, "bayesian", early_stopping="auto", multifidelity="off"),
                         "hyperjob bayesian, multifidelity off (the default: stopped jobs count with their last "
                         "value) + early_stopping auto"),
    "bayes_off": (lambda t, s: AskTellMethod(t, s, "bayesian"), "hyperjob bayesian, early stopping off"),
    "optuna_hb": (_optuna_hb, "Optuna TPE + HyperbandPruner(1, 27, 3)"),
    "optuna_median": (_optuna_median, "Optuna TPE + MedianPruner()"),
    "median_rule": (MedianRuleMethod, "reference: random search + SageMaker's median rule (no warm-up)"),
    "asha": (AshaMethod, "reference: ASHA with promotions (pause/resume), rungs 1/3/9/27"),
}


# ------------------------------------------------------------------------------------------------ one run
def run_one(task: str, method: str, seed: int, workers: int, cap: int, n: int | None,
            mapping: str = "unused") -> dict[str, Any]:
    import torch

    global MAPPING
    MAPPING = mapping

    torch.set_num_threads(1)
    table = _tabulated.load_table(task, n, log=log)
    started = time.perf_counter()
    trace = simulate(METHODS[method][0](table, seed), table, workers, cap)
    return {"task": task, "method": method, "seed": seed, "workers": workers, "cap": cap,
            "wall_s": round(time.perf_counter() - started, 3), "spent": trace.spent, "time": trace.time,
            "works": trace.works, "resumed": trace.resumed, "rows": len(trace.rows),
            "improvements": trace.improvements}


def _run_star(args: tuple) -> dict[str, Any]:
    return run_one(*args)


# ------------------------------------------------------------------------------------------------ analysis
def best_at(record: dict[str, Any], epochs: float) -> tuple[float, float] | None:
    found = None
    for spent, _, value, test in record["improvements"]:
        if spent > epochs:
            break
        found = (value, test)
    return found


def epochs_to(record: dict[str, Any], target: float, maximize: bool) -> int | None:
    """Epochs spent until the best value reached ``target``, ``None`` if it never did within the run."""
    for spent, _, value, _ in record["improvements"]:
        if (value >= target) if maximize else (value <= target):
            return spent
    return None


def speedup(ref: list[float], method: list[float], rng: np.random.Generator, reps: int = 2000) -> dict[str, Any]:
    """Ratio of means (and of medians) of epochs to q*, with a bootstrap 95 % interval over seeds (paired)."""
    ref_a, m_a = np.array(ref, dtype=float), np.array(method, dtype=float)
    idx = rng.integers(0, len(ref_a), size=(reps, len(ref_a)))
    boots = ref_a[idx].mean(axis=1) / m_a[idx].mean(axis=1)
    return {"mean_ratio": float(ref_a.mean() / m_a.mean()), "median_ratio": float(np.median(ref_a) / np.median(m_a)),
            "ci95": [float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))]}


def summarize(records: list[dict[str, Any]], ref_jobs: int = REFERENCE_JOBS) -> dict[str, Any]:
    """q* per task, then per (workers, task, method): speed-up, reached fraction, best at the cap, wall time."""
    tasks = sorted({r["task"] for r in records}, key=list(_tabulated.TASKS).index)
    out: dict[str, Any] = {"targets_q": {}, "by_workers": {}}
    rng = np.random.default_rng(0)
    for task in tasks:
        maximize = _tabulated.TASKS[task].maximize
        ref = [r for r in records if r["task"] == task and r["method"] == "random_full"]
        w_ref = min(r["workers"] for r in ref) if ref else None
        bests = [v[0] for r in ref if r["workers"] == w_ref and (v := best_at(r, ref_jobs * MAX_EPOCHS))]
        if not bests:
            continue
        q = statistics.fmean(bests)
        out["targets_q"][task] = {"q": q, "from_workers": w_ref, "seeds": len(bests)}
        for w in sorted({r["workers"] for r in records}):
            rows = out["by_workers"].setdefault(str(w), {}).setdefault(task, {})
            runs = {m: sorted((r for r in records if r["task"] == task and r["method"] == m and r["workers"] == w),
                              key=lambda r: r["seed"]) for m in METHODS}
            def epochs(rs: list[dict[str, Any]]) -> list[float]:
                return [float(e if (e := epochs_to(r, q, maximize)) is not None else r["cap"]) for r in rs]
            ref_epochs = epochs(runs["random_full"])
            for m, rs in runs.items():
                if not rs:
                    continue
                e = epochs(rs)
                reached = sum(epochs_to(r, q, maximize) is not None for r in rs)
                finals = [b[0] for r in rs if (b := best_at(r, r["cap"]))]
                tests = [b[1] for r in rs if (b := best_at(r, r["cap"]))]
                row = {"seeds": len(rs), "reached": reached, "mean_epochs": statistics.fmean(e),
                       "median_epochs": statistics.median(e), "best_at_cap": statistics.fmean(finals),
                       "best_at_cap_std": statistics.stdev(finals) if len(finals) > 1 else 0.0,
                       "test_at_cap": statistics.fmean(tests), "wall_s": statistics.fmean(r["wall_s"] for r in rs),
                       "cap": rs[0]["cap"]}
                if len(ref_epochs) == len(e) and ref_epochs:
                    row.update(speedup(ref_epochs, e, rng))
                rows[m] = row
    return out


def markdown(summary: dict[str, Any]) -> str:
    lines: list[str] = []
    qs = summary["targets_q"]
    tasks = list(qs)
    for w, by_task in summary["by_workers"].items():
        lines += [f"**{w} worker{'s' if w != '1' else ''}**: speed-up = random_full's mean epochs to q* / the "
                  "method's (a seed that never reaches q* counts as the cap); [bootstrap 95 %]; seeds that "
                  "reached q*; ratio of medians", ""]
        lines.append("| method | " + " | ".join(f"{t} (q* {qs[t]['q']:.4f})" for t in tasks) + " |")
        lines.append("|---|" + "---:|" * len(tasks))
        for m in METHODS:
            cells = []
            for t in tasks:
                row = by_task.get(t, {}).get(m)
                if row is None or "mean_ratio" not in row:
                    cells.append("n/a")
                    continue
                lo, hi = row["ci95"]
                cells.append(f"**{row['mean_ratio']:.1f}x** [{lo:.1f}–{hi:.1f}] {row['reached']}/{row['seeds']}, "
                             f"med {row['median_ratio']:.1f}x")
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        lines += ["", f"Best validation value at the cap (mean ± std over seeds), test value there, wall s per run ({w} "
                  f"worker{'s' if w != '1' else ''}):", ""]
        lines.append("| method | " + " | ".join(tasks) + " |")
        lines.append("|---|" + "---:|" * len(tasks))
        for m in METHODS:
            cells = []
            for t in tasks:
                row = by_task.get(t, {}).get(m)
                cells.append("n/a" if row is None else f"{row['best_at_cap']:.4f} ± {row['best_at_cap_std']:.4f}, "
                             f"test {row['test_at_cap']:.4f}, {row['wall_s']:.1f} s")
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", default=",".join(_tabulated.TASKS))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1 (default 20)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--jobs", type=int, default=1, help="processes (default 1)")
    parser.add_argument("--cap-jobs", type=int, default=60,
                        help="the epoch budget of every run, in full trainings (default 60: 60 x 27 epochs)")
    parser.add_argument("--rows", type=int, default=None, help="table rows per task (default: the task's)")
    parser.add_argument("--mapping", choices=("unused", "nearest"), default="unused",
                        help="configuration -> table row: the nearest row not used yet in the run (default), or "
                             "the nearest row, used or not")
    parser.add_argument("--out", default=None, help="folder for summary.json and table.md")
    parser.add_argument("--quick", action="store_true", help="64-row tables, 2 seeds, W=1 and 4, cap 40 trainings")
    args = parser.parse_args(argv)
    ref_jobs = REFERENCE_JOBS
    if args.quick:
        args.seeds, args.rows, args.cap_jobs, ref_jobs = 2, 64, 40, 10
    tasks = [t for t in args.tasks.split(",") if t]
    methods = [m for m in args.methods.split(",") if m]
    for m in methods:
        if m not in METHODS:
            parser.error(f"unknown method {m!r}; use some of {', '.join(METHODS)}")
    for t in tasks:
        if t not in _tabulated.TASKS:
            parser.error(f"unknown task {t!r}; use some of {', '.join(_tabulated.TASKS)}")
    if "random_full" not in methods:
        methods.insert(0, "random_full")  # the reference of every speed-up
    started = time.perf_counter()
    for t in tasks:  # build missing tables first (in parallel inside)
        _tabulated.load_table(t, args.rows, jobs=args.jobs, log=log)
    jobs = [(t, m, s, w, args.cap_jobs * MAX_EPOCHS, args.rows, args.mapping)
            for w in args.workers for t in tasks for m in methods for s in range(args.seeds)]
    records: list[dict[str, Any]] = []
    if args.jobs > 1:
        from multiprocessing import get_context

        with get_context("spawn").Pool(args.jobs) as pool:
            for rec in pool.imap_unordered(_run_star, jobs):
                records.append(rec)
                if rec["seed"] == args.seeds - 1:
                    log(f"{rec['task']} {rec['method']} W={rec['workers']} seed {rec['seed']}: {rec['wall_s']:.1f} s")
    else:
        for job in jobs:
            records.append(run_one(*job))
    summary = summarize(records, ref_jobs)
    summary["setup"] = {
        "tasks": tasks, "methods": methods, "seeds": args.seeds, "workers": args.workers, "cap_epochs":
        args.cap_jobs * MAX_EPOCHS, "reference_jobs": ref_jobs, "mapping": args.mapping, "rows": {t: len(_tabulated.load_table(t, args.rows))
                                                                         for t in tasks},
        "wall_s": round(time.perf_counter() - started, 1), "commit": _commit(), "cpus": os.cpu_count(),
        "methods_doc": {m: METHODS[m][1] for m in methods},
    }
    text = markdown(summary)
    print(text)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
        (out / "table.md").write_text(text + "\n")
        log(f"wrote {out}/summary.json, table.md")
    log(f"done in {time.perf_counter() - started:.0f} s")
    return 0


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, check=False).stdout.strip()
    except OSError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
