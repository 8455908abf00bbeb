"""Our scrambled Sobol points are scipy's (``qmc.Sobol(d, scramble=True, seed=default_rng(entropy))``), point
for point, without importing scipy.stats."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import qmc

from hyperjob.strategies import _sobol
from hyperjob.strategies._sobol import ScrambledSobol


@pytest.mark.parametrize("dim", [1, 2, 3, 7, 21, 64])
@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_the_points_are_scipys(dim: int, seed: int) -> None:
    ours = ScrambledSobol(dim, [seed, 0])
    engine = qmc.Sobol(dim, scramble=True, seed=np.random.default_rng([seed, 0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's balance warning: 100 is not a power of two
        expected = engine.random(100)
    assert np.array_equal(np.array([ours.point(i) for i in range(100)]), expected)
    engine.fast_forward(123_456 - 100)
    assert np.array_equal(ours.point(123_456), engine.random(1)[0])  # any index, directly


def test_the_direction_numbers_from_the_data_file_are_scipys() -> None:
    assert _sobol._table() is not None  # this scipy keeps its table where we read it
    for dim in (1, 5, 40):
        assert np.array_equal(_sobol.direction_numbers(dim), _sobol._direction_numbers_from_scipy(dim))


def test_without_the_data_file_the_points_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = [ScrambledSobol(6, [3, 0]).point(i) for i in range(20)]
    monkeypatch.setattr(_sobol, "_table", lambda: None)
    _sobol.direction_numbers.cache_clear()
    try:
        assert np.array_equal([ScrambledSobol(6, [3, 0]).point(i) for i in range(20)], expected)
    finally:
        _sobol.direction_numbers.cache_clear()


@pytest.mark.parametrize("dim, i", [(0, 0), (_sobol.MAX_DIM + 1, 0), (2, -1), (2, 2**30)])
def test_out_of_range(dim: int, i: int) -> None:
    with pytest.raises(ValueError):
        ScrambledSobol(dim, [0, 0]).point(i)
