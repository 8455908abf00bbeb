"""Progress while tuning: a rich progress bar (training jobs done / max, elapsed, ETA) and a live table of
the best training jobs. On a terminal that is not interactive (CI logs), one line per finished training job."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from hyperjob.records import TrainingJobRecord, TrainingJobStatus
from hyperjob.tuner.loop import Tuner, TunerListener, TuningOutcome

TOP_N = 5


class ProgressListener(TunerListener):
    """Draws the tuning job's progress with rich."""

    def __init__(self, plan: Any, console: Console | None = None) -> None:
        self.plan = plan
        self.console = console or Console(stderr=True)
        self.interactive = self.console.is_terminal
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[running]} running"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
        )
        self.task = self.progress.add_task(plan.name, total=plan.max_jobs, running=0)
        self.live: Live | None = None
        self.tuner: Tuner | None = None
        self._last_draw = 0.0

    # -- listener hooks ---------------------------------------------------------------------------------------
    def on_start(self, tuner: Tuner) -> None:
        self.tuner = tuner
        self.progress.update(self.task, completed=tuner.n_done)
        if tuner.warm_start is not None:
            self.console.print(escape(tuner.warm_start.summary()), highlight=False)
        if self.interactive:
            self.live = Live(self._render(), console=self.console, refresh_per_second=4, transient=False)
            self.live.start()
        else:
            self.console.print(
                f"tuning job {self.plan.name}: {self.plan.strategy} strategy, {self.plan.max_jobs} training jobs, "
                f"{self.plan.max_parallel_jobs} at a time; objective: {self.plan.objective.direction.value.lower()} "
                f"{self.plan.objective.metric}"
            )

    def on_recovered(self, found: dict[str, Any]) -> None:
        self.console.print(escape(recovery_summary(found)), highlight=False)

    def on_training_job_ended(self, record: TrainingJobRecord) -> None:
        if self.tuner is None:
            return
        self.progress.update(self.task, completed=self.tuner.n_done)
        if not self.interactive:
            value = "" if record.final_objective is None else f" {self.plan.objective.metric}={record.final_objective:.6g}"
            reason = ""
            if record.status is TrainingJobStatus.FAILED and record.failure_reason:
                reason = " (" + record.failure_reason.strip().splitlines()[-1][:120] + ")"
            self.console.print(
                escape(f"[{self.tuner.n_done}/{self.plan.max_jobs}] {record.id} {record.status.value}{value}{reason}"),
                highlight=False,
            )

    def on_tick(self, tuner: Tuner) -> None:
        now = time.time()
        if self.live is None or now - self._last_draw < 0.25:
            return
        self._last_draw = now
        self.progress.update(self.task, completed=tuner.n_done, running=len(tuner.running))
        self.live.update(self._render())

    def on_warning(self, message: str) -> None:
        self.console.print(f"[yellow]warning:[/yellow] {escape(message)}", highlight=False)

    def on_end(self, outcome: TuningOutcome) -> None:
        if self.live is not None:
            if self.tuner is not None:
                self.progress.update(self.task, completed=self.tuner.n_done, running=0)
            self.live.update(self._render())
            self.live.stop()
            self.live = None

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    # -- drawing ----------------------------------------------------------------------------------------------
    def _render(self) -> Group:
        return Group(self.progress, self._table())

    def _table(self) -> Table:
        objective = self.plan.objective
        table = Table(title="best training jobs", title_justify="left", expand=False)
        table.add_column("training job")
        table.add_column(objective.metric, justify="right")
        names = list(self.plan.space.names)[:6]
        for n in names:
            table.add_column(n, justify="right")
        if self.tuner is None:
            return table
        done = [
            r for r in self.tuner.records.values()
            if r.status is TrainingJobStatus.COMPLETED and r.final_objective is not None
        ]
        done.sort(key=lambda r: objective.loss(r.final_objective))
        for r in done[:TOP_N]:
            table.add_row(r.id, f"{r.final_objective:.6g}", *[_fmt(r.config.get(n)) for n in names])
        return table


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def recovery_summary(found: dict[str, Any]) -> str:
    """One line on what a resume found of the training jobs the last tuner left unfinished."""
    from hyperjob.executors.base import Recovery

    n = {how: sum(1 for v in found.values() if v is how) for how in Recovery}
    parts = [
        f"{n[Recovery.ADOPTED]} ended while no tuner ran (their results are kept, not run again)"
        if n[Recovery.ADOPTED] else "",
        f"{n[Recovery.REATTACHED]} still running (watched again)" if n[Recovery.REATTACHED] else "",
        f"{n[Recovery.LOST]} run again (they never started, or nothing recorded how they ended)"
        if n[Recovery.LOST] else "",
    ]
    return f"resume: of {len(found)} unfinished training jobs, " + "; ".join(p for p in parts if p) + "."
