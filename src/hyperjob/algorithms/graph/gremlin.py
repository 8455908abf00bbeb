"""Read a Gremlin CSV export (Neptune's bulk-load format, as neptune-export writes it) into typed tables.

What is read (``docs/graph.md`` is the user's reference):

- Every ``*.csv`` / ``*.txt`` file under the export folder (recursively; ``nodes/`` and ``edges/`` as
  neptune-export writes them, or flat files). A file whose header has ``~from`` and ``~to`` is an edge file,
  any other is a node file. A label may be split across several part files; they are concatenated.
- UTF-8 (a BOM is allowed), RFC 4180: quoted fields may hold commas, quotes (``""``) and newlines.
- Node files: ``~id`` (required), ``~label`` (optional; default ``vertex``; several labels joined by ``;`` are
  one node type, sorted). Edge files: ``~id``, ``~from``, ``~to``, ``~label`` (all required);
  ``~fromLabels``/``~toLabels`` (the ``neptune_ml`` export profile) are accepted and not needed: an edge's end
  types come from its end nodes.
- Property columns ``name:type`` with case-insensitive type names (``Bool``/``Boolean``, ``Byte``, ``Short``,
  ``Int``/``Integer``, ``Long``, ``Float``, ``Double``, ``Decimal``, ``String``, ``Date``/``DateTime``),
  arrays ``name:type[]`` whose values are ``;``-separated, an optional cardinality suffix (``(single)``,
  ``(set)``, ``(list)``) which is ignored. Untyped columns (the ``neptune_ml`` profile writes them) get the type
  their values show: integer, float, else string. An empty field means no value.

The lenient rules for messy files (a :class:`GremlinCsvWarning` per file where they apply, kept on
:attr:`GremlinGraph.warnings`):

- Whitespace around header names (warned) and around every field (silently) is trimmed (``, ~from``;
  ``GameTitle:String `` ; ``forchinet       ``). CRLF line ends and a missing final newline are fine.
- A row with *fewer* fields than the header gets empty values for the missing columns (warned).

Errors (:class:`~hyperjob.errors.SpecError`, the file as ``source`` and ``line N, column M ('header')`` as the
place): a node or edge file without ``~id`` (or an edge file without ``~label``, or with ``~from`` but no
``~to``), a row with *more* fields than the header (unless ``skip_bad_rows``), an empty ``~id``, a node ``~id``
declared twice, an edge whose ``~from``/``~to`` names no node (unless ``skip_bad_rows``), a value that does not
match its column's declared type, a property declared with two types.

Example:
    >>> graph = read_gremlin_csv("tests/fixtures/neptune/graph")            # doctest: +SKIP
    >>> graph.num_nodes, graph.num_edges                                      # doctest: +SKIP
    (17, 26)
"""

from __future__ import annotations

import csv
import re
import warnings as _warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hyperjob.errors import SpecError

__all__ = [
    "EdgeSet",
    "EdgeType",
    "GremlinCsvWarning",
    "GremlinGraph",
    "NodeSet",
    "Property",
    "read_gremlin_csv",
]

EdgeType = tuple[str, str, str]

#: file name endings read as Gremlin CSV
FILE_SUFFIXES = (".csv", ".txt")
#: Neptune's type names (lower case) -> the kind of value hyperjob keeps
TYPE_KINDS = {
    "bool": "bool", "boolean": "bool",
    "byte": "int", "short": "int", "int": "int", "integer": "int", "long": "int",
    "float": "float", "double": "float", "decimal": "float",
    "string": "string",
    "date": "date", "datetime": "date",
}
#: a node's label when the file has no ``~label`` column or the field is empty (Neptune's default)
DEFAULT_NODE_LABEL = "vertex"
_SYSTEM_NODE = ("~id", "~label")
_SYSTEM_EDGE = ("~id", "~from", "~to", "~label", "~fromLabels", "~toLabels")
_HEADER = re.compile(r"^(?P<name>[^:]+?)(?::(?P<type>[A-Za-z]+)(?P<array>\[\])?(?:\((?P<card>[A-Za-z]+)\))?)?$")
_INT = r"[+-]?\d+"
_FLOAT_WORDS = ("nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity")
_KIND_WORDS = {"int": "a whole number", "float": "a number", "bool": "true or false", "date": "a date"}


class GremlinCsvWarning(UserWarning):
    """Something in a Gremlin CSV file that was read leniently (see the module docstring)."""


@dataclass(frozen=True)
class Property:
    """A property column.

    Attributes:
        name: the property's name (the header without its type).
        kind: ``int``, ``float``, ``bool``, ``date`` or ``string``.
        array: multi-valued (``name:type[]``): each value is a list.
        declared: whether the header gave the type (``False``: inferred from the values).
    """

    name: str
    kind: str
    array: bool = False
    declared: bool = True


@dataclass
class NodeSet:
    """The nodes of one label (node type).

    Attributes:
        label: the node type.
        ids: the nodes' ``~id`` values, in file order; a node's index is its position.
        properties: property name -> its column.
        values: property name -> values aligned with ``ids``: float64 (NaN = no value) for int, float and
            bool (0/1); ``datetime64`` (NaT) for dates; object (``None`` = no value) for strings; object
            holding lists (``None`` = no value) for arrays.
        files: the files the nodes came from.
    """

    label: str
    ids: list[str]
    properties: dict[str, Property]
    values: dict[str, pd.Series]
    files: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class EdgeSet:
    """The edges of one edge type ``(source node type, label, destination node type)``.

    Attributes:
        edge_type: the triple.
        ids: the edges' ``~id`` values.
        src: int64 indices into the source type's :attr:`NodeSet.ids`.
        dst: int64 indices into the destination type's :attr:`NodeSet.ids`.
        properties: property name -> its column.
        values: property name -> values aligned with ``ids`` (as in :class:`NodeSet`).
        files: the files the edges came from.
    """

    edge_type: EdgeType
    ids: list[str]
    src: np.ndarray
    dst: np.ndarray
    properties: dict[str, Property]
    values: dict[str, pd.Series]
    files: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class GremlinGraph:
    """A Gremlin CSV export, read and checked.

    Attributes:
        nodes: node type -> its nodes, in the order the types first appear.
        edges: edge type -> its edges.
        files: every file read, node files first.
        source: the export folder.
        warnings: what was read leniently, one line each.
    """

    nodes: dict[str, NodeSet]
    edges: dict[EdgeType, EdgeSet]
    files: list[str]
    source: str
    warnings: list[str] = field(default_factory=list)

    @property
    def num_nodes(self) -> int:
        """Nodes over all types."""
        return sum(len(n) for n in self.nodes.values())

    @property
    def num_edges(self) -> int:
        """Edges over all types."""
        return sum(len(e) for e in self.edges.values())

    def edge_types_with_label(self, label: str) -> list[EdgeType]:
        """The edge types whose edge label is ``label``."""
        return [et for et in self.edges if et[1] == label]


# --------------------------------------------------------------------------------------------------------------
# one file


@dataclass
class _Column:
    position: int  # 1-based, as shown to the user
    header: str
    prop: Property | None  # None: a system column (~id, ...)


@dataclass
class _File:
    path: str
    kind: str  # "node" | "edge"
    columns: dict[str, _Column]  # name -> column (system columns by their ~name)
    frame: pd.DataFrame  # stripped strings, one column per name
    typed: dict[str, pd.Series]  # property name -> typed values (declared types converted, untyped kept raw)
    record_lines: list[int] | None = None  # line of each record (index 0 = header), computed on demand

    def line_of(self, row: int) -> int:
        """The line (1-based) where data row ``row`` (0-based) starts."""
        if self.record_lines is None:
            self.record_lines = _record_lines(self.path)
        return self.record_lines[row + 1] if row + 1 < len(self.record_lines) else row + 2

    def where(self, row: int, column: str) -> str:
        col = self.columns[column]
        return f"line {self.line_of(row)}, column {col.position} ({col.header!r})"


def _record_lines(path: str) -> list[int]:
    """The first line of each non-blank CSV record of ``path`` (the header is record 0)."""
    lines: list[int] = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        end = 0
        for record in reader:
            start = end + 1
            end = reader.line_num
            if record:
                lines.append(start)
    return lines


def _fail(path: str, where: str | None, message: str) -> SpecError:
    return SpecError(message, path=where, source=path)


def _parse_header(path: str, raw: list[str], notes: list[str]) -> tuple[str, dict[str, _Column]]:
    names = [h.strip() for h in raw]
    if any(n != h for n, h in zip(names, raw)):
        odd = [h for n, h in zip(names, raw) if n != h]
        notes.append(f"{path}: line 1: whitespace around header names {odd[:3]!r} was trimmed.")
    if "~from" in names or "~to" in names:
        if "~from" not in names or "~to" not in names:
            missing = "~to" if "~from" in names else "~from"
            raise _fail(path, "line 1", f"the header has {'~from' if missing == '~to' else '~to'} but no {missing}, "
                                        f"so this edge file cannot be read (header: {','.join(names)!r}). Add the "
                                        f"{missing} column.")
        kind = "edge"
    else:
        kind = "node"
    system = _SYSTEM_EDGE if kind == "edge" else _SYSTEM_NODE
    required = ("~id", "~from", "~to", "~label") if kind == "edge" else ("~id",)
    for name in required:
        if name not in names:
            raise _fail(path, "line 1", f"the {kind} file's header has no {name} column (header: {','.join(names)!r}). "
                                        f"Every Gremlin CSV {kind} file needs {', '.join(required)}: add it.")
    columns: dict[str, _Column] = {}
    for i, (header, name) in enumerate(zip(raw, names), start=1):
        if not name:
            raise _fail(path, f"line 1, column {i}", "the header has an empty column name. Name the column, "
                                                     "e.g. 'weight:Double', or remove the extra comma.")
        if name.startswith("~"):
            if name not in system:
                raise _fail(path, f"line 1, column {i}", f"unknown system column {name!r} in a {kind} file; known: "
                                                         f"{', '.join(system)}. Rename or remove it.")
            key, prop = name, None
        else:
            m = _HEADER.match(name)
            if m is None:
                raise _fail(path, f"line 1, column {i}", f"cannot read the column header {name!r}. Write it as "
                                                         "'name' or 'name:type' (e.g. 'age:Int', 'tags:String[]').")
            key = m.group("name").strip()
            tname = m.group("type")
            if tname is None:
                prop = Property(key, "string", array=False, declared=False)
            else:
                tkind = TYPE_KINDS.get(tname.lower())
                if tkind is None:
                    raise _fail(path, f"line 1, column {i}",
                                f"unknown type {tname!r} in the header {name!r}. Use one of Bool, Byte, Short, Int, "
                                "Long, Float, Double, String, Date (any case), with [] for an array.")
                card = m.group("card")
                if card is not None and card.lower() not in ("single", "set", "list"):
                    raise _fail(path, f"line 1, column {i}", f"unknown cardinality {card!r} in the header {name!r}. "
                                                             "Use (single) or (set), or leave it out.")
                prop = Property(key, tkind, array=m.group("array") is not None, declared=True)
        if key in columns:
            raise _fail(path, f"line 1, column {i}", f"the column {key!r} appears twice (columns "
                                                     f"{columns[key].position} and {i}). Keep one.")
        columns[key] = _Column(i, name, prop)
    return kind, columns


def _read_table(path: str, width: int, skip_bad_rows: bool, notes: list[str]) -> tuple[pd.DataFrame, list[int] | None]:
    """The file's data rows as stripped strings; ragged short rows are padded with empty fields.

    Returns the frame and, when the slow path ran, the line of each kept record (index 0 = header).
    """
    frame: pd.DataFrame | None = None
    with _warnings.catch_warnings():
        _warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, skipinitialspace=True,
                                encoding="utf-8-sig", index_col=False, header=0)
        except (pd.errors.ParserError, pd.errors.ParserWarning):
            frame = None
        except UnicodeDecodeError as exc:
            raise _fail(path, None, f"is not UTF-8 text ({exc.reason} at byte {exc.start}). Save it as UTF-8.") from None
        except pd.errors.EmptyDataError:
            raise _fail(path, "line 1", "the file is empty; a Gremlin CSV file starts with a header such as "
                                        "'~id,~label'. Remove the file or add the header.") from None
    if frame is not None:
        if frame.shape[1] != width:  # pragma: no cover - pandas and csv disagree on the header
            frame = None
        else:
            frame.columns = list(range(width))
            frame = frame.fillna("")
            return frame.apply(lambda s: s.str.strip()), None
    # slow path: a row with more fields than the header; locate it with the csv module
    rows: list[list[str]] = []
    lines: list[int] = [1]
    bad: list[tuple[int, int]] = []
    short: list[int] = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, skipinitialspace=True)
        end = 0
        for i, record in enumerate(reader):
            start, end = end + 1, reader.line_num
            if i == 0 or not record:
                continue
            if len(record) > width:
                extra = [v for v in record[width:]]
                if not skip_bad_rows:
                    raise _fail(path, f"line {start}", f"the row has {len(record)} fields but the header has {width} "
                                                       f"(extra: {extra!r}); a value holding a comma must be quoted. "
                                                       "Quote the value, or pass skip_bad_rows (CLI: --skip-bad-rows) "
                                                       "to skip such rows.")
                bad.append((start, len(record)))
                continue
            if len(record) < width:
                short.append(start)
            rows.append([v.strip() for v in record] + [""] * (width - len(record)))
            lines.append(start)
    if bad:
        notes.append(f"{path}: skipped {len(bad)} row(s) with more fields than the header's {width}, at line(s) "
                     f"{', '.join(str(b[0]) for b in bad[:10])}{' ...' if len(bad) > 10 else ''}.")
    if short:
        notes.append(_short_note(path, short, width))
    return pd.DataFrame(rows, columns=list(range(width)), dtype=object), lines


def _read_file(path: str, skip_bad_rows: bool, notes: list[str]) -> _File:
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), None)
    except UnicodeDecodeError as exc:
        raise _fail(path, None, f"is not UTF-8 text ({exc.reason} at byte {exc.start}). Save it as UTF-8.") from None
    except OSError as exc:
        raise _fail(path, None, f"cannot read the file: {exc.strerror or exc}.") from None
    if not header:
        raise _fail(path, "line 1", "the file is empty; a Gremlin CSV file starts with a header such as "
                                    "'~id,~label'. Remove the file or add the header.")
    kind, columns = _parse_header(path, header, notes)
    frame, lines = _read_table(path, len(header), skip_bad_rows, notes)
    frame.columns = list(columns)
    f = _File(path=path, kind=kind, columns=columns, frame=frame, typed={}, record_lines=lines)
    _note_padding(f, notes)
    for key, col in columns.items():
        if col.prop is None:
            continue
        f.typed[key] = _convert(f, key, col.prop) if col.prop.declared else frame[key]
    for key in ("~id",) + (("~from", "~to", "~label") if kind == "edge" else ()):
        empty = np.flatnonzero((frame[key] == "").to_numpy())
        if len(empty):
            raise _fail(path, f.where(int(empty[0]), key), f"the {key} field is empty. Every "
                                                           f"{'edge' if kind == 'edge' else 'node'} needs a {key}.")
    return f


def _note_padding(f: _File, notes: list[str]) -> None:
    """Warn once per file about rows that were shorter than the header (their missing fields are empty)."""
    if f.record_lines is not None:
        return  # the slow path padded; counted below from the raw file is not worth a second read
    # Pandas pads short rows silently; they show as an empty last column where the row had fewer commas.
    # Counting them exactly needs the raw text, which only matters for the warning: read it when small.
    try:
        size = Path(f.path).stat().st_size
    except OSError:  # pragma: no cover
        return
    if size > 2_000_000:
        return
    width = len(f.columns)
    short: list[int] = []
    with open(f.path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, skipinitialspace=True)
        end = 0
        for i, record in enumerate(reader):
            start, end = end + 1, reader.line_num
            if i and record and len(record) < width:
                short.append(start)
    if short:
        notes.append(_short_note(f.path, short, width))


def _short_note(path: str, short: list[int], width: int) -> str:
    return (f"{path}: {len(short)} row(s) have fewer fields than the header's {width} (line(s) "
            f"{', '.join(map(str, short[:10]))}{' ...' if len(short) > 10 else ''}); their missing fields are read "
            "as empty (no value).")


def _scalar_values(f: _File, key: str, prop: Property, raw: pd.Series, rows: np.ndarray) -> pd.Series:
    """Convert non-empty strings ``raw`` (at data rows ``rows``) to ``prop.kind``; raise on the first bad one."""
    if prop.kind == "string":
        return raw.astype(object)
    if prop.kind == "int":
        ok = raw.str.fullmatch(_INT).to_numpy(dtype=bool)
        values = pd.to_numeric(raw.where(ok), errors="coerce")
    elif prop.kind == "float":
        values = pd.to_numeric(raw, errors="coerce")
        ok = (values.notna() | raw.str.lower().isin(_FLOAT_WORDS)).to_numpy(dtype=bool)
        values = values.where(ok, np.nan)
        words = raw.str.lower()
        values = values.mask(words.isin(("inf", "+inf", "infinity", "+infinity")), np.inf)
        values = values.mask(words.isin(("-inf", "-infinity")), -np.inf)
    elif prop.kind == "bool":
        low = raw.str.lower()
        ok = low.isin(("true", "false", "1", "0")).to_numpy(dtype=bool)
        values = low.isin(("true", "1")).astype(float)
    else:  # date
        values = pd.to_datetime(raw, errors="coerce", format="mixed")
        ok = values.notna().to_numpy(dtype=bool)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        col = f.columns[key]
        tname = col.header.split(":", 1)[1] if ":" in col.header else prop.kind
        raise _fail(f.path, f.where(int(rows[i]), key),
                    f"the value {raw.iloc[i]!r} is not {_KIND_WORDS[prop.kind]}, as the column's type {tname!r} "
                    f"requires. Fix the value, or declare the column with the type its values have "
                    f"(e.g. '{prop.name}:String').")
    return values


def _convert(f: _File, key: str, prop: Property) -> pd.Series:
    """A declared column's typed values (see :class:`NodeSet`), aligned with the file's rows."""
    raw = f.frame[key]
    present = (raw != "").to_numpy()
    rows = np.flatnonzero(present)
    nonempty = raw[present]
    if not prop.array:
        values = _scalar_values(f, key, prop, nonempty, rows)
        dtype = "datetime64[ns]" if prop.kind == "date" else (object if prop.kind == "string" else "float64")
        out = pd.Series(np.nan if dtype == "float64" else None, index=raw.index, dtype=dtype)
        out[present] = values.to_numpy()
        return out
    parts = nonempty.str.split(";").explode()
    parts = parts.str.strip()
    keep = (parts != "").to_numpy()
    owner = parts.index.to_numpy()  # frame index == data row
    values = _scalar_values(f, key, prop, parts[keep], owner[keep])
    cells: list[Any] = [None] * len(raw)
    kept_owner = owner[keep]
    if len(kept_owner):  # explode keeps row order: cut the values where the owner changes
        flat = values.tolist()
        starts = np.flatnonzero(np.r_[True, kept_owner[1:] != kept_owner[:-1]])
        ends = np.r_[starts[1:], len(kept_owner)]
        for a, b in zip(starts.tolist(), ends.tolist()):
            cells[int(kept_owner[a])] = flat[a:b]
    return pd.Series(cells, index=raw.index, dtype=object)


# --------------------------------------------------------------------------------------------------------------
# the whole export


def _files_of(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise SpecError(f"the export folder does not exist. Give the folder of a Gremlin CSV export (with node and "
                        f"edge files).", source=str(root))
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in FILE_SUFFIXES)
    if not files:
        raise SpecError(f"the folder holds no {' or '.join(FILE_SUFFIXES)} files. Give the folder of a Gremlin CSV "
                        "export.", source=str(root))
    return files


def _infer(raw: pd.Series) -> tuple[str, pd.Series]:
    """Type an untyped column by its values: int, else float, else string (the empty string is no value)."""
    present = raw != ""
    vals = raw[present]
    if len(vals) and vals.str.fullmatch(_INT).all():
        kind = "int"
    elif len(vals) and pd.to_numeric(vals, errors="coerce").notna().all():
        kind = "float"
    else:
        return "string", raw.where(present, None).astype(object)
    out = pd.Series(np.nan, index=raw.index, dtype="float64")
    out[present] = pd.to_numeric(vals).astype(float).to_numpy()
    return kind, out


def _merge_props(files: list[_File], label_rows: list[np.ndarray], owner: str) -> tuple[dict[str, Property],
                                                                                         dict[str, pd.Series]]:
    """Concatenate the property columns of the parts of one label; refuse a property with two declared types."""
    props: dict[str, Property] = {}
    seen_in: dict[str, str] = {}
    for f in files:
        for key, col in f.columns.items():
            p = col.prop
            if p is None:
                continue
            if key in props:
                q = props[key]
                if p.declared and q.declared and (p.kind, p.array) != (q.kind, q.array):
                    raise _fail(f.path, f"line 1, column {col.position} ({col.header!r})",
                                f"the property {key!r} of {owner} is declared {p.kind}{'[]' if p.array else ''} here "
                                f"but {q.kind}{'[]' if q.array else ''} in {seen_in[key]}. Declare one type.")
                if p.declared and not q.declared:
                    props[key] = p
            else:
                props[key] = p
                seen_in[key] = f.path
    values: dict[str, pd.Series] = {}
    total = sum(len(r) for r in label_rows)
    for key, p in props.items():
        pieces = []
        for f, rows in zip(files, label_rows):
            if key in f.typed:
                own = f.columns[key].prop
                if p.declared and own is not None and not own.declared:
                    # typed in another part file, untyped here: read this file's values as that type
                    f.typed[key] = _convert(f, key, p)
                pieces.append(f.typed[key].iloc[rows])
            else:
                empty: Any = "" if not p.declared else (np.nan if p.kind in ("int", "float", "bool") and not p.array
                                                        else None)
                dtype = "datetime64[ns]" if p.kind == "date" and not p.array and p.declared else None
                pieces.append(pd.Series([empty] * len(rows) if dtype is None else pd.NaT, index=range(len(rows)),
                                        dtype=dtype))
        s = pd.concat([x.reset_index(drop=True) for x in pieces], ignore_index=True) if pieces else pd.Series(
            [], dtype=object)
        if not p.declared:
            kind, s = _infer(s.astype(object).where(s.notna(), "").astype(str))
            props[key] = Property(p.name, kind, array=False, declared=False)
        assert len(s) == total
        values[key] = s
    return props, values


def read_gremlin_csv(export_dir: "str | Path", *, skip_bad_rows: bool = False) -> GremlinGraph:
    """Read every node and edge file of a Gremlin CSV export.

    Args:
        export_dir: the export folder (or a single node file).
        skip_bad_rows: skip, with a warning, rows with more fields than the header and edges whose ``~from``
            or ``~to`` names no node (Neptune's loader with ``failOnError: FALSE``); default: an error.

    Returns:
        The graph: node sets per label, edge sets per ``(source type, label, destination type)``.

    Raises:
        SpecError: naming the file, line and column of the first problem (see the module docstring).
    """
    root = Path(export_dir)
    notes: list[str] = []
    parsed = [_read_file(str(p), skip_bad_rows, notes) for p in _files_of(root)]
    node_files = [f for f in parsed if f.kind == "node"]
    edge_files = [f for f in parsed if f.kind == "edge"]
    if not node_files:
        raise SpecError("found edge files but no node file (a file whose header has ~id and no ~from/~to). Add the "
                        "node files of the export.", source=str(root))

    # -- nodes: labels, global id index
    labels_per_file: list[np.ndarray] = []
    for f in node_files:
        if "~label" in f.frame:
            lab = f.frame["~label"].to_numpy(dtype=object)
            lab = np.where(lab == "", DEFAULT_NODE_LABEL, lab)
            multi = np.char.find(lab.astype(str), ";") >= 0
            if multi.any():
                lab = lab.copy()
                for i in np.flatnonzero(multi):
                    lab[i] = ";".join(sorted(x.strip() for x in str(lab[i]).split(";") if x.strip()))
        else:
            lab = np.full(len(f.frame), DEFAULT_NODE_LABEL, dtype=object)
        labels_per_file.append(lab)
    all_ids = np.concatenate([f.frame["~id"].to_numpy(dtype=object) for f in node_files]) if node_files else []
    all_labels = np.concatenate(labels_per_file)
    file_of = np.concatenate([np.full(len(f.frame), i) for i, f in enumerate(node_files)])
    row_of = np.concatenate([np.arange(len(f.frame)) for f in node_files])
    id_index = pd.Index(all_ids)
    if not id_index.is_unique:
        dup = id_index.duplicated(keep="first")
        j = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero(all_ids == all_ids[j])[0])
        fa, fb = node_files[file_of[first]], node_files[file_of[j]]
        raise _fail(fb.path, fb.where(int(row_of[j]), "~id"),
                    f"the node ~id {all_ids[j]!r} is declared again; it was first declared at {fa.path}, "
                    f"{fa.where(int(row_of[first]), '~id')}. Give each node one row and a unique ~id.")

    nodes: dict[str, NodeSet] = {}
    label_order = list(dict.fromkeys(all_labels.tolist()))
    local_index = np.zeros(len(all_ids), dtype=np.int64)
    for label in label_order:
        mask = all_labels == label
        local_index[mask] = np.arange(int(mask.sum()))
        parts = [(f, np.flatnonzero(lab == label)) for f, lab in zip(node_files, labels_per_file)]
        parts = [(f, r) for f, r in parts if len(r)]
        props, values = _merge_props([f for f, _ in parts], [r for _, r in parts], f"nodes labelled {label!r}")
        nodes[label] = NodeSet(label=label, ids=[str(x) for x in all_ids[mask]], properties=props, values=values,
                               files=[f.path for f, _ in parts])

    # -- edges: endpoints by ~id, grouped into edge types
    per_type: dict[EdgeType, list[tuple[_File, np.ndarray, np.ndarray, np.ndarray]]] = {}
    for f in edge_files:
        keep = np.ones(len(f.frame), dtype=bool)
        ends = {}
        for key in ("~from", "~to"):
            pos = id_index.get_indexer(f.frame[key].to_numpy(dtype=object))
            missing = np.flatnonzero(pos < 0)
            if len(missing):
                if not skip_bad_rows:
                    i = int(missing[0])
                    raise _fail(f.path, f.where(i, key),
                                f"the edge {f.frame['~id'].iloc[i]!r} points at {f.frame[key].iloc[i]!r}, which is "
                                f"the ~id of no node ({len(missing)} edge(s) of this file do). Add the node, fix the "
                                f"{key} value, or pass skip_bad_rows (CLI: --skip-bad-rows) to skip such edges.")
                notes.append(f"{f.path}: skipped {len(missing)} edge(s) whose {key} names no node (first at "
                             f"{f.where(int(missing[0]), key)}: {f.frame[key].iloc[int(missing[0])]!r}).")
                keep[missing] = False
            ends[key] = pos
        rows = np.flatnonzero(keep)
        src_pos, dst_pos = ends["~from"][rows], ends["~to"][rows]
        et_frame = pd.DataFrame({"s": all_labels[src_pos], "l": f.frame["~label"].to_numpy(dtype=object)[rows],
                                 "d": all_labels[dst_pos]})
        for (s, l, d), idx in et_frame.groupby(["s", "l", "d"], sort=False).indices.items():
            sel = rows[idx]
            per_type.setdefault((s, l, d), []).append(
                (f, sel, local_index[ends["~from"][sel]], local_index[ends["~to"][sel]]))
    edges: dict[EdgeType, EdgeSet] = {}
    edge_ids_seen: dict[str, tuple[_File, int]] = {}
    for et, parts in per_type.items():
        props, values = _merge_props([p[0] for p in parts], [p[1] for p in parts], f"edges {et!r}")
        ids = np.concatenate([p[0].frame["~id"].to_numpy(dtype=object)[p[1]] for p in parts])
        edges[et] = EdgeSet(edge_type=et, ids=[str(x) for x in ids], src=np.concatenate([p[2] for p in parts]),
                            dst=np.concatenate([p[3] for p in parts]), properties=props, values=values,
                            files=list(dict.fromkeys(p[0].path for p in parts)))
    all_edge_ids = pd.Index(np.concatenate([f.frame["~id"].to_numpy(dtype=object) for f in edge_files])
                            if edge_files else [])
    if not all_edge_ids.is_unique:
        dup_id = all_edge_ids[all_edge_ids.duplicated()][0]
        for f in edge_files:
            hits = np.flatnonzero(f.frame["~id"].to_numpy(dtype=object) == dup_id)
            for h in hits:
                if dup_id in edge_ids_seen:
                    fa, ra = edge_ids_seen[dup_id]
                    raise _fail(f.path, f.where(int(h), "~id"),
                                f"the edge ~id {dup_id!r} is declared again; it was first declared at {fa.path}, "
                                f"{fa.where(ra, '~id')}. Give each edge a unique ~id.")
                edge_ids_seen[dup_id] = (f, int(h))
    for line in notes:
        _warnings.warn(line, GremlinCsvWarning, stacklevel=2)
    return GremlinGraph(nodes=nodes, edges=edges, files=[f.path for f in node_files + edge_files], source=str(root),
                        warnings=notes)
