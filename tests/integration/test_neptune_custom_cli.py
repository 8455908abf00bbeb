"""Neptune ML custom-model configs run with their command, and the budget is the budget (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _corpus import CORPUS_ROOT, need
from typer.testing import CliRunner

from hyperjob.cli.app import app

CONFIGS = CORPUS_ROOT / "neptune" / "configs"
#: prints a line for the metric definitions of every custom config of the corpus (03-09), with its arguments
PROGRAM = """\
import sys
print("argv", " ".join(sys.argv[1:]))
for line in ("Validation ROC AUC Score: 0.61", "Validation Accuracy=0.62", "Validation loss: 0.3",
             "Validation average MRR : 0.4", "Validation Average MRR=0.41", "validation-auc:0.7"):
    print(line)
"""


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prog.py").write_text(PROGRAM)
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def counters(name: str, store: str) -> dict:
    code, out, err = run("describe", name, "--store", store, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("config, metric, value", [
    ("06-toolkit-custom-link_predict-movielens-rgcn.json", "MRR", 0.4),
    ("09-toolkit-custom-node_class-yelp-xgboost.json", "ROC_AUC", 0.7),
])
def test_a_custom_model_config_runs_with_the_command_after_dashes(work: Path, config: str, metric: str,
                                                                  value: float) -> None:
    path = need(CONFIGS / config)
    code, out, err = run("tune", str(path), "--store", "s.db", "--name", "custom", "-q", "--", "python", "prog.py")
    assert code == 0, out + err
    d = counters("custom", "s.db")
    assert d["TrainingJobStatusCounters"]["Completed"] == 2  # Neptune ML's default budget
    best = d["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]
    assert (best["MetricName"], best["Value"]) == (metric, value)
    assert d["TrainingJobDefinition"]["HyperjobProgram"]["Command"] == ["python", "prog.py"]


def test_an_empty_tier_1_runs_every_training_job_of_the_budget(work: Path) -> None:
    doc = json.loads(need(CONFIGS / "04-toolkit-custom-node_class-movielens-rgcn-lightning.json").read_text())
    doc["models"][0]["1-tier-param"] = []
    (work / "model-HPO-configuration.json").write_text(json.dumps(doc))
    code, out, err = run("tune", "model-HPO-configuration.json", "--store", "s.db", "--name", "empty", "--max-jobs",
                         "3", "--max-parallel-jobs", "1", "-q", "--", "python", "prog.py")
    assert code == 0, out + err
    assert "all 3 training jobs run with the same hyperparameters" in err  # said, not silent
    d = counters("empty", "s.db")
    assert d["TrainingJobStatusCounters"]["Completed"] == 3  # was 1: the budget is the budget
    assert d["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxParallelTrainingJobs"] == 1


def test_a_built_in_model_without_data_says_what_to_add(work: Path) -> None:
    code, out, err = run("tune", str(need(CONFIGS / "01-aws-docs-example-rgcn-node_class.json")), "-q")
    assert code == 2 and "needs the processed graph: add --data DIR" in err
