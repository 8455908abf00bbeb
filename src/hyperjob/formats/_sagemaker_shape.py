"""The shape of a ``CreateHyperParameterTuningJob`` request, and a walker that checks a request against it.

The checks are botocore's (types, required members, unknown keys) plus what botocore leaves to the service:
enums (case-sensitive), name patterns, lengths, list sizes and numeric limits, each with SageMaker's numbers.
Members that have no local meaning (``RoleArn``, ``ResourceConfig``, ``Tags``...) are still checked, and their
paths are collected so that the caller names them in one warning instead of dropping them silently.

Rather than requiring cloud-only members (``RoleArn``, ``OutputDataConfig``, ``StoppingCondition``...), the
walker checks them when they are present: a hand-written local request may leave them out.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from hyperjob.errors import SpecError

# --------------------------------------------------------------------------------------------------------------
# shapes


@dataclass(frozen=True, kw_only=True)
class Shape:
    """A member's shape. ``ignored``: known to SageMaker but without local meaning (named in a warning)."""

    ignored: bool = False
    #: what the value is, in words, for messages ("a tuning job name")
    what: str = ""


@dataclass(frozen=True, kw_only=True)
class AnyShape(Shape):
    """Anything (members we do not model further)."""


@dataclass(frozen=True, kw_only=True)
class Str(Shape):
    min_len: int = 0
    max_len: int | None = None
    pattern: str | None = None
    #: the rule of ``pattern`` in words
    rule: str = ""
    enum: tuple[str, ...] | None = None
    #: a local path or file:// URI is accepted besides an S3 URI (input channels)
    local_ok: bool = False
    #: how to fix a value that breaks ``pattern``
    fix: str = ""


#: SageMaker's ``Integer`` members are 32-bit signed integers.
INT32_MAX = 2**31 - 1


@dataclass(frozen=True, kw_only=True)
class Int(Shape):
    min: int | None = None
    max: int | None = None
    #: SageMaker's rule in words, for the limit messages
    limit: str = ""
    #: ``Long`` members (64 bits) rather than ``Integer`` ones (32 bits)
    long: bool = False


@dataclass(frozen=True, kw_only=True)
class Float(Shape):
    pass


@dataclass(frozen=True, kw_only=True)
class Bool(Shape):
    pass


@dataclass(frozen=True, kw_only=True)
class List(Shape):
    item: Shape = field(default_factory=AnyShape)
    min_items: int = 0
    max_items: int | None = None


@dataclass(frozen=True, kw_only=True)
class Map(Shape):
    key: Str = field(default_factory=Str)
    value: Shape = field(default_factory=Str)
    max_items: int | None = None


@dataclass(frozen=True, kw_only=True)
class Struct(Shape):
    members: dict[str, Shape] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    #: extra advice when the value is not an object
    layout: str = ""


S3_URI = r"^(https|s3)://([^/]+)/?(.*)$"
NAME32 = Str(
    min_len=1, max_len=32, pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$", what="a tuning job name",
    rule="[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}: letters, digits and hyphens, starting and ending with a letter or digit",
)
DEFINITION_NAME = Str(
    min_len=1, max_len=64, pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}$", what="a definition name",
    rule="[a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}: letters, digits and hyphens, starting and ending with a letter or digit",
)
ENV_NAME = Str(max_len=512, pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$", what="an environment variable name",
               rule="[a-zA-Z_][a-zA-Z0-9_]*")
CHANNEL_NAME = Str(min_len=1, max_len=64, pattern=r"^[A-Za-z0-9\.\-_]+$", what="a channel name",
                   rule=r"[A-Za-z0-9\.\-_]+")
SCALING_TYPES = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")

OBJECTIVE = Struct(
    members={
        "Type": Str(enum=("Maximize", "Minimize")),
        "MetricName": Str(min_len=1, max_len=255, what="a metric name"),
    },
    required=("Type", "MetricName"),
)


def _numeric_ranges(kind: str) -> List:
    return List(
        item=Struct(
            members={
                "Name": Str(min_len=1, max_len=256),
                "MinValue": Str(max_len=256),
                "MaxValue": Str(max_len=256),
                "ScalingType": Str(enum=SCALING_TYPES),
            },
            required=("Name", "MinValue", "MaxValue"),
        ),
        max_items=30,
        what=f"{kind} ranges",
    )


PARAMETER_RANGES = Struct(
    members={
        "IntegerParameterRanges": _numeric_ranges("integer"),
        "ContinuousParameterRanges": _numeric_ranges("continuous"),
        "CategoricalParameterRanges": List(
            item=Struct(
                members={
                    "Name": Str(min_len=1, max_len=256),
                    "Values": List(item=Str(max_len=256), min_items=1, max_items=30,
                                   what="values of one categorical hyperparameter"),
                },
                required=("Name", "Values"),
            ),
            max_items=30,
            what="categorical ranges",
        ),
        "AutoParameters": List(
            item=Struct(members={"Name": Str(min_len=1, max_len=256), "ValueHint": Str(max_len=256)},
                        required=("Name", "ValueHint")),
            max_items=100,
            what="AutoParameters",
        ),
    },
    layout=(
        "It is an object holding the lists IntegerParameterRanges, ContinuousParameterRanges and "
        "CategoricalParameterRanges, e.g. {\"ContinuousParameterRanges\": [{\"Name\": \"lr\", \"MinValue\": "
        "\"0.001\", \"MaxValue\": \"0.1\"}]}."
    ),
)

CONFIG = Struct(
    members={
        "Strategy": Str(enum=("Bayesian", "Random", "Hyperband", "Grid")),
        "StrategyConfig": Struct(
            members={
                "HyperbandStrategyConfig": Struct(
                    members={
                        "MinResource": Int(min=1),
                        "MaxResource": Int(min=1, max=20_000, limit="SageMaker's Hyperband takes a MaxResource "
                                                                     "of 1 to 20000 (epochs)"),
                    }
                )
            }
        ),
        "HyperParameterTuningJobObjective": OBJECTIVE,
        "ResourceLimits": Struct(
            members={
                # at most 750 (10000 for Random): a rule of the strategy, checked where the strategy is known
                "MaxNumberOfTrainingJobs": Int(min=1),
                "MaxParallelTrainingJobs": Int(
                    min=1, max=100,
                    limit="SageMaker runs 1 to 100 training jobs at once per tuning job (10 unless the quota is "
                          "raised, 100 at most)",
                ),
                "MaxRuntimeInSeconds": Int(
                    min=120, max=15_768_000,
                    limit="SageMaker allows a tuning job 120 to 15768000 seconds (2 minutes to 182.5 days)",
                ),
            },
            required=("MaxParallelTrainingJobs",),
        ),
        "ParameterRanges": PARAMETER_RANGES,
        "TrainingJobEarlyStoppingType": Str(enum=("Off", "Auto")),
        "TuningJobCompletionCriteria": Struct(
            members={
                "TargetObjectiveMetricValue": Float(),
                "BestObjectiveNotImproving": Struct(
                    members={
                        "MaxNumberOfTrainingJobsNotImproving": Int(
                            min=3,
                            limit="SageMaker needs at least 3 training jobs without improvement before it stops",
                        )
                    }
                ),
                "ConvergenceDetected": Struct(members={"CompleteOnConvergence": Str(enum=("Disabled", "Enabled"))}),
            }
        ),
        "RandomSeed": Int(min=0),
    },
    required=("Strategy", "ResourceLimits"),
)

_RESOURCE_MEMBERS: dict[str, Shape] = {
    "InstanceType": Str(),
    "InstanceCount": Int(min=0),
    "VolumeSizeInGB": Int(min=0),
    "VolumeKmsKeyId": Str(max_len=2048),
}

CHANNEL = Struct(
    members={
        "ChannelName": CHANNEL_NAME,
        "DataSource": Struct(
            members={
                "S3DataSource": Struct(
                    members={
                        "S3DataType": Str(enum=("ManifestFile", "S3Prefix", "AugmentedManifestFile", "Converse"),
                                          ignored=True),
                        "S3Uri": Str(max_len=1024, pattern=S3_URI, local_ok=True, rule="s3://bucket/prefix"),
                        "S3DataDistributionType": Str(enum=("FullyReplicated", "ShardedByS3Key"), ignored=True),
                        "AttributeNames": List(item=Str()),  # the label attribute (augmented manifests)
                        "InstanceGroupNames": List(item=Str(), ignored=True),
                        "ModelAccessConfig": AnyShape(ignored=True),
                        "HubAccessConfig": AnyShape(ignored=True),
                    },
                    required=("S3Uri",),
                ),
                "FileSystemDataSource": AnyShape(ignored=True),
            }
        ),
        "ContentType": Str(max_len=256, ignored=True),
        "CompressionType": Str(enum=("None", "Gzip"), ignored=True),
        "RecordWrapperType": Str(enum=("None", "RecordIO"), ignored=True),
        "InputMode": Str(enum=("Pipe", "File", "FastFile"), ignored=True),
        "ShuffleConfig": Struct(members={"Seed": Int(long=True)}, ignored=True),
    },
    required=("ChannelName", "DataSource"),
)

DEFINITION = Struct(
    members={
        "DefinitionName": DEFINITION_NAME,
        "TuningObjective": OBJECTIVE,
        "HyperParameterRanges": PARAMETER_RANGES,
        "StaticHyperParameters": Map(key=Str(max_len=256), value=Str(max_len=2500), max_items=100,
                                     what="static hyperparameters"),
        "AlgorithmSpecification": Struct(
            members={
                "TrainingImage": Str(max_len=255, ignored=True),
                "TrainingInputMode": Str(enum=("Pipe", "File", "FastFile"), ignored=True),
                "AlgorithmName": Str(max_len=170, ignored=True),
                "MetricDefinitions": List(
                    item=Struct(
                        members={"Name": Str(min_len=1, max_len=255), "Regex": Str(min_len=1, max_len=500)},
                        required=("Name", "Regex"),
                    ),
                    max_items=20,
                    what="metric definitions (SageMaker's limit per tuning job; 40 for a single training job)",
                ),
            }
        ),
        "RoleArn": Str(
            min_len=20, max_len=2048, pattern=r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$",
            what="an IAM role ARN",
            rule=r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+ (a role, not a user)",
            fix="Give a role ARN such as arn:aws:iam::111122223333:role/MyRole, or leave RoleArn out (it has no "
                "local meaning).",
            ignored=True,
        ),
        "InputDataConfig": List(item=CHANNEL, min_items=1, max_items=20, what="input channels"),
        "VpcConfig": Struct(members={"SecurityGroupIds": List(item=Str()), "Subnets": List(item=Str())},
                            ignored=True),
        "OutputDataConfig": Struct(
            members={
                "KmsKeyId": Str(max_len=2048),
                "S3OutputPath": Str(max_len=1024, pattern=S3_URI, rule="s3://bucket/prefix", what="an S3 URI",
                                    fix="Give an s3:// URI, or leave OutputDataConfig out (output goes to output_dir "
                                        "locally)."),
                "CompressionType": Str(enum=("GZIP", "NONE")),
            },
            required=("S3OutputPath",),
            ignored=True,
        ),
        "ResourceConfig": Struct(
            members={**_RESOURCE_MEMBERS, "KeepAlivePeriodInSeconds": Int(min=0, max=21_600),
                     "InstanceGroups": AnyShape(), "TrainingPlanArn": Str()},
            ignored=True,
        ),
        "HyperParameterTuningResourceConfig": Struct(
            members={**_RESOURCE_MEMBERS, "AllocationStrategy": Str(enum=("Prioritized",)),
                     "InstanceConfigs": AnyShape()},
            ignored=True,
        ),
        "StoppingCondition": Struct(
            members={
                "MaxRuntimeInSeconds": Int(
                    min=1, max=2_419_200,
                    limit="SageMaker lets a training job run 1 to 2419200 seconds (28 days)",
                ),
                "MaxWaitTimeInSeconds": Int(min=1, ignored=True),
                "MaxPendingTimeInSeconds": Int(min=7200, max=2_419_200, ignored=True),
            }
        ),
        "EnableNetworkIsolation": Bool(ignored=True),
        "EnableInterContainerTrafficEncryption": Bool(ignored=True),
        "EnableManagedSpotTraining": Bool(ignored=True),
        "CheckpointConfig": Struct(
            members={"S3Uri": Str(max_len=1024, pattern=S3_URI, rule="s3://bucket/prefix"), "LocalPath": Str()},
            required=("S3Uri",),
            ignored=True,
        ),
        "RetryStrategy": Struct(members={"MaximumRetryAttempts": Int(min=1, max=30)},  # -> retry.max_retry_attempts
                                required=("MaximumRetryAttempts",)),
        "Environment": Map(key=ENV_NAME, value=Str(max_len=512), max_items=48, what="environment variables"),
    }
)

#: hyperjob's own member: the local program (see docs/spec.md, "SageMaker requests").
HYPERJOB_PROGRAM = Struct(
    members={
        "Command": List(item=Str(), min_items=1, what="command arguments"),
        "WorkingDirectory": Str(min_len=1),
        "Environment": Map(key=ENV_NAME, value=Str()),
        "Channels": Map(key=CHANNEL_NAME, value=Str(min_len=1)),
        "DefinitionName": Str(min_len=1),
    }
)

REQUEST = Struct(
    members={
        "HyperParameterTuningJobName": NAME32,
        "HyperParameterTuningJobConfig": CONFIG,
        "TrainingJobDefinition": DEFINITION,
        "TrainingJobDefinitions": List(item=DEFINITION, min_items=1, max_items=10, what="training job definitions"),
        "WarmStartConfig": Struct(
            members={
                "ParentHyperParameterTuningJobs": List(
                    item=Struct(members={"HyperParameterTuningJobName": NAME32},
                                required=("HyperParameterTuningJobName",)),
                    min_items=1,
                    max_items=5,
                    what="parent tuning jobs",
                ),
                "WarmStartType": Str(enum=("IdenticalDataAndAlgorithm", "TransferLearning")),
            },
            required=("ParentHyperParameterTuningJobs", "WarmStartType"),
        ),
        "Tags": List(item=Struct(members={"Key": Str(min_len=1, max_len=128), "Value": Str(max_len=256)},
                                 required=("Key", "Value")),
                     max_items=50, ignored=True),
        "Autotune": Struct(members={"Mode": Str(enum=("Enabled",))}, required=("Mode",)),
        "HyperjobProgram": HYPERJOB_PROGRAM,
        # hyperjob's experiments (docs/experiments.md), in job.yaml's spelling: read by TuningJobSpec's rules
        "HyperjobExperiment": Struct(members={"Periods": AnyShape(), "Fast": AnyShape(), "Results": AnyShape()}),
    },
    required=("HyperParameterTuningJobName", "HyperParameterTuningJobConfig"),
)

#: Keys other tools put into requests, and what to do about them.
FOREIGN_KEYS = {
    "S3Operations": "an Airflow SageMakerTuningOperator key: Airflow uploads the files and strips it before "
                    "calling SageMaker",
    "TuningJobName": "the SageMaker Python SDK's argument name; the API member is HyperParameterTuningJobName",
}

# --------------------------------------------------------------------------------------------------------------
# walking


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return f"a list ({_short(value)})"
    if isinstance(value, dict):
        return f"an object ({_short(value)})"
    return repr(value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _placeholder_hint(value: Any) -> str:
    if isinstance(value, str) and re.search(r"\{\{.*?\}\}", value):
        return (
            " It is a template placeholder: render the template (Airflow, Jinja) first, so that the request "
            "holds the real value."
        )
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("Get", "Std:Join", "Std:JsonGet"):
        return (
            " It is a SageMaker Pipelines placeholder, which Pipelines fills in when it runs the step; a request "
            "run directly needs the value itself."
        )
    return ""


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class Walker:
    """Checks a request against :data:`REQUEST`; collects the paths of ignored members (``[]`` for indices)."""

    def __init__(self) -> None:
        self.ignored: list[str] = []

    def check(self, request: Any) -> None:
        """Raise :class:`SpecError` (at the member's path) for the first member that breaks the shape."""
        if not isinstance(request, dict):
            raise SpecError(
                f"a CreateHyperParameterTuningJob request must be a JSON object, got {_describe(request)}. "
                "Give the request body, with HyperParameterTuningJobName and HyperParameterTuningJobConfig."
            )
        self._walk(request, REQUEST, "", False)

    def _fail(self, path: str, message: str) -> SpecError:
        return SpecError(message, path=path or None)

    def _walk(self, value: Any, shape: Shape, path: str, inside_ignored: bool) -> None:
        if shape.ignored and not inside_ignored:
            generic = re.sub(r"\[\d+\]", "[]", path)
            if generic not in self.ignored:
                self.ignored.append(generic)
            inside_ignored = True
        if isinstance(shape, AnyShape):
            return
        if isinstance(shape, Struct):
            self._struct(value, shape, path, inside_ignored)
        elif isinstance(shape, List):
            self._list(value, shape, path, inside_ignored)
        elif isinstance(shape, Map):
            self._map(value, shape, path, inside_ignored)
        elif isinstance(shape, Str):
            self._str(value, shape, path)
        elif isinstance(shape, Int):
            self._int(value, shape, path)
        elif isinstance(shape, Float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self._fail(path, f"must be a number, got {_describe(value)}.{_placeholder_hint(value)} "
                                       "Write a number without quotes, e.g. 0.95.")
        elif isinstance(shape, Bool):
            if not isinstance(value, bool):
                raise self._fail(path, f"must be true or false, got {_describe(value)}.{_placeholder_hint(value)} "
                                       "Write true or false.")

    def _struct(self, value: Any, shape: Struct, path: str, inside_ignored: bool) -> None:
        if not isinstance(value, dict):
            layout = f" {shape.layout}" if shape.layout else ""
            members = ", ".join(shape.members)
            raise self._fail(
                path,
                f"must be an object with the fields {members}, got {_describe(value)}."
                f"{_placeholder_hint(value)}{layout or ' Write it as a JSON object.'}",
            )
        for key in value:
            if key not in shape.members:
                known = list(shape.members)
                near = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
                if not near:
                    lowered = {k.lower(): k for k in known}
                    near = [lowered[str(key).lower()]] if str(key).lower() in lowered else []
                what = f": {FOREIGN_KEYS[key]}" if key in FOREIGN_KEYS else ""
                hint = f" Did you mean {near[0]!r}?" if near else ""
                owner = path.rsplit(".", 1)[-1] if path else "A CreateHyperParameterTuningJob request"
                raise self._fail(
                    _join(path, str(key)),
                    f"unknown field {key!r}{what}.{hint} {owner} takes: {', '.join(known)}. Remove or rename it.",
                )
        for key in shape.required:
            if key not in value:
                why = (" (SageMaker Pipelines adds it when it runs a step; a request run directly must name it)"
                       if key == "HyperParameterTuningJobName" else "")
                raise self._fail(_join(path, key), f"the required field {key!r} is missing. Add it{why}.")
        for key, member in shape.members.items():
            if key in value:
                self._walk(value[key], member, _join(path, key), inside_ignored)

    def _list(self, value: Any, shape: List, path: str, inside_ignored: bool) -> None:
        if not isinstance(value, list):
            raise self._fail(
                path,
                f"must be a list, got {_describe(value)}.{_placeholder_hint(value)} Write it as a JSON list [...].",
            )
        what = shape.what or "items"
        if len(value) < shape.min_items:
            raise self._fail(path, f"needs at least {shape.min_items} of {what}, got {len(value)}. Add one.")
        if shape.max_items is not None and len(value) > shape.max_items:
            raise self._fail(
                path,
                f"has {len(value)} {what}; SageMaker allows at most {shape.max_items}. Remove "
                f"{len(value) - shape.max_items}.",
            )
        for i, item in enumerate(value):
            self._walk(item, shape.item, f"{path}[{i}]", inside_ignored)

    def _map(self, value: Any, shape: Map, path: str, inside_ignored: bool) -> None:
        if not isinstance(value, dict):
            raise self._fail(
                path, f"must be an object of names to strings, got {_describe(value)}.{_placeholder_hint(value)} "
                      "Write it as a JSON object {\"name\": \"value\"}."
            )
        what = shape.what or "entries"
        if shape.max_items is not None and len(value) > shape.max_items:
            raise self._fail(path, f"has {len(value)} {what}; SageMaker allows at most {shape.max_items}. "
                                   f"Remove {len(value) - shape.max_items}.")
        for key, item in value.items():
            self._str(key, shape.key, _join(path, str(key)), as_key=True)
            if isinstance(shape.value, Str) and not isinstance(item, str):
                fix = (f"Quote it: \"{item}\" (SageMaker takes every value as a string)."
                       if isinstance(item, (int, float, bool)) else "Give a string.")
                raise self._fail(_join(path, str(key)),
                                 f"must be a string, got {_describe(item)}.{_placeholder_hint(item)} {fix}")
            self._walk(item, shape.value, _join(path, str(key)), inside_ignored)

    def _str(self, value: Any, shape: Str, path: str, as_key: bool = False) -> None:
        if not isinstance(value, str):
            fix = (f"Quote it: \"{value}\"." if isinstance(value, (int, float)) and not isinstance(value, bool)
                   else "Give a string.")
            raise self._fail(path, f"must be a string, got {_describe(value)}.{_placeholder_hint(value)} {fix}")
        noun = "the name" if as_key else "the value"
        hint = _placeholder_hint(value)
        if hint:
            raise self._fail(path, f"{noun} {value!r} is not usable as it is.{hint}")
        if len(value) < shape.min_len:
            raise self._fail(path, f"{noun} is empty; it needs at least {shape.min_len} character(s). Fill it in.")
        if shape.max_len is not None and len(value) > shape.max_len:
            what = f" for {shape.what}" if shape.what else ""
            raise self._fail(
                path,
                f"{noun} {_short(value)} is {len(value)} characters long; SageMaker allows at most "
                f"{shape.max_len}{what}. Shorten it.",
            )
        if shape.enum is not None and value not in shape.enum:
            options = ", ".join(repr(e) for e in shape.enum)
            same_case = [e for e in shape.enum if e.lower() == value.lower()]
            if same_case:
                raise self._fail(
                    path, f"{value!r} is not one of {options}: the values are case-sensitive. Use {same_case[0]!r}."
                )
            lowered = {e.lower(): e for e in shape.enum}
            near = [e for e in shape.enum if value and e.lower().startswith(value.lower())][:1] or [
                lowered[m] for m in difflib.get_close_matches(value.lower(), list(lowered), n=1, cutoff=0.5)]
            hint2 = f" Did you mean {near[0]!r}?" if near else ""
            raise self._fail(path, f"{value!r} is not one of {options}.{hint2} Use one of them.")
        if shape.pattern is not None:
            if shape.local_ok and ("://" not in value or value.startswith("file://")):
                return
            if not re.match(shape.pattern, value):
                what = f" for {shape.what}" if shape.what else ""
                fix = ""
                if shape is NAME32 or shape is DEFINITION_NAME:
                    fixed = re.sub(r"[^a-zA-Z0-9-]+", "-", value).strip("-")
                    if fixed and re.match(shape.pattern, fixed):
                        fix = f" Use e.g. {fixed!r}."
                if shape.local_ok:
                    fix = " Give an s3:// URI, or (to run locally) a local path or file:// URI."
                if shape.fix:
                    fix = f" {shape.fix}"
                raise self._fail(
                    path,
                    f"{noun} {_short(value)} does not match SageMaker's pattern{what}: {shape.rule}."
                    f"{fix or ' Fix it.'}",
                )

    def _int(self, value: Any, shape: Int, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                fix = f"Write {int(value)}."
            elif isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
                fix = f"Write it without quotes: {value.strip()}."
            else:
                fix = "Give a whole number, e.g. 10."
            raise self._fail(path, f"must be a whole number, got {_describe(value)}.{_placeholder_hint(value)} {fix}")
        too_low = shape.min is not None and value < shape.min
        too_high = shape.max is not None and value > shape.max
        if too_low or too_high:
            if shape.limit:
                bound = shape.min if too_low else shape.max
                raise self._fail(path, f"{shape.limit}, got {value}. Use {bound} or {'more' if too_low else 'less'}.")
            if shape.max is None:
                raise self._fail(path, f"must be at least {shape.min}, got {value}. Use {shape.min} or more.")
            if shape.min is None:
                raise self._fail(path, f"must be at most {shape.max}, got {value}. Use {shape.max} or less.")
            raise self._fail(path, f"must be between {shape.min} and {shape.max}, got {value}. "
                                   "Use a value in that range.")
        if not shape.long and not -INT32_MAX - 1 <= value <= INT32_MAX:
            raise self._fail(path, f"must fit SageMaker's 32-bit Integer type (at most {INT32_MAX}), got {value}. "
                                   "Use a smaller number.")
