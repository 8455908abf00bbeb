"""Orchestration overhead: N no-op training jobs (processes that print one metric and exit), random strategy,
P in parallel, SQLite store: training jobs per second and CPU time per training job, for hyperjob, for Optuna
(SQLite storage, ``n_jobs=P``, launching the same subprocess) and for a bare process pool (P threads that
only run the subprocess: the floor) in the same run.

    .venv/bin/python benchmarks/orchestration.py --jobs 500 --parallel 8 --repeats 3
    .venv/bin/python benchmarks/orchestration.py --jobs 64 --parallel 8 --job-seconds 1 --repeats 3
    git worktree add /tmp/base <commit>; .venv/bin/python benchmarks/orchestration.py --baseline-src /tmp/base/src

``--baseline-src`` adds ``hyperjob@base``: the same measurement with hyperjob imported from another checkout's
``src`` (an earlier commit), in the same run.

On Ray (``pip install 'hyperjob[bench]'`` for Ray Tune), in the same run:

    .venv/bin/python benchmarks/orchestration.py --tools ray,raytune,raytune-reuse,bare --jobs 200 --repeats 1
    .venv/bin/python benchmarks/orchestration.py --tools ray,raytune,raytune-reuse,bare --jobs 64 --job-seconds 1

``ray`` is hyperjob's Ray executor (a tuning job with ``executor: {type: ray}``, 1 CPU per training job);
``raytune`` is Ray Tune (``tune.Tuner``, function trainables that run the same subprocess, ``reuse_actors=False``),
``raytune-reuse`` the same with ``reuse_actors=True``. Both start a private local cluster of P logical CPUs before
the clock starts (its start-up is printed apart, as "ray init", then 3 s for the worker processes Ray starts
after it), so P training jobs are in flight; their "all
CPU" adds the CPU time of the cluster's processes (sampled with psutil: RUSAGE_CHILDREN misses them).

Each measurement runs in a fresh process, alternating tools, so they see the same machine conditions.
"tuner CPU" is the measuring process's own user+system time (``RUSAGE_SELF``); "all CPU" adds its children's
(``RUSAGE_CHILDREN``: the training jobs, and hyperjob's supervisor process, which starts and waits for them);
"overhead CPU" is all CPU minus the bare pool's, per training job: what the tool costs beyond the jobs.
With ``--job-seconds S`` each job sleeps S seconds; efficiency = N * S / (P * wall).
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


def _program(job_s: float) -> list[str]:
    if not job_s:
        return NOOP
    return [sys.executable, "-S", "-c", f"import time; time.sleep({job_s}); print('loss=0.5')"]


def _cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_hyperjob(n_jobs: int, parallel: int, workdir: str, job_s: float) -> dict:
    import hyperjob

    cpu0, child0, t0 = _cpu_self(), _cpu_children(), time.perf_counter()
    result = hyperjob.tune(
        _program(job_s),
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
    return {"tool": "hyperjob", "jobs": done, "wall_s": wall, "cpu_s": cpu, "all_cpu_s": cpu + _cpu_children() - child0}


def run_bare(n_jobs: int, parallel: int, workdir: str, job_s: float) -> dict:
    """The floor: P threads that run the subprocess and read its output, nothing else."""
    import re
    from concurrent.futures import ThreadPoolExecutor

    pattern = re.compile(r"loss=([0-9.]+)")
    program = _program(job_s)

    def one(i: int) -> float:
        out = subprocess.run([*program, "--x", str(i)], capture_output=True, text=True, check=True).stdout
        return float(pattern.search(out).group(1))

    cpu0, child0, t0 = _cpu_self(), _cpu_children(), time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        values = list(pool.map(one, range(n_jobs)))
    wall, cpu = time.perf_counter() - t0, _cpu_self() - cpu0
    done = sum(1 for v in values if v == 0.5)
    return {"tool": "bare", "jobs": done, "wall_s": wall, "cpu_s": cpu, "all_cpu_s": cpu + _cpu_children() - child0}


def run_optuna(n_jobs: int, parallel: int, workdir: str, job_s: float) -> dict:
    import re

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pattern = re.compile(r"loss=([0-9.]+)")

    def objective(trial: "optuna.Trial") -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        out = subprocess.run([*program, "--x", str(x)], capture_output=True, text=True, check=True).stdout
        return float(pattern.search(out).group(1))

    program = _program(job_s)
    cpu0, child0, t0 = _cpu_self(), _cpu_children(), time.perf_counter()
    storage = f"sqlite:///{os.path.join(workdir, 'optuna.db')}"
    study = optuna.create_study(storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=n_jobs, n_jobs=parallel)
    wall, cpu = time.perf_counter() - t0, _cpu_self() - cpu0
    done = sum(1 for t in study.trials if t.value == 0.5)
    return {"tool": "optuna", "jobs": done, "wall_s": wall, "cpu_s": cpu, "all_cpu_s": cpu + _cpu_children() - child0}


class _TreeCpu:
    """CPU time of this process's descendants (Ray's gcs_server, raylet and workers, with the training jobs they
    waited for) between ``start`` and ``stop``: RUSAGE_CHILDREN counts only children that ended and were waited
    for, and Ray's processes are alive or killed. Sampled every 0.1 s, each process's last sample counts (one
    that ends loses at most 0.1 s)."""

    def __init__(self) -> None:
        import threading

        self._base: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _sample() -> dict[int, float]:
        import psutil

        out = {}
        for proc in psutil.Process().children(recursive=True):
            try:
                t = proc.cpu_times()
                out[proc.pid] = t.user + t.system + t.children_user + t.children_system
            except psutil.Error:
                pass
        return out

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self._last.update(self._sample())

    def start(self) -> "_TreeCpu":
        self._base = self._sample()
        self._last = dict(self._base)
        self._thread.start()
        return self

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self._last.update(self._sample())
        return sum(cpu - self._base.get(pid, 0.0) for pid, cpu in self._last.items())


def _ray_cluster(parallel: int) -> float:
    """Start a private local Ray cluster of ``parallel`` logical CPUs (127.0.0.1 only); its start-up time."""
    for key, value in {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled",
                       "RAY_USAGE_STATS_ENABLED": "0"}.items():
        os.environ.setdefault(key, value)
    t0 = time.perf_counter()
    import ray

    ray.init(address="local", num_cpus=parallel, include_dashboard=False, object_store_memory=256 * 2**20,
             logging_level="ERROR", log_to_driver=False)
    init_s = time.perf_counter() - t0
    time.sleep(SETTLE_S)  # Ray starts its idle worker processes after init: not in either tool's measurement
    return init_s


#: seconds between a Ray cluster's start and the clock, for its idle worker processes to start
SETTLE_S = 3.0


def run_ray(n_jobs: int, parallel: int, workdir: str, job_s: float) -> dict:
    """hyperjob's Ray executor: the tuning job of ``run_hyperjob`` with ``executor: {type: ray}``."""
    init_s = _ray_cluster(parallel)
    from hyperjob.formats.spec import TuningJobSpec
    from hyperjob.store import open_store
    from hyperjob.tuner.loop import Tuner
    from hyperjob.tuner.plan import TuningPlan

    tree = _TreeCpu().start()
    cpu0, child0, t0 = _cpu_self(), _cpu_children(), time.perf_counter()
    spec = TuningJobSpec.model_validate({
        "name": "noop", "program": {"command": _program(job_s)},
        "hyperparameter_ranges": {"x": {"type": "continuous", "min_value": 0.0, "max_value": 1.0}},
        "objective": {"metric": "loss", "type": "minimize"},
        "metric_definitions": [{"name": "loss", "regex": r"loss=([0-9.]+)"}],
        "strategy": {"name": "random"}, "random_seed": 0,
        "limits": {"max_jobs": n_jobs, "max_parallel_jobs": parallel},
        "executor": {"type": "ray"}, "resources": {"cpus": 1}, "output_dir": os.path.join(workdir, "runs"),
    })
    store = open_store(os.path.join(workdir, "hyperjob.db"))
    outcome = Tuner(TuningPlan.from_spec(spec), store).run()
    store.close()
    wall, cpu = time.perf_counter() - t0, _cpu_self() - cpu0
    done = sum(1 for r in outcome.training_jobs if r.status.value == "Completed" and r.final_objective == 0.5)
    return {"tool": "ray", "jobs": done, "wall_s": wall, "cpu_s": cpu,
            "all_cpu_s": cpu + _cpu_children() - child0 + tree.stop(), "init_s": init_s}


def run_raytune(n_jobs: int, parallel: int, workdir: str, job_s: float, reuse: bool = False) -> dict:
    """Ray Tune: function trainables that run the same subprocess and return its loss, P at once."""
    init_s = _ray_cluster(parallel)
    import re

    from ray import tune
    from ray.tune.search.basic_variant import BasicVariantGenerator

    pattern = re.compile(r"loss=([0-9.]+)")
    program = _program(job_s)

    def trainable(config: dict) -> dict:
        out = subprocess.run([*program, "--x", str(config["x"])], capture_output=True, text=True, check=True).stdout
        return {"loss": float(pattern.search(out).group(1))}

    tree = _TreeCpu().start()
    cpu0, child0, t0 = _cpu_self(), _cpu_children(), time.perf_counter()
    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": 1}),
        param_space={"x": tune.uniform(0.0, 1.0)},
        tune_config=tune.TuneConfig(num_samples=n_jobs, max_concurrent_trials=parallel, reuse_actors=reuse,
                                    search_alg=BasicVariantGenerator(random_state=0), metric="loss", mode="min"),
        run_config=tune.RunConfig(storage_path=os.path.join(workdir, "raytune"), verbose=0),
    )
    results = tuner.fit()
    wall, cpu = time.perf_counter() - t0, _cpu_self() - cpu0
    done = sum(1 for r in results if r.metrics and r.metrics.get("loss") == 0.5)
    return {"tool": "raytune-reuse" if reuse else "raytune", "jobs": done, "wall_s": wall, "cpu_s": cpu,
            "all_cpu_s": cpu + _cpu_children() - child0 + tree.stop(), "init_s": init_s}


def _child(tool: str, n_jobs: int, parallel: int, job_s: float) -> dict:
    with tempfile.TemporaryDirectory() as d:
        fn = {"hyperjob": run_hyperjob, "optuna": run_optuna, "bare": run_bare, "ray": run_ray,
              "raytune": run_raytune,
              "raytune-reuse": lambda *a: run_raytune(*a, reuse=True)}[tool]
        return fn(n_jobs, parallel, d, job_s)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=500)
    p.add_argument("--parallel", type=int, default=8)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--tools", default="hyperjob,optuna,bare")
    p.add_argument("--job-seconds", type=float, default=0.0, help="each training job sleeps this long")
    p.add_argument("--baseline-src", help="also measure hyperjob imported from this src folder (hyperjob@base)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        row = _child(args.child.split("@")[0], args.jobs, args.parallel, args.job_seconds)
        print(json.dumps({**row, "tool": args.child}))
        return
    tools = args.tools.split(",")
    if args.baseline_src:
        tools.insert(1, "hyperjob@base")
    rows: dict[str, list[dict]] = {t: [] for t in tools}
    for rep in range(args.repeats):
        for tool in tools if rep % 2 == 0 else reversed(tools):
            env = {**os.environ, "PYTHONPATH": os.path.abspath(args.baseline_src)} if tool.endswith("@base") else None
            out = subprocess.run(
                [sys.executable, __file__, "--child", tool, "--jobs", str(args.jobs), "--parallel", str(args.parallel),
                 "--job-seconds", str(args.job_seconds)],
                capture_output=True, text=True, env=env,
            )
            if out.returncode != 0:
                raise SystemExit(f"{tool} failed:\n{out.stderr[-3000:]}")
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows[tool].append(row)
            print(
                f"{tool:9s} run {rep + 1}: {row['jobs']} jobs in {row['wall_s']:.2f} s = "
                f"{row['jobs'] / row['wall_s']:.1f} jobs/s, tuner CPU {1000 * row['cpu_s'] / row['jobs']:.2f} ms/job"
                + (f", ray init {row['init_s']:.1f} s (not counted)" if "init_s" in row else ""),
                file=sys.stderr,
            )
    kind = f"training jobs of {args.job_seconds:g} s" if args.job_seconds else "no-op training jobs"
    print(f"\n{args.jobs} {kind}, {args.parallel} in parallel, SQLite, random strategy; median of {args.repeats} runs\n")
    print("| tool | training jobs / s | efficiency | tuner CPU ms / job | all CPU ms / job | overhead CPU ms / job "
          "| wall s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    med: dict[str, tuple[float, float, float]] = {}
    floor = statistics.median(1000 * r["all_cpu_s"] / r["jobs"] for r in rows["bare"]) if rows.get("bare") else None
    for tool, rs in rows.items():
        jps = statistics.median(r["jobs"] / r["wall_s"] for r in rs)
        cpu = statistics.median(1000 * r["cpu_s"] / r["jobs"] for r in rs)
        all_cpu = statistics.median(1000 * r["all_cpu_s"] / r["jobs"] for r in rs)
        wall = statistics.median(r["wall_s"] for r in rs)
        eff = statistics.median(r["jobs"] * args.job_seconds / (args.parallel * r["wall_s"]) for r in rs)
        over = all_cpu - floor if floor is not None else float("nan")
        med[tool] = (jps, cpu, over)
        print(f"| {tool} | {jps:.1f} | {eff:.3f} | {cpu:.2f} | {all_cpu:.2f} | {over:.2f} | {wall:.1f} |")
    if "hyperjob" in med and "optuna" in med:
        print(f"\nratio hyperjob/optuna: throughput {med['hyperjob'][0] / med['optuna'][0]:.2f}x, "
              f"overhead CPU per job {med['hyperjob'][2] / med['optuna'][2]:.2f}x")
    for peer in ("raytune", "raytune-reuse"):
        if "ray" in med and peer in med:
            print(f"ratio ray/{peer}: throughput {med['ray'][0] / med[peer][0]:.2f}x")
    if "hyperjob" in med and "hyperjob@base" in med:
        print(f"ratio hyperjob/hyperjob@base: throughput {med['hyperjob'][0] / med['hyperjob@base'][0]:.2f}x, "
              f"overhead CPU per job {med['hyperjob'][2] / med['hyperjob@base'][2]:.2f}x")


if __name__ == "__main__":
    main()
