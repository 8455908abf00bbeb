"""Hyperparameter importance: fANOVA main effects over a random forest (Hutter, Hoos and Leyton-Brown, ICML 2014).

A random forest (scikit-learn) is fitted to the objective over the configurations' points in the unit cube
(``SearchSpace.to_unit``: each range's own scaling, each categorical value an equal share); for each tree, the
share of the objective's variance explained by each hyperparameter alone is computed exactly from the tree's
leaves (the marginal of a tree is piecewise constant between its split points), and the shares are averaged over
the trees. What the main effects leave unexplained is the interactions' share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class Importance:
    """Main-effect shares of the objective's variance, by hyperparameter (each in [0, 1], sum <= 1).

    ``interactions`` is what the main effects leave unexplained; ``n`` the number of training jobs used.
    """

    shares: dict[str, float]
    interactions: float
    n: int


def _leaves(tree: object, dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The leaves of a fitted sklearn tree as boxes of [0, 1]^dim: (lower corners, upper corners, values)."""
    t = tree.tree_  # type: ignore[attr-defined]
    lo_out, hi_out, val_out = [], [], []
    stack = [(0, np.zeros(dim), np.ones(dim))]
    while stack:
        node, lo, hi = stack.pop()
        left, right = t.children_left[node], t.children_right[node]
        if left == -1:
            lo_out.append(lo)
            hi_out.append(hi)
            val_out.append(float(t.value[node].ravel()[0]))
            continue
        f, thr = int(t.feature[node]), float(t.threshold[node])
        cut = min(max(thr, lo[f]), hi[f])
        hi_left = hi.copy()
        hi_left[f] = cut
        lo_right = lo.copy()
        lo_right[f] = cut
        stack.append((left, lo, hi_left))
        stack.append((right, lo_right, hi))
    return np.array(lo_out), np.array(hi_out), np.array(val_out)


def tree_main_effects(lo: np.ndarray, hi: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, float]:
    """Each dimension's main-effect variance of a piecewise-constant function on [0, 1]^dim, and its total variance.

    Args:
        lo, hi: (leaves, dim) corners of the leaves' boxes, which partition the unit cube.
        values: (leaves,) the function's value on each box.
    """
    widths = hi - lo
    volume = np.prod(widths, axis=1)
    mean = float(np.sum(volume * values))
    total = float(np.sum(volume * (values - mean) ** 2))
    dim = lo.shape[1]
    effects = np.zeros(dim)
    for d in range(dim):
        edges = np.unique(np.concatenate([lo[:, d], hi[:, d], [0.0, 1.0]]))
        # f_d(x) = sum over the leaves whose d-interval holds x of value * (volume of the box outside d)
        weight = np.divide(volume, widths[:, d], out=np.zeros_like(volume), where=widths[:, d] > 0) * values
        start = np.searchsorted(edges, lo[:, d])
        stop = np.searchsorted(edges, hi[:, d])
        diff = np.zeros(len(edges) + 1)
        np.add.at(diff, start, weight)
        np.add.at(diff, stop, -weight)
        marginal = np.cumsum(diff)[: len(edges) - 1]
        lengths = np.diff(edges)
        effects[d] = float(np.sum(lengths * (marginal - mean) ** 2))
    return effects, total


def fanova_importance(
    points: np.ndarray, objective: Sequence[float], names: Sequence[str], *, n_trees: int = 32,
    max_rows: int = 2000, seed: int = 0,
) -> Importance:
    """Main-effect importance of each hyperparameter for the objective.

    Args:
        points: (n, dim) configurations in [0, 1]^dim (``SearchSpace.to_unit``).
        objective: (n,) finite objective values.
        names: the dim hyperparameter names.
        n_trees: trees of the forest.
        max_rows: at most this many training jobs are used (a seeded random subset), to bound the time.
        seed: the forest's and the subset's seed (same data and seed, same answer).

    Returns:
        The shares; all zero (and ``interactions`` 0) when fewer than 3 training jobs or a constant objective.
    """
    from sklearn.ensemble import RandomForestRegressor

    x = np.asarray(points, dtype=float).reshape(len(objective), len(names))
    y = np.asarray(objective, dtype=float)
    zero = Importance({n: 0.0 for n in names}, 0.0, int(len(y)))
    if len(y) < 3 or float(np.ptp(y)) == 0.0 or not names:
        return zero
    rng = np.random.default_rng(seed)
    if len(y) > max_rows:
        keep = rng.choice(len(y), size=max_rows, replace=False)
        x, y = x[keep], y[keep]
    forest = RandomForestRegressor(n_estimators=n_trees, min_samples_leaf=2, random_state=seed, n_jobs=1)
    forest.fit(x, y)
    shares, unexplained, used = np.zeros(len(names)), 0.0, 0
    for tree in forest.estimators_:
        effects, total = tree_main_effects(*_leaves(tree, len(names)))
        if total <= 0:
            continue
        shares += effects / total
        unexplained += max(0.0, 1.0 - float(np.sum(effects)) / total)
        used += 1
    if used == 0:
        return zero
    return Importance({n: float(s / used) for n, s in zip(names, shares)}, unexplained / used, int(len(objective)))
