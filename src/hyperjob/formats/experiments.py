"""Experiment files as the team writes them (seed 004), read into a :class:`~hyperjob.formats.spec.TuningJobSpec`.

An experiment file is a small JSON (or YAML) document::

    {"architecture": "lstm",
     "date_ranges": [["2024-01-01", "2024-03-31"], ["2024-04-01", "2024-06-30"]],
     "parameters": {"learning_rate": [0.001, 0.01], "units": [32, 64, 128]}}

``architecture`` names what to train: a built-in algorithm (``image-classification``...) or an architecture
the user registered (:func:`find_architecture`: a file named by ``architectures`` in the experiment file or by
``HYPERJOB_ARCHITECTURES``, or a Python entry point in the group ``hyperjob.architectures``), which gives the
program, the objective, the metric definitions, built-in ranges and static values. ``date_ranges`` become
the evaluation periods (each experiment is trained once per period); ``parameters`` are finite value lists,
from which the experiments are drawn (``search``: ``grid``, every combination, the default, or ``random``
over the finite sets, ``experiments`` of them). Without ``parameters`` the architecture's built-in ranges are
tuned (auto experiments; ``search`` defaults to ``random``). ``stages: true`` tunes the learning-rate family
first and then the rest (:func:`stage_specs`). Other members: ``name``, ``experiments``,
``max_parallel_jobs``, ``static``, ``rotate`` / ``seeds`` (instead of ``date_ranges``), ``aggregate``,
``fast``, ``results``, ``objective``, ``random_seed``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from hyperjob.errors import SpecError, did_you_mean

#: the members an experiment file may have
MEMBERS = ("architecture", "date_ranges", "parameters", "search", "experiments", "name", "max_parallel_jobs",
           "static", "rotate", "seeds", "aggregate", "fast", "results", "objective", "random_seed", "stages",
           "architectures", "timeout_s", "output_dir", "store")
#: the entry point group of user-registered architectures
ENTRY_POINT_GROUP = "hyperjob.architectures"
#: hyperparameters of the learning-rate family (tuned first with ``stages``), unless the architecture lists them
LEARNING_RATE_FAMILY = re.compile(r"(^|_)(lr|learning_rate|learning-rate|decay|lr_decay|patience|warmup|momentum|"
                                  r"lr_scheduler|lr_schedule|lr_factor|lr_step)s?($|_)", re.IGNORECASE)


def is_experiment_file(data: Any) -> bool:
    """An experiment file has ``architecture`` and no ``program`` (a job.yaml has a program)."""
    return isinstance(data, Mapping) and "architecture" in data and "program" not in data


@dataclass(frozen=True)
class Architecture:
    """What an experiment's ``architecture`` names: how to train it and its built-in ranges.

    Attributes:
        name: the name experiment files use.
        program: a job.yaml ``program`` mapping (``{command: [python, train.py]}``, or ``{algorithm: ...}``).
        objective: ``{metric, type}``; ``None`` for a built-in algorithm (it has its own).
        metric_definitions: ``[{name, regex}, ...]`` (every metric the program prints, for the results).
        ranges: built-in ranges, in job.yaml ``hyperparameter_ranges`` syntax.
        static: static hyperparameters.
        learning_rate_family: the hyperparameters tuned first with ``stages`` (default: names like lr, decay,
            patience).
        where: where it was registered (for messages).
    """

    name: str
    program: Mapping[str, Any]
    objective: Mapping[str, Any] | None = None
    metric_definitions: tuple[Mapping[str, Any], ...] = ()
    ranges: Mapping[str, Any] = field(default_factory=dict)
    static: Mapping[str, Any] = field(default_factory=dict)
    learning_rate_family: tuple[str, ...] | None = None
    where: str = ""

    @classmethod
    def from_mapping(cls, name: str, data: Any, where: str) -> "Architecture":
        path = f"architectures.{name}"
        if not isinstance(data, Mapping):
            raise SpecError(f"an architecture is a mapping with program, objective, ranges..., got {data!r}.",
                            path=path, source=where)
        allowed = ("program", "objective", "metric_definitions", "ranges", "static", "learning_rate_family")
        for key in data:
            if key not in allowed:
                raise SpecError(f"unknown member {key!r}.{did_you_mean(str(key), allowed)} An architecture has "
                                f"{', '.join(allowed)}.", path=f"{path}.{key}", source=where)
        if not isinstance(data.get("program"), Mapping):
            raise SpecError("needs a program, e.g. program: {command: [python, train.py]}.", path=f"{path}.program",
                            source=where)
        if data.get("objective") is None and "algorithm" not in data["program"]:
            raise SpecError("needs an objective, e.g. objective: {metric: mse, type: minimize}.",
                            path=f"{path}.objective", source=where)
        family = data.get("learning_rate_family")
        return cls(name, dict(data["program"]), data.get("objective"), tuple(data.get("metric_definitions") or ()),
                   dict(data.get("ranges") or {}), dict(data.get("static") or {}),
                   tuple(family) if family is not None else None, where)


def _architectures_file(path: Path) -> dict[str, Architecture]:
    from hyperjob.formats._files import read_document

    data, source = read_document(path)
    if not isinstance(data, Mapping):
        raise SpecError("an architectures file maps names to architectures ({lstm: {program: ..., ...}}).",
                        source=source)
    base = path.resolve().parent
    out = {}
    for name, entry in data.items():
        arch = Architecture.from_mapping(str(name), entry, source)
        program = dict(arch.program)
        if "command" in program and "working_dir" not in program:
            program["working_dir"] = str(base)  # the program's paths are relative to the file that names it
        out[str(name)] = Architecture(arch.name, program, arch.objective, arch.metric_definitions, arch.ranges,
                                      arch.static, arch.learning_rate_family, source)
    return out


def _entry_point(name: str) -> Architecture | None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            where = f"entry point {ep.value}"
            try:
                loaded = ep.load()
            except Exception as exc:  # noqa: BLE001 - a third party's import error becomes one line
                raise SpecError(f"the architecture {name!r} ({where}) cannot be loaded: {exc}.",
                                path="architecture") from None
            data = loaded() if callable(loaded) else loaded
            return Architecture.from_mapping(name, data, where)
    return None


def find_architecture(name: str, files: list[Path]) -> Architecture:
    """The architecture called ``name``: from the given architectures files (first match), an entry point of
    the group :data:`ENTRY_POINT_GROUP`, or a built-in algorithm.

    Raises:
        SpecError: none has that name (the message says where it looked).
    """
    known: list[str] = []
    for path in files:
        found = _architectures_file(path)
        if name in found:
            return found[name]
        known += list(found)
    ep = _entry_point(name)
    if ep is not None:
        return ep
    from hyperjob.algorithms import ALGORITHMS, get_algorithm

    try:
        algo = get_algorithm(name)
    except SpecError:
        where = ", ".join(str(p) for p in files) or "no architectures file"
        names = known + list(ALGORITHMS)
        raise SpecError(
            f"unknown architecture {name!r}.{did_you_mean(name, names)} Looked in {where}, the entry points "
            f"{ENTRY_POINT_GROUP!r} and the built-in algorithms ({', '.join(ALGORITHMS)}). Register it in an "
            "architectures file (architectures: FILE, or HYPERJOB_ARCHITECTURES) with its program and ranges.",
            path="architecture",
        ) from None
    return Architecture(algo.name, {"algorithm": algo.name}, None, (), {}, {}, None, "built-in algorithm")


def _architecture_files(data: Mapping[str, Any], base_dir: Path) -> list[Path]:
    files = []
    given = data.get("architectures")
    if given is not None:
        if not isinstance(given, str):
            raise SpecError(f"is the path of an architectures file, got {given!r}.", path="architectures")
        files.append((base_dir / given).resolve())
    env = os.environ.get("HYPERJOB_ARCHITECTURES")
    if env:
        files += [Path(p) for p in env.split(os.pathsep) if p]
    return files


def _ranges_from_parameters(parameters: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``parameters`` (name -> list of values) as categorical ranges; a one-value list is static."""
    if not isinstance(parameters, Mapping):
        raise SpecError(f"maps each hyperparameter to its values, got {parameters!r}. Write e.g. "
                        '"parameters": {"learning_rate": [0.001, 0.01]}.', path="parameters")
    ranges: dict[str, Any] = {}
    static: dict[str, Any] = {}
    for name, values in parameters.items():
        if not isinstance(values, list) or not values:
            raise SpecError(f"is a non-empty list of the values to try, got {values!r}. Write e.g. [0.001, 0.01].",
                            path=f"parameters.{name}")
        if len(values) == 1:
            static[str(name)] = values[0]
        else:
            ranges[str(name)] = {"type": "categorical", "values": list(values)}
    return ranges, static


def experiment_spec_data(data: Mapping[str, Any], *, source: str | None = None, base_dir: Path | None = None,
                         default_name: str = "experiments") -> tuple[dict[str, Any], Architecture]:
    """The job.yaml-shaped data of an experiment file (before validation), and its architecture."""
    base_dir = base_dir or Path.cwd()
    for key in data:
        if key not in MEMBERS:
            raise SpecError(f"unknown member {key!r}.{did_you_mean(str(key), MEMBERS)} An experiment file has "
                            f"{', '.join(MEMBERS)} (docs/experiments.md).", path=str(key), source=source)
    try:
        name = data.get("architecture")
        if not isinstance(name, str) or not name.strip():
            raise SpecError(f"names the architecture to train, got {name!r}.", path="architecture")
        arch = find_architecture(name, _architecture_files(data, base_dir))
        if "parameters" in data:
            ranges, static = _ranges_from_parameters(data["parameters"])
        else:
            ranges, static = dict(arch.ranges), {}
        given_static = data.get("static") or {}
        if not isinstance(given_static, Mapping):
            raise SpecError(f"maps static hyperparameters to values, got {given_static!r}.", path="static")
        static = {**arch.static, **given_static, **static}
        static = {k: v for k, v in static.items() if k not in ranges}
        search = data.get("search") or ("grid" if "parameters" in data else "random")
        if search not in ("grid", "random", "bayesian"):
            raise SpecError(f"is grid, random or bayesian, got {search!r}.", path="search")
        spec: dict[str, Any] = {
            "name": data.get("name") or default_name,
            "program": dict(arch.program),
            "static_hyperparameters": static,
            "hyperparameter_ranges": ranges,
            "strategy": {"name": search},
            "limits": {"max_parallel_jobs": data.get("max_parallel_jobs") or 1},
        }
        if data.get("objective") is not None or arch.objective is not None:
            spec["objective"] = data.get("objective") or dict(arch.objective or {})
        if arch.metric_definitions:
            spec["metric_definitions"] = [dict(m) for m in arch.metric_definitions]
        experiments = data.get("experiments")
        if experiments is not None:
            spec["limits"]["max_jobs"] = experiments
        elif search != "grid":
            spec["limits"]["max_jobs"] = 20
        if data.get("timeout_s") is not None:
            spec["limits"]["timeout_s"] = data["timeout_s"]
        periods = {k: data[k] for k in ("rotate", "seeds") if data.get(k) is not None}
        if data.get("date_ranges") is not None:
            periods["dates"] = data["date_ranges"]
        if periods:
            if len(periods) > 1:
                raise SpecError(f"gives {' and '.join(periods)}; give one of date_ranges, rotate and seeds.",
                                path="date_ranges")
            if data.get("aggregate") is not None:
                periods["aggregate"] = data["aggregate"]
            spec["periods"] = periods
        for key in ("fast", "results", "random_seed", "output_dir", "store"):
            if data.get(key) is not None:
                spec[key] = data[key]
    except SpecError as exc:
        raise exc.at(source=source) if source else exc from None
    return spec, arch


def load_experiments(data: Mapping[str, Any], *, source: str | None = None, base_dir: Path | None = None) -> Any:
    """Read an experiment file's data into a validated :class:`~hyperjob.formats.spec.TuningJobSpec`.

    Raises:
        SpecError: naming the file and the member (``parameters.units``, ``date_ranges[1]``...).
    """
    from hyperjob.formats.spec import TuningJobSpec

    default = Path(source).stem if source else "experiments"
    spec, arch = experiment_spec_data(data, source=source, base_dir=base_dir, default_name=default)
    try:
        if data.get("stages"):  # the first stage (the CLI runs the second with its best values)
            spec = stage_specs(spec, arch.learning_rate_family)[0]
        return TuningJobSpec.model_validate(spec)
    except SpecError as exc:
        raise _member(exc).at(source=source) if source else _member(exc) from None


def _member(exc: SpecError) -> SpecError:
    """A spec error's path in the experiment file's words (``hyperparameter_ranges.x`` -> ``parameters.x``)."""
    path = exc.path or ""
    for ours, theirs in (("hyperparameter_ranges", "parameters"), ("periods.dates", "date_ranges"),
                         ("periods.rotate", "rotate"), ("periods.seeds", "seeds"), ("limits.max_jobs", "experiments"),
                         ("static_hyperparameters", "static")):
        if path == ours or path.startswith(ours + ".") or path.startswith(ours + "["):
            return SpecError(exc.message, path=theirs + path[len(ours):])
    return exc


def learning_rate_family(names: Any, declared: tuple[str, ...] | None) -> list[str]:
    """The hyperparameters tuned in the first stage: the architecture's list, else names like lr/decay/patience."""
    if declared is not None:
        return [n for n in names if n in declared]
    return [n for n in names if LEARNING_RATE_FAMILY.search(n)]


def _default_of(range_: Mapping[str, Any]) -> Any:
    if "default" in range_:
        return range_["default"]
    if range_.get("type") == "categorical" or "values" in range_:
        return list(range_["values"])[0]
    lo, hi = range_.get("min_value"), range_.get("max_value")
    if isinstance(lo, (int, float)) and isinstance(hi, (int, float)):
        if str(range_.get("scaling", "")).lower().startswith("log") and lo > 0:
            mid = (lo * hi) ** 0.5
        else:
            mid = (lo + hi) / 2
        return int(round(mid)) if range_.get("type") == "integer" else mid
    raise SpecError(f"the range {dict(range_)!r} has no default to hold it at in the first stage; give it one "
                    "(default: ...).", path="stages")


def stage_specs(spec: Mapping[str, Any], declared: tuple[str, ...] | None = None,
                best: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The two stages of an experiment with ``stages``: first the learning-rate family is tuned (the rest held
    at their defaults: the first listed value, or the middle of the range), then the rest with the first
    stage's best values (``best``) held static. Returns ``[stage 1, stage 2]`` (stage 2 only when ``best``).

    Raises:
        SpecError: no hyperparameter of the learning-rate family is tuned.
    """
    ranges = dict(spec.get("hyperparameter_ranges") or {})
    family = learning_rate_family(list(ranges), declared)
    if not family:
        raise SpecError(
            f"stages tune the learning-rate family first, but none of the tuned hyperparameters ({', '.join(ranges)}) "
            "is one (lr, learning_rate, decay, patience, warmup, momentum...). Name them in the architecture's "
            "learning_rate_family, or remove stages.",
            path="stages",
        )
    rest = [n for n in ranges if n not in family]
    first = {**spec, "name": f"{spec['name']}-stage1",
             "hyperparameter_ranges": {n: ranges[n] for n in family},
             "static_hyperparameters": {**spec.get("static_hyperparameters", {}),
                                        **{n: _default_of(ranges[n]) for n in rest}}}
    if (spec.get("strategy") or {}).get("name") == "grid":
        first["limits"] = {k: v for k, v in (spec.get("limits") or {}).items() if k != "max_jobs"}
    out = [first]
    if best is not None and rest:
        second = {**spec, "name": f"{spec['name']}-stage2",
                  "hyperparameter_ranges": {n: ranges[n] for n in rest},
                  "static_hyperparameters": {**spec.get("static_hyperparameters", {}),
                                             **{n: best[n] for n in family}}}
        if (spec.get("strategy") or {}).get("name") == "grid":
            second["limits"] = {k: v for k, v in (spec.get("limits") or {}).items() if k != "max_jobs"}
        out.append(second)
    return out
