"""The Bayesian strategy's ``multifidelity: auto``: a model of the learning curves once jobs are stopped early."""

from __future__ import annotations

import pytest

from hyperjob.errors import SpecError
from hyperjob.records import Direction, Failed, Final, Intermediate, Objective, Pending
from hyperjob.space import ContinuousRange, SearchSpace

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from hyperjob.strategies.bayesian import BayesianStrategy  # noqa: E402

MAX = Objective("acc", Direction.MAXIMIZE)
SPACE = SearchSpace(
    (ContinuousRange(name="x", min_value=0.0, max_value=1.0), ContinuousRange(name="y", min_value=0.0, max_value=1.0))
)


def curve(config, step):
    """Accuracy rising with the epochs, best at x = 0.8 (any y)."""
    return 1.0 - (config["x"] - 0.8) ** 2 - 0.5 / step


def run(s, job, config, last, stopped, epochs=27):
    """Steps 1..last of a training job, then its stop (the last value, stopped) or its end."""
    s.observe(Pending(config, training_job=job))
    for step in range(1, last + 1):
        s.observe(Intermediate(config, step, curve(config, step), training_job=job, stopped=stopped and step == last))
    if not stopped:
        s.observe(Final(config, curve(config, last), training_job=job))


def grid(i, n=8):
    return {"x": (i + 0.5) / n, "y": ((3 * i) % n + 0.5) / n}


def points(s):
    return sorted((s._mf.levels[k], round(-loss, 9)) for k, loss in zip(s._mf._level, s._mf._losses))


def test_the_levels_follow_the_longest_completed_job_and_every_job_is_a_point_at_each_level_it_reached():
    s = BayesianStrategy(SPACE, MAX, seed=0, n_initial=3, multifidelity="auto")
    a, b = grid(0), grid(5)
    run(s, "a", a, 27, stopped=False)
    run(s, "b", b, 4, stopped=True)  # stopped at step 4: points at levels 1 and 3 only, no stand-in at 9 or 27
    s.observe(Failed(grid(2), "out of memory", training_job="c"))
    assert s._levels() == (1, 3, 9, 27)
    assert s._curves_model() is s._mf
    expected = sorted([(1, curve(a, 1)), (3, curve(a, 3)), (9, curve(a, 9)), (27, curve(a, 27)),
                       (1, curve(b, 1)), (3, curve(b, 3))])
    assert points(s) == [(level, round(v, 9)) for level, v in expected]
    # a running job's values are points as they come; its final value gives the top level once
    c = grid(7)
    run(s, "d", c, 9, stopped=False)  # a completed job with fewer steps: points at 1, 3, 9 (not at 27)
    assert (27, round(curve(c, 9), 9)) not in points(s) and (9, round(curve(c, 9), 9)) in points(s)


def test_levels_of_short_jobs_and_a_longer_job_rebuilds_them():
    s = BayesianStrategy(SPACE, MAX, seed=0, multifidelity="auto")
    run(s, "a", grid(0), 8, stopped=False)
    assert s._levels() == (1, 3, 8)
    run(s, "b", grid(1), 2, stopped=True)
    assert s._curves_model().levels == (1, 3, 8)
    run(s, "c", grid(2), 27, stopped=False)
    assert s._mf is None  # rebuilt at the next use, with every job's values again
    assert s._curves_model().levels == (1, 3, 9, 27)
    assert s._mf.points == 2 + 1 + 4  # a (8 steps): levels 1 and 3; b: 1; c: all four


def test_without_stopped_jobs_the_strategy_is_the_plain_one():
    on, off = (BayesianStrategy(SPACE, MAX, seed=3, n_initial=4, multifidelity=m) for m in ("auto", "off"))
    for s in (on, off):
        for i in range(6):
            run(s, f"j{i}", grid(i), 5, stopped=False)
    assert on._curves_model() is None
    assert on.suggest(2) == off.suggest(2)


def test_stopped_jobs_steer_the_model_to_the_region_their_early_values_show():
    s = BayesianStrategy(SPACE, MAX, seed=1, n_initial=4, multifidelity="auto")
    run(s, "full", {"x": 0.1, "y": 0.5}, 27, stopped=False)  # one completed job, in a poor region
    for i in range(8):
        run(s, f"j{i}", grid(i), 1, stopped=True)  # the others stopped at step 1
    assert s._curves_model() is not None and s._mf.points == 4 + 8
    xs = [c["x"] for c in s.suggest(3)]
    assert min(xs) > 0.5, xs  # the full resource is predicted from the early values
    assert len({round(x, 9) for x in xs}) == 3  # pending suggestions are believed: three different ones
    # the same events with multifidelity off: the stopped jobs are results at their step-1 value
    off = BayesianStrategy(SPACE, MAX, seed=1, n_initial=4, multifidelity="off")
    run(off, "full", {"x": 0.1, "y": 0.5}, 27, stopped=False)
    for i in range(8):
        run(off, f"j{i}", grid(i), 1, stopped=True)
    assert off._curves_model() is None and off.suggest(3) != s.suggest(0) + xs


def test_the_same_seed_and_events_give_the_same_suggestions():
    def suggestions():
        s = BayesianStrategy(SPACE, MAX, seed=5, n_initial=3, multifidelity="auto")
        run(s, "full", grid(3), 9, stopped=False)
        for i in range(5):
            run(s, f"j{i}", grid(i), 1 + i % 3, stopped=True)
        return s.suggest(2)

    assert suggestions() == suggestions()


@pytest.mark.parametrize("value, expected", [("auto", "auto"), ("OFF", "off"), (False, "off"), (True, "auto")])
def test_the_setting_reads_auto_and_off(value, expected):
    assert BayesianStrategy(SPACE, MAX, seed=0, multifidelity=value).multifidelity == expected


def test_the_default_is_off():
    s = BayesianStrategy(SPACE, MAX, seed=0, n_initial=3)
    run(s, "full", grid(0), 9, stopped=False)
    run(s, "short", grid(1), 1, stopped=True)
    assert s.multifidelity == "off" and s._curves_model() is None


def test_a_bad_setting_is_refused_with_its_place_and_the_choices():
    with pytest.raises(SpecError, match="multifidelity must be auto or off") as info:
        BayesianStrategy(SPACE, MAX, seed=0, multifidelity="yes")
    assert info.value.path == "strategy.settings.multifidelity"
