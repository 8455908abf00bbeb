"""Is the winner real? A paired test of two configurations over the same evaluation periods.

For configurations A and B with one objective value per period: the sign count (A better in k of n periods),
Wilcoxon's signed-rank test (scipy.stats.wilcoxon, two-sided) and the mean difference with a Student t
confidence interval (scipy.stats.t); the verdict in plain words rests on the signed-rank test at the spec's
confidence. With fewer than 6 periods the two-sided signed-rank test cannot reach 95 %: the verdict says so.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from hyperjob.records import Objective


@dataclass(frozen=True)
class PairedTest:
    """The paired comparison of configuration ``a`` against ``b`` (differences are "how much better a is",
    in the objective's units: positive means better, whichever the direction).

    Attributes:
        n: the number of periods both have a value for.
        better: the periods in which ``a`` is strictly better; ``worse``: strictly worse.
        mean_difference: the mean of ``a``'s advantage over the periods.
        ci_low, ci_high: the t confidence interval of the mean difference (``None`` with one period).
        p_value: Wilcoxon signed-rank, two-sided (``None`` when every difference is zero or n < 2).
        smallest_p: the smallest p-value the signed-rank test can give with n non-zero differences.
        confidence: e.g. 0.95.
        verdict: in plain words.
    """

    a: str
    b: str
    n: int
    better: int
    worse: int
    mean_difference: float
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    smallest_p: float | None
    confidence: float
    verdict: str

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < 1 - self.confidence and self.mean_difference > 0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "significant": self.significant}


def advantages(a: Sequence[float], b: Sequence[float], objective: Objective) -> list[float]:
    """Per period, how much better ``a`` is than ``b`` (positive: better), in the objective's units."""
    sign = 1.0 if objective.maximize else -1.0
    return [sign * (float(x) - float(y)) for x, y in zip(a, b)]


def paired_test(a: Sequence[float], b: Sequence[float], objective: Objective, *, confidence: float = 0.95,
                names: tuple[str, str] = ("a", "b"), against: str = "the runner-up") -> PairedTest:
    """Compare ``a`` with ``b`` period by period (the same periods in the same order).

    Args:
        a, b: the objective values of the two configurations, one per period.
        objective: the direction decides what "better" is.
        confidence: of the interval and the verdict.
        names: how the two are called in the result.
        against: how the verdict names ``b`` ("the runner-up", "configuration 3").
    """
    from scipy import stats

    if len(a) != len(b):
        raise ValueError(f"paired values need the same periods, got {len(a)} and {len(b)} values")
    d = advantages(a, b, objective)
    n = len(d)
    better = sum(1 for x in d if x > 0)
    worse = sum(1 for x in d if x < 0)
    mean = sum(d) / n if n else math.nan
    low = high = None
    if n >= 2:
        sd = statistics.stdev(d)
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
        low, high = mean - half, mean + half
    nonzero = n - d.count(0.0)
    p = None
    if nonzero >= 1 and n >= 2:
        p = float(stats.wilcoxon(d, alternative="two-sided", zero_method="wilcox").pvalue)
    smallest = 2.0 / 2 ** nonzero if nonzero else None
    level = f"{confidence * 100:g} %"
    count = f"better in {better} of {n} periods"
    if p is not None and p < 1 - confidence and mean > 0:
        verdict = f"better than {against} at {level} (signed-rank p = {p:.3g}; {count})"
    elif p is not None and p < 1 - confidence:
        verdict = f"worse than {against} at {level} (signed-rank p = {p:.3g}; {count})"
    else:
        verdict = f"not distinguishable from {against} at {level} ({count}"
        verdict += f"; signed-rank p = {p:.3g}" if p is not None else "; no period differs" if n >= 2 else ""
        if smallest is not None and smallest >= 1 - confidence:
            verdict += (f"; with {nonzero} differing periods the signed-rank test cannot go below p = {smallest:.3g}: "
                        f"use at least {_periods_needed(confidence)} periods")
        verdict += ")"
    return PairedTest(names[0], names[1], n, better, worse, mean, low, high, p, smallest, confidence, verdict)


def _periods_needed(confidence: float) -> int:
    """The fewest non-zero differences with which the two-sided signed-rank test can reach ``confidence``."""
    n = 1
    while 2.0 / 2 ** n >= 1 - confidence:
        n += 1
    return n
