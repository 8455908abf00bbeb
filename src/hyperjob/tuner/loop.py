"""The Tuner: owns the loop of a tuning job, and nothing else.

It asks the strategy for configurations, records each training job in the store *before* launching it,
launches up to ``max_parallel_jobs`` through the executor (a free slot is filled at once), records every status
change and metric value as it arrives, tells the strategy, applies the completion criteria and the limits, and
ends the tuning job with a status and a reason.

Crash safety: every state change is in the store before it is acted on, and the tuning job is recorded before
anything else (before the strategy is built). A tuner killed at any moment leaves training jobs that are
``Pending``, ``InProgress`` or ``Stopping``; ``resume`` rebuilds the strategy by replaying the store and asks the
executor what became of them (``Executor.recover``): one that ended meanwhile is adopted with its result, one
still running is watched again, and only a lost one runs again with the same configuration. It finishes with
exactly ``max_jobs`` training jobs. The executor owns the processes; the Tuner holds no process code.
"""

from __future__ import annotations

import collections
import logging
import math
import os
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hyperjob.errors import HyperjobError, LeaseError, StoreUnavailableError, TuningJobError
from hyperjob._process import holder_is_dead, owner_token
from hyperjob.executors.base import Ended, Executor, LaunchRequest, MetricsReported, Recovery, Started
from hyperjob.records import (
    DecisionRecord,
    Failed,
    Final,
    Intermediate,
    MetricValue,
    Pending,
    TrainingJobRecord,
    TrainingJobStatus,
    TuningJobStatus,
)
from hyperjob.outcomes import best_of, final_values, job_values
from hyperjob.store.base import Store
from hyperjob.tuner.budget import ResourceBudget
from hyperjob.tuner.completion import CompletionTracker
from hyperjob.tuner.plan import TuningPlan
from hyperjob.tuner.periods import PeriodRuns

log = logging.getLogger("hyperjob.tuner")

LEASE_TTL_S = float(os.environ.get("HYPERJOB_LEASE_TTL_S") or 15.0)  # a dead tuner's lease expires after this
LEASE_RENEW_S = 2.0

#: ``extra`` key of a training job stopped because the tuning job was interrupted (Ctrl-C, a lost lease): the
#: attempt that was interrupted. Such a job is ``Stopped`` (that is what happened to it) and runs again on resume.
INTERRUPTED_ATTEMPT = "interrupted_attempt"


def was_interrupted(record: TrainingJobRecord) -> bool:
    """True for a training job whose current attempt was stopped by an interrupt: resume runs it again."""
    return record.status is TrainingJobStatus.STOPPED and record.extra.get(INTERRUPTED_ATTEMPT) == record.attempt


def non_finite_reason(metric: str, step: int, value: float) -> str:
    """Why a training job whose objective ended non-finite failed (one rule: such a value never counts).

    >>> non_finite_reason("loss", 3, float("nan"))[:64]
    "the objective metric 'loss' was nan at step 3, which is not a nu"
    """
    what = "not a number" if math.isnan(value) else (
        "not a finite number (a value too large for a float, such as 1e400, reads as inf)")
    return (f"the objective metric {metric!r} was {value!r} at step {step}, which is {what}; a training job whose "
            "objective ends non-finite fails and never counts as the best.")


class TunerListener:
    """Hooks the Tuner calls from its own thread (the CLI draws progress with them). Override what you need."""

    def on_start(self, tuner: "Tuner") -> None: ...

    def on_training_job_launched(self, record: TrainingJobRecord) -> None: ...

    def on_training_job_ended(self, record: TrainingJobRecord) -> None: ...

    def on_new_best(self, record: TrainingJobRecord) -> None: ...

    def on_tick(self, tuner: "Tuner") -> None: ...

    def on_warning(self, message: str) -> None:
        log.warning(message)

    def on_recovered(self, found: dict[str, Recovery]) -> None:
        """On resume: what became of the training jobs the last tuner left unfinished (by training job id)."""

    def on_end(self, outcome: "TuningOutcome") -> None: ...


@dataclass(frozen=True)
class TuningOutcome:
    """How a tuning job ended."""

    name: str
    status: TuningJobStatus
    reason: str
    best: TrainingJobRecord | None
    training_jobs: tuple[TrainingJobRecord, ...] = ()

    @property
    def interrupted(self) -> bool:
        return self.status is TuningJobStatus.STOPPED and self.reason.startswith("Interrupted")


@dataclass
class _Running:
    record: TrainingJobRecord
    last_objective: tuple[int, float] | None = None
    stop_reason: str | None = None  # why the tuner asked it to stop
    rerun_after_stop: bool = False
    complete_on_stop: bool = False  # stopped at hyperband's max_resource: it got its whole resource
    objective_steps: set[int] = field(default_factory=set)
    step_offset: int | None = None  # resource = step + offset (1 when the job's steps start at 0)
    decisions: list[DecisionRecord] = field(default_factory=list)  # kept by this tuner (store.add_decision)
    # found again on resume (Executor.recover): the metric values the store has already, by (name, step)
    known: collections.Counter[tuple[str, int]] | None = None
    adopted: bool = False  # it ended while no tuner ran: no stop decisions on its values
    non_finite: tuple[int, float] | None = None  # (step, value) when its last objective value is NaN or inf
    killed: bool = False  # SIGKILLed at once (a second Ctrl-C)
    last_values: dict[str, float] = field(default_factory=dict)  # every metric's last value (outcomes, cost)
    pause: int | None = None  # hyperband's promotions paused it at this rung: it ends Stopped, may be resumed
    # resumed from its checkpoint after a pause: the values read again from its log (``known``) were told already
    resumed: bool = False
    #: resumed: the resource up to which the stopper decided on its values (a program may train on for a moment
    #: after its pause; those values are decided on when it is resumed)
    decided_upto: int | None = None


def _default_executor(plan: TuningPlan) -> Executor:
    if plan.program.function is not None:
        from hyperjob.executors.callable import CallableExecutor

        from hyperjob.strategies.registry import stopping_rule

        # with a stopper, each report waits for the decision on it (stops land on the value they were made on)
        stops = stopping_rule(plan.strategy, plan.early_stopping) is not None
        return CallableExecutor(max_workers=plan.max_parallel_jobs, wait_for_decisions=stops)
    resources = plan.resources
    if plan.executor is not None and plan.executor.type == "ray":
        from hyperjob.executors.ray import RayExecutor

        return RayExecutor(plan.executor.address, **({} if resources is None else dict(
            cpus=resources.cpus, gpus=resources.gpus, memory_mb=resources.memory_mb, custom=resources.custom)))
    if resources is not None and resources.gpus:  # GPUs shared by the training jobs (CUDA_VISIBLE_DEVICES)
        from hyperjob.executors.local_gpus import GpuLocalExecutor

        return GpuLocalExecutor(resources.gpus)
    from hyperjob.executors.local import LocalExecutor

    return LocalExecutor()


class Tuner:
    """Runs one tuning job to its end.

    Args:
        plan: the resolved tuning job.
        store: where every state change goes first.
        executor: runs the training jobs (default: local processes, or in-process for a Python callable).
        listener: progress hooks.
        poll_interval_s: the longest sleep between two polls of the executor when nothing happens.
    """

    def __init__(
        self,
        plan: TuningPlan,
        store: Store,
        executor: Executor | None = None,
        *,
        listener: TunerListener | None = None,
        poll_interval_s: float = 0.05,
        lease_ttl_s: float = LEASE_TTL_S,
    ) -> None:
        self.plan = plan
        self.store = store
        self.executor = executor or _default_executor(plan)
        self.listener = listener or TunerListener()
        self.store.set_outage_listener(self.listener.on_warning)  # "store unreachable: retrying ..." is shown
        self.poll_interval_s = poll_interval_s
        self.lease_ttl_s = lease_ttl_s
        self.owner = owner_token(uuid.uuid4().hex[:8])
        self.records: dict[str, TrainingJobRecord] = {}
        self.running: dict[str, _Running] = {}
        self.reruns: list[TrainingJobRecord] = []
        self.completion = CompletionTracker(
            plan.objective, plan.target_value, plan.max_jobs_not_improving, plan.convergence
        )
        self.best: TrainingJobRecord | None = None
        self._values: dict[str, dict[str, float]] = {}  # finished training jobs' outcome values (hyperjob.outcomes)
        self.n_failed = 0
        self.n_no_objective = 0
        self.started_at = time.time()
        self.runtime_before_s = 0.0
        self._stop_request: tuple[str, TuningJobStatus, bool] | None = None  # (reason, status, rerun running)
        self._stop_lock = threading.Lock()
        self._kill = False  # a second Ctrl-C: running training jobs are killed at once, without a grace period
        self._strategy_exhausted = False
        self.periods = PeriodRuns.of(plan)  # evaluation periods: one training job per period (tuner/periods.py)
        from hyperjob.results import ResultsWriter

        # results: {url}: checked now, before anything runs (hyperjob.results)
        self.results = ResultsWriter.of(plan, store, self.listener.on_warning)
        self._warned: set[str] = set()
        self.strategy: Any = None
        self.stopper: Any = None  # a hyperjob.stopping EarlyStopper (early stopping auto, or hyperband's rungs)
        self.warm_start: Any = None  # a hyperjob.tuner.warm_start.WarmStart when the plan names parents
        budget = getattr(plan, "resource_budget", None)
        #: the epochs (resource units) all training jobs may train together (hyperjob.tuner.budget), or None
        self.budget: ResourceBudget | None = ResourceBudget(budget) if budget else None
        self._runtime_mark = time.time()
        self._last_renew = time.time()

    # ------------------------------------------------------------------------------------------------ control
    def request_stop(self, reason: str = "Interrupted by the user", *, interrupted: bool = True) -> None:
        """Ask the loop to stop (thread- and signal-safe). ``interrupted``: running training jobs are rerun on
        resume (Ctrl-C); otherwise they end as ``Stopped``."""
        with self._stop_lock:
            if self._stop_request is None:
                self._stop_request = (reason, TuningJobStatus.STOPPED, interrupted)

    def request_kill(self, reason: str = "Interrupted by the user") -> None:
        """Stop as :meth:`request_stop` does, but kill the running training jobs at once (SIGKILL, no grace
        period; a second Ctrl-C). Signal-safe: it only sets flags; the loop acts on them at its next turn, so
        every status is still recorded (the killed jobs end ``Stopped`` and run again on resume)."""
        self.request_stop(reason)
        self._kill = True

    @property
    def elapsed_s(self) -> float:
        return self.runtime_before_s + (time.time() - self.started_at)

    @property
    def n_done(self) -> int:
        return sum(1 for r in self.records.values() if r.status.terminal)

    # ------------------------------------------------------------------------------------------------ run
    def run(self, *, resume: bool = False, stop_reason: str | None = None) -> TuningOutcome:
        """Run (or, with ``resume``, continue) the tuning job until it ends. Returns how it ended.

        ``stop_reason`` (with ``resume``): recover the training jobs a dead tuner left, launch nothing, stop
        those still running and end the tuning job ``Stopped`` with this reason (``hyperjob stop`` when no
        tuner runs).
        """
        plan = self.plan
        if resume:
            tuning = self.store.get_tuning_job(plan.name)
            if tuning.status is TuningJobStatus.COMPLETED:
                raise TuningJobError(
                    f"tuning job {plan.name!r} already completed ({tuning.status_reason}); nothing to resume. "
                    f"See `hyperjob describe {plan.name}`, or start a new tuning job with another name."
                )
            self.runtime_before_s = float(tuning.consumed_runtime_s or 0.0)
            self._load_warm_start(tuning.parents or plan.parents, tuning.spec)
        else:
            self._load_warm_start(plan.parents, plan.spec_json)  # a refused warm start records nothing
            self.store.create_tuning_job(plan.name, plan.spec_json or {"name": plan.name}, parents=plan.parents,
                                         objective=plan.objective)
        self._acquire_lease()
        try:
            self.store.set_tuning_job_status(plan.name, TuningJobStatus.IN_PROGRESS)
            try:  # after the record: a kill while the strategy's libraries load leaves a tuning job to resume
                self._build_strategy()
            except HyperjobError as exc:
                self.store.set_tuning_job_status(plan.name, TuningJobStatus.FAILED, str(exc))
                raise
            if stop_reason is not None:
                self._request_end(TuningJobStatus.STOPPED, stop_reason)
            self._replay()
            for w in plan.warnings:
                self._warn(w)
            self.listener.on_start(self)
            outcome = self._loop()
        except LeaseError:  # lost to another tuner while running: its training jobs are that tuner's now
            self.executor.detach()
            raise
        except StoreUnavailableError as exc:  # past the store's retry bound: leave the training jobs running
            self.executor.detach()  # they run to their end under their supervisor; resume adopts them
            raise StoreUnavailableError(
                f"{exc} Tuning job {plan.name!r} stopped here, its running training jobs go on: continue it with "
                f"`hyperjob resume {plan.name}` (same --store) once the database is back."
            ) from exc
        except BaseException:
            try:
                if self._kill:  # the shutdown below must not wait a grace period
                    for job_id in list(self.running):
                        self.executor.stop(job_id, now=True)
                self.executor.shutdown()
            finally:
                self._release()
            raise
        self.executor.shutdown()  # nothing is running now; releases what the executor holds
        self._release()
        self.listener.on_end(outcome)
        return outcome

    def _acquire_lease(self) -> None:
        """Take the lease; take it over at once from a tuner on this machine whose process is gone."""
        try:
            self.store.acquire_lease(self.plan.name, self.owner, self.lease_ttl_s)
        except LeaseError:
            holder = self.store.lease_holder(self.plan.name)
            if holder is None:  # expired in between
                self.store.acquire_lease(self.plan.name, self.owner, self.lease_ttl_s)
                return
            if not (holder_is_dead(holder) and self.store.take_over_lease(
                    self.plan.name, holder, self.owner, self.lease_ttl_s)):
                raise
            log.info("took over the lease of %s from %s, whose process is gone", self.plan.name, holder)

    def _release(self) -> None:
        try:
            self.store.add_consumed_runtime(self.plan.name, time.time() - self._runtime_mark)
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass
        try:
            self.store.release_lease(self.plan.name, self.owner)
        except HyperjobError:
            pass

    def _build_strategy(self) -> None:
        from hyperjob.strategies.registry import create_strategy

        self.strategy = create_strategy(
            self.plan.strategy, self.plan.space, self.plan.objective, seed=self.plan.seed,
            outcomes=self.plan.outcomes, **self.plan.strategy_settings
        )
        from hyperjob.strategies.registry import create_stopper

        # the strategy's own rule (hyperband's rungs), else the median rule with the spec's settings, or None
        self.stopper = create_stopper(self.strategy, self.plan.early_stopping, self.plan.objective)
        if hasattr(self.stopper, "can_pause"):  # hyperband's promotions: a job pauses only if it can be resumed
            self.stopper.can_pause = self._can_pause

    def _can_pause(self, training_job_id: str) -> bool:
        """A training job can be paused when the executor can resume it and it wrote a checkpoint."""
        if not getattr(self.executor, "can_resume", False):
            return False
        from hyperjob.executors.env import JobLayout

        folder = JobLayout.of(self._job_dir(training_job_id)).checkpoint_dir
        try:
            return any(folder.iterdir())
        except OSError:
            return False

    def _load_warm_start(self, parents: Any, spec_json: Any) -> None:
        """Check the warm-start rules against the store and map the parents' training jobs (``warm_start.py``).

        Raises:
            WarmStartError: a rule is broken; nothing is recorded.
        """
        self.warm_start = None
        declared = (spec_json or {}).get("warm_start") or None
        if not parents and declared is None:
            return
        from hyperjob.tuner.warm_start import IDENTICAL, load_warm_start

        warm_type = (declared or {}).get("type") or IDENTICAL
        self.warm_start = load_warm_start(
            self.store, tuple(parents), warm_type, self.plan.space, self.plan.objective, self.plan.max_jobs,
            program=(spec_json or {}).get("program"),
        )

    def _replay(self) -> None:
        """Rebuild the strategy and the counters from the store; queue unfinished training jobs for a rerun.

        A warm start's parents are given to the (freshly built) strategy first, once per ``run``.
        """
        if self.warm_start is not None:
            self.strategy = self.warm_start.attach(self.strategy)
            if not any(o.inside for o in self.warm_start.observations):
                beyond = len(self.warm_start.observations)
                skipped = ", ".join(
                    [f"{n} {why}" for why, n in self.warm_start.skipped.items()]
                    + ([f"{beyond} beyond the child's ranges, model data for the bayesian strategy only"]
                       if beyond else [])
                ) or "none ran"
                self._warn(
                    f"warm start: no training job of the parents {list(self.warm_start.parents)} could be used "
                    f"({skipped}); the tuning job starts cold. See docs/warm-start.md for how parents' training "
                    "jobs are mapped into this tuning job's ranges."
                )
        records = self.store.list_training_jobs(self.plan.name)
        unfinished = sorted((r for r in records if not r.status.terminal), key=lambda r: r.index)
        interrupted = [r for r in records if was_interrupted(r)]  # stopped by Ctrl-C: they run again
        finished = sorted((r for r in records if r.status.terminal and not was_interrupted(r)),
                          key=lambda r: (r.ended_at or 0, r.index))
        wanted = self.stopper is not None and finished
        several = not self.plan.outcomes.plain or bool(self.strategy_metrics())
        counted = self.budget is not None
        metrics = self.store.get_all_metrics(self.plan.name) if wanted or unfinished or several or counted else {}
        if self.budget is not None:  # what every training job trained before (a rerun's lost attempt is gone)
            for r in records:
                self._count(r.id, metrics.get(r.id, ()))
        for r in finished:
            self.records[r.id] = r
            self._replay_values(r, metrics.get(r.id, ()))
            self._account_finished(r, replay=True, values=final_values(metrics.get(r.id, ())) if several else None)
        found = self.executor.recover([self._request(r) for r in unfinished]) if unfinished else {}
        for r in sorted(unfinished + interrupted, key=lambda r: r.index):
            how = found.get(r.id, Recovery.LOST)
            if how is Recovery.LOST:
                fresh = self.store.reset_for_rerun(r.id)
                self.records[r.id] = fresh
                self.reruns.append(fresh)
                if self.periods is None or self.periods.tells_pending(fresh):  # once per configuration
                    self.strategy.observe(Pending(dict(fresh.config), training_job=fresh.id))
                continue
            self._reattach(r, how, metrics.get(r.id, ()))
        if found:
            self.listener.on_recovered(found)

    def _reattach(self, record: TrainingJobRecord, how: Recovery, stored: Any) -> None:
        """Track a training job the executor found again: it ended meanwhile (adopted) or still runs."""
        if record.status is TrainingJobStatus.PENDING:  # it started: the dead tuner had not recorded it yet
            self.store.set_status(record.id, TrainingJobStatus.IN_PROGRESS)
            record = replace(record, status=TrainingJobStatus.IN_PROGRESS, started_at=time.time())
        known = collections.Counter((v.name, v.step) for v in stored)
        run = _Running(record=record, known=known, adopted=how is Recovery.ADOPTED)
        if record.status is TrainingJobStatus.STOPPING:  # the dead tuner decided to stop it: that holds
            run.stop_reason = record.failure_reason or "stopped by the tuning job"
        self.records[record.id] = record
        self.running[record.id] = run
        if self.periods is None or self.periods.tells_pending(record):  # once per configuration
            self.strategy.observe(Pending(dict(record.config), training_job=record.id))
        if self.stopper is not None:
            last = self._restore_decisions(record)
            if record.status is TrainingJobStatus.STOPPING and last is not None and last.pause:
                run.pause = last.step  # the dead tuner was pausing it: it ends paused
            elif hasattr(self.stopper, "discard"):  # it runs (maybe resumed after a pause): it is not paused
                self.stopper.discard(record.id)
        if run.stop_reason is not None and how is Recovery.REATTACHED:
            self.executor.stop(record.id)

    def _restore_decisions(self, record: TrainingJobRecord) -> Any:
        """Give the stopper back the decisions kept for the training job's current attempt; returns the last."""
        last = None
        for kept in self.store.get_decisions(record.id):  # the current attempt's
            self.stopper.restore(record.id, kept.decision)
            last = kept.decision
        return last

    def _replay_values(self, record: TrainingJobRecord, values: Any) -> None:
        """Give a finished training job's objective values and kept decisions back to the strategy and stopper."""
        if self.stopper is None:
            return
        self._restore_decisions(record)
        config = dict(record.config)
        offset = None
        for v in values:
            if v.name == self.plan.objective.metric and math.isfinite(v.value):
                if offset is None:
                    offset = resource_offset(v.step)
                resource = v.step + offset
                self.strategy.observe(Intermediate(config, step=resource, value=v.value, training_job=record.id))
                self.stopper.record(record.id, record.index, resource, v.value)

    # ------------------------------------------------------------------------------------------------ loop
    def _loop(self) -> TuningOutcome:
        sleep_s = 0.001
        while True:
            self._maybe_renew()
            if self._stop_request is None:
                self._fill_slots()
            events = self.executor.poll()
            if events:  # a tuner that was frozen learns that it lost its lease before it records anything
                self._maybe_renew()
            for ev in events:
                self._handle(ev)
            if self._stop_request is not None and self.running:
                self._stop_running()
            if not self.running:
                end = self._end_reason()
                if end is not None:
                    return self._finish(*end)
            self.listener.on_tick(self)
            if events:
                sleep_s = 0.001
            else:
                self.executor.wait_for_events(sleep_s)
                sleep_s = min(self.poll_interval_s, sleep_s * 2)

    def _end_reason(self) -> tuple[TuningJobStatus, str] | None:
        if self._stop_request is not None:
            reason, status, _ = self._stop_request
            return status, reason
        if self._promotable():  # hyperband's promotions: a paused training job goes on first
            return None
        if len(self.records) >= self.plan.max_jobs and not self.reruns:
            return TuningJobStatus.COMPLETED, f"MaxNumberOfTrainingJobs reached ({self.plan.max_jobs})"
        if self._strategy_exhausted and not self.reruns:
            return TuningJobStatus.COMPLETED, (
                f"the {self.plan.strategy} strategy has no more configurations to try "
                f"({len(self.records)} training jobs)"
            )
        return None

    def _count(self, training_job_id: str, values: Any) -> None:
        """Count a training job's stored objective values against the resource budget."""
        assert self.budget is not None
        steps = [v.step for v in values if v.name == self.plan.objective.metric and math.isfinite(v.value)]
        if steps:
            self.budget.add(training_job_id, max(steps) + resource_offset(steps[0]))

    def _fill_slots(self) -> None:
        plan = self.plan
        if self.budget is not None and self.budget.reached:  # nothing more starts; running jobs are stopped
            self._request_end(TuningJobStatus.COMPLETED, self.budget.reason())
            return
        free = plan.max_parallel_jobs - len(self.running)
        while free > 0 and self.reruns:
            self._launch(self.reruns.pop(0))
            free -= 1
        free -= self._promote(free)
        budget_left = plan.max_jobs - len(self.records)
        want = min(free, budget_left)
        if want <= 0 or self._strategy_exhausted:
            return
        if self.periods is not None:  # whole configurations, one training job per period (tuner/periods.py)
            want = self.periods.configurations_wanted(want, budget_left)
            if want <= 0:
                return
        configs = self.strategy.suggest(want)
        if not configs:
            self._strategy_exhausted = True
            return
        for config in configs[:want]:
            if self.periods is not None:  # queued as reruns are, and launched first as slots free up
                for extra in self.periods.training_jobs(len(self.records)):
                    record = self.store.add_training_job(plan.name, dict(config), extra=extra)
                    self.records[record.id] = record
                    self.reruns.append(record)
                while self.reruns and len(self.running) < plan.max_parallel_jobs:
                    self._launch(self.reruns.pop(0))
                continue
            record = self.store.add_training_job(plan.name, dict(config))
            self.records[record.id] = record
            self._launch(record)

    def _promotable(self) -> list[str]:
        """Paused training jobs that hyperband's promotions would resume now (none without promotions)."""
        promotable = getattr(self.stopper, "promotable", None)
        if promotable is None:
            return []
        return [job for job in promotable() if job not in self.running and job in self.records]

    def _promote(self, n: int) -> int:
        """Resume up to ``n`` promoted training jobs from their checkpoints; returns how many were launched.

        The job is reopened in the store first (Pending, the next segment of the same attempt), then the
        promotion is kept as a decision: a tuner that dies between the two finds a Pending job (run again
        from the start if it is lost), never a promoted job that nothing resumes.
        """
        launched = 0
        for job_id in self._promotable()[: max(0, n)]:
            record = self.records[job_id]
            decision = self.stopper.promote(job_id)
            segment = int(record.extra.get("segment") or 0) + 1
            fresh = self.store.reopen_paused(job_id, {"segment": segment, "resumed_from": decision.step})
            self.store.add_decision(job_id, fresh.attempt, decision)
            self.records[job_id] = fresh
            self.strategy.observe(Pending(dict(fresh.config), training_job=job_id))
            log.info("resuming %s: %s", job_id, decision.reason)
            known = collections.Counter((v.name, v.step) for v in self.store.get_metrics(job_id))
            self._launch(fresh, known=known)
            self.running[job_id].decided_upto = int(record.extra.get("paused_at") or decision.step)
            launched += 1
        return launched

    def _job_dir(self, training_job_id: str) -> Path:
        return self.plan.output_dir / self.plan.name / training_job_id

    def _request(self, record: TrainingJobRecord) -> LaunchRequest:
        plan = self.plan
        return LaunchRequest(
            training_job_id=record.id,
            hyperparameters=plan.space.full(record.config),
            job_dir=self._job_dir(record.id),
            program=plan.program,
            metric_definitions=plan.metric_definitions,
            timeout_s=plan.timeout_s,
            grace_period_s=plan.grace_period_s,
            objective_metric=plan.objective.metric,
            attempt=record.attempt,
            segment=int(record.extra.get("segment") or 0),
        )

    def _launch(self, record: TrainingJobRecord, known: collections.Counter[tuple[str, int]] | None = None) -> None:
        """Launch a training job; ``known``: it resumes after a pause, and these values were recorded before."""
        request = self._request(record)
        if self.periods is not None:  # its period, as arguments and environment
            request = self.periods.request(request, record)
        if record.attempt and self.stopper is not None and known is None:
            self.stopper.forget(record.id)  # a rerun starts its curve afresh
        if record.attempt and self.budget is not None and known is None:
            self.budget.restart(record.id)  # it trains again: that counts again
        self.running[record.id] = _Running(record=record, known=known, resumed=known is not None)
        self.executor.launch(request)
        self.listener.on_training_job_launched(record)

    # ------------------------------------------------------------------------------------------------ events
    def _handle(self, ev: Any) -> None:
        run = self.running.get(ev.training_job_id)
        if run is None:  # an event for a job we no longer track (already ended): ignore
            return
        if isinstance(ev, Started):
            if run.stop_reason is not None:  # already asked to stop (Stopping): keep that status
                return
            self.store.set_status(ev.training_job_id, TrainingJobStatus.IN_PROGRESS, pid=ev.pid)
            run.record = replace(run.record, status=TrainingJobStatus.IN_PROGRESS, started_at=time.time(), pid=ev.pid)
            self.records[run.record.id] = run.record
        elif isinstance(ev, MetricsReported):
            self._on_metrics(run, ev.values)
        elif isinstance(ev, Ended):
            self._on_ended(run, ev)

    def _on_metrics(self, run: _Running, values: tuple[MetricValue, ...]) -> None:
        if not values:
            return
        seen: set[int] = set()  # positions of values the store has already (a job found again on resume)
        if run.known:
            for i, v in enumerate(values):
                if run.known[(v.name, v.step)] > 0:
                    run.known[(v.name, v.step)] -= 1
                    seen.add(i)
        fresh = [v for i, v in enumerate(values) if i not in seen] if seen else values
        if fresh:
            self.store.append_metrics(run.record.id, fresh)
        metric = self.plan.objective.metric
        record = run.record
        for v in values:
            run.last_values[v.name] = v.value
        for i, v in enumerate(values):
            if v.name != metric:
                continue
            if not math.isfinite(v.value):  # told to no one; if it is the last, the training job fails
                run.non_finite = (v.step, v.value)
                continue
            run.non_finite = None
            if run.step_offset is None:
                run.step_offset = resource_offset(v.step)
            resource = v.step + run.step_offset
            run.last_objective = (resource, v.value)
            run.objective_steps.add(v.step)
            again = run.resumed and i in seen  # read again from the log of its earlier segments
            if again and resource <= (run.decided_upto or 0):  # the strategy and the stopper had it
                continue
            if not again:  # the strategy had every value of the earlier segments
                self.strategy.observe(Intermediate(dict(record.config), step=resource, value=v.value,
                                                   training_job=record.id))
                if self.budget is not None:
                    self.budget.add(record.id, resource)
                    if self.budget.reached:
                        self._request_end(TuningJobStatus.COMPLETED, self.budget.reason())
            if self.stopper is None:
                continue
            if run.stop_reason is None:  # rungs the dead tuner decided were restored: they are not decided again
                decision = self.stopper.decide(record.id, record.index, resource, v.value)
                if decision is not None:
                    self._on_decision(run, decision)

    def _on_decision(self, run: _Running, decision: Any) -> None:
        """Keep a stop, or a hyperband rung's verdict, in the store; then act on a stop."""
        if not decision.stop and decision.rule != "rung":
            return  # the median rule's "go on" after every step is not worth a write
        job_id = run.record.id
        run.decisions.append(self.store.add_decision(job_id, run.record.attempt, decision))  # before any stop
        if not (decision.stop or decision.pause) or run.adopted:  # an adopted job's verdicts only feed the rungs
            return
        run.pause = decision.step if decision.pause else None
        run.stop_reason = decision.reason
        run.complete_on_stop = decision.rule == "max_resource"
        self.store.set_status(job_id, TrainingJobStatus.STOPPING, decision.reason)
        run.record = replace(run.record, status=TrainingJobStatus.STOPPING)
        log.info("stopping %s: %s", job_id, decision.reason)
        self.executor.stop(job_id)

    def _on_ended(self, run: _Running, ev: Ended) -> None:
        job_id = run.record.id
        del self.running[job_id]
        if ev.retryable and ev.status is TrainingJobStatus.FAILED and self._retry(run.record, ev.reason):
            return
        if run.rerun_after_stop and ev.status is not TrainingJobStatus.COMPLETED:
            # interrupted: it was stopped (its true status), and resume runs it again (was_interrupted)
            how = "killed at once (SIGKILL, a second Ctrl-C)" if run.killed else "stopped"
            why = (f"{how} because the tuning job was interrupted ({self._stop_request[0] if self._stop_request else ''}); "
                   f"it runs again on `hyperjob resume {self.plan.name}`")
            mark = {INTERRUPTED_ATTEMPT: run.record.attempt}
            self.store.set_status(job_id, TrainingJobStatus.STOPPED, why, extra=mark)
            self.records[job_id] = replace(run.record, status=TrainingJobStatus.STOPPED, failure_reason=why,
                                           ended_at=time.time(), extra={**run.record.extra, **mark})
            return
        status = ev.status
        reason = ev.reason
        if status is TrainingJobStatus.STOPPED and run.stop_reason:
            reason = run.stop_reason
            if run.complete_on_stop:  # hyperband stopped it at max_resource: it had its whole resource
                status = TrainingJobStatus.COMPLETED
        if run.non_finite is not None:  # its objective ended NaN or inf: it fails, whatever its exit
            why = non_finite_reason(self.plan.objective.metric, *run.non_finite)
            reason = why if status is not TrainingJobStatus.FAILED or not reason else f"{why}\n{reason}"
            status = TrainingJobStatus.FAILED
        # a failed training job has no final objective (SageMaker's rule); a stopped one keeps its last value
        value = run.last_objective[1] if run.last_objective and status is not TrainingJobStatus.FAILED else None
        extra: dict[str, Any] = {"objective_step": run.last_objective[0]} if run.last_objective else {}
        if run.pause is not None and status is TrainingJobStatus.STOPPED and value is not None:
            extra["paused_at"] = run.pause  # hyperband's promotions may resume it from its checkpoint
        elif hasattr(self.stopper, "discard"):  # ended for good: hyperband's promotions never resume it
            self.stopper.discard(job_id)
        self.store.set_status(job_id, status, reason, final_objective=value, extra=extra or None)
        record = replace(
            run.record, status=status, ended_at=time.time(), failure_reason=reason, final_objective=value,
            extra={**run.record.extra, **extra},
        )
        if self.stopper is not None and status is TrainingJobStatus.COMPLETED and len(run.objective_steps) == 1:
            what = self.stopper.name
            self._warn(
                f"training job {job_id} reported the objective {self.plan.objective.metric!r} only once, at the "
                f"end: {what} needs it after every epoch (or other resource step) to stop training jobs early, "
                "so none can be stopped. Report it every epoch: print a line that the metric definition reads, "
                "or call hyperjob.report(step=epoch, ...).",
                once_key="objective-once",
            )
        self.records[job_id] = record
        self._account_finished(record, values=run.last_values)
        self.listener.on_training_job_ended(record)
        if self.results is not None:  # the results CSV rewritten, the model uploaded (hyperjob.results)
            self.results.training_job_ended(record)

    def strategy_metrics(self) -> tuple[str, ...]:
        """The metrics besides the objective that the strategy is told with each final value: the outcomes'
        (several objectives, constraints) and the strategy's cost metric, if any."""
        names = list(self.plan.outcomes.metrics if not self.plan.outcomes.plain else ())
        cost = self.plan.strategy_settings.get("cost_metric")
        if isinstance(cost, str):
            names.append(cost)
        return tuple(dict.fromkeys(names))

    def _account_finished(self, record: TrainingJobRecord, *, replay: bool = False,
                          values: Any = None) -> None:
        """Tell the strategy, update counters and completion criteria for a training job that ended.

        ``values``: the last value of each of its metrics (the outcomes' constraints and other objectives)."""
        if self.periods is not None and self.periods.account(self, record, replay=replay):
            return  # one period of a configuration: the configuration is told once, whole (tuner/periods.py)
        config = dict(record.config)
        value = record.final_objective
        if value is not None and not math.isfinite(value):  # recorded before non-finite values failed a job
            value = None
        if record.status is TrainingJobStatus.COMPLETED and value is not None:
            outcomes = self.plan.outcomes
            metrics = {k: float(values[k]) for k in self.strategy_metrics() if values and k in values}
            self.strategy.observe(Final(config, value, training_job=record.id, metrics=metrics))
            self._values[record.id] = job_values(record, outcomes, metrics) or {}
            feasible = outcomes.feasible(self._values[record.id])
            if feasible:  # the one rule of "best" (hyperjob.outcomes): an infeasible training job never wins
                both = [self.best, record] if self.best is not None else [record]
                best = best_of(both, outcomes, lambda r: self._values[r.id])
                if best is not None and (self.best is None or best.id != self.best.id):
                    self.best = best
                    if not replay:
                        self.listener.on_new_best(best)
            if not feasible:
                return
            reason = self.completion.add(value)
            if reason and not replay:
                self._request_end(TuningJobStatus.COMPLETED, reason)
            return
        if record.status is TrainingJobStatus.STOPPED:
            if value is not None:
                step = int(record.extra.get("objective_step") or 0)
                self.strategy.observe(Intermediate(config, step=step, value=value, training_job=record.id,
                                                   stopped=True))
            else:
                self.strategy.observe(Failed(config, record.failure_reason or "stopped", training_job=record.id))
            return
        # Failed, or Completed without the objective metric
        if record.status is TrainingJobStatus.COMPLETED:
            self.n_no_objective += 1
            read = record.failure_reason  # what its regexes captured that was not a number (the executor's note)
            why = (
                f"training job {record.id} completed without reporting the objective metric "
                f"{self.plan.objective.metric!r}: "
                + (f"{read} Fix what the program prints for it (or the regex: " if read else
                   "check the metric definitions (")
                + f"`hyperjob validate SPEC --log {self._job_dir(record.id) / 'train.log'}`) or call "
                f"hyperjob.report({self.plan.objective.metric}=...)"
            )
            if not replay:
                self._warn(why, once_key="no-objective")
            self.strategy.observe(Failed(config, "no objective value", training_job=record.id))
        else:
            self.n_failed += 1
            self.strategy.observe(Failed(config, record.failure_reason or "failed", training_job=record.id))
        if not replay:
            self._check_failures(record)

    def _retry(self, record: TrainingJobRecord, reason: str | None) -> bool:
        """A training job that failed outside its program (its node was lost): record the failure and queue it to
        run again (a new attempt) if the retry policy allows another; True if it was queued."""
        retries = int(record.extra.get("retries") or 0)
        if retries >= self.plan.max_retry_attempts:
            return False
        mark = {"retries": retries + 1, "retried_after": _short(reason, 500)}
        self.store.set_status(record.id, TrainingJobStatus.FAILED, reason, extra=mark)
        fresh = self.store.reset_for_rerun(record.id)
        self.records[record.id] = fresh
        self.reruns.append(fresh)
        self._warn(f"training job {record.id} runs again (retry {retries + 1} of {self.plan.max_retry_attempts}): "
                   f"{_short(reason, 200)}")
        return True

    def _check_failures(self, record: TrainingJobRecord) -> None:
        plan = self.plan
        bad = self.n_failed + self.n_no_objective
        if plan.max_failed_jobs is not None and self.n_failed >= plan.max_failed_jobs:
            self._request_end(
                TuningJobStatus.FAILED,
                f"{self.n_failed} training jobs failed (max_failed_jobs is {plan.max_failed_jobs}); the last one, "
                f"{record.id}, failed with: {_short(record.failure_reason)}",
            )
            return
        with_value = sum(
            1 for r in self.records.values()
            if r.status is TrainingJobStatus.COMPLETED and r.final_objective is not None
        )
        if with_value == 0 and bad >= plan.fail_fast_window:
            if self.n_no_objective and not self.n_failed:
                read = f" The last one, {record.id}: {record.failure_reason}" if record.failure_reason else ""
                why = (
                    f"none of the first {bad} training jobs reported the objective metric "
                    f"{plan.objective.metric!r}.{read} Check the metric definitions against the log "
                    f"(`hyperjob validate SPEC --log {self._job_dir(record.id) / 'train.log'}`)."
                )
            else:
                why = (
                    f"the first {bad} training jobs all failed; the last one, {record.id}, failed with: "
                    f"{_short(record.failure_reason)}. Fix the training program (its log: "
                    f"{self._job_dir(record.id) / 'train.log'}), then start the tuning job again."
                )
            self._request_end(TuningJobStatus.FAILED, why)

    def _request_end(self, status: TuningJobStatus, reason: str) -> None:
        with self._stop_lock:
            if self._stop_request is None:
                self._stop_request = (reason, status, False)

    def _stop_running(self) -> None:
        assert self._stop_request is not None
        reason, _status, rerun = self._stop_request
        for run in list(self.running.values()):
            if run.stop_reason is None:
                run.stop_reason = f"stopped by the tuning job: {reason}"
                run.rerun_after_stop = rerun
                if not self._kill:
                    self.executor.stop(run.record.id)
            if self._kill and not run.killed:  # a second Ctrl-C: also those already stopping, at once
                run.killed = True
                self.executor.stop(run.record.id, now=True)

    def _maybe_renew(self) -> None:
        """Every few seconds: renew the lease, add the runtime consumed, and look for `hyperjob stop`."""
        now = time.time()
        if now - self._last_renew >= LEASE_RENEW_S:
            try:
                self.store.renew_lease(self.plan.name, self.owner, self.lease_ttl_s)
            except LeaseError as exc:  # another tuner runs it now: touch nothing more (run() lets go of the jobs)
                raise LeaseError(
                    f"{exc} This tuner let go of its running training jobs without ending them (the tuner that "
                    "holds the lease now finds them again) and records nothing more."
                ) from exc
            self.store.add_consumed_runtime(self.plan.name, now - self._runtime_mark)
            self._runtime_mark = now
            self._last_renew = now
            current = self.store.get_tuning_job(self.plan.name)
            if current.status is TuningJobStatus.STOPPING:  # asked from outside (tuner/stop.py words who asked)
                from hyperjob.tuner.stop import stopped_reason

                self._request_end(TuningJobStatus.STOPPED, stopped_reason(current.status_reason))
        if self.plan.max_runtime_s is not None and self.elapsed_s >= self.plan.max_runtime_s:
            self._request_end(TuningJobStatus.COMPLETED, f"MaxRuntimeInSeconds reached ({self.plan.max_runtime_s:g} s)")

    def _finish(self, status: TuningJobStatus, reason: str) -> TuningOutcome:
        rerun_later = self._stop_request is not None and self._stop_request[2]
        if self._kill:
            reason += "; the running training jobs were killed at once (SIGKILL)"
        if rerun_later:  # queued to run again and interrupted first: Stopped too, and resume runs them again
            for record in self.reruns:
                why = f"interrupted before it ran again ({reason}); it runs again on `hyperjob resume {self.plan.name}`"
                mark = {INTERRUPTED_ATTEMPT: record.attempt}
                self.store.set_status(record.id, TrainingJobStatus.STOPPED, why, extra=mark)
                self.records[record.id] = replace(record, status=TrainingJobStatus.STOPPED, failure_reason=why,
                                                  ended_at=time.time(), extra={**record.extra, **mark})
        else:  # training jobs queued to run again that never will: they end Stopped
            for record in self.reruns:
                why = f"stopped before it ran again: {reason}"
                self.store.set_status(record.id, TrainingJobStatus.STOPPED, why)
                self.records[record.id] = replace(record, status=TrainingJobStatus.STOPPED, failure_reason=why,
                                                  ended_at=time.time())
            self.reruns.clear()
        self.store.set_tuning_job_status(self.plan.name, status, reason)
        if self.results is not None:
            self.results.tuning_job_ended()
        records = tuple(sorted(self.records.values(), key=lambda r: r.index))
        return TuningOutcome(self.plan.name, status, reason, self.best, records)

    def _warn(self, message: str, once_key: str | None = None) -> None:
        key = once_key or message
        if key in self._warned:
            return
        self._warned.add(key)
        self.listener.on_warning(message)


def resource_offset(first_step: int) -> int:
    """How a training job's steps become resource units (epochs done): +1 when its first value is at step 0.

    Values read from log lines have 0-based steps (the count of earlier values), and many programs report
    ``step=epoch`` counting from 0; the resource of the first value is then 1 (one epoch done), as it is for a
    program that reports ``step=1`` after its first epoch. Early stopping and hyperband's rungs work in these
    units, so ``min_resource``, ``max_resource`` and the epochs hyperparameter mean epochs done either way.
    """
    return 1 if first_step == 0 else 0


def _short(text: str | None, limit: int = 400) -> str:
    if not text:
        return "(no reason given)"
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]
