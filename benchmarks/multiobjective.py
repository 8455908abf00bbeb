"""Several objectives and outcome constraints: hyperjob's bayesian strategy against Optuna, in one run.

Multi-objective problems (BoTorch's test functions, minimized): hypervolume of the observed points after 25
and 50 evaluations, as a fraction of the problem's maximum hypervolume (its ``max_hv`` from its reference
point), for hyperjob (``AskTell(..., objectives=...)``, qLogNEHVI), Optuna's NSGA-II, Optuna's
multi-objective TPE and hyperjob's random search.

Constrained problems: the number of infeasible evaluations out of 50 and the best feasible value (as the
regret to the known optimum), for hyperjob (``constraints=[{metric, min: 0}]`` on BoTorch's slacks) and
Optuna with ``constraints_func`` (TPE, GP; NSGA-II and MO-TPE on the constrained two-objective problem).

Run (one process, one torch thread; about 15 minutes on 2 shared cores)::

    .venv/bin/python benchmarks/multiobjective.py --seeds 5 --budget 50 \\
        --out benchmarks/results/raw/multiobjective.json

``--quick`` runs 2 seeds, budget 20, two problems (a smoke test). Numbers: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
import warnings
from typing import Any, Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch

torch.set_num_threads(1)

import optuna  # noqa: E402
from botorch.test_functions import multi_objective as mo  # noqa: E402
from botorch.test_functions import synthetic as so  # noqa: E402
from botorch.utils.multi_objective.hypervolume import Hypervolume  # noqa: E402

from hyperjob import AskTell  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore")


# -- problems ---------------------------------------------------------------------------------------------------
def _mo_problems() -> dict[str, Any]:
    return {
        "branin_currin": mo.BraninCurrin(),
        "zdt1_4d": mo.ZDT1(dim=4, num_objectives=2),
        "zdt2_4d": mo.ZDT2(dim=4, num_objectives=2),
        "dtlz2_4d": mo.DTLZ2(dim=4, num_objectives=2),
    }


def _constrained_problems() -> dict[str, Any]:
    return {
        "gramacy_c2": so.ConstrainedGramacy(),
        "hartmann6_c1": so.ConstrainedHartmann(dim=6),
        "tension_string_c4": so.TensionCompressionString(),
        "branin_currin_c1": mo.ConstrainedBraninCurrin(),  # two objectives and a constraint: hypervolume
    }


def _space(problem: Any) -> dict[str, dict[str, Any]]:
    lo, hi = problem.bounds[0].tolist(), problem.bounds[1].tolist()
    return {f"x{i}": {"type": "continuous", "min_value": float(a), "max_value": float(b)}
            for i, (a, b) in enumerate(zip(lo, hi))}


def _evaluate(problem: Any, config: dict[str, float]) -> tuple[list[float], list[float]]:
    """(objective values to minimize, constraint slacks: feasible when all >= 0)."""
    x = torch.tensor([[config[f"x{i}"] for i in range(problem.dim)]], dtype=torch.double)
    with torch.no_grad():
        f = problem.evaluate_true(x).reshape(-1).tolist()
        slack = problem.evaluate_slack_true(x).reshape(-1).tolist() if hasattr(problem, "evaluate_slack_true") else []
    return f, slack


def _m(problem: Any) -> int:
    return int(getattr(problem, "num_objectives", 1))


# -- methods: each returns [(objectives, slacks, seconds to choose)] in evaluation order -----------------------------
def run_hyperjob(problem: Any, budget: int, seed: int, strategy: str = "bayesian") -> list[tuple]:
    m, k = _m(problem), int(getattr(problem, "num_constraints", 0))
    objectives = [{"metric": f"f{j}", "type": "minimize"} for j in range(m)]
    constraints = [{"metric": f"c{j}", "min": 0.0} for j in range(k)]
    at = AskTell(_space(problem), objectives=objectives, constraints=constraints, strategy=strategy, seed=seed)
    out = []
    for _ in range(budget):
        t = time.perf_counter()
        s = at.ask()
        dt = time.perf_counter() - t
        f, slack = _evaluate(problem, s.config)
        at.tell(s, {**{f"f{j}": v for j, v in enumerate(f)}, **{f"c{j}": v for j, v in enumerate(slack)}})
        out.append((f, slack, dt))
    return out


def run_optuna(problem: Any, budget: int, seed: int, sampler: str) -> list[tuple]:
    m, k = _m(problem), int(getattr(problem, "num_constraints", 0))
    cf: Callable | None = (lambda t: t.user_attrs["c"]) if k else None  # <= 0 is feasible for optuna
    samplers = {
        "nsga2": lambda: optuna.samplers.NSGAIISampler(seed=seed, constraints_func=cf),
        "tpe": lambda: optuna.samplers.TPESampler(seed=seed, constraints_func=cf),
        "gp": lambda: optuna.samplers.GPSampler(seed=seed, constraints_func=cf),
    }
    study = optuna.create_study(directions=["minimize"] * m, sampler=samplers[sampler]())
    lo, hi = problem.bounds[0].tolist(), problem.bounds[1].tolist()
    out = []
    for _ in range(budget):
        t = time.perf_counter()
        trial = study.ask()
        config = {f"x{i}": trial.suggest_float(f"x{i}", lo[i], hi[i]) for i in range(problem.dim)}
        dt = time.perf_counter() - t
        f, slack = _evaluate(problem, config)
        if k:
            trial.set_user_attr("c", [-s for s in slack])
        study.tell(trial, f if m > 1 else f[0])
        out.append((f, slack, dt))
    return out


# -- scores ---------------------------------------------------------------------------------------------------
def hypervolume_fraction(problem: Any, trace: list[tuple], upto: int) -> float:
    """Hypervolume of the feasible points among the first ``upto``, over the problem's maximum."""
    Y = [f for f, slack, _ in trace[:upto] if all(s >= 0 for s in slack)]
    if not Y:
        return 0.0
    hv = Hypervolume(ref_point=-problem.ref_point)  # BoTorch maximizes: negate the minimized values
    pts = -torch.tensor(Y, dtype=torch.double)
    pts = pts[(pts > -problem.ref_point).all(dim=-1)]
    return float(hv.compute(pts)) / float(problem.max_hv) if len(pts) else 0.0


def constrained_scores(problem: Any, trace: list[tuple], upto: int) -> tuple[int, float | None]:
    """(infeasible evaluations, best feasible value) among the first ``upto``."""
    infeasible = sum(1 for _, slack, _ in trace[:upto] if not all(s >= 0 for s in slack))
    feasible = [f[0] for f, slack, _ in trace[:upto] if all(s >= 0 for s in slack)]
    return infeasible, (min(feasible) if feasible else None)


METHODS_MO = {
    "hyperjob": lambda p, b, s: run_hyperjob(p, b, s),
    "optuna-nsga2": lambda p, b, s: run_optuna(p, b, s, "nsga2"),
    "optuna-motpe": lambda p, b, s: run_optuna(p, b, s, "tpe"),
    "random": lambda p, b, s: run_hyperjob(p, b, s, strategy="random"),
}
METHODS_C = {
    "hyperjob": lambda p, b, s: run_hyperjob(p, b, s),
    "optuna-tpe-c": lambda p, b, s: run_optuna(p, b, s, "tpe"),
    "optuna-gp-c": lambda p, b, s: run_optuna(p, b, s, "gp"),
    "random": lambda p, b, s: run_hyperjob(p, b, s, strategy="random"),
}
METHODS_C_MO = {
    "hyperjob": lambda p, b, s: run_hyperjob(p, b, s),
    "optuna-nsga2-c": lambda p, b, s: run_optuna(p, b, s, "nsga2"),
    "optuna-motpe-c": lambda p, b, s: run_optuna(p, b, s, "tpe"),
    "random": lambda p, b, s: run_hyperjob(p, b, s, strategy="random"),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=int, default=50)
    ap.add_argument("--problems", default="", help="comma-separated names (default: all)")
    ap.add_argument("--quick", action="store_true", help="2 seeds, budget 20, two problems")
    ap.add_argument("--out", default="", help="write every trace's scores here (JSON)")
    a = ap.parse_args(argv)
    if a.quick:
        a.seeds, a.budget, a.problems = 2, 20, a.problems or "branin_currin,gramacy_c2"
    wanted = set(filter(None, a.problems.split(",")))
    mo_problems = {n: p for n, p in _mo_problems().items() if not wanted or n in wanted}
    c_problems = {n: p for n, p in _constrained_problems().items() if not wanted or n in wanted}
    checkpoints = sorted({min(25, a.budget), a.budget})
    results: dict[str, Any] = {"budget": a.budget, "seeds": a.seeds, "versions": {
        "torch": torch.__version__, "optuna": optuna.__version__,
        "botorch": __import__("botorch").__version__}, "problems": {}}
    started = time.time()
    for group, problems in (("mo", mo_problems), ("c", c_problems)):
        for name, problem in problems.items():
            methods = METHODS_MO if group == "mo" else (METHODS_C_MO if _m(problem) > 1 else METHODS_C)
            rows: dict[str, Any] = {}
            for method, run in methods.items():
                scores = []
                for seed in range(a.seeds):
                    trace = run(problem, a.budget, seed)
                    latency = statistics.mean(dt for _, _, dt in trace)
                    if _m(problem) > 1:
                        entry = {f"hv@{c}": hypervolume_fraction(problem, trace, c) for c in checkpoints}
                    else:
                        entry = {}
                        for c in checkpoints:
                            bad, best = constrained_scores(problem, trace, c)
                            entry[f"infeasible@{c}"] = bad
                            entry[f"regret@{c}"] = (None if best is None else best - float(problem.optimal_value))
                    if group == "c" and _m(problem) > 1:
                        entry[f"infeasible@{a.budget}"] = constrained_scores(problem, trace, a.budget)[0]
                    entry["latency_s"] = latency
                    scores.append(entry)
                    print(f"{time.time() - started:7.0f}s {name} {method} seed {seed}: "
                          + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                      for k, v in entry.items()), file=sys.stderr, flush=True)
                rows[method] = scores
            results["problems"][name] = {"kind": group if _m(problem) == 1 or group == "mo" else "c-mo",
                                         "methods": rows}
    results["wall_s"] = time.time() - started
    if a.out:
        os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
        with open(a.out, "w") as fh:
            json.dump(results, fh, indent=1)
    print(report(results))
    return 0


def _median(values: list[Any]) -> float:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.median(finite) if finite else math.nan


def report(results: dict[str, Any]) -> str:
    """Markdown tables: medians over the seeds (hypervolume fraction; infeasible count; regret; latency)."""
    budget = results["budget"]
    lines = [f"seeds {results['seeds']}, budget {budget}, wall {results.get('wall_s', 0):.0f} s; "
             f"versions {results['versions']}", ""]
    for name, entry in results["problems"].items():
        methods = entry["methods"]
        keys = [k for k in next(iter(methods.values()))[0] if k != "latency_s"]
        lines.append(f"#### {name} (median over seeds)")
        lines.append("")
        lines.append("| method | " + " | ".join(keys) + " | latency per suggestion (ms) |")
        lines.append("|---|" + "---:|" * (len(keys) + 1))
        for method, scores in methods.items():
            cells = []
            for k in keys:
                v = _median([s[k] for s in scores])
                cells.append(f"{v:.0f}" if k.startswith("infeasible") else f"{v:.4g}")
            lines.append(f"| {method} | " + " | ".join(cells)
                         + f" | {1000 * _median([s['latency_s'] for s in scores]):.0f} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
