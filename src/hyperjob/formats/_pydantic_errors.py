"""Turn a pydantic ``ValidationError`` into one :class:`~hyperjob.errors.SpecError` in hyperjob's style.

The first error pydantic reports (fields are validated in declaration order) becomes the message: what was
wrong, where (the dotted field path, ``metric_definitions[0].regex``), the offending value and how to fix it.
A ``SpecError`` raised inside a validator keeps its own message; its path is taken relative to the field
being validated.
"""

from __future__ import annotations

import difflib
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from hyperjob.errors import SpecError

#: Keys users write for a field under another name: the field they mean.
KEY_HINTS: dict[str, str] = {
    "direction": "type",
    "goal": "type",
    "mode": "type",
    "metric_name": "metric",
    "max_trials": "max_jobs",
    "n_trials": "max_jobs",
    "num_jobs": "max_jobs",
    "max_training_jobs": "max_jobs",
    "parallel": "max_parallel_jobs",
    "max_parallel": "max_parallel_jobs",
    "max_concurrent_jobs": "max_parallel_jobs",
    "timeout": "timeout_s",
    "max_runtime": "max_runtime_s",
    "hyperparameters": "hyperparameter_ranges",
    "ranges": "hyperparameter_ranges",
    "parameter_ranges": "hyperparameter_ranges",
    "static": "static_hyperparameters",
    "seed": "random_seed",
    "metrics": "metric_definitions",
    "cmd": "command",
    "args": "command",
    "argv": "command",
    "cwd": "working_dir",
    "workdir": "working_dir",
    "environment": "env",
    "sampler": "strategy",
    "algorithm_strategy": "strategy",
    "low": "min_value",
    "high": "max_value",
    "choices": "values",
    "options": "values",
    "log": "scaling",
    "scale": "scaling",
    "parent": "parents",
    "parent_jobs": "parents",
    "warm_start_type": "type",
}

#: An example per field, shown when the field is missing or has the wrong type.
EXAMPLES: dict[str, str] = {
    "name": "name: mnist-lr",
    "program": "program: {command: [python, train.py]}",
    "command": "command: [python, train.py]",
    "objective": "objective: {metric: val_loss, type: minimize}",
    "metric": "metric: val_loss",
    "type": "type: minimize",
    "hyperparameter_ranges": "hyperparameter_ranges: {lr: {type: continuous, min_value: 0.0001, max_value: 0.1}}",
    "static_hyperparameters": "static_hyperparameters: {epochs: 10}",
    "metric_definitions": "metric_definitions: [{name: val_loss, regex: 'val_loss=([-+0-9.eE]+)'}]",
    "regex": "regex: 'val_loss=([-+0-9.eE]+)'",
    "limits": "limits: {max_jobs: 20, max_parallel_jobs: 2}",
    "completion": "completion: {max_jobs_not_improving: 10}",
    "warm_start": "warm_start: {parents: [my-previous-job], type: identical_data_and_algorithm}",
    "parents": "parents: [my-previous-job]",
    "env": "env: {OMP_NUM_THREADS: '1'}",
    "channels": "channels: {train: data/train}",
    "settings": "settings: {}",
    "values": "values: [sgd, adam]",
}


def loc_to_path(loc: tuple[Any, ...]) -> str:
    """``('metric_definitions', 0, 'regex')`` -> ``metric_definitions[0].regex``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def join_path(*parts: str | None) -> str | None:
    """Join dotted paths, leaving out empty parts; ``[i]`` parts attach without a dot."""
    out = ""
    for p in parts:
        if not p:
            continue
        if out and not p.startswith("["):
            out += "."
        out += p
    return out or None


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``."""
    args = typing.get_args(annotation)
    if args and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class that validates the object at ``loc`` (``None`` if it is not a model)."""
    current: Any = model
    pending: list[Any] = list(loc)
    while pending:
        part = pending.pop(0)
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return None
        annotation = _unwrap(field.annotation)
        while True:
            origin = typing.get_origin(annotation)
            if origin in (dict, typing.Mapping) and pending:
                pending.pop(0)  # the key
                annotation = _unwrap(typing.get_args(annotation)[1])
            elif origin in (list, tuple) and pending and isinstance(pending[0], int):
                pending.pop(0)  # the index
                annotation = _unwrap(typing.get_args(annotation)[0])
            else:
                break
        current = annotation
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def closest(key: str, candidates: list[str]) -> str | None:
    """The candidate closest to ``key`` (difflib, case-insensitive), or a known alternative name."""
    hint = KEY_HINTS.get(key.lower()) if isinstance(key, str) else None
    if hint in candidates:
        return hint
    lowered = {c.lower(): c for c in candidates}
    match = difflib.get_close_matches(str(key).lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def _example(field: str) -> str:
    ex = EXAMPLES.get(field)
    return f" e.g. {ex}" if ex else ""


def spec_error_from_validation(exc: ValidationError, model: type[BaseModel], source: str | None = None) -> SpecError:
    """The first error of ``exc`` as a :class:`SpecError` located at its field path."""
    errors = exc.errors(include_url=False)
    err = errors[0]
    loc = tuple(err.get("loc", ()))
    path = loc_to_path(loc)
    etype = err.get("type", "")
    value = err.get("input")
    ctx = err.get("ctx") or {}
    field = next((p for p in reversed(loc) if isinstance(p, str) and p != "[key]"), "")
    if etype in ("value_error", "assertion_error"):
        inner = ctx.get("error")
        if isinstance(inner, SpecError):
            return type(inner)(inner.message, path=join_path(path, inner.path), source=inner.source or source)
        message = str(inner) if inner is not None else err.get("msg", "invalid value")
        return SpecError(message, path=path or None, source=source)
    if etype == "missing":
        message = f"the field {field!r} is required. Add it,{_example(field) or ' with a value'}."
        return SpecError(message, path=path or None, source=source)
    if etype == "extra_forbidden":
        owner = model_at(model, loc[:-1])
        fields = list(owner.model_fields) if owner is not None else []
        near = closest(str(field), fields) if fields else None
        hint = f" Did you mean {near!r}?" if near else ""
        valid = f" Valid fields here: {', '.join(fields)}." if fields else ""
        return SpecError(f"unknown field {field!r}.{hint}{valid} Remove or rename it.", path=path or None,
                         source=source)
    if "[key]" in loc:
        return SpecError(
            f"the name {value!r} must be a string. Quote it, e.g. '{value}'.", path=path or None, source=source
        )
    message = _type_message(etype, value, ctx, field, err.get("msg", ""))
    return SpecError(message, path=path or None, source=source)


def _type_message(etype: str, value: Any, ctx: dict[str, Any], field: str, fallback: str) -> str:
    shown = _shown(value)
    scalar = isinstance(value, (int, float, bool)) and not isinstance(value, str)
    if etype == "string_type":
        example = _example(field) or " e.g. 'text'"
        fix = f"Quote it: '{value}'." if scalar else f"Give a string,{example}."
        return f"must be a string, got {shown}. {fix}"
    if etype in ("int_type", "int_parsing", "int_from_float"):
        if isinstance(value, str):
            return f"must be a whole number, got the string {shown}. Write it without quotes, e.g. 10."
        return f"must be a whole number, got {shown}. Use e.g. 10."
    if etype in ("float_type", "float_parsing"):
        if isinstance(value, str):
            return f"must be a number, got the string {shown}. Write it without quotes, e.g. 0.5."
        return f"must be a number, got {shown}. Use e.g. 0.5."
    if etype in ("bool_type", "bool_parsing"):
        return f"must be true or false, got {shown}. Write true or false."
    if etype == "literal_error":
        expected = ctx.get("expected", "")
        options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",") if o.strip()]
        near = closest(str(value), options) if isinstance(value, str) else None
        hint = f" Did you mean {near!r}?" if near and near != value else ""
        return f"must be one of {expected}, got {shown}.{hint} Use one of them."
    if etype in ("list_type", "tuple_type"):
        return f"must be a list, got {shown}. Write it as a list,{_example(field) or ' e.g. [a, b]'}."
    if etype in ("dict_type", "model_type", "model_attributes_type", "mapping_type"):
        return (
            f"must be a mapping of fields (key: value), got {shown}. Write it as a mapping,"
            f"{_example(field) or ' e.g. {key: value}'}."
        )
    if etype == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}, got {shown}. Use a value >= {ctx.get('ge')}."
    if etype == "greater_than":
        return f"must be greater than {ctx.get('gt')}, got {shown}. Use a value > {ctx.get('gt')}."
    if etype == "less_than_equal":
        return f"must be at most {ctx.get('le')}, got {shown}. Use a value <= {ctx.get('le')}."
    if etype == "less_than":
        return f"must be less than {ctx.get('lt')}, got {shown}. Use a value < {ctx.get('lt')}."
    if etype == "too_short":
        return (
            f"needs at least {ctx.get('min_length')} item(s), got {ctx.get('actual_length', 0)}. "
            f"Add {'one' if ctx.get('min_length') == 1 else 'more'},{_example(field) or ' e.g. [a]'}."
        )
    if etype == "too_long":
        return (
            f"takes at most {ctx.get('max_length')} item(s), got {ctx.get('actual_length')}. "
            f"Remove some, keeping at most {ctx.get('max_length')}."
        )
    if etype == "finite_number":
        return f"must be a finite number, got {shown}. Use a finite number."
    return f"{fallback[:1].lower()}{fallback[1:]}, got {shown}. Fix the value."
