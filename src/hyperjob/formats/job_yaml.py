"""The native format: ``job.yaml`` / ``job.json`` (the fields of :class:`~hyperjob.formats.spec.TuningJobSpec`).

Paths written in the file are relative to the file's directory: ``program.working_dir`` (default: the file's
directory) and ``program.channels``. ``output_dir`` and ``store`` are relative to the directory hyperjob runs
in. ``docs/spec.md`` documents every field; ``tests/fixtures/specs/job.yaml`` uses them all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from hyperjob.errors import SpecError
from hyperjob.formats.spec import TuningJobSpec, spec_warnings

__all__ = ["load_native"]

#: Fields the store's copy of a spec carries but a spec file does not set.
_OUTPUT_FIELDS = ("source_format", "warnings")


def _local_path(value: str, base_dir: Path) -> str:
    """``value`` resolved against ``base_dir`` unless it is absolute or a URI."""
    if "://" in value or os.path.isabs(value):
        return value
    return os.path.normpath(base_dir / os.path.expanduser(value))


def load_native(
    data: Any,
    *,
    source: str | None = None,
    base_dir: str | Path | None = None,
    command: Sequence[str] | None = None,
) -> TuningJobSpec:
    """Validate a parsed job.yaml / job.json.

    Args:
        data: the parsed file (a mapping).
        source: the file's name, for errors.
        base_dir: the directory relative paths in the file start from (default: the current directory).
        command: replaces ``program.command`` (``hyperjob tune job.yaml -- python other.py``); it then runs
            in the current directory unless the file sets ``program.working_dir``.

    Returns:
        The spec, with ``source_format`` ``native`` and its warnings.

    Raises:
        SpecError: the first thing wrong, with ``source``, the field path, the value and the fix.
    """
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    if not isinstance(data, Mapping):
        raise SpecError(
            f"a tuning job spec must be a mapping of fields (name, program, hyperparameter_ranges, objective, "
            f"...), got {type(data).__name__} {str(data)[:60]!r}. See docs/spec.md for an example.",
            source=source,
        )
    d = dict(data)
    for key in _OUTPUT_FIELDS:
        if key in d:
            raise SpecError(
                f"{key!r} is written by hyperjob into the stored copy of a spec, not read from a spec file. "
                "Remove it.",
                path=key,
                source=source,
            )
    program = d.get("program")
    if command is not None:
        program = dict(program) if isinstance(program, Mapping) else {}
        program["command"] = list(command)
        program.setdefault("working_dir", os.getcwd())
    if isinstance(program, Mapping):
        program = dict(program)
        wd = program.get("working_dir")
        if wd is None:
            program["working_dir"] = str(base)
        elif isinstance(wd, str) and wd.strip():
            program["working_dir"] = _local_path(wd, base)
        channels = program.get("channels")
        if isinstance(channels, Mapping):
            program["channels"] = {
                k: (_local_path(v, base) if isinstance(v, str) and v.strip() else v) for k, v in channels.items()
            }
        d["program"] = program
    d["source_format"] = "native"
    try:
        spec = TuningJobSpec.model_validate(d)
    except SpecError as exc:
        raise exc.at(source=source) from None
    if not spec.hyperparameter_ranges:
        raise SpecError(
            "the tuning job tunes no hyperparameter. Add at least one range, e.g. hyperparameter_ranges: "
            "{lr: {min_value: 0.0001, max_value: 0.1}}.",
            path="hyperparameter_ranges",
            source=source,
        )
    warnings = list(spec_warnings(spec))
    missing = {k: v for k, v in spec.program.channels.items() if "://" not in v and not os.path.exists(v)}
    if missing:
        shown = ", ".join(f"{k}={v}" for k, v in missing.items())
        warnings.append(f"input channels whose path does not exist (yet): {shown}.")
    return spec.model_copy(update={"warnings": warnings}) if warnings else spec
