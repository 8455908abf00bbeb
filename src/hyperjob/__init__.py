"""hyperjob: automatic model tuning that you run yourself.

Public API (lazy: ``import hyperjob`` stays cheap, so training programs can ``from hyperjob import report``).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "report",
]


def __getattr__(name: str) -> Any:  # PEP 562 lazy attributes
    if name == "report":
        from hyperjob.report import report

        return report
    raise AttributeError(f"module 'hyperjob' has no attribute {name!r}")
