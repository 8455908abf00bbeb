"""``hyperjob tune --resource-budget``: the flag overrides limits.resource_budget under the spec's own rules; the
training program's ledger is the truth of what was trained."""

from __future__ import annotations

import collections
import sys
from pathlib import Path

from _cli import hj

PROGRAM = str(Path(__file__).parents[1] / "fixtures" / "programs" / "checkpointed.py")


def _job_yaml(tmp_path: Path) -> Path:
    spec = tmp_path / "job.yaml"
    spec.write_text(
        f"""name: budgeted
program:
  command: [{sys.executable!r}, {PROGRAM!r}]
static_hyperparameters:
  epochs: 5
  sleep: 0.3
  ledger: {str(tmp_path / 'ledger.txt')!r}
hyperparameter_ranges:
  x: {{type: continuous, min_value: 0.0, max_value: 1.0}}
objective: {{metric: loss, type: minimize}}
metric_definitions:
  - {{name: loss, regex: 'loss=([0-9.eE+-]+)'}}
strategy: {{name: random}}
limits: {{max_jobs: 20, max_parallel_jobs: 1}}
random_seed: 0
output_dir: {str(tmp_path / 'runs')!r}
"""
    )
    return spec


def test_the_flag_ends_the_tuning_job_when_its_epochs_are_spent(tmp_path: Path) -> None:
    spec = _job_yaml(tmp_path)
    proc = hj("tune", str(spec), "--resource-budget", "6", "--quiet", "--store", str(tmp_path / "hj.db"),
              cwd=tmp_path)
    trained = collections.Counter(line.split()[1] for line in (tmp_path / "ledger.txt").read_text().splitlines()
                                  if line.startswith("epoch "))
    # one job at a time: the first trains its 5 epochs, the second is stopped once 6 are told (it may train on
    # for a moment while its stop arrives, not to its end); without the flag all 20 jobs would run
    assert 6 <= sum(trained.values()) <= 8, (trained, proc.stdout, proc.stderr)
    assert len(trained) == 2
    described = hj("describe", "budgeted", "--store", str(tmp_path / "hj.db"), cwd=tmp_path).stdout
    assert "resource budget reached" in described


def test_a_bad_value_is_one_line_naming_the_flag(tmp_path: Path) -> None:
    proc = hj("tune", str(_job_yaml(tmp_path)), "--resource-budget", "0", "--store", str(tmp_path / "hj.db"),
              cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert "--resource-budget 0: must be at least 1" in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert not (tmp_path / "ledger.txt").exists()  # refused before any training job started
