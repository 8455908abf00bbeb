"""``hyperjob validate``: the spec summary, and metric regexes checked against sample log lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hyperjob.errors import SpecError
from hyperjob.formats.validate import explain_regex, literal_prefix, render, validate_file

FIXTURES = Path(__file__).parents[2] / "fixtures" / "specs"

SPEC = """\
name: demo
program: {{command: [python, train.py]}}
hyperparameter_ranges:
  lr: {{min: 0.001, max: 0.1}}
  opt: {{values: [sgd, adam]}}
objective: {{metric: {objective}, type: maximize}}
metric_definitions:
{metrics}
limits: {{max_jobs: 4}}
"""


def spec_with(tmp_path: Path, metrics: dict[str, str], objective: str | None = None) -> Path:
    lines = "\n".join(f"  - {{name: {name}, regex: '{regex}'}}" for name, regex in metrics.items())
    path = tmp_path / "job.yaml"
    path.write_text(SPEC.format(metrics=lines, objective=objective or next(iter(metrics))))
    return path


def log_with(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sample.log"
    path.write_text(text)
    return path


def test_fixture_spec_and_log_are_ok():
    report = validate_file(FIXTURES / "job.yaml", FIXTURES / "sample.log")
    assert report.ok
    assert [r.number for r in report.lines] == [2, 3, 4, 5]
    assert report.lines[2].metrics == {"loss": 1.2e-05, "val_acc": 0.91}
    assert report.lines[3].metrics["loss"] == -0.02
    by = {m.name: m for m in report.metrics}
    assert by["val_acc"].values == 4 and by["val_acc"].first == 0.71 and by["val_acc"].last == 0.93
    text = render(report)
    assert "line 4: val_acc=0.91, loss=1.2e-05" in text
    assert "metric 'val_acc': 4 values (first 0.71, last 0.93)" in text
    assert text.rstrip().endswith("OK: every metric definition reads values from the sample log.")


def test_summary_names_the_spec():
    report = validate_file(FIXTURES / "job.yaml")
    summary = dict(report.summary)
    assert summary["name"] == "mnist-mlp-1"
    assert summary["strategy"] == "random"
    assert summary["ranges"].startswith("6 (2 continuous, 2 integer, 1 categorical, 1 discrete)")
    assert summary["objective"] == "maximize val_acc"
    assert "max_jobs 20" in summary["limits"] and "timeout_s 600.0" in summary["limits"]
    assert summary["warm start"] == "transfer_learning from mnist-mlp-0"
    assert report.ok and report.log is None


def test_sagemaker_request_without_program_is_reported_not_refused(tmp_path):
    report = validate_file(FIXTURES / "sagemaker-local.json")
    assert dict(report.summary)["program"] == "python train.py"
    data = json.loads((FIXTURES / "sagemaker-local.json").read_text())
    del data["HyperjobProgram"]
    request = tmp_path / "request.json"
    request.write_text(json.dumps(data))
    report = validate_file(request)
    assert dict(report.summary)["program"] == "none given"
    assert any("-- python train.py" in n for n in report.notes)


def test_invalid_spec_raises_the_loaders_error(tmp_path):
    path = spec_with(tmp_path, {"loss": "loss: [0-9.]+"})
    with pytest.raises(SpecError, match=r"metric_definitions\[0\]\.regex: .*no capture group"):
        validate_file(path)


@pytest.mark.parametrize(
    "regex, log, reason",
    [
        ("Loss: ([0-9.]+)", "epoch 1 loss: 0.5\n", "only when case is ignored"),
        ("^loss=([0-9.]+)", "[12:00] loss=0.5\n", "anchored"),
        ("loss=([0-9.]+)$", "loss=0.5 (best)\n", "anchored"),
        ("epoch\\\\.loss ([0-9.]+)", "epoch.loss 0.5\n", "escaped twice"),
        ("Top(1) acc: ([0-9.]+)", "Top(1) acc: 0.7\n", "escape it as '\\(' and '\\)'"),
        ("loss: ([0-9.]+)", "loss: -0.25\n", "cannot read the value '-0.25'"),
        ("loss: ([0-9]+)", "loss: .5\n", "cannot read the value '.5'"),
        ("val_acc=([0-9.]+)", "val-acc 0.5\nsomething else\n", "'val_acc=', occurs in no line"),
        ("val_acc=([0-9.]+)", "val-acc 0.5\nsomething else\n", "The closest is line 1"),
        ("acc: ([0-9.]+)%", "acc: 91.5 %\n", "then the regex expects"),
    ],
)
def test_why_a_regex_matched_nothing(tmp_path, regex, log, reason):
    report = validate_file(spec_with(tmp_path, {"m": regex}), log_with(tmp_path, log))
    assert not report.ok
    (check,) = report.metrics
    assert check.values == 0
    assert any(reason in why for why in check.why_no_match), check.why_no_match
    text = render(report)
    assert "metric 'm': no line yields a value" in text and reason in text
    assert "NOT OK" in text


def test_misread_values_make_the_report_not_ok(tmp_path):
    report = validate_file(
        spec_with(tmp_path, {"loss": "loss=([0-9.]+)", "acc": "acc ([0-9.]+)"}),
        log_with(tmp_path, "loss=1.5e-03 acc -0.5\nloss=0.2 acc 0.4\n"),
    )
    by = {m.name: m for m in report.metrics}
    assert by["loss"].values == 2 and by["loss"].first == 1.5
    assert any("read 1.5 from '1.5e-03': the exponent is cut off" in m for m in by["loss"].misreads)
    assert by["acc"].values == 1  # only line 2; the minus sign on line 1 breaks the match
    assert not report.ok


def test_lines_holding_the_text_but_yielding_nothing_are_reported(tmp_path):
    report = validate_file(spec_with(tmp_path, {"loss": "loss: ([0-9.]+)"}),
                           log_with(tmp_path, "loss: 0.5\nloss: -0.25\nloss: nan\n"))
    (check,) = report.metrics
    assert check.values == 1
    assert len(check.skipped) == 2
    assert check.skipped[0].startswith("line 2: 'loss: -0.25' holds 'loss:' but yields no value")
    assert "'-0.25'" in check.skipped[0] and "line 3" in check.skipped[1]
    assert not report.ok
    assert "holds 'loss:' but yields no value" in render(report)


def test_static_regex_problems_are_listed(tmp_path):
    report = validate_file(spec_with(tmp_path, {"val.acc": "val.acc=([0-9.]+)"}))
    (check,) = report.metrics
    assert any("not escaped" in p and "'\\.'" in p for p in check.problems)
    assert any("does not read a minus sign" in p for p in check.problems)
    assert "metric regexes:" in render(report)


def test_lines_yielding_nothing_are_counted_not_listed(tmp_path):
    report = validate_file(spec_with(tmp_path, {"loss": "loss=([-0-9.eE+]+)"}),
                           log_with(tmp_path, "hello\nloss=0.5\r\nbye\rloss=0.25\n"))
    assert report.line_count == 4
    assert [(r.number, r.metrics) for r in report.lines] == [(2, {"loss": 0.5}), (4, {"loss": 0.25})]
    assert report.ok


def test_missing_log_file_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError, match=r"nope\.log: cannot read the sample log"):
        validate_file(FIXTURES / "job.yaml", tmp_path / "nope.log")


def test_program_not_found_is_noted(tmp_path):
    path = tmp_path / "job.yaml"
    path.write_text(SPEC.format(metrics="  - {name: m, regex: 'm(1)'}", objective="m").replace(
        "[python, train.py]", "[no-such-program-xyz]"))
    report = validate_file(path)
    assert any("'no-such-program-xyz' is not on the PATH" in n for n in report.notes)


@pytest.mark.parametrize(
    "regex, prefix",
    [("loss: ([0-9.]+)", "loss: "), (".*\\[[0-9]+\\].*#011validation-auc:([0-9.]+)", "#011validation-auc:"),
     ("Test set: Average loss: ([0-9\\.]+)", "Test set: Average loss: "), ("(\\d+) items", ""),
     ("val_accs?=([0-9.]+)", "="), ("a\\.b\\(c\\) ([0-9]+)", "a.b(c) ")],
)
def test_literal_prefix(regex, prefix):
    assert literal_prefix(regex) == prefix


def test_explain_regex_on_an_empty_log():
    assert explain_regex("x(1)", []) == ["the log is empty."]
