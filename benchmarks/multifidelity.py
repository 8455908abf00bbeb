"""Multi-fidelity benchmark: early stopping ``auto`` and the ``hyperband`` strategy against Optuna (issue 5).

    .venv/bin/python benchmarks/multifidelity.py --seeds 5 --out benchmarks/results/multifidelity
    .venv/bin/python benchmarks/multifidelity.py --quick          # 1 seed, tiny budget: a smoke run

Real learning curves (``benchmarks/_curves.py``): small torch MLPs trained epoch by epoch on scikit-learn's
digits (validation accuracy, maximized) and breast_cancer (validation log-loss, minimized), 7 tuned
hyperparameters, at most 27 epochs. Every method runs on the same problems and seeds:

====================  =====================================================================================
``random_full``       hyperjob ``random``, early stopping ``off``: random search with full training
``random_auto``       hyperjob ``random`` + early stopping ``auto``
``bayes_off``         hyperjob ``bayesian``, early stopping ``off`` (the reference for ``bayes_auto``)
``bayes_auto``        hyperjob ``bayesian`` + early stopping ``auto``
``hb_random``         hyperjob ``hyperband``, model ``random``
``hb_bayes``          hyperjob ``hyperband``, model ``bayesian`` (the default)
``optuna_hb``         Optuna TPE + ``HyperbandPruner(1, 27, 3)``
``optuna_median``     Optuna TPE + ``MedianPruner()`` (defaults)
====================  =====================================================================================

**Budget in epochs.** The training function counts every epoch it trains (a counter per run, in the function
itself, so epochs trained after a stop decision count too). The full budget ``B`` is what random search with
full training spends: ``--full-jobs`` configurations x 27 epochs. Every run ends when it has spent ``B``
epochs (the training function raises ``BudgetSpent``; for hyperjob ``max_failed_jobs=1`` then ends the tuning
job) or when its ``max_jobs`` are done (``--full-jobs`` for the ``off`` methods, ``B`` for the others, i.e.
never before the budget).

**What is measured.** Per run, the best validation value reported so far (any epoch of any training job)
against epochs spent, and the test value of that same (configuration, epoch). Tables at ``B/9``, ``B/3``,
``2B/3`` and ``B``: mean and standard deviation over seeds. The three targets of issue 5:

1. ``hb_bayes`` at ``B/3`` at least as good as ``random_full`` at ``B`` (mean over seeds);
2. ``auto`` saves at least 25 % of the epochs at a best value within 1 % of the same strategy with early
   stopping ``off``: measured on the first ``--full-jobs`` training jobs of the ``auto`` run (the same number
   of training jobs as the ``off`` run): epochs they spent against ``--full-jobs x 27``, and their best value
   against the ``off`` run's best (relative difference of the means over seeds);
3. ``hb_bayes`` at least as good as ``optuna_hb`` at every budget of the table, on the mean over seeds.

Writes ``runs.json`` (per run: the improvements of the curve and one row per training job), ``summary.json``,
``table.md`` and ``multifidelity.png`` under ``--out``. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

import _curves  # noqa: E402

torch.set_num_threads(1)

METHODS: tuple[str, ...] = (
    "random_full", "random_auto", "bayes_off", "bayes_auto", "hb_random", "hb_bayes", "optuna_hb", "optuna_median",
)

#: Fractions of the full budget where the table is read.
FRACTIONS: tuple[tuple[str, float], ...] = (("B/9", 1 / 9), ("B/3", 1 / 3), ("2B/3", 2 / 3), ("B", 1.0))

_WARM_UP = {"lr": 0.01, "weight_decay": 1e-4, "optimizer": "adam", "momentum": 0.9, "hidden": 16, "layers": 2,
            "dropout": 0.1, "batch_size": 128}

REDUCTION_FACTOR = 3

#: More settings of hyperjob's hyperband strategy (``--hyperband-settings``), e.g. ``{"brackets": 4}``.
HYPERBAND_EXTRA: dict[str, Any] = {}
MIN_RESOURCE = 1


class BudgetSpent(Exception):
    """Raised by the training function once its run has spent the whole epoch budget."""


class MethodUnavailable(Exception):
    """This version of hyperjob does not offer what the method needs (recorded, not fatal)."""


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------ one run
@dataclass
class Run:
    """The epochs spent by one (method, problem, seed) run, counted by its training function.

    Attributes:
        problem: the problem being tuned.
        budget: epochs after which the run ends.
        spent: epochs trained so far (all training jobs).
        improvements: ``(epochs spent, validation value, test value)`` each time the best validation value
            improved.
        jobs: one row per training job: ``[epochs trained, how it ended]`` (``completed``, ``stopped``,
            ``budget``).
    """

    problem: _curves.Problem
    budget: int
    spent: int = 0
    improvements: list[tuple[int, float, float]] = field(default_factory=list)
    jobs: list[list[Any]] = field(default_factory=list)

    def train(self, config: dict[str, Any], report: Callable[[int, float], None] | None) -> float:
        """Train ``config``, counting its epochs; ``report(epoch, value)`` may raise to stop it."""
        row: list[Any] = [0, "running"]
        self.jobs.append(row)

        def on_epoch(epoch: int, value: float, test: float) -> None:
            self.spent += 1
            row[0] = epoch
            best = self.improvements[-1][1] if self.improvements else None
            if best is None or self.problem.better(value, best):
                self.improvements.append((self.spent, value, test))
            if self.spent >= self.budget:
                row[1] = "budget"
                raise BudgetSpent(f"{self.spent} epochs spent")
            if report is not None:
                report(epoch, value)

        try:
            value = self.problem.train(config, on_epoch)
        except BudgetSpent:
            raise
        except BaseException:  # a stop (StopTrainingJob, TrialPruned): let it propagate
            row[1] = "stopped"
            raise
        row[1] = "completed"
        return value

    def best_at(self, epochs: float) -> tuple[float, float] | None:
        """(validation, test) of the best validation value reached within ``epochs`` epochs, or ``None``."""
        found = None
        for spent, value, test in self.improvements:
            if spent > epochs:
                break
            found = (value, test)
        return found


# ------------------------------------------------------------------------------------------------ methods
def _tune_accepts(name: str) -> bool:
    import hyperjob

    return name in inspect.signature(hyperjob.tune).parameters


def run_hyperjob(method: str, run: Run, seed: int, full_jobs: int) -> dict[str, Any]:
    """One hyperjob tuning job (in-process training function, SQLite store in a temporary directory)."""
    import hyperjob
    from hyperjob.errors import SpecError

    problem = run.problem
    strategy = {"random_full": "random", "random_auto": "random", "bayes_off": "bayesian",
                "bayes_auto": "bayesian", "hb_random": "hyperband", "hb_bayes": "hyperband"}[method]
    early = "auto" if method.endswith("_auto") else "off"
    settings: dict[str, Any] = {}
    if strategy == "hyperband":
        settings = {"min_resource": MIN_RESOURCE, "max_resource": problem.max_epochs,
                    "reduction_factor": REDUCTION_FACTOR, "model": "random" if method == "hb_random" else "bayesian",
                    **HYPERBAND_EXTRA}
    max_jobs = full_jobs if early == "off" and strategy != "hyperband" else run.budget
    kwargs: dict[str, Any] = {}
    if _tune_accepts("early_stopping"):
        kwargs["early_stopping"] = early
    elif early == "auto":
        raise MethodUnavailable("hyperjob.tune has no early_stopping argument yet")

    def train(config: dict[str, Any]) -> None:
        def report(epoch: int, value: float) -> None:
            hyperjob.report(step=epoch, **{problem.objective: value})

        run.train(config, report)

    with tempfile.TemporaryDirectory(prefix=f"mf-{method}-") as tmp:
        try:
            result = hyperjob.tune(
                train, problem.space, objective=problem.objective, maximize=problem.maximize, max_jobs=max_jobs,
                max_parallel_jobs=1, strategy=strategy, strategy_settings=settings or None, seed=seed,
                store=str(Path(tmp) / "hj.db"), output_dir=tmp, max_failed_jobs=1, **kwargs)
        except SpecError as exc:
            if run.spent == 0 and ("not available" in str(exc) or "early_stopping" in str(exc)):
                raise MethodUnavailable(str(exc)) from exc
            raise
    statuses: dict[str, int] = {}
    for j in result.jobs:
        statuses[j["status"]] = statuses.get(j["status"], 0) + 1
    reasons = [j["failure_reason"] for j in result.jobs if j["status"] == "Stopped" and j["failure_reason"]]
    return {"tuning_job_status": result.status, "statuses": statuses, "stop_reasons_sample": reasons[:2],
            **late_stops(result.jobs, run.jobs)}


def late_stops(tuned: Any, trained: list[list[Any]]) -> dict[str, Any]:
    """Stops that took effect after the step they were decided on (epochs trained for nothing).

    ``tuned``: hyperjob's rows (index, status, failure_reason "... at step N ..." / "... (step N) ..."),
    ``trained``: the benchmark's rows (epochs trained, how it ended), in the same (launch) order.
    """
    late, extra = 0, 0
    for j in sorted(tuned, key=lambda j: j["index"]):
        match = re.search(r"\bstep (\d+)", j.get("failure_reason") or "")
        if j["status"] != "Stopped" or match is None or j["index"] >= len(trained):
            continue
        over = trained[j["index"]][0] - int(match.group(1))
        if over > 0:
            late, extra = late + 1, extra + over
    return {"late_stops": late, "late_stop_epochs": extra}


def _optuna_params(trial: Any, ranges: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for name, r in ranges.items():
        log_scale = r.get("scaling") == "logarithmic"
        if r["type"] == "continuous":
            config[name] = trial.suggest_float(name, r["min_value"], r["max_value"], log=log_scale)
        elif r["type"] == "integer":
            config[name] = trial.suggest_int(name, r["min_value"], r["max_value"], log=log_scale)
        else:
            config[name] = trial.suggest_categorical(name, r["values"])
    return config


def run_optuna(method: str, run: Run, seed: int) -> dict[str, Any]:
    """One Optuna study: TPE (seeded) with the HyperbandPruner or the MedianPruner, in memory."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    problem = run.problem
    if method == "optuna_hb":
        pruner: Any = optuna.pruners.HyperbandPruner(
            min_resource=MIN_RESOURCE, max_resource=problem.max_epochs, reduction_factor=REDUCTION_FACTOR)
    else:
        pruner = optuna.pruners.MedianPruner()
    direction = "maximize" if problem.maximize else "minimize"
    # a fixed study name: the HyperbandPruner draws each trial's bracket from a hash of the name (default: random)
    study = optuna.create_study(study_name=f"mf-{problem.name}-{seed}", direction=direction,
                                sampler=optuna.samplers.TPESampler(seed=seed), pruner=pruner)

    def objective(trial: Any) -> float:
        def report(epoch: int, value: float) -> None:
            trial.report(value, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()

        return run.train(_optuna_params(trial, problem.ranges), report)

    try:
        study.optimize(objective, n_trials=run.budget)
    except BudgetSpent:
        pass
    states: dict[str, int] = {}
    for t in study.trials:
        states[t.state.name] = states.get(t.state.name, 0) + 1
    return {"states": states}


def run_method(method: str, problem: _curves.Problem, seed: int, full_jobs: int) -> dict[str, Any]:
    """Run one method on one problem and seed; returns its record (curve, training jobs, timings)."""
    budget = full_jobs * problem.max_epochs
    run = Run(problem, budget)
    started = time.perf_counter()
    info: dict[str, Any] = {}
    status = "ok"
    try:
        if method.startswith("optuna"):
            info = run_optuna(method, run, seed)
        else:
            info = run_hyperjob(method, run, seed, full_jobs)
    except MethodUnavailable as exc:
        status = f"unavailable: {exc}"
    wall = time.perf_counter() - started
    return {
        "method": method, "problem": problem.name, "seed": seed, "budget": budget, "status": status,
        "spent": run.spent, "wall_s": round(wall, 2), "improvements": run.improvements, "jobs": run.jobs,
        "info": info,
    }


# ------------------------------------------------------------------------------------------------ analysis
def best_at(record: dict[str, Any], epochs: float) -> tuple[float, float] | None:
    found = None
    for spent, value, test in record["improvements"]:
        if spent > epochs:
            break
        found = (value, test)
    return found


def _mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summarize(records: list[dict[str, Any]], problems: list[str], full_jobs: int) -> dict[str, Any]:
    """Mean/std tables at the budget fractions and the three targets."""
    by: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        by.setdefault((r["problem"], r["method"]), []).append(r)
    table: dict[str, dict[str, Any]] = {}
    for p in problems:
        table[p] = {}
        for m in METHODS:
            runs = [r for r in by.get((p, m), []) if r["status"] == "ok"]
            if not runs:
                table[p][m] = None
                continue
            budget = runs[0]["budget"]
            row: dict[str, Any] = {"seeds": len(runs)}
            for label, frac in FRACTIONS:
                vals = [v[0] for r in runs if (v := best_at(r, frac * budget)) is not None]
                row[label] = _mean_std(vals) + (len(vals),)
            tests = [v[1] for r in runs if (v := best_at(r, budget)) is not None]
            row["test@B"] = _mean_std(tests)
            row["spent"] = statistics.fmean(r["spent"] for r in runs)
            row["jobs"] = statistics.fmean(len(r["jobs"]) for r in runs)
            row["wall_s"] = statistics.fmean(r["wall_s"] for r in runs)
            row["full_jobs"] = statistics.fmean(sum(1 for j in r["jobs"] if j[0] >= _curves.MAX_EPOCHS) for r in runs)
            lates = [r["info"]["late_stop_epochs"] for r in runs if "late_stop_epochs" in r["info"]]
            row["late_stop_epochs"] = statistics.fmean(lates) if lates else None
            table[p][m] = row
    return {"table": table, "targets": targets(by, problems, full_jobs)}


def _better_or_equal(maximize: bool, a: float, b: float) -> bool:
    return a >= b if maximize else a <= b


def targets(by: dict[tuple[str, str], list[dict[str, Any]]], problems: list[str], full_jobs: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in problems:
        prob = _curves.problem(p)
        mx = prob.maximize

        def runs(m: str) -> dict[int, dict[str, Any]]:
            return {r["seed"]: r for r in by.get((p, m), []) if r["status"] == "ok"}

        res: dict[str, Any] = {}
        # 1. hb_bayes at B/3 vs random_full at B
        hb, rf = runs("hb_bayes"), runs("random_full")
        seeds = sorted(set(hb) & set(rf))
        if seeds:
            b = hb[seeds[0]]["budget"]
            a = [best_at(hb[s], b / 3) for s in seeds]
            r = [best_at(rf[s], b) for s in seeds]
            if all(a) and all(r):
                ma, mr = statistics.fmean(x[0] for x in a), statistics.fmean(x[0] for x in r)
                wins = sum(_better_or_equal(mx, x[0], y[0]) for x, y in zip(a, r))
                # the smallest budget at which hb_bayes's mean curve reaches random_full's final mean
                reach = None
                for k in range(1, b + 1):
                    vals = [best_at(hb[s], k) for s in seeds]
                    if all(vals) and _better_or_equal(mx, statistics.fmean(v[0] for v in vals), mr):
                        reach = k
                        break
                res["hyperband_third"] = {
                    "hb_bayes@B/3": ma, "random_full@B": mr, "met": _better_or_equal(mx, ma, mr),
                    "seeds_as_good": f"{wins}/{len(seeds)}",
                    "epochs_to_reach": reach, "fraction_to_reach": None if reach is None else reach / b,
                }
        # 2. auto against off, on the first full_jobs training jobs of the auto run
        for auto, off in (("random_auto", "random_full"), ("bayes_auto", "bayes_off")):
            ra, ro = runs(auto), runs(off)
            seeds = sorted(set(ra) & set(ro))
            if not seeds:
                continue
            spent_auto, spent_off, best_auto, best_off, n_jobs = [], [], [], [], []
            for s in seeds:
                jobs = ra[s]["jobs"][:full_jobs]
                n_jobs.append(len(jobs))
                epochs = sum(j[0] for j in jobs)
                spent_auto.append(epochs)
                spent_off.append(ro[s]["spent"])
                ba = best_at(ra[s], epochs)
                bo = best_at(ro[s], ro[s]["spent"])
                best_auto.append(ba[0] if ba else math.nan)
                best_off.append(bo[0] if bo else math.nan)
            saving = 1 - sum(spent_auto) / sum(spent_off)
            ma, mo = statistics.fmean(best_auto), statistics.fmean(best_off)
            rel = (mo - ma) / abs(mo) if mx else (ma - mo) / abs(mo)  # > 0: auto worse
            res[f"{auto}_saving"] = {
                "jobs_compared": min(n_jobs), "epochs_auto": sum(spent_auto), "epochs_off": sum(spent_off),
                "saving": saving, "best_auto": ma, "best_off": mo, "relative_gap": rel,
                "per_seed_saving": [round(1 - a / o, 3) for a, o in zip(spent_auto, spent_off)],
                "met": saving >= 0.25 and rel <= 0.01 and min(n_jobs) == full_jobs,
            }
        # 3. hb_bayes >= optuna_hb at every table budget (mean over seeds)
        hb, oh = runs("hb_bayes"), runs("optuna_hb")
        seeds = sorted(set(hb) & set(oh))
        if seeds:
            b = hb[seeds[0]]["budget"]
            rows = []
            for label, frac in FRACTIONS:
                x = [best_at(hb[s], frac * b) for s in seeds]
                y = [best_at(oh[s], frac * b) for s in seeds]
                if not (all(x) and all(y)):
                    rows.append({"budget": label, "hb_bayes": None, "optuna_hb": None, "met": False})
                    continue
                mh, mo = statistics.fmean(v[0] for v in x), statistics.fmean(v[0] for v in y)
                wins = sum(_better_or_equal(mx, u[0], v[0]) for u, v in zip(x, y))
                rows.append({"budget": label, "hb_bayes": mh, "optuna_hb": mo, "met": _better_or_equal(mx, mh, mo),
                             "seeds_as_good": f"{wins}/{len(seeds)}"})
            res["hyperband_vs_optuna"] = {"rows": rows, "met": all(r["met"] for r in rows)}
        out[p] = res
    return out


# ------------------------------------------------------------------------------------------------ output
def _fmt(x: float, maximize: bool) -> str:
    return f"{x:.4f}" if maximize else f"{x:.4f}"


def markdown(summary: dict[str, Any], problems: list[str], full_jobs: int, seeds: int) -> str:
    lines: list[str] = []
    for p in problems:
        prob = _curves.problem(p)
        arrow = "higher is better" if prob.maximize else "lower is better"
        budget = full_jobs * prob.max_epochs
        lines.append(f"**{p}**: best validation {prob.objective.split(':')[1]} reached within the budget ({arrow}); "
                     f"B = {budget} epochs; mean ± std over {seeds} seeds")
        lines.append("")
        head = "| method | " + " | ".join(f"{lab} ({round(f * budget)})" for lab, f in FRACTIONS)
        lines.append(head + " | test @B | jobs | of them 27 epochs | late-stop epochs | wall s |")
        lines.append("|---|" + "---:|" * (len(FRACTIONS) + 5))
        for m in METHODS:
            row = summary["table"][p].get(m)
            if row is None:
                lines.append(f"| {m} | " + " | ".join("n/a" for _ in FRACTIONS) + " | n/a | | | | |")
                continue
            cells = []
            for lab, _ in FRACTIONS:
                mean, std, n = row[lab]
                cells.append("—" if n == 0 else f"{mean:.4f} ± {std:.4f}" + ("" if n == row["seeds"] else f" ({n})"))
            t_mean, t_std = row["test@B"]
            late = "" if row["late_stop_epochs"] is None else f"{row['late_stop_epochs']:.1f}"
            lines.append(f"| {m} | " + " | ".join(cells) + f" | {t_mean:.4f} | {row['jobs']:.0f} | {row['full_jobs']:.1f} "
                         f"| {late} | {row['wall_s']:.0f} |")
        lines.append("")
    lines.append(verdicts(summary, problems))
    return "\n".join(lines)


def verdicts(summary: dict[str, Any], problems: list[str]) -> str:
    out = ["Targets (issue 5):", ""]
    for p in problems:
        t = summary["targets"].get(p, {})
        h = t.get("hyperband_third")
        if h:
            reach = "never within B" if h["epochs_to_reach"] is None else \
                f"its mean curve reaches it after {h['epochs_to_reach']} epochs ({h['fraction_to_reach']:.2f} B)"
            out.append(f"- {p}: Hyperband (bayesian) at B/3 {h['hb_bayes@B/3']:.4f} vs random search at B "
                       f"{h['random_full@B']:.4f} ({h['seeds_as_good']} seeds as good); {reach}: "
                       f"**{'met' if h['met'] else 'missed'}**")
        else:
            out.append(f"- {p}: Hyperband (bayesian) vs random search: not measured (hb_bayes or random_full missing)")
        for auto in ("random_auto", "bayes_auto"):
            a = t.get(f"{auto}_saving")
            if a:
                out.append(
                    f"- {p}: {auto}: first {a['jobs_compared']} training jobs spent {a['epochs_auto']} epochs against "
                    f"{a['epochs_off']} with early stopping off: saving {100 * a['saving']:.1f} % (per seed "
                    f"{a['per_seed_saving']}); best {a['best_auto']:.4f} vs {a['best_off']:.4f} (relative gap "
                    f"{100 * a['relative_gap']:+.2f} %, > 0 is worse): **{'met' if a['met'] else 'missed'}**")
            else:
                out.append(f"- {p}: {auto}: not measured (the method did not run)")
        v = t.get("hyperband_vs_optuna")
        if v:
            cells = ", ".join(
                f"{r['budget']} {r['hb_bayes']:.4f} vs {r['optuna_hb']:.4f} ({r.get('seeds_as_good', '?')})"
                if r["hb_bayes"] is not None else f"{r['budget']} n/a" for r in v["rows"])
            out.append(f"- {p}: Hyperband (bayesian) vs Optuna HyperbandPruner, mean over seeds: {cells}: "
                       f"**{'met' if v['met'] else 'missed'}**")
        else:
            out.append(f"- {p}: Hyperband vs Optuna HyperbandPruner: not measured")
    return "\n".join(out)


def plot(records: list[dict[str, Any]], problems: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(problems), figsize=(6.2 * len(problems), 4.4), squeeze=False)
    styles = {"random_full": ("k", "-"), "random_auto": ("tab:gray", "--"), "bayes_off": ("tab:blue", "-"),
              "bayes_auto": ("tab:blue", "--"), "hb_random": ("tab:green", "--"), "hb_bayes": ("tab:green", "-"),
              "optuna_hb": ("tab:red", "-"), "optuna_median": ("tab:red", "--")}
    for ax, p in zip(axes[0], problems):
        prob = _curves.problem(p)
        for m in METHODS:
            runs = [r for r in records if r["problem"] == p and r["method"] == m and r["status"] == "ok"]
            if not runs:
                continue
            budget = runs[0]["budget"]
            xs, ys = [], []
            for k in range(1, budget + 1, max(1, budget // 200)):
                vals = [best_at(r, k) for r in runs]
                if all(vals):
                    xs.append(k)
                    ys.append(statistics.fmean(v[0] for v in vals))
            color, ls = styles[m]
            ax.plot(xs, ys, color=color, linestyle=ls, label=m, linewidth=1.6)
        ax.set_title(f"{p} ({len({r['seed'] for r in records if r['problem'] == p})} seeds, mean)")
        ax.set_xlabel("epochs spent")
        ax.set_ylabel(f"best {prob.objective}")
        if prob.maximize:
            ax.set_ylim(0.88, 0.98)
        else:
            ax.set_yscale("log")
            ax.set_ylim(None, 0.3)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8, loc="lower right" if _curves.problem(problems[0]).maximize else "upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


# ------------------------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    parser.add_argument("--full-jobs", type=int, default=20,
                        help="configurations of the random search with full training; B = this x 27 epochs")
    parser.add_argument("--problems", default=",".join(_curves.PROBLEMS))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--out", default=None, help="folder for runs.json, summary.json, table.md, the PNG")
    parser.add_argument("--quick", action="store_true", help="1 seed, 4 full jobs (B = 108 epochs)")
    parser.add_argument("--hyperband-settings", default="{}",
                        help='more settings of hyperjob\'s hyperband strategy as JSON, e.g. \'{"brackets": 4}\'')
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.full_jobs = 1, 4
    HYPERBAND_EXTRA.update(json.loads(args.hyperband_settings))
    problems = [p for p in args.problems.split(",") if p]
    methods = [m for m in args.methods.split(",") if m]
    for m in methods:
        if m not in METHODS:
            parser.error(f"unknown method {m!r}; use some of {', '.join(METHODS)}")
    for p in problems:
        if p not in _curves.PROBLEMS:
            parser.error(f"unknown problem {p!r}; use some of {', '.join(_curves.PROBLEMS)}")
    out = Path(args.out) if args.out else None
    records: list[dict[str, Any]] = []
    started = time.perf_counter()
    for p in problems:  # load the data and warm torch up, so that the first run's wall time is not inflated
        _curves.problem(p).train(dict(_WARM_UP), lambda *_: None, max_epochs=1)
    for seed in range(args.seeds):
        for p in problems:
            for m in methods:
                rec = run_method(m, _curves.problem(p), seed, args.full_jobs)
                records.append(rec)
                best = rec["improvements"][-1][1] if rec["improvements"] else math.nan
                log(f"seed {seed} {p:<11} {m:<14} {rec['status'][:60]:<6} spent {rec['spent']:>4}/{rec['budget']} "
                    f"epochs, {len(rec['jobs']):>3} jobs, best {best:.4f}, {rec['wall_s']:.1f} s")
    summary = summarize(records, problems, args.full_jobs)
    summary["setup"] = {
        "seeds": args.seeds, "full_jobs": args.full_jobs, "max_epochs": _curves.MAX_EPOCHS,
        "problems": problems, "methods": methods, "wall_s": round(time.perf_counter() - started, 1),
        "hyperband_settings": HYPERBAND_EXTRA, "torch": torch.__version__, "optuna": _version("optuna"),
        "hyperjob": _version("hyperjob"), "python": sys.version.split()[0], "cpus": os.cpu_count(),
    }
    text = markdown(summary, problems, args.full_jobs, args.seeds)
    print(text)
    log(f"done in {time.perf_counter() - started:.0f} s")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        compact = [{**r, "improvements": [[s, round(v, 5), round(t, 5)] for s, v, t in r["improvements"]]}
                   for r in records]
        (out / "runs.json").write_text(json.dumps(compact, separators=(",", ":")) + "\n")
        (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
        (out / "table.md").write_text(text + "\n")
        plot(records, problems, out / "multifidelity.png")
        log(f"wrote {out}/runs.json, summary.json, table.md, multifidelity.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
