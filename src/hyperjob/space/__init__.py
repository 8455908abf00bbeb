"""Search spaces: ranges, scaling, Neptune's increment strategies and tiers.

See ``docs/space.md`` for the rules of record.
"""

from hyperjob.space.ranges import (
    CategoricalRange,
    ContinuousRange,
    DiscreteRange,
    IncStrategy,
    IntegerRange,
    Range,
    Scaling,
    Tier,
    increment_range,
    tuned_tiers,
    value_key,
)
from hyperjob.space.space import SearchSpace

__all__ = [
    "CategoricalRange",
    "ContinuousRange",
    "DiscreteRange",
    "IncStrategy",
    "IntegerRange",
    "Range",
    "Scaling",
    "SearchSpace",
    "Tier",
    "increment_range",
    "tuned_tiers",
    "value_key",
]
