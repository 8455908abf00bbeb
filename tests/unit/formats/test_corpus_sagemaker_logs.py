"""``hyperjob validate REQUEST --log sample.log`` on corpus requests: the regexes real requests carry, and the ones
hyperjob ships for built-in algorithms, checked against log lines as the programs print them.

The corpus' own regexes (``loss: ([0-9\\.]+)``, ``AE-at-50th-percentile: ([0-9.]+).*$``) cannot read a sign or an
exponent: a logged ``1.2e-05`` is read as ``1.2``. ``validate`` says so without a log, and with a log it names the
lines it misreads and exits 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hyperjob.cli.app import app
from hyperjob.formats.validate import validate_file
from _corpus import CORPUS_ROOT, need

CORPUS = CORPUS_ROOT / "sagemaker" / "requests"


def request(prefix: str) -> Path:
    found = sorted(CORPUS.glob(f"{prefix}-*.json"))
    return need(found[0] if found else CORPUS / f"{prefix}-missing.json")


def validate(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["validate", *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_without_a_log_the_narrow_regex_is_named(tmp_path):
    code, out = validate(str(request("03")))
    assert code == 0
    section = out.split("metric regexes:", 1)[1]
    assert "loss: the capture group ([0-9\\.]+) does not read a minus sign" in section
    assert "does not read an exponent: a logged 1.2e-05 is read as 1.2" in section


def test_a_log_with_an_exponent_and_a_sign_is_not_ok(tmp_path):
    log = tmp_path / "keras.log"
    log.write_text("Epoch 1/1\nloss: 0.6931\nloss: 1.2e-05\nloss: -0.25\n")
    code, out = validate(str(request("03")), "--log", str(log))
    assert code == 2
    assert "line 3: read 1.2 from '1.2e-05': the exponent is cut off." in out
    assert "'loss: -0.25' holds 'loss:' but yields no value" in out
    assert out.rstrip().endswith("NOT OK: fix the metric definitions above.")


def test_script_mode_regex_with_an_exponent_is_not_ok(tmp_path):
    log = tmp_path / "rf.log"
    log.write_text("AE-at-10th-percentile: 0.05\nAE-at-50th-percentile: 3.5e-02\nAE-at-90th-percentile: 0.4\n")
    report = validate_file(request("11"), log)
    (check,) = report.metrics
    assert check.values == 1 and check.first == 3.5  # what SageMaker would read too
    assert check.misreads == ("line 2: read 3.5 from '3.5e-02': the exponent is cut off. "
                              "Use ([-+]?[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?).",)
    assert not report.ok


def test_a_plain_log_of_the_same_program_is_ok(tmp_path):
    log = tmp_path / "rf.log"
    log.write_text("AE-at-10th-percentile: 0.05\nAE-at-50th-percentile: 0.21\nAE-at-90th-percentile: 0.4\n")
    code, out = validate(str(request("11")), "--log", str(log))
    assert code == 0 and "metric 'median-AE': 1 values (first 0.21, last 0.21)" in out


@pytest.mark.parametrize("prefix, lines, values", [
    # xgboost as it prints locally (tabs) and as CloudWatch shows it (#011), a negative and an exponent
    ("01", ["[0]\ttrain-auc:0.81\tvalidation-auc:0.79", "[1]#011train-auc:0.85#011validation-auc:0.8",
            "[2]\ttrain-auc:0.9\tvalidation-auc:8.1e-01",
            "[3]#011train-auc:0.91#011validation-auc:0.82#011validation-error:0.1"], [0.79, 0.8, 0.81, 0.82]),
    ("05", ["[0]\ttrain-rmse:3.1\tvalidation-rmse:3.4", "[1]\ttrain-rmse:2.2\tvalidation-rmse:2.5e+00"], [3.4, 2.5]),
    # image-classification: MXNet's lines, which hyperjob's own algorithm prints too
    ("08", ["Epoch[0] Train-accuracy=0.512000", "Epoch[0] Train-loss=1.93", "Epoch[0] Validation-accuracy=0.487",
            "Epoch[0] Validation-top_k_accuracy_5=0.81", "Epoch[1] Validation-accuracy=0.912345"], [0.487, 0.912345]),
    # first-party algorithms: "#quality_metric" lines
    ("20", ["#quality_metric: host=algo-1, epoch=0, batch=0 train rmse <loss>=1.2",
            "#quality_metric: host=algo-1, test rmse <loss>=0.9321"], [0.9321]),
])
def test_builtin_algorithm_regexes_read_their_log_lines(tmp_path, prefix, lines, values):
    log = tmp_path / "builtin.log"
    log.write_text("\n".join(lines) + "\n")
    report = validate_file(request(prefix), log)
    (check,) = report.metrics
    assert report.ok, [(m.why_no_match, m.misreads, m.skipped) for m in report.metrics]
    got = [r.metrics[check.name] for r in report.lines]
    assert got == values
