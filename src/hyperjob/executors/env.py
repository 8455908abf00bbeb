"""What a training program sees: its directory, its arguments and its environment.

**Directory** (``LaunchRequest.job_dir``, created by :meth:`JobLayout.create`; nothing is written outside it)::

    <job_dir>/train.log                 stdout and stderr, merged
             hyperparameters.json       all hyperparameters, typed JSON     (HYPERJOB_HYPERPARAMETERS)
             metrics.jsonl              what hyperjob.report() appends      (HYPERJOB_METRICS_FILE)
             model/                                                         (HYPERJOB_MODEL_DIR, SM_MODEL_DIR)
             output/                                                        (HYPERJOB_OUTPUT_DIR, SM_OUTPUT_DIR)
             output/data/                                                   (SM_OUTPUT_DATA_DIR)
             output/intermediate/                                           (SM_OUTPUT_INTERMEDIATE_DIR)
             checkpoints/                                                   (HYPERJOB_CHECKPOINT_DIR)
             input/config/hyperparameters.json   SageMaker's: every value a string   (SM_INPUT_CONFIG_DIR)
             input/config/resourceconfig.json    one host, "algo-1"                  (SM_RESOURCE_CONFIG)
             input/config/inputdataconfig.json   one entry per channel               (SM_INPUT_DATA_CONFIG)

A SageMaker program that writes ``/opt/ml/output/failure`` on error can write ``$SM_OUTPUT_DIR/failure``
instead; the local executor puts that file's text first in the failure reason.

**Arguments**: the program's command, then every hyperparameter as two arguments ``--name value``, sorted by
name as SageMaker's training toolkit does. The value is formatted as the toolkit formats it (it ``json.loads``
each value, then calls ``str()``): strings unchanged (spaces kept: one argument, never a shell), numbers with
``str()`` (``0.001``, ``1e-05``, ``32``), booleans ``True``/``False``, ``None`` as an empty string. Lists
and dicts are written as JSON (``[1, 2]``, ``["a", "b"]``); the toolkit would write Python's repr (a dict as
``k=v,k2=v2``), which no parser reads back. Unlike the toolkit, a one-letter name also gets two dashes
(``--k 5``): hyperjob's contract is ``--name value`` for every name. Framework keys are left out of the
arguments, ``SM_HPS`` and ``SM_HP_*`` (as the toolkit does): every ``sagemaker_*`` key,
``_tuning_objective_metric`` and ``default_user_module_name``. The values are not JSON-decoded here: a
SageMaker request's JSON-encoded values (``"\\"gloo\\""``) are decoded when the request is read.

**Environment**: the tuner's environment without its ``HYPERJOB_*`` and ``SM_*`` variables, then hyperjob's
and SageMaker's variables (:func:`build_environment`), then the program's own ``env`` (which wins).
``PYTHONUNBUFFERED=1`` so that Python programs print each line at once, and ``OMP_NUM_THREADS=1`` unless the
program's env or the tuner's environment sets it (several training jobs share the cores).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from hyperjob.errors import SpecError
from hyperjob.executors.base import LaunchRequest

__all__ = [
    "FRAMEWORK_KEYS",
    "JobLayout",
    "build_arguments",
    "build_environment",
    "channel_path",
    "prepare_channels",
    "format_value",
    "is_framework_key",
    "plain",
]

#: Hyperparameters that configure SageMaker's toolkit, not the program (plus every ``sagemaker_*`` key).
FRAMEWORK_KEYS = frozenset({"_tuning_objective_metric", "default_user_module_name"})

HOST = "algo-1"
_NO_INHERIT_PREFIXES = ("HYPERJOB_", "SM_")


def is_framework_key(name: str) -> bool:
    """True for keys that SageMaker's toolkit keeps from the program (``sagemaker_*`` and a few more)."""
    return name.startswith("sagemaker_") or name in FRAMEWORK_KEYS


def plain(value: Any) -> Any:
    """``value`` with numpy scalars made Python numbers and tuples made lists (recursively)."""
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        try:
            return item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def format_value(value: Any) -> str:
    """A hyperparameter value as one command-line argument (see the module docstring for the rule).

    >>> [format_value(v) for v in ("a b", 32, 0.001, 1e-05, True, None, [1, 2], ["x"])]
    ['a b', '32', '0.001', '1e-05', 'True', '', '[1, 2]', '["x"]']
    """
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str)
    return str(value)


def _config_string(value: Any) -> str:
    """A value as SageMaker's ``hyperparameters.json`` holds it: strings unchanged, the rest JSON."""
    value = plain(value)
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _env_string(value: Any) -> str:
    """A value as SageMaker's toolkit writes it into an ``SM_*`` variable: strings unchanged, the rest JSON."""
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def program_hyperparameters(hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
    """The hyperparameters the program receives (framework keys left out), sorted by name."""
    return {k: plain(hyperparameters[k]) for k in sorted(hyperparameters) if not is_framework_key(k)}


def build_arguments(hyperparameters: Mapping[str, Any]) -> list[str]:
    """``["--name", "value", ...]`` for every hyperparameter the program receives, sorted by name.

    >>> build_arguments({"lr": 0.01, "batch-size": 32, "sagemaker_program": "train.py"})
    ['--batch-size', '32', '--lr', '0.01']
    """
    args: list[str] = []
    for name, value in program_hyperparameters(hyperparameters).items():
        args += [f"--{name}", format_value(value)]
    return args


@dataclass(frozen=True)
class JobLayout:
    """The paths inside one training job's directory (all absolute)."""

    job_dir: Path

    @classmethod
    def of(cls, job_dir: str | os.PathLike[str]) -> "JobLayout":
        return cls(Path(os.path.abspath(job_dir)))

    @property
    def log(self) -> Path:
        return self.job_dir / "train.log"

    @property
    def hyperparameters(self) -> Path:
        return self.job_dir / "hyperparameters.json"

    @property
    def metrics(self) -> Path:
        return self.job_dir / "metrics.jsonl"

    @property
    def model_dir(self) -> Path:
        return self.job_dir / "model"

    @property
    def output_dir(self) -> Path:
        return self.job_dir / "output"

    @property
    def output_data_dir(self) -> Path:
        return self.job_dir / "output" / "data"

    @property
    def output_intermediate_dir(self) -> Path:
        return self.job_dir / "output" / "intermediate"

    @property
    def failure_file(self) -> Path:
        return self.job_dir / "output" / "failure"

    @property
    def checkpoint_dir(self) -> Path:
        return self.job_dir / "checkpoints"

    @property
    def input_dir(self) -> Path:
        return self.job_dir / "input"

    @property
    def input_config_dir(self) -> Path:
        return self.job_dir / "input" / "config"

    def contents(self, job: LaunchRequest) -> tuple[list[str], dict[str, str]]:
        """What :meth:`create` makes: the directories (parents first) and the files with their text."""
        dirs = [str(d) for d in (self.job_dir, self.model_dir, self.output_dir, self.output_data_dir,
                                 self.output_intermediate_dir, self.checkpoint_dir, self.input_dir,
                                 self.input_config_dir)]
        hps = {str(k): plain(v) for k, v in job.hyperparameters.items()}
        files = {
            str(self.hyperparameters): json.dumps(hps, indent=1, sort_keys=True, default=str),
            str(self.input_config_dir / "hyperparameters.json"):
                json.dumps({k: _config_string(v) for k, v in hps.items()}, sort_keys=True),
            str(self.input_config_dir / "resourceconfig.json"): json.dumps(resource_config()),
            str(self.input_config_dir / "inputdataconfig.json"): json.dumps(input_data_config(job.program.channels)),
        }
        if not job.segment:  # a segment resumed after a pause goes on in its metrics file
            files[str(self.metrics)] = ""
        return dirs, files

    def create(self, job: LaunchRequest) -> None:
        """Create the directories and write the configuration files; empty the log and metrics files.

        Raises:
            OSError: the directory cannot be written.
        """
        dirs, files = self.contents(job)
        make_contents(dirs, files)


def make_contents(dirs: list[str], files: Mapping[str, str]) -> None:
    """Create ``dirs`` (each one's parent first; existing ones are fine) and write ``files``."""
    os.makedirs(dirs[0], exist_ok=True)
    for d in dirs[1:]:
        try:
            os.mkdir(d)
        except FileExistsError:
            pass
    for path, text in files.items():
        _write(Path(path), text)


def _write(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def resource_config() -> dict[str, Any]:
    """SageMaker's ``resourceconfig.json`` for one local host."""
    group = {"instance_group_name": "homogeneousCluster", "instance_type": "local", "hosts": [HOST]}
    return {
        "current_host": HOST,
        "current_instance_type": "local",
        "current_group_name": "homogeneousCluster",
        "hosts": [HOST],
        "instance_groups": [group],
        "network_interface_name": "eth0",
    }


def input_data_config(channels: Mapping[str, str]) -> dict[str, Any]:
    """SageMaker's ``inputdataconfig.json``: one File-mode entry per channel."""
    entry = {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}
    return {name: dict(entry) for name in sorted(channels)}


def _gpu_count(env: Mapping[str, str]) -> int:
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if not visible:
        return 0
    ids = [d.strip() for d in visible.split(",") if d.strip()]
    if not ids or ids[0] == "-1" or ids[0].upper() == "NODEVFILES":
        return 0
    return len(ids)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def _entry_point(job: LaunchRequest, cwd: str) -> tuple[str | None, str | None]:
    """(entry point file name, its directory), from ``sagemaker_program`` or a ``*.py`` in the command."""
    program = job.hyperparameters.get("sagemaker_program")
    if isinstance(program, str) and program:
        return program, cwd
    for arg in job.program.command[1:]:
        if arg.endswith(".py") and not arg.startswith("-"):
            path = os.path.join(cwd, arg)
            return os.path.basename(arg), os.path.dirname(os.path.abspath(path))
    return None, None


def build_environment(
    job: LaunchRequest,
    layout: JobLayout,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The complete environment of a training job's process.

    Args:
        job: the training job.
        layout: its directory.
        base: the inherited environment (default ``os.environ``); its ``HYPERJOB_*`` and ``SM_*`` are dropped.

    Raises:
        SpecError: a channel or hyperparameter name that cannot be an environment variable name.
    """
    base = os.environ if base is None else base
    env = {k: v for k, v in base.items() if not k.startswith(_NO_INHERIT_PREFIXES)}
    program = job.program
    cwd = os.path.abspath(program.working_dir) if program.working_dir else os.getcwd()
    hps = program_hyperparameters(job.hyperparameters)
    channels: dict[str, str] = {}
    for name, path in sorted(program.channels.items()):
        if not name or "=" in name or "\0" in name:
            raise SpecError(
                f"channel name {name!r} cannot be an environment variable name. Use letters, digits, - and _.",
                path=f"channels.{name}",
            )
        channels[name] = channel_path(name, path, cwd)

    hj = {
        "HYPERJOB_TRAINING_JOB_NAME": job.training_job_id,
        "HYPERJOB_JOB_DIR": str(layout.job_dir),
        "HYPERJOB_HYPERPARAMETERS": str(layout.hyperparameters),
        "HYPERJOB_METRICS_FILE": str(layout.metrics),
        "HYPERJOB_MODEL_DIR": str(layout.model_dir),
        "HYPERJOB_OUTPUT_DIR": str(layout.output_dir),
        "HYPERJOB_CHECKPOINT_DIR": str(layout.checkpoint_dir),
        "HYPERJOB_ATTEMPT": str(job.attempt),
    }
    if job.objective_metric:
        hj["HYPERJOB_OBJECTIVE_METRIC"] = job.objective_metric
    for name, path in channels.items():
        hj[f"HYPERJOB_CHANNEL_{name.upper()}"] = path
    env.update(hj)

    # SageMaker's names, built as its training toolkit builds them (environment.Environment.to_env_vars)
    gpus = _gpu_count({**env, **program.env})
    framework = {k: plain(v) for k, v in job.hyperparameters.items() if k.startswith("sagemaker_")}
    entry, module_dir = _entry_point(job, cwd)
    resource = resource_config()
    data_config = input_data_config(channels)
    args = build_arguments(job.hyperparameters)
    training_env: dict[str, Any] = {
        "additional_framework_parameters": framework,
        "channel_input_dirs": channels,
        "current_host": HOST,
        "current_instance_group": "homogeneousCluster",
        "current_instance_group_hosts": [HOST],
        "current_instance_type": "local",
        "distribution_hosts": [],
        "distribution_instance_groups": [],
        "framework_module": None,
        "hosts": [HOST],
        "hyperparameters": hps,
        "input_config_dir": str(layout.input_config_dir),
        "input_data_config": data_config,
        "input_dir": str(layout.input_dir),
        "instance_groups": ["homogeneousCluster"],
        "instance_groups_dict": {"homogeneousCluster": resource["instance_groups"][0]},
        "is_hetero": False,
        "is_master": True,
        "is_modelparallel_enabled": None,
        "job_name": job.training_job_id,
        "log_level": 20,
        "master_hostname": HOST,
        "model_dir": str(layout.model_dir),
        "module_dir": module_dir,
        "module_name": entry[:-3] if entry and entry.endswith(".py") else entry,
        "network_interface_name": "eth0",
        "num_cpus": _cpu_count(),
        "num_gpus": gpus,
        "num_neurons": 0,
        "output_data_dir": str(layout.output_data_dir),
        "output_dir": str(layout.output_dir),
        "output_intermediate_dir": str(layout.output_intermediate_dir),
        "resource_config": resource,
        "user_entry_point": entry,
    }
    sm: dict[str, Any] = {
        "hosts": [HOST],
        "network_interface_name": "eth0",
        "hps": hps,
        "resource_config": resource,
        "input_data_config": data_config,
        "output_data_dir": str(layout.output_data_dir),
        "channels": sorted(channels),
        "current_host": HOST,
        "current_instance_type": "local",
        "current_instance_group": "homogeneousCluster",
        "current_instance_group_hosts": [HOST],
        "instance_groups": ["homogeneousCluster"],
        "instance_groups_dict": training_env["instance_groups_dict"],
        "distribution_instance_groups": [],
        "is_hetero": False,
        "log_level": 20,
        "framework_params": {k: v for k, v in framework.items() if k not in _TOOLKIT_KEYS},
        "framework_module": None,  # the toolkit sets it (empty for script mode); scripts may read it
        "input_dir": str(layout.input_dir),
        "input_config_dir": str(layout.input_config_dir),
        "output_dir": str(layout.output_dir),
        "num_cpus": training_env["num_cpus"],
        "num_gpus": gpus,
        "model_dir": str(layout.model_dir),
        "training_env": training_env,
        "user_args": args,
        "output_intermediate_dir": str(layout.output_intermediate_dir),
    }
    if entry:
        sm["user_entry_point"] = entry
        sm["module_name"] = training_env["module_name"]
        sm["module_dir"] = module_dir
    for name, path in channels.items():
        sm[f"channel_{name}"] = path
    for name, value in hps.items():
        if "=" in name or "\0" in name:
            raise SpecError(
                f"hyperparameter name {name!r} cannot be an environment variable name (SM_HP_*). "
                "Use letters, digits, - and _.",
                path=f"hyperparameters.{name}",
            )
        sm[f"hp_{name}"] = value
    env.update({f"SM_{k.upper()}": _env_string(v) for k, v in sm.items()})
    env["TRAINING_JOB_NAME"] = job.training_job_id
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("OMP_NUM_THREADS", "1")
    env.update({str(k): str(v) for k, v in program.env.items()})
    return env


#: URL -> its local copy, fetched once per process (``hyperjob.remote.fetch`` reuses its cache across processes)
_FETCHED: dict[str, str] = {}


def channel_path(name: str, where: str, cwd: str) -> str:
    """The local folder (or file) a training program reads for the channel ``name``.

    A local path is resolved against ``cwd``; a URL (``s3://bucket/prefix``, any fsspec URL) is fetched into
    hyperjob's cache once (:func:`hyperjob.remote.fetch`, reused while the remote is unchanged) and its local
    copy is returned.

    Raises:
        SpecError: the URL cannot be read (one line naming the channel, the URL and the fix).
    """
    from hyperjob import remote

    if not remote.is_url(where):
        return os.path.normpath(os.path.join(cwd, os.path.expanduser(remote.local_path(where))))
    if where not in _FETCHED:
        try:
            _FETCHED[where] = str(remote.fetch(where))
        except SpecError as exc:
            raise SpecError(f"the input channel {name!r} cannot be read: {exc} Or give a local copy: --channel "
                            f"{name}=PATH.", path=f"program.channels.{name}") from None
    return _FETCHED[where]


def prepare_channels(channels: Mapping[str, str], working_dir: str | None = None) -> dict[str, str]:
    """Check every input channel before any training job starts, fetching those given as URLs.

    Called by ``hyperjob tune`` (and ``validate --check-data``) once, before the tuning job starts, so that
    a channel that cannot be read is one line instead of every training job failing.

    Returns:
        channel name -> the local path the programs will see.

    Raises:
        SpecError: a local path that does not exist, or a URL that cannot be read.
    """
    cwd = os.path.abspath(working_dir) if working_dir else os.getcwd()
    out: dict[str, str] = {}
    for name, where in sorted(channels.items()):
        path = channel_path(name, where, cwd)
        if not os.path.exists(path):
            raise SpecError(
                f"the input channel {name!r} is {path}, which does not exist. Create it, or give its data with "
                f"--channel {name}=PATH (a folder or file) or --channel {name}=s3://bucket/prefix.",
                path=f"program.channels.{name}",
            )
        out[name] = path
    return out


_TOOLKIT_KEYS = frozenset(
    {
        "sagemaker_program",
        "sagemaker_submit_directory",
        "sagemaker_enable_cloudwatch_metrics",
        "sagemaker_region",
        "sagemaker_container_log_level",
        "sagemaker_job_name",
        "sagemaker_s3_output",
    }
)
