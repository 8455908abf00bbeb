"""Hyperband with promotions through the Tuner: real training processes paused at rungs and resumed from their
checkpoints, checked against the program's own ledger (no epoch trained twice), and a resume of the tuning job
while jobs are paused."""

from __future__ import annotations

import collections
import math
import sys
from pathlib import Path

import pytest

import hyperjob
from hyperjob.records import TrainingJobStatus
from hyperjob.store import open_store

PROGRAM = str(Path(__file__).parents[1] / "fixtures" / "programs" / "checkpointed.py")
SPACE = {"x": {"type": "continuous", "min_value": 0.0, "max_value": 1.0}}
LOSS = {"loss": r"loss=([0-9.eE+-]+)"}
MAX = 9  # rungs 1 and 3 (eta 3), then max_resource 9


def _loss(x: float, epoch: int) -> float:
    return (x - 0.3) ** 2 + 0.5 / epoch + 0.3 * math.sin(9 * x) ** 2 / epoch


def _ledger(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()]


def _tune(tmp_path: Path, name: str, *, max_jobs: int, ledger: Path, sleep: float = 0.0, model: str = "random",
          **kw):
    return hyperjob.tune(
        [sys.executable, PROGRAM], SPACE, objective="loss", max_jobs=max_jobs, max_parallel_jobs=2,
        strategy="hyperband", strategy_settings={"min_resource": 1, "max_resource": MAX, "promotions": True,
                                                 "model": model, "n_initial": 3},
        metric_definitions=LOSS, static={"epochs": MAX, "ledger": str(ledger), "sleep": sleep}, seed=3,
        output_dir=tmp_path / "runs", name=name, store=str(tmp_path / "hj.db"), **kw,
    )


@pytest.mark.parametrize("model", ["random", "multifidelity"])
def test_paused_jobs_resume_from_their_checkpoints_and_no_epoch_is_trained_twice(tmp_path, model):
    """With model multifidelity, configurations 4 to 9 come from the model of the rungs' values (n_initial 3)."""
    ledger = tmp_path / "ledger.txt"
    result = _tune(tmp_path, "asha", max_jobs=9, ledger=ledger, sleep=0.05, model=model)
    _check_paused_and_resumed(result, ledger)


def test_on_ray_paused_jobs_resume_from_their_checkpoints_and_no_epoch_is_trained_twice(ray_cluster, tmp_path):
    """The same tuning job on the real local Ray cluster (tests/conftest.py): the Ray executor resumes a paused
    job as the next segment of its attempt, on whichever node Ray places it (one machine: one file system)."""
    ledger = tmp_path / "ledger.txt"
    result = _tune(tmp_path, "asha", max_jobs=9, ledger=ledger, sleep=0.05, executor={"type": "ray"},
                   resources={"cpus": 0.5})
    _check_paused_and_resumed(result, ledger)


def _check_paused_and_resumed(result, ledger: Path) -> None:
    assert result.status == "Completed"
    lines = _ledger(ledger)
    epochs = collections.Counter((name, int(n)) for what, name, n, *_ in lines if what == "epoch")
    assert epochs and max(epochs.values()) == 1, [k for k, v in epochs.items() if v > 1]  # never twice
    starts = collections.defaultdict(list)
    for what, name, _pid, *rest in lines:
        if what == "start":
            starts[name].append(int(rest[0]))
    resumed = {name: froms for name, froms in starts.items() if len(froms) > 1}
    assert resumed, "no training job was promoted and resumed"
    store = open_store(result.store_url)
    try:
        records = {r.id: r for r in store.list_training_jobs("asha")}
        metrics = store.get_all_metrics("asha")
        assert len(records) == 9  # promotions resume jobs: they are not new training jobs
        for name, froms in resumed.items():
            record = records[name]
            assert froms[0] == 0 and froms[1:] == sorted(froms[1:]) and froms[1] >= 1  # each from its checkpoint
            # every epoch it trained is in the store once, with the program's value, at consecutive steps
            losses = [m for m in metrics[name] if m.name == "loss"]
            trained = sorted(n for (job, n) in epochs if job == name)
            assert [m.step for m in losses] == [n - 1 for n in trained] == list(range(len(trained)))
            assert [m.value for m in losses] == pytest.approx([_loss(record.config["x"], n) for n in trained],
                                                             abs=1e-5)
            # each resume is a segment, promoted once; a segment may end before the program starts: a job whose
            # process trained on past its pause until the SIGTERM landed (a loaded machine) can be paused again
            # at once at the next rung by the values it had reported beyond the pause (it trains nothing there)
            segments = record.extra.get("segment")
            assert len(froms) - 1 <= segments
            kinds = [d.decision.rule + ":" + d.decision.action.value for d in store.get_decisions(name)]
            assert kinds.count("promotion:continue") == segments
        # the jobs that reached max_resource completed with their value there; the others are paused (Stopped)
        done = [r for r in records.values() if r.status is TrainingJobStatus.COMPLETED]
        assert done and all(sum(1 for (job, _n) in epochs if job == r.id) == MAX for r in done)
        assert all(r.final_objective == pytest.approx(_loss(r.config["x"], MAX), abs=1e-5) for r in done)
        for r in records.values():
            if r.status is TrainingJobStatus.STOPPED:
                assert "paused at rung" in r.failure_reason and r.extra["paused_at"] in (1, 3)
        assert result.best_value == min(r.final_objective for r in done)
    finally:
        store.close()
    # the full trainings it saved: 9 configurations, of which only the promoted ones trained past their rung
    assert sum(epochs.values()) < 9 * MAX / 2


def test_without_a_checkpoint_a_job_is_not_paused_but_judged_stop_only(tmp_path):
    """A program that writes no checkpoint falls back to the stop-only rule (it cannot be resumed)."""
    program = tmp_path / "no_checkpoint.py"
    program.write_text(
        "import argparse, math\np = argparse.ArgumentParser()\np.add_argument('--x', type=float)\n"
        "p.add_argument('--epochs', type=int)\na, _ = p.parse_known_args()\n"
        "for e in range(1, a.epochs + 1):\n    print(f'epoch {e}: loss={(a.x - 0.3) ** 2 + 0.5 / e:.6f}', flush=True)\n"
    )
    result = hyperjob.tune(
        [sys.executable, str(program)], SPACE, objective="loss", max_jobs=6, max_parallel_jobs=2,
        strategy="hyperband", strategy_settings={"min_resource": 1, "max_resource": MAX, "promotions": True,
                                                 "model": "random"},
        metric_definitions=LOSS, static={"epochs": MAX}, seed=1, output_dir=tmp_path / "runs", name="plain",
        store=str(tmp_path / "hj.db"),
    )
    assert result.status == "Completed"
    store = open_store(result.store_url)
    try:
        decisions = [d.decision for r in store.list_training_jobs("plain") for d in store.get_decisions(r.id)]
        assert decisions and not any(d.pause for d in decisions)
        assert any("no checkpoint to resume from" in d.reason for d in decisions)
    finally:
        store.close()


def test_a_tuner_killed_while_jobs_are_paused_resumes_them_and_no_epoch_is_trained_twice(tmp_path):
    """SIGKILL the tuner mid-run (some jobs paused, some running or pausing); `resume` promotes the paused ones
    from their checkpoints and finishes: the program's ledger has every epoch at most once."""
    import os
    import signal
    import subprocess
    import time

    import yaml

    ledger = tmp_path / "ledger.txt"
    spec = tmp_path / "job.yaml"
    spec.write_text(yaml.safe_dump({
        "name": "killed", "program": {"command": [sys.executable, PROGRAM]},
        "objective": {"metric": "loss", "type": "minimize"},
        "metric_definitions": [{"name": "loss", "regex": LOSS["loss"]}],
        "hyperparameter_ranges": {"x": {"type": "continuous", "min_value": 0.0, "max_value": 1.0}},
        "static_hyperparameters": {"epochs": MAX, "ledger": str(ledger), "sleep": 0.1},
        "strategy": {"name": "hyperband", "settings": {"min_resource": 1, "max_resource": MAX, "promotions": True,
                                                       "model": "random"}},
        "limits": {"max_jobs": 9, "max_parallel_jobs": 2}, "random_seed": 5,
        "store": str(tmp_path / "hj.db"), "output_dir": str(tmp_path / "runs"),
    }))
    proc = subprocess.Popen([sys.executable, "-m", "hyperjob", "tune", str(spec), "-q"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:  # kill it once a few jobs were paused
        time.sleep(0.1)
        if ledger.exists() and sum(1 for line in _ledger(ledger) if line[0] == "start") >= 5:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = subprocess.run([sys.executable, "-m", "hyperjob", "resume", "killed", "--store", str(tmp_path / "hj.db"),
                           "-q"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = _ledger(ledger)
    epochs = collections.Counter((name, int(n)) for what, name, n, *_ in lines if what == "epoch")
    assert max(epochs.values()) == 1, [k for k, v in epochs.items() if v > 1]
    store = open_store(str(tmp_path / "hj.db"))
    try:
        records = store.list_training_jobs("killed")
        assert len(records) == 9 and all(r.status.terminal for r in records)
        assert any(r.status is TrainingJobStatus.COMPLETED for r in records)
        resumed = [r for r in records if r.extra.get("segment")]
        assert resumed, "no paused training job was resumed"
        metrics = store.get_all_metrics("killed")
        for r in records:  # the store has each trained epoch once, at its step
            steps = [m.step for m in metrics[r.id] if m.name == "loss"]
            assert steps == sorted(set(steps)) == list(range(len(steps)))
            assert len(steps) == sum(1 for (job, _n) in epochs if job == r.id)
    finally:
        store.close()
