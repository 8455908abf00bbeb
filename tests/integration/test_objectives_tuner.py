"""Several objectives and a constraint through a real tuning job: ``hyperjob tune`` runs a real program (a
subprocess per training job, the SQLite store), and ``best``, ``describe`` and ``export`` agree on the front
and never name an infeasible training job."""

from __future__ import annotations

import csv
import io
import json
import textwrap

import pytest

from _cli import hj

PROGRAM = textwrap.dedent(
    """
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--x", type=float)
    p.add_argument("--k", default="p")
    a, _ = p.parse_known_args()
    # the lower the error, the larger the model and the more memory it needs: the best error is infeasible
    print(f"err={1.0 - a.x:.6f}")
    print(f"size={a.x * 10 + (1.0 if a.k == 'q' else 0.0):.6f}")
    print(f"mem={a.x * 1000:.3f}")
    """
)

JOB = textwrap.dedent(
    """
    name: mo-job
    program: {command: [python, prog.py]}
    hyperparameter_ranges:
      x: {type: continuous, min_value: 0.0, max_value: 1.0}
      k: {type: categorical, values: [p, q]}
    objectives:
      - {metric: err, type: minimize}
      - {metric: size, type: minimize}
    constraints:
      - {metric: mem, max: 500}
    metric_definitions:
      - {name: err, regex: 'err=([0-9.]+)'}
      - {name: size, regex: 'size=([0-9.]+)'}
      - {name: mem, regex: 'mem=([0-9.]+)'}
    strategy: {name: bayesian, settings: {n_initial: 4}}
    limits: {max_jobs: 7, max_parallel_jobs: 2}
    random_seed: 3
    """
)


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The tuning job run once, and what export, best (JSON and table) and describe answer about it."""
    pytest.importorskip("botorch")
    d = tmp_path_factory.mktemp("mo")
    (d / "prog.py").write_text(PROGRAM)
    (d / "job.yaml").write_text(JOB)
    hj("tune", "job.yaml", cwd=d)
    return {
        "rows": list(csv.DictReader(io.StringIO(hj("export", "mo-job", cwd=d).stdout))),
        "best": json.loads(hj("best", "mo-job", "--json", cwd=d).stdout),
        "table": hj("best", "mo-job", cwd=d).stdout,
        "described": json.loads(hj("describe", "mo-job", "--json", cwd=d).stdout),
    }


def test_an_infeasible_training_job_never_wins(tuned: dict) -> None:
    rows = tuned["rows"]
    assert len(rows) == 7 and all(r["status"] == "Completed" for r in rows)
    mem = {r["training_job"]: float(r["mem:last"]) for r in rows}
    err = {r["training_job"]: float(r["err:last"]) for r in rows}
    feasible = [j for j in mem if mem[j] <= 500]
    assert len(feasible) < len(rows), "the test needs an infeasible training job (the program makes x > 0.5 one)"
    assert min(err, key=err.get) not in feasible  # the best error overall is infeasible ...
    best = tuned["best"]
    assert best["TrainingJobName"] == min(feasible, key=err.get)  # ... and never wins
    described = tuned["described"]
    assert described["BestTrainingJob"]["TrainingJobName"] == best["TrainingJobName"]
    assert described["InfeasibleTrainingJobs"] == len(rows) - len(feasible)
    # export marks the same: feasible where mem <= 500
    assert {r["training_job"]: r["feasible"] for r in rows} == {j: str(mem[j] <= 500).lower() for j in mem}


def test_best_describe_and_export_show_the_same_front(tuned: dict) -> None:
    rows = tuned["rows"]
    values = {r["training_job"]: (float(r["err:last"]), float(r["size:last"])) for r in rows
              if float(r["mem:last"]) <= 500}
    expected = sorted(j for j, (e, s) in values.items()
                      if not any(e2 <= e and s2 <= s and (e2, s2) != (e, s) for e2, s2 in values.values()))
    assert sorted(f["TrainingJobName"] for f in tuned["best"]["ParetoFront"]) == expected
    described = tuned["described"]
    assert sorted(f["TrainingJobName"] for f in described["ParetoFront"]) == expected
    assert sorted(r["training_job"] for r in rows if r["pareto_front"] == "true") == expected
    assert described["Outcomes"]["constraints"] == [{"metric": "mem", "max": 500.0}]
    assert "Pareto front" in tuned["table"] and all(j in tuned["table"] for j in expected)
