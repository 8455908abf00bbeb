"""Warm start: how many training jobs a warm-started child needs to match a cold tuning job's best@50.

    .venv/bin/python benchmarks/warm_start.py --problems branin,hartmann6,ml_hgb_breast_cancer --seeds 5

Per problem of the shared harness (``../shared/bench/problems.py``, imported unmodified) and seed, all through
``hyperjob.tune`` with a Python callable and a temporary SQLite store, Bayesian strategy:

1. **cold**: a tuning job of 50 training jobs on the problem; ``best@50`` is its best value.
2. **identical child** (``identical_data_and_algorithm``, parent = cold): every numeric range narrowed to half
   its width (in the range's own scaling) around the cold job's best configuration, as a user narrows ranges
   after a first job; up to 30 training jobs, ending as soon as one reaches ``best@50`` (``target_value``).
   Reported: the training jobs it needed (its own, the parents' not counted). "Match" allows 0.1 % of the
   cold job's gap between its median and its best value (so that a near-tie of 1e-6 counts as a match).
3. **transfer child** (``transfer_learning``, parent = cold) on a *related* problem: for the synthetic problems
   the function shifted by 0.05 in every numeric unit coordinate and rescaled (``1.1 f + 0.3``); for
   ``ml_hgb_breast_cancer`` the same model on another data subset (a fixed 70 % subsample of breast_cancer,
   other CV folds). It runs 30 training jobs; a **cold job of 50** on the related problem is the reference.
   Reported: training jobs to match the related cold job's ``best@50``, and the best value after 10 and 20
   training jobs against the related cold job's best after as many (a cold start of the same size: the cold
   job's first N training jobs are exactly a cold job of N, the suggestions do not depend on ``max_jobs``).

Targets (issue 6): the identical child matches the cold best@50 within 15 training jobs; the transfer child
beats a cold start of the same size on the mean over seeds. Prints a Markdown table and writes JSON
(``--out``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

import hyperjob
from hyperjob.bench import search_space
from hyperjob.space import CategoricalRange, SearchSpace

BUDGET = 50
CHILD_JOBS = 30
SHIFT = 0.05


def narrowed(space: SearchSpace, best: dict[str, Any]) -> SearchSpace:
    """Each numeric range narrowed to half its width (unit coordinates) around ``best``; categoricals kept."""
    ranges = []
    for r in space.ranges:
        if isinstance(r, CategoricalRange):
            ranges.append(r)
            continue
        u = r.to_unit(best[r.name])
        lo = min(max(u - 0.25, 0.0), 0.5)
        lo_v, hi_v = r.from_unit(lo), r.from_unit(lo + 0.5)
        if lo_v >= hi_v:  # a short integer range: keep it whole
            ranges.append(r)
        else:
            ranges.append(dataclasses.replace(r, min_value=lo_v, max_value=hi_v))
    return SearchSpace(ranges=tuple(ranges), static=space.static)


def shifted(space: SearchSpace, fn: Callable[[dict], float]) -> Callable[[dict], float]:
    """``1.1 f(x') + 0.3`` where ``x'`` is ``x`` moved by -SHIFT in every numeric unit coordinate (clipped)."""

    def g(config: dict) -> float:
        moved = dict(config)
        for r in space.ranges:
            if not isinstance(r, CategoricalRange):
                moved[r.name] = r.from_unit(min(max(r.to_unit(config[r.name]) - SHIFT, 0.0), 1.0))
        return 1.1 * fn(moved) + 0.3

    return g


def hgb_subset(config: dict) -> float:
    """The harness's HGB task on another data subset: a fixed 70 % of breast_cancer, other 3-fold CV splits."""
    import warnings

    import problems  # the harness's
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split

    X, y = problems._data("breast_cancer")
    X, _, y, _ = train_test_split(X, y, train_size=0.7, stratify=y, random_state=1)
    m = HistGradientBoostingClassifier(
        learning_rate=config["learning_rate"], max_leaf_nodes=config["max_leaf_nodes"],
        min_samples_leaf=config["min_samples_leaf"], l2_regularization=config["l2_regularization"],
        max_iter=50, early_stopping=False, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = cross_val_score(m, X, y, scoring="neg_log_loss", cv=StratifiedKFold(3, shuffle=True, random_state=1))
    value = -float(np.mean(scores))
    return value if math.isfinite(value) else 1e9


def values_of(result: hyperjob.TuningResult) -> list[float]:
    jobs = sorted(result.jobs, key=lambda j: j["index"])
    return [j["value"] if j["value"] is not None else math.inf for j in jobs]


def tolerance(cold_values: list[float]) -> float:
    """Matching allows 0.1 % of the cold job's gap between its median value and its best (near-ties count)."""
    finite = [v for v in cold_values if math.isfinite(v)]
    return 1e-3 * (statistics.median(finite) - min(finite))


def first_match(values: list[float], target: float) -> int | None:
    for i, v in enumerate(values, 1):
        if v <= target:
            return i
    return None


def best_at(values: list[float], n: int) -> float:
    return min(values[:n])


def one_seed(name: str, prob: Any, seed: int, store: str, out_dir: str) -> dict[str, Any]:
    space = search_space(prob.space)
    fn = prob.evaluate
    common = dict(seed=seed, store=store, output_dir=out_dir, strategy="bayesian")
    t0 = time.time()
    cold = hyperjob.tune(fn, space, max_jobs=BUDGET, name=f"{name}-{seed}-cold", **common)
    cold_vals = values_of(cold)
    best50 = min(cold_vals) + tolerance(cold_vals)
    child_space = narrowed(space, cold.best_config)
    child = hyperjob.tune(fn, child_space, max_jobs=CHILD_JOBS, name=f"{name}-{seed}-child", target_value=best50,
                          warm_start={"parents": [cold.name], "type": "identical_data_and_algorithm"}, **common)
    child_vals = values_of(child)
    related = hgb_subset if name == "ml_hgb_breast_cancer" else shifted(space, fn)
    rel_cold = hyperjob.tune(related, space, max_jobs=BUDGET, name=f"{name}-{seed}-rel-cold", **common)
    rel_vals = values_of(rel_cold)
    rel_best50 = min(rel_vals) + tolerance(rel_vals)
    transfer = hyperjob.tune(related, space, max_jobs=CHILD_JOBS, name=f"{name}-{seed}-transfer",
                             warm_start={"parents": [cold.name], "type": "transfer_learning"}, **common)
    tr_vals = values_of(transfer)
    return {
        "problem": name, "seed": seed, "cold_best50": best50,
        "identical_jobs_to_match": first_match(child_vals, best50), "identical_best": min(child_vals),
        "related_cold_best50": rel_best50,
        "transfer_jobs_to_match": first_match(tr_vals, rel_best50),
        "cold_jobs_to_match_itself": first_match(rel_vals, rel_best50),
        **{f"transfer_best{n}": best_at(tr_vals, n) for n in (5, 10, 20, 30)},
        **{f"cold_best{n}": best_at(rel_vals, n) for n in (5, 10, 20, 30)},
        "seconds": round(time.time() - t0, 1),
    }


def summarize(rows: list[dict[str, Any]], problems_: list[str]) -> str:
    """The Markdown table of ``benchmarks/README.md``: per problem, jobs to match (per seed, then the median and
    the mean with a miss counted as ``CHILD_JOBS + 1``) and the mean best@N of the transfer child and cold."""
    lines = [
        "| problem | identical child: jobs to match cold best@50 (per seed) | within 15 | median / mean | transfer "
        "child: jobs to match related cold best@50 | mean best@10 transfer / cold | mean best@20 transfer / cold | "
        "mean best@30 transfer / cold |",
        "|---|---|---:|---|---|---|---|---|",
    ]
    for name in problems_:
        rs = [r for r in rows if r["problem"] == name]
        if not rs:
            continue
        ident = [r["identical_jobs_to_match"] for r in rs]
        trans = [r["transfer_jobs_to_match"] for r in rs]
        within = sum(1 for j in ident if j is not None and j <= 15)
        counted = [j if j is not None else CHILD_JOBS + 1 for j in ident]

        def fmt(js: list[int | None], cap: int) -> str:
            return ", ".join(str(j) if j is not None else f">{cap}" for j in js)

        def pair(n: int) -> str:
            t = statistics.fmean(r[f"transfer_best{n}"] for r in rs)
            c = statistics.fmean(r[f"cold_best{n}"] for r in rs)
            return f"{t:.4g} / {c:.4g}"

        lines.append(
            f"| {name} | {fmt(ident, CHILD_JOBS)} | {within}/{len(rs)} | {statistics.median(counted):g} / "
            f"{statistics.fmean(counted):.1f} | {fmt(trans, CHILD_JOBS)} | {pair(10)} | {pair(20)} | {pair(30)} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", default=str(Path(__file__).resolve().parents[2] / "shared" / "bench"))
    p.add_argument("--problems", default="branin,hartmann6,ml_hgb_breast_cancer")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--out", default="")
    p.add_argument("--from-json", default="", help="print the table of a saved run (--out) without running")
    args = p.parse_args()
    if args.from_json:
        rows = json.loads(Path(args.from_json).read_text())
        print(summarize(rows, list(dict.fromkeys(r["problem"] for r in rows))))
        return
    sys.path.insert(0, args.bench)
    import problems  # the harness's, unmodified

    import torch

    torch.set_num_threads(1)
    names = args.problems.split(",")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        store = str(Path(tmp) / "warm.db")
        for name in names:
            prob = problems.get(name)
            for seed in range(args.seeds):
                prob.reset(seed)
                row = one_seed(name, prob, seed, store, tmp)
                rows.append(row)
                print(json.dumps(row), flush=True)
    print(summarize(rows, names))
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
