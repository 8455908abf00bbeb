"""hyperjob: automatic model tuning that you run yourself.

Public API. Attributes load lazily (PEP 562), so ``import hyperjob`` stays cheap and a training program can
``from hyperjob import report`` in about a millisecond (no typing, torch, numpy, pydantic or SQLAlchemy
imported). ``hyperjob.report`` is the submodule itself, which is callable: ``report(step=1, loss=0.3)``.
"""

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "tune": "hyperjob.api",
    "TuningResult": "hyperjob.api",
    "AskTell": "hyperjob.strategies.asktell",
    "Suggestion": "hyperjob.strategies.asktell",
    "TellResult": "hyperjob.strategies.asktell",
    "SearchSpace": "hyperjob.space",
    "ContinuousRange": "hyperjob.space",
    "IntegerRange": "hyperjob.space",
    "CategoricalRange": "hyperjob.space",
    "Objective": "hyperjob.records",
    "HyperjobError": "hyperjob.errors",
    "SpecError": "hyperjob.errors",
}

__all__ = ["__version__", "report", *sorted(_LAZY)]


def __getattr__(name: str) -> "object":
    if name == "report":  # the callable submodule
        return __import__("hyperjob.report", fromlist=["report"])
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hyperjob' has no attribute {name!r}")
    value = getattr(__import__(module, fromlist=[name]), name)
    globals()[name] = value
    return value


def __dir__() -> "list[str]":
    return sorted(__all__)
