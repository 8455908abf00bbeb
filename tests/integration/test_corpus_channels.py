"""Every request of the corpus that names data runs unchanged, with local channels given on the command line.

Each of the 23 ``CreateHyperParameterTuningJob`` requests in ``../shared/corpus/sagemaker/requests`` is run by
the real CLI as a user would: ``hyperjob tune REQUEST --channel NAME=DIR ... --max-jobs 1``, the request file
untouched. The image-classification requests (five RecordIO ones, one ``.lst`` one) run hyperjob's built-in
image classifier on tiny data the test writes (RecordIO through ``hyperjob.algorithms.image_classification.
recordio``); the others run a tiny program (``-- python prog.py``) that fails unless every ``SM_CHANNEL_<NAME>``
the request names is a folder with its file, and reports the request's objective. Requests 13 and 14 warm-start
from 12 (same store). They run in this process through typer's CliRunner (the tuner's imports, BoTorch above all,
once), one after the other; training jobs are real subprocesses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _corpus import CORPUS_ROOT, need

REQUESTS = CORPUS_ROOT / "sagemaker" / "requests"
IMAGE = ("08", "09", "12", "13", "14", "18")
PROGRAM = """\
import json, os, sys
from hyperjob import report
names = json.loads(os.environ["SM_CHANNELS"])
for name in names:
    folder = os.environ["SM_CHANNEL_" + name.upper()]
    if not os.path.isfile(os.path.join(folder, name + ".csv")):
        sys.exit("channel " + name + " is not " + folder)
report(**{os.environ["HYPERJOB_OBJECTIVE_METRIC"]: 0.5, "channels_seen": len(names)})
"""


def _images(root: Path, per_class: int, rng: np.random.Generator) -> None:
    from PIL import Image

    for c in range(2):
        (root / str(c)).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray((rng.random((224, 224, 3)) * 255).astype("uint8")).save(root / str(c) / f"{i}.jpg")


def _channels_of(path: Path) -> list[str]:
    from hyperjob.formats import load_spec

    return sorted(load_spec(path, command=["python", "x"]).program.channels)


def _command(request: Path, d: Path, store: Path) -> list[str]:
    number = request.name[:2]
    args = [sys.executable, "-m", "hyperjob", "tune", str(request), "--store", str(store), "--max-jobs", "1", "-q"]
    if number == "09":  # images beside .lst files in channels of their own (SageMaker's lst layout)
        return args + [f"--channel={n}={d / 'lst' / n}" for n in ("train", "validation", "train_lst",
                                                                   "validation_lst")]
    if number in IMAGE:
        return args + [f"--channel=train={d / 'rec' / 'train'}", f"--channel=validation={d / 'rec' / 'validation'}"]
    args += [f"--channel={n}={d / 'data' / n}" for n in _channels_of(request)]
    return args + ["--", sys.executable, str(d / "prog.py")]


@pytest.fixture(scope="module")
def corpus_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    need(REQUESTS)
    from hyperjob.algorithms.image_classification.recordio import im2rec

    d = tmp_path_factory.mktemp("corpus-channels")
    rng = np.random.default_rng(17)
    (d / "prog.py").write_text(PROGRAM)
    for split, per_class in (("train", 1), ("validation", 1)):
        _images(d / "imgs" / split, per_class, rng)
        (d / "rec" / split).mkdir(parents=True)
        im2rec(d / "rec" / split / split, d / "imgs" / split)  # .rec + .idx
    (d / "rec" / "validation" / "validation.idx").unlink()  # a .rec without its .idx is read too
    for split in ("train", "validation"):  # request 09: images in one channel, the .lst file in another
        _images(d / "lst" / split, 1, rng)
        (d / "lst" / f"{split}_lst").mkdir()
        (d / "lst" / f"{split}_lst" / f"{split}.lst").write_text("0\t0\t0/0.jpg\n1\t1\t1/0.jpg\n")
    requests = sorted(REQUESTS.glob("*.json"))
    for request in requests:
        for name in _channels_of(request):
            (d / "data" / name).mkdir(parents=True, exist_ok=True)
            (d / "data" / name / f"{name}.csv").write_text("1,2\n")
    runs: dict[str, tuple[subprocess.CompletedProcess, Path]] = {}
    from typer.testing import CliRunner

    from hyperjob.cli.app import app

    runner = CliRunner()
    old_cwd = os.getcwd()
    old_cache = os.environ.get("HYPERJOB_CACHE_DIR")
    os.environ["HYPERJOB_CACHE_DIR"] = str(d / "cache")
    try:  # in this process (the tuner's imports once), one after the other; 12 before 13 before 14
        for request in requests:
            number = request.name[:2]
            store = d / ("ic.db" if number in ("12", "13", "14") else f"{number}.db")
            work = d / f"run-{number}"
            work.mkdir()
            os.chdir(work)
            args = _command(request, d, store)[3:]  # without `python -m hyperjob`
            result = runner.invoke(app, args)
            runs[number] = (subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr), store)
    finally:
        os.chdir(old_cwd)
        if old_cache is None:
            os.environ.pop("HYPERJOB_CACHE_DIR", None)
        else:
            os.environ["HYPERJOB_CACHE_DIR"] = old_cache
    return runs


def _ids() -> list[str]:
    return sorted(p.name for p in REQUESTS.glob("*.json")) if REQUESTS.is_dir() else ["corpus-missing"]


@pytest.mark.slow
@pytest.mark.parametrize("request_file", _ids())
def test_request_runs_unchanged_with_local_channels(corpus_runs, request_file: str) -> None:
    proc, store = corpus_runs[request_file[:2]]
    assert proc.returncode == 0, f"{request_file}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.stdout.startswith("Completed: MaxNumberOfTrainingJobs reached (1)"), proc.stdout
    name = json.loads((REQUESTS / request_file).read_text())["HyperParameterTuningJobName"]
    from typer.testing import CliRunner

    from hyperjob.cli.app import app

    result = CliRunner().invoke(app, ["describe", name, "--store", str(store), "--json"])
    assert result.exit_code == 0, result.output
    described = json.loads(result.stdout)
    assert described["TrainingJobStatusCounters"]["Completed"] == 1
    best = described["BestTrainingJob"]
    objective = described["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["MetricName"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == objective
    if request_file[:2] not in IMAGE:  # the tiny program saw every channel and reported the objective
        assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 0.5
