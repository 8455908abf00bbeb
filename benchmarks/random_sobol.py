"""Random strategy: scrambled Sobol (hyperjob's RandomStrategy) against plain uniform draws in each range's
scaling (what the harness's `random` adapter does), on the shared harness's problems, same seeds.

    .venv/bin/python benchmarks/random_sobol.py --seeds 1000 --budgets 1,2,4,10,25,50,100,256
    .venv/bin/python benchmarks/random_sobol.py --problems ml_svc_digits --seeds 200 --budgets 2,4,10,25,50

Prints, per budget b, the mean over problems of the median (over seeds) normalized regret of the best
configuration after b evaluations, for both, and the mean paired difference (Sobol - uniform) with its z score.
The harness folder is found at ../shared/bench relative to the repository (or --bench).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from hyperjob.bench import search_space
from hyperjob.records import Final, Objective
from hyperjob.strategies.random import RandomStrategy

SYNTHETIC = "branin,hartmann6,rosenbrock4,ackley6,logquad3,mixed_rastrigin,noisy_hartmann6"


def trace(prob, ref, draw, budget: int) -> list[float]:
    best_y, best_f, out = math.inf, None, []
    for t in range(budget):
        config = draw(t)
        y, f = prob.observe(config)
        if y < best_y:
            best_y, best_f = y, f
        out.append(max(0.0, (best_f - ref["optimum"]) / (ref["random_median"] - ref["optimum"])))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", default=str(Path(__file__).resolve().parents[2] / "shared" / "bench"))
    p.add_argument("--problems", default=SYNTHETIC)
    p.add_argument("--seeds", type=int, default=200)
    p.add_argument("--budgets", default="1,2,4,10,25,50,100")
    args = p.parse_args()
    sys.path.insert(0, args.bench)
    import problems  # the harness's, unmodified

    ref_all = json.loads((Path(args.bench) / "reference.json").read_text())
    budgets = [int(b) for b in args.budgets.split(",")]
    horizon = max(budgets)
    medians = {"uniform": [], "sobol": []}
    diffs = []
    for name in args.problems.split(","):
        prob = problems.get(name)
        space = search_space(prob.space)
        ref = ref_all[name]
        runs = {"uniform": [], "sobol": []}
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed)
            prob.reset(seed)
            runs["uniform"].append(trace(prob, ref, lambda t: space.from_unit(rng.random(space.dim)), horizon))
            strategy = RandomStrategy(space, Objective("y"), seed=seed)

            def sobol(t: int) -> dict:
                config = strategy.suggest(1)[0]
                strategy.observe(Final(config, 0.0))
                return config

            prob.reset(seed)
            runs["sobol"].append(trace(prob, ref, sobol, horizon))
        for kind in runs:
            arr = np.array(runs[kind])
            medians[kind].append([float(np.median(arr[:, b - 1])) for b in budgets])
        diffs.append(np.array(runs["sobol"]) - np.array(runs["uniform"]))
        print(f"{name}: done", file=sys.stderr, flush=True)
    print(f"{len(medians['sobol'])} problems, {args.seeds} seeds\n")
    print("| b | " + " | ".join(str(b) for b in budgets) + " |")
    print("|---|" + "---:|" * len(budgets))
    for kind in ("uniform", "sobol"):
        row = np.mean(np.array(medians[kind]), axis=0)
        print(f"| {kind} | " + " | ".join(f"{v:.3f}" for v in row) + " |")
    d = np.concatenate(diffs, axis=0)
    zs = []
    for b in budgets:
        col = d[:, b - 1]
        sd = col.std(ddof=1) / math.sqrt(len(col)) if len(col) > 1 else float("nan")
        zs.append(col.mean() / sd if sd > 0 else 0.0)
    print("| z (Sobol - uniform) | " + " | ".join(f"{z:.2f}" for z in zs) + " |")


if __name__ == "__main__":
    main()
