"""SageMaker's ``CreateHyperParameterTuningJob`` request, accepted unchanged and run locally.

The request is checked as SageMaker would check it (botocore's types, required members and unknown keys;
the service's enums, name patterns and limits, with SageMaker's numbers), then mapped onto a
:class:`~hyperjob.formats.spec.TuningJobSpec`. ``docs/spec.md`` ("SageMaker requests") is the user's reference;
in short:

- ``HyperParameterTuningJobConfig``: ``Strategy`` -> ``strategy``; ``StrategyConfig.HyperbandStrategyConfig``
  ``MinResource``/``MaxResource`` -> hyperband's ``min_resource``/``max_resource``; ``ResourceLimits`` ->
  ``limits`` (``MaxRuntimeInSeconds`` -> ``max_runtime_s``); ``ParameterRanges`` -> ranges (``MinValue`` and
  ``MaxValue`` are strings holding numbers; categorical ``Values`` are JSON-decoded when they can be, as the
  SageMaker training toolkit does); ``HyperParameterTuningJobObjective``; ``TrainingJobEarlyStoppingType``;
  ``TuningJobCompletionCriteria``; ``RandomSeed``.
- ``TrainingJobDefinition``: ``StaticHyperParameters`` (JSON-decoded when possible; ``sagemaker_*`` keys and
  ``_tuning_objective_metric`` are framework parameters, not passed to the program, as the toolkit does),
  ``AlgorithmSpecification.MetricDefinitions``, ``StoppingCondition.MaxRuntimeInSeconds`` -> ``timeout_s``,
  ``Environment``, ``InputDataConfig`` channels: an ``S3Uri`` that is a local path or ``file://`` URI is read in
  place; an ``s3://`` (or other fsspec) URI is fetched once into a local cache when the tuning job starts
  (:mod:`hyperjob.remote`); ``hyperjob tune --channel NAME=PATH`` replaces either.
- ``TrainingJobDefinitions`` (several): the first one (or the one ``HyperjobProgram.DefinitionName`` names) is
  tuned; a warning names the others.
- ``WarmStartConfig``: parsed into ``warm_start``.
- ``Autotune`` is not implemented: ``AutoParameters`` stay static at their ``ValueHint``, with a warning.
- The program: there is no container registry here, so the request says what to run in hyperjob's own member
  ``HyperjobProgram`` (``Command``, ``WorkingDirectory``, ``Environment``, ``Channels``, ``DefinitionName``), or
  the command line does (``hyperjob tune request.json -- python train.py``). A script-mode request
  (``sagemaker_program``, ``sagemaker_submit_directory``) runs ``[<python>, <sagemaker_program>]`` in its source
  directory, as SageMaker's training toolkit does: the local copy given with ``--submit-dir DIR``, else a
  ``sagemaker_submit_directory`` that is a local folder, else the request's own folder when the script lies
  there. Hyperparameters reach it as the toolkit passes them (``--key value``, JSON-decoded, sorted, without
  ``sagemaker_*`` and ``_tuning_objective_metric``), with the full ``SM_*`` environment
  (:mod:`hyperjob.executors.env`).
- Built-in algorithm images send no ``MetricDefinitions``; for those hyperjob knows (xgboost,
  image-classification, factorization-machines, knn, object2vec: :mod:`hyperjob.formats.builtin_metrics`) the
  objective's regex is the algorithm's own; an objective the algorithm does not compute is refused; for other
  built-in images a warning says what to add.
- Members without local meaning (``RoleArn``, ``ResourceConfig``, ``OutputDataConfig``, ``Tags``...) are checked
  and then named in one warning.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence
from urllib.parse import unquote, urlparse

from hyperjob.errors import SpecError
from hyperjob.formats._base import name_the_range, range_named_by
from hyperjob.formats._sagemaker_shape import Walker
from hyperjob.formats.builtin_metrics import (
    BUILTIN_IMAGES,
    algorithm_for_image,
    image_repository,
    missing_definitions_message,
)
from hyperjob.formats.spec import MetricDefinitionSpec, RangeSpec, TuningJobSpec, spec_warnings
from hyperjob.remote import is_url

__all__ = ["BUILTIN_ALGORITHMS", "NO_COMMAND", "decode_hyperparameter", "is_sagemaker_request",
           "load_sagemaker_request"]

#: Top-level members that mark a document as a SageMaker request.
REQUEST_KEYS = ("HyperParameterTuningJobConfig", "HyperParameterTuningJobName", "TrainingJobDefinition",
                "TrainingJobDefinitions")
#: SageMaker's built-in algorithms (image repository names): their metric regexes live inside SageMaker.
BUILTIN_ALGORITHMS = BUILTIN_IMAGES
#: The command of a request validated without a program (``hyperjob validate``); never run.
NO_COMMAND = "<no command given>"

_RANGE_KINDS = {
    "IntegerParameterRanges": "integer",
    "ContinuousParameterRanges": "continuous",
    "CategoricalParameterRanges": "categorical",
}
_SCALING = {"Auto": None, "Linear": "linear", "Logarithmic": "logarithmic", "ReverseLogarithmic": "reverse_logarithmic"}
_FIELD_WORDS = (("min_value", "MinValue"), ("max_value", "MaxValue"), ("scaling", "ScalingType"),
                ("'reverse_logarithmic'", "'ReverseLogarithmic'"), ("'logarithmic'", "'Logarithmic'"),
                ("'linear'", "'Linear'"))
_FRAMEWORK_KEYS = ("_tuning_objective_metric",)
#: SageMaker's limits on a tuning job (docs: "Resource Limits for Automatic Model Tuning"): hyperparameters
#: searched, and training jobs per tuning job by strategy (Random up to 10000 with a raised quota, else 750)
MAX_TUNED = 30
MAX_TRAINING_JOBS = {"Bayesian": 750, "Hyperband": 750, "Grid": 750, "Random": 10_000}
#: a path into one range of a request: ``...ParameterRanges.ContinuousParameterRanges[0]``
_RANGE_ITEM = re.compile(
    r"^(?:HyperParameterTuningJobConfig\.ParameterRanges|TrainingJobDefinitions\[(?P<d>\d+)\]\.HyperParameterRanges)"
    r"\.(?P<kind>IntegerParameterRanges|ContinuousParameterRanges|CategoricalParameterRanges|AutoParameters)"
    r"\[(?P<j>\d+)\](?P<rest>.*)$"
)
#: SageMaker built-in algorithms that hyperjob also ships (``program.algorithm``): a request for one runs ours.
_OUR_ALGORITHMS = ("image-classification",)
_CONFIG = "HyperParameterTuningJobConfig"


def is_sagemaker_request(data: Any) -> bool:
    """True if ``data`` looks like a ``CreateHyperParameterTuningJob`` request (it has one of its members)."""
    return isinstance(data, Mapping) and any(k in data for k in REQUEST_KEYS)


def decode_hyperparameter(text: str) -> Any:
    """A hyperparameter value as the SageMaker training toolkit reads it: JSON-decoded when possible.

    >>> decode_hyperparameter('"gloo"'), decode_hyperparameter("100"), decode_hyperparameter("True")
    ('gloo', 100, 'True')
    """
    try:
        return json.loads(text, parse_constant=_refuse)
    except ValueError:
        return text


def _refuse(name: str) -> Any:
    raise ValueError(name)


def _number(text: str, integer: bool, path: str) -> int | float:
    kind = "a whole number" if integer else "a number"
    try:
        value = float(text.strip())
    except ValueError:
        raise SpecError(
            f"must be a string holding {kind}, got {text!r}. Write e.g. \"{10 if integer else 0.001}\".", path=path
        ) from None
    if not math.isfinite(value):
        raise SpecError(f"must be a finite number, got {text!r}. Use a finite bound.", path=path)
    if integer:
        if not value.is_integer():
            raise SpecError(
                f"an integer range needs whole-number bounds, got {text!r}. Round it, or move the range to "
                "ContinuousParameterRanges.",
                path=path,
            )
        return int(value)
    return value


def _group(paths: Sequence[str]) -> str:
    """``a.b.x``, ``a.b.y`` -> ``a.b.{x, y}``."""
    parents: dict[str, list[str]] = {}
    for p in paths:
        parent, _, leaf = p.rpartition(".")
        parents.setdefault(parent, []).append(leaf)
    parts = []
    for parent, leaves in parents.items():
        inner = leaves[0] if len(leaves) == 1 else "{" + ", ".join(leaves) + "}"
        parts.append(f"{parent}.{inner}" if parent else inner)
    return "; ".join(parts)


class _Reader:
    """Maps a checked request onto a spec's data; raises SpecError with SageMaker paths."""

    def __init__(self, request: dict[str, Any], base_dir: Path, command: Sequence[str] | None,
                 require_program: bool, submit_dir: str | Path | None = None) -> None:
        self.r = request
        self.base = base_dir
        self.command = command
        self.require_program = require_program
        self.submit_dir = submit_dir
        #: the known built-in algorithm whose metric regexes were used (``None``: the request's own)
        self.algorithm: str | None = None
        self.objective_path = f"{_CONFIG}.HyperParameterTuningJobObjective"
        self.warnings: list[str] = []
        #: features of the request that are not run yet, named together in one warning
        self.not_run: list[str] = []
        self.ignored: list[str] = []
        self.range_paths: dict[str, str] = {}
        #: the path of the definition tuned (``TrainingJobDefinition`` or ``TrainingJobDefinitions[i]``)
        self.defpath = "TrainingJobDefinition"

    # -- the whole request ----------------------------------------------------------------------------------
    def read(self) -> dict[str, Any]:
        r = self.r
        config = r[_CONFIG]
        definition, defpath, plural = self._definition()
        self.defpath = defpath
        objective, objpath = self._objective(config, definition, defpath, plural)
        rpath = f"{defpath}.HyperParameterRanges" if plural else f"{_CONFIG}.ParameterRanges"
        ranges_obj = definition.get("HyperParameterRanges") if plural else config.get("ParameterRanges")
        static = self._static(definition, defpath)
        ranges, auto = self._ranges(ranges_obj or {}, rpath, config)
        self._autotune(auto, ranges, rpath, static, defpath)
        for name in ranges:
            if name in static:
                raise SpecError(
                    f"{name!r} is both tuned (a range at {self.range_paths[name]}) and static. Remove it from "
                    "StaticHyperParameters, or remove its range.",
                    path=f"{defpath}.StaticHyperParameters.{name}",
                )
        raw_static = definition.get("StaticHyperParameters") or {}
        total = len(raw_static) + len(ranges) + len(auto)
        if total > 100:
            raise SpecError(
                f"the tuning job has {total} hyperparameters ({len(raw_static)} static, {len(ranges)} tuned, "
                f"{len(auto)} AutoParameters); SageMaker allows at most 100 in total. Remove some static "
                "hyperparameters.",
                path=f"{defpath}.StaticHyperParameters",
            )
        metric_definitions = self._metric_definitions(definition, defpath, objective)
        strategy = self._strategy(config, ranges)
        limits = self._limits(config, definition, defpath, strategy, ranges)
        data: dict[str, Any] = {
            "name": r["HyperParameterTuningJobName"],
            "program": self._program(definition, defpath, static),
            "static_hyperparameters": static,
            "hyperparameter_ranges": ranges,
            "objective": objective,
            "metric_definitions": metric_definitions,
            "strategy": strategy,
            # 'Auto' is SageMaker's median rule exactly: the spec's 'auto' (no warm-up)
            "early_stopping": {"Off": "off", "Auto": "auto"}[config.get("TrainingJobEarlyStoppingType", "Off")],
            "limits": limits,
            "completion": self._completion(config),
            "random_seed": config.get("RandomSeed"),
            "warm_start": self._warm_start(),
            # RetryStrategy: a training job whose node was lost runs again, at most this many times
            "retry": {"max_retry_attempts": (definition.get("RetryStrategy") or {}).get("MaximumRetryAttempts", 0)},
            "source_format": "sagemaker",
        }
        self._objective_vs_metrics(objective, metric_definitions, objpath, definition, defpath)
        return data

    # -- parts ----------------------------------------------------------------------------------------------
    def _definition(self) -> tuple[dict[str, Any], str, bool]:
        single = self.r.get("TrainingJobDefinition")
        plural = self.r.get("TrainingJobDefinitions")
        if single is not None and plural is not None:
            raise SpecError(
                "the request gives both TrainingJobDefinition and TrainingJobDefinitions (SageMaker takes one or "
                "the other). Keep one of them.",
                path="TrainingJobDefinitions",
            )
        if single is None and plural is None:
            raise SpecError(
                "the request has no training job definition (SageMaker's rule: exactly one of "
                "TrainingJobDefinition or TrainingJobDefinitions), so there is nothing to train: no static "
                "hyperparameters, no metric definitions, no objective. Add a TrainingJobDefinition.",
                path="TrainingJobDefinition",
            )
        if single is not None:
            if (self.r.get("HyperjobProgram") or {}).get("DefinitionName") is not None:
                raise SpecError(
                    "DefinitionName picks one of several TrainingJobDefinitions, but the request has a single "
                    "TrainingJobDefinition. Remove HyperjobProgram.DefinitionName.",
                    path="HyperjobProgram.DefinitionName",
                )
            for key in ("DefinitionName", "TuningObjective", "HyperParameterRanges"):
                if key in single:
                    where = {"DefinitionName": "(leave it out)",
                             "TuningObjective": f"in {_CONFIG}.HyperParameterTuningJobObjective",
                             "HyperParameterRanges": f"in {_CONFIG}.ParameterRanges"}[key]
                    raise SpecError(
                        f"{key} belongs to the entries of TrainingJobDefinitions; with a single "
                        f"TrainingJobDefinition give it {where}.",
                        path=f"TrainingJobDefinition.{key}",
                    )
            return single, "TrainingJobDefinition", False
        for key in ("HyperParameterTuningJobObjective", "ParameterRanges"):
            if key in self.r[_CONFIG]:
                inner = "TuningObjective" if key.endswith("Objective") else "HyperParameterRanges"
                raise SpecError(
                    f"with TrainingJobDefinitions, each definition carries its own {inner} (SageMaker's rule). "
                    f"Move {key} into the definitions as {inner}.",
                    path=f"{_CONFIG}.{key}",
                )
        names: list[str] = []
        for i, d in enumerate(plural):
            for key in ("DefinitionName", "TuningObjective"):
                if key not in d:
                    raise SpecError(
                        f"each entry of TrainingJobDefinitions needs {key} (SageMaker's rule). Add it.",
                        path=f"TrainingJobDefinitions[{i}].{key}",
                    )
            if d["DefinitionName"] in names:
                raise SpecError(
                    f"the DefinitionName {d['DefinitionName']!r} is used twice. Give each definition its own name.",
                    path=f"TrainingJobDefinitions[{i}].DefinitionName",
                )
            names.append(d["DefinitionName"])
        chosen = 0
        wanted = (self.r.get("HyperjobProgram") or {}).get("DefinitionName")
        if wanted is not None:
            if wanted not in names:
                raise SpecError(
                    f"no training job definition is named {wanted!r}. Use one of {', '.join(map(repr, names))}.",
                    path="HyperjobProgram.DefinitionName",
                )
            chosen = names.index(wanted)
        if len(plural) > 1:
            others = ", ".join(repr(n) for i, n in enumerate(names) if i != chosen)
            self.not_run.append(
                f"TrainingJobDefinitions has {len(plural)} definitions; hyperjob tunes one training program per "
                f"tuning job, so it tunes {names[chosen]!r} and ignores {others}. Set HyperjobProgram."
                "DefinitionName to pick another, or split the request into one request per definition."
            )
        return plural[chosen], f"TrainingJobDefinitions[{chosen}]", True

    def _objective(self, config: dict[str, Any], definition: dict[str, Any], defpath: str,
                   plural: bool) -> tuple[dict[str, str], str]:
        if plural:
            obj, path = definition["TuningObjective"], f"{defpath}.TuningObjective"
            self.objective_path = path
        else:
            path = f"{_CONFIG}.HyperParameterTuningJobObjective"
            obj = config.get("HyperParameterTuningJobObjective")
            if obj is None:
                raise SpecError(
                    "the request has no objective. Add e.g. \"HyperParameterTuningJobObjective\": {\"Type\": "
                    "\"Maximize\", \"MetricName\": \"validation:accuracy\"}.",
                    path=path,
                )
        return {"metric": obj["MetricName"], "type": obj["Type"].lower()}, path

    def _static(self, definition: dict[str, Any], defpath: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, text in (definition.get("StaticHyperParameters") or {}).items():
            if key.startswith("sagemaker_") or key in _FRAMEWORK_KEYS:
                self.ignored.append(f"{defpath}.StaticHyperParameters.{key}")
                continue
            out[key] = decode_hyperparameter(text)
        return out

    def _ranges(self, obj: dict[str, Any], rpath: str,
                config: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
        ranges: dict[str, dict[str, Any]] = {}
        strategy = config["Strategy"]
        for key, items in obj.items():
            if key == "AutoParameters":
                continue
            kind = _RANGE_KINDS[key]
            for j, item in enumerate(items):
                at = f"{rpath}.{key}[{j}]"
                name = item["Name"]
                if name in self.range_paths:
                    raise SpecError(
                        f"the hyperparameter {name!r} already has a range at {self.range_paths[name]}. Give each "
                        "hyperparameter one range.",
                        path=f"{at}.Name",
                    )
                if kind != "categorical" and strategy == "Grid":
                    raise SpecError(
                        f"the Grid strategy takes categorical ranges only (SageMaker's rule), but {name!r} is a "
                        f"{kind} range. List its values in CategoricalParameterRanges, or use the Random or "
                        "Bayesian strategy.",
                        path=at,
                    )
                if kind == "categorical":
                    spec: dict[str, Any] = {"type": "categorical",
                                            "values": [decode_hyperparameter(v) for v in item["Values"]]}
                else:
                    spec = {
                        "type": kind,
                        "min_value": _number(item["MinValue"], kind == "integer", f"{at}.MinValue"),
                        "max_value": _number(item["MaxValue"], kind == "integer", f"{at}.MaxValue"),
                    }
                    scaling = _SCALING[item.get("ScalingType", "Auto")]
                    if scaling is not None:
                        spec["scaling"] = scaling
                try:
                    RangeSpec.model_validate(spec).to_range(name, at)
                except SpecError as exc:
                    raise _sagemaker_words(exc) from None
                self.range_paths[name] = at
                ranges[name] = spec
        if len(ranges) > MAX_TUNED:
            counts = ", ".join(f"{len(obj.get(k) or [])} in {k}" for k in _RANGE_KINDS if obj.get(k))
            raise SpecError(
                f"the request tunes {len(ranges)} hyperparameters ({counts}); SageMaker searches at most "
                f"{MAX_TUNED} per tuning job. Make {len(ranges) - MAX_TUNED} of them static "
                "(StaticHyperParameters), or split the search.",
                path=rpath,
            )
        auto = {a["Name"]: decode_hyperparameter(a["ValueHint"]) for a in obj.get("AutoParameters") or []}
        return ranges, auto

    def _autotune(self, auto: dict[str, Any], ranges: dict[str, Any], rpath: str, static: dict[str, Any],
                  defpath: str) -> None:
        autotune = self.r.get("Autotune")
        if auto and autotune is None:
            raise SpecError(
                "AutoParameters needs Autotune: add \"Autotune\": {\"Mode\": \"Enabled\"} to the request, or list "
                "these hyperparameters in ParameterRanges or StaticHyperParameters.",
                path=f"{rpath}.AutoParameters",
            )
        for name in auto:
            if name in ranges or name in static:
                raise SpecError(
                    f"{name!r} is both an AutoParameter and {'tuned' if name in ranges else 'static'}. Keep one.",
                    path=f"{rpath}.AutoParameters",
                )
        if autotune is not None:
            fixed = ", ".join(f"{k}={v!r}" for k, v in auto.items()) or "none"
            end = ", so no hyperparameter is tuned: every training job runs the same configuration." \
                if not ranges else "."
            self.not_run.append(
                "Autotune is not implemented yet: hyperjob tunes the ranges given and keeps the strategy and limits "
                f"of the request; AutoParameters stay static at their ValueHint ({fixed}){end} "
                "List them in ParameterRanges to tune them."
            )
            static.update(auto)
        elif not ranges:
            raise SpecError(
                "the request tunes no hyperparameter: every range list is empty or missing. Add at least one "
                "range to IntegerParameterRanges, ContinuousParameterRanges or CategoricalParameterRanges.",
                path=rpath,
            )

    def _metric_definitions(self, definition: dict[str, Any], defpath: str,
                            objective: dict[str, str]) -> list[dict[str, str]]:
        algo = definition.get("AlgorithmSpecification") or {}
        path = f"{defpath}.AlgorithmSpecification.MetricDefinitions"
        out: list[dict[str, str]] = []
        for i, md in enumerate(algo.get("MetricDefinitions") or []):
            at = f"{path}[{i}]"
            if md["Name"] in [d["name"] for d in out]:
                raise SpecError(
                    f"the metric {md['Name']!r} is defined twice. Keep one definition per metric name.",
                    path=f"{at}.Name",
                )
            try:
                MetricDefinitionSpec(name=md["Name"], regex=md["Regex"])
            except SpecError as exc:
                raise SpecError(exc.message, path=f"{at}.Regex") from None
            out.append({"name": md["Name"], "regex": md["Regex"]})
        if not out:
            image = str(algo.get("TrainingImage") or algo.get("AlgorithmName") or "")
            out = self._builtin_metrics(image, objective, defpath)
        return out

    def _builtin_metrics(self, image: str, objective: dict[str, str], defpath: str) -> list[dict[str, str]]:
        """The metric definition of the objective of a built-in algorithm (:mod:`builtin_metrics`), or none."""
        metric = objective["metric"]
        algorithm = algorithm_for_image(image) if image else None
        if algorithm is None:
            if image_repository(image) in BUILTIN_IMAGES:
                self.warnings.append(missing_definitions_message(image, metric))
            else:
                self.warnings.append(
                    f"the request has no MetricDefinitions: the program must report the objective {metric!r} with "
                    f"hyperjob.report(...), or add MetricDefinitions [{{\"Name\": \"{metric}\", \"Regex\": ...}}]."
                )
            return []
        self.algorithm = algorithm.name
        known = algorithm.metric(metric)
        if known is None:
            raise SpecError(algorithm.unknown_metric_message(metric), path=self.objective_path + ".MetricName")
        if known.direction != objective["type"]:
            self.warnings.append(
                f"the objective {metric!r} of the built-in algorithm {algorithm.name!r} is one to "
                f"{known.direction}, but the request says {objective['type'].capitalize()}: hyperjob does as the "
                "request says. Check HyperParameterTuningJobObjective.Type."
            )
        note = "" if algorithm.confirmed else (
            f" These regexes follow the '#quality_metric' lines of SageMaker's first-party algorithms; no "
            f"published {algorithm.name} log confirms them, so check them with hyperjob validate FILE --log "
            "sample.log."
        )
        self.warnings.append(
            f"TrainingImage {image!r} is SageMaker's built-in algorithm {algorithm.name!r}, which sends no "
            f"MetricDefinitions: hyperjob reads the objective {metric!r} with the algorithm's own regex "
            f"{known.regex!r}, so the local program must print lines like {algorithm.example!r} (or report "
            f"{metric!r} with hyperjob.report).{note}"
        )
        return [{"name": known.name, "regex": known.regex}]

    def _objective_vs_metrics(self, objective: dict[str, str], defs: list[dict[str, str]], objpath: str,
                              definition: dict[str, Any], defpath: str) -> None:
        names = [d["name"] for d in defs]
        metric = objective["metric"]
        if not names or metric in names:
            return
        squash = re.sub(r"[^a-z0-9]", "", metric.lower())
        for name in names:
            if re.sub(r"[^a-z0-9]", "", name.lower()) == squash:
                raise SpecError(
                    f"the objective metric {metric!r} is not among the MetricDefinitions, but {name!r} is: a typo? "
                    "Use the same spelling in MetricName and MetricDefinitions.",
                    path=f"{objpath}.MetricName",
                )

    def _strategy(self, config: dict[str, Any], ranges: dict[str, Any]) -> dict[str, Any]:
        name = config["Strategy"]
        settings: dict[str, Any] = {}
        sc = config.get("StrategyConfig")
        if sc is not None:
            if name != "Hyperband":
                raise SpecError(
                    f"StrategyConfig applies to the Hyperband strategy only, but Strategy is {name!r}. Remove "
                    "StrategyConfig, or use \"Strategy\": \"Hyperband\".",
                    path=f"{_CONFIG}.StrategyConfig",
                )
            hb = sc.get("HyperbandStrategyConfig") or {}
            lo, hi = hb.get("MinResource"), hb.get("MaxResource")
            if lo is not None and hi is not None and lo >= hi:
                raise SpecError(
                    f"MaxResource must be greater than MinResource, got MinResource={lo}, MaxResource={hi}. Raise "
                    "MaxResource or lower MinResource.",
                    path=f"{_CONFIG}.StrategyConfig.HyperbandStrategyConfig.MaxResource",
                )
            if lo is not None:
                settings["min_resource"] = lo
            if hi is not None:
                settings["max_resource"] = hi
        if name == "Hyperband" and config.get("TrainingJobEarlyStoppingType") == "Auto":
            raise SpecError(
                "'Auto' cannot be used with the Hyperband strategy, which stops training jobs itself (SageMaker's "
                "rule). Set \"TrainingJobEarlyStoppingType\": \"Off\".",
                path=f"{_CONFIG}.TrainingJobEarlyStoppingType",
            )
        return {"name": name.lower(), "settings": settings}

    def _limits(self, config: dict[str, Any], definition: dict[str, Any], defpath: str,
                strategy: dict[str, Any], ranges: dict[str, Any]) -> dict[str, Any]:
        rl = config["ResourceLimits"]
        max_jobs = rl.get("MaxNumberOfTrainingJobs")
        path = f"{_CONFIG}.ResourceLimits.MaxNumberOfTrainingJobs"
        if strategy["name"] == "grid":
            size = math.prod(len(r["values"]) for r in ranges.values()) if ranges else 1
            if max_jobs is not None and max_jobs != size:
                counts = " x ".join(f"{len(r['values'])} {n}" for n, r in ranges.items())
                raise SpecError(
                    f"the Grid strategy runs every combination of the categorical values once, {size} training "
                    f"jobs here ({counts}), but MaxNumberOfTrainingJobs is {max_jobs}. Set it to {size} or leave "
                    "it out (SageMaker's rule).",
                    path=path,
                )
        elif max_jobs is None:
            raise SpecError(
                f"is required with the {strategy['name'].capitalize()} strategy (only Grid computes it from the "
                "ranges). Add \"MaxNumberOfTrainingJobs\": 20 to ResourceLimits.",
                path=path,
            )
        most = MAX_TRAINING_JOBS[config["Strategy"]]
        jobs = max_jobs if max_jobs is not None else size
        if jobs > most:
            quota = " (750 unless the quota is raised)" if config["Strategy"] == "Random" else ""
            what = (f"is {jobs}" if max_jobs is not None else
                    f"is left out, so the Grid strategy would run {jobs} training jobs (one per combination)")
            raise SpecError(
                f"{what}; SageMaker runs at most {most} training jobs per tuning job with the {config['Strategy']} "
                f"strategy{quota}. Use {most} or fewer{'' if max_jobs is not None else ' combinations'}, or split "
                "the tuning job.",
                path=path,
            )
        stopping = definition.get("StoppingCondition") or {}
        return {
            "max_jobs": max_jobs,
            "max_parallel_jobs": rl["MaxParallelTrainingJobs"],
            "max_runtime_s": rl.get("MaxRuntimeInSeconds"),
            "timeout_s": stopping.get("MaxRuntimeInSeconds"),
        }

    def _completion(self, config: dict[str, Any]) -> dict[str, Any]:
        cc = config.get("TuningJobCompletionCriteria") or {}
        out: dict[str, Any] = {}
        if "TargetObjectiveMetricValue" in cc:
            out["target_value"] = float(cc["TargetObjectiveMetricValue"])
        best = cc.get("BestObjectiveNotImproving") or {}
        if "MaxNumberOfTrainingJobsNotImproving" in best:
            out["max_jobs_not_improving"] = best["MaxNumberOfTrainingJobsNotImproving"]
        conv = cc.get("ConvergenceDetected") or {}
        if conv.get("CompleteOnConvergence") == "Enabled":
            out["convergence"] = "auto"
        return out

    def _warm_start(self) -> dict[str, Any] | None:
        ws = self.r.get("WarmStartConfig")
        if ws is None:
            return None
        parents = [p["HyperParameterTuningJobName"] for p in ws["ParentHyperParameterTuningJobs"]]
        for i, name in enumerate(parents):
            if name in parents[:i]:
                raise SpecError(
                    f"the parent {name!r} is listed twice. List each parent tuning job once.",
                    path=f"WarmStartConfig.ParentHyperParameterTuningJobs[{i}].HyperParameterTuningJobName",
                )
            if name == self.r["HyperParameterTuningJobName"]:
                raise SpecError(
                    f"the tuning job {name!r} names itself as a parent. Name earlier tuning jobs only.",
                    path=f"WarmStartConfig.ParentHyperParameterTuningJobs[{i}].HyperParameterTuningJobName",
                )
        kind = {"IdenticalDataAndAlgorithm": "identical_data_and_algorithm",
                "TransferLearning": "transfer_learning"}[ws["WarmStartType"]]
        return {"parents": parents, "type": kind}

    # -- the program ----------------------------------------------------------------------------------------
    def _program(self, definition: dict[str, Any], defpath: str, static: dict[str, Any]) -> dict[str, Any]:
        hp = self.r.get("HyperjobProgram") or {}
        env = dict(definition.get("Environment") or {})
        env.update(hp.get("Environment") or {})
        self.label_attribute: str | None = None
        channels, remote = self._channels(definition, defpath, hp)
        if self.label_attribute is not None:
            env.setdefault("HYPERJOB_LABEL_ATTRIBUTE", self.label_attribute)
        working_dir = hp.get("WorkingDirectory")
        if working_dir is not None:
            working_dir = self._local(working_dir)
        raw_static = definition.get("StaticHyperParameters") or {}
        script = raw_static.get("sagemaker_program")
        script = decode_hyperparameter(script) if isinstance(script, str) else None
        script = script if isinstance(script, str) and script.strip() else None
        if self.submit_dir is not None:
            if self.command is not None:
                raise SpecError(
                    f"both --submit-dir ({self.submit_dir}) and a command after '--' are given; --submit-dir runs "
                    "the request's sagemaker_program, the command replaces it. Give one of them.",
                    path="command",
                )
            command, working_dir = self._script_mode(script, Path(self.submit_dir), defpath, "--submit-dir")
        elif self.command is not None:
            command = [str(a) for a in self.command]
            if not command or not command[0].strip():
                raise SpecError("the command after '--' is empty. Give the program to run, e.g. -- python train.py.",
                                path="command")
            working_dir = working_dir or os.getcwd()
        elif hp.get("Command"):
            command = list(hp["Command"])
            working_dir = working_dir or str(self.base)
        else:
            submit = self._local_submit_directory(raw_static)
            if script is not None and submit is not None and (submit / script).is_file():
                command, working_dir = self._script_mode(script, submit, defpath, "sagemaker_submit_directory")
            elif script is not None and (self.base / script).is_file():
                command = [sys.executable, script]
                working_dir = working_dir or str(self.base)
                self.warnings.append(
                    f"no HyperjobProgram.Command: running the script-mode entry point sagemaker_program "
                    f"{script!r} as [{sys.executable!r}, {script!r}] from {working_dir}."
                )
            elif script is None and self._our_algorithm(definition) is not None:
                command = None
                algorithm = self._our_algorithm(definition)
                self.warnings.append(
                    f"TrainingImage is SageMaker's built-in {algorithm!r}: hyperjob runs its own built-in algorithm "
                    f"of that name (program.algorithm {algorithm!r}). Pass a command after '--' to run another "
                    "program."
                )
            elif not self.require_program:
                command = [NO_COMMAND]
            else:
                algo = definition.get("AlgorithmSpecification") or {}
                image = algo.get("TrainingImage") or algo.get("AlgorithmName") or "its container image"
                if script is not None:
                    raise SpecError(
                        f"the request is a script-mode request (sagemaker_program {script!r}, "
                        f"sagemaker_submit_directory {raw_static.get('sagemaker_submit_directory', 'not given')}) "
                        f"whose script is not next to the request (in {self.base}). Give the local copy of the "
                        f"source directory: hyperjob tune request.json --submit-dir DIR (DIR holds {script}), or "
                        "pass a command after '--'.",
                        path=f"{defpath}.StaticHyperParameters.sagemaker_program",
                    )
                raise SpecError(
                    f"the request names no local program to run: SageMaker would run {image!r}, hyperjob "
                    "runs a local command. Pass it after '--' (hyperjob tune request.json -- python train.py), or "
                    "add \"HyperjobProgram\": {\"Command\": [\"python\", \"train.py\"]} to the request.",
                    path="HyperjobProgram.Command",
                )
        if remote:
            shown = ", ".join(f"{name} ({uri})" for name, uri in remote.items())
            first = next(iter(remote))
            self.warnings.append(
                f"input channels without an S3Uri are not read, so the program gets no SM_CHANNEL_<NAME> for: "
                f"{shown}. Give local copies: --channel {first}=PATH (or HyperjobProgram.Channels), or an S3Uri."
            )
        if command is None:
            return {"algorithm": self._our_algorithm(definition), "working_dir": working_dir, "env": env,
                    "channels": channels}
        return {"command": command, "working_dir": working_dir, "env": env, "channels": channels}

    @staticmethod
    def _our_algorithm(definition: Mapping[str, Any]) -> str | None:
        """The name of hyperjob's own built-in algorithm that stands for the request's image, if there is one
        (image-classification) and the spec can name it (``program.algorithm``)."""
        algo = definition.get("AlgorithmSpecification") or {}
        image = str(algo.get("TrainingImage") or "")
        known = algorithm_for_image(image) if image else None
        if known is None or known.name not in _OUR_ALGORITHMS:
            return None
        from hyperjob.formats.spec import ProgramSpec

        return known.name if "algorithm" in ProgramSpec.model_fields else None

    def _script_mode(self, script: str | None, submit: Path, defpath: str, given: str) -> tuple[list[str], str]:
        """``[python, sagemaker_program]`` run in the local submit directory, as SageMaker's training toolkit runs
        a script-mode entry point (its hyperparameters follow as ``--key value``: see executors/env.py)."""
        if script is None:
            raise SpecError(
                f"{given} runs the request's script-mode entry point, but the request names none: "
                "StaticHyperParameters has no sagemaker_program. Add \"sagemaker_program\": \"\\\"train.py\\\"\", "
                "or pass the command after '--' instead.",
                path=f"{defpath}.StaticHyperParameters.sagemaker_program",
            )
        where = submit if submit.is_absolute() else Path.cwd() / submit
        where = Path(os.path.normpath(where))
        if not where.is_dir():
            raise SpecError(
                f"the submit directory {str(submit)!r} ({given}) is not a directory. Give the local folder that "
                f"holds {script} (the SageMaker SDK's source_dir).",
                path="submit_dir",
            )
        entry = where / script
        if not entry.is_file():
            present = sorted(p.name for p in where.glob("*.py"))[:10]
            shown = ", ".join(present) if present else "no .py file"
            raise SpecError(
                f"the submit directory {str(where)!r} ({given}) has no {script!r}, the request's sagemaker_program "
                f"(it has: {shown}). Give the folder that holds it, or fix sagemaker_program.",
                path=f"{defpath}.StaticHyperParameters.sagemaker_program",
            )
        return [sys.executable, script], str(where)

    def _local_submit_directory(self, raw_static: Mapping[str, Any]) -> Path | None:
        """``sagemaker_submit_directory`` when it names a local folder (a path or ``file://`` URI), else None."""
        value = raw_static.get("sagemaker_submit_directory")
        value = decode_hyperparameter(value) if isinstance(value, str) else None
        if not isinstance(value, str) or not value.strip() or value.startswith(("s3://", "https://", "http://")):
            return None
        path = Path(self._local(value))
        return path if path.is_dir() else None

    def _local(self, value: str) -> str:
        if value.startswith("file://"):
            value = unquote(urlparse(value).path)
        if os.path.isabs(value):
            return value
        return os.path.normpath(self.base / os.path.expanduser(value))

    def _channels(self, definition: dict[str, Any], defpath: str,
                  hp: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
        channels: dict[str, str] = {}
        remote: dict[str, str] = {}
        for i, ch in enumerate(definition.get("InputDataConfig") or []):
            name = ch["ChannelName"]
            if name in channels or name in remote:
                raise SpecError(
                    f"the channel name {name!r} is used twice. Give each input channel its own name.",
                    path=f"{defpath}.InputDataConfig[{i}].ChannelName",
                )
            source = ch["DataSource"].get("S3DataSource")
            uri = source.get("S3Uri") if source else None
            names = (source or {}).get("AttributeNames") or []
            if (source or {}).get("S3DataType") == "AugmentedManifestFile" and len(names) >= 2:
                # the built-in image classifier reads the label from the second attribute (SageMaker's rule)
                self.label_attribute = str(names[1])
            if uri is None:
                remote[name] = "a file system data source"
            elif is_url(uri):  # s3:// (or any fsspec URL): fetched once into a local cache when the tuning starts
                channels[name] = uri
            else:
                channels[name] = self._local(uri)
        for name, path in (hp.get("Channels") or {}).items():
            channels[name] = path if is_url(path) else self._local(path)
            remote.pop(name, None)
        missing = {k: v for k, v in channels.items() if not is_url(v) and not os.path.exists(v)}
        if missing:
            shown = ", ".join(f"{k}={v}" for k, v in missing.items())
            self.warnings.append(f"input channels whose local path does not exist (yet): {shown}.")
        return channels, remote


def _sagemaker_words(exc: SpecError) -> SpecError:
    """A range error in SageMaker's member names (``min_value`` -> ``MinValue``, ``.scaling`` -> ``.ScalingType``)."""
    message, path = exc.message, exc.path or ""
    for ours, theirs in _FIELD_WORDS:
        message = message.replace(ours, theirs)
        if path.endswith(f".{ours}"):
            path = path[: -len(ours)] + theirs
    if path.endswith(".values"):
        path = path[: -len("values")] + "Values"
    if path.endswith(".default"):
        path = path[: -len(".default")]
    return type(exc)(message, path=path or None, source=exc.source)


#: Where a spec field came from in a request, for the rare error only the spec's own rules find.
_PATH_MAP = (
    ("name", "HyperParameterTuningJobName"),
    ("limits.max_jobs", f"{_CONFIG}.ResourceLimits.MaxNumberOfTrainingJobs"),
    ("limits.max_parallel_jobs", f"{_CONFIG}.ResourceLimits.MaxParallelTrainingJobs"),
    ("limits.max_runtime_s", f"{_CONFIG}.ResourceLimits.MaxRuntimeInSeconds"),
    ("early_stopping", f"{_CONFIG}.TrainingJobEarlyStoppingType"),
    ("strategy", f"{_CONFIG}.Strategy"),
    ("completion", f"{_CONFIG}.TuningJobCompletionCriteria"),
    ("random_seed", f"{_CONFIG}.RandomSeed"),
    ("warm_start", "WarmStartConfig"),
    ("program", "HyperjobProgram"),
    ("periods", "HyperjobExperiment.Periods"),
    ("fast", "HyperjobExperiment.Fast"),
    ("results", "HyperjobExperiment.Results"),
)


def _request_path(exc: SpecError, reader: _Reader) -> SpecError:
    """A spec error moved to the request's member it came from: a range's (``...ContinuousParameterRanges[0]``),
    a static hyperparameter's, or a member of :data:`_PATH_MAP`."""
    path = exc.path or ""
    ranges = "hyperparameter_ranges."
    static = "static_hyperparameters."
    if path.startswith(ranges):
        name = range_named_by(path, reader.range_paths)
        if name is not None:
            rest = path[len(ranges) + len(name):]
            moved = _sagemaker_words(SpecError(exc.message, path=reader.range_paths[name] + rest))
            return type(exc)(moved.message, path=moved.path, source=exc.source)
        path = ranges.rstrip(".")
    if path == ranges.rstrip(".") or path.startswith(static) or path == static.rstrip("."):
        owner = f"{reader.defpath}.StaticHyperParameters" if path.startswith("static") else \
            f"{_CONFIG}.ParameterRanges"
        return type(exc)(exc.message, path=owner + path[path.index(".") if "." in path else len(path):],
                         source=exc.source)
    for ours, theirs in _PATH_MAP:
        if path == ours or path.startswith(ours + ".") or path.startswith(ours + "["):
            return type(exc)(exc.message, path=theirs, source=exc.source)
    return exc


def _name_the_range(exc: SpecError, request: Mapping[str, Any]) -> SpecError:
    """An error inside one range of ``request`` that names its hyperparameter (the request's path gives only the
    range's index: ``...ContinuousParameterRanges[0].MinValue``)."""
    m = _RANGE_ITEM.match(exc.path or "")
    if m is None or m["rest"] == ".Name":
        return exc
    try:
        owner = request[_CONFIG]["ParameterRanges"] if m["d"] is None else \
            request["TrainingJobDefinitions"][int(m["d"])]["HyperParameterRanges"]
        name = owner[m["kind"]][int(m["j"])]["Name"]
    except (KeyError, IndexError, TypeError):
        return exc
    return name_the_range(exc, name)


def _one_objective(request: Any) -> None:
    """SageMaker tunes one objective: a list of them is refused, pointing to job.yaml's ``objectives``."""
    config = request.get(_CONFIG) if isinstance(request, Mapping) else None
    objective = config.get("HyperParameterTuningJobObjective") if isinstance(config, Mapping) else None
    if isinstance(objective, list):
        raise SpecError(
            f"a SageMaker request has exactly one objective, got a list of {len(objective)}. Keep one here, or "
            "write a job.yaml with objectives: [{metric: ..., type: ...}, ...] to tune several at once "
            "(docs/objectives.md).",
            path=f"{_CONFIG}.HyperParameterTuningJobObjective",
        )


def load_sagemaker_request(
    request: Any,
    *,
    source: str | None = None,
    base_dir: str | Path | None = None,
    command: Sequence[str] | None = None,
    require_program: bool = True,
    submit_dir: str | Path | None = None,
) -> TuningJobSpec:
    """Check a ``CreateHyperParameterTuningJob`` request and map it onto a :class:`TuningJobSpec`.

    Args:
        request: the parsed request body.
        source: the file's name, for errors.
        base_dir: the directory that relative local paths start from (default: the current directory).
        command: the program to run (the CLI's ``-- python train.py``); it replaces ``HyperjobProgram.Command``
            and runs in the current directory unless ``HyperjobProgram.WorkingDirectory`` says otherwise.
        require_program: when ``False`` (``hyperjob validate``), a request without a program is accepted and
            gets the command ``[NO_COMMAND]``, which must never be run.
        submit_dir: the local copy of a script-mode request's source directory (the CLI's ``--submit-dir``): the
            program is ``[python, sagemaker_program]`` run in that directory. Refused with ``command``, or when
            the request has no ``sagemaker_program`` or the directory does not hold it.

    Returns:
        The spec (``source_format`` ``sagemaker``), with every warning: ignored members, several definitions,
        Autotune, S3 channels, metrics of built-in algorithms, metric regexes.

    Raises:
        SpecError: the first rule the request breaks, at its SageMaker path (``HyperParameterTuningJobConfig.
            ResourceLimits.MaxRuntimeInSeconds``), with the value and the fix.
    """
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    walker = Walker()
    try:
        _one_objective(request)
        walker.check(request)
        reader = _Reader(request, base, command, require_program, submit_dir)
        data = reader.read()
        experiment = request.get("HyperjobExperiment") or {}  # periods, fast mode, results (docs/experiments.md)
        for member, field in (("Periods", "periods"), ("Fast", "fast"), ("Results", "results")):
            if member in experiment:
                data[field] = experiment[member]
    except SpecError as exc:
        raise _name_the_range(exc, request).at(source=source) from None
    try:
        spec = TuningJobSpec.model_validate(data)
    except SpecError as exc:
        err = _name_the_range(_request_path(exc, reader), request)
        raise type(err)(err.message, path=err.path, source=source) from None
    warnings = list(reader.warnings)
    if reader.not_run:
        warnings.insert(0, "not run yet (named here, not silently dropped): " + " ".join(
            f"({i}) {text}" for i, text in enumerate(reader.not_run, 1)))
    ignored = walker.ignored + reader.ignored
    if ignored:
        warnings.insert(
            0,
            "these SageMaker members have no local meaning or are not implemented yet, and were ignored: "
            f"{_group(ignored)}.",
        )
    warnings.extend(spec_warnings(spec))
    return spec.model_copy(update={"warnings": warnings})
