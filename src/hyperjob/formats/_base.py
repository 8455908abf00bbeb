"""Shared pieces of the spec models: the strict pydantic base class, name rules and small helpers."""

from __future__ import annotations

import json
import numbers
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from hyperjob.errors import SpecError
from hyperjob.formats._pydantic_errors import join_path, spec_error_from_validation

#: A tuning job's name: letters, digits, ``-``, ``_`` and ``.``, starting and ending with a letter or digit,
#: at most 64 characters (a SageMaker name, ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}``, always fits).
NAME_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$")
#: A hyperparameter's name becomes a ``--name value`` flag: no spaces, no ``=``, not starting with ``-``.
HYPERPARAMETER_NAME = re.compile(r"^[^\s=\-][^\s=]{0,255}$")
#: An input channel's name (SageMaker's ``ChannelName``); it becomes ``SM_CHANNEL_<NAME>``.
CHANNEL_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: An environment variable's name.
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: A number pattern that reads signs and exponents, suggested in messages.
NUMBER_REGEX = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"

# --------------------------------------------------------------------------------------------------------------
# helpers


def is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def json_value(value: Any, what: str) -> Any:
    """``value`` as JSON would give it back (tuples become lists), so that ``from_json(to_json())`` is exact."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        raise SpecError(
            f"{what} {value!r} cannot be stored as JSON (a {type(value).__name__}). "
            "Use strings, finite numbers, booleans, lists or mappings of those.",
        ) from None


def off_auto(value: Any) -> Any:
    """``off``/``auto`` in any case; ``false`` reads as ``off`` and ``true`` as ``auto``."""
    if value is False:
        return "off"
    if value is True:
        return "auto"
    if isinstance(value, str):
        return value.strip().lower()
    return value


def check_hyperparameter_name(name: Any, path: str) -> None:
    if not isinstance(name, str) or not HYPERPARAMETER_NAME.match(name):
        raise SpecError(
            f"the hyperparameter name {name!r} cannot be passed as a '--name value' flag: it must be a "
            "non-empty string of at most 256 characters, without spaces or '=', not starting with '-'. "
            "Rename it, e.g. 'learning_rate'.",
            path=path,
        )


def name_the_range(err: SpecError, name: Any) -> SpecError:
    """``err`` (an error inside the range of the hyperparameter ``name``) with the name in its message:
    ``the range of 'learning_rate': min_value must be less than max_value...``. Unchanged when the message
    already names it or ``name`` is not a usable name."""
    if not isinstance(name, str) or not name.strip() or repr(name) in err.message:
        return err
    return type(err)(f"the range of {name!r}: {err.message}", path=err.path, source=err.source)


def range_named_by(path: str | None, names: Any, prefix: str = "hyperparameter_ranges") -> str | None:
    """The name among ``names`` whose range ``path`` points into (``hyperparameter_ranges.<name>[.field]``); the
    longest one when names nest (``a`` and ``a.b``), ``None`` when the path is not inside a range."""
    path = path or ""
    if not path.startswith(prefix + "."):
        return None
    rest = path[len(prefix) + 1:]
    inside = [n for n in names if isinstance(n, str) and (rest == n or rest.startswith(n + "."))]
    return max(inside, key=len, default=None)


def relocate(err: SpecError, name: str, at: str) -> SpecError:
    """Move an error of :mod:`hyperjob.space` (at ``hyperparameters.<name>...``) to ``at...``."""
    prefix = f"hyperparameters.{name}"
    path = err.path or ""
    if path == prefix or path.startswith(prefix + "."):
        rest = path[len(prefix):]
        new = at + ("" if rest == ".range" else rest)  # increment_range's bounds are the range's own
    elif path.startswith("hyperparameters"):
        new = at
    else:
        new = join_path(at, path) or at
    return type(err)(err.message, path=new, source=err.source)


class StrictModel(BaseModel):
    """Frozen, strict, no unknown fields; validation errors are :class:`SpecError`."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise spec_error_from_validation(exc, type(self)) from None

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Validate ``obj``; raises :class:`SpecError` (not ``ValidationError``) located at the field path."""
        try:
            return super().model_validate(obj, **kwargs)
        except ValidationError as exc:
            raise spec_error_from_validation(exc, cls) from None
