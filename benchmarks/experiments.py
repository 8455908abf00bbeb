"""Experiments that hold up (issue 18): is the winner of one period truly best, and does fast mode rank as full?

A simulated daily time series with known truth: five years (2019-2023) of an AR(3) process whose coefficients
change every quarter and whose noise level changes every month (seed = the world). The architecture is a
linear autoregressive forecaster fitted by full-batch gradient descent: hyperparameters ``lags`` (1..32) and
``alpha`` (L2) with a stable step (``lr`` 1 in units of 1/L), a grid of 18 configurations, and ``epochs`` static
(200; fast mode 10). A training
job trains on the first two thirds of its period and reports the validation MSE of the last third.

The truth of a configuration in a world is its mean validation MSE over every three-month window of the five
years (58 windows): the truly best configuration is the one with the lowest. For each world, three tuning jobs
run through hyperjob's Tuner (real loop, store and strategy; the training program is a Python function):

- single: ``periods: {rotate: {count: 1, months: 3}}``: the winner of one rotated quarter;
- multi: ``periods: {rotate: {count: 3, months: 3}}``: the winner of the mean over three rotated quarters;
- multi6: the same with six quarters (enough periods for the signed-rank test to reach 95 %);
- fast: the multi job's spec in fast mode (one period of one month, epochs 10).

Reported over the worlds: how often each winner is the truly best, its regret (its true MSE over the best's,
minus 1), its rank in the truth, how often the winner test calls the multi winners significant, and the rank correlation of fast
mode with full mode (Spearman, Kendall; hyperjob.tuner.rankcheck) and with the truth.

    .venv/bin/python benchmarks/experiments.py --worlds 30 --out benchmarks/results/experiments.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import stats

from hyperjob.formats.spec import TuningJobSpec
from hyperjob.records import Objective
from hyperjob.store import open_store
from hyperjob.tuner.loop import Tuner
from hyperjob.tuner.periods import configurations, ranked, winner_report
from hyperjob.tuner.plan import TuningPlan

START, END = dt.date(2019, 1, 1), dt.date(2023, 12, 31)
LAGS = [1, 2, 4, 8, 16, 32]
LRS = [1.0]
ALPHAS = [0.1, 10.0, 100.0]
LOSS = Objective("mse")

_world: dict[str, np.ndarray] = {}


def make_world(seed: int) -> np.ndarray:
    """Five years of daily values: AR(3) with quarterly coefficients, monthly noise, a weekly cycle."""
    rng = np.random.default_rng(seed)
    n = (END - START).days + 1
    days = [START + dt.timedelta(days=i) for i in range(n)]
    y = np.zeros(n + 3)
    phi_by_quarter: dict[tuple[int, int], np.ndarray] = {}
    sigma_by_month: dict[tuple[int, int], float] = {}
    weekly = rng.normal(0, 0.5, 7)
    for i, d in enumerate(days):
        q = (d.year, (d.month - 1) // 3)
        if q not in phi_by_quarter:
            phi = np.array([0.55, 0.2, 0.1]) + rng.normal(0, 0.2, 3)
            phi *= min(1.0, 0.95 / max(np.abs(phi).sum(), 1e-9))  # keep it stationary
            phi_by_quarter[q] = phi
        m = (d.year, d.month)
        if m not in sigma_by_month:
            sigma_by_month[m] = float(np.exp(rng.normal(0, 0.5)))
        ar = phi_by_quarter[q] @ y[i:i + 3][::-1]
        y[i + 3] = ar + weekly[d.weekday()] * 0.3 + rng.normal(0, sigma_by_month[m])
    return y[3:]


def index_of(day: str) -> int:
    return (dt.date.fromisoformat(day) - START).days


def fit_score(y: np.ndarray, start: int, end: int, lags: int, lr: float, alpha: float, epochs: int) -> float:
    """Train on the first 2/3 of y[start:end+1] (gradient descent on standardized lags), validation MSE of the rest."""
    seg = y[max(0, start - lags):end + 1]
    offset = start - max(0, start - lags)
    x = np.stack([seg[offset - k - 1 + np.arange(len(seg) - offset)] for k in range(lags)], axis=1)
    target = seg[offset:]
    n_train = int(len(target) * 2 / 3)
    xt, yt = x[:n_train], target[:n_train]
    mu, sd = xt.mean(0), xt.std(0) + 1e-9
    xs, xv = (xt - mu) / sd, (x[n_train:] - mu) / sd
    ym = yt.mean()
    w = np.zeros(lags)
    gram = xs.T @ xs / len(yt) + alpha * np.eye(lags) / len(yt)
    step = lr / float(np.linalg.eigvalsh(gram)[-1])  # lr in units of the stable step: < 2 never diverges
    for _ in range(epochs):
        grad = gram @ w - xs.T @ (yt - ym) / len(yt)
        w -= step * grad
    pred = xv @ w + ym
    return float(np.mean((pred - target[n_train:]) ** 2))


def train(hp: dict) -> float:
    """The training program: one configuration on one period (the period arrives as --period_start/_end)."""
    return fit_score(_world["y"], index_of(hp["period_start"]), index_of(hp["period_end"]),
                     int(hp["lags"]), float(hp["lr"]), float(hp["alpha"]), int(hp["epochs"]))


def truth(y: np.ndarray) -> dict[tuple, float]:
    """Every configuration's mean validation MSE over every three-month window (whole months) of the span."""
    windows = []
    for k in range(12 * 5 - 2):
        y0, m0 = divmod(k, 12)
        first = dt.date(2019 + y0, m0 + 1, 1)
        y2, m2 = divmod(k + 3, 12)
        last = dt.date(2019 + y2, m2 + 1, 1) - dt.timedelta(days=1)
        windows.append(((first - START).days, (last - START).days))
    out = {}
    for lags in LAGS:
        for lr in LRS:
            for alpha in ALPHAS:
                out[(lags, lr, alpha)] = statistics.mean(fit_score(y, a, b, lags, lr, alpha, 200) for a, b in windows)
    return out


def spec(name: str, count: int, fast: bool) -> TuningJobSpec:
    return TuningJobSpec.model_validate({
        "name": name, "program": {"function": "experiments:train"},
        "hyperparameter_ranges": {"lags": {"type": "categorical", "values": LAGS},
                                  "lr": {"type": "categorical", "values": LRS},
                                  "alpha": {"type": "categorical", "values": ALPHAS}},
        "static_hyperparameters": {"epochs": 200},
        "objective": {"metric": "mse", "type": "minimize"}, "strategy": {"name": "grid"},
        "limits": {"max_parallel_jobs": 1},
        "periods": {"rotate": {"span": [START.isoformat(), END.isoformat()], "count": count, "months": 3,
                               "as_of": "2024-01"}},
        "fast": {"static_hyperparameters": {"epochs": 10}, "months": 1, "enabled": fast},
    })


def run_job(store, s: TuningJobSpec) -> list:
    Tuner(TuningPlan.from_spec(s, function=train), store).run()
    return store.list_training_jobs(s.name)


def key(config: dict) -> tuple:
    return (int(config["lags"]), float(config["lr"]), float(config["alpha"]))


def world(seed: int, store) -> dict:
    y = make_world(seed)
    _world["y"] = y
    true = truth(y)
    best_true = min(true, key=true.get)
    order_true = sorted(true, key=true.get)
    out: dict = {"seed": seed}
    for label, count, fast in (("single", 1, False), ("multi", 3, False), ("multi6", 6, False), ("fast", 3, True)):
        records = run_job(store, spec(f"w{seed}-{label}", count, fast))
        results = ranked(configurations(records, LOSS), LOSS)
        winner = key(results[0].config)
        out[label] = {"winner": list(winner), "truly_best": winner == best_true,
                      "regret": true[winner] / true[best_true] - 1, "true_rank": order_true.index(winner) + 1,
                      "values": {json.dumps(list(key(c.config))): c.aggregate for c in results}}
        if label in ("multi", "multi6"):
            tuning = store.get_tuning_job(f"w{seed}-{label}")
            test = winner_report(records, tuning.spec, LOSS)["WinnerTest"]
            out[label]["significant"] = bool(test.get("significant"))
    fast_v = [out["fast"]["values"][json.dumps(list(k))] for k in true]
    full_v = [out["multi"]["values"][json.dumps(list(k))] for k in true]
    out["fast_vs_full"] = {"spearman": float(stats.spearmanr(fast_v, full_v).statistic),
                           "kendall": float(stats.kendalltau(fast_v, full_v).statistic)}
    out["fast_vs_truth"] = {"spearman": float(stats.spearmanr(fast_v, list(true.values())).statistic)}
    out["full_vs_truth"] = {"spearman": float(stats.spearmanr(full_v, list(true.values())).statistic)}
    return out


def bootstrap_ci(values: list[float], seed: int = 0) -> list[float]:
    if len(set(values)) < 2:
        return [values[0], values[0]]
    res = stats.bootstrap((np.asarray(values, dtype=float),), np.mean, n_resamples=2000, random_state=seed,
                          method="percentile")
    return [float(res.confidence_interval.low), float(res.confidence_interval.high)]


def summarize(worlds: list[dict]) -> dict:
    out: dict = {"worlds": len(worlds)}
    for label in ("single", "multi", "multi6", "fast"):
        hit = [1.0 if w[label]["truly_best"] else 0.0 for w in worlds]
        regret = [w[label]["regret"] for w in worlds]
        out[label] = {"truly_best": sum(hit) / len(hit), "truly_best_ci": bootstrap_ci(hit),
                      "mean_regret": statistics.mean(regret), "mean_regret_ci": bootstrap_ci(regret),
                      "median_true_rank": statistics.median(w[label]["true_rank"] for w in worlds)}
    for label in ("multi", "multi6"):
        out[label]["winner_test_significant"] = statistics.mean(1.0 if w[label]["significant"] else 0.0
                                                                for w in worlds)
    for pair in ("fast_vs_full", "fast_vs_truth", "full_vs_truth"):
        for stat in worlds[0][pair]:
            vals = [w[pair][stat] for w in worlds]
            out[f"{pair}_{stat}"] = {"mean": statistics.mean(vals), "ci": bootstrap_ci(vals),
                                     "min": min(vals)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", type=int, default=30, help="repetitions (simulated worlds), >= 20 for the report")
    parser.add_argument("--out", type=Path, default=None, help="write the summary and the worlds as JSON here")
    args = parser.parse_args(argv)
    sys.modules.setdefault("experiments", sys.modules[__name__])
    t0 = time.time()
    worlds = []
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(str(Path(tmp) / "bench.db"))
        for seed in range(args.worlds):
            worlds.append(world(seed, store))
            w = worlds[-1]
            ranks = ", ".join(f"{k} {w[k]['true_rank']}" for k in ("single", "multi", "multi6", "fast"))
            print(f"world {seed}: true rank of the winner: {ranks}; fast~full spearman "
                  f"{w['fast_vs_full']['spearman']:.2f}", flush=True)
        store.close()
    summary = summarize(worlds)
    summary["seconds"] = round(time.time() - t0, 1)
    print(json.dumps(summary, indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        slim = [{k: ({kk: vv for kk, vv in v.items() if kk != "values"} if isinstance(v, dict) else v)
                 for k, v in w.items()} for w in worlds]  # each world's winners and correlations, not every value
        args.out.write_text(json.dumps({"summary": summary, "worlds": slim}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
