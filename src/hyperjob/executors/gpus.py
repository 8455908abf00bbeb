"""This machine's GPUs, and how local training jobs share them (``resources: {gpus: 0.25}``).

A training job asks for a share of a GPU (``0 < gpus < 1``: up to ``1 / gpus`` jobs on one device) or for whole
GPUs (``gpus`` a whole number: that many devices, each used by this job alone). The local executor assigns
devices from the machine's inventory and gives each job ``CUDA_VISIBLE_DEVICES``; a job that does not fit now
waits in the executor's queue until a job ends. Whole GPUs are never oversubscribed, and shares never add up
to more than one GPU per device.

The inventory is, in this order: ``HYPERJOB_GPUS`` (a comma-separated list of device ids, e.g. ``0,1``, or a
count, ``2``; ``none`` or empty for no GPU: how tests fake an inventory on a machine without one), else the
devices ``nvidia-smi`` lists, else none.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from fractions import Fraction
from typing import Mapping, Sequence

from hyperjob.errors import ExecutorError, SpecError

__all__ = ["GPU_INVENTORY_ENV", "GpuAllocator", "check_gpu_request", "detect_gpus", "devices_of_process"]

#: the environment variable that overrides the inventory (device ids or a count)
GPU_INVENTORY_ENV = "HYPERJOB_GPUS"


def detect_gpus(env: Mapping[str, str] | None = None) -> list[str]:
    """The device ids of this machine's GPUs (see the module docstring for where they come from).

    Raises:
        SpecError: ``HYPERJOB_GPUS`` is neither a count nor a list of ids.
    """
    env = os.environ if env is None else env
    given = env.get(GPU_INVENTORY_ENV)
    if given is not None:
        text = given.strip()
        if text.lower() in ("", "none"):
            return []
        if text.isdigit():
            return [str(i) for i in range(int(text))]
        ids = [d.strip() for d in text.split(",")]
        if any(not d for d in ids) or len(set(ids)) != len(ids):
            raise SpecError(
                f"{GPU_INVENTORY_ENV}={given!r} is not a GPU inventory: give a count (e.g. 2) or distinct device "
                "ids separated by commas (e.g. 0,1 or GPU-uuid1,GPU-uuid2).",
                path=GPU_INVENTORY_ENV,
            )
        return ids
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        out = subprocess.run([exe, "--query-gpu=index", "--format=csv,noheader"], capture_output=True, text=True,
                             timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def check_gpu_request(gpus: float, path: str = "resources.gpus") -> Fraction:
    """``gpus`` as an exact fraction, if it is a valid request: ``0``, a share ``0 < gpus < 1``, or a whole number.

    Raises:
        SpecError: negative, or more than one GPU but not a whole number (1.5: a job cannot use half of a second
            device).
    """
    try:
        share = Fraction(str(gpus)).limit_denominator(1000)
    except (ValueError, TypeError):
        raise SpecError(f"gpus must be a number, got {gpus!r}.", path=path) from None
    if share < 0:
        raise SpecError(f"gpus must be >= 0, got {gpus!r}. Use 0 for a training job without a GPU.", path=path)
    if share > 1 and share.denominator != 1:
        raise SpecError(
            f"gpus must be a share of one GPU (0 < gpus < 1, e.g. 0.25: 4 training jobs per GPU) or a whole number "
            f"of GPUs, got {gpus!r}. Use {int(share)} or {int(share) + 1}.",
            path=path,
        )
    return share


class GpuAllocator:
    """Assigns GPUs of an inventory to training jobs (shares packed onto as few devices as possible).

    Args:
        devices: the device ids (:func:`detect_gpus`).

    Not thread-safe (the local executor calls it from the Tuner's thread).
    """

    def __init__(self, devices: Sequence[str]) -> None:
        self.devices = list(devices)
        self._used: dict[str, Fraction] = {d: Fraction(0) for d in self.devices}
        self._held: dict[str, tuple[list[str], Fraction]] = {}

    def fits_at_all(self, gpus: float) -> bool:
        """True if a request of ``gpus`` can ever be met by this inventory (with nothing else running)."""
        share = check_gpu_request(gpus)
        return share == 0 or (len(self.devices) >= max(1, int(share)))

    def assign(self, training_job_id: str, gpus: float) -> list[str] | None:
        """The devices for a job, now held by it; ``None`` if they are not free now (try again after a release).

        Raises:
            ExecutorError: the job already holds devices, or the inventory can never meet the request.
        """
        share = check_gpu_request(gpus)
        if training_job_id in self._held:
            raise ExecutorError(f"training job {training_job_id} already holds GPUs {self._held[training_job_id][0]}.")
        if share == 0:
            return []
        if not self.fits_at_all(gpus):
            raise ExecutorError(
                f"training job {training_job_id} asks for {gpus:g} GPU(s) but this machine has {len(self.devices)} "
                f"({self.devices or 'none found'}; nvidia-smi, or {GPU_INVENTORY_ENV}). Lower resources.gpus, or "
                "run on a machine (or a Ray cluster) with more GPUs."
            )
        if share < 1:  # best fit: the fullest device that still has room, so that shares pack
            room = [d for d in self.devices if self._used[d] + share <= 1]
            if not room:
                return None
            device = max(room, key=lambda d: (self._used[d], -self.devices.index(d)))
            chosen = [device]
            each = share
        else:
            free = [d for d in self.devices if self._used[d] == 0]
            if len(free) < share:
                return None
            chosen = free[: int(share)]
            each = Fraction(1)
        for d in chosen:
            self._used[d] += each
        self._held[training_job_id] = (chosen, each)
        return list(chosen)

    def hold(self, training_job_id: str, devices: Sequence[str], gpus: float) -> None:
        """Count devices a job found again after a tuner died already uses (ids outside the inventory are ignored)."""
        share = check_gpu_request(gpus)
        if share == 0 or training_job_id in self._held:
            return
        chosen = [d for d in devices if d in self._used]
        each = share if share < 1 else Fraction(1)
        for d in chosen:
            self._used[d] += each
        self._held[training_job_id] = (chosen, each)

    def release(self, training_job_id: str) -> None:
        """Give back what a job held (nothing if it held nothing)."""
        chosen, each = self._held.pop(training_job_id, ([], Fraction(0)))
        for d in chosen:
            self._used[d] -= each

    def used(self) -> dict[str, float]:
        """How much of each device is assigned (0 to 1)."""
        return {d: float(u) for d, u in self._used.items()}


def devices_of_process(pid: int) -> list[str] | None:
    """The ``CUDA_VISIBLE_DEVICES`` a running process was started with (``None`` if it cannot be read)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            entries = f.read().split(b"\0")
    except OSError:
        return None
    for entry in entries:
        if entry.startswith(b"CUDA_VISIBLE_DEVICES="):
            value = entry.split(b"=", 1)[1].decode(errors="replace")
            return [d.strip() for d in value.split(",") if d.strip()]
    return []
