"""benchmarks/gpu_packing.py runs (tiny mode, on CPU, with a fake one-GPU inventory): K training jobs of a real
ResNet-20 share "GPU 0" through resources.gpus = 1/K and report their images/s over a common window."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from _benchmarks import load_benchmark


def test_two_training_jobs_share_the_one_gpu_and_their_throughputs_add_up(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    monkeypatch.setenv("HYPERJOB_GPUS", "1")
    bench = load_benchmark("gpu_packing")
    args = argparse.Namespace(batch=4, size=16, warmup=1, seconds=0.3, device="cpu", amp=False)
    result = bench.run_k(2, args, tmp_path)
    assert result["jobs"] == 2, result["rows"]
    assert all(r["log"].endswith("device=cpu CUDA_VISIBLE_DEVICES=0") for r in result["rows"])  # one GPU's halves
    assert all(r["images"] > 0 and r["images"] % 4 == 0 for r in result["rows"])
    assert result["aggregate_images_per_s"] == pytest.approx(sum(r["images_per_s"] for r in result["rows"]))
    assert len(list((tmp_path / "barrier-2").iterdir())) == 2  # both reached the barrier before measuring
