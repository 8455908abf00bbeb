"""The tuning-job spec: the one validated description of a tuning job that every format is read into.

``job.yaml`` / ``job.json`` (:mod:`hyperjob.formats.job_yaml`), SageMaker's ``CreateHyperParameterTuningJob``
request (:mod:`hyperjob.formats.sagemaker`), a Neptune ML configuration (:mod:`hyperjob.formats.neptune`) and
the arguments of ``hyperjob.tune`` (:mod:`hyperjob.formats.python_api`) are all turned into a
:class:`TuningJobSpec`; the Tuner works from it (``TuningPlan.from_spec``), and the store keeps :meth:`TuningJobSpec.to_json` so that ``hyperjob resume`` can rebuild it with
:meth:`TuningJobSpec.from_json`. ``docs/spec.md`` is the user's reference of the fields.

Every model is frozen and refuses unknown fields. Every validation error is a
:class:`~hyperjob.errors.SpecError` (never a pydantic ``ValidationError``) whose message names the field path,
the offending value and the fix; loaders add the file name as ``source``.

Example:
    >>> spec = TuningJobSpec.model_validate({
    ...     "name": "demo",
    ...     "program": {"command": ["python", "train.py"]},
    ...     "hyperparameter_ranges": {"lr": {"min_value": 1e-4, "max_value": 0.1, "scaling": "log"}},
    ...     "objective": {"metric": "loss", "type": "minimize"},
    ...     "limits": {"max_jobs": 10},
    ... })
    >>> spec.build_space()["lr"].scaling.value
    'Logarithmic'
    >>> TuningJobSpec.from_json(spec.to_json()) == spec
    True
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, Literal

from pydantic import Field, field_validator, model_validator

from hyperjob.errors import SpecError, did_you_mean
from hyperjob.formats._base import (
    CHANNEL_NAME,
    ENV_NAME,
    HYPERPARAMETER_NAME,
    NAME_PATTERN,
    NUMBER_REGEX,
    StrictModel,
    check_hyperparameter_name,
    is_number,
    json_value,
    name_the_range,
    off_auto,
    range_named_by,
)
from hyperjob.formats._range_spec import RangeSpec, build_ranges
from hyperjob.formats.periods import FastSpec, PeriodsSpec, ResultsSpec, check_experiment_fields
from hyperjob.records import Direction, MetricDefinition, Objective, Program
from hyperjob.space import SearchSpace
from hyperjob.stopping.base import MedianRule

if TYPE_CHECKING:  # pragma: no cover
    from hyperjob.outcomes import Outcomes

__all__ = [
    "CHANNEL_NAME",
    "ENV_NAME",
    "HYPERPARAMETER_NAME",
    "NAME_PATTERN",
    "NUMBER_REGEX",
    "CompletionSpec",
    "EarlyStoppingSpec",
    "ExecutorSpec",
    "LimitsSpec",
    "MetricDefinitionSpec",
    "ObjectiveSpec",
    "ProgramSpec",
    "RangeSpec",
    "ResourcesSpec",
    "RetrySpec",
    "StrategySpec",
    "TuningJobSpec",
    "WarmStartSpec",
    "build_ranges",
    "read_early_stopping",
    "space_from_parts",
    "spec_warnings",
]

SourceFormat = Literal["native", "sagemaker", "neptune", "python"]
OffAuto = Literal["off", "auto"]


# --------------------------------------------------------------------------------------------------------------
# parts


class ProgramSpec(StrictModel):
    """The training program: an argument list (never a shell), its directory, environment and input channels.

    A program is one of three kinds: a ``command``, a built-in ``algorithm``, or a Python ``function``
    (``hyperjob.tune(train_fn, ...)``). A function cannot be stored as JSON, so the spec only names it
    (``"module:qualname"``, for people and for ``hyperjob resume``, which refuses it); the callable itself is
    given beside the spec (:meth:`hyperjob.tuner.plan.TuningPlan.from_spec`).

    Attributes:
        command: the program and its arguments, e.g. ``["python", "train.py"]``; every hyperparameter is
            appended as ``--name value``. Filled in as ``[sys.executable, "-m", <module>]`` for an algorithm;
            ``None`` for a function.
        algorithm: a built-in algorithm (``image-classification``, see :mod:`hyperjob.algorithms`) run instead
            of a command; giving both is an error.
        function: the name of the Python function that is the training program (``"train:fit"``), set by
            ``hyperjob.tune``; giving it with a command or an algorithm is an error.
        working_dir: the directory it runs in (``None``: the directory hyperjob runs in). Loaders resolve a
            relative one against the spec file's directory.
        env: extra environment variables (numbers are turned into strings).
        channels: input channel name -> local path; the program sees ``SM_CHANNEL_<NAME>`` and
            ``HYPERJOB_CHANNEL_<NAME>``.
    """

    command: list[str] | None = Field(default=None, min_length=1)  # filled by _algorithm, None for a function
    algorithm: str | None = None
    function: str | None = None
    working_dir: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    channels: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _algorithm(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        if data.get("function") is not None:
            other = next((k for k in ("command", "algorithm") if data.get(k) is not None), None)
            if other is not None:
                raise SpecError(
                    f"names the Python function {data['function']!r} and also a {other} ({data[other]!r}); a "
                    f"program is one of them. Remove {other}, or function.",
                    path="function",
                )
            return data
        if data.get("algorithm") is None:
            if data.get("command") is None:
                raise SpecError(
                    "needs a command (the training program, e.g. command: [python, train.py]) or a built-in "
                    "algorithm (e.g. algorithm: image-classification). Add one of them.",
                    path="command",
                )
            return data
        from hyperjob.algorithms import get_algorithm

        try:
            algo = get_algorithm(data["algorithm"])
        except SpecError as exc:
            raise SpecError(exc.message, path="algorithm") from None
        command = data.get("command")
        # a stored spec carries the command the algorithm was given: [python, -m, module] is not a conflict
        if command is not None and not (isinstance(command, list) and command[1:] == ["-m", algo.module]):
            raise SpecError(
                f"gives both a command ({command!r}) and the built-in algorithm {algo.name!r}; a program runs "
                "one or the other. Remove command to run the algorithm, or algorithm to run your command.",
                path="algorithm",
            )
        return {**data, "algorithm": algo.name, "command": algo.command(sys.executable)}

    @field_validator("command", mode="before")
    @classmethod
    def _command_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                parts = shlex.split(value)
            except ValueError:
                parts = value.split()
            raise SpecError(
                f"must be a list of arguments (it is never run through a shell), got the string {value!r}. "
                f"Write it as a list: {json.dumps(parts)}."
            )
        if isinstance(value, list):
            return [str(a) if is_number(a) else a for a in value]
        return value

    @field_validator("command")
    @classmethod
    def _command_program(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value[0].strip():
            raise SpecError(
                "the first argument, the program to run, is empty. Name it, e.g. [python, train.py].", path="[0]"
            )
        return value

    @field_validator("function")
    @classmethod
    def _function(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise SpecError("is empty. Name the function (module:qualname), or leave the field out.")
        return value

    @field_validator("working_dir")
    @classmethod
    def _working_dir(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise SpecError("is empty. Give a directory, or leave the field out.")
        return value

    @field_validator("env", mode="before")
    @classmethod
    def _env_strings(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: (str(v) if is_number(v) else v) for k, v in value.items()}
        return value

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not ENV_NAME.match(name):
                raise SpecError(
                    f"{name!r} is not a valid environment variable name. Use letters, digits and '_', "
                    "not starting with a digit, e.g. OMP_NUM_THREADS.",
                    path=name,
                )
        return value

    @field_validator("channels")
    @classmethod
    def _channel_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, path in value.items():
            if not CHANNEL_NAME.match(name):
                raise SpecError(
                    f"the channel name {name!r} is not allowed. Use 1 to 64 letters, digits, '.', '-' or '_', "
                    "e.g. train.",
                    path=name,
                )
            if not path.strip():
                raise SpecError(f"the channel {name!r} has an empty path. Give the local directory or file.",
                                path=name)
        return value


class ObjectiveSpec(StrictModel):
    """The objective: a metric name and whether to ``maximize`` or ``minimize`` it (any case; ``max``/``min``)."""

    metric: str
    type: Literal["maximize", "minimize"]

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if isinstance(data, str):
            raise SpecError(
                f"must be a mapping with the metric and its direction, got {data!r}. Write e.g. "
                f"objective: {{metric: {data}, type: minimize}}."
            )
        if isinstance(data, Mapping) and isinstance(data.get("type"), str):
            text = data["type"].strip().lower()
            data = {**data, "type": {"max": "maximize", "min": "minimize"}.get(text, text)}
        return data

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        if not value.strip():
            raise SpecError("the objective's metric name is empty. Name the metric, e.g. metric: val_loss.")
        return value


class ConstraintSpec(StrictModel):
    """An outcome constraint: a training job whose last ``metric`` value is above ``max`` or below ``min`` is
    infeasible (never the best, never on the Pareto front)."""

    metric: str
    max: float | None = None
    min: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> "ConstraintSpec":
        from hyperjob.outcomes import Constraint

        Constraint(self.metric, self.max, self.min)  # the rules of a constraint have one owner
        return self


class MetricDefinitionSpec(StrictModel):
    """A metric read from the program's log lines: the first capture group of ``regex`` is the value."""

    name: str
    regex: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise SpecError("the metric name is empty. Name it, e.g. name: val_loss.")
        return value

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            pattern = re.compile(value)
        except re.error as exc:
            pos = exc.pos if exc.pos is not None else len(value)
            raise SpecError(
                f"the regex {value!r} does not compile: {exc.msg} at position {pos} "
                f"({value[:pos]!r} >>> {value[pos:]!r}). Fix it there; escape characters meant literally, "
                r"such as ( ) [ ] . + * ?, with a backslash (\( \. ...)."
            ) from None
        if pattern.groups < 1:
            raise SpecError(
                f"the regex {value!r} has no capture group, so it reads no value. Put the number in "
                f"parentheses: {_with_group(value)!r}."
            )
        return value


def _with_group(regex: str) -> str:
    """``regex`` with its trailing number pattern wrapped in a capture group (or one appended)."""
    m = re.search(r"(\[[^\]]*\][+*]|\\d[+*](?:\\.\\d[+*])?|\\S[+*]|\.[+*])$", regex)
    if m:
        return f"{regex[:m.start()]}({m.group(0)})"
    return f"{regex.rstrip()} {NUMBER_REGEX}"


class StrategySpec(StrictModel):
    """The strategy and its settings (``strategy: random`` is short for ``{name: random}``).

    ``name`` is a registered strategy's (``hyperjob.strategies.registry``); ``settings`` are passed to its
    constructor, and its registry entry checks them (unknown ones are refused when the strategy is available).
    Hyperband reads ``min_resource`` (default 1), ``max_resource`` (default: the static epochs hyperparameter),
    ``reduction_factor`` (3), ``brackets`` (1), ``model`` (``bayesian`` or ``random``), ``n_initial`` and
    ``num_threads`` (``docs/early-stopping.md``).
    """

    name: str = "bayesian"
    settings: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _registered(cls, value: str) -> str:
        from hyperjob.strategies.registry import strategy_names

        names = strategy_names()
        if value not in names:
            raise SpecError(
                f"must be one of {', '.join(repr(n) for n in names)}, got {value!r}.{did_you_mean(value, names)} "
                "Use one of them."
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if isinstance(data, str):
            data = {"name": data}
        if isinstance(data, Mapping) and isinstance(data.get("name"), str):
            data = {**data, "name": data["name"].strip().lower()}
        if isinstance(data, Mapping) and isinstance(data.get("settings"), Mapping):
            try:
                data = {**data, "settings": json_value(dict(data["settings"]), "the settings")}
            except SpecError as exc:
                raise SpecError(exc.message, path="settings") from None
        return data


class LimitsSpec(StrictModel):
    """The budget.

    Attributes:
        max_jobs: training jobs in total; required except for grid search (then: the number of combinations).
        max_parallel_jobs: training jobs running at once (>= 1, default 1).
        max_runtime_s: wall-clock limit of the whole tuning job, seconds.
        timeout_s: wall-clock limit of each training job, seconds.
        max_failed_jobs: the tuning job fails once this many training jobs have failed.
        resource_budget: epochs (resource units) all training jobs may train together; when they have, the
            tuning job completes (hyperjob.tuner.budget).
    """

    max_jobs: int | None = Field(default=None, ge=1)
    max_parallel_jobs: int = Field(default=1, ge=1)
    max_runtime_s: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    timeout_s: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    max_failed_jobs: int | None = Field(default=None, ge=1)
    resource_budget: int | None = Field(default=None, ge=1)


class CompletionSpec(StrictModel):
    """When the tuning job stops before its budget is spent (SageMaker's ``TuningJobCompletionCriteria``).

    Attributes:
        target_value: stop once a training job reaches this objective value.
        max_jobs_not_improving: stop when this many training jobs in a row did not improve the best (>= 3).
        convergence: ``auto`` stops when the search has converged; ``off`` (default) does not.
    """

    target_value: float | None = Field(default=None, allow_inf_nan=False)
    max_jobs_not_improving: int | None = Field(default=None, ge=3)
    convergence: OffAuto = "off"

    @field_validator("convergence", mode="before")
    @classmethod
    def _convergence(cls, value: Any) -> Any:
        value = off_auto(value)
        return {"disabled": "off", "enabled": "auto"}.get(value, value) if isinstance(value, str) else value


class EarlyStoppingSpec(StrictModel):
    """Early stopping with explicit settings: ``early_stopping: {rule: median, min_jobs: 3, grace_values: 1}``.

    ``auto`` and a mapping with SageMaker's values (``{rule: median}`` alone) are SageMaker's rule exactly and
    are kept as ``auto``; any other values are a warm-up (``docs/early-stopping.md``).

    Attributes:
        rule: ``median``, SageMaker's median rule (the only one).
        min_jobs: the rule acts at a step only when at least this many earlier training jobs reached it (>= 1,
            default 1: SageMaker's rule).
        grace_values: the rule does not judge a training job's first ``grace_values`` values (>= 0, default 0:
            SageMaker's rule judges from the first).
    """

    rule: Literal["median"] = "median"
    min_jobs: int = Field(default=MedianRule.min_jobs, ge=1)
    grace_values: int = Field(default=MedianRule.grace_values, ge=0)

    def build(self) -> MedianRule:
        """The settings as the stopper takes them."""
        return MedianRule(min_jobs=self.min_jobs, grace_values=self.grace_values)

    def __str__(self) -> str:  # as ``hyperjob validate`` shows it
        return f"{{rule: {self.rule}, min_jobs: {self.min_jobs}, grace_values: {self.grace_values}}} (a warm-up)"


EarlyStopping = Literal["off", "auto"] | EarlyStoppingSpec


def _early_stopping_value(value: Any) -> Any:
    """The one reading of ``early_stopping``: ``off``, ``auto`` (SageMaker's rule exactly, also for a mapping
    with SageMaker's values), or an :class:`EarlyStoppingSpec` with a warm-up.

    Raises:
        SpecError: not ``off``/``auto``/a mapping, or a bad mapping (at ``<key>``, relative to the field).
    """
    if isinstance(value, EarlyStoppingSpec):
        return "auto" if value.build().exact else value
    if isinstance(value, Mapping):
        settings = EarlyStoppingSpec.model_validate(dict(value))
        return "auto" if settings.build().exact else settings
    word = off_auto(value)
    if word in ("off", "auto"):
        return word
    raise SpecError(
        f"must be 'off' or 'auto' (SageMaker's median rule), or a mapping of the median rule's settings such as "
        f"{{rule: median, min_jobs: 3, grace_values: 1}}, got {value!r}. Use one of them."
    )


def read_early_stopping(value: Any) -> MedianRule | None:
    """``early_stopping`` as the stopper takes it, read exactly as a spec reads the field (for ``AskTell``).

    Returns:
        ``None`` for ``off``, else the median rule's settings (``MedianRule()`` for ``auto``).

    Raises:
        SpecError: at ``early_stopping`` (or ``early_stopping.<key>``), with the spec's message.
    """
    try:
        return _resolve_early_stopping(_early_stopping_value(value))
    except SpecError as exc:
        raise exc.at("early_stopping") from None


def _resolve_early_stopping(value: "str | EarlyStoppingSpec") -> MedianRule | None:
    if isinstance(value, EarlyStoppingSpec):
        return value.build()
    return MedianRule() if value == "auto" else None


class ResourcesSpec(StrictModel):
    """What each training job needs (docs/cluster.md). The Ray executor places each job on a node where all of
    it is free; the local executor shares this machine's GPUs by ``gpus`` (a share such as 0.25 puts up to 4
    training jobs on one GPU; a whole number gives that many GPUs to one job alone) and ignores the rest.

    Attributes:
        cpus: CPU cores (> 0, fractions allowed; default 1).
        gpus: a share of one GPU (0 < gpus < 1) or a whole number of GPUs (default 0).
        memory_mb: memory, in MiB (Ray's ``memory`` resource).
        custom: Ray custom resources, name -> amount (e.g. ``{spot: 1}``).
    """

    cpus: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    gpus: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    memory_mb: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    custom: dict[str, float] = Field(default_factory=dict)

    @field_validator("gpus")
    @classmethod
    def _gpus(cls, value: float) -> float:
        from hyperjob.executors.gpus import check_gpu_request

        check_gpu_request(value, path="")  # one owner of the rule: the GPU allocator
        return value

    @field_validator("custom")
    @classmethod
    def _custom(cls, value: dict[str, float]) -> dict[str, float]:
        for name, amount in value.items():
            if not name or name in ("CPU", "GPU", "memory") or not (amount > 0):
                raise SpecError(
                    f"custom resource {name!r}: {amount!r} is not a custom resource request. Give a name other "
                    "than CPU, GPU or memory (use cpus, gpus, memory_mb for those) and an amount > 0.",
                    path=name or "custom",
                )
        return value


class ExecutorSpec(StrictModel):
    """Where the training jobs run: ``local`` processes (default) or a ``ray`` cluster.

    Attributes:
        type: ``local`` or ``ray``.
        address: the Ray cluster (``host:port``, ``ray://host:10001`` or ``auto``); left out: a private local
            cluster started for the tuning job. Only with ``type: ray``.
    """

    type: Literal["local", "ray"] = "local"
    address: str | None = None

    @model_validator(mode="after")
    def _address_needs_ray(self) -> "ExecutorSpec":
        if self.address is not None and self.type != "ray":
            raise SpecError(
                f"address {self.address!r} is for a Ray cluster, but the executor is {self.type!r}. Set type: ray, "
                "or remove address.",
                path="address",
            )
        return self


class RetrySpec(StrictModel):
    """Running a training job again when it failed for a reason outside the program (its Ray node was lost),
    as SageMaker's ``RetryStrategy`` does.

    Attributes:
        max_retry_attempts: how many times one training job is run again (0 to 30, SageMaker's
            ``MaximumRetryAttempts``; default 0: never).
    """

    max_retry_attempts: int = Field(default=0, ge=0, le=30)


class WarmStartSpec(StrictModel):
    """Warm start from earlier tuning jobs (parsed now; the rules are checked against the store later).

    Attributes:
        parents: 1 to 5 names of earlier tuning jobs, each once.
        type: ``identical_data_and_algorithm`` (default) or ``transfer_learning``; SageMaker's spellings
            (``IdenticalDataAndAlgorithm``) are accepted.
    """

    parents: list[str] = Field(min_length=1, max_length=5)
    type: Literal["identical_data_and_algorithm", "transfer_learning"] = "identical_data_and_algorithm"

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        if isinstance(value, str):
            key = re.sub(r"[^a-z]", "", value.lower())
            return {"identicaldataandalgorithm": "identical_data_and_algorithm",
                    "transferlearning": "transfer_learning"}.get(key, value)
        return value

    @field_validator("parents")
    @classmethod
    def _parents(cls, value: list[str]) -> list[str]:
        for i, name in enumerate(value):
            if not NAME_PATTERN.match(name):
                raise SpecError(
                    f"{name!r} is not a tuning job name. Give the name of an earlier tuning job (letters, digits, "
                    "'-', '_', '.').",
                    path=f"[{i}]",
                )
            if name in value[:i]:
                raise SpecError(f"the parent {name!r} is listed twice. List each parent once.", path=f"[{i}]")
        return value


# --------------------------------------------------------------------------------------------------------------
# the spec


class TuningJobSpec(StrictModel):
    """A tuning job, validated: what the Tuner runs and what the store keeps.

    See ``docs/spec.md`` for every field. Cross-field rules checked here: every range is valid; a name is not
    both static and tuned; grid search takes categorical ranges only and its ``max_jobs`` is the number of
    combinations (filled in when left out); the other strategies need ``limits.max_jobs``; ``early_stopping:
    auto`` is refused with hyperband; strategy settings are known to the strategy; metric names are unique and
    the objective's name is not a misspelling of one of them; a tuning job is not its own parent.
    """

    name: str
    program: ProgramSpec
    static_hyperparameters: dict[str, Any] = Field(default_factory=dict)
    hyperparameter_ranges: dict[str, RangeSpec] = Field(default_factory=dict)
    objective: ObjectiveSpec
    objectives: list[ObjectiveSpec] = Field(default_factory=list)
    constraints: list[ConstraintSpec] = Field(default_factory=list)
    metric_definitions: list[MetricDefinitionSpec] = Field(default_factory=list)
    strategy: StrategySpec = Field(default_factory=StrategySpec)
    early_stopping: EarlyStopping = "off"
    limits: LimitsSpec = Field(default_factory=LimitsSpec)
    completion: CompletionSpec = Field(default_factory=CompletionSpec)
    random_seed: int | None = Field(default=None, ge=0)
    store: str | None = None
    output_dir: str = "hyperjob-runs"
    warm_start: WarmStartSpec | None = None
    periods: PeriodsSpec | None = None  # evaluation periods, fast mode, results: hyperjob.formats.periods
    fast: FastSpec | None = None
    results: ResultsSpec | None = None
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)  # where training jobs run (docs/cluster.md)
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec)
    retry: RetrySpec = Field(default_factory=RetrySpec)
    source_format: SourceFormat = "native"
    warnings: list[str] = Field(default_factory=list)

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> "TuningJobSpec":  # type: ignore[override]
        """Validate ``obj`` (every road in: job.yaml, a SageMaker request, ``hyperjob.tune``); an error inside a
        range names its hyperparameter in the message (``the range of 'lr': ...``), whatever the path shows."""
        try:
            return super().model_validate(obj, **kwargs)
        except SpecError as exc:
            ranges = obj.get("hyperparameter_ranges") if isinstance(obj, Mapping) else None
            raise name_the_range(exc, range_named_by(exc.path, ranges if isinstance(ranges, Mapping) else ())
                                 ) from None

    # -- several objectives (docs/objectives.md) ------------------------------------------------------------
    @model_validator(mode="before")
    @classmethod
    def _objective_from_objectives(cls, data: Any) -> Any:
        """``objectives: [...]`` alone: the first one is the ``objective`` (what SageMaker, the median rule and
        hyperband's rungs see); with both, ``objective`` must be the first of ``objectives``."""
        if not isinstance(data, Mapping) or not data.get("objectives"):
            return data
        objectives = data["objectives"]
        if not isinstance(objectives, list):
            return data  # the field's own type error says so
        first = objectives[0]
        if data.get("objective") is None:
            return {**data, "objective": first}
        if isinstance(first, Mapping) and isinstance(data["objective"], Mapping) and \
                first.get("metric") != data["objective"].get("metric"):
            raise SpecError(
                f"objective names {data['objective'].get('metric')!r} but objectives starts with "
                f"{first.get('metric')!r}. Give objectives only (the first one is the objective), or put the "
                "objective first in objectives.",
                path="objective",
            )
        return data

    # -- a built-in algorithm's defaults ------------------------------------------------------------------
    @model_validator(mode="before")
    @classmethod
    def _algorithm_defaults(cls, data: Any) -> Any:
        """With ``program.algorithm``: its objective, metric definitions and published ranges where the spec
        leaves them out, its default static hyperparameters under the spec's, and its required ones enforced."""
        if not isinstance(data, Mapping):
            return data
        program = data.get("program")
        name = program.get("algorithm") if isinstance(program, Mapping) else getattr(program, "algorithm", None)
        if name is None:
            return data
        from hyperjob.algorithms import get_algorithm

        try:
            algo = get_algorithm(name)
        except SpecError as exc:
            raise SpecError(exc.message, path="program.algorithm") from None
        d = dict(data)
        if d.get("objective") is None:
            d["objective"] = {"metric": algo.objective.metric,
                              "type": "maximize" if algo.objective.maximize else "minimize"}
        if not d.get("metric_definitions"):
            d["metric_definitions"] = [{"name": m.name, "regex": m.regex} for m in algo.metric_definitions]
        given = d.get("static_hyperparameters")
        static = {**algo.default_static, **(dict(given) if isinstance(given, Mapping) else {})}
        if algo.default_static and (given is None or isinstance(given, Mapping)):
            d["static_hyperparameters"] = static
        ranges = d.get("hyperparameter_ranges")
        tuned = set(ranges) if isinstance(ranges, Mapping) else set()
        if algo.hyperparameters:
            for key, where in [(k, "static_hyperparameters") for k in static] + [(k, "hyperparameter_ranges")
                                                                                for k in sorted(tuned)]:
                if isinstance(key, str) and key not in algo.hyperparameters:
                    hint = did_you_mean(key, algo.hyperparameters)
                    raise SpecError(
                        f"the built-in algorithm {algo.name!r} has no hyperparameter {key!r}.{hint} Remove or "
                        f"rename it; its hyperparameters: {', '.join(algo.hyperparameters)}.",
                        path=f"{where}.{key}",
                    )
        missing = [r for r in algo.required if r not in static and r not in tuned]
        if missing:
            example = ", ".join(f"{m}: ..." for m in missing)
            raise SpecError(
                f"the built-in algorithm {algo.name!r} needs the hyperparameter(s) {', '.join(missing)}, which the "
                f"spec does not set. Add them, e.g. static_hyperparameters: {{{example}}}.",
                path="static_hyperparameters",
            )
        if not ranges:
            d["hyperparameter_ranges"] = algo.ranges(static)
        return d

    # -- field rules --------------------------------------------------------------------------------------
    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise SpecError(
                f"{value!r} is not a valid tuning job name: use 1 to 64 letters, digits, '-', '_' or '.', "
                "starting and ending with a letter or digit, e.g. mnist-lr-1."
            )
        return value

    @field_validator("static_hyperparameters", mode="before")
    @classmethod
    def _static_json(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            out = {}
            for k, v in value.items():
                try:
                    out[k] = json_value(v, "the value")
                except SpecError as exc:
                    raise SpecError(exc.message, path=str(k)) from None
            return out
        return value

    @field_validator("static_hyperparameters")
    @classmethod
    def _static_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            check_hyperparameter_name(name, name)
        return value

    @field_validator("hyperparameter_ranges")
    @classmethod
    def _range_names(cls, value: dict[str, RangeSpec]) -> dict[str, RangeSpec]:
        for name in value:
            check_hyperparameter_name(name, name)
        return value

    @field_validator("early_stopping", mode="before")
    @classmethod
    def _early_stopping(cls, value: Any) -> Any:
        return _early_stopping_value(value)

    @field_validator("store")
    @classmethod
    def _store(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not value.strip():
            raise SpecError("is empty. Give a database URL (sqlite:///hyperjob.db) or leave the field out.")
        if "://" in value:
            from sqlalchemy.engine import make_url
            from sqlalchemy.exc import ArgumentError

            try:
                make_url(value)
            except (ArgumentError, ValueError) as exc:
                raise SpecError(
                    f"{value!r} is not a database URL ({exc}). Use e.g. sqlite:///hyperjob.db or "
                    "postgresql+psycopg://user@host/dbname."
                ) from None
        return value

    @field_validator("output_dir")
    @classmethod
    def _output_dir(cls, value: str) -> str:
        if not value.strip():
            raise SpecError("is empty. Give a directory, e.g. output_dir: hyperjob-runs.")
        return value

    # -- cross-field rules ----------------------------------------------------------------------------------
    @model_validator(mode="after")
    def _cross_check(self) -> "TuningJobSpec":
        space = self.build_space()
        self._check_strategy(space)
        self._check_metrics()
        check_experiment_fields(self)
        self._check_outcomes()
        if self.executor.type == "ray" and self.program.function is not None:
            raise SpecError(
                f"the Ray executor runs a training program given as a command; program.function "
                f"{self.program.function!r} is a Python function, which runs in this process (executor local). "
                "Give the program as a command (e.g. ['python', 'train.py']) or leave executor out.",
                path="executor.type",
            )
        if self.warm_start is not None and self.name in self.warm_start.parents:
            i = self.warm_start.parents.index(self.name)
            raise SpecError(
                f"the tuning job {self.name!r} names itself as a parent. Name earlier tuning jobs only.",
                path=f"warm_start.parents[{i}]",
            )
        return self

    def _check_strategy(self, space: SearchSpace) -> None:
        """The strategy's rules, as its registry entry has them (``StrategyEntry.check``); fills in the budget
        a strategy derives from the space (grid: the number of combinations)."""
        from hyperjob.strategies.registry import StrategyInputs, strategy_entry

        inputs = StrategyInputs(space, self.strategy.settings, self.limits.max_jobs, self.build_early_stopping(),
                                self.build_outcomes())
        try:
            max_jobs = strategy_entry(self.strategy.name).check(inputs)
        except SpecError as exc:  # the space names a range hyperparameters.<name>; the spec hyperparameter_ranges
            if exc.path and exc.path.startswith("hyperparameters."):
                raise SpecError(exc.message, path="hyperparameter_ranges." + exc.path[len("hyperparameters."):]
                                ) from None
            raise
        if self.limits.max_jobs is None:
            object.__setattr__(self, "limits", self.limits.model_copy(update={"max_jobs": max_jobs}))

    def _check_metrics(self) -> None:
        names = [d.name for d in self.metric_definitions]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise SpecError(
                    f"the metric {name!r} is defined twice. Keep one definition per metric name.",
                    path=f"metric_definitions[{i}].name",
                )
        metric = self.objective.metric
        if names and metric not in names:
            squash = re.sub(r"[^a-z0-9]", "", metric.lower())
            for name in names:
                if re.sub(r"[^a-z0-9]", "", name.lower()) == squash:
                    raise SpecError(
                        f"the objective metric {metric!r} is not among the metric definitions, but {name!r} is: "
                        f"a typo? Use the same spelling in objective.metric and metric_definitions.",
                        path="objective.metric",
                    )

    def _check_outcomes(self) -> None:
        """Objectives are different metrics (a strategy's own rule about them is its registry entry's)."""
        check_objective_names([o.metric for o in self.objectives])

    def build_outcomes(self) -> "Outcomes":
        """The objectives (the first is :meth:`build_objective`'s) and the outcome constraints."""
        from hyperjob.outcomes import Constraint, Outcomes

        objectives = [self.build_objective()] + [
            Objective(o.metric, Direction.MAXIMIZE if o.type == "maximize" else Direction.MINIMIZE)
            for o in self.objectives[1:]
        ]
        return Outcomes(tuple(objectives), tuple(Constraint(c.metric, c.max, c.min) for c in self.constraints))

    # -- what the Tuner needs -------------------------------------------------------------------------------
    def build_space(self) -> SearchSpace:
        """The search space: the ranges (in order) and the static hyperparameters.

        When ranges carry a tier, :meth:`SearchSpace.for_budget` applies the budget (``limits.max_jobs``):
        ranges of untuned tiers become static at their default (:func:`space_from_parts`).

        Raises:
            SpecError: a range is invalid, or a name is both static and tuned.
        """
        static = self.static_hyperparameters
        if self.fast is not None and self.fast.enabled:  # fast mode's overrides (fewer epochs)
            static = {**static, **self.fast.static_hyperparameters}
        return space_from_parts(self.hyperparameter_ranges, static, self.limits.max_jobs)

    def build_objective(self) -> Objective:
        """The objective record (metric name and direction)."""
        direction = Direction.MAXIMIZE if self.objective.type == "maximize" else Direction.MINIMIZE
        return Objective(self.objective.metric, direction)

    def build_early_stopping(self) -> MedianRule | None:
        """The median rule's settings (``MedianRule()``, SageMaker's rule, for ``auto``), or ``None`` for ``off``."""
        return _resolve_early_stopping(self.early_stopping)

    def build_metric_definitions(self) -> list[MetricDefinition]:
        """The metric definitions, as the executor takes them."""
        return [MetricDefinition(d.name, d.regex) for d in self.metric_definitions]

    @property
    def program_is_function(self) -> bool:
        """Whether the training program is a Python function (``program.function``), which only the Python
        process that started the tuning job holds: it cannot be resumed or run from the command line."""
        return self.program.function is not None

    def build_program(self, function: Callable[..., Any] | None = None) -> Program:
        """The training program, as the executor takes it (a built-in algorithm's command is
        ``[sys.executable, "-m", <module>]``, filled in when the spec was validated).

        Args:
            function: the callable of a spec whose program is a Python function (``program.function`` names
                it); must be ``None`` for a command or an algorithm.

        Raises:
            SpecError: a function program without its callable (e.g. read back from the store), or a callable
                given for a command.
        """
        p = self.program
        if p.function is not None:
            if function is None or not callable(function):
                raise SpecError(
                    f"the training program is the Python function {p.function!r}, which a spec cannot hold, and "
                    f"no callable was given (got {function!r}). Run it from Python: hyperjob.tune(train_fn, ..., "
                    f"name={self.name!r}, resume=True) continues it.",
                    path="program.function",
                )
            return Program(working_dir=p.working_dir, env=dict(p.env), channels=dict(p.channels),
                           function=function)
        if function is not None:
            raise SpecError(
                f"a function ({function!r}) was given for a program that is a command ({p.command!r}). Give one "
                "of them: leave the function out, or set program.function instead of the command.",
                path="program",
            )
        return Program(command=tuple(p.command or ()), working_dir=p.working_dir, env=dict(p.env),
                       channels=dict(p.channels))

    # -- storage ------------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The spec as JSON-able data (what the store keeps); :meth:`from_json` gives back an equal spec."""
        data = self.model_dump(mode="json")
        for key in ("periods", "fast", "results"):  # none given: stored as before
            if data.get(key) is None:
                data.pop(key, None)
        for key in ("objectives", "constraints"):  # one objective: stored as before
            if not data.get(key):
                data.pop(key, None)
        data["hyperparameter_ranges"] = {
            name: {k: v for k, v in r.items() if v is not None} for name, r in data["hyperparameter_ranges"].items()
        }
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str, source: str | None = None) -> "TuningJobSpec":
        """Rebuild a spec from :meth:`to_json`'s data (a mapping or a JSON string).

        A spec that ``hyperjob.tune`` stored before its tuning jobs had real specs (``"python_api": true``,
        no ``program``) is read as the spec of a Python function (:func:`_from_python_api_record`: the one
        place that knows that old shape).

        Raises:
            SpecError: the data is not a valid spec (e.g. written by an incompatible version).
        """
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except json.JSONDecodeError as exc:
                raise SpecError(f"the stored spec is not valid JSON: {exc}.", source=source) from None
        try:
            if isinstance(data, Mapping) and data.get("python_api") is True:
                data = _from_python_api_record(data)
            return cls.model_validate(data)
        except SpecError as exc:
            raise exc.at(source=source) if source else exc from None


# --------------------------------------------------------------------------------------------------------------
# functions

def check_objective_names(names: list[str]) -> None:
    """Each objective is a different metric.

    Raises:
        SpecError: at ``objectives[i].metric``, the first repeated one.
    """
    for i, name in enumerate(names):
        if name in names[:i]:
            raise SpecError(f"the objective {name!r} is listed twice. List each metric once.",
                            path=f"objectives[{i}].metric")


def outcomes_from_parts(objectives: Any, constraints: Any) -> "Outcomes":
    """The outcomes of ``hyperjob.tune(..., objectives=, constraints=)`` and ``AskTell``: the spec's own rules
    (``objectives`` as ``[{metric, type}, ...]``, ``constraints`` as ``[{metric, max|min}, ...]``).

    Raises:
        SpecError: a bad objective or constraint, at ``objectives[i]`` / ``constraints[i]``.
    """
    from hyperjob.formats._pydantic_errors import join_path
    from hyperjob.outcomes import Constraint, Outcomes

    objs, cons = [], []
    for where, items, model, out in (("objectives", objectives, ObjectiveSpec, objs),
                                     ("constraints", constraints or [], ConstraintSpec, cons)):
        if not isinstance(items, (list, tuple)):
            raise SpecError(f"must be a list, got {items!r}. Write e.g. {where}=[{{'metric': 'loss', "
                            f"{'type' if where == 'objectives' else 'max'}: ...}}].", path=where)
        for i, item in enumerate(items):
            if isinstance(item, Objective):
                item = {"metric": item.metric, "type": item.direction.value.lower()}
            try:
                out.append(model.model_validate(item))
            except SpecError as exc:
                raise SpecError(exc.message, path=join_path(f"{where}[{i}]", exc.path)) from None
    if not objs:
        raise SpecError("objectives is empty. List at least one, e.g. [{'metric': 'loss', 'type': 'minimize'}].",
                        path="objectives")
    check_objective_names([o.metric for o in objs])
    return Outcomes(
        tuple(Objective(o.metric, Direction.MAXIMIZE if o.type == "maximize" else Direction.MINIMIZE) for o in objs),
        tuple(Constraint(c.metric, c.max, c.min) for c in cons),
    )


def space_from_parts(ranges: Mapping[str, Any], static: Mapping[str, Any], max_jobs: int | None = None
                     ) -> SearchSpace:
    """The search space of ``hyperparameter_ranges`` and ``static_hyperparameters`` (the spec's and
    ``AskTell``'s builder): ranges built by :func:`build_ranges`, then, when a range carries a tier and a budget
    is given, :meth:`SearchSpace.for_budget` (ranges of untuned tiers become static at their default).

    Args:
        ranges: name -> range, in job.yaml's ``hyperparameter_ranges`` syntax (or :class:`RangeSpec`, or a
            :mod:`hyperjob.space` range).
        static: name -> value of the static hyperparameters.
        max_jobs: the budget that picks the tiers (``None``: tiers are not applied).

    Raises:
        SpecError: at ``hyperparameter_ranges.<name>...`` or ``static_hyperparameters.<name>``.
    """
    built = build_ranges(ranges, path="hyperparameter_ranges")
    try:
        space = SearchSpace(ranges=tuple(built), static=dict(static))
    except SpecError as exc:
        raise SpecError(exc.message, path=_moved(exc.path, "static_hyperparameters")) from None
    if max_jobs is not None and any(r.tier is not None for r in built):
        try:
            space = space.for_budget(max_jobs)
        except SpecError as exc:
            raise SpecError(exc.message, path=_moved(exc.path, "hyperparameter_ranges")) from None
    return space


def _moved(path: str | None, at: str) -> str:
    """A :mod:`hyperjob.space` error's path (``hyperparameters.<name>...``) moved to the spec's field ``at``."""
    path = path or ""
    if path.startswith("hyperparameters."):
        return at + "." + path[len("hyperparameters."):]
    return path or at


def _from_python_api_record(data: Mapping[str, Any]) -> dict[str, Any]:
    """An old store's record of a ``hyperjob.tune`` job (``"python_api": true``: ranges, objective, strategy and
    limits, no program) as a spec of a Python function whose name was not recorded. What such a record lacks
    takes the defaults ``hyperjob.tune`` had then (minimize, 20 training jobs).

    Raises:
        SpecError: it was recorded without its hyperparameter ranges (older still).
    """
    d = {k: v for k, v in data.items() if k != "python_api"}
    if not d.get("hyperparameter_ranges"):
        raise SpecError(
            "it is a hyperjob.tune record written without its hyperparameter ranges, so its space cannot be "
            "rebuilt. Run that tuning job again with this version of hyperjob.",
            path="hyperparameter_ranges",
        )
    d["program"] = {"function": "(not recorded)"}
    d["source_format"] = "python"
    objective = d.get("objective")
    if isinstance(objective, Mapping) and "type" not in objective:
        d["objective"] = {**objective, "type": "minimize"}
    limits = d.get("limits")
    if limits is None or (isinstance(limits, Mapping) and "max_jobs" not in limits):
        d["limits"] = {**(limits or {}), "max_jobs": 20}
    return d


def spec_warnings(spec: TuningJobSpec) -> list[str]:
    """Things worth telling the user once about a valid spec: metric regexes that will misread values, and an
    objective that no metric definition reads.
    """
    from hyperjob.executors.metrics import check_regex

    out: list[str] = []
    names = [d.name for d in spec.metric_definitions]
    metric = spec.objective.metric
    if names and metric not in names:
        out.append(
            f"the objective metric {metric!r} is not among the metric definitions ({', '.join(names)}): the "
            f"training program must report it with hyperjob.report(step=..., **{{{metric!r}: value}}), or add a "
            f"metric definition named {metric!r}."
        )
    narrow: list[tuple[str, str]] = []
    for d in spec.metric_definitions:
        groups = re.compile(d.regex).groups
        if groups > 1:
            out.append(
                f"metric {d.name!r}: the regex {d.regex!r} has {groups} capture groups; only the first is read. "
                "Make the others non-capturing: (?:...)."
            )
        problems = check_regex(d.regex)
        if problems:
            narrow.append((d.name, problems[0]))
    if narrow:
        names = ", ".join(repr(n) for n, _ in narrow)
        whose = f"the regexes of the metrics {names}" if len(narrow) > 1 else f"the regex of the metric {names}"
        out.append(
            f"{whose} may misread values; for {narrow[0][0]!r}: {narrow[0][1]} "
            "Check them on real output with: hyperjob validate FILE --log sample.log."
        )
    return out
