"""Experiments that hold up, as a user runs them: a real training program whose quality depends on its period,
real subprocesses, a real SQLite store, the results CSV in a folder and on a real S3-compatible server."""

from __future__ import annotations

import csv
import io
import json
import statistics
import sys
from pathlib import Path

import pytest
from scipy import stats

from _cli import hj

PROGRAM = str(Path(__file__).parents[1] / "fixtures" / "programs" / "periodic.py")
MONTHS = [["2024-01-01", "2024-01-31"], ["2024-02-01", "2024-02-29"], ["2024-03-01", "2024-03-31"]]


def job_yaml(folder: Path, name: str, values: list[int], periods: str, extra: str = "") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(f"""
name: {name}
program: {{command: [{sys.executable!r}, {PROGRAM!r}]}}
hyperparameter_ranges:
  x: {{type: categorical, values: {values}}}
static_hyperparameters: {{epochs: 5}}
objective: {{metric: loss, type: minimize}}
metric_definitions:
  - {{name: loss, regex: 'loss=([-+0-9.eE]+)'}}
  - {{name: mse, regex: 'mse=([-+0-9.eE]+)'}}
  - {{name: train_time, regex: 'train_time=([-+0-9.eE]+)'}}
strategy: {{name: grid}}
limits: {{max_parallel_jobs: 2}}
periods: {periods}
{extra}
""")
    return path


def describe(name: str, folder: Path) -> dict:
    return json.loads(hj("describe", name, "--json", "--store", "s.db", cwd=folder).stdout)


@pytest.fixture(scope="module")
def periodic(tmp_path_factory) -> tuple[Path, dict]:
    """One tuning job over three monthly periods (x=2 wins January, x=3 wins on average), run once."""
    folder = tmp_path_factory.mktemp("periodic")
    spec = job_yaml(folder, "three", [1, 2, 3], json.dumps({"dates": MONTHS}),
                    f"results: {{url: {str(folder / 'out' / 'results.csv')!r}}}")
    tuned = hj("tune", str(spec), "--store", "s.db", "-q", cwd=folder)
    assert "best configuration: c2 (first training job three-006)  loss = 0.988333, the mean of 3 periods" in tuned.stdout
    return folder, describe("three", folder)


def test_a_configuration_that_wins_one_period_but_loses_on_average_is_not_the_winner(periodic):
    folder, d = periodic
    e = d["Experiment"]
    best, runner = e["BestConfiguration"], e["RunnerUp"]
    assert best["TunedHyperParameters"] == {"x": 3} and runner["TunedHyperParameters"] == {"x": 1}
    january = {c["TunedHyperParameters"]["x"]: c for c in (best, runner)}
    assert best["Values"] == pytest.approx([1.105, 0.905, 0.955])
    assert best["Aggregate"] == pytest.approx(statistics.mean(best["Values"]))
    assert d["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(best["Aggregate"])
    # a single period, January, crowns x=2 (0.205): it is not the winner over the three months
    alone = job_yaml(folder, "january", [1, 2, 3], json.dumps({"dates": MONTHS[:1]}))
    hj("tune", str(alone), "--store", "s.db", "-q", cwd=folder)
    assert describe("january", folder)["Experiment"]["BestConfiguration"]["TunedHyperParameters"] == {"x": 2}
    assert 3 in january and e["Configurations"] == {"Completed": 3, "InProgress": 0, "Failed": 0}


def test_the_winner_tests_numbers_are_scipys_on_the_same_values(periodic):
    folder, d = periodic
    e = d["Experiment"]
    a, b = e["BestConfiguration"]["Values"], e["RunnerUp"]["Values"]
    diff = [y - x for x, y in zip(a, b)]  # the best's advantage (the loss is minimized)
    test = e["WinnerTest"]
    assert test["p_value"] == pytest.approx(stats.wilcoxon(diff).pvalue)
    low, high = stats.t.interval(0.95, 2, loc=statistics.mean(diff), scale=stats.sem(diff))
    assert (test["ci_low"], test["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    assert test["better"] == 2 and not test["significant"]
    assert test["verdict"].startswith("not distinguishable from the runner-up at 95 % (better in 2 of 3 periods")
    text = hj("describe", "three", "--store", "s.db", cwd=folder).stdout
    assert "best configuration: c2 loss = 0.988333 (periods: 1.105, 0.905, 0.955)" in text
    assert "verdict: c2 not distinguishable from the runner-up at 95 %" in text
    best = json.loads(hj("best", "three", "--json", "--store", "s.db", cwd=folder).stdout)
    assert best["Configuration"] == "c2" and best["HyperParameters"] == {"epochs": 5, "x": 3}
    assert best["PeriodValues"]["2024-02-01..2024-02-29"] == pytest.approx(0.905) and len(best["ModelDirs"]) == 3
    named = json.loads(hj("compare", "three", "c1", "c2", "--json", "--store", "s.db", cwd=folder).stdout)
    assert named["WinnerTest"]["better"] == 1 and named["WinnerTest"]["verdict"].startswith("not distinguishable from c2")
    bad = hj("compare", "three", "c1", "c9", "--store", "s.db", cwd=folder, check=False)
    assert bad.returncode == 2 and "configuration 'c9' is unknown" in bad.stderr


def test_per_period_values_and_every_metric_are_in_the_results_csv_with_the_models(periodic):
    folder, _ = periodic
    rows = list(csv.DictReader((folder / "out" / "results.csv").open()))
    assert len(rows) == 9 and {r["status"] for r in rows} == {"Completed"}
    assert {(r["hp:x"], r["period_start"]) for r in rows} == {(str(x), m[0]) for x in (1, 2, 3) for m in MONTHS}
    row = next(r for r in rows if r["hp:x"] == "2" and r["period"] == "0")
    assert float(row["loss:last"]) == pytest.approx(0.205) and float(row["mse:last"]) == pytest.approx(0.41)
    assert row["train_time:last"] and row["configuration"] == "c1"
    model = folder / "out" / "models" / row["training_job"] / "model.txt"
    assert model.read_text() == "x=2 period=2024-01-01..2024-01-31\n"
    summary = json.loads((folder / "out" / "results.summary.json").read_text())
    assert summary["BestConfiguration"]["Configuration"] == "c2" and "verdict" in summary["WinnerTest"]
    exported = hj("export", "three", "--store", "s.db", cwd=folder).stdout
    assert list(csv.DictReader(io.StringIO(exported)))[3]["period_end"] == rows[3]["period_end"]


def test_rotation_changes_between_two_months_and_reproduces_with_as_of(tmp_path):
    from hyperjob.cli.experiments import apply_flags
    from hyperjob.formats import load_spec
    from hyperjob.tuner.plan import TuningPlan

    rotate = json.dumps({"rotate": {"span": ["2022-01-01", "2025-12-31"], "count": 2, "months": 1}})
    spec = job_yaml(tmp_path, "rot", [1, 3], rotate)
    seen = {}
    for store, month in (("a.db", "2026-05"), ("b.db", "2026-06")):
        hj("tune", str(spec), "--store", store, "--as-of", month, "-q", cwd=tmp_path)
        d = json.loads(hj("describe", "rot", "--json", "--store", store, cwd=tmp_path).stdout)
        seen[month] = d["Experiment"]["Periods"]
    assert len(seen["2026-05"]) == 2 and seen["2026-05"] != seen["2026-06"]
    again = TuningPlan.from_spec(apply_flags(load_spec(spec), str(spec), False, "2026-05"))  # another day, May again
    assert [p.label for p in again.periods] == seen["2026-05"]
    bad = hj("tune", str(spec), "--store", "d.db", "--as-of", "June", cwd=tmp_path, check=False)
    assert bad.returncode == 2 and "'June' is not a calendar month" in bad.stderr


def test_fast_mode_and_rankcheck_against_a_linked_full_mode_tuning_job(tmp_path):
    spec = job_yaml(tmp_path, "quick", [3, 4, 5, 6, 7, 8], json.dumps({"dates": MONTHS[1:]}),
                    "fast: {static_hyperparameters: {epochs: 1}}")
    hj("tune", str(spec), "--store", "s.db", "--fast", "-q", cwd=tmp_path)
    fast = describe("quick", tmp_path)["Experiment"]
    assert fast["Periods"] == ["2024-03-01..2024-03-31"]  # fast mode: the one latest month
    check = json.loads(hj("rankcheck", "quick", "--top", "5", "--json", "--store", "s.db", "-q", cwd=tmp_path).stdout)
    full = describe("quick-full", tmp_path)
    assert full["TrainingJobStatusCounters"]["Completed"] == 10  # 5 configurations x 2 periods, full epochs
    assert len(full["Experiment"]["Periods"]) == 2
    fast_values = [c["Fast"] for c in check["configurations"]]
    full_values = [c["Full"] for c in check["configurations"]]
    assert check["n"] == 5 and check["spearman"] == pytest.approx(stats.spearmanr(fast_values, full_values).statistic)
    assert check["kendall"] == pytest.approx(stats.kendalltau(fast_values, full_values).statistic)
    assert check["spearman_ci"][0] <= check["spearman"] <= check["spearman_ci"][1]
    not_fast = hj("rankcheck", "quick-full", "--store", "s.db", cwd=tmp_path, check=False)
    assert not_fast.returncode == 2 and "did not run in fast mode" in not_fast.stderr


def test_results_on_a_real_s3_server_and_bad_urls_before_anything_runs(tmp_path, s3_server, s3_env, monkeypatch):
    import s3fs

    bucket = s3_server.bucket()
    url = f"s3://{bucket}/runs/results.csv"
    spec = job_yaml(tmp_path, "cloud", [1, 3], json.dumps({"seeds": 2}), f"results: {{url: {url!r}}}")
    hj("tune", str(spec), "--store", "s.db", "-q", cwd=tmp_path)
    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_server.endpoint})
    rows = list(csv.DictReader(io.StringIO(fs.cat(url).decode())))
    assert len(rows) == 4 and {r["seed"] for r in rows} == {"0", "1"} and all(r["mse:last"] for r in rows)
    assert fs.cat(f"{bucket}/runs/models/{rows[0]['training_job']}/model.txt").decode().startswith("x=")
    hj("export", "cloud", "-o", f"s3://{bucket}/export/all.csv", "--store", "s.db", cwd=tmp_path)
    local = hj("export", "cloud", "--store", "s.db", cwd=tmp_path).stdout
    assert fs.cat(f"{bucket}/export/all.csv").decode() == local.replace("\r\n", "\n") or \
        fs.cat(f"{bucket}/export/all.csv").decode().replace("\r\n", "\n") == local.replace("\r\n", "\n")

    missing = job_yaml(tmp_path, "nobucket", [1, 3], json.dumps({"seeds": 2}),
                       "results: {url: 's3://no-such-bucket-hyperjob/r.csv'}")
    bad = hj("tune", str(missing), "--store", "t.db", "-q", cwd=tmp_path, check=False)
    assert bad.returncode == 2 and "the bucket 'no-such-bucket-hyperjob' does not exist" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and not (tmp_path / "hyperjob-runs" / "nobucket").exists()
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    creds = hj("export", "cloud", "-o", f"s3://{bucket}/x.csv", "--store", "s.db", cwd=tmp_path, check=False)
    assert creds.returncode == 2 and "no credentials" in creds.stderr and len(creds.stderr.strip().splitlines()) == 1
    scheme = hj("export", "cloud", "-o", "nope://x/y.csv", "--store", "s.db", cwd=tmp_path, check=False)
    assert scheme.returncode == 2 and "unknown URL scheme 'nope'" in scheme.stderr
