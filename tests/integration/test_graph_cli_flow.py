"""`hyperjob graph process|init` and `hyperjob tune model-HPO-configuration.json --data DIR`, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _corpus import CORPUS_ROOT, need as corpus

GRAPHS = CORPUS_ROOT / "neptune" / "graphs"


def hj(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "250", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "hyperjob", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=300)


def tiny_graph(d: Path) -> Path:
    """40 'item' nodes in two classes that their feature and their edges predict."""
    d.mkdir(parents=True, exist_ok=True)
    rows = ["~id,~label,signal:Double,group:String"]
    for i in range(40):
        rows.append(f"i{i},item,{(i % 2) + 0.1 * (i % 5)},{'ab'[i % 2]}")
    edges = ["~id,~from,~to,~label"] + [f"e{i},i{i},i{(i + 2) % 40},near" for i in range(40)]
    (d / "nodes.csv").write_text("\n".join(rows) + "\n")
    (d / "edges.csv").write_text("\n".join(edges) + "\n")
    return d


def test_process_writes_a_processed_graph(tmp_path):
    proc = hj("graph", "process", str(tiny_graph(tmp_path / "export")), "--task", "node_class", "--target",
              "item.group", "--out", "processed", "--seed", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "split train 36, validation 4, test 0" in proc.stdout
    doc = json.loads((tmp_path / "processed" / "graph.json").read_text())
    assert doc["task"] == "node_class" and doc["class_names"] == ["a", "b"] and doc["meta"]["seed"] == 1
    again = hj("graph", "process", "export", "--task", "node_class", "--target", "item.group", "--out",
               "processed", cwd=tmp_path)
    assert again.returncode == 2 and "already holds a processed graph" in again.stderr


def test_bad_input_is_one_red_line_with_exit_code_2(tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "n.csv").write_text("~id,~label,age:Int\na,p,1\nb,p,old\n")
    proc = hj("graph", "process", str(d), "--task", "node_regression", "--target", "p.age", "--out", "o",
              cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "n.csv: line 3, column 3 ('age:Int'): the value 'old' is not a whole number" in proc.stderr


def test_messy_graph_warnings_and_target_hint(tmp_path):
    games = corpus(GRAPHS / "collaborative-filtering-games")
    bad = hj("graph", "process", str(games), "--task", "node_class", "--target", "Game.GameGenre", "--out", "p",
             cwd=tmp_path)
    assert bad.returncode == 2 and "Did you mean 'game'?" in bad.stderr
    ok = hj("graph", "process", str(games), "--task", "node_class", "--target", "game.GameGenre", "--out", "p",
            cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "warning" in ok.stderr and "fewer fields than the header" in ok.stderr


def test_tune_options_of_a_neptune_config_only(tmp_path):
    (tmp_path / "job.yaml").write_text("name: x\n")
    proc = hj("tune", "job.yaml", "--data", "p", cwd=tmp_path)  # (--max-jobs is the budget of any spec)
    assert proc.returncode == 2
    assert "--data applies to a Neptune ML model-HPO-configuration.json" in proc.stderr


@pytest.mark.slow
def test_init_then_tune_end_to_end(tmp_path):
    export = tiny_graph(tmp_path / "export")
    init = hj("graph", "init", str(export), "--task", "node_class", "--target", "item.group", "--out", "job",
              cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    config_path = tmp_path / "job" / "model-HPO-configuration.json"
    assert "hyperjob tune job/model-HPO-configuration.json --data job/processed --max-jobs 2" in init.stdout
    # the user edits the configuration: a short training, fixed
    config = json.loads(config_path.read_text())
    body = config["models"][0]
    body["1-tier-param"] = [p for p in body["1-tier-param"] if p["param"] != "num-epochs"]
    body["1-tier-param"][0]["range"] = [8, 16]  # num-hidden
    body["fixed-param"].append({"param": "num-epochs", "type": "int", "default": 2})
    config_path.write_text(json.dumps(config))

    missing = hj("tune", str(config_path), cwd=tmp_path)
    assert missing.returncode == 2 and "add --data DIR" in missing.stderr

    proc = hj("tune", "job/model-HPO-configuration.json", "--data", "job/processed", "--max-jobs", "2",
              "--name", "graph-e2e", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Completed" in proc.stdout and "best training job: graph-e2e-" in proc.stdout
    best = hj("best", "graph-e2e", "--json", cwd=tmp_path)
    assert best.returncode == 0, best.stderr
    result = json.loads(best.stdout)
    assert result["MetricName"] == "acc" and 0.0 <= result["Value"] <= 1.0
    hps = result["HyperParameters"]
    assert hps["num-epochs"] == 2 and hps["num-hidden"] in (8, 16) and hps["eval-metric"] == "acc"
    assert Path(tmp_path / result["ModelDir"]).is_dir()
    trials = json.loads(hj("trials", "graph-e2e", "--json", cwd=tmp_path).stdout)["TrainingJobSummaries"]
    assert len(trials) == 2 and {t["TrainingJobStatus"] for t in trials} == {"Completed"}
    assert set(trials[0]["TunedHyperParameters"]) == {"num-hidden", "lr"}
