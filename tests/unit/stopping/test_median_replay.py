"""Early stopping ``auto`` is SageMaker's rule, decision for decision.

A stream of training jobs (seeded random learning curves of several steps, some failing part-way) is run as 4
parallel workers would run it: steps take random times, so the jobs' values arrive interleaved, and a job the
rule stops frees its worker for the next one (later jobs see earlier ones' shorter curves). Every value goes
through the stopper the Tuner and AskTell build (from a spec's ``early_stopping``, with
``registry.create_stopper``), or through ``AskTell.tell(step=)`` itself, and through the reference below,
written from SageMaker's "Stop Training Jobs Early" page, not from hyperjob's code. Every decision must agree.
"""

from __future__ import annotations

import heapq
import random
import statistics
from dataclasses import dataclass, field
from typing import Callable, Iterator

import pytest

from hyperjob import AskTell
from hyperjob.formats.spec import TuningJobSpec
from hyperjob.stopping.base import MedianRule
from hyperjob.strategies.registry import create_stopper, create_strategy

N_JOBS = 700
WORKERS = 4


# -- the reference ----------------------------------------------------------------------------------------------
def reference(history: dict[int, dict[int, float]], index: int, step: int, value: float, maximize: bool,
              min_jobs: int = 1, grace_values: int = 0) -> tuple[str, float | None, int]:
    """SageMaker's text, step by step, from the values reported so far (``history[job][step] = value``):

    "After each epoch of training, get the value of the objective metric. Compute the running average of the
    objective metric for all previous training jobs up to the same epoch, and then compute the median of all
    of the running averages. If the value of the objective metric for the current training job is worse
    (higher when minimizing or lower when maximizing the objective metric) than the median value of running
    averages of the objective metric for previous training jobs up to the same epoch, SageMaker stops the
    current training job."

    Previous: created before (a lower index). Up to the same epoch: the job got that far (a value at that step
    or later); the running average is of its values up to it. No previous job there, or a value not worse
    than the median: it goes on. ``min_jobs`` and ``grace_values`` are the warm-ups a spec may ask for.

    Returns:
        ``("stop" | "continue", the median or None, how many running averages)``.
    """
    if len(history.get(index, {})) < grace_values:  # the values before this one
        return "continue", None, 0
    averages = []
    for job, values in history.items():
        if job < index and values and max(values) >= step:
            upto = [v for s, v in sorted(values.items()) if s <= step]
            averages.append(sum(upto) / len(upto))
    if not averages or len(averages) < min_jobs:
        return "continue", None, len(averages)
    median = statistics.median(averages)
    worse = value < median if maximize else value > median
    return ("stop" if worse else "continue"), median, len(averages)


# -- the stream -------------------------------------------------------------------------------------------------
@dataclass
class Job:
    index: int
    curve: list[float]
    fails_after: int | None  # it fails after this many values (a crash), or None
    step: int = 0


@dataclass
class Tally:
    decisions: int = 0
    stops: int = 0
    ties: int = 0
    unjudged: int = 0  # values with no median (no earlier job at the step) or in a warm-up
    finished: int = 0
    failed: int = 0
    by_step: dict[int, int] = field(default_factory=dict)


def _curves(seed: int, maximize: bool) -> Iterator[Job]:
    """Job after job: a curve of 3 to 12 steps towards its own level, with noise; values on a 0.05 grid at the
    first step (so that ties with the median happen); one job in 12 fails part-way."""
    rng = random.Random(seed)
    for index in range(N_JOBS):
        steps = rng.randint(3, 12)
        level, speed = rng.uniform(0.0, 1.0), rng.uniform(0.2, 2.0)
        curve = []
        for t in range(1, steps + 1):
            loss = level + speed / t + rng.gauss(0.0, 0.03)
            if t == 1:
                loss = round(loss * 20) / 20
            curve.append(1.0 - loss if maximize else loss)
        fails = rng.randint(1, steps - 1) if rng.random() < 1 / 12 else None
        yield Job(index, curve, fails)


def _run(seed: int, maximize: bool, report: Callable[[Job, int, float], tuple[str, float | None, int]],
         end: Callable[[Job, bool], None] = lambda job, failed: None,
         begin: Callable[[Job], None] = lambda job: None, min_jobs: int = 1, grace_values: int = 0) -> Tally:
    """Run the stream on ``WORKERS`` workers: ``begin(job)`` when a worker starts it (the creation order),
    ``report(job, step, value)`` the system's decision on a value, checked against the reference's,
    ``end(job, failed)`` when it ends without a stop (completed, or failed)."""
    rng = random.Random(seed + 1)
    jobs = _curves(seed, maximize)
    history: dict[int, dict[int, float]] = {}
    tally = Tally()
    clock: list[tuple[float, int, Job]] = []  # (time its next step is done, index, job)

    def start(now: float) -> None:
        job = next(jobs, None)
        if job is not None:
            history[job.index] = {}
            begin(job)
            heapq.heappush(clock, (now + rng.expovariate(1.0), job.index, job))

    for _ in range(WORKERS):
        start(0.0)
    while clock:
        now, _, job = heapq.heappop(clock)
        job.step += 1
        value = job.curve[job.step - 1]
        want = reference(history, job.index, job.step, value, maximize, min_jobs, grace_values)
        got = report(job, job.step, value)
        history[job.index][job.step] = value
        assert got[0] == want[0], (job.index, job.step, value, got, want)
        assert got[2] == want[2] if want[1] is not None else True, (job.index, job.step, got, want)
        if want[1] is None:
            tally.unjudged += 1
        else:
            assert got[1] == pytest.approx(want[1], rel=1e-12, abs=1e-12), (job.index, job.step, got, want)
            tally.ties += value == want[1]
        tally.decisions += 1
        tally.by_step[job.step] = tally.by_step.get(job.step, 0) + 1
        if got[0] == "stop":
            tally.stops += 1
            start(now)
        elif job.fails_after is not None and job.step == job.fails_after:
            tally.failed += 1
            end(job, True)
            start(now)
        elif job.step == len(job.curve):
            tally.finished += 1
            end(job, False)
            start(now)
        else:
            heapq.heappush(clock, (now + rng.expovariate(1.0), job.index, job))
    return tally


def _spec_stopper(maximize: bool, early_stopping: object):
    """The stopper a tuning job with this ``early_stopping`` runs with, built as the Tuner builds it."""
    spec = TuningJobSpec.model_validate({
        "name": "replay", "program": {"command": ["python", "train.py"]},
        "hyperparameter_ranges": {"x": {"type": "continuous", "min_value": 0.0, "max_value": 1.0}},
        "objective": {"metric": "m", "type": "maximize" if maximize else "minimize"},
        "strategy": "random", "early_stopping": early_stopping, "limits": {"max_jobs": N_JOBS},
    })
    objective = spec.build_objective()
    strategy = create_strategy("random", spec.build_space(), objective, seed=0)
    return create_stopper(strategy, spec.build_early_stopping(), objective)


def _verdict(decision) -> tuple[str, float | None, int]:
    if decision is None:
        return "continue", None, 0
    return decision.action.value, decision.threshold, decision.compared


def _check_tally(tally: Tally) -> None:
    assert tally.decisions >= 2000  # thousands of decisions compared, one by one
    assert tally.stops >= 50 and tally.finished >= 20 and tally.failed >= 5  # every kind of ending occurs
    assert tally.ties >= 5  # values equal to the median: they go on in both
    assert tally.by_step[1] >= N_JOBS - WORKERS  # nearly every job was judged at its first value


@pytest.mark.parametrize("early_stopping", ["auto", {"rule": "median"}, True, {"min_jobs": 1, "grace_values": 0}])
def test_every_spelling_of_sagemakers_rule_builds_the_same_stopper(early_stopping: object) -> None:
    stopper = _spec_stopper(False, early_stopping)
    assert stopper.rule == MedianRule() and stopper.name == "early stopping 'auto'"


@pytest.mark.parametrize("maximize", [False, True], ids=["minimize", "maximize"])
def test_the_tuners_stopper_makes_sagemakers_decisions(maximize: bool) -> None:
    stopper = _spec_stopper(maximize, "auto")
    tally = _run(20, maximize, lambda job, step, value: _verdict(stopper.decide(f"job-{job.index}", job.index,
                                                                                step, value)))
    _check_tally(tally)
    assert tally.unjudged < tally.decisions / 100  # no warm-up: only steps no earlier job had reached yet


def test_asktell_makes_sagemakers_decisions() -> None:
    at = AskTell({"x": {"min_value": 0.0, "max_value": 1.0}}, objective="acc", maximize=True, strategy="random",
                 seed=0, early_stopping="auto")
    suggestions = {}

    def begin(job: Job) -> None:
        suggestions[job.index] = at.ask()  # asked when its worker starts it: ids are the creation order
        assert suggestions[job.index].id == job.index

    def report(job: Job, step: int, value: float) -> tuple[str, float | None, int]:
        result = at.tell(suggestions[job.index], value, step=step)
        return _verdict(result.decision)

    def end(job: Job, failed: bool) -> None:
        if failed:
            at.tell(suggestions[job.index], failed="crashed")
        else:
            at.tell(suggestions[job.index], job.curve[-1])

    tally = _run(21, True, report, end, begin)
    _check_tally(tally)
    assert len(at.results) == N_JOBS and at.pending == []
    assert sum(1 for _, v in at.results if v is None) == tally.stops + tally.failed


def test_an_explicit_warm_up_is_the_reference_with_that_warm_up() -> None:
    settings = {"rule": "median", "min_jobs": 3, "grace_values": 1}
    stopper = _spec_stopper(False, settings)
    tally = _run(22, False, lambda job, step, value: _verdict(stopper.decide(f"job-{job.index}", job.index, step,
                                                                             value)), min_jobs=3, grace_values=1)
    assert tally.decisions >= 2000 and tally.stops >= 50
    assert tally.unjudged >= N_JOBS  # every job's first value, at least


def test_the_warm_up_changes_decisions() -> None:
    """The comparison can fail: the old defaults (min_jobs 3, grace_values 1) do not make SageMaker's decisions."""
    stopper = _spec_stopper(False, {"rule": "median", "min_jobs": 3, "grace_values": 1})
    seen: dict[int, dict[int, float]] = {}
    differ = 0

    def report(job: Job, step: int, value: float) -> tuple[str, float | None, int]:
        nonlocal differ
        got = _verdict(stopper.decide(f"job-{job.index}", job.index, step, value))
        differ += got[0] != reference(seen, job.index, step, value, False)[0]  # SageMaker's rule, no warm-up
        seen.setdefault(job.index, {})[step] = value
        return got

    _run(23, False, report, min_jobs=3, grace_values=1)
    assert differ >= 100
