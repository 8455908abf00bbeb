"""Live progress of a tuning job page by server-sent events (``/api/tuning-jobs/NAME/events``).

Each open page has one stream. The server looks at the tuning job's status and its training jobs' counts every
``poll_s`` (two small queries); when they change, or every ``heartbeat_s`` while the tuning job runs (running
training jobs' learning curves grow without a status change), it sends a ``change`` event: the page's header
data (:func:`~hyperjob.dashboard.views.job_view`), and only the training jobs whose row changed since this
stream last sent it (the first event sends them all). When the tuning job has ended, an ``end`` event follows
and the stream closes. A page whose browser has no ``EventSource``, or whose stream fails before its first
event, polls ``/status`` instead (dashboard.js).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, AsyncIterator, Awaitable, Callable

from hyperjob.store.base import Store

#: the training jobs' columns that hold one value per training job (``hps`` and ``extra`` hold such lists by name)
ROW_COLUMNS = ("ids", "index", "status", "objective", "created", "started", "ended", "failure", "attempt", "why",
               "rungs")


def status_key(store: Store, name: str) -> tuple[Any, ...]:
    """What a change is looked for in: the tuning job's status and reason, and its training jobs' counts."""
    tuning = store.get_tuning_job(name)
    counts = store.tally_training_jobs().get(name, {})
    return (tuning.status.value, tuning.status_reason, tuple(sorted((s.value, c[0]) for s, c in counts.items())),
            tuning.status.terminal)


def changed_rows(columns: dict[str, Any], sent: dict[str, tuple[Any, ...]]) -> dict[str, Any]:
    """The training jobs of ``columns`` (:func:`~hyperjob.dashboard.views.training_jobs_view`) whose row differs
    from the one in ``sent`` (by id), in the same column form; ``sent`` is updated to what is returned."""
    hp_names, extra_keys = columns["hp_names"], list(columns["extra"])
    keep = []
    for i, job_id in enumerate(columns["ids"]):
        row = (tuple(columns[c][i] for c in ROW_COLUMNS[1:]) + tuple(columns["hps"][n][i] for n in hp_names)
               + tuple(columns["extra"][k][i] for k in extra_keys))
        if sent.get(job_id) != row:
            sent[job_id] = row
            keep.append(i)
    out: dict[str, Any] = {c: [columns[c][i] for i in keep] for c in ROW_COLUMNS}
    out["hp_names"] = hp_names
    out["hps"] = {n: [columns["hps"][n][i] for i in keep] for n in hp_names}
    out["extra"] = {k: [columns["extra"][k][i] for i in keep] for k in extra_keys}
    return out


def change(store: Store, name: str, sent: dict[str, tuple[Any, ...]], stop_message: str | None) -> dict[str, Any]:
    """One ``change`` event's data: the job view, the changed training jobs, the status and the stop's outcome."""
    from hyperjob.dashboard import views

    page = views.page_view(store, name)
    return {"job": page["job"], "training_jobs": changed_rows(page["training_jobs"], sent),
            "total": len(page["training_jobs"]["ids"]), "status": views.status_view(store, name),
            "stop": stop_message}


def _event(kind: str, data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'), allow_nan=False)}\n\n"


async def events(store: Store, name: str, *, stop_message: Callable[[], str | None],
                 disconnected: Callable[[], Awaitable[bool]], poll_s: float = 1.0, heartbeat_s: float = 5.0,
                 max_s: float = 600.0) -> AsyncIterator[str]:
    """The event stream of one page (store reads run in worker threads).

    Args:
        stop_message: the outcome of a stop the dashboard runs for this tuning job, if any.
        disconnected: whether the browser went away (the stream then ends).
        poll_s: how often the status and counts are read.
        heartbeat_s: how often a running tuning job's data is sent without a change (growing curves).
        max_s: the stream ends after this long; the browser's EventSource opens a new one (which starts over).
    """
    sent: dict[str, tuple[Any, ...]] = {}
    last: tuple[Any, ...] | None = None
    pushed = 0.0
    started = time.monotonic()
    yield "retry: 2000\n\n"
    while not await disconnected():
        key = await asyncio.to_thread(status_key, store, name)
        now = time.monotonic()
        wait = poll_s
        if key != last or now - pushed >= heartbeat_s:
            data = await asyncio.to_thread(change, store, name, sent, stop_message())
            cost = time.monotonic() - now
            last, pushed = key, time.monotonic()
            yield _event("change", data)
            if key[-1]:  # the tuning job has ended: nothing more will change
                yield _event("end", data["status"])
                return
            wait = max(poll_s, 4 * cost)  # a large tuning job's data takes a while: never more than a 1/4 of the time
        if now - started > max_s:
            return
        await asyncio.sleep(wait)


__all__ = ["events", "change", "changed_rows", "status_key", "ROW_COLUMNS"]
