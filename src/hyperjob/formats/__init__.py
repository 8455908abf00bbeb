"""Spec formats: the native ``job.yaml`` / ``job.json`` and SageMaker's ``CreateHyperParameterTuningJob`` request,
both read into one :class:`~hyperjob.formats.spec.TuningJobSpec` by :func:`load_spec`.

``docs/spec.md`` is the reference of both formats.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from hyperjob.errors import SpecError
from hyperjob.formats._files import read_document
from hyperjob.formats.job_yaml import load_native
from hyperjob.formats.sagemaker import is_sagemaker_request, load_sagemaker_request
from hyperjob.formats.spec import RangeSpec, TuningJobSpec, build_ranges

__all__ = ["RangeSpec", "TuningJobSpec", "build_ranges", "detect_format", "load_spec"]


def detect_format(data: Any) -> str:
    """``sagemaker`` for a request (it has ``HyperParameterTuningJobConfig`` or another request member),
    ``neptune`` for a Neptune ML ``model-HPO-configuration.json`` (a ``models`` list), ``native`` otherwise.
    """
    if is_sagemaker_request(data):
        return "sagemaker"
    from hyperjob.formats.experiments import is_experiment_file

    if is_experiment_file(data):  # seed 004's experiment file: architecture, date_ranges, parameters
        return "experiments"
    if isinstance(data, Mapping) and isinstance(data.get("models"), list) and "program" not in data:
        return "neptune"
    return "native"


def _check_command(command: Any) -> list[str]:
    if isinstance(command, str) or not isinstance(command, Sequence):
        raise SpecError(
            f"the command must be a list of arguments, got {command!r}. Give e.g. ['python', 'train.py'].",
            path="command",
        )
    args = list(command)
    if not args or not isinstance(args[0], str) or not args[0].strip():
        raise SpecError("the command is empty. Give the program to run, e.g. -- python train.py.", path="command")
    return [str(a) for a in args]


def load_spec(path: str | Path, *, command: list[str] | None = None,
              submit_dir: str | Path | None = None) -> TuningJobSpec:
    """Read a spec file: a native job.yaml / job.json, or a SageMaker ``CreateHyperParameterTuningJob`` request.

    Args:
        path: the file (``.yaml``/``.yml`` is YAML, ``.json`` JSON; otherwise JSON when it starts with ``{``).
        command: the program to run, from the command line (``hyperjob tune FILE -- python train.py``): it
            supplies or replaces the request's program (``HyperjobProgram.Command``) or job.yaml's
            ``program.command``, and runs in the current directory unless the file sets the working directory.
        submit_dir: for a script-mode SageMaker request, the local copy of its source directory
            (``hyperjob tune request.json --submit-dir DIR``): runs ``[python, sagemaker_program]`` there.

    Returns:
        The validated spec, with ``warnings`` for the CLI to show once.

    Raises:
        SpecError: the file cannot be read or parsed, or breaks a rule; ``source`` is the file's name and the
            path is the field's (``limits.max_jobs``, ``HyperParameterTuningJobConfig.ResourceLimits...``).
    """
    return _load(path, command=command, submit_dir=submit_dir)


def _load(path: str | Path, *, command: list[str] | None = None, require_program: bool = True,
          submit_dir: str | Path | None = None) -> TuningJobSpec:
    """:func:`load_spec`; ``require_program=False`` lets a SageMaker request without a program through
    (``hyperjob validate``), with the command ``[sagemaker.NO_COMMAND]``."""
    data, source = read_document(path)
    if command is not None:
        try:
            command = _check_command(command)
        except SpecError as exc:
            raise exc.at(source=source) from None
    base_dir = Path(path).resolve().parent
    kind = detect_format(data)
    if kind == "sagemaker":
        return load_sagemaker_request(data, source=source, base_dir=base_dir, command=command,
                                      require_program=require_program, submit_dir=submit_dir)
    if submit_dir is not None:
        raise SpecError(
            f"--submit-dir applies to a SageMaker script-mode request (sagemaker_program), but this is a {kind} "
            "spec. Set program.command and program.working_dir in the file instead.",
            path="submit_dir", source=source,
        )
    if kind == "experiments":
        from hyperjob.formats.experiments import load_experiments

        return load_experiments(data, source=source, base_dir=base_dir)
    if kind == "neptune":
        raise SpecError(
            "this is a Neptune ML model-HPO-configuration file (it has 'models'), which describes the "
            "hyperparameters of a graph model, not a whole tuning job. Read it with "
            "hyperjob.formats.neptune.load_neptune_config, or write a job.yaml that runs your training program "
            "(see docs/spec.md).",
            source=source,
        )
    return load_native(data, source=source, base_dir=base_dir, command=command)
