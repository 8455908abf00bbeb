"""hyperjob: automatic model tuning that you run yourself.

Public API. Attributes load lazily (PEP 562), so ``import hyperjob`` stays cheap and a training program can
``from hyperjob import report`` in a few milliseconds (no torch, numpy, pydantic or SQLAlchemy imported).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "report": "hyperjob.report",
    "tune": "hyperjob.api",
    "TuningResult": "hyperjob.api",
    "AskTell": "hyperjob.strategies.asktell",
    "Suggestion": "hyperjob.strategies.asktell",
    "SearchSpace": "hyperjob.space",
    "ContinuousRange": "hyperjob.space",
    "IntegerRange": "hyperjob.space",
    "CategoricalRange": "hyperjob.space",
    "Objective": "hyperjob.records",
    "HyperjobError": "hyperjob.errors",
    "SpecError": "hyperjob.errors",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hyperjob' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
