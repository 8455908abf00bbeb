"""Reading a spec file: JSON or YAML (YAML 1.2 scalars), with errors that name the file, line and fix.

YAML is read with PyYAML's safe loader, changed in three ways that spare users classic traps:

- only ``true``/``false`` are booleans (YAML 1.1 also reads ``off``, ``no``, ``on``, ``yes`` as booleans, so
  ``early_stopping: off`` would become ``False``);
- ``1e-4`` is a float (YAML 1.1 needs a dot, ``1.0e-4``, and reads ``1e-4`` as a string); ``010`` is ten,
  not octal eight; ``1:30`` is a string, not ninety; dates stay strings;
- a key given twice in one mapping is an error (PyYAML silently keeps the last one).

A document nested deeper than :data:`MAX_DEPTH` lists and mappings is refused (real specs nest at most about
ten levels), so that neither the parsers nor the validation that walks the document run out of Python's stack.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from hyperjob.errors import SpecError

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
#: The deepest nesting of lists and mappings a spec file may have (the corpus's real specs nest at most 10 levels).
MAX_DEPTH = 64


class _Loader(yaml.SafeLoader):
    """A safe loader with YAML 1.2 core-schema scalars and duplicate-key detection."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: PyYAML reports it itself
                continue
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None, None,
                    f"the key {key!r} appears twice in the same mapping (lines {first + 1} and "
                    f"{key_node.start_mark.line + 1}); keep one of them",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _INT, _FLOAT, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_implicit_resolver(_INT, re.compile(r"^(?:[-+]?[0-9]+|0x[0-9a-fA-F]+)$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    return int(text, 16) if text.lower().startswith("0x") else int(text, 10)


_Loader.add_constructor(_INT, _construct_int)


def parse_yaml(text: str, source: str | None = None) -> Any:
    """Parse YAML text (see the module docstring for the rules).

    Raises:
        SpecError: not valid YAML; the message gives the line, column and a likely fix.
    """
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except RecursionError:
        raise _too_deep("YAML", source) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "syntax error"
        line = text.splitlines()[mark.line] if mark is not None and mark.line < len(text.splitlines()) else ""
        if "\t" in problem or "\t" in line[: (mark.column + 1) if mark else 0]:
            fix = "Indent with spaces, not tabs."
        elif "mapping values are not allowed" in problem:
            fix = "A value that contains ': ' needs quotes, or the indentation is off; check that line."
        elif "appears twice" in problem:
            fix = "Remove the duplicate."
            problem = problem.replace("; keep one of them", "")
        else:
            fix = "Check the indentation and quoting there."
        raise SpecError(f"not valid YAML{where}: {problem}. {fix}", source=source) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"not valid YAML: {exc}. Check the file's syntax.", source=source) from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise SpecError(f"the key {key!r} appears twice in the same JSON object. Keep one of them.")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise SpecError(f"{name} is not valid JSON. Write a number, or quote it as a string.")


def parse_json(text: str, source: str | None = None) -> Any:
    """Parse JSON text, refusing duplicate keys and ``NaN``/``Infinity``.

    Raises:
        SpecError: not valid JSON; the message gives the line, column and a likely fix.
    """
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except RecursionError:
        raise _too_deep("JSON", source) from None
    except SpecError as exc:
        raise exc.at(source=source) from None
    except json.JSONDecodeError as exc:
        before = text[: exc.pos].rstrip()
        if exc.msg.startswith("Expecting property name") and before.endswith(","):
            fix = "Remove the trailing comma before it (JSON allows none)."
        elif exc.msg.startswith("Expecting property name") and text[exc.pos : exc.pos + 1] == "'":
            fix = "JSON needs double quotes around names and strings."
        else:
            fix = "Fix the syntax there."
        raise SpecError(
            f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}. {fix}", source=source
        ) from None


def _too_deep(kind: str, source: str | None, path: str = "") -> SpecError:
    where = f" (at {path})" if path else ""
    return SpecError(
        f"the {kind} document nests lists or mappings more than {MAX_DEPTH} levels deep{where}; a tuning job spec "
        "needs about ten at most. Remove the extra brackets or indentation.",
        source=source,
    )


def check_depth(data: Any, kind: str, source: str | None = None) -> None:
    """Refuse ``data`` when its lists and mappings nest more than :data:`MAX_DEPTH` levels deep, or hold
    themselves (a YAML alias inside its own anchor, ``&a [*a]``).

    Walks the document without recursion, and each shared (aliased) value once, so that any depth is refused
    cleanly.

    Raises:
        SpecError: naming the path of the first value that is too deep (``a.b[0]...``, cut short).
    """
    done: set[int] = set()
    open_: set[int] = set()
    stack: list[tuple[Any, int, str, bool]] = [(data, 1, "", False)]
    while stack:
        value, depth, path, leaving = stack.pop()
        if leaving:
            open_.discard(id(value))
            done.add(id(value))
            continue
        if not isinstance(value, (dict, list)) or id(value) in done:
            continue
        if id(value) in open_:
            raise SpecError(
                f"the {kind} document holds a value inside itself (at {path}: an alias inside its own anchor), "
                "which has no end. Write the value out instead of the alias.",
                source=source,
            )
        if depth > MAX_DEPTH:
            shown = path if len(path) <= 80 else path[:77] + "..."
            raise _too_deep(kind, source, shown)
        open_.add(id(value))
        stack.append((value, depth, path, True))
        if isinstance(value, dict):
            stack.extend((v, depth + 1, f"{path}.{k}" if path else str(k), False) for k, v in value.items())
        else:
            stack.extend((v, depth + 1, f"{path}[{i}]", False) for i, v in enumerate(value))


def read_document(path: str | Path) -> tuple[Any, str]:
    """Read and parse a spec file.

    ``.json`` files are JSON; ``.yaml``/``.yml`` files are YAML; any other name is JSON when it starts with
    ``{`` and YAML otherwise.

    Returns:
        The parsed data and the file's name as errors show it (the path as given).

    Raises:
        SpecError: the file is missing, not readable, not UTF-8, empty, not valid JSON/YAML, or nested more
            than :data:`MAX_DEPTH` levels deep.
    """
    source = str(path)
    p = Path(path)
    if not p.exists():
        raise SpecError(f"the file does not exist (looked in {p.resolve().parent}). Check the path.", source=source)
    if p.is_dir():
        raise SpecError("is a directory, not a spec file. Give the path of a job.yaml, job.json or request JSON.",
                        source=source)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise SpecError(f"cannot read the file: {exc.strerror or exc}. Check its permissions.", source=source) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"the file is not UTF-8 text (byte {exc.start}). Save it as UTF-8.", source=source
        ) from None
    if not text.strip():
        raise SpecError("the file is empty. Write a tuning job spec in it (see docs/spec.md).", source=source)
    suffix = p.suffix.lower()
    if suffix == ".json" or (suffix not in (".yaml", ".yml") and text.lstrip().startswith("{")):
        data, kind = parse_json(text, source), "JSON"
    else:
        data, kind = parse_yaml(text, source), "YAML"
    check_depth(data, kind, source)
    return data, source
