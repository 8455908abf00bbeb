"""The training loop: eval_frequency types, Neptune's early stopping, best model kept, reports, arguments."""

import json

import pytest
import torch

from hyperjob.algorithms.graph import _runners, synthetic
from hyperjob.algorithms.graph.train import main, parse_arguments, train
from hyperjob.errors import SpecError

torch.set_num_threads(1)


class FakeRunner:
    """Scripted validation values; 4 batches per epoch."""

    def __init__(self, values, per_epoch=4):
        self.values = list(values)
        self.per_epoch = per_epoch
        self.evals = 0
        self.loaded = None
        self.steps = 0

    def batches(self):
        return [torch.arange(3)] * self.per_epoch

    def train_step(self, b):
        self.steps += 1
        return 0.5

    def evaluate(self, split):
        if split == "test":
            return {"acc": -1.0}
        v = self.values[min(self.evals, len(self.values) - 1)]
        self.evals += 1
        return {"acc": v}

    def state_dict(self):
        return {"at_eval": self.evals}

    def load_state_dict(self, s):
        self.loaded = s

    def write_predictions(self, split, directory):
        p = directory / "predictions.csv"
        p.write_text(split)
        return [p]


@pytest.fixture
def graph():
    return synthetic.planted_partition("node_class", num_users=30, num_items=10)


def _run(monkeypatch, graph, values, hp=None, freq=("evaluate_every_epoch", 1), **kw):
    fake = FakeRunner(values)
    monkeypatch.setattr(_runners, "make_runner", lambda *a, **k: fake)
    reports = []
    r = train(graph, "rgcn", {"num-epochs": 5, **(hp or {})}, eval_frequency=freq, log=lambda s: None,
              report=lambda **m: reports.append(m), **kw)
    return r, fake, reports


def test_evaluate_every_epoch_reports_the_epoch_from_0_as_step(monkeypatch, graph):
    r, fake, reports = _run(monkeypatch, graph, [0.1, 0.2, 0.3, 0.4, 0.5])
    assert [e["step"] for e in r.evaluations] == [0, 1, 2, 3, 4]
    assert [e["batch"] for e in r.evaluations] == [4, 8, 12, 16, 20]
    # every evaluation, then the saved (best) model's value once more at the last step: the objective's last value
    assert [m["step"] for m in reports] == [0, 1, 2, 3, 4, 4] and reports[0]["acc"] == 0.1 and "train_loss" in reports[0]
    assert reports[-1] == {"step": 4, "acc": 0.5}
    r, fake, _ = _run(monkeypatch, graph, [0.1, 0.2, 0.3], freq=("evaluate_every_epoch", 2))
    assert [e["step"] for e in r.evaluations] == [1, 3, 4]  # after epochs 2 and 4, and once at the end


def test_evaluate_every_batch(monkeypatch, graph):
    r, fake, _ = _run(monkeypatch, graph, [i / 10 for i in range(20)], freq=("evaluate_every_batch", 3))
    assert [e["batch"] for e in r.evaluations] == [3, 6, 9, 12, 15, 18, 20]
    assert [e["step"] for e in r.evaluations] == [0, 1, 2, 2, 3, 4, 4]  # the epoch of each (4 batches each)


def test_evaluate_every_pct(monkeypatch, graph):
    r, fake, _ = _run(monkeypatch, graph, [i / 10 for i in range(20)], freq=("evaluate_every_pct", 0.25))
    assert [e["batch"] for e in r.evaluations] == [5, 10, 15, 20]  # 20 batches in all, every 25%


def test_bad_eval_frequency_and_metric_are_refused(monkeypatch, graph):
    with pytest.raises(SpecError, match="eval_frequency.value: evaluate_every_pct needs a value in \\(0, 1\\]"):
        _run(monkeypatch, graph, [0.1], freq=("evaluate_every_pct", 2))
    with pytest.raises(SpecError, match="eval_frequency.type: .*got 'every_epoch'"):
        _run(monkeypatch, graph, [0.1], freq=("every_epoch", 1))
    with pytest.raises(SpecError, match="eval_frequency.value: evaluate_every_batch needs a whole number of batches"):
        _run(monkeypatch, graph, [0.1], freq=("evaluate_every_batch", 0.5))
    with pytest.raises(SpecError, match="eval_metric: eval_metric 'mrr' does not apply to task 'node_class'"):
        _run(monkeypatch, graph, [0.1], eval_metric="mrr")
    with pytest.raises(SpecError, match="topk goes with eval_metric 'acc_topk' only"):
        _run(monkeypatch, graph, [0.1], eval_metric="acc", topk=2)


def test_early_stop_when_worse_than_the_average_of_the_last_window(monkeypatch, graph):
    # window 3: after 0.5, 0.6, 0.7 (avg 0.6), 0.55 is worse -> stop at the 4th evaluation
    r, fake, _ = _run(monkeypatch, graph, [0.5, 0.6, 0.7, 0.55, 0.9], hp={"num-epochs": 10})
    assert r.stopped_early and len(r.evaluations) == 4
    assert r.best == 0.7 and r.best_step == 2
    assert fake.loaded == {"at_eval": 3}  # the best model is restored before predicting


def test_the_objective_is_the_saved_model_s_value(monkeypatch, graph, tmp_path):
    """One rule (issue 17): the tuner's objective is the last reported value, so the program reports the saved
    (best) model's value last; before, an early-stopped job reported 0.55 while model.pt held 0.7."""
    r, fake, reports = _run(monkeypatch, graph, [0.5, 0.6, 0.7, 0.55, 0.9], hp={"num-epochs": 10},
                            model_dir=tmp_path / "model")
    acc = [m["acc"] for m in reports if "acc" in m]
    assert acc[-1] == r.best == 0.7 and acc[:-1] == [0.5, 0.6, 0.7, 0.55]
    assert reports[-1]["step"] == 3  # the last evaluation's step: no new epoch appears
    saved = torch.load(tmp_path / "model" / "model.pt", weights_only=False)
    assert saved["best"] == acc[-1]


def test_no_early_stop_while_not_worse_than_the_average(monkeypatch, graph):
    # 0.62 is worse than the last value (0.7) but better than the average 0.6: continue
    r, _, _ = _run(monkeypatch, graph, [0.5, 0.6, 0.7, 0.62, 0.8], hp={"num-epochs": 5})
    assert not r.stopped_early and len(r.evaluations) == 5


def test_window_and_enable_early_stop(monkeypatch, graph):
    values = [0.5, 0.9, 0.6, 0.7, 0.1]
    r, _, _ = _run(monkeypatch, graph, values, hp={"window-for-early-stop": 1})
    assert r.stopped_early and len(r.evaluations) == 3  # 0.6 < 0.9
    r, _, _ = _run(monkeypatch, graph, values, hp={"enable-early-stop": False})
    assert not r.stopped_early and len(r.evaluations) == 5


def test_minimized_metric_early_stop(monkeypatch):
    g = synthetic.planted_partition("node_regression", num_users=30, num_items=10)
    fake = FakeRunner([])
    fake.evaluate = lambda split: {"mse": [1.0, 0.8, 0.6, 0.9][min(fake.steps // 4 - 1, 3)]}
    monkeypatch.setattr(_runners, "make_runner", lambda *a, **k: fake)
    r = train(g, "rgcn", {"num-epochs": 8}, log=lambda s: None, report=lambda **m: None)
    assert r.eval_metric == "mse" and r.stopped_early and r.best == 0.6


def test_best_model_and_predictions_written(tmp_path, graph):
    r = train(graph, "rgcn", {"num-epochs": 2, "num-hidden": 8, "fanout": [3, 3], "batch-size": 8},
              model_dir=tmp_path / "model", output_dir=tmp_path / "out", log=lambda s: None, report=lambda **m: None)
    saved = torch.load(tmp_path / "model" / "model.pt", weights_only=True)
    assert saved["model"] == "rgcn" and saved["hyperparameters"]["num-hidden"] == 8 and saved["best"] == r.best
    info = json.loads((tmp_path / "model" / "hyperparameters.json").read_text())
    assert info["eval_metric"] == "acc" and info["hyperparameters"]["fanout"] == [3, 3]
    rows = (tmp_path / "out" / "predictions.csv").read_text().splitlines()
    assert rows[0].startswith("~id,prediction") and len(rows) == 1 + graph.split["test"].numel()
    emb = torch.load(tmp_path / "out" / "embeddings.pt", weights_only=True)
    assert emb["embeddings"].shape == (graph.split["test"].numel(), 8)


def test_parse_arguments_splits_options_from_hyperparameters():
    opts, hps = parse_arguments(["--model", "rgcn", "--eval_metric=F1", "--num-hidden", "32", "--fanout", "[5, 5]"])
    assert opts == {"model": "rgcn", "eval-metric": "F1"} and hps == {"num-hidden": "32", "fanout": "[5, 5]"}
    with pytest.raises(SpecError, match="--lr has no value"):
        parse_arguments(["--lr"])
    with pytest.raises(SpecError, match="expected --name value, got 'rgcn'"):
        parse_arguments(["rgcn"])


def test_main_refuses_a_hyperparameter_of_another_model(tmp_path, graph, capsys, monkeypatch):
    graph.save(tmp_path / "g")
    monkeypatch.setenv("HYPERJOB_CHANNEL_TRAIN", str(tmp_path / "g"))
    assert main(["--model", "rgcn", "--gamma", "12"]) == 2
    assert "'gamma' does not apply to model 'rgcn' on task 'node_class'" in capsys.readouterr().err
    monkeypatch.delenv("HYPERJOB_CHANNEL_TRAIN")
    monkeypatch.delenv("SM_CHANNEL_TRAIN", raising=False)
    assert main(["--model", "rgcn"]) == 2
    assert "no train channel" in capsys.readouterr().err


def test_a_refused_hyperparameter_exits_before_torch_is_imported(tmp_path, graph):
    import subprocess
    import sys

    graph.save(tmp_path / "g")
    code = ("import sys; from hyperjob.algorithms.graph.train import main; "
            f"rc = main(['--model', 'rgcn', '--train', {str(tmp_path / 'g')!r}, '--num-negs', '4']); "
            "print(rc, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["2", "False"], out.stderr
    assert "'num-negs' does not apply to model 'rgcn' on task 'node_class'" in out.stderr


@pytest.mark.parametrize("model", ["rgcn", "rotate"])
def test_same_seed_same_training_job(model):
    g = synthetic.planted_partition("link_prediction", num_users=40, num_items=15) if model == "rgcn" else \
        synthetic.relational_kg(num_entities=30, num_edges=90)
    hp = {"num-hidden": 8, "num-epochs": 2, "batch-size": 32}
    if model == "rgcn":
        hp["fanout"] = [3, 3]
    runs = [train(g, model, hp, seed=s, log=lambda s: None, report=lambda **m: None) for s in (5, 5, 6)]
    assert runs[0].evaluations == runs[1].evaluations
    assert runs[0].evaluations != runs[2].evaluations
