"""Images per second of the image-classification training loop against a plain PyTorch loop.

    .venv/bin/python benchmarks/image_classification.py                     # CPU: small images, a few seconds
    .venv/bin/python benchmarks/image_classification.py --device cuda --preset gpu --out results/imgcls_gpu.json

For each case (network, image size, batch) both loops train the same ResNet (:mod:`hyperjob.algorithms.
image_classification.models`) with the same batch, precision and memory format on synthetic data that already
lies on the device, so the comparison measures the loop, not the data pipeline:

- **plain**: float32 images, ``model(x)``, ``cross_entropy``, ``zero_grad`` / ``backward`` / ``step``, under
  ``torch.autocast`` when mixed precision is on; nothing else.
- **ours**: :class:`~hyperjob.algorithms.image_classification.training.Trainer.train_epoch`, which also converts
  uint8 images to normalized floats on the device, goes through the gradient scaler (a no-op in bfloat16) and
  accumulates loss and accuracy on the device (one synchronization per epoch).

``--pipeline`` measures the data side instead: images per second of one process decoding, resizing, augmenting
and cropping JPEG files (256x320 -> resize 256 -> 224x224) with each ``augmentation_type``, as one DataLoader
worker does; a GPU needs about (its images per second / this) workers.

Each timing is ``--steps`` steps after ``--warmup`` steps (compilation and cuDNN autotuning happen in the
warm-up), repeated ``--repeats`` times with the two loops interleaved. Reported: each loop's median images per
second, and the median over repeats of the paired ratio (plain time / ours time of the same repeat, measured back
to back, so that a change of load between repeats cancels out), with its lowest and highest value. Variants
(``--variants``): ``base`` (float32, contiguous), ``channels_last``, ``amp`` (bfloat16 autocast; float16 where
the GPU has no bfloat16), ``amp+channels_last``, ``compile`` (``torch.compile`` on top of
``amp+channels_last`` on a GPU, of ``base`` on a CPU). Target (issue 9): ours >= 90 % of plain.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from hyperjob.algorithms.image_classification.hyperparameters import parse_hyperparameters
from hyperjob.algorithms.image_classification.models import build_resnet
from hyperjob.algorithms.image_classification.training import Trainer, synthetic_batches

PRESETS: dict[str, list[tuple[int, int, int]]] = {
    # (num_layers, image size, batch)
    "cpu": [(20, 32, 64), (18, 64, 16)],
    "gpu": [(20, 32, 1024), (18, 224, 256)],
}
VARIANTS = ("base", "channels_last", "amp", "amp+channels_last", "compile")


@dataclass(frozen=True)
class Case:
    num_layers: int
    size: int
    batch: int
    variant: str

    def flags(self, device: str) -> tuple[bool, bool, bool]:
        """(channels_last, amp, compile)."""
        if self.variant == "compile":
            return (device == "cuda", device == "cuda", True)
        return ("channels_last" in self.variant, "amp" in self.variant, False)


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _hp(case: Case, device: str) -> Any:
    channels_last, amp, compiled = case.flags(device)
    return parse_hyperparameters({
        "num_classes": 10, "num_training_samples": 50000, "num_layers": case.num_layers,
        "image_shape": f"3,{case.size},{case.size}", "mini_batch_size": case.batch, "optimizer": "sgd",
        "learning_rate": 0.01, "precision_dtype": "float16" if amp else "float32", "device": device,
        "channels_last": "1" if channels_last else "0", "compile": int(compiled), "seed": 0,
    })


class Plain:
    """The reference: the shortest correct PyTorch training step."""

    def __init__(self, case: Case, device: str) -> None:
        channels_last, amp, compiled = case.flags(device)
        memory = torch.channels_last if channels_last else torch.contiguous_format
        self.model = build_resnet(case.num_layers, 10).to(device, memory_format=memory)
        self.forward = torch.compile(self.model) if compiled else self.model
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
        self.x = torch.randn(case.batch, 3, case.size, case.size, device=device).contiguous(memory_format=memory)
        self.y = torch.randint(0, 10, (case.batch,), device=device)
        self.device = device
        self.dtype = None
        if amp and device == "cuda":
            self.dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.dtype == torch.float16)
        self.model.train()

    def run(self, steps: int) -> None:
        for _ in range(steps):
            with torch.autocast(self.device, dtype=self.dtype or torch.float32, enabled=self.dtype is not None):
                loss = F.cross_entropy(self.forward(self.x).float(), self.y)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        _sync(self.device)


class Ours:
    """The algorithm's loop, fed the same batch (as uint8, as the DataLoader delivers it)."""

    def __init__(self, case: Case, device: str) -> None:
        self.trainer = Trainer(_hp(case, device), device)
        self.x = torch.randint(0, 256, (case.batch, 3, case.size, case.size), dtype=torch.uint8, device=device)
        self.y = torch.randint(0, 10, (case.batch,), device=device)
        self.device = device

    def run(self, steps: int) -> None:
        self.trainer.train_epoch(synthetic_batches(steps, self.x, self.y))  # synchronizes once at the end
        _sync(self.device)


def measure(case: Case, device: str, steps: int, warmup: int, repeats: int) -> dict[str, Any]:
    loops = {"plain": Plain(case, device), "ours": Ours(case, device)}
    for loop in loops.values():
        loop.run(warmup)
    times: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(repeats):
        for name, loop in loops.items():
            start = time.perf_counter()
            loop.run(steps)
            times[name].append(time.perf_counter() - start)
    out: dict[str, Any] = {"num_layers": case.num_layers, "size": case.size, "batch": case.batch,
                           "variant": case.variant, "steps": steps, "repeats": repeats}
    for name, values in times.items():
        out[f"{name}_images_per_s"] = case.batch * steps / statistics.median(values)
    # paired: each repeat times plain then ours back to back, so a change of load between repeats cancels out
    pairs = sorted(p / o for p, o in zip(times["plain"], times["ours"]))
    out["ratio"] = statistics.median(pairs)
    out["ratio_low"], out["ratio_high"] = pairs[0], pairs[-1]
    return out


def pipeline(n_images: int = 120) -> list[dict[str, Any]]:
    """Images per second of one process: decode + resize + augmentation + crop, per augmentation type."""
    import tempfile

    import numpy as np
    from PIL import Image

    from hyperjob.algorithms.image_classification.data import ImageDataset, load_channel

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        for i in range(n_images):
            folder = Path(tmp) / "train" / f"c{i % 2}"
            folder.mkdir(parents=True, exist_ok=True)
            pixels = rng.random((256, 320, 3)) * 64 + np.linspace(0, 191, 320)[None, :, None]
            Image.fromarray(pixels.astype(np.uint8)).save(folder / f"{i}.jpg", quality=90)
        for augmentation in (None, "crop", "crop_color", "crop_color_transform"):
            hp = parse_hyperparameters({"num_classes": 2, "num_training_samples": n_images, "resize": 256,
                                        "image_shape": "3,224,224",
                                        **({"augmentation_type": augmentation} if augmentation else {})})
            dataset = ImageDataset(load_channel("train", Path(tmp) / "train", hp), hp, train=True)
            dataset[0]
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                for i in range(len(dataset)):
                    dataset[i]
                best = min(best, time.perf_counter() - start)
            rows.append({"augmentation_type": augmentation or "none (centre crop)",
                         "images_per_s_per_process": len(dataset) / best})
            print(f"{rows[-1]['augmentation_type']:<22} {rows[-1]['images_per_s_per_process']:7.0f} images/s per "
                  "process (JPEG 256x320 -> resize 256 -> 224x224)", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--preset", choices=sorted(PRESETS), default=None, help="cases (default: the device's)")
    parser.add_argument("--variants", default=None, help=f"comma-separated, from {', '.join(VARIANTS)}")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--networks", default=None, help="comma-separated depths of the preset to run (e.g. 20)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    parser.add_argument("--pipeline", action="store_true", help="measure decoding and augmentation instead")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.pipeline:
        rows = pipeline()
        if args.out is not None:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps({"pipeline": rows}, indent=2) + "\n")
        return 0
    cuda = args.device == "cuda"
    preset = args.preset or ("gpu" if cuda else "cpu")
    variants = args.variants.split(",") if args.variants else (
        list(VARIANTS) if cuda else ["base", "channels_last"])
    steps = args.steps or (50 if cuda else 4)
    warmup = args.warmup or (15 if cuda else 2)
    rows = []
    cases = PRESETS[preset]
    if args.networks:
        wanted = {int(n) for n in args.networks.split(",")}
        cases = [c for c in cases if c[0] in wanted]
    for num_layers, size, batch in cases:
        for variant in variants:
            row = measure(Case(num_layers, size, batch, variant), args.device, steps, warmup, args.repeats)
            rows.append(row)
            print(f"ResNet-{num_layers} {size}x{size} batch {batch} {variant:<18} plain "
                  f"{row['plain_images_per_s']:9.1f} img/s  ours {row['ours_images_per_s']:9.1f} img/s  "
                  f"ratio {row['ratio']:.3f} ({row['ratio_low']:.3f}-{row['ratio_high']:.3f})", flush=True)
    device_name = torch.cuda.get_device_name() if cuda else platform.processor() or platform.machine()
    meta = {"device": args.device, "device_name": device_name, "torch": torch.__version__,
            "threads": torch.get_num_threads(), "python": sys.version.split()[0],
            "date": time.strftime("%Y-%m-%d", time.gmtime())}
    print("\n| network | image | batch | variant | plain img/s | ours img/s | ours / plain (paired median) | range |")
    print("|---|---|---:|---|---:|---:|---:|---|")
    for r in rows:
        print(f"| ResNet-{r['num_layers']} | {r['size']}x{r['size']} | {r['batch']} | {r['variant']} | "
              f"{r['plain_images_per_s']:.1f} | {r['ours_images_per_s']:.1f} | {r['ratio']:.3f} | "
              f"{r['ratio_low']:.3f}-{r['ratio_high']:.3f} |")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
