"""Local training jobs share GPUs through CUDA_VISIBLE_DEVICES, from a fake inventory (HYPERJOB_GPUS): real
processes under the local executor's supervisor, and a whole tuning job from a spec with ``resources.gpus``."""

from __future__ import annotations

import json
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hyperjob.executors.base import Ended, LaunchRequest, Program, Started
from hyperjob.executors.local_gpus import GpuLocalExecutor
from hyperjob.records import TrainingJobStatus

# waits for a "go" file, then reports the devices it was given
HOLD = """
import os, sys, time
from hyperjob import report
go = sys.argv[sys.argv.index("--go") + 1]
while not os.path.exists(go):
    time.sleep(0.01)
print("devices=" + os.environ.get("CUDA_VISIBLE_DEVICES", "unset"), "sm_num_gpus=" + os.environ["SM_NUM_GPUS"])
report(step=0, loss=1.0)
"""


def _events_until(executor: GpuLocalExecutor, done, timeout_s: float = 20.0) -> list:
    events: list = []
    deadline = time.monotonic() + timeout_s
    while not done(events):
        assert time.monotonic() < deadline, f"not done in {timeout_s} s: {events}"
        events += executor.poll()
        executor.wait_for_events(0.01)
    return events


def test_quarter_gpus_pack_four_jobs_per_device_and_the_rest_wait(tmp_path: Path) -> None:
    script = tmp_path / "hold.py"
    script.write_text(textwrap.dedent(HOLD))
    go = tmp_path / "go"
    executor = GpuLocalExecutor(0.25, devices=["0", "1"])
    program = Program(command=(sys.executable, str(script)))
    try:
        for i in range(10):
            executor.launch(LaunchRequest(f"j{i}", {"go": str(go)}, tmp_path / f"j{i}", program))
        started = _events_until(executor, lambda evs: sum(isinstance(e, Started) for e in evs) >= 8)
        time.sleep(0.3)
        started += executor.poll()
        assert sorted(e.training_job_id for e in started if isinstance(e, Started)) == sorted(f"j{i}" for i in range(8))
        assert executor.waiting == ["j8", "j9"]  # 8 quarters fill 2 GPUs: the last two wait, in order
        assert executor.allocator.used() == {"0": 1.0, "1": 1.0}
        executor.stop("j9")  # a waiting job that is stopped never starts
        go.write_text("")
        events = _events_until(executor, lambda evs: {e.training_job_id for e in evs if isinstance(e, Ended)}
                               >= {f"j{i}" for i in range(10)})
    finally:
        executor.shutdown()
    ends = {e.training_job_id: e for e in events if isinstance(e, Ended)}
    assert ends["j9"].status is TrainingJobStatus.STOPPED and ends["j9"].reason == "stopped before it started"
    seen = {f"j{i}": (tmp_path / f"j{i}" / "train.log").read_text().split() for i in range(9)}
    assert all(ends[j].status is TrainingJobStatus.COMPLETED for j in seen)
    devices = [words[0] for words in seen.values()]
    assert sorted(devices[:8]) == ["devices=0"] * 4 + ["devices=1"] * 4
    assert devices[8] in ("devices=0", "devices=1")  # it started once a share was free again
    assert all(words[1] == "sm_num_gpus=1" for words in seen.values())
    assert executor.allocator.used() == {"0": 0.0, "1": 0.0}


def test_a_tuning_job_with_resources_gpus_shares_the_inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hyperjob.formats.spec import TuningJobSpec
    from hyperjob.store import open_store
    from hyperjob.tuner.loop import Tuner
    from hyperjob.tuner.plan import TuningPlan

    monkeypatch.setenv("HYPERJOB_GPUS", "1")
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""
        import json, os, sys, time
        log = os.path.join(os.path.dirname(os.environ["HYPERJOB_JOB_DIR"]), "spans.jsonl")
        start = time.time(); time.sleep(0.4)
        with open(log, "a") as f:
            f.write(json.dumps([start, time.time(), os.environ.get("CUDA_VISIBLE_DEVICES")]) + "\\n")
        print("loss=0.5")
    """))
    spec = TuningJobSpec.model_validate({
        "name": "gpu-share", "program": {"command": [sys.executable, str(script)]},
        "hyperparameter_ranges": {"x": {"min_value": 0, "max_value": 1}},
        "objective": {"metric": "loss", "type": "minimize"},
        "metric_definitions": [{"name": "loss", "regex": "loss=([0-9.]+)"}],
        "strategy": {"name": "random"}, "limits": {"max_jobs": 6, "max_parallel_jobs": 4},
        "resources": {"gpus": 0.5}, "output_dir": str(tmp_path / "runs"), "random_seed": 0,
    })
    store = open_store(str(tmp_path / "hj.db"))
    try:
        outcome = Tuner(TuningPlan.from_spec(spec), store).run()
    finally:
        store.close()
    assert outcome.status.value == "Completed"
    assert [r.status for r in outcome.training_jobs] == [TrainingJobStatus.COMPLETED] * 6
    spans = [json.loads(line) for line in (tmp_path / "runs" / "gpu-share" / "spans.jsonl").read_text().splitlines()]
    assert {device for _, _, device in spans} == {"0"}
    # halves of one GPU: never more than 2 training jobs at once, though 4 may run in parallel
    most = max(sum(1 for s, e, _ in spans if s <= t < e) for t, _, _ in spans)
    assert most == 2
