"""Graph-size rules: how a ``model-HPO-configuration.json``'s ranges are resolved for a given graph.

Applied to the parsed file before it is read (:func:`hyperjob.formats.neptune.load_config_for_graph`), so this
module knows the file's layout but not its reader.

Neptune ML lets a range scale with the graph (``node_strategy`` / ``edge_strategy``: ``perM``, ``per10M``,
``per100M``) but does not publish the formula. Ours (``docs/graph.md`` has the same text and the worked
example):

**Rule 1: size scaling.** Let ``S`` be the graph's number of nodes (``node_strategy``) or edges
(``edge_strategy``), over all types, and ``U`` the unit: 1,000,000 (``perM``), 10,000,000 (``per10M``) or
100,000,000 (``per100M``). The written range is the range for a graph of exactly ``U``. Each bound and the
default are multiplied by

    ``f = min(1, sqrt(S / U))``  for hyperparameters that *grow* with the graph (:data:`GROWING`:
    ``batch-size``, ``num-negs``, ``num-hidden``, ``edge-num-hidden``): a smaller graph has room for less;
    a model's width (``num-hidden``, ``edge-num-hidden``) keeps ``f >= 0.25``, so that a tiny graph gets a
    small model, not a degenerate one (``[16, 128]`` becomes at worst ``[4, 32]``, never ``[1, 4]``);

    ``f = min(1, sqrt(U / S))``  for every other hyperparameter (``num-epochs`` above all): on a larger graph
    each epoch is more work, so fewer are tried.

So a range never widens beyond what was written (``f <= 1``), and the square root keeps a graph 100 times
off the unit at a tenth of the range, not a hundredth. The scaled bounds are then put back on the range's grid:
``power2`` bounds are rounded to powers of two (in log space), ``int`` bounds to whole numbers, a ``linear``
grid keeps its ``inc_val`` step from the scaled min; a bound that was >= 1 stays >= 1 (0 stays 0), and a range
keeps at least two values. The default is scaled the same way and snapped into the new range. ``options``
(categorical) are not scaled.

**Rule 2: batch-size fits the training set.** Neptune does not clamp ``batch-size``, so its default range
[128, 4096] fails on small graphs (corpus fact 9). When the number of training items ``T`` (target nodes, or
target edges for link prediction) is known, a ``batch-size`` range whose max exceeds ``T`` is cut to the largest
value of its grid that is <= ``T`` (and its min to half of that when needed, so two values remain); a larger
default is cut the same way.

Worked example (air-routes: 3,749 nodes, 57,645 edges; seed 000's ``num-epochs`` ``[3, 30]`` ``perM``,
our rgcn link-prediction template's ``batch-size`` ``[128, 4096]`` power2, default 1024, ``edge_strategy
perM``):

- ``num-epochs`` shrinks: ``f = min(1, sqrt(1e6 / 3749)) = 1``: the range stays ``[3, 30]`` (a small graph
  is cheap). On a 40M-node graph, ``f = sqrt(1e6 / 4e7) = 0.158``: ``[0.47, 4.74]`` -> ``[1, 5]``.
- ``batch-size`` grows: ``f = min(1, sqrt(57645 / 1e6)) = 0.240``: ``[30.7, 983]`` -> powers of two
  ``[32, 1024]``, default ``1024 * 0.240 = 246`` -> ``256``. Rule 2 with the 45,573 training edges changes
  nothing; on air-routes-small (1,326 edges, 1,193 training edges) rule 1 gives ``[4, 128]``, default 32.

Example:
    >>> cfg = {"models": [{"model": "rgcn", "task_type": "node_class", "eval_metric": {"metric": "acc"},
    ...     "1-tier-param": [{"param": "num-epochs", "type": "int", "range": [3, 30], "inc_strategy": "linear",
    ...                       "inc_val": 1, "node_strategy": "perM"}],
    ...     "2-tier-param": [], "3-tier-param": [], "fixed-param": []}]}
    >>> resolve_graph_size(cfg, num_nodes=40_000_000, num_edges=0)[0]["models"][0]["1-tier-param"][0]["range"]
    [1, 5]
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any, Mapping

from hyperjob.errors import SpecError

__all__ = [
    "GROWING",
    "MIN_WIDTH_FACTOR",
    "WIDTHS",
    "UNITS",
    "resolve_graph_size",
    "scale_factor",
]

#: nodes or edges per unit of each strategy
UNITS: Mapping[str, int] = {"perm": 1_000_000, "per10m": 10_000_000, "per100m": 100_000_000}
#: hyperparameters whose range grows with the graph (every other one shrinks)
GROWING = frozenset({"batch-size", "num-negs", "num-hidden", "edge-num-hidden"})
#: growing hyperparameters that are a model's width: rule 1 shrinks them by at most :data:`MIN_WIDTH_FACTOR`
WIDTHS = frozenset({"num-hidden", "edge-num-hidden"})
MIN_WIDTH_FACTOR = 0.25
#: the tuned tier arrays, in every spelling :func:`~hyperjob.formats.neptune.load_neptune_config` accepts
_TUNED_TIER_KEY = re.compile(r"^(?:[123]-tier-params?|tier-?[123]-params?)$")


def scale_factor(name: str, strategy: str, size: int) -> float:
    """The factor ``f`` of rule 1 for hyperparameter ``name`` with ``strategy`` on a graph of ``size``.

    Args:
        name: the hyperparameter (its direction: :data:`GROWING` or not).
        strategy: ``perM``, ``per10M`` or ``per100M`` (any case).
        size: the graph's nodes or edges (>= 0).

    Raises:
        SpecError: an unknown strategy or a negative size.

    >>> round(scale_factor("batch-size", "perM", 57_645), 3), scale_factor("num-epochs", "perM", 3_749)
    (0.24, 1.0)
    """
    unit = UNITS.get(str(strategy).lower())
    if unit is None:
        raise SpecError(f"unknown graph-size strategy {strategy!r}. Use perM, per10M or per100M.",
                        path=f"hyperparameters.{name}")
    if size < 0:
        raise SpecError(f"the graph size must be >= 0, got {size}.", path="graph")
    if name in GROWING:
        f = min(1.0, math.sqrt(size / unit))
        # a model's width is not cut below a quarter of what was written (num-hidden [16, 128] -> [4, 32] at
        # worst, never [1, 4]); batch-size and num-negs follow the graph down (rule 2 fits batch-size to it)
        return max(f, MIN_WIDTH_FACTOR) if name in WIDTHS else f
    return 1.0 if size == 0 else min(1.0, math.sqrt(unit / size))


def _num(x: Any) -> float | None:
    if isinstance(x, bool):
        return None
    if isinstance(x, (int, float)):
        return float(x)
    if isinstance(x, str):
        try:
            return float(x.strip())
        except ValueError:
            return None
    return None


def _pow2_floor(x: float) -> int:
    return 2 ** max(0, math.floor(math.log2(max(x, 1.0)) + 1e-9))


def _snap(value: float, lo: float, hi: float, *, integer: bool, power2: bool, step: float | None) -> float:
    """``value`` moved onto the range's grid and into ``[lo, hi]``."""
    if power2:
        v = 2.0 ** round(math.log2(max(value, 1e-300))) if value > 0 else lo
    elif step:
        v = lo + step * round((value - lo) / step)
    else:
        v = round(value) if integer else value
    v = min(max(v, lo), hi)
    return int(round(v)) if integer else float(v)


def _scaled_bounds(lo: float, hi: float, f: float, *, integer: bool, power2: bool, step: float | None
                   ) -> tuple[float, float]:
    """Rule 1's bounds: scaled, on the grid, ``>= 1`` where they were, at least two values."""
    floor = 1.0 if lo >= 1 else lo
    if power2:
        new_lo = max(2.0 ** round(math.log2(max(lo * f, 1e-300))), floor if integer else 0.0)
        new_hi = 2.0 ** round(math.log2(max(hi * f, 1e-300)))
        if integer:
            new_lo, new_hi = max(new_lo, 1.0), max(new_hi, 1.0)
        new_hi = max(new_hi, 2 * new_lo)
    elif step:
        new_lo = max(lo * f, floor)
        if integer:
            new_lo = float(round(new_lo))
        k = max(1, round((hi * f - new_lo) / step))
        new_hi = new_lo + k * step
    else:
        new_lo, new_hi = lo * f, hi * f
        if integer:
            new_lo = max(float(round(new_lo)), floor)
            new_hi = max(float(round(new_hi)), new_lo + 1)
        elif new_hi <= new_lo:  # pragma: no cover - f > 0 keeps the order
            new_hi = new_lo * 2 or 1.0
    if integer:
        return int(new_lo), int(new_hi)
    return float(f"{new_lo:.12g}"), float(f"{new_hi:.12g}")


def _cut_batch_size(p: dict[str, Any], train_size: int, integer: bool, power2: bool, step: float | None,
                    notes: list[str], where: str) -> None:
    lo, hi = _num(p["range"][0]), _num(p["range"][1])
    if lo is None or hi is None or hi <= train_size or train_size < 2:
        return
    if power2:
        new_hi: float = _pow2_floor(train_size)
    elif step:
        new_hi = lo + step * math.floor((train_size - lo) / step) if train_size >= lo + step else lo + step
    else:
        new_hi = train_size
    new_lo = lo if lo < new_hi else (new_hi / 2 if not step else new_hi - step)
    if integer:
        new_lo, new_hi = max(1, int(new_lo)), int(new_hi)
    p["range"] = [new_lo, new_hi]
    notes.append(f"{where}: batch-size range cut to {p['range']} to fit the {train_size} training item(s) "
                 "(graph-size rule 2)")
    d = _num(p.get("default"))
    if d is not None and d > new_hi:
        p["default"] = new_hi
    elif d is not None and d < new_lo:
        p["default"] = new_lo


def resolve_graph_size(
    config: Mapping[str, Any],
    *,
    num_nodes: int,
    num_edges: int,
    train_size: int | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Apply the graph-size rules to a parsed ``model-HPO-configuration.json``.

    Args:
        config: the parsed file (not modified).
        num_nodes: the graph's nodes, over all types.
        num_edges: the graph's edges, over all types.
        train_size: the training items (target nodes / edges); enables rule 2 (``None``: not applied).

    Returns:
        ``(resolved copy, notes)``: the copy has each scaled ``range`` and ``default`` replaced (the
        ``node_strategy``/``edge_strategy`` keys are kept); one note per change, ``models[0].<tier>[i]: ...``.
        A malformed file is returned unchanged where it is malformed:
        :func:`~hyperjob.formats.neptune.load_neptune_config` reports it.
    """
    data = copy.deepcopy(dict(config))
    notes: list[str] = []
    models = data.get("models")
    if not isinstance(models, list):
        return data, notes
    for mi, m in enumerate(models):
        if not isinstance(m, dict):
            continue
        for tier in [k for k in m if isinstance(k, str) and _TUNED_TIER_KEY.match(k)]:
            items = m.get(tier)
            if not isinstance(items, list):
                continue
            for i, p in enumerate(items):
                if not isinstance(p, dict) or not isinstance(p.get("param"), str):
                    continue
                where = f"models[{mi}].{tier}[{i}]"
                _resolve_param(p, num_nodes, num_edges, train_size, notes, where)
    return data, notes


def _resolve_param(p: dict[str, Any], num_nodes: int, num_edges: int, train_size: int | None, notes: list[str],
                   where: str) -> None:
    name = p["param"]
    rng = p.get("range")
    integer = str(p.get("type", "")).strip().lower() == "int"
    inc = str(p.get("inc_strategy") or "linear").strip().lower()
    power2 = inc == "power2"
    step = _num(p.get("inc_val")) if inc == "linear" and "inc_val" in p else None
    if step is not None and step <= 0:
        return
    for key, size in (("node_strategy", num_nodes), ("edge_strategy", num_edges)):
        strategy = p.get(key)
        if strategy is None:
            continue
        if not isinstance(strategy, str) or strategy.lower() not in UNITS:
            return  # the loader names the bad strategy
        if not (isinstance(rng, list) and len(rng) == 2):
            if "options" in p:
                notes.append(f"{where}: {name} has {key} {strategy} but options, which are not scaled")
            return
        lo, hi = _num(rng[0]), _num(rng[1])
        if lo is None or hi is None or lo >= hi or (power2 and lo <= 0):
            return
        f = scale_factor(name, strategy, size)
        if f >= 1.0:
            notes.append(f"{where}: {name} {key} {strategy}: {size} {key[:4]}s, factor 1, range kept {rng}")
            continue
        new_lo, new_hi = _scaled_bounds(lo, hi, f, integer=integer, power2=power2, step=step)
        p["range"] = [new_lo, new_hi]
        d = _num(p.get("default"))
        text = ""
        if d is not None and not isinstance(p.get("default"), list):
            p["default"] = _snap(d * f, new_lo, new_hi, integer=integer, power2=power2, step=step)
            text = f", default {p['default']}"
        notes.append(f"{where}: {name} {key} {strategy}: {size} {key[:4]}s, factor {f:.4g}, range {rng} -> "
                     f"{p['range']}{text}")
        rng = p["range"]
    if name == "batch-size" and train_size is not None and isinstance(p.get("range"), list) and len(p["range"]) == 2:
        _cut_batch_size(p, train_size, integer, power2, step, notes, where)
