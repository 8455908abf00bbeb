"""Input channels given on the command line: ``--channel NAME=PATH|URL`` (``hyperjob tune`` / ``validate``).

A channel is a name and where its data is: a local folder or file, or a URL that fsspec reads
(``s3://bucket/prefix``; see :mod:`hyperjob.remote`). Flags override the spec's channels of the same name
(a SageMaker request's ``InputDataConfig`` ``S3Uri``, a job.yaml's ``program.channels``) and add new ones. A
local path on the command line is relative to the current directory. What the program then sees
(``SM_CHANNEL_<NAME>``, a local folder, fetched once for a URL) is :mod:`hyperjob.executors.env`'s.
"""

from __future__ import annotations

import os
from typing import Mapping, Sequence

from hyperjob.errors import SpecError
from hyperjob.formats.spec import TuningJobSpec
from hyperjob.remote import is_url, local_path

__all__ = ["parse_channel_flags", "with_channels"]


def parse_channel_flags(values: Sequence[str] | None) -> dict[str, str]:
    """``["train=data/train", "test=s3://b/test"]`` -> ``{"train": "/abs/data/train", "test": "s3://b/test"}``.

    Raises:
        SpecError: a value without ``=``, an empty name or location, or a name given twice.
    """
    out: dict[str, str] = {}
    for raw in values or ():
        name, sep, where = str(raw).partition("=")
        name, where = name.strip(), where.strip()
        if not sep or not name or not where:
            raise SpecError(
                f"--channel {raw!r} is not NAME=PATH or NAME=URL. Give e.g. --channel train=data/train or "
                "--channel train=s3://bucket/train.",
                path="--channel",
            )
        if name in out:
            raise SpecError(f"--channel {name!r} is given twice ({out[name]} and {where}). Give each channel once.",
                            path="--channel")
        out[name] = where if is_url(where) else os.path.abspath(os.path.expanduser(local_path(where)))
    return out


def with_channels(spec: TuningJobSpec, channels: Mapping[str, str], source: str | None = None) -> TuningJobSpec:
    """``spec`` with ``channels`` added to (and replacing those of the same name in) ``program.channels``.

    The loader's warning about local channel paths that do not exist is made again for the merged channels.
    """
    if not channels:
        return spec
    data = spec.to_json()
    program = dict(data.get("program") or {})
    program["channels"] = {**(program.get("channels") or {}), **dict(channels)}
    data["program"] = program
    kept = [w for w in (data.get("warnings") or []) if not w.startswith("input channels whose")]
    missing = {k: v for k, v in program["channels"].items() if not is_url(v) and not os.path.exists(v)}
    if missing:
        shown = ", ".join(f"{k}={v}" for k, v in missing.items())
        kept.append(f"input channels whose path does not exist (yet): {shown}.")
    data["warnings"] = kept
    return TuningJobSpec.from_json(data, source=source)
