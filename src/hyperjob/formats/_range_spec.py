"""A hyperparameter range as a spec file writes it (:class:`RangeSpec`), and :func:`build_ranges`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import model_validator

from hyperjob.errors import SpecError
from hyperjob.formats._base import check_hyperparameter_name, is_number, json_value, StrictModel, relocate
from hyperjob.formats._pydantic_errors import join_path
from hyperjob.space import (
    CategoricalRange,
    ContinuousRange,
    DiscreteRange,
    IntegerRange,
    Range,
    Scaling,
    Tier,
    increment_range,
)

_SCALING_NAMES = {
    Scaling.AUTO: "auto",
    Scaling.LINEAR: "linear",
    Scaling.LOGARITHMIC: "logarithmic",
    Scaling.REVERSE_LOGARITHMIC: "reverse_logarithmic",
}
_TYPE_ALIASES = {
    "continuous": "continuous",
    "float": "continuous",
    "real": "continuous",
    "integer": "integer",
    "int": "integer",
    "categorical": "categorical",
    "discrete": "discrete",
}


class RangeSpec(StrictModel):
    """A hyperparameter range as written in ``hyperparameter_ranges`` (``docs/spec.md`` has the syntax).

    ``min``/``max`` are accepted for ``min_value``/``max_value``. ``type`` may be left out: ``values`` makes a
    categorical range; ``min_value``/``max_value`` that are both integers make an integer range, and any
    float (``1.0`` included) a continuous one. :meth:`to_range` builds the :mod:`hyperjob.space` range.

    Attributes:
        type: ``continuous``, ``integer``, ``categorical`` or ``discrete`` (an ordered list of numbers).
        min_value, max_value: the bounds of a continuous or integer range (both inclusive).
        scaling: ``auto`` (``None``), ``linear``, ``logarithmic`` or ``reverse_logarithmic``.
        values: the values of a categorical or discrete range.
        inc_strategy, inc_val: Neptune ML's increment strategies (``linear`` with a step, ``log``, ``power2``).
        default: the value used when the hyperparameter's tier is not tuned.
        tier: ``1``, ``2``, ``3`` or ``fixed`` (Neptune ML's tiers; the budget decides which are tuned).
        node_strategy, edge_strategy: Neptune ML's graph-size-relative ranges (kept for the graph algorithms).
    """

    type: Literal["continuous", "integer", "categorical", "discrete"]
    min_value: Any = None
    max_value: Any = None
    scaling: Literal["auto", "linear", "logarithmic", "reverse_logarithmic"] | None = None
    values: list[Any] | None = None
    inc_strategy: Literal["linear", "log", "power2"] | None = None
    inc_val: Any = None
    default: Any = None
    tier: Literal["1", "2", "3", "fixed"] | None = None
    node_strategy: str | None = None
    edge_strategy: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if isinstance(data, RangeSpec):
            return data
        if isinstance(data, list):
            raise SpecError(
                f"a range must be a mapping, got the list {data!r}. For a categorical range write "
                f"{{values: {json.dumps(data)}}}; for a fixed value, move it to static_hyperparameters."
            )
        if not isinstance(data, Mapping):
            raise SpecError(
                f"a range must be a mapping such as {{type: continuous, min_value: 0.001, max_value: 0.1}}, got "
                f"{data!r}. A hyperparameter with one value belongs in static_hyperparameters."
            )
        d = dict(data)
        for alias, name in (("min", "min_value"), ("max", "max_value")):
            if alias in d:
                if name in d:
                    raise SpecError(
                        f"both {alias!r} ({d[alias]!r}) and {name!r} ({d[name]!r}) are given. Keep one of them.",
                        path=alias,
                    )
                d[name] = d.pop(alias)
        kind = d.get("type")
        if isinstance(kind, str):
            d["type"] = _TYPE_ALIASES.get(kind.strip().lower(), kind)
        elif kind is None:
            d.pop("type", None)
            if d.get("values") is not None:
                d["type"] = "categorical"
            elif d.get("min_value") is not None or d.get("max_value") is not None:
                lo, hi = d.get("min_value"), d.get("max_value")
                both_int = all(isinstance(v, int) and not isinstance(v, bool) for v in (lo, hi))
                d["type"] = "integer" if both_int else "continuous"
            else:
                raise SpecError(
                    f"cannot tell the range's type from the fields {sorted(map(str, d)) or 'given'}. Give "
                    "min_value and max_value (a continuous or integer range) or values (a categorical range), "
                    "or set type: continuous, integer or categorical."
                )
        scaling = d.get("scaling")
        if isinstance(scaling, (str, Scaling)):
            try:
                d["scaling"] = _SCALING_NAMES[Scaling.parse(scaling)]
            except SpecError as exc:
                raise SpecError(exc.message, path="scaling") from None
        tier = d.get("tier")
        if isinstance(tier, Tier):
            d["tier"] = tier.value
        elif isinstance(tier, (str, int)) and not isinstance(tier, bool):
            try:
                d["tier"] = Tier.parse(tier).value  # type: ignore[union-attr]
            except SpecError as exc:
                raise SpecError(exc.message, path="tier") from None
        if isinstance(d.get("inc_strategy"), str):
            d["inc_strategy"] = d["inc_strategy"].strip().lower()
        for key in ("values", "default"):
            if d.get(key) is not None:
                try:
                    d[key] = json_value(d[key], "the value" if key == "values" else "the default")
                except SpecError as exc:
                    raise SpecError(exc.message, path=key) from None
        return d

    @model_validator(mode="after")
    def _fields_fit_type(self) -> "RangeSpec":
        numeric = self.type in ("continuous", "integer")
        if numeric:
            for name in ("min_value", "max_value"):
                if getattr(self, name) is None:
                    raise SpecError(
                        f"{'an' if self.type == 'integer' else 'a'} {self.type} range needs {name}. Add it, e.g. "
                        "min_value: 0.001 and max_value: 0.1.",
                        path=name,
                    )
            if self.values is not None:
                raise SpecError(
                    f"values belongs to categorical and discrete ranges, not to a {self.type} range. Remove "
                    "values, or remove min_value/max_value and use type: categorical.",
                    path="values",
                )
            if (self.inc_strategy is not None or self.inc_val is not None) and self.scaling is not None:
                raise SpecError(
                    f"scaling {self.scaling!r} and an increment strategy are both given; inc_strategy sets the "
                    "scaling itself. Remove one of them.",
                    path="scaling",
                )
            return self
        if self.values is None:
            example = "[sgd, adam]" if self.type == "categorical" else "[16, 32, 64]"
            raise SpecError(f"a {self.type} range needs values. Add them, e.g. values: {example}.", path="values")
        for name in ("min_value", "max_value", "inc_strategy", "inc_val"):
            if getattr(self, name) is not None:
                raise SpecError(
                    f"{name} does not apply to a {self.type} range (it lists its values). Remove {name}, or "
                    "remove values and use type: continuous or integer.",
                    path=name,
                )
        if self.type == "categorical" and self.scaling is not None:
            raise SpecError(
                "scaling does not apply to a categorical range: its values have no order. Remove scaling, or "
                "use type: discrete for ordered numbers.",
                path="scaling",
            )
        return self

    def to_range(self, name: str, at: str | None = None) -> Range:
        """Build the :mod:`hyperjob.space` range named ``name``.

        Args:
            name: the hyperparameter's name.
            at: the range's path in the spec, for errors (default ``hyperparameter_ranges.<name>``).

        Raises:
            SpecError: the range is invalid (bounds, scaling, values, default...), located at ``at``.
        """
        at = at or f"hyperparameter_ranges.{name}"
        common: dict[str, Any] = {
            "name": name,
            "default": self.default,
            "tier": Tier(self.tier) if self.tier is not None else None,
            "node_strategy": self.node_strategy,
            "edge_strategy": self.edge_strategy,
        }
        try:
            if self.type == "categorical":
                return CategoricalRange(values=tuple(self.values or ()), **common)
            if self.type == "discrete":
                values = list(self.values or ())
                for v in values:
                    if not is_number(v):
                        raise SpecError(
                            f"a discrete range takes numbers, got {v!r}. Use type: categorical for other values.",
                            path=f"hyperparameters.{name}.values",
                        )
                integer = all(isinstance(v, int) for v in values)
                scaling = Scaling.parse(self.scaling or "linear")
                if scaling is Scaling.AUTO:
                    scaling = Scaling.LINEAR
                return DiscreteRange(values=tuple(values), integer=integer, scaling=scaling, **common)
            integer = self.type == "integer"
            if self.inc_strategy is not None or self.inc_val is not None:
                return increment_range(
                    name, self.min_value, self.max_value, integer=integer, inc_strategy=self.inc_strategy,
                    inc_val=self.inc_val, **{k: v for k, v in common.items() if k != "name"},
                )
            cls = IntegerRange if integer else ContinuousRange
            return cls(min_value=self.min_value, max_value=self.max_value, scaling=Scaling.parse(self.scaling),
                       **common)
        except SpecError as exc:
            raise relocate(exc, name, at) from None

    @classmethod
    def from_range(cls, r: Range) -> "RangeSpec":
        """The spec of a :mod:`hyperjob.space` range (the inverse of :meth:`to_range`, up to spelling)."""
        common: dict[str, Any] = {
            "default": r.default,
            "tier": r.tier.value if r.tier is not None else None,
            "node_strategy": r.node_strategy,
            "edge_strategy": r.edge_strategy,
        }
        if isinstance(r, CategoricalRange):
            return cls(type="categorical", values=list(r.values), **common)
        if isinstance(r, DiscreteRange):
            return cls(type="discrete", values=list(r.values), scaling=_SCALING_NAMES[r.scaling], **common)
        kind = "integer" if isinstance(r, IntegerRange) else "continuous"
        return cls(type=kind, min_value=r.min_value, max_value=r.max_value, scaling=_SCALING_NAMES[r.scaling],
                   **common)


def build_ranges(mapping: Mapping[str, Any], path: str = "hyperparameter_ranges") -> list[Range]:
    """Build ranges from job.yaml's ``hyperparameter_ranges`` syntax (also the Python API's).

    Args:
        mapping: hyperparameter name -> a range mapping (``{type: continuous, min_value: ..., ...}``), a
            :class:`RangeSpec`, or a :mod:`hyperjob.space` range (whose name must match).
        path: where the mapping is, for errors (``space`` in the Python API).

    Returns:
        The ranges, in the mapping's order.

    Raises:
        SpecError: at ``<path>.<name>[.field]`` for the first invalid range.

    >>> [r.kind for r in build_ranges({"opt": {"values": ["sgd", "adam"]}, "layers": {"min": 1, "max": 4}})]
    ['categorical', 'integer']
    """
    if not isinstance(mapping, Mapping):
        raise SpecError(
            f"must be a mapping of hyperparameter name -> range, got {mapping!r}. Write e.g. "
            "{lr: {type: continuous, min_value: 0.0001, max_value: 0.1}}.",
            path=path,
        )
    out: list[Range] = []
    for name, spec in mapping.items():
        at = f"{path}.{name}"
        check_hyperparameter_name(name, at)
        if isinstance(spec, (ContinuousRange, IntegerRange, DiscreteRange, CategoricalRange)):
            if spec.name != name:
                raise SpecError(
                    f"the range is named {spec.name!r} but listed as {name!r}. Use the same name.", path=at
                )
            out.append(spec)
            continue
        if not isinstance(spec, RangeSpec):
            try:
                spec = RangeSpec.model_validate(spec)
            except SpecError as exc:
                raise type(exc)(exc.message, path=join_path(at, exc.path), source=exc.source) from None
        out.append(spec.to_range(name, at))
    return out
