"""Input channels: ``--channel NAME=PATH|URL``, job.yaml and SageMaker S3 channels fetched from a real S3 server.

The S3 server is moto's, on 127.0.0.1 (tests/_s3.py); the tuning jobs run through the real CLI (typer's
CliRunner, in this process) and their training jobs are real subprocesses that read ``SM_CHANNEL_<NAME>``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _corpus import CORPUS_ROOT, need
from typer.testing import CliRunner

from hyperjob.cli.app import app

PROGRAM = """\
import os, sys
from hyperjob import report
folder = os.environ["SM_CHANNEL_TRAIN"]
assert folder == os.environ["HYPERJOB_CHANNEL_TRAIN"], "both names"
value = float(open(os.path.join(folder, "sub", "value.txt")).read())
report(score=value, files=len(os.listdir(folder)))
"""


def hj(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HYPERJOB_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "prog.py").write_text(PROGRAM)
    return tmp_path


def job_yaml(work: Path, channel: str, name: str = "chan") -> Path:
    path = work / "job.yaml"
    path.write_text(
        f"name: {name}\n"
        "program:\n"
        "  command: [python, prog.py]\n"
        f"  channels: {{train: {json.dumps(channel)}}}\n"
        "hyperparameter_ranges: {x: {min_value: 0.0, max_value: 1.0}}\n"
        "objective: {metric: score, type: maximize}\n"
        "strategy: random\n"
        "limits: {max_jobs: 2, max_parallel_jobs: 2}\n"
    )
    return path


def described(name: str) -> dict:
    code, out, err = hj("describe", name, "--json")
    assert code == 0, err
    return json.loads(out)


def test_an_s3_channel_in_job_yaml_is_fetched_once_and_read_by_every_job(s3_env, work: Path) -> None:
    bucket = s3_env.bucket()
    s3_env.put(f"{bucket}/data/train/sub/value.txt", "0.75")
    s3_env.put(f"{bucket}/data/train/other.csv", "a,b\n")
    code, out, err = hj("tune", str(job_yaml(work, f"s3://{bucket}/data/train")), "-q")
    assert code == 0, out + err
    d = described("chan")
    assert d["TrainingJobStatusCounters"]["Completed"] == 2
    assert d["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 0.75
    assert len(list((work / "cache" / "fetch").iterdir())) == 1  # one copy for both training jobs
    # the stored spec keeps the URL (warm start and describe compare what the user gave)
    assert d["TrainingJobDefinition"]["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == \
        f"s3://{bucket}/data/train"


def test_channel_flag_replaces_the_spec_s_channel(work: Path) -> None:
    (work / "local" / "sub").mkdir(parents=True)
    (work / "local" / "sub" / "value.txt").write_text("0.25")
    code, out, err = hj("tune", str(job_yaml(work, "s3://never-read/x")), "--channel", "train=local", "-q",
                        "--max-jobs", "1")
    assert code == 0, out + err
    assert described("chan")["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 0.25
    assert described("chan")["TrainingJobStatusCounters"]["Completed"] == 1  # --max-jobs is the budget


@pytest.mark.parametrize("where, message", [
    ("s3://hj-no-such-bucket-17/x", r"the input channel 'train' cannot be read: .*the bucket 'hj-no-such-bucket-17' "
                                    r"does not exist.* Or give a local copy: --channel train=PATH\.$"),
    ("nope/missing", r"the input channel 'train' is .*nope/missing, which does not exist\. Create it, or give"),
])
def test_an_unreadable_channel_is_one_line_before_any_job(s3_env, work: Path, where: str, message: str) -> None:
    code, out, err = hj("tune", str(job_yaml(work, "x")), "--channel", f"train={where}", "-q")
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1
    import re

    assert re.search(message, lines[0]), lines[0]
    assert not (work / "hyperjob-runs").exists()  # no tuning job, no training job


def test_a_bad_channel_flag_says_the_form(work: Path) -> None:
    code, out, err = hj("tune", str(job_yaml(work, "x")), "--channel", "train", "-q")
    assert code == 2 and "--channel 'train' is not NAME=PATH or NAME=URL" in err


def test_the_script_mode_request_with_its_s3_channel_runs(s3_env, work: Path) -> None:
    """Request 10 (PyTorch MNIST, script mode) failed 3 of 3 with KeyError 'SM_CHANNEL_TRAINING': now its
    InputDataConfig S3 channel is fetched from the S3 server and the job sees it."""
    request = json.loads(need(CORPUS_ROOT / "sagemaker" / "requests" /
                              "10-examples-pytorch-mnist-script-mode.json").read_text())
    bucket = s3_env.bucket()
    s3_env.put(f"{bucket}/mnist/sub/value.txt", "0.5")
    channel = request["TrainingJobDefinition"]["InputDataConfig"][0]
    assert channel["ChannelName"] == "training"
    channel["DataSource"]["S3DataSource"]["S3Uri"] = f"s3://{bucket}/mnist"
    (work / "request.json").write_text(json.dumps(request))
    (work / "prog.py").write_text(PROGRAM.replace("TRAIN\"", "TRAINING\"").replace("score=", "**{os.environ["
                                  "'HYPERJOB_OBJECTIVE_METRIC']: value}, x="))
    code, out, err = hj("tune", "request.json", "--max-jobs", "1", "-q", "--", "python", "prog.py")
    assert code == 0, out + err
    d = described(request["HyperParameterTuningJobName"])
    assert d["TrainingJobStatusCounters"]["Completed"] == 1


def test_validate_checks_a_channel_flag_and_takes_a_command(s3_env, work: Path) -> None:
    request = need(CORPUS_ROOT / "sagemaker" / "requests" / "03-examples-keras-byo-container-metricdefs.json")
    code, out, err = hj("validate", str(request), "--channel", "train=s3://hj-no-such-bucket-17/x", "--",
                        "python", "prog.py")
    assert code == 0, out + err
    assert "program:        python prog.py" in out or "python prog.py" in out
    assert "the request names no local program" not in out  # the command was taken
    assert "the input channel 'train' cannot be read now" in out and "hj-no-such-bucket-17" in out
    # a regex problem is shown once (under "metric regexes"), not also as a warning
    assert out.count("does not read a minus sign") == 1
