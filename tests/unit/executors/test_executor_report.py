"""hyperjob.report(): the metrics file, the by-hand mode, validation, and its import cost."""

from __future__ import annotations

import importlib
import json
import math
import subprocess
import sys

import pytest

from hyperjob.errors import SpecError
from hyperjob.executors.metrics import ReportFileReader
from hyperjob.report import METRICS_FILE_ENV, report

# not `import hyperjob.report as ...`: once `hyperjob.report` names the function (hyperjob/__init__ binds it
# lazily), that form gives the function
report_module = importlib.import_module("hyperjob.report")


@pytest.fixture
def metrics_file(tmp_path, monkeypatch):
    path = tmp_path / "metrics.jsonl"
    monkeypatch.setenv(METRICS_FILE_ENV, str(path))
    yield path
    state = report_module._files.pop(str(path), None)
    if state is not None:
        import os

        os.close(state[0])


def test_report_appends_json_lines_with_steps(metrics_file) -> None:
    report(step=3, loss=0.25, acc=1)
    report(loss=float("nan"))  # no step: the number of earlier calls
    report(**{'val "loss"\n': -1.5e-300, "é": float("inf")})
    lines = metrics_file.read_text().splitlines()

    def strict(name: str) -> None:
        raise ValueError(f"not strict JSON: {name}")

    first, second, third = (json.loads(line, parse_constant=strict) for line in lines)
    assert first["step"] == 3 and first["metrics"] == {"loss": 0.25, "acc": 1.0}
    assert isinstance(first["time"], float) and first["time"] > 1e9
    assert second["step"] == 1 and second["metrics"]["loss"] == "NaN"  # strict JSON: non-finite as a string
    assert third["metrics"] == {'val "loss"\n': -1.5e-300, "é": "Infinity"}
    values = ReportFileReader(metrics_file).read()  # and read back as the floats they were
    assert math.isnan(values[2].value) and values[4].value == math.inf and values[3].value == -1.5e-300


def test_report_lines_are_read_back_by_the_executor_reader(metrics_file) -> None:
    report(step=0, loss=0.5)
    report(step=1, loss=0.4)
    values = ReportFileReader(metrics_file).read()
    assert [(v.name, v.value, v.step) for v in values] == [("loss", 0.5, 0), ("loss", 0.4, 1)]


def test_report_accepts_numpy_values_and_steps(metrics_file) -> None:
    np = pytest.importorskip("numpy")
    report(step=np.int64(2), loss=np.float32(0.5))
    assert json.loads(metrics_file.read_text())["metrics"] == {"loss": 0.5}


def test_report_by_hand_prints_a_line_and_writes_nothing(monkeypatch, capsys, tmp_path) -> None:
    monkeypatch.delenv(METRICS_FILE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    report(step=2, loss=0.5, acc=0.75)
    out = capsys.readouterr().out
    assert out == "hyperjob.report: step 2: loss=0.5 acc=0.75\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("step", [-1, 1.5, True, "3"])
def test_report_refuses_a_bad_step(step, metrics_file) -> None:
    with pytest.raises(SpecError, match=f"step must be an int >= 0, got {step!r}"):
        report(step=step, loss=1.0)
    assert not metrics_file.exists()


def test_report_refuses_no_metric_and_non_numbers(metrics_file) -> None:
    with pytest.raises(SpecError, match="without any metric"):
        report(step=1)
    with pytest.raises(SpecError, match="metric 'loss' must be a number, got 'low'"):
        report(step=1, loss="low")
    assert not metrics_file.exists()


def test_the_module_is_callable_like_the_function(metrics_file) -> None:
    report_module(step=4, loss=0.1)  # what `from hyperjob import report` may give
    assert json.loads(metrics_file.read_text())["step"] == 4


def test_from_hyperjob_import_report_is_callable_in_any_import_order(tmp_path) -> None:
    code = (
        "import hyperjob.report\n"
        "from hyperjob import report\n"
        "report(step=1, loss=0.5)\n"
    )
    env = {"PATH": "/usr/bin:/bin", METRICS_FILE_ENV: str(tmp_path / "m.jsonl")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)
    assert json.loads((tmp_path / "m.jsonl").read_text())["metrics"] == {"loss": 0.5}


def test_importing_report_loads_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from hyperjob import report\n"
        "report(step=0, loss=1.0)\n"
        "heavy = [m for m in ('torch', 'numpy', 'pydantic', 'sqlalchemy') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60, env={"PATH": "/bin"}
    ).stdout
    assert out.splitlines()[-1] == ""
