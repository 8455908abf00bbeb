"""The dashboard at size, in Chromium, beside optuna-dashboard on a study of the same size in the same run.

A tuning job of ``--jobs`` training jobs with ``--values`` metric values each, and ``--tuning-jobs`` more small
tuning jobs for the list page, are written straight through the store API (SQLite); the same numbers of trials,
intermediate values and studies go to an Optuna journal file. Both dashboards run as their own server processes
(``hyperjob dashboard``, ``optuna-dashboard``); each page is opened ``--repeats`` times in a fresh browser context
(no cache) and timed from the navigation's start until it shows its data:

- hyperjob's tuning job page, in one navigation: **interactive** (``data-interactive``: the summary, progress,
  best training job, best so far (a plain canvas) and the training jobs table drawn, a frame painted), then
  **responds** (a click on the table's objective header sorts it: the time until the sorted mark shows, with
  the click sent at once), then **ready** (``data-ready``: plotly.js loaded, the history, learning curves and
  parallel coordinates drawn: the last plot); and separately until the importance plot is drawn;
- hyperjob's list page: its ``data-ready`` mark and every tuning job's link;
- optuna-dashboard: the study page's history plot has its points; the list page shows the last study's name.

Run:  .venv/bin/python benchmarks/dashboard.py --out benchmarks/results/dashboard.json
      (needs the bench extra: optuna-dashboard and playwright, and /usr/bin/chromium)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
RANGES = {
    "lr": {"type": "continuous", "min_value": 1e-4, "max_value": 0.1, "scaling": "logarithmic"},
    "layers": {"type": "integer", "min_value": 1, "max_value": 4},
    "optimizer": {"type": "categorical", "values": ["sgd", "adam"]},
}


def _config(rng: random.Random) -> dict:
    return {"lr": 10 ** rng.uniform(-4, -1), "layers": rng.randint(1, 4), "optimizer": rng.choice(["sgd", "adam"])}


def _curve(config: dict, n: int) -> list[float]:
    base = abs(math.log10(config["lr"]) + 2.5) + 0.1 * config["layers"] + (0.05 if config["optimizer"] == "sgd" else 0)
    return [base + 1.0 / (s + 1) for s in range(n)]


def fill_hyperjob(path: Path, jobs: int, values: int, tuning_jobs: int) -> float:
    from hyperjob.formats.spec import TuningJobSpec
    from hyperjob.records import MetricValue, Objective, TrainingJobStatus
    from hyperjob.store import open_store

    def spec(name: str, n: int) -> dict:
        return TuningJobSpec.from_json({
            "name": name, "program": {"command": ["python", "train.py"]}, "hyperparameter_ranges": RANGES,
            "objective": {"metric": "loss", "type": "minimize"}, "strategy": {"name": "random"},
            "metric_definitions": [{"name": "loss", "regex": "loss=([0-9.]+)"}],
            "limits": {"max_jobs": n, "max_parallel_jobs": 4}}).to_json()

    t0 = time.perf_counter()
    rng = random.Random(0)
    with open_store(path) as store:
        def add(name: str, n: int, k: int) -> None:
            store.create_tuning_job(name, spec(name, n), objective=Objective("loss", "minimize"))
            for _ in range(n):
                config = _config(rng)
                record = store.add_training_job(name, config)
                store.set_status(record.id, TrainingJobStatus.IN_PROGRESS)
                curve = _curve(config, k)
                now = time.time()
                store.append_metrics(record.id, [MetricValue("loss", v, s, now) for s, v in enumerate(curve)])
                store.set_status(record.id, TrainingJobStatus.COMPLETED, final_objective=curve[-1])
            store.set_tuning_job_status(name, "Completed", "MaxNumberOfTrainingJobs reached")

        add("big", jobs, values)
        for i in range(tuning_jobs):
            add(f"small-{i:04d}", 3, 3)
    return time.perf_counter() - t0


def fill_optuna(path: Path, jobs: int, values: int, studies: int) -> float:
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {"lr": FloatDistribution(1e-4, 0.1, log=True), "layers": IntDistribution(1, 4),
             "optimizer": CategoricalDistribution(["sgd", "adam"])}
    t0 = time.perf_counter()
    storage = JournalStorage(JournalFileBackend(str(path)))
    rng = random.Random(0)

    def add(name: str, n: int, k: int) -> None:
        study = optuna.create_study(storage=storage, study_name=name, direction="minimize")
        trials = []
        for _ in range(n):
            config = _config(rng)
            curve = _curve(config, k)
            trials.append(optuna.trial.create_trial(params=config, distributions=dists, value=curve[-1],
                                                    intermediate_values=dict(enumerate(curve))))
        study.add_trials(trials)

    add("big", jobs, values)
    for i in range(studies):
        add(f"small-{i:04d}", 3, 3)
    return time.perf_counter() - t0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(command: list[str], url: str) -> subprocess.Popen:
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{command[0]} did not answer at {url} in 120 s")


RESPONDS = "document.querySelector('[data-section=table] th.sorted-asc')"


def _timed(browser, url: str, condition: str, timeout_s: float = 120, *, then: bool = False) -> tuple[float, dict]:
    """Seconds from the navigation's start until ``condition`` (a JS expression) holds, in a fresh context, and
    the page's performance marks (hyperjob's stages: data, table, interactive, plotly, history, curves, parallel,
    importance). ``then``: after that, the table's third header is clicked (``responds`` is when it shows sorted)
    and the page waits for ``data-ready`` (``ready``)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(url, wait_until="commit")
        page.wait_for_function(condition, timeout=timeout_s * 1000, polling=20)
        seconds = page.evaluate("performance.now()") / 1000.0
        extra = {}
        if then:
            page.click("[data-section=table] th:nth-child(3)", timeout=timeout_s * 1000)
            page.wait_for_function(RESPONDS, timeout=timeout_s * 1000, polling=20)
            extra["responds"] = page.evaluate("performance.now()") / 1000.0
            page.wait_for_function("Number(document.body.dataset.ready||0)>=1", timeout=timeout_s * 1000, polling=20)
            extra["ready"] = page.evaluate("performance.now()") / 1000.0
        marks = page.evaluate("Object.fromEntries(performance.getEntriesByType('mark').map(m => [m.name, m.startTime / 1000]))")
        return seconds, {**marks, **extra}
    finally:
        context.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=10_000)
    ap.add_argument("--values", type=int, default=50)
    ap.add_argument("--tuning-jobs", type=int, default=1_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-optuna", action="store_true", help="Skip optuna-dashboard.")
    ap.add_argument("--only", default=None, help="Only the pages whose label holds this text.")
    ap.add_argument("--timeout", type=float, default=120.0, help="Seconds a page may take before it counts as failed.")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--data", type=Path, default=None,
                    help="Folder for the filled store and journal; kept, and reused when they are there (same sizes).")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    work = args.data or Path(tempfile.mkdtemp(prefix="hj-dash-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    result: dict = {"jobs": args.jobs, "values": args.values, "tuning_jobs": args.tuning_jobs, "repeats": args.repeats}
    if not (work / "hj.db").exists():
        result["fill_hyperjob_s"] = fill_hyperjob(work / "hj.db", args.jobs, args.values, args.tuning_jobs)
        print(f"hyperjob store filled in {result['fill_hyperjob_s']:.1f} s", flush=True)
    if not args.no_optuna and not (work / "optuna.log").exists():
        result["fill_optuna_s"] = fill_optuna(work / "optuna.log", args.jobs, args.values, args.tuning_jobs)
        print(f"optuna journal filled in {result['fill_optuna_s']:.1f} s", flush=True)
    load_start = os.getloadavg()[0]
    print(f"load average (1 min): {load_start:.1f} on {os.cpu_count()} cores", flush=True)
    servers = []
    hj_port = _free_port()
    servers.append(_serve([sys.executable, "-m", "hyperjob", "dashboard", "--store", str(work / "hj.db"),
                           "--port", str(hj_port)], f"http://127.0.0.1:{hj_port}/"))
    pages = {
        "hyperjob job page (interactive; then responds, ready)": (
            f"http://127.0.0.1:{hj_port}/jobs/big", "document.body.dataset.interactive==='1'"),
        "hyperjob job page (importance drawn)": (
            f"http://127.0.0.1:{hj_port}/jobs/big",
            "Number((document.querySelector('[data-plot=importance]')||{dataset:{}}).dataset.points||0)>=1"),
        "hyperjob list page": (f"http://127.0.0.1:{hj_port}/", "Number(document.body.dataset.ready||0)>=1"
                               f" && document.querySelectorAll('[data-role=job-link]').length>={min(args.tuning_jobs + 1, 2000)}"),
    }
    if not args.no_optuna:
        op_port = _free_port()
        exe = Path(sys.executable).with_name("optuna-dashboard")
        servers.append(_serve([str(exe), str(work / "optuna.log"), "--port", str(op_port), "--host", "127.0.0.1"],
                              f"http://127.0.0.1:{op_port}/dashboard"))
        pages["optuna-dashboard study page (history drawn)"] = (
            f"http://127.0.0.1:{op_port}/dashboard/studies/0",
            "[...document.querySelectorAll('.js-plotly-plot')].some(p => p.data && p.data.some(t => (t.x||[]).length>0))")
        pages["optuna-dashboard list page"] = (
            f"http://127.0.0.1:{op_port}/dashboard",
            f"document.body.innerText.includes('small-{args.tuning_jobs - 1:04d}')")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            timings: dict = {}
            for label, (url, cond) in pages.items():
                if args.only and args.only not in label:
                    continue
                try:
                    runs = [_timed(browser, url, cond, args.timeout, then="interactive" in label)
                            for _ in range(args.repeats)]
                except Exception as exc:  # noqa: BLE001 - one page failing does not lose the others' numbers
                    timings[label] = {"error": str(exc).splitlines()[0]}
                    print(f"{label}: FAILED {timings[label]['error']}", flush=True)
                    continue
                times = [t for t, _ in runs]
                marks = {k: statistics.median(m.get(k, math.nan) for _, m in runs) for k in runs[0][1]}
                timings[label] = {"first_s": times[0], "median_s": statistics.median(times), "all_s": times,
                                  "marks_median_s": marks}
                print(f"{label}: median {statistics.median(times):.2f} s (runs: "
                      f"{', '.join(f'{t:.2f}' for t in times)})"
                      + (f"; stages {', '.join(f'{k} {v:.2f}' for k, v in marks.items())}" if marks else ""), flush=True)
            browser.close()
    finally:
        for s in servers:
            s.terminate()
            s.wait(30)
    result["pages"] = timings
    result["machine"] = f"{os.cpu_count()} cores; other work shared them"
    result["load_average_1min_start_end"] = [load_start, os.getloadavg()[0]]
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
