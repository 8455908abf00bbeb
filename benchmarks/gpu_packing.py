"""GPU packing: K small training jobs share one GPU through hyperjob's local executor (``resources: {gpus: 1/K}``).

Each training job trains ResNet-20 (``hyperjob.algorithms.image_classification.models.build_resnet(20, 10)``,
the CIFAR network) on synthetic CIFAR-sized data (random 3x32x32 images, 10 classes, made on the device), SGD,
batch 128. For K = 1, 2, 4, 8 a tuning job of K training jobs runs with ``max_parallel_jobs: K`` and
``resources: {gpus: 1/K}``, so the executor gives all K the same ``CUDA_VISIBLE_DEVICES``. After its warm-up
steps each job waits at a barrier until all K are ready, then trains for ``--seconds`` and reports the images it
processed; aggregate images/s is their sum over that common window. The speed-up is against K = 1.

    .venv/bin/python benchmarks/gpu_packing.py                      # on a machine with a GPU (nvidia-smi)
    .venv/bin/python benchmarks/gpu_packing.py --ks 1,2,4,8 --seconds 30 --out results/gpu_packing.json
    .venv/bin/python benchmarks/gpu_packing.py --tiny               # CPU, 16x16, a few steps: the script runs

``--tiny`` is a check that the script works (the tests run it on CPU with a fake one-GPU inventory,
``HYPERJOB_GPUS=1``), not a measurement. A job started with ``--job`` is one training job (hyperjob runs it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()


# ------------------------------------------------------------------------------------------------ one training job
def train_job(argv: list[str]) -> None:
    """One training job: ResNet-20 on synthetic data; reports images processed in the common window."""
    p = argparse.ArgumentParser()
    for name, kind in (("lr", float), ("batch", int), ("size", int), ("warmup", int), ("seconds", float),
                       ("k", int), ("device", str), ("barrier", str), ("amp", int)):
        p.add_argument(f"--{name}", type=kind, required=True)
    args = p.parse_args(argv)
    import torch
    import torch.nn.functional as F

    from hyperjob import report
    from hyperjob.algorithms.image_classification.models import build_resnet

    torch.set_num_threads(1)
    device = torch.device(args.device if args.device != "cuda" or torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    model = build_resnet(20, 10).to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(args.batch, 3, args.size, args.size, device=device).to(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (args.batch,), device=device)

    def step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bool(args.amp)):
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    barrier = Path(args.barrier)
    barrier.mkdir(parents=True, exist_ok=True)
    (barrier / os.environ.get("HYPERJOB_TRAINING_JOB_NAME", str(os.getpid()))).touch()
    deadline = time.time() + 600
    while len(list(barrier.iterdir())) < args.k and time.time() < deadline:
        time.sleep(0.005)
    start = time.perf_counter()
    images = 0
    while time.perf_counter() - start < args.seconds:
        step()
        images += args.batch
    if device.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    report(step=0, images=images, elapsed_s=elapsed, images_per_s=images / elapsed)
    print(f"images_per_s={images / elapsed:.1f} device={device} "
          f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')}", flush=True)


# ------------------------------------------------------------------------------------------------ the benchmark
def run_k(k: int, args: argparse.Namespace, workdir: Path) -> dict:
    """A tuning job of K training jobs on one GPU's shares; their aggregate images/s."""
    from hyperjob.formats.spec import TuningJobSpec
    from hyperjob.store import open_store
    from hyperjob.tuner.loop import Tuner
    from hyperjob.tuner.plan import TuningPlan

    spec = TuningJobSpec.model_validate({
        "name": f"pack-{k}", "program": {"command": [sys.executable, str(HERE), "--job"]},
        "static_hyperparameters": {"batch": args.batch, "size": args.size, "warmup": args.warmup,
                                   "seconds": args.seconds, "k": k, "device": args.device,
                                   "barrier": str(workdir / f"barrier-{k}"), "amp": int(args.amp)},
        "hyperparameter_ranges": {"lr": {"min_value": 0.01, "max_value": 0.1, "scaling": "logarithmic"}},
        "objective": {"metric": "images_per_s", "type": "maximize"}, "strategy": {"name": "random"},
        "limits": {"max_jobs": k, "max_parallel_jobs": k}, "resources": {"gpus": 1.0 / k},
        "random_seed": 0, "output_dir": str(workdir / "runs"),
    })
    store = open_store(str(workdir / "hyperjob.db"))
    t0 = time.perf_counter()
    try:
        outcome = Tuner(TuningPlan.from_spec(spec), store).run()
        metrics = store.get_all_metrics(f"pack-{k}")
    finally:
        store.close()
    wall = time.perf_counter() - t0
    rows = []
    for record in outcome.training_jobs:
        values = {v.name: v.value for v in metrics.get(record.id, ())}
        log = (workdir / "runs" / f"pack-{k}" / record.id / "train.log").read_text()
        rows.append({"id": record.id, "status": record.status.value, "images": values.get("images", 0.0),
                     "elapsed_s": values.get("elapsed_s"), "images_per_s": values.get("images_per_s", 0.0),
                     "log": log.strip().splitlines()[-1] if log.strip() else ""})
    done = [r for r in rows if r["status"] == "Completed"]
    return {"k": k, "jobs": len(done), "aggregate_images_per_s": sum(r["images_per_s"] for r in done),
            "per_job_images_per_s": [round(r["images_per_s"], 1) for r in done], "wall_s": wall, "rows": rows}


def main() -> None:
    if "--job" in sys.argv:
        train_job([a for a in sys.argv[1:] if a != "--job"])
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ks", default="1,2,4,8", help="training jobs per GPU, comma-separated")
    p.add_argument("--seconds", type=float, default=20.0, help="the common measured window of each job")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--device", default="cuda")
    p.add_argument("--amp", action="store_true", help="bfloat16 autocast")
    p.add_argument("--tiny", action="store_true", help="CPU, 16x16, batch 8, 0.5 s: does the script run")
    p.add_argument("--out", help="write the rows as JSON here")
    args = p.parse_args()
    if args.tiny:
        args.device, args.size, args.batch, args.warmup, args.seconds = "cpu", 16, 8, 1, 0.5
        args.ks = args.ks if "--ks" in sys.argv else "1,2"
    ks = [int(k) for k in args.ks.split(",")]
    with tempfile.TemporaryDirectory() as d:
        results = [run_k(k, args, Path(d)) for k in ks]
    base = next((r["aggregate_images_per_s"] for r in results if r["k"] == 1), None)
    mode = "tiny (CPU, not a measurement)" if args.tiny else f"{args.device}, {args.size}x{args.size}"
    print(f"\nResNet-20, synthetic CIFAR-sized data, batch {args.batch}, {mode}, {args.seconds:g} s window\n")
    print("| training jobs per GPU | aggregate images / s | speed-up vs 1 | per job images / s |")
    print("|---:|---:|---:|---|")
    for r in results:
        speed = f"{r['aggregate_images_per_s'] / base:.2f}x" if base else "-"
        print(f"| {r['k']} | {r['aggregate_images_per_s']:.0f} | {speed} | {r['per_job_images_per_s']} |")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"args": vars(args), "results": results}, indent=1))


if __name__ == "__main__":
    main()
