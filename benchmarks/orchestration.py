"""Orchestration overhead: N no-op training jobs (processes that print one metric and exit), random strategy,
P in parallel, SQLite store: training jobs per second and the tuner's own CPU time per training job, for
hyperjob and for Optuna (SQLite storage, ``n_jobs=P``, launching the same subprocess) in the same run.

    .venv/bin/python benchmarks/orchestration.py --jobs 500 --parallel 8 --repeats 3

Each measurement runs in a fresh process, alternating tools, so the two see the same machine conditions.
The tuner's CPU time is the tuner process's own user+system time (``RUSAGE_SELF``), not its children's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

NOOP = [sys.executable, "-S", "-c", "print('loss=0.5')"]


def _cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_hyperjob(n_jobs: int, parallel: int, workdir: str) -> dict:
    import hyperjob

    cpu0, t0 = _cpu_self(), time.perf_counter()
    result = hyperjob.tune(
        NOOP,
        {"x": {"type": "continuous", "min_value": 0.0, "max_value": 1.0}},
        objective="loss",
        metric_definitions={"loss": r"loss=([0-9.]+)"},
        strategy="random",
        max_jobs=n_jobs,
        max_parallel_jobs=parallel,
        seed=0,
        name="noop",
        output_dir=os.path.join(workdir, "runs"),
        store=os.path.join(workdir, "hyperjob.db"),
    )
    wall, cpu = time.perf_counter() - t0, _cpu_self() - cpu0
    done = sum(1 for j in result.jobs if j["status"] == "Completed" and j["value"] == 0.5)
    return {"tool": "hyperjob", "jobs": done, "wall_s": wall, "cpu_s": cpu}


def run_optuna(n_jobs: int, parallel: int, workdir: str) -> dict:
    import re

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pattern = re.compile(r"loss=([0-9.]+)")

    def objective(trial: "optuna.Trial") -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        out = subprocess.run([*NOOP, "--x", str(x)], capture_output=True, text=True, check=True).stdout
        return float(pattern.search(out).group(1))

    cpu0, t0 = _cpu_self(), time.perf_counter()
    storage = f"sqlite:///{os.path.join(workdir, 'optuna.db')}"
    study = optuna.create_study(storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=n_jobs, n_jobs=parallel)
    wall, cpu = time.perf_counter() - t0, _cpu_self() - cpu0
    done = sum(1 for t in study.trials if t.value == 0.5)
    return {"tool": "optuna", "jobs": done, "wall_s": wall, "cpu_s": cpu}


def _child(tool: str, n_jobs: int, parallel: int) -> dict:
    with tempfile.TemporaryDirectory() as d:
        fn = run_hyperjob if tool == "hyperjob" else run_optuna
        return fn(n_jobs, parallel, d)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=500)
    p.add_argument("--parallel", type=int, default=8)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--tools", default="hyperjob,optuna")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.jobs, args.parallel)))
        return
    tools = args.tools.split(",")
    rows: dict[str, list[dict]] = {t: [] for t in tools}
    for rep in range(args.repeats):
        for tool in tools if rep % 2 == 0 else reversed(tools):
            out = subprocess.run(
                [sys.executable, __file__, "--child", tool, "--jobs", str(args.jobs), "--parallel", str(args.parallel)],
                capture_output=True, text=True,
            )
            if out.returncode != 0:
                raise SystemExit(f"{tool} failed:\n{out.stderr[-3000:]}")
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows[tool].append(row)
            print(
                f"{tool:9s} run {rep + 1}: {row['jobs']} jobs in {row['wall_s']:.2f} s = "
                f"{row['jobs'] / row['wall_s']:.1f} jobs/s, tuner CPU {1000 * row['cpu_s'] / row['jobs']:.2f} ms/job",
                file=sys.stderr,
            )
    print(f"\n{args.jobs} no-op training jobs, {args.parallel} in parallel, SQLite, random strategy; "
          f"median of {args.repeats} runs\n")
    print("| tool | training jobs / s | tuner CPU ms / training job | wall s |")
    print("|---|---:|---:|---:|")
    med = {}
    for tool, rs in rows.items():
        jps = statistics.median(r["jobs"] / r["wall_s"] for r in rs)
        cpu = statistics.median(1000 * r["cpu_s"] / r["jobs"] for r in rs)
        wall = statistics.median(r["wall_s"] for r in rs)
        med[tool] = (jps, cpu)
        print(f"| {tool} | {jps:.1f} | {cpu:.2f} | {wall:.1f} |")
    if "hyperjob" in med and "optuna" in med:
        print(f"\nratio hyperjob/optuna: throughput {med['hyperjob'][0] / med['optuna'][0]:.2f}x, "
              f"tuner CPU per job {med['hyperjob'][1] / med['optuna'][1]:.2f}x")


if __name__ == "__main__":
    main()
