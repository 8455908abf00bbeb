"""Warm start rule 9 (issue 17): identical_data_and_algorithm needs the parents' program and input channels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hyperjob.cli.app import app

PROGRAM = "from hyperjob import report\nimport sys\nreport(loss=0.5)\n"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def spec(work: Path, name: str, *, command: str = "prog.py", channel: str = "a", warm: str | None = None,
         parents: str = "parent") -> Path:
    path = work / f"{name}.yaml"
    text = (f"name: {name}\nprogram: {{command: [python, {command}], channels: {{train: {channel}}}}}\n"
            "hyperparameter_ranges: {x: {min_value: 0.0, max_value: 1.0}}\n"
            "objective: {metric: loss, type: minimize}\nstrategy: random\nlimits: {max_jobs: 1}\n")
    if warm:
        text += f"warm_start: {{parents: [{parents}], type: {warm}}}\n"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("ws-program")
    for name in ("prog.py", "other.py"):
        (d / name).write_text(PROGRAM)
    for channel in ("a", "b"):
        (d / channel).mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(d)
        code, out, err = run("tune", str(spec(d, "parent")), "--store", "s.db", "-q")
    assert code == 0, out + err
    return d


@pytest.mark.parametrize("kwargs, message", [
    ({"channel": "b"}, r"the parent 'parent' read other input data than this tuning job \(train: .*/a -> .*/b\)\. "
                       r"identical_data_and_algorithm needs the same input data"),
    ({"command": "other.py"}, r"the parent 'parent' ran the command 'python prog.py', this tuning job runs the "
                              r"command 'python other.py'\. identical_data_and_algorithm needs the same training "
                              r"program"),
])
def test_identical_data_and_algorithm_refuses_other_data_or_another_program(work: Path, monkeypatch, kwargs,
                                                                          message) -> None:
    monkeypatch.chdir(work)
    child = spec(work, "child", warm="identical_data_and_algorithm", **kwargs)
    code, out, err = run("tune", str(child), "--store", "s.db", "-q")
    assert code == 2
    import re

    assert re.search(message, err), err
    assert "warm_start.parents[0]" in err
    code, out, _ = run("list", "--store", "s.db")
    assert "child" not in out  # a refused child leaves no trace


def test_the_same_program_and_data_pass_and_transfer_learning_takes_new_data(work: Path, monkeypatch) -> None:
    monkeypatch.chdir(work)
    code, out, err = run("tune", str(spec(work, "same", warm="identical_data_and_algorithm")), "--store", "s.db",
                         "-q")
    assert code == 0, out + err
    code, out, err = run("tune", str(spec(work, "newdata", channel="b", command="other.py",
                                          warm="transfer_learning")), "--store", "s.db", "-q")
    assert code == 0, out + err
    code, out, _ = run("describe", "newdata", "--store", "s.db", "--json")
    assert json.loads(out)["WarmStartConfig"]["WarmStartType"] == "TransferLearning"
