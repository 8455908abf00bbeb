"""Local processes that share this machine's GPUs: the local executor with ``CUDA_VISIBLE_DEVICES`` per job.

``resources: {gpus: 0.25}`` puts up to 4 training jobs on one GPU; ``gpus: 2`` gives each job two GPUs of its
own. The devices come from :mod:`hyperjob.executors.gpus` (``nvidia-smi``, or ``HYPERJOB_GPUS`` for a fake
inventory); a launch whose share does not fit now waits here (FIFO) and starts when a job ends and frees it.
Everything else (supervisor, stop, timeouts, recovery) is :class:`~hyperjob.executors.local.LocalExecutor`'s.
"""

from __future__ import annotations

import collections
from dataclasses import replace
from typing import Sequence

from hyperjob.executors.base import Ended, ExecutorEvent, LaunchRequest, Recovery, check_launch
from hyperjob.executors.gpus import GpuAllocator, check_gpu_request, detect_gpus, devices_of_process
from hyperjob.executors.local import LocalExecutor
from hyperjob.records import TrainingJobStatus

__all__ = ["GpuLocalExecutor"]


class GpuLocalExecutor(LocalExecutor):
    """A :class:`LocalExecutor` that assigns GPUs to its training jobs.

    Args:
        gpus_per_job: a share of one GPU (0 < gpus < 1) or a whole number of GPUs, for every training job.
        devices: the inventory (default: :func:`~hyperjob.executors.gpus.detect_gpus`).
        **kwargs: the local executor's.

    Raises:
        ExecutorError: at launch, when the inventory can never hold one job's GPUs (e.g. no GPU at all).
    """

    def __init__(self, gpus_per_job: float, devices: Sequence[str] | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        check_gpu_request(gpus_per_job)
        self.gpus_per_job = float(gpus_per_job)
        self.allocator = GpuAllocator(detect_gpus() if devices is None else devices)
        self._waiting: collections.OrderedDict[str, LaunchRequest] = collections.OrderedDict()
        self._gpu_events: list[ExecutorEvent] = []

    def launch(self, job: LaunchRequest) -> None:
        """Start ``job`` with its GPUs, or keep it waiting until they are free (jobs start in launch order)."""
        check_launch(job, self._waiting.keys() | self._running.keys() | self._queued.keys(),
                     "it is a Python function: use CallableExecutor")
        if self._waiting or not self._start_with_gpus(job):
            self._waiting[job.training_job_id] = job

    def poll(self) -> list[ExecutorEvent]:
        """The local executor's events; a job that ended gives its GPUs back, and waiting jobs that fit start."""
        events = self._gpu_events + super().poll()
        self._gpu_events = []
        for ev in events:
            if isinstance(ev, Ended):
                self.allocator.release(ev.training_job_id)
        while self._waiting:
            job = next(iter(self._waiting.values()))
            if not self._start_with_gpus(job):
                break
            del self._waiting[job.training_job_id]
        return events

    def stop(self, training_job_id: str, *, now: bool = False) -> None:
        """As the local executor's; a job still waiting for its GPUs ends ``Stopped`` without starting."""
        if self._waiting.pop(training_job_id, None) is not None:
            self._gpu_events.append(Ended(training_job_id, TrainingJobStatus.STOPPED, "stopped before it started"))
            return
        super().stop(training_job_id, now=now)

    def recover(self, jobs: Sequence[LaunchRequest]) -> dict[str, Recovery]:
        """As the local executor's; a reattached job keeps the GPUs it was started with."""
        found = super().recover(jobs)
        for job_id, how in found.items():
            entry = self._running.get(job_id)
            if how is Recovery.REATTACHED and entry is not None and entry.pid is not None:
                self.allocator.hold(job_id, devices_of_process(entry.pid) or [], self.gpus_per_job)
        return found

    def shutdown(self) -> None:
        for job_id in list(self._waiting):
            self.stop(job_id)
        super().shutdown()

    def detach(self) -> None:
        self._waiting.clear()
        super().detach()

    @property
    def waiting(self) -> list[str]:
        """Ids of the training jobs waiting for GPUs."""
        return list(self._waiting)

    def _start_with_gpus(self, job: LaunchRequest) -> bool:
        devices = self.allocator.assign(job.training_job_id, self.gpus_per_job)
        if devices is None:
            return False
        env = {**job.program.env, "CUDA_VISIBLE_DEVICES": ",".join(devices)}
        try:
            super().launch(replace(job, program=replace(job.program, env=env)))
        except BaseException:
            self.allocator.release(job.training_job_id)
            raise
        return True
