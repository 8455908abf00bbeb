"""The built-in algorithms: training programs that ship with hyperjob, tunable by name.

A tuning job names one with ``program: {algorithm: image-classification, channels: {...}}`` instead of a
command; hyperjob then runs ``[sys.executable, -m, <module>]`` and takes the algorithm's metric definitions,
objective and default ranges wherever the spec leaves them out (``docs/spec.md``).

The registry maps a name to ``"module:attribute"`` and imports the module only when the algorithm is asked for,
so ``import hyperjob.algorithms`` stays cheap (no torch). Registering an algorithm is one line in
:data:`_REGISTRY`; the attribute is a :class:`BuiltinAlgorithm`, and the module that defines it must not import
torch either (the training code lives in other modules of the package).

Example:
    >>> algo = get_algorithm("image-classification")
    >>> algo.module, algo.objective.metric, algo.objective.maximize
    ('hyperjob.algorithms.image_classification', 'validation:accuracy', True)
    >>> "num_classes" in algo.required
    True
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from hyperjob.errors import SpecError, did_you_mean
from hyperjob.records import MetricDefinition, Objective

__all__ = ["ALGORITHMS", "BuiltinAlgorithm", "get_algorithm"]

#: name -> "module:attribute" of its :class:`BuiltinAlgorithm` (resolved on demand).
_REGISTRY: dict[str, str] = {
    "image-classification": "hyperjob.algorithms.image_classification.hyperparameters:ALGORITHM",
    "rgcn": "hyperjob.algorithms.graph.algorithm:RGCN",
    "transe": "hyperjob.algorithms.graph.algorithm:TRANSE",
    "distmult": "hyperjob.algorithms.graph.algorithm:DISTMULT",
    "rotate": "hyperjob.algorithms.graph.algorithm:ROTATE",
}

#: The names of the built-in algorithms, in registration order.
ALGORITHMS: tuple[str, ...] = tuple(_REGISTRY)

_cache: dict[str, "BuiltinAlgorithm"] = {}


@dataclass(frozen=True)
class BuiltinAlgorithm:
    """A built-in algorithm: how to run it and what a tuning job of it defaults to.

    Attributes:
        name: the name a spec uses (``image-classification``).
        module: the module run as ``python -m <module>``.
        metric_definitions: regexes over the lines it prints (SageMaker's ``MetricDefinitions``); it also
            reports the same values with ``hyperjob.report``.
        objective: the default objective (metric and direction).
        default_ranges: the published ranges for tuning, in ``job.yaml`` ``hyperparameter_ranges`` syntax.
        default_static: static hyperparameters a tuning job passes unless the spec sets them.
        required: hyperparameters the spec must set (static or tuned).
        description: one line for listings.
        hyperparameters: every hyperparameter it accepts (empty: not checked at spec time).
        ranges_for: optional ``"module:function"``; the function takes the static hyperparameters and returns
            the default ranges fitted to them (e.g. ResNet depths for the image size), used instead of
            ``default_ranges`` when the spec gives no range.
    """

    name: str
    module: str
    metric_definitions: tuple[MetricDefinition, ...]
    objective: Objective
    default_ranges: Mapping[str, Any]
    default_static: Mapping[str, Any]
    required: tuple[str, ...]
    description: str
    hyperparameters: tuple[str, ...] = ()
    ranges_for: str | None = field(default=None, repr=False)

    def command(self, python: str) -> list[str]:
        """The argument list that runs it with the interpreter ``python``."""
        return [python, "-m", self.module]

    def ranges(self, static: Mapping[str, Any]) -> dict[str, Any]:
        """The default ranges for a tuning job with these static hyperparameters (names in ``static`` left out)."""
        ranges: Mapping[str, Any] = self.default_ranges
        if self.ranges_for:
            ranges = _resolve(self.ranges_for, f"the ranges of {self.name!r}")(static)
        return {k: dict(v) for k, v in ranges.items() if k not in static}


def get_algorithm(name: str) -> BuiltinAlgorithm:
    """The built-in algorithm called ``name``.

    Args:
        name: a name from :data:`ALGORITHMS` (case and ``_``/``-`` do not matter).

    Raises:
        SpecError: no built-in algorithm has that name (the message lists them, with the closest one).
    """
    key = str(name).strip().lower().replace("_", "-")
    if key in _cache:
        return _cache[key]
    target = _REGISTRY.get(key)
    if target is None:
        hint = did_you_mean(key, _REGISTRY, cutoff=0.5)
        raise SpecError(
            f"there is no built-in algorithm {name!r}.{hint} The built-in algorithms are: "
            f"{', '.join(_REGISTRY)}. Use one of them, or give a command instead of an algorithm.",
            path="program.algorithm",
        )
    algo = _resolve(target, f"the built-in algorithm {key!r}")
    if not isinstance(algo, BuiltinAlgorithm):  # our own registry: an invariant, not user input
        raise TypeError(f"{target} is a {type(algo).__name__}, not a BuiltinAlgorithm")
    _cache[key] = algo
    return algo


def _resolve(target: str, what: str) -> Callable[..., Any] | Any:
    module, _, attribute = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attribute)
    except ImportError as exc:
        raise SpecError(
            f"{what} cannot be loaded: {exc}. Install its dependencies, e.g. pip install 'hyperjob[all]'.",
            path="program.algorithm",
        ) from None
