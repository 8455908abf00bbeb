"""The processing step: a Gremlin CSV export becomes a :class:`ProcessedGraph` (features, target, split), once.

Training jobs only load the result (:meth:`ProcessedGraph.load`); nothing is parsed at training time.
``docs/graph.md`` is the user's reference of the rules below.

Features (per node type; per edge type for edge features), each property by its kind:

- ``int`` / ``float`` / ``bool``: one numeric column; a missing value takes the median (Neptune's ``imputer:
  median``); then min-max normalised to ``[0, 1]`` (Neptune's ``norm: min-max``; ``norm="none"`` keeps the
  values as they are). A constant column is left out.
- ``date``: three numeric columns (year, month, weekday), imputed and normalised as above.
- ``string``: if every value is distinct (an identifier), or more than ``max_categories`` distinct values make
  up more than 90 % of the values (free text), it is left out; otherwise one-hot with up to ``max_categories``
  distinct values, else *embedded*: each distinct value gets a fixed pseudo-random vector of ``embed_dim``
  numbers (seeded by the value's CRC-32, so the same value always gets the same vector). A missing value is
  all zeros.
- ``string[]`` (``;``-separated, multi-valued): multi-hot (or the mean of the values' vectors when embedded).
- numeric arrays (``embedding:Double[]``): used as they are, one column per position; every node must have the
  same length (else an error); a node without a value gets zeros.
- The target property is never a feature. Edge features are numeric properties only.

Target: a node property ``label.property`` for ``node_class`` (single-valued: int64 class ids, ``-1`` = no
label; an array property: multi-label) and ``node_regression`` (a numeric property: float32, NaN = no label);
an edge label (or ``source,label,destination``) for ``link_prediction``.

Split: the labelled nodes (or the target edges) are shuffled with ``seed`` and cut by ``split`` fractions,
Neptune's defaults ``(0.9, 0.1, 0.0)`` for nodes and edges alike.
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch

from hyperjob.algorithms.graph.metrics import IMBALANCE_RATIO, default_metric
from hyperjob.algorithms.graph.gremlin import EdgeType, GremlinGraph, NodeSet, Property, read_gremlin_csv
from hyperjob.algorithms.graph.processed import ProcessedGraph
from hyperjob.errors import SpecError, did_you_mean

__all__ = [
    "DEFAULT_SPLIT",
    "IMBALANCE_RATIO",
    "TASKS",
    "default_eval_metric",
    "parse_target",
    "process_graph",
]

TASKS = ("node_class", "node_regression", "link_prediction")
#: Neptune's default split when none is given: train, validation, test
DEFAULT_SPLIT = (0.9, 0.1, 0.0)
NORMS = ("min-max", "none")
_TEXT_SHARE = 0.9


# --------------------------------------------------------------------------------------------------------------
# target


def _closest(word: str, known: Sequence[str]) -> str:
    folded = [k for k in known if k.lower() == word.lower()]
    if folded:
        return f" Did you mean {folded[0]!r}? (labels and properties are case-sensitive)"
    return did_you_mean(word, known)


def parse_target(graph: GremlinGraph, task: str, target: str | None) -> tuple[str, str] | EdgeType:
    """Resolve ``target`` against the graph.

    Args:
        graph: the export, read.
        task: ``node_class``, ``node_regression`` or ``link_prediction``.
        target: ``label.property`` for node tasks; an edge label (``route``) or ``source,label,destination``
            (``airport,route,airport``) for link prediction.

    Returns:
        ``(node type, property)`` for node tasks, the edge type for link prediction.

    Raises:
        SpecError: at ``target``, naming what exists.
    """
    if task not in TASKS:
        raise SpecError(f"unknown task {task!r}. Use one of {', '.join(TASKS)}.", path="task")
    if task == "link_prediction":
        if not target:
            if len(graph.edges) == 1:
                return next(iter(graph.edges))
            raise SpecError(f"link_prediction needs the edge label to predict; the graph has "
                            f"{', '.join(sorted({et[1] for et in graph.edges})) or 'no edges'}. Give e.g. "
                            f"--target {next(iter(graph.edges))[1] if graph.edges else 'LABEL'}.", path="target")
        parts = [p.strip() for p in target.split(",")]
        if len(parts) == 3:
            et = (parts[0], parts[1], parts[2])
            if et not in graph.edges:
                raise SpecError(f"the graph has no edge type {target!r}; it has "
                                f"{', '.join(','.join(e) for e in graph.edges)}.", path="target")
            return et
        if len(parts) != 1:
            raise SpecError(f"a link_prediction target is an edge label or 'source,label,destination', got "
                            f"{target!r}.", path="target")
        found = graph.edge_types_with_label(parts[0])
        if not found:
            labels = sorted({et[1] for et in graph.edges})
            raise SpecError(f"no edge has the label {parts[0]!r}; the edge labels are {', '.join(labels)}."
                            f"{_closest(parts[0], labels)}", path="target")
        if len(found) > 1:
            raise SpecError(f"the label {parts[0]!r} joins several node types: "
                            f"{'; '.join(','.join(e) for e in found)}. Give one as 'source,label,destination'.",
                            path="target")
        return found[0]
    if not target or "." not in target:
        raise SpecError(f"a {task} target is 'label.property' (e.g. airport.elev), got {target!r}.", path="target")
    label, prop = (x.strip() for x in target.split(".", 1))
    if label not in graph.nodes:
        raise SpecError(f"no node has the label {label!r}; the node labels are {', '.join(graph.nodes)}."
                        f"{_closest(label, list(graph.nodes))}", path="target")
    props = graph.nodes[label].properties
    if prop not in props:
        raise SpecError(f"nodes labelled {label!r} have no property {prop!r}; they have "
                        f"{', '.join(props) or 'none'}.{_closest(prop, list(props))}", path="target")
    return label, prop


def _present(values: pd.Series) -> np.ndarray:
    return values.notna().to_numpy(dtype=bool)


def _labels(nodes: NodeSet, prop: str, task: str) -> tuple[torch.Tensor, list[str], bool, np.ndarray, dict]:
    """``(labels, class names, multi-label, labelled mask, meta)`` of the target property."""
    p = nodes.properties[prop]
    values = nodes.values[prop]
    mask = _present(values)
    where = f"column {prop!r} of the nodes labelled {nodes.label!r} in {', '.join(nodes.files)}"
    if not mask.any():
        raise SpecError(f"the target is empty: no node has a value in the {where}. Choose a property that has "
                        "values, or fill them in.", path="target")
    if task == "node_regression":
        if p.kind not in ("int", "float", "bool") or p.array:
            raise SpecError(f"node_regression needs a numeric target, but the {where} holds {p.kind}"
                            f"{'[]' if p.array else ''} values (e.g. {values[mask].iloc[0]!r}). Use --task "
                            "node_class, or a numeric property.", path="target")
        y = torch.tensor(values.to_numpy(dtype=np.float64), dtype=torch.float32)
        return y, [], False, mask, {"target_min": float(np.nanmin(values)), "target_max": float(np.nanmax(values))}
    if p.array:
        lists = values[mask]
        names = sorted({str(_label_text(v, p)) for vs in lists for v in vs})
        index = {n: i for i, n in enumerate(names)}
        y = torch.zeros((len(values), len(names)), dtype=torch.float32)
        for row, vs in zip(np.flatnonzero(mask), lists):
            for v in vs:
                y[row, index[str(_label_text(v, p))]] = 1.0
        counts = y[torch.tensor(mask)].sum(0)
        multi = True
    else:
        present = values[mask]
        if p.kind in ("int", "float", "bool"):
            uniq = sorted(set(present.tolist()))
            names = [_label_text(u, p) for u in uniq]
            codes = pd.Index(uniq).get_indexer(present.tolist())
        elif p.kind == "date":
            text = present.dt.strftime("%Y-%m-%d")
            names = sorted(set(text))
            codes = pd.Index(names).get_indexer(text)
        else:
            names = sorted(set(present.astype(str)))
            codes = pd.Index(names).get_indexer(present.astype(str))
        y = torch.full((len(values),), -1, dtype=torch.int64)
        y[torch.from_numpy(np.flatnonzero(mask))] = torch.from_numpy(codes.astype(np.int64))
        counts = torch.bincount(y[y >= 0], minlength=len(names)).float()
        multi = False
    if len(names) < 2:
        raise SpecError(f"the target has one class only ({names[0]!r}) in the {where}; classification needs at "
                        "least two. Choose another property.", path="target")
    imbalanced = bool(counts.max() >= IMBALANCE_RATIO * counts.min())
    meta = {"class_counts": {n: int(c) for n, c in zip(names, counts.tolist())}, "imbalanced": imbalanced}
    return y, names, multi, mask, meta


def _label_text(v: Any, p: Property) -> str:
    if p.kind == "int":
        return str(int(v))
    if p.kind == "float":
        return f"{float(v):g}"
    if p.kind == "bool":
        return "true" if v else "false"
    return str(v)


# --------------------------------------------------------------------------------------------------------------
# features


def _numeric_block(x: np.ndarray, norm: str) -> np.ndarray | None:
    """Impute with the median, min-max normalise; ``None`` for a column with fewer than 2 distinct values."""
    x = x.astype(np.float64)
    finite = np.isfinite(x)
    if finite.sum() == 0:
        return None
    med = float(np.median(x[finite]))
    x = np.where(finite, x, med)
    lo, hi = float(x.min()), float(x.max())
    if hi <= lo:
        return None
    return (x - lo) / (hi - lo) if norm == "min-max" else x


def _value_vector(value: str, dim: int) -> np.ndarray:
    rng = np.random.default_rng(zlib.crc32(value.encode("utf-8")))
    return rng.standard_normal(dim) / math.sqrt(dim)


def _string_block(values: pd.Series, array: bool, max_categories: int, embed_dim: int
                  ) -> tuple[np.ndarray | None, list[str], str]:
    """One-hot / multi-hot or embedded columns of a string property: ``(block, value names, encoding)``."""
    mask = _present(values)
    present = values[mask]
    lists = [list(map(str, v)) for v in present] if array else [[str(v)] for v in present]
    flat = [v for vs in lists for v in vs]
    distinct = sorted(set(flat))
    k, n = len(distinct), len(flat)
    if k < 2:
        return None, [], "left out: fewer than 2 distinct values"
    if not array and k == n:
        return None, [], "left out: every value is distinct (an identifier)"
    rows = np.flatnonzero(mask)
    if k <= max_categories:
        index = {v: i for i, v in enumerate(distinct)}
        block = np.zeros((len(values), k), dtype=np.float32)
        for r, vs in zip(rows, lists):
            block[r, [index[v] for v in vs]] = 1.0
        return block, distinct, "multi-hot" if array else "one-hot"
    if k > _TEXT_SHARE * n:
        return None, [], f"left out: {k} distinct values in {n} (free text; text features are not built)"
    table = {v: _value_vector(v, embed_dim) for v in distinct}
    block = np.zeros((len(values), embed_dim), dtype=np.float32)
    for r, vs in zip(rows, lists):
        block[r] = np.mean([table[v] for v in vs], axis=0)
    return block, [], f"embedded ({k} distinct values, dim {embed_dim})"


def _features(values: dict[str, pd.Series], props: dict[str, Property], exclude: str | None, owner: str,
              files: list[str], norm: str, max_categories: int, embed_dim: int, numeric_only: bool
              ) -> tuple[np.ndarray | None, list[str], list[dict[str, Any]]]:
    blocks: list[np.ndarray] = []
    names: list[str] = []
    report: list[dict[str, Any]] = []
    for key, p in props.items():
        if key == exclude:
            report.append({"property": key, "encoding": "left out: the target"})
            continue
        v = values[key]
        if not _present(v).any():
            report.append({"property": key, "encoding": "left out: no values"})
            continue
        block: np.ndarray | None = None
        cols: list[str] = []
        if p.kind in ("int", "float", "bool") and not p.array:
            block = _numeric_block(v.to_numpy(dtype=np.float64), norm)
            cols, how = [key], (f"numeric ({norm})" if block is not None else "left out: constant")
            block = None if block is None else block[:, None]
        elif p.kind == "date" and not p.array:
            dt = pd.to_datetime(v)
            parts = {"year": dt.dt.year, "month": dt.dt.month, "weekday": dt.dt.weekday}
            made = [(f"{key}.{n}", _numeric_block(s.to_numpy(dtype=np.float64), norm)) for n, s in parts.items()]
            made = [(n, b) for n, b in made if b is not None]
            if made:
                block = np.stack([b for _, b in made], axis=1)
                cols = [n for n, _ in made]
            how = "date (year, month, weekday)" if made else "left out: constant"
        elif numeric_only:
            how = f"left out: edge features are numeric, this is {p.kind}{'[]' if p.array else ''}"
        elif p.kind in ("int", "float", "bool") and p.array:
            mask = _present(v)
            lengths = {len(x) for x in v[mask]}
            if len(lengths) > 1:
                raise SpecError(f"the array property {key!r} of {owner} (in {', '.join(files)}) has arrays of "
                                f"lengths {sorted(lengths)[:5]}; a numeric array feature (e.g. an embedding) needs "
                                f"one length. Make them equal, or declare it '{key}:String[]' to read its values as "
                                "categories.", path=f"features.{key}")
            width = lengths.pop()
            block = np.zeros((len(v), width), dtype=np.float32)
            block[np.flatnonzero(mask)] = np.asarray(list(v[mask]), dtype=np.float32)
            cols, how = [f"{key}[{i}]" for i in range(width)], f"numeric array as is ({width} values)"
        elif p.kind == "string":
            block, distinct, how = _string_block(v, p.array, max_categories, embed_dim)
            if block is not None:
                cols = [f"{key}={d}" for d in distinct] if distinct else [f"{key}#{i}" for i in range(block.shape[1])]
        else:
            how = f"left out: {p.kind}[] arrays are not turned into features"
        report.append({"property": key, "encoding": how, "columns": len(cols) if block is not None else 0})
        if block is not None:
            blocks.append(block.astype(np.float32))
            names.extend(cols)
    if not blocks:
        return None, [], report
    return np.concatenate(blocks, axis=1), names, report


# --------------------------------------------------------------------------------------------------------------
# split


def _check_split(split: Sequence[float] | None) -> tuple[float, float, float]:
    if split is None:
        return DEFAULT_SPLIT
    try:
        fr = tuple(float(x) for x in split)
    except (TypeError, ValueError):
        raise SpecError(f"split must be three fractions (train, validation, test), got {split!r}.",
                        path="split") from None
    if len(fr) != 3 or any(not math.isfinite(x) or x < 0 for x in fr) or abs(sum(fr) - 1) > 1e-6 or fr[0] <= 0:
        raise SpecError(f"split must be three fractions >= 0 (train > 0) that add up to 1, got {list(split)!r}. "
                        "Use e.g. 0.9,0.1,0.0 (Neptune's default).", path="split")
    return fr  # type: ignore[return-value]


def _split(indices: np.ndarray, fractions: tuple[float, float, float], seed: int) -> dict[str, torch.Tensor]:
    rng = np.random.default_rng(seed)
    perm = indices[rng.permutation(len(indices))]
    n = len(perm)
    n_val = int(round(fractions[1] * n))
    n_test = int(round(fractions[2] * n))
    if fractions[1] > 0 and n_val == 0 and n >= 3:
        n_val = 1
    if fractions[2] > 0 and n_test == 0 and n >= 3:
        n_test = 1
    n_train = n - n_val - n_test
    if n_train <= 0:
        raise SpecError(f"the split {list(fractions)} of {n} target item(s) leaves no training item. Use a larger "
                        "train fraction or more labels.", path="split")
    cut = [perm[:n_train], perm[n_train:n_train + n_val], perm[n_train + n_val:]]
    return {name: torch.from_numpy(np.sort(c).astype(np.int64)) for name, c in
            zip(("train", "validation", "test"), cut)}


# --------------------------------------------------------------------------------------------------------------
# the step


def process_graph(
    export: "str | Path | GremlinGraph",
    *,
    task: str,
    target: str | None,
    out: "str | Path | None" = None,
    seed: int = 0,
    split: Sequence[float] | None = None,
    norm: str = "min-max",
    max_categories: int = 100,
    embed_dim: int = 16,
    skip_bad_rows: bool = False,
    overwrite: bool = False,
) -> ProcessedGraph:
    """Turn a Gremlin CSV export into a :class:`ProcessedGraph` and (with ``out``) write it once.

    Args:
        export: the export folder, or a graph read by :func:`read_gremlin_csv`.
        task: ``node_class``, ``node_regression`` or ``link_prediction``.
        target: ``label.property`` (node tasks), or an edge label / ``source,label,destination``
            (link prediction; may be left out when the graph has one edge type).
        out: the folder to write ``graph.json`` and ``tensors.pt`` into (``None``: not written).
        seed: the split's seed.
        split: train / validation / test fractions (default ``(0.9, 0.1, 0.0)``).
        norm: ``min-max`` (default) or ``none`` for numeric properties.
        max_categories: the most distinct values a string property is one-hot encoded with (more: embedded).
        embed_dim: the length of an embedded string property's vectors.
        skip_bad_rows: see :func:`read_gremlin_csv`.
        overwrite: replace a processed graph already in ``out`` (default: an error).

    Returns:
        The processed graph (validated).

    Raises:
        SpecError: bad input (see :func:`read_gremlin_csv`), a target that does not exist or is empty, a bad
            split, or ``out`` already holding a processed graph.
    """
    if norm not in NORMS:
        raise SpecError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}.", path="norm")
    if not isinstance(max_categories, int) or max_categories < 2:
        raise SpecError(f"max_categories must be a whole number >= 2, got {max_categories!r}.", path="max_categories")
    if not isinstance(embed_dim, int) or embed_dim < 1:
        raise SpecError(f"embed_dim must be a whole number >= 1, got {embed_dim!r}.", path="embed_dim")
    fractions = _check_split(split)
    if out is not None and (Path(out) / "graph.json").exists() and not overwrite:
        raise SpecError(f"{out} already holds a processed graph. Choose another folder, or overwrite it "
                        "(CLI: --force).", path="out")
    graph = export if isinstance(export, GremlinGraph) else read_gremlin_csv(export, skip_bad_rows=skip_bad_rows)
    resolved = parse_target(graph, task, target)
    meta: dict[str, Any] = {"source": graph.source, "seed": seed, "split_fractions": list(fractions),
                            "norm": norm, "max_categories": max_categories, "embed_dim": embed_dim,
                            "warnings": list(graph.warnings), "features": {}, "edge_features": {}}

    target_type: str | None = None
    target_prop: str | None = None
    target_edge: EdgeType | None = None
    labels: torch.Tensor | None = None
    class_names: list[str] = []
    multi = False
    if task == "link_prediction":
        target_edge = resolved  # type: ignore[assignment]
        assert target_edge is not None
        items = np.arange(len(graph.edges[target_edge]))
        if len(items) < 2:
            raise SpecError(f"the target edge type {','.join(target_edge)} has {len(items)} edge(s); link "
                            "prediction needs at least 2.", path="target")
        meta["target"] = ",".join(target_edge)
    else:
        target_type, target_prop = resolved  # type: ignore[misc]
        labels, class_names, multi, mask, tmeta = _labels(graph.nodes[target_type], target_prop, task)
        items = np.flatnonzero(mask)
        meta["target"] = f"{target_type}.{target_prop}"
        meta.update(tmeta)

    node_features: dict[str, torch.Tensor] = {}
    feature_names: dict[str, list[str]] = {}
    for label, ns in graph.nodes.items():
        block, names, report = _features(ns.values, ns.properties, target_prop if label == target_type else None,
                                         f"the nodes labelled {label!r}", ns.files, norm, max_categories,
                                         embed_dim, numeric_only=False)
        meta["features"][label] = report
        if block is not None:
            node_features[label] = torch.from_numpy(np.ascontiguousarray(block, dtype=np.float32))
            feature_names[label] = names
    edges: dict[EdgeType, torch.Tensor] = {}
    edge_features: dict[EdgeType, torch.Tensor] = {}
    for et, es in graph.edges.items():
        edges[et] = torch.from_numpy(np.stack([es.src, es.dst]).astype(np.int64))
        block, names, report = _features(es.values, es.properties, None, f"the edges {','.join(et)}", es.files,
                                         norm, max_categories, embed_dim, numeric_only=True)
        meta["edge_features"][",".join(et)] = {"columns": names, "report": report}
        if block is not None:
            edge_features[et] = torch.from_numpy(np.ascontiguousarray(block, dtype=np.float32))

    meta["num_nodes_total"] = graph.num_nodes
    meta["num_edges_total"] = graph.num_edges
    split_indices = _split(items, fractions, seed)
    meta["train_size"] = int(split_indices["train"].numel())
    processed = ProcessedGraph(
        node_types=list(graph.nodes),
        num_nodes={k: len(v) for k, v in graph.nodes.items()},
        node_ids={k: list(v.ids) for k, v in graph.nodes.items()},
        node_features=node_features,
        feature_names=feature_names,
        edge_types=list(graph.edges),
        edges=edges,
        edge_features=edge_features,
        task=task,
        target_node_type=target_type,
        labels=labels,
        class_names=class_names,
        multi_label=multi,
        target_edge_type=target_edge,
        split=split_indices,
        meta=meta,
    )
    processed.validate()
    if out is not None:
        processed.save(out)
    return processed


def default_eval_metric(graph: ProcessedGraph) -> dict[str, Any]:
    """Neptune's default ``eval_metric`` for a processed graph (seed 000).

    ``acc`` for single-label classification, ``F1`` when its labels are imbalanced (the largest class has at
    least :data:`~hyperjob.algorithms.graph.metrics.IMBALANCE_RATIO` times the labelled nodes of the smallest,
    as the processing step records in ``meta["imbalanced"]``), ``roc_auc`` for multi-label, ``mse`` for
    regression, ``mrr`` for link prediction.
    """
    return {"metric": default_metric(graph.task, graph.multi_label, bool(graph.meta.get("imbalanced")))}

