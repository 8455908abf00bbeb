"""The store interface: every state change of a tuning job, written before it is acted on."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Protocol, Sequence, runtime_checkable

from hyperjob.records import (
    Configuration,
    DecisionRecord,
    MetricValue,
    Objective,
    TrainingJobRecord,
    TrainingJobStatus,
    TuningJobRecord,
    TuningJobStatus,
)
from hyperjob.stopping.base import Decision


@runtime_checkable
class Store(Protocol):
    """The single source of truth for tuning jobs. Safe to use from several processes at once."""

    # tuning jobs
    def create_tuning_job(
        self, name: str, spec: Mapping[str, Any], parents: Sequence[str] = (), *, objective: Objective | None = None
    ) -> TuningJobRecord: ...  # the Tuner passes the spec's objective; the record's ``objective`` gives it back
    def get_tuning_job(self, name: str) -> TuningJobRecord: ...  # StoreError if unknown
    def list_tuning_jobs(self) -> list[TuningJobRecord]: ...
    def set_tuning_job_status(self, name: str, status: TuningJobStatus, reason: str | None = None) -> None: ...
    def add_consumed_runtime(self, name: str, seconds: float) -> None: ...

    # lease: one tuner per tuning job, surviving a crash of the holder (expires after ttl_s)
    def acquire_lease(self, name: str, owner: str, ttl_s: float) -> None: ...  # LeaseError if held by another
    def renew_lease(self, name: str, owner: str, ttl_s: float) -> None: ...  # LeaseError if lost
    def release_lease(self, name: str, owner: str) -> None: ...
    def lease_holder(self, name: str) -> str | None: ...  # the unexpired holder, or None
    def take_over_lease(self, name: str, dead_owner: str, owner: str, ttl_s: float) -> bool: ...

    # training jobs
    def add_training_job(
        self, tuning_job: str, config: Configuration, *, extra: Mapping[str, Any] | None = None
    ) -> TrainingJobRecord: ...  # next index, atomically; status Pending
    def get_training_job(self, training_job_id: str) -> TrainingJobRecord: ...
    def list_training_jobs(self, tuning_job: str) -> list[TrainingJobRecord]: ...  # in creation order
    def set_status(
        self,
        training_job_id: str,
        status: TrainingJobStatus,
        reason: str | None = None,
        *,
        final_objective: float | None = None,
        pid: int | None = None,
        extra: Mapping[str, Any] | None = None,  # merged into the record's extra
    ) -> None: ...
    def update_extra(self, training_job_id: str, extra: Mapping[str, Any]) -> None: ...  # merged, any status
    def reset_for_rerun(self, training_job_id: str) -> TrainingJobRecord: ...  # Pending, attempt+1, metrics cleared
    def reopen_paused(
        self, training_job_id: str, extra: Mapping[str, Any]
    ) -> TrainingJobRecord: ...  # Stopped -> Pending, same attempt, metrics kept (a promoted pause)

    # stopping decisions: append-only, a rerun keeps the earlier attempts' (the Tuner adds one before acting on it)
    def add_decision(
        self, training_job_id: str, attempt: int, decision: Decision, at: float | None = None
    ) -> DecisionRecord: ...  # at: seconds since the epoch, None for now
    def get_decisions(self, training_job_id: str, *, all_attempts: bool = False) -> list[DecisionRecord]: ...
    def list_decisions(
        self, tuning_job: str, *, all_attempts: bool = False
    ) -> dict[str, list[DecisionRecord]]: ...  # every training job a key, in creation order; current attempt only

    # metrics
    def append_metrics(self, training_job_id: str, values: Sequence[MetricValue]) -> None: ...
    def get_metrics(self, training_job_id: str) -> list[MetricValue]: ...
    def get_all_metrics(self, tuning_job: str) -> dict[str, list[MetricValue]]: ...

    # summaries (one query, for pages that show many tuning jobs)
    def tally_training_jobs(
        self,
    ) -> dict[str, dict[TrainingJobStatus, tuple[int, float | None, float | None]]]: ...  # name -> status -> (n, min, max)

    # outages: a store that rides out an unreachable database tells this listener about each one (called from
    # the thread whose call met it; None: the log). The Tuner passes its listener's on_warning.
    def set_outage_listener(self, listener: Callable[[str], None] | None) -> None: ...

    def close(self) -> None: ...
