"""The Ray executor on a real local cluster of two nodes (tests/conftest.py ``ray_cluster``, one per session):
placement by resources, a node killed under a running training job (Failed "node lost", run again by the retry
policy, the tuning job completes), stop, and a tuner killed with SIGKILL whose training jobs a resume finds
again on the cluster (none launched twice)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hyperjob.errors import ExecutorError
from hyperjob.executors.base import Ended, LaunchRequest, Program, Started
from hyperjob.records import TrainingJobStatus, TuningJobStatus

ray = pytest.importorskip("ray", reason="pip install 'hyperjob[ray]'")

# records each start (job, attempt, pid), reports a loss for --steps steps of 0.1 s, then waits for --hold
TRAIN = """
import argparse, os, time
from hyperjob import report
p = argparse.ArgumentParser()
p.add_argument("--x", type=float); p.add_argument("--steps", type=int); p.add_argument("--starts")
p.add_argument("--hold", default="")
args = p.parse_args()
name = f"{os.environ['HYPERJOB_TRAINING_JOB_NAME']}.{os.environ['HYPERJOB_ATTEMPT']}.{os.getpid()}"
open(os.path.join(args.starts, name), "w").close()
for step in range(args.steps):
    report(step=step, loss=args.x + 1.0 / (step + 1))
    time.sleep(0.1)
while args.hold and not os.path.exists(args.hold):  # held until the test lets it end
    time.sleep(0.05)
print(f"loss={args.x}")
"""


def _spec(tmp_path: Path, name: str, **extra: Any) -> dict[str, Any]:
    (tmp_path / "train.py").write_text(textwrap.dedent(TRAIN))
    starts = tmp_path / "starts"
    starts.mkdir(exist_ok=True)
    spec = {
        "name": name, "program": {"command": ["python", str(tmp_path / "train.py")]},
        "static_hyperparameters": {"steps": 10, "starts": str(starts)},
        "hyperparameter_ranges": {"x": {"min_value": 0, "max_value": 1}},
        "objective": {"metric": "loss", "type": "minimize"},
        "strategy": {"name": "random"}, "random_seed": 0, "output_dir": str(tmp_path / "runs"),
        "limits": {"max_jobs": 2, "max_parallel_jobs": 1},
    }
    for key, value in extra.items():
        spec[key] = {**spec[key], **value} if isinstance(spec.get(key), dict) else value
    return spec


def _starts(tmp_path: Path) -> list[tuple[str, int, int]]:
    out = []
    for f in (tmp_path / "starts").iterdir():
        job, attempt, pid = f.name.rsplit(".", 2)
        out.append((job, int(attempt), int(pid)))
    return sorted(out)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _wait(what: str, check, timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s} s"
        time.sleep(0.05)


def test_jobs_are_placed_by_their_resources(ray_cluster: Any, tmp_path: Path) -> None:
    from hyperjob.executors.ray import RayExecutor

    script = tmp_path / "hold.py"
    script.write_text(textwrap.dedent("""
        import os, sys, time
        go = sys.argv[sys.argv.index("--go") + 1]
        print("gpus=" + os.environ.get("CUDA_VISIBLE_DEVICES", "none"), "sm=" + os.environ["SM_NUM_GPUS"], flush=True)
        while not os.path.exists(go):
            time.sleep(0.02)
    """))
    go = tmp_path / "go"
    program = Program(command=("python", str(script)))
    # half a GPU each, on the node that has the 'worker' resource (and the only GPU): two fit at once
    executor = RayExecutor(cpus=0.5, gpus=0.5, custom={"worker": 0.1})
    events: list = []
    try:
        for i in range(3):
            executor.launch(LaunchRequest(f"g{i}", {"go": str(go)}, tmp_path / f"g{i}", program))
        _wait("two jobs started", lambda: (events.extend(executor.poll()) or
                                           sum(isinstance(e, Started) for e in events) >= 2))
        time.sleep(1.0)
        events += executor.poll()
        assert sum(isinstance(e, Started) for e in events) == 2  # the third waits: one GPU, two halves
        nodes = {ray.get(executor._running[e.training_job_id].runner.hello.remote())["node_id"]
                 for e in events if isinstance(e, Started)}
        assert nodes == {ray_cluster.worker.node_id}
        go.write_text("")
        _wait("all ended", lambda: (events.extend(executor.poll()) or
                                    sum(isinstance(e, Ended) for e in events) >= 3))
    finally:
        executor.shutdown()
    ends = [e for e in events if isinstance(e, Ended)]
    assert [e.status for e in ends] == [TrainingJobStatus.COMPLETED] * 3
    for i in range(3):
        assert (tmp_path / f"g{i}" / "train.log").read_text().split() == ["gpus=0", "sm=1"]
    with pytest.raises(ExecutorError, match=r"no node of the Ray cluster can hold a training job that needs CPU=1, "
                                            r"tpu=1 \(nodes: .*\)\. Lower resources"):
        RayExecutor(custom={"tpu": 1}).launch(LaunchRequest("t", {}, tmp_path / "t", program))


def test_a_lost_node_fails_its_training_job_and_the_retry_runs_it_on_another(ray_cluster: Any, tmp_path: Path) -> None:
    from hyperjob.formats.spec import TuningJobSpec
    from hyperjob.store import open_store
    from hyperjob.tuner.loop import Tuner
    from hyperjob.tuner.plan import TuningPlan

    cluster = ray_cluster.cluster

    @ray.remote(num_cpus=0, resources={"spot": 1})
    class Blocker:  # holds the worker node's spot while the first attempt runs, so that it runs on the doomed node
        def ready(self) -> bool:
            return True

    blocker = Blocker.remote()
    ray.get(blocker.ready.remote(), timeout=30)
    doomed = cluster.add_node(num_cpus=1, resources={"spot": 1}, object_store_memory=ray_cluster.object_store_memory)
    spec = TuningJobSpec.model_validate(_spec(
        tmp_path, "lost", executor={"type": "ray"}, resources={"cpus": 0.5, "custom": {"spot": 1}},
        retry={"max_retry_attempts": 1}, static_hyperparameters={"steps": 5, "hold": str(tmp_path / "go")}))
    store = open_store(str(tmp_path / "hj.db"))
    result: dict[str, Any] = {}
    tuner = Tuner(TuningPlan.from_spec(spec), store)
    thread = threading.Thread(target=lambda: result.update(outcome=tuner.run()), daemon=True)
    try:
        cluster.wait_for_nodes()
        thread.start()
        first = _wait("the first training job runs on the doomed node", lambda: _starts(tmp_path))
        cluster.remove_node(doomed, allow_graceful=False)  # SIGKILL of the node's processes
        ray.kill(blocker)  # the worker node's spot is free: the retry runs there
        lost_id = first[0][0]
        _wait("the lost training job runs again", lambda: any(j == lost_id and a == 1 for j, a, _ in _starts(tmp_path)))
        (tmp_path / "go").write_text("")
        thread.join(60)
        assert not thread.is_alive(), "the tuning job did not end"
        jobs = {r.id: r for r in store.list_training_jobs("lost")}
    finally:
        if thread.is_alive():
            tuner.request_stop("test over")
            thread.join(30)
        store.close()
        ray.kill(blocker)
    outcome = result["outcome"]
    assert outcome.status is TuningJobStatus.COMPLETED, outcome.reason
    lost_id, lost_attempt, lost_pid = first[0]
    lost = jobs[lost_id]
    assert lost.status is TrainingJobStatus.COMPLETED and lost.attempt == 1
    assert lost.extra["retries"] == 1 and lost.extra["retried_after"].startswith("node lost: the Ray node")
    assert (lost_id, 0, lost_pid) in _starts(tmp_path) and not _alive(lost_pid)  # it died with its node
    assert sorted((j, a) for j, a, _ in _starts(tmp_path)) == sorted([(lost_id, 0), (lost_id, 1)] + [
        (j, 0) for j in jobs if j != lost_id])
    assert all(r.status is TrainingJobStatus.COMPLETED for r in jobs.values())


def test_stop_ends_the_tuning_job_and_its_processes_on_the_cluster(ray_cluster: Any, tmp_path: Path) -> None:
    from hyperjob.formats.spec import TuningJobSpec
    from hyperjob.store import open_store
    from hyperjob.tuner.loop import Tuner
    from hyperjob.tuner.plan import TuningPlan

    spec = TuningJobSpec.model_validate(_spec(
        tmp_path, "stopped", executor={"type": "ray"}, resources={"cpus": 0.5},
        static_hyperparameters={"steps": 600}, limits={"max_jobs": 4, "max_parallel_jobs": 2}))
    store = open_store(str(tmp_path / "hj.db"))
    result: dict[str, Any] = {}
    tuner = Tuner(TuningPlan.from_spec(spec), store)
    thread = threading.Thread(target=lambda: result.update(outcome=tuner.run()), daemon=True)
    thread.start()
    try:
        started = _wait("two training jobs run", lambda: len(_starts(tmp_path)) >= 2 and _starts(tmp_path))
        store.set_tuning_job_status("stopped", TuningJobStatus.STOPPING, "Stop requested by `hyperjob stop`")
        thread.join(30)
        assert not thread.is_alive()
        jobs = store.list_training_jobs("stopped")
    finally:
        store.close()
    assert result["outcome"].status is TuningJobStatus.STOPPED
    assert [r.status for r in jobs] == [TrainingJobStatus.STOPPED] * 2
    assert not any(_alive(pid) for _, _, pid in started)


def _hj(*args: str, **kw: Any) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hyperjob.cli.app", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kw)


def test_resume_after_a_tuner_crash_finds_its_training_jobs_on_the_cluster(ray_cluster: Any, tmp_path: Path) -> None:
    """A real tuner process on the cluster (``--executor ray --ray-address``) killed with SIGKILL while its training
    jobs run; the resume (from the spec the store kept, which names the cluster) reattaches them."""
    spec = _spec(tmp_path, "crash", static_hyperparameters={"steps": 20, "hold": str(tmp_path / "go")},
                 resources={"cpus": 0.5},
                 limits={"max_jobs": 3, "max_parallel_jobs": 2})
    (tmp_path / "job.json").write_text(json.dumps(spec))
    db = str(tmp_path / "hj.db")
    tuner = _hj("tune", str(tmp_path / "job.json"), "--store", db, "--quiet", "--executor", "ray",
                "--ray-address", ray_cluster.address)
    try:
        _wait("two training jobs run", lambda: len(_starts(tmp_path)) >= 2 or tuner.poll() is not None, 60)
        assert tuner.poll() is None, tuner.communicate()[0]
    finally:
        tuner.send_signal(signal.SIGKILL)
        tuner.communicate()
    before = _starts(tmp_path)
    assert all(_alive(pid) for _, _, pid in before)  # on the cluster, the jobs outlive their tuner
    (tmp_path / "go").write_text("")  # from now on they end: each is reattached or, if it ended first, adopted
    from hyperjob.formats.spec import TuningJobSpec
    from hyperjob.store import open_store
    from hyperjob.tuner.loop import Tuner, TunerListener
    from hyperjob.tuner.plan import TuningPlan

    found: dict[str, Any] = {}

    class Listener(TunerListener):
        def on_recovered(self, recovered: dict) -> None:
            found.update(recovered)

    store = open_store(db)
    try:  # the resume, as `hyperjob resume crash` runs it: the spec kept in the store names the cluster
        spec_kept = store.get_tuning_job("crash").spec
        outcome = Tuner(TuningPlan.from_spec(TuningJobSpec.from_json(spec_kept)), store,
                        listener=Listener()).run(resume=True)
        jobs = store.list_training_jobs("crash")
    finally:
        store.close()
    assert spec_kept["executor"] == {"type": "ray", "address": ray_cluster.address}
    assert outcome.status is TuningJobStatus.COMPLETED, outcome.reason
    assert {j for j, _, _ in before} <= set(found) and {v.value for v in found.values()} <= {"reattached", "adopted"}
    assert [r.status for r in jobs] == [TrainingJobStatus.COMPLETED] * 3
    assert all(r.attempt == 0 and r.final_objective is not None for r in jobs)
    after = _starts(tmp_path)
    assert set(before) <= set(after)
    assert sorted(j for j, _, _ in after) == sorted(r.id for r in jobs)  # each training job started once
    for job_id, _, _ in before:  # their values from before the crash and after it: all 40 steps, once each
        steps = [json.loads(line)["step"] for line in (tmp_path / "runs" / "crash" / job_id / "metrics.jsonl")
                 .read_text().splitlines()]
        assert steps == list(range(20))


def test_jobs_launched_together_share_one_runner(ray_cluster: Any, tmp_path: Path) -> None:
    """Three jobs of half a CPU launched together start on one runner (one Ray worker process, not three), each
    its own process; a job launched after they ended reuses a free slot of that runner."""
    from hyperjob.executors.ray import RayExecutor

    script = tmp_path / "hold.py"
    script.write_text("import os, sys, time\ngo = sys.argv[sys.argv.index('--go') + 1]\n"
                      "while not os.path.exists(go):\n    time.sleep(0.02)\nprint('loss=1')\n")
    go = tmp_path / "go"
    program = Program(command=("python", str(script)))
    executor = RayExecutor(cpus=0.5)
    events: list = []
    try:
        for i in range(3):
            executor.launch(LaunchRequest(f"s{i}", {"go": str(go)}, tmp_path / f"s{i}", program))
        _wait("three jobs started", lambda: (events.extend(executor.poll()) or
                                             sum(isinstance(e, Started) for e in events) >= 3))
        runners = {executor._running[f"s{i}"].runner_name for i in range(3)}
        pids = {e.pid for e in events if isinstance(e, Started)}
        assert len(runners) == 1 and len(pids) == 3
        assert ray.get(executor._running["s0"].runner.hello.remote())["slots"] == 3
        go.write_text("")
        _wait("all ended", lambda: (events.extend(executor.poll()) or
                                    sum(isinstance(e, Ended) for e in events) >= 3))
        executor.launch(LaunchRequest("s3", {"go": str(go)}, tmp_path / "s3", program))
        assert executor._running["s3"].runner_name in runners  # a free slot, no new runner
        _wait("the fourth ended", lambda: (events.extend(executor.poll()) or
                                           sum(isinstance(e, Ended) for e in events) >= 4))
    finally:
        executor.shutdown()
    assert [e.status for e in events if isinstance(e, Ended)] == [TrainingJobStatus.COMPLETED] * 4


def test_hyperjob_tune_runs_on_ray_with_executor_and_resources(ray_cluster: Any, tmp_path: Path) -> None:
    """``hyperjob.tune(command, ..., executor="ray", resources=...)``: the spec the store keeps names the executor,
    and the training jobs run in Ray runner processes."""
    import hyperjob
    from hyperjob.store import open_store

    script = tmp_path / "where.py"
    script.write_text("import os, sys\nx = float(sys.argv[sys.argv.index('--x') + 1])\n"
                      "print('parent=' + open(f'/proc/{os.getppid()}/cmdline').read().split(chr(0))[0])\n"
                      "print(f'loss={x}')\n")
    result = hyperjob.tune(["python", str(script)], {"x": {"type": "continuous", "min_value": 0, "max_value": 1}},
                           objective="loss", metric_definitions={"loss": r"loss=([0-9.]+)"}, strategy="random",
                           max_jobs=2, max_parallel_jobs=2, seed=0, name="api-ray", output_dir=str(tmp_path),
                           executor="ray", resources={"cpus": 0.5, "custom": {"worker": 0.1}})
    assert result.status == "Completed" and len(result.jobs) == 2
    store = open_store(str(tmp_path / "hyperjob.db"))
    try:
        spec = store.get_tuning_job("api-ray").spec
    finally:
        store.close()
    assert spec["executor"]["type"] == "ray" and spec["resources"]["custom"] == {"worker": 0.1}
    for job in result.jobs:
        assert (tmp_path / "api-ray" / job["name"] / "train.log").read_text().startswith("parent=ray::Runner")
