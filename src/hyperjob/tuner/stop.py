"""Stopping a tuning job from outside its tuner: ``hyperjob stop`` and the dashboard's Stop button.

One owner for what a stop request does: the tuning job is marked ``Stopping`` in the store (its tuner, if one
runs, sees that at its next turn, stops its training jobs and ends the tuning job ``Stopped``); when no tuner
holds the tuning job, a tuner that launches nothing finds its training jobs again through the executor, ends
those still running and records it all (:func:`stop_without_tuner`).
"""

from __future__ import annotations

import time
from typing import Any

from hyperjob.errors import HyperjobError
from hyperjob.records import TrainingJobStatus, TuningJobStatus
from hyperjob.store.base import Store
from hyperjob.tuner.describe import tuner_holds


#: who asked for a stop, as the recorded reasons say it: "Stop requested <origin>", then "Stopped <origin>"
BY_COMMAND = "by `hyperjob stop`"
FROM_DASHBOARD = "from the dashboard"
_REQUESTED = "Stop requested "


def request_stop(store: Store, name: str, *, origin: str = BY_COMMAND) -> bool:
    """Mark the tuning job ``Stopping`` (the first half of a stop); False if it has already ended.

    Args:
        origin: who asks (:data:`BY_COMMAND`, :data:`FROM_DASHBOARD`), recorded as ``Stop requested <origin>``;
            the tuner that ends the tuning job reads it back through :func:`stopped_reason`.

    Raises:
        StoreError: the tuning job is unknown.
    """
    if store.get_tuning_job(name).status.terminal:
        return False
    store.set_tuning_job_status(name, TuningJobStatus.STOPPING, f"{_REQUESTED}{origin}")
    return True


def stopped_reason(requested: str | None) -> str:
    """The reason a tuner records when it ends a ``Stopping`` tuning job, from the one :func:`request_stop`
    recorded: ``Stop requested from the dashboard`` -> ``Stopped from the dashboard``; any other (an older
    hyperjob's, or none) -> ``Stopped by `hyperjob stop```."""
    if requested and requested.startswith(_REQUESTED) and len(requested) > len(_REQUESTED):
        return f"Stopped {requested[len(_REQUESTED):]}"
    return f"Stopped {BY_COMMAND}"


def stop_tuning_job(
    store: Store, name: str, *, wait_s: float = 30.0, origin: str = BY_COMMAND, poll_s: float = 0.5
) -> str:
    """Stop a tuning job and wait (up to ``wait_s``) until it has ended; returns what happened, in one line.

    Called by ``hyperjob stop`` and by the dashboard (from a worker thread). With a tuner running, that tuner
    does the stopping; without one (:func:`~hyperjob.tuner.describe.tuner_holds` false), this call does it.

    Raises:
        StoreError: the tuning job is unknown.
    """
    tuning = store.get_tuning_job(name)
    if not request_stop(store, name, origin=origin):
        return f"tuning job {name} is already {tuning.status.value}."
    deadline = time.time() + wait_s
    while time.time() < deadline:
        time.sleep(poll_s)
        current = store.get_tuning_job(name)
        if current.status.terminal:
            return f"tuning job {name}: {current.status.value} ({current.status_reason})"
        if not tuner_holds(store, name):
            return stop_without_tuner(store, current, origin=origin)
    return f"asked tuning job {name} to stop; its tuner has not finished yet (check `hyperjob describe {name}`)."


def stop_without_tuner(store: Store, tuning: Any, *, origin: str = BY_COMMAND) -> str:
    """No tuner runs the tuning job: a tuner that launches nothing finds its training jobs again through the
    executor (those that ended meanwhile keep their result), ends those still running, and records it all."""
    from hyperjob.formats.spec import TuningJobSpec
    from hyperjob.tuner.loop import Tuner
    from hyperjob.tuner.plan import TuningPlan

    reason = f"Stopped {origin} (no tuner was running)"
    try:
        spec: Any = TuningJobSpec.from_json(dict(tuning.spec))
    except HyperjobError:  # not a spec this version reads: nothing to find its training jobs' processes with
        spec = None
    if spec is None or spec.program_is_function:  # a function's training jobs ended with the tuner's process
        for record in store.list_training_jobs(tuning.name):
            if not record.status.terminal:
                store.set_status(record.id, TrainingJobStatus.STOPPED, f"stopped: {reason}")
        store.set_tuning_job_status(tuning.name, TuningJobStatus.STOPPED, reason)
        return f"tuning job {tuning.name}: Stopped (no tuner was running)."
    outcome = Tuner(TuningPlan.from_spec(spec), store).run(resume=True, stop_reason=reason)
    ended = sum(1 for r in outcome.training_jobs if r.status is TrainingJobStatus.STOPPED
                and (r.failure_reason or "").startswith("stopped by the tuning job"))
    return (f"tuning job {tuning.name}: {outcome.status.value} (no tuner was running; "
            f"{ended} training jobs still running were ended).")
