"""Can fast mode be trusted? ``hyperjob rankcheck NAME --top K``.

A fast tuning job (``fast.enabled``: one short period, fewer epochs) ranks configurations cheaply. rankcheck
runs its top K configurations again in full mode as a linked tuning job (``<NAME>-full``: the same spec with
fast mode off and the ``listed`` strategy holding those K configurations, ``of: NAME``), then compares the two
rankings: Spearman's rho and Kendall's tau (scipy.stats) with confidence intervals from Fisher's z
transformation (standard errors sqrt(1.06 / (K - 3)) and sqrt(0.437 / (K - 4)), Fieller, Hartley and Pearson
1957), and says in plain words whether the fast ranking tracks the full one.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

from hyperjob.errors import SpecError, TuningJobError
from hyperjob.records import Objective, TrainingJobStatus

#: the fewest configurations rankcheck compares (Kendall's interval needs K > 4)
MIN_TOP = 5


@dataclass(frozen=True)
class RankCheck:
    """The rank agreement of fast and full mode over the same configurations."""

    fast: str
    full: str
    n: int
    spearman: float
    spearman_ci: tuple[float, float]
    kendall: float
    kendall_ci: tuple[float, float]
    confidence: float
    verdict: str
    configurations: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _fisher_ci(r: float, se: float, confidence: float, nearest: float) -> tuple[float, float]:
    """The Fisher-z interval of ``r``; a perfect ``r`` (z infinite) is centred on ``nearest``, the closest value
    below 1 the statistic can take with these many configurations (one adjacent pair swapped), so that a
    perfect ranking of five configurations is not an interval of width zero."""
    from scipy import stats

    if not math.isfinite(r):
        return (math.nan, math.nan)
    z = math.atanh(max(-nearest, min(nearest, r)))
    half = float(stats.norm.ppf(0.5 + confidence / 2)) * se
    return (min(r, math.tanh(z - half)), max(r, math.tanh(z + half)))


def rank_agreement(fast: Sequence[float], full: Sequence[float], *, confidence: float = 0.95
                   ) -> tuple[float, tuple[float, float], float, tuple[float, float]]:
    """Spearman's rho and Kendall's tau of two value lists, each with a Fisher-z confidence interval.

    Raises:
        SpecError: fewer than :data:`MIN_TOP` pairs.
    """
    from scipy import stats

    n = len(fast)
    if n < MIN_TOP or len(full) != n:
        raise SpecError(f"a rank correlation with an interval needs at least {MIN_TOP} configurations in both, got "
                        f"{n} and {len(full)}. Use --top {MIN_TOP} or more.", path="top")
    rho = float(stats.spearmanr(fast, full).statistic)
    tau = float(stats.kendalltau(fast, full).statistic)
    return (rho, _fisher_ci(rho, math.sqrt(1.06 / (n - 3)), confidence, 1 - 12 / (n * (n * n - 1))),
            tau, _fisher_ci(tau, math.sqrt(0.437 / (n - 4)), confidence, 1 - 4 / (n * (n - 1))))


def verdict(rho: float, low: float, confidence: float) -> str:
    level = f"{confidence * 100:g} %"
    if not math.isfinite(rho):
        return "no verdict: the values do not vary, so they have no ranking"
    if low > 0.5:
        return f"fast mode ranks these configurations as full mode does (Spearman's lower {level} bound {low:.2f} > 0.5)"
    if low > 0:
        return (f"fast mode's ranking goes with full mode's, but weakly (Spearman's lower {level} bound {low:.2f}): "
                "check the top configurations in full mode")
    return f"fast mode's ranking cannot be trusted here (Spearman's {level} interval reaches {low:.2f})"


def ranked_values(store: Any, name: str, objective: Objective) -> list[tuple[dict[str, Any], float]]:
    """The tuning job's configurations best first, each with its value (the aggregate over its periods, or
    its training job's final objective)."""
    from hyperjob.tuner.periods import configurations, ranked

    tuning = store.get_tuning_job(name)
    records = store.list_training_jobs(name)
    periods = (tuning.spec.get("periods") or {})
    if periods:
        return [(dict(c.config), float(c.aggregate)) for c in ranked(
            configurations(records, objective, periods.get("aggregate") or "mean"), objective)]
    done = [r for r in records if r.status is TrainingJobStatus.COMPLETED and r.final_objective is not None]
    done.sort(key=lambda r: (objective.loss(r.final_objective), r.index))  # type: ignore[arg-type]
    seen: set[str] = set()
    out = []
    for r in done:
        from hyperjob.records import config_key

        key = config_key(r.config)
        if key not in seen:
            seen.add(key)
            out.append((dict(r.config), float(r.final_objective)))  # type: ignore[arg-type]
    return out


def full_spec_json(fast_spec: Mapping[str, Any], configs: Sequence[Mapping[str, Any]], fast_name: str,
                   full_name: str) -> dict[str, Any]:
    """The linked full-mode tuning job's spec: fast mode off, the listed strategy with ``configs``."""
    data = {k: v for k, v in fast_spec.items() if k != "warnings"}
    data["name"] = full_name
    data["fast"] = {**(data.get("fast") or {}), "enabled": False}
    data["strategy"] = {"name": "listed", "settings": {"configurations": [dict(c) for c in configs],
                                                       "of": fast_name}}
    data["limits"] = {**(data.get("limits") or {}), "max_jobs": len(configs)}
    data["completion"] = {}
    data.pop("warm_start", None)
    return data


def check_fast(tuning: Any, top: int) -> None:
    """Refuse a tuning job that did not run in fast mode, or a ``top`` below :data:`MIN_TOP`."""
    if not ((tuning.spec.get("fast") or {}).get("enabled")):
        raise SpecError(
            f"tuning job {tuning.name!r} did not run in fast mode, so there is nothing to check. Run it with "
            f"`hyperjob tune SPEC --fast` (fast: in the spec declares its overrides), then rankcheck that.")
    if top < MIN_TOP:
        raise SpecError(f"--top {top}: a rank correlation with an interval needs at least {MIN_TOP} configurations.",
                        path="top")


def compare_rankings(store: Any, fast_name: str, full_name: str, configs: Sequence[Mapping[str, Any]],
                     objective: Objective, confidence: float = 0.95) -> RankCheck:
    """The rank agreement of the fast tuning job and its full-mode run over ``configs``."""
    from hyperjob.records import config_key

    fast = {config_key(c): v for c, v in ranked_values(store, fast_name, objective)}
    full = {config_key(c): v for c, v in ranked_values(store, full_name, objective)}
    both = [c for c in configs if config_key(c) in fast and config_key(c) in full]
    if len(both) < MIN_TOP:
        raise TuningJobError(
            f"only {len(both)} of the {len(configs)} configurations have a value in both {fast_name!r} and "
            f"{full_name!r} (failed training jobs?); a rank correlation needs {MIN_TOP}. See `hyperjob trials "
            f"{full_name}`.")
    a = [objective.loss(fast[config_key(c)]) for c in both]
    b = [objective.loss(full[config_key(c)]) for c in both]
    rho, rho_ci, tau, tau_ci = rank_agreement(a, b, confidence=confidence)
    rows = tuple({"TunedHyperParameters": dict(c), "Fast": fast[config_key(c)], "Full": full[config_key(c)]}
                 for c in both)
    return RankCheck(fast_name, full_name, len(both), rho, rho_ci, tau, tau_ci, confidence,
                     verdict(rho, rho_ci[0], confidence), rows)
