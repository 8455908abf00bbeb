"""Early stopping and hyperband end to end: real training processes stopped by the Tuner, a real SQLite file,
the CLI, and a resume in the middle of a hyperband run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hyperjob
from hyperjob.records import TrainingJobStatus, TuningJobStatus
from hyperjob.store import open_store

PROGRAM = str(Path(__file__).parents[1] / "fixtures" / "programs" / "steps.py")
SPACE = {
    "x": {"type": "continuous", "min_value": 0.0, "max_value": 1.0},
    "y": {"type": "integer", "min_value": 0, "max_value": 4},
}
LOSS = {"loss": r"loss=([0-9.eE+-]+)"}


def _loss(config: dict, step: int, decay: float = 1.0) -> float:
    """What steps.py prints at ``step`` (0-based)."""
    return (config["x"] - 0.3) ** 2 + (config["y"] - 2) ** 2 / 10 + decay / (step + 1)


def _kept(store, training_job_id: str) -> list[dict]:
    """The decisions kept about a training job's current attempt, as JSON (with their attempt and time)."""
    return [{**k.decision.to_json(), "attempt": k.attempt, "time": k.at} for k in store.get_decisions(training_job_id)]


def _process_gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)  # the training job's process group (the local executor starts a new session)
    except ProcessLookupError:
        return True
    state = Path(f"/proc/{pid}/stat")
    return not state.exists() or state.read_text().split(")")[-1].split()[0] == "Z"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hyperjob", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_early_stopping_auto_stops_real_processes_and_says_why(tmp_path):
    result = hyperjob.tune(
        [sys.executable, PROGRAM], SPACE, objective="loss", max_jobs=10, max_parallel_jobs=2, strategy="random",
        early_stopping="auto", metric_definitions=LOSS, static={"steps": 10, "sleep": 0.1, "decay": 0.1}, seed=2,
        output_dir=tmp_path / "runs", name="auto", store=str(tmp_path / "hj.db"),
    )
    assert result.status == "Completed"
    store = open_store(result.store_url)
    try:
        records = store.list_training_jobs("auto")
        metrics = store.get_all_metrics("auto")
        stopped = [r for r in records if r.status is TrainingJobStatus.STOPPED]
        assert stopped, "the median rule stopped no training job: its bad configurations should lose"
        for r in stopped:
            (decision,) = [d for d in _kept(store, r.id) if d["action"] == "stop"]
            assert decision["rule"] == "median" and decision["compared"] >= 1  # SageMaker's rule: no warm-up
            # the value decided on is the program's own value at that step, and it is worse than the median
            # (steps.py prints 0-based steps: the decision's step is the resource, the epochs done: step + 1)
            assert decision["value"] == pytest.approx(_loss(r.config, decision["step"] - 1, 0.1), abs=1e-5)
            assert decision["value"] > decision["threshold"]
            assert r.failure_reason.startswith(f"early stopping (auto): at step {decision['step']} the objective")
            steps = [m.step for m in metrics[r.id] if m.name == "loss"]
            # stopped right after the value decided on (a process may print one more line before SIGTERM lands)
            assert decision["step"] - 1 <= max(steps) <= decision["step"] < 9
            assert r.final_objective == pytest.approx(metrics[r.id][-1].value)  # keeps its last value
            assert r.pid is not None and _process_gone(r.pid)
        # the running averages behind each decision, recomputed from the store
        first = stopped[0]
        d = next(d for d in _kept(store, first.id) if d["action"] == "stop")
        averages = []
        for other in records:
            values = [m.value for m in metrics[other.id] if m.name == "loss" and m.step + 1 <= d["step"]]
            reached = any(m.step + 1 >= d["step"] for m in metrics[other.id] if m.name == "loss")
            if other.index < first.index and reached:
                averages.append(sum(values) / len(values))
        import statistics

        assert d["compared"] == len(averages)
        assert d["threshold"] == pytest.approx(statistics.median(averages))
    finally:
        store.close()
    described = json.loads(_cli("describe", "auto", "--store", str(tmp_path / "hj.db"), "--json", cwd=tmp_path).stdout)
    assert described["HyperParameterTuningJobConfig"]["TrainingJobEarlyStoppingType"] == "Auto"
    assert {s["TrainingJobName"] for s in described["StoppedEarly"]} == {r.id for r in stopped}
    assert all(s["Rule"] == "median" and "Threshold" in s for s in described["StoppedEarly"])
    assert "EarlyStoppingNote" not in described
    text = _cli("describe", "auto", "--store", str(tmp_path / "hj.db"), cwd=tmp_path).stdout
    assert f"stopped early: {len(stopped)} training jobs" in text and "median of the running averages" in text
    table = _cli("trials", "auto", "--store", str(tmp_path / "hj.db"), cwd=tmp_path).stdout
    assert "why stopped" in table and "median" in table


def test_objective_reported_only_at_the_end_is_said_once_in_the_log_and_in_describe(tmp_path, caplog):
    def train(config):
        return config["x"]  # one value, at the end

    with caplog.at_level("WARNING", logger="hyperjob.tuner"):
        result = hyperjob.tune(train, SPACE, objective="loss", max_jobs=4, strategy="random", early_stopping="auto",
                               seed=0, output_dir=tmp_path / "runs", name="once", store=str(tmp_path / "hj.db"))
    notes = [r.getMessage() for r in caplog.records if "reported the objective 'loss' only once" in r.getMessage()]
    assert len(notes) == 1 and "early stopping 'auto' needs it after every epoch" in notes[0]
    described = json.loads(_cli("describe", "once", "--store", result.store_url, "--json", cwd=tmp_path).stdout)
    assert "4 completed training job(s)" in described["EarlyStoppingNote"]


def test_callable_jobs_stop_at_the_value_the_decision_was_made_on(tmp_path):
    ran: dict[float, int] = {}

    def train(config):
        for epoch in range(1, 28):
            ran[config["x"]] = epoch
            hyperjob.report(step=epoch, acc=1.0 - (config["x"] - 0.5) ** 2 - 1.0 / epoch)

    result = hyperjob.tune(train, {"x": SPACE["x"], "epochs": 27}, objective="acc", maximize=True, max_jobs=12,
                           strategy="hyperband", strategy_settings={"model": "random"}, seed=4,
                           output_dir=tmp_path / "runs", name="hb", store=str(tmp_path / "hj.db"))
    store = open_store(result.store_url)
    try:
        records = store.list_training_jobs("hb")
        stopped = [r for r in records if r.status is TrainingJobStatus.STOPPED]
        assert stopped and any(r.status is TrainingJobStatus.COMPLETED for r in records)
        rows = {j["name"]: j for j in result.jobs}
        for r in stopped:
            stop = next(d for d in _kept(store, r.id) if d["action"] == "stop")
            assert stop["rule"] == "rung" and stop["rung"] in (1, 3, 9)
            row = rows[r.id]
            assert row["value"] is None and row["last_value"] == stop["value"] and row["last_step"] == stop["step"]
            assert ran[r.config["x"]] == stop["step"] == stop["rung"]  # not one epoch more
            assert stop["value"] < stop["threshold"]
        for r in records:  # every rung a job passed, it passed with a kept decision
            rungs = [d["rung"] for d in _kept(store, r.id) if d["rule"] == "rung"]
            assert rungs == [1, 3, 9][: len(rungs)]
            if r.status is TrainingJobStatus.COMPLETED:
                assert rungs == [1, 3, 9] and ran[r.config["x"]] == 27
    finally:
        store.close()


def _hyperband_spec(tmp_path: Path) -> Path:
    spec = {
        "name": "hb",
        "program": {"command": [sys.executable, PROGRAM]},
        "static_hyperparameters": {"steps": 10, "sleep": 0.05},
        "hyperparameter_ranges": SPACE,
        "objective": {"metric": "loss", "type": "minimize"},
        "metric_definitions": [{"name": "loss", "regex": LOSS["loss"]}],
        "strategy": {"name": "hyperband", "settings": {"min_resource": 1, "max_resource": 9, "model": "random"}},
        "limits": {"max_jobs": 14, "max_parallel_jobs": 2},
        "random_seed": 5,
        "output_dir": str(tmp_path / "runs"),
        "store": str(tmp_path / "hj.db"),
    }
    path = tmp_path / "job.json"
    path.write_text(json.dumps(spec))
    return path


def _rung_decisions(store_path: str) -> list[tuple[str, dict]]:
    store = open_store(store_path)
    try:
        if not any(t.name == "hb" for t in store.list_tuning_jobs()):
            return []
        return [
            (r.id, d) for r in store.list_training_jobs("hb") for d in _kept(store, r.id)
            if d.get("rule") == "rung" and d.get("attempt", 0) == r.attempt
        ]
    finally:
        store.close()


def test_a_resumed_hyperband_run_continues_its_rungs(tmp_path):
    spec = _hyperband_spec(tmp_path)
    store_path = str(tmp_path / "hj.db")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "hyperjob", "tune", str(spec), "-q"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:  # kill it once a few training jobs have passed rungs
        time.sleep(0.2)
        if os.path.exists(store_path) and len({j for j, _ in _rung_decisions(store_path)}) >= 5:
            break
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    before = _rung_decisions(store_path)
    assert before, "no rung decision was kept before the kill"
    resumed_at = time.time()
    done = _cli("resume", "hb", "--store", store_path, "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr

    store = open_store(store_path)
    try:
        assert store.get_tuning_job("hb").status is TuningJobStatus.COMPLETED
        records = store.list_training_jobs("hb")
        assert len(records) == 14 and all(r.status.terminal for r in records)
    finally:
        store.close()
    after = _rung_decisions(store_path)
    # every decision made after the resume compared its value with every earlier kept value at its rung,
    # including those from before the kill: the rungs continued where they were
    new = [(j, d) for j, d in after if d["time"] > resumed_at]
    assert new
    for job, d in new:
        earlier = {j for j, e in after if j != job and e["rung"] == d["rung"] and e["time"] < d["time"]}
        assert d["compared"] == len(earlier) + 1, (job, d)
    kept_before = {(j, d["rung"]) for j, d in before}
    assert any(d["compared"] > 1 and any(r == d["rung"] for _, r in kept_before) for _, d in new)
