"""Scrambled Sobol points in numpy: the points of scipy's ``qmc.Sobol(dim, scramble=True, seed=rng)``, without
importing ``scipy.stats`` (0.3 to 1 s, before the first training job of a random search could start).

The same construction as scipy's (Joe and Kuo's direction numbers, read from scipy's own data file; linear
matrix scrambling plus a digital shift, drawn from the generator in the same order), so the points are the same
(``tests/unit/strategies/test_sobol.py`` compares them). Point ``i`` is computed directly from its Gray code: a
pure function of the seed and ``i``, at any ``i``, with no engine state to fast-forward.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

#: Bits of every coordinate (scipy's default): at most ``2**BITS`` distinct points.
BITS = 30
#: The most dimensions the direction numbers cover (Joe and Kuo's table).
MAX_DIM = 21201

_SCALE = 1.0 / 2**BITS


class ScrambledSobol:
    """The scrambled Sobol sequence of ``dim`` dimensions for one seed.

    Args:
        dim: the number of coordinates, 1 to :data:`MAX_DIM`.
        entropy: the seed of the scrambling, as ``numpy.random.default_rng(entropy)`` takes it; the points are
            scipy's for ``qmc.Sobol(dim, scramble=True, seed=numpy.random.default_rng(entropy))``.
    """

    def __init__(self, dim: int, entropy: int | list[int]) -> None:
        if not 1 <= dim <= MAX_DIM:
            raise ValueError(f"Sobol points need 1 to {MAX_DIM} dimensions, got {dim}")
        self.dim = dim
        # scipy scrambles with a child of the generator it is given (spawned from its seed sequence)
        rng = np.random.default_rng(np.random.SeedSequence(entropy).spawn(1)[0])
        shift_bits = rng.integers(2, size=(dim, BITS), dtype=np.uint32)
        self._shift = shift_bits.astype(np.uint64) @ (np.uint64(1) << np.arange(BITS, dtype=np.uint64))
        ltm = np.tril(rng.integers(2, size=(dim, BITS, BITS), dtype=np.uint32))
        self._v = _scramble(direction_numbers(dim), ltm)

    def point(self, i: int) -> np.ndarray:
        """Point ``i`` (0-based) of the sequence, in ``[0, 1)^dim``."""
        if not 0 <= i < 2**BITS:
            raise ValueError(f"a Sobol point index must be in [0, 2**{BITS}), got {i}")
        gray = i ^ (i >> 1)
        q = self._shift.copy()
        k = 0
        while gray:
            if gray & 1:
                q ^= self._v[:, k]
            gray >>= 1
            k += 1
        return q * _SCALE


def _scramble(v: np.ndarray, ltm: np.ndarray) -> np.ndarray:
    """Linear matrix scrambling of the direction numbers (scipy's ``_cscramble``): bit ``BITS-1-p`` of a
    scrambled number is the parity of row ``p`` of the lower-triangular bit matrix (its diagonal set to 1,
    read from its last column) and the number's bits."""
    ltm = ltm.astype(np.int64)
    diag = np.arange(BITS)
    ltm[:, diag, diag] = 1
    bits = ((v[:, :, None] >> np.arange(BITS, dtype=np.uint64)) & np.uint64(1)).astype(np.int64)  # [d, j, k]
    parity = np.einsum("dpk,djk->djp", ltm[:, :, ::-1], bits) % 2
    weights = np.uint64(1) << np.arange(BITS - 1, -1, -1, dtype=np.uint64)  # p -> 2**(BITS-1-p)
    return (parity.astype(np.uint64) * weights).sum(axis=2, dtype=np.uint64)


@functools.lru_cache(maxsize=8)
def direction_numbers(dim: int) -> np.ndarray:
    """The unscrambled direction numbers ``v[d, j]`` (``BITS``-bit integers) of the first ``dim`` dimensions
    (Bratley and Fox's recurrence from Joe and Kuo's primitive polynomials and initial numbers, as scipy)."""
    table = _table()
    if table is None:
        return _direction_numbers_from_scipy(dim)
    poly, vinit = table
    v = np.zeros((dim, BITS), dtype=np.uint64)
    v[0, :] = 1
    for d in range(1, dim):
        p = int(poly[d])
        m = p.bit_length() - 1  # the polynomial's degree
        row = [int(x) for x in vinit[d, :m]] + [0] * (BITS - m)
        for j in range(m, BITS):
            new = row[j - m]
            for k in range(m):
                if (p >> (m - 1 - k)) & 1:
                    new ^= row[j - k - 1] << (k + 1)
            row[j] = new
        v[d] = row
    return v << np.arange(BITS - 1, -1, -1, dtype=np.uint64)


def _table() -> tuple[np.ndarray, np.ndarray] | None:
    """Joe and Kuo's table as scipy ships it (``scipy/stats/_sobol_direction_numbers.npz``), read without
    importing scipy; ``None`` when this scipy keeps it elsewhere."""
    spec = importlib.util.find_spec("scipy")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "stats" / "_sobol_direction_numbers.npz"
    try:
        with np.load(path) as data:
            poly, vinit = data["poly"], data["vinit"]
    except (OSError, KeyError, ValueError):
        return None
    if poly.shape != (MAX_DIM,) or vinit.shape[0] != MAX_DIM:
        return None
    return poly, vinit


def _direction_numbers_from_scipy(dim: int) -> np.ndarray:
    """The direction numbers as scipy computes them (slow: imports scipy.stats), for a scipy that keeps its
    table elsewhere."""
    from scipy.stats._sobol import _initialize_v

    v = np.zeros((dim, BITS), dtype=np.uint32)
    _initialize_v(v, dim=dim, bits=BITS)
    return v.astype(np.uint64)


__all__ = ["BITS", "MAX_DIM", "ScrambledSobol", "direction_numbers"]
