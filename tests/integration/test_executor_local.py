"""The local executor with real subprocesses: arguments, environment, metrics, exits, stops, orphans."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from hyperjob.errors import ExecutorError, SpecError
from hyperjob.executors.base import (
    Ended,
    Executor,
    ExecutorEvent,
    LaunchRequest,
    MetricDefinition,
    MetricsReported,
    Program,
    Started,
)
from hyperjob.executors.local import LocalExecutor
from hyperjob.records import TrainingJobStatus

PY = sys.executable
LOSS = MetricDefinition("loss", r"loss: ([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)")


def _script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return str(path)


def _req(tmp_path: Path, job_id: str, command: tuple[str, ...], **kw: Any) -> LaunchRequest:
    program = Program(command=command, working_dir=kw.pop("working_dir", None), env=kw.pop("env", {}),
                      channels=kw.pop("channels", {}))
    return LaunchRequest(
        training_job_id=job_id,
        hyperparameters=kw.pop("hyperparameters", {}),
        job_dir=tmp_path / "runs" / job_id,
        program=program,
        metric_definitions=kw.pop("metric_definitions", (LOSS,)),
        objective_metric="loss",
        **kw,
    )


def _drain(ex: LocalExecutor, ids: set[str], timeout_s: float = 20.0) -> list[ExecutorEvent]:
    events: list[ExecutorEvent] = []
    ended: set[str] = set()
    deadline = time.monotonic() + timeout_s
    while ended != ids:
        assert time.monotonic() < deadline, f"jobs did not end in {timeout_s} s; events: {events}"
        new = ex.poll()
        events += new
        ended |= {e.training_job_id for e in new if isinstance(e, Ended)}
        if not new:
            time.sleep(0.005)
    return events


def _wait_for(ex: LocalExecutor, predicate, timeout_s: float = 20.0) -> list[ExecutorEvent]:
    events: list[ExecutorEvent] = []
    deadline = time.monotonic() + timeout_s
    while not predicate(events):
        assert time.monotonic() < deadline, f"condition not met in {timeout_s} s; events: {events}"
        new = ex.poll()
        events += new
        if not new:
            time.sleep(0.005)
    return events


def _ended(events: list[ExecutorEvent], job_id: str) -> Ended:
    (end,) = [e for e in events if isinstance(e, Ended) and e.training_job_id == job_id]
    return end


def _values(events: list[ExecutorEvent], job_id: str) -> list[tuple[str, float, int]]:
    return [(v.name, v.value, v.step) for e in events
            if isinstance(e, MetricsReported) and e.training_job_id == job_id for v in e.values]


def _alive(pid: int) -> bool:
    """True if the process exists and is not a zombie (PID 1 here may not reap orphans)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def ex():
    executor = LocalExecutor()
    yield executor
    executor.shutdown()


def test_is_an_executor() -> None:
    assert isinstance(LocalExecutor(), Executor)


def test_arguments_environment_and_working_dir(tmp_path: Path, ex: LocalExecutor) -> None:
    (tmp_path / "data").mkdir()
    script = _script(tmp_path, "show.py", """
        import json, os, sys
        keep = {k: v for k, v in os.environ.items() if k.startswith(("HYPERJOB_", "SM_")) or k in
                ("TRAINING_JOB_NAME", "OMP_NUM_THREADS", "PYTHONUNBUFFERED", "MINE")}
        json.dump({"argv": sys.argv[1:], "cwd": os.getcwd(), "env": keep},
                  open(os.path.join(os.environ["SM_MODEL_DIR"], "seen.json"), "w"))
    """)
    hps = {"lr": 1e-05, "optimizer": "adam w", "use-amp": True, "layers": [8, 4], "sagemaker_program": "show.py"}
    ex.launch(_req(tmp_path, "tj-1", (PY, script), hyperparameters=hps, working_dir=str(tmp_path),
                   env={"MINE": "yes"}, channels={"train": "data"}))
    events = _drain(ex, {"tj-1"})
    assert _ended(events, "tj-1").status is TrainingJobStatus.COMPLETED
    job_dir = tmp_path / "runs" / "tj-1"
    seen = json.loads((job_dir / "model" / "seen.json").read_text())
    assert seen["argv"] == ["--layers", "[8, 4]", "--lr", "1e-05", "--optimizer", "adam w", "--use-amp", "True"]
    assert seen["cwd"] == str(tmp_path)
    env = seen["env"]
    assert env["MINE"] == "yes" and env["OMP_NUM_THREADS"] == "1" and env["PYTHONUNBUFFERED"] == "1"
    assert env["HYPERJOB_TRAINING_JOB_NAME"] == "tj-1" == env["TRAINING_JOB_NAME"]
    assert json.loads(Path(env["HYPERJOB_HYPERPARAMETERS"]).read_text())["optimizer"] == "adam w"
    assert env["HYPERJOB_METRICS_FILE"] == str(job_dir / "metrics.jsonl")
    assert env["HYPERJOB_CHANNEL_TRAIN"] == env["SM_CHANNEL_TRAIN"] == str(tmp_path / "data")
    assert json.loads(env["SM_HOSTS"]) == ["algo-1"] and env["SM_CURRENT_HOST"] == "algo-1"
    assert env["SM_NUM_GPUS"] == "0" and json.loads(env["SM_HPS"])["use-amp"] is True
    assert env["SM_HP_LR"] == "1e-05" and env["SM_MODULE_NAME"] == "show"
    assert (job_dir / "train.log").exists() and (job_dir / "input/config/hyperparameters.json").exists()


def test_a_strict_sagemaker_script_runs_unchanged(tmp_path: Path, ex: LocalExecutor) -> None:
    # the shape of the PyTorch MNIST example of the SageMaker SDK (request 10 of the corpus)
    script = _script(tmp_path, "mnist.py", """
        import argparse, json, os
        parser = argparse.ArgumentParser()
        parser.add_argument("--batch-size", type=int, default=64)
        parser.add_argument("--epochs", type=int, default=10)
        parser.add_argument("--lr", type=float, default=0.01)
        parser.add_argument("--backend", type=str, default=None)
        parser.add_argument("--hosts", type=list, default=json.loads(os.environ["SM_HOSTS"]))
        parser.add_argument("--current-host", type=str, default=os.environ["SM_CURRENT_HOST"])
        parser.add_argument("--model-dir", type=str, default=os.environ["SM_MODEL_DIR"])
        parser.add_argument("--data-dir", type=str, default=os.environ["SM_CHANNEL_TRAINING"])
        parser.add_argument("--num-gpus", type=int, default=os.environ["SM_NUM_GPUS"])
        args = parser.parse_args()
        for epoch in range(args.epochs):
            print(f"Test set: Average loss: {args.lr * (epoch + 1):.4f}, Accuracy: 9000/10000 (90%)")
        open(os.path.join(args.model_dir, "model.pth"), "w").write(str(args.batch_size))
    """)
    hps = {"epochs": 2, "backend": "gloo", "lr": 0.05, "batch-size": 128, "sagemaker_program": "mnist.py",
           "sagemaker_submit_directory": "s3://bucket/source/sourcedir.tar.gz", "sagemaker_region": "us-west-2"}
    mdef = MetricDefinition("average test loss", r"Test set: Average loss: ([0-9\.]+)")
    ex.launch(_req(tmp_path, "mnist", (PY, script), hyperparameters=hps, metric_definitions=(mdef,),
                   channels={"training": str(tmp_path)}))
    events = _drain(ex, {"mnist"})
    assert _ended(events, "mnist").status is TrainingJobStatus.COMPLETED, _ended(events, "mnist").reason
    assert _values(events, "mnist") == [("average test loss", 0.05, 0), ("average test loss", 0.1, 1)]
    assert (tmp_path / "runs" / "mnist" / "model" / "model.pth").read_text() == "128"


def test_metric_arrives_while_the_job_runs(tmp_path: Path, ex: LocalExecutor) -> None:
    code = "import time; print('epoch 0 loss: -1.5e-3'); time.sleep(60)"
    ex.launch(_req(tmp_path, "slow", (PY, "-c", code), grace_period_s=1))
    events = _wait_for(ex, lambda evs: any(isinstance(e, MetricsReported) for e in evs))
    assert not any(isinstance(e, Ended) for e in events)
    assert _values(events, "slow") == [("loss", -1.5e-3, 0)]
    assert ex.running == ["slow"]
    ex.stop("slow")
    assert _ended(_drain(ex, {"slow"}), "slow").status is TrainingJobStatus.STOPPED


def test_report_metrics_from_a_subprocess_and_last_line_without_newline(tmp_path: Path, ex: LocalExecutor) -> None:
    code = (
        "from hyperjob import report\n"
        "report(step=0, acc=0.5)\n"
        "report(step=1, acc=0.75, loss=0.3)\n"
        "print('final loss: 0.125', end='')\n"
    )
    ex.launch(_req(tmp_path, "rep", (PY, "-c", code)))
    events = _drain(ex, {"rep"})
    values = _values(events, "rep")
    assert sorted(values) == sorted([("acc", 0.5, 0), ("acc", 0.75, 1), ("loss", 0.3, 1), ("loss", 0.125, 0)])
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "Started" and kinds[-1] == "Ended" and "MetricsReported" in kinds


def test_exit_codes_and_the_log_tail_in_the_reason(tmp_path: Path, ex: LocalExecutor) -> None:
    fail = "import sys\nfor i in range(30): print(f'line {i}')\nsys.exit(3)"
    crash = "import os, signal; print('about to crash'); os.kill(os.getpid(), signal.SIGSEGV)"
    ex.launch(_req(tmp_path, "ok", (PY, "-c", "print('loss: 1')")))
    ex.launch(_req(tmp_path, "fail", (PY, "-c", fail)))
    ex.launch(_req(tmp_path, "crash", (PY, "-c", crash)))
    events = _drain(ex, {"ok", "fail", "crash"})
    ok, failed, crashed = (_ended(events, j) for j in ("ok", "fail", "crash"))
    assert (ok.status, ok.exit_code, ok.reason) == (TrainingJobStatus.COMPLETED, 0, None)
    assert failed.status is TrainingJobStatus.FAILED and failed.exit_code == 3
    assert failed.reason is not None and failed.reason.startswith("exited with code 3.")
    assert "line 29" in failed.reason and "line 10" in failed.reason and "line 9\n" not in failed.reason
    assert crashed.status is TrainingJobStatus.FAILED and crashed.exit_code == -11
    assert "killed by SIGSEGV" in (crashed.reason or "") and "about to crash" in (crashed.reason or "")


def test_sagemaker_failure_file_leads_the_reason(tmp_path: Path, ex: LocalExecutor) -> None:
    code = ("import os, sys\nopen(os.path.join(os.environ['SM_OUTPUT_DIR'], 'failure'), 'w')"
            ".write('ValueError: bad data')\nsys.exit(1)")
    ex.launch(_req(tmp_path, "f", (PY, "-c", code)))
    end = _ended(_drain(ex, {"f"}), "f")
    assert (end.reason or "").startswith("ValueError: bad data\nexited with code 1")


def test_timeout_stops_and_fails(tmp_path: Path, ex: LocalExecutor) -> None:
    t0 = time.monotonic()
    ex.launch(_req(tmp_path, "t", (PY, "-c", "import time; print('start'); time.sleep(60)"), timeout_s=0.5,
                   grace_period_s=2))
    end = _ended(_drain(ex, {"t"}), "t")
    assert end.status is TrainingJobStatus.FAILED
    assert (end.reason or "").startswith("timed out after 0.5 s")
    assert 0.5 <= time.monotonic() - t0 < 10


def test_sigterm_trapped_exits_cleanly_and_ignored_gets_sigkill(tmp_path: Path, ex: LocalExecutor) -> None:
    trap = _script(tmp_path, "trap.py", """
        import signal, sys, time
        def bye(signum, frame):
            print("got SIGTERM, saving", flush=True)
            sys.exit(0)
        signal.signal(signal.SIGTERM, bye)
        print("ready", flush=True)
        time.sleep(60)
    """)
    ignore = _script(tmp_path, "ignore.py", """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ready", flush=True)
        time.sleep(60)
    """)
    ready = MetricDefinition("loss", r"(ready)")  # never a number: only the log matters here
    ex.launch(_req(tmp_path, "trap", (PY, trap), grace_period_s=30, metric_definitions=(ready,)))
    ex.launch(_req(tmp_path, "ignore", (PY, ignore), grace_period_s=0.5, metric_definitions=(ready,)))
    log = {j: tmp_path / "runs" / j / "train.log" for j in ("trap", "ignore")}
    deadline = time.monotonic() + 20
    while not all(p.exists() and "ready" in p.read_text() for p in log.values()):  # the supervisor makes the log
        assert time.monotonic() < deadline
        ex.poll()
        time.sleep(0.01)
    t0 = time.monotonic()
    ex.stop("trap")
    ex.stop("ignore")
    events = _drain(ex, {"trap", "ignore"})
    trapped, ignored = _ended(events, "trap"), _ended(events, "ignore")
    assert trapped.status is TrainingJobStatus.STOPPED and trapped.exit_code == 0
    assert "SIGTERM" in (trapped.reason or "") and "got SIGTERM, saving" in log["trap"].read_text()
    assert ignored.status is TrainingJobStatus.STOPPED and ignored.exit_code == -9
    assert "SIGKILL after the grace period" in (ignored.reason or "")
    assert 0.5 <= time.monotonic() - t0 < 15  # far less than the trapping job's 30 s grace


def test_stop_kills_the_whole_process_group(tmp_path: Path, ex: LocalExecutor) -> None:
    script = _script(tmp_path, "spawn.py", """
        import os, subprocess, sys, time
        child = subprocess.Popen(["sleep", "60"])
        open(sys.argv[1], "w").write(str(child.pid))
        print("ready", flush=True)
        time.sleep(60)
    """)
    pid_file = tmp_path / "child.pid"
    ex.launch(_req(tmp_path, "grp", (PY, script, str(pid_file)), grace_period_s=2))
    started = _wait_for(ex, lambda evs: any(isinstance(e, Started) for e in evs))
    leader = next(e.pid for e in started if isinstance(e, Started))
    deadline = time.monotonic() + 20
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    child = int(pid_file.read_text())
    assert leader is not None and _alive(leader) and _alive(child)
    ex.stop("grp")
    _drain(ex, {"grp"})
    time.sleep(0.05)
    assert not _alive(leader) and not _alive(child)


def test_children_left_behind_by_a_completed_job_are_killed(tmp_path: Path, ex: LocalExecutor) -> None:
    code = ("import subprocess, sys\nchild = subprocess.Popen(['sleep', '60'])\n"
            "open(sys.argv[1], 'w').write(str(child.pid))\nprint('loss: 0.5')")
    pid_file = tmp_path / "child.pid"
    ex.launch(_req(tmp_path, "bg", (PY, "-c", code, str(pid_file))))
    events = _drain(ex, {"bg"})
    assert _ended(events, "bg").status is TrainingJobStatus.COMPLETED
    time.sleep(0.05)
    assert not _alive(int(pid_file.read_text()))


def test_programs_that_cannot_start_fail_without_started(tmp_path: Path, ex: LocalExecutor) -> None:
    not_exec = tmp_path / "train.sh"
    not_exec.write_text("#!/bin/sh\necho hi\n")
    ex.launch(_req(tmp_path, "missing", ("no-such-program-xyz", "--flag")))
    ex.launch(_req(tmp_path, "nodir", (PY, "-c", "pass"), working_dir=str(tmp_path / "nowhere")))
    ex.launch(_req(tmp_path, "noexec", (str(not_exec),)))
    events = _drain(ex, {"missing", "nodir", "noexec"})
    assert not any(isinstance(e, Started) for e in events)
    missing, nodir, noexec = (_ended(events, j) for j in ("missing", "nodir", "noexec"))
    assert missing.status is TrainingJobStatus.FAILED and "'no-such-program-xyz' not found" in (missing.reason or "")
    assert "working directory" in (nodir.reason or "") and "nowhere" in (nodir.reason or "")
    assert "not executable" in (noexec.reason or "") and "chmod +x" in (noexec.reason or "")
    assert "not found" in (tmp_path / "runs" / "missing" / "train.log").read_text()


def test_max_parallel_jobs_queues_launches(tmp_path: Path) -> None:
    ex = LocalExecutor(max_parallel_jobs=1)
    try:
        ex.launch(_req(tmp_path, "a", (PY, "-c", "print('loss: 1')")))
        ex.launch(_req(tmp_path, "b", (PY, "-c", "print('loss: 2')")))
        ex.launch(_req(tmp_path, "c", (PY, "-c", "print('loss: 3')")))
        assert ex.running == ["a"]
        ex.stop("c")
        events = _drain(ex, {"a", "b", "c"})
        order = [(type(e).__name__, e.training_job_id) for e in events if not isinstance(e, MetricsReported)]
        assert order.index(("Ended", "a")) < order.index(("Started", "b"))
        assert ("Started", "c") not in order and _ended(events, "c").status is TrainingJobStatus.STOPPED
        assert _values(events, "b") == [("loss", 2.0, 0)]
    finally:
        ex.shutdown()


def test_shutdown_leaves_no_process(tmp_path: Path) -> None:
    ex = LocalExecutor()
    for j in ("a", "b"):
        ex.launch(_req(tmp_path, j, (PY, "-c", "import time; time.sleep(60)"), grace_period_s=0.3))
    pids: list[int | None] = []
    deadline = time.time() + 10
    while len(pids) < 2 and time.time() < deadline:  # the supervisor reports each start
        pids += [e.pid for e in ex.wait(0.5) if isinstance(e, Started)]
    ex.shutdown()
    assert ex.running == [] and len(pids) == 2
    assert not any(_alive(p) for p in pids if p is not None)
    assert {e.training_job_id: e.status for e in ex.poll() if isinstance(e, Ended)} == {
        "a": TrainingJobStatus.STOPPED, "b": TrainingJobStatus.STOPPED
    }


def test_launch_errors(tmp_path: Path, ex: LocalExecutor) -> None:
    with pytest.raises(ExecutorError, match="no command.*use CallableExecutor"):
        ex.launch(LaunchRequest("f", {}, tmp_path / "f", Program(function=lambda hp: 1.0)))
    with pytest.raises(SpecError, match="no capture group"):
        ex.launch(_req(tmp_path, "r", (PY, "-c", "pass"), metric_definitions=(MetricDefinition("l", "l: 1"),)))
    ex.launch(_req(tmp_path, "d", (PY, "-c", "import time; time.sleep(60)"), grace_period_s=0.2))
    with pytest.raises(ExecutorError, match="already running"):
        ex.launch(_req(tmp_path, "d", (PY, "-c", "pass")))
    ex.stop("unknown-id")  # nothing happens
    ex.stop("d")
    assert _ended(_drain(ex, {"d"}), "d").status is TrainingJobStatus.STOPPED
    ex.stop("d")  # already ended: nothing happens
    assert ex.poll() == []
