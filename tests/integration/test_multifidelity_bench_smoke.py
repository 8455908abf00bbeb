"""The multi-fidelity benchmark's quick run, as a real subprocess (hyperjob's AskTell, Optuna, the references)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: one of each kind, one GP method (a GP suggestion costs most of the run: ~40 s per GP method here)
METHODS = "random_full,hb_promote,hb_promote_mf_rf,random_auto,asha,median_rule,optuna_hb,optuna_median"


def test_quick_run_writes_speedups_for_each_method(tmp_path: Path) -> None:
    out = tmp_path / "mf"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "multifidelity.py"), "--quick", "--tasks",
                           "cancer_sgd", "--out", str(out), "--methods", METHODS], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["by_workers"]) == {"1", "4"}
    rows = summary["by_workers"]["4"]["cancer_sgd"]
    assert set(rows) == set(summary["setup"]["methods"])
    assert rows["random_full"]["mean_ratio"] == 1.0
    for row in rows.values():
        assert 0 <= row["reached"] <= row["seeds"] == 2 and row["mean_epochs"] <= row["cap"]
    assert "| asha |" in (out / "table.md").read_text()
