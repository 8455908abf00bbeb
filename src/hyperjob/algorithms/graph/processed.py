"""The processed graph: the one file format between the processing step and the graph training programs.

The processing step (Gremlin CSV export → features, target, split) writes a :class:`ProcessedGraph` once with
:meth:`ProcessedGraph.save`; every training job of a tuning job reads it with :meth:`ProcessedGraph.load` from
its ``train`` channel (``SM_CHANNEL_TRAIN`` / ``HYPERJOB_CHANNEL_TRAIN``). Nothing is parsed at training time.

On disk a processed graph is a directory with two files:

* ``graph.json``: every field that is not a tensor (node and edge types, ids, names, task, meta) plus the
  format version;
* ``tensors.pt``: ``torch.save`` of a flat ``dict[str, Tensor]`` (node features, edges, edge features, labels,
  split), read back with ``torch.load(weights_only=True)``.

Example:
    >>> import torch
    >>> g = ProcessedGraph(
    ...     node_types=["user"], num_nodes={"user": 3}, node_ids={"user": ["a", "b", "c"]},
    ...     node_features={}, feature_names={}, edge_types=[("user", "follows", "user")],
    ...     edges={("user", "follows", "user"): torch.tensor([[0, 1], [1, 2]])}, edge_features={},
    ...     task="node_class", target_node_type="user", labels=torch.tensor([0, 1, -1]),
    ...     class_names=["x", "y"], multi_label=False, target_edge_type=None,
    ...     split={"train": torch.tensor([0]), "validation": torch.tensor([1]), "test": torch.tensor([], dtype=torch.int64)},
    ...     meta={})
    >>> g.validate()
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from hyperjob.errors import SpecError

__all__ = ["ProcessedGraph", "TASKS", "SPLITS", "FORMAT_VERSION", "edge_type_key", "parse_edge_type_key"]

FORMAT_VERSION = 1
TASKS = ("node_class", "node_regression", "link_prediction")
SPLITS = ("train", "validation", "test")
_GRAPH_JSON = "graph.json"
_TENSORS_PT = "tensors.pt"
_SEP = "|"  # separator of an edge type written as one string: "src|label|dst"

EdgeType = tuple[str, str, str]


def edge_type_key(edge_type: EdgeType) -> str:
    """Write an edge type ``(src, label, dst)`` as one string ``"src|label|dst"`` (JSON keys, tensor names)."""
    return _SEP.join(edge_type)


def parse_edge_type_key(key: str) -> EdgeType:
    """Read back :func:`edge_type_key`.

    Raises:
        SpecError: the key does not have exactly three ``|``-separated parts.
    """
    parts = key.split(_SEP)
    if len(parts) != 3:
        raise SpecError(
            f"edge type {key!r} must be 'source node type|edge label|destination node type' (3 parts), "
            f"got {len(parts)} part(s). Rewrite the processed graph with the processing step."
        )
    return (parts[0], parts[1], parts[2])


@dataclass
class ProcessedGraph:
    """A heterogeneous graph with everything a graph training job needs, and nothing left to parse.

    Attributes:
        node_types: node type names, e.g. ``["airport", "country"]``.
        num_nodes: number of nodes per node type.
        node_ids: original Gremlin ``~id`` per node type; the index of a node is its position in this list.
        node_features: float32 ``[n, d]`` per node type; a type without features is absent.
        feature_names: column names of ``node_features`` per node type (``len == d``).
        edge_types: ``(source node type, edge label, destination node type)`` triples.
        edges: int64 ``[2, m]`` per edge type; row 0 source index, row 1 destination index.
        edge_features: optional float32 ``[m, d]`` per edge type.
        task: ``"node_class"``, ``"node_regression"`` or ``"link_prediction"``.
        target_node_type: the node type whose nodes are classified / regressed (node tasks), else None.
        labels: node_class: int64 ``[n]`` (-1 = no label) or float32 ``[n, C]`` of 0/1 when ``multi_label``;
            node_regression: float32 ``[n]`` (nan = no label); link_prediction: None.
        class_names: class names of node_class (index = class id); empty otherwise.
        multi_label: whether a node may carry several classes (node_class only).
        target_edge_type: the edge type whose edges are predicted (link_prediction), else None.
        split: ``"train"`` / ``"validation"`` / ``"test"`` → int64 indices. Node tasks: indices of target nodes;
            link_prediction: indices into ``edges[target_edge_type]``. The trainer removes validation and test
            edges from message passing.
        meta: free JSON (source directory, seed, feature encodings, ...).
    """

    node_types: list[str]
    num_nodes: dict[str, int]
    node_ids: dict[str, list[str]]
    node_features: dict[str, torch.Tensor]
    feature_names: dict[str, list[str]]
    edge_types: list[EdgeType]
    edges: dict[EdgeType, torch.Tensor]
    edge_features: dict[EdgeType, torch.Tensor]
    task: str
    target_node_type: str | None
    labels: torch.Tensor | None
    class_names: list[str]
    multi_label: bool
    target_edge_type: EdgeType | None
    split: dict[str, torch.Tensor]
    meta: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ derived views
    @property
    def num_classes(self) -> int:
        """Number of classes of a node_class graph (0 for other tasks)."""
        if self.task != "node_class" or self.labels is None:
            return 0
        if self.multi_label:
            return int(self.labels.shape[1])
        return max(len(self.class_names), int(self.labels.max().item()) + 1 if self.labels.numel() else 0)

    @property
    def num_edges(self) -> int:
        """Total number of edges over all edge types."""
        return int(sum(int(e.shape[1]) for e in self.edges.values()))

    @property
    def total_nodes(self) -> int:
        """Total number of nodes over all node types."""
        return int(sum(self.num_nodes.values()))

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike[str]) -> None:
        """Write ``graph.json`` and ``tensors.pt`` into ``directory`` (created if missing).

        Args:
            directory: target directory; existing files of the same names are replaced.

        Raises:
            SpecError: the graph does not pass :meth:`validate`.
        """
        self.validate()
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        tensors: dict[str, torch.Tensor] = {}
        for nt, x in self.node_features.items():
            tensors[f"node_features/{nt}"] = x.contiguous()
        for et, e in self.edges.items():
            tensors[f"edges/{edge_type_key(et)}"] = e.contiguous()
        for et, x in self.edge_features.items():
            tensors[f"edge_features/{edge_type_key(et)}"] = x.contiguous()
        if self.labels is not None:
            tensors["labels"] = self.labels.contiguous()
        for name, idx in self.split.items():
            tensors[f"split/{name}"] = idx.contiguous()
        doc = {
            "format_version": FORMAT_VERSION,
            "node_types": list(self.node_types),
            "num_nodes": {k: int(v) for k, v in self.num_nodes.items()},
            "node_ids": {k: [str(i) for i in v] for k, v in self.node_ids.items()},
            "feature_names": {k: list(v) for k, v in self.feature_names.items()},
            "edge_types": [list(et) for et in self.edge_types],
            "task": self.task,
            "target_node_type": self.target_node_type,
            "class_names": list(self.class_names),
            "multi_label": bool(self.multi_label),
            "target_edge_type": list(self.target_edge_type) if self.target_edge_type else None,
            "meta": self.meta,
        }
        try:
            text = json.dumps(doc, indent=1)
        except (TypeError, ValueError) as exc:
            raise SpecError(f"must hold JSON values only (str, number, bool, None, list, dict): {exc}.",
                            path="meta") from None
        torch.save(tensors, out / _TENSORS_PT)
        (out / _GRAPH_JSON).write_text(text, encoding="utf-8")

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> "ProcessedGraph":
        """Read a processed graph written by :meth:`save` and validate it.

        Args:
            directory: the directory holding ``graph.json`` and ``tensors.pt``.

        Returns:
            The validated graph.

        Raises:
            SpecError: the directory or a file is missing, unreadable, of another format version, or the graph
                fails :meth:`validate`.
        """
        src = Path(directory)
        gj, tp = src / _GRAPH_JSON, src / _TENSORS_PT
        fix = "Point the train channel at a directory written by the graph processing step."
        for f in (gj, tp):
            if not f.is_file():
                raise SpecError(f"processed graph file {str(f)!r} does not exist. {fix}")
        try:
            doc = json.loads(gj.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SpecError(f"processed graph file {str(gj)!r} is not valid JSON ({exc}). {fix}") from exc
        try:
            tensors = torch.load(tp, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises many types for a bad file
            raise SpecError(f"processed graph file {str(tp)!r} cannot be read by torch.load ({exc}). {fix}") from exc
        if not isinstance(doc, dict) or not isinstance(tensors, dict):
            raise SpecError(f"processed graph in {str(src)!r} is malformed: expected a JSON object and a dict of tensors. {fix}")
        version = doc.get("format_version")
        if version != FORMAT_VERSION:
            raise SpecError(
                f"{str(gj)!r}: format_version {version!r} is not supported (this hyperjob reads {FORMAT_VERSION}). "
                f"Re-run the graph processing step with this hyperjob version."
            )
        try:
            edge_types = [tuple(et) for et in doc["edge_types"]]
            node_features, edges, edge_features, split = {}, {}, {}, {}
            labels = None
            for key, value in tensors.items():
                kind, _, name = key.partition("/")
                if kind == "node_features":
                    node_features[name] = value
                elif kind == "edges":
                    edges[parse_edge_type_key(name)] = value
                elif kind == "edge_features":
                    edge_features[parse_edge_type_key(name)] = value
                elif kind == "split":
                    split[name] = value
                elif key == "labels":
                    labels = value
            tet = doc.get("target_edge_type")
            graph = cls(
                node_types=list(doc["node_types"]),
                num_nodes={k: int(v) for k, v in doc["num_nodes"].items()},
                node_ids={k: list(v) for k, v in doc["node_ids"].items()},
                node_features=node_features,
                feature_names={k: list(v) for k, v in doc.get("feature_names", {}).items()},
                edge_types=edge_types,  # type: ignore[arg-type]
                edges=edges,
                edge_features=edge_features,
                task=doc["task"],
                target_node_type=doc.get("target_node_type"),
                labels=labels,
                class_names=list(doc.get("class_names", [])),
                multi_label=bool(doc.get("multi_label", False)),
                target_edge_type=tuple(tet) if tet else None,  # type: ignore[arg-type]
                split=split,
                meta=dict(doc.get("meta", {})),
            )
        except KeyError as exc:
            raise SpecError(f"{str(gj)!r}: required field {exc.args[0]!r} is missing. {fix}") from exc
        try:
            graph.validate()
        except SpecError as exc:
            raise exc.at(source=str(src)) from exc
        return graph

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Check shapes, dtypes, index bounds, the task's target and split disjointness.

        Raises:
            SpecError: naming the field path and the offending value.
        """
        if self.task not in TASKS:
            raise SpecError(f"task must be one of {list(TASKS)}, got {self.task!r}.", path="task")
        if len(set(self.node_types)) != len(self.node_types):
            raise SpecError(f"node types must be unique, got {self.node_types}.", path="node_types")
        for nt in self.node_types:
            n = self.num_nodes.get(nt)
            if n is None or n < 0:
                raise SpecError(f"node type {nt!r} has no (or a negative) node count: {n!r}.", path=f"num_nodes.{nt}")
            ids = self.node_ids.get(nt)
            if ids is None or len(ids) != n:
                raise SpecError(
                    f"node type {nt!r} has {n} nodes but {None if ids is None else len(ids)} ids; give one ~id per node.",
                    path=f"node_ids.{nt}",
                )
        for name in ("num_nodes", "node_ids", "node_features", "feature_names"):
            extra = set(getattr(self, name)) - set(self.node_types)
            if extra:
                raise SpecError(f"unknown node type(s) {sorted(extra)}; known: {self.node_types}.", path=name)
        for nt, x in self.node_features.items():
            if x.dtype != torch.float32 or x.dim() != 2 or x.shape[0] != self.num_nodes[nt]:
                raise SpecError(
                    f"node features of {nt!r} must be float32 [{self.num_nodes[nt]}, d], "
                    f"got {x.dtype} {list(x.shape)}.",
                    path=f"node_features.{nt}",
                )
            names = self.feature_names.get(nt)
            if names is not None and len(names) != x.shape[1]:
                raise SpecError(
                    f"{len(names)} feature names for {x.shape[1]} feature columns of {nt!r}.",
                    path=f"feature_names.{nt}",
                )
        for et in self.edge_types:
            if len(et) != 3 or et[0] not in self.num_nodes or et[2] not in self.num_nodes:
                raise SpecError(
                    f"edge type {et!r} must be (source node type, label, destination node type) with known node "
                    f"types {self.node_types}.",
                    path="edge_types",
                )
            e = self.edges.get(et)
            if e is None:
                raise SpecError(f"edge type {et!r} has no edge tensor.", path=f"edges.{edge_type_key(et)}")
        for et, e in self.edges.items():
            p = f"edges.{edge_type_key(et)}"
            if et not in self.edge_types:
                raise SpecError(f"edge type {et!r} is not listed in edge_types {self.edge_types}.", path=p)
            if e.dtype != torch.int64 or e.dim() != 2 or e.shape[0] != 2:
                raise SpecError(f"edges must be int64 [2, m], got {e.dtype} {list(e.shape)}.", path=p)
            if e.numel():
                for row, nt in ((0, et[0]), (1, et[2])):
                    lo, hi = int(e[row].min()), int(e[row].max())
                    if lo < 0 or hi >= self.num_nodes[nt]:
                        raise SpecError(
                            f"{'source' if row == 0 else 'destination'} index out of range [0, {self.num_nodes[nt]}) "
                            f"of node type {nt!r}: min {lo}, max {hi}.",
                            path=p,
                        )
        for et, x in self.edge_features.items():
            p = f"edge_features.{edge_type_key(et)}"
            if et not in self.edges:
                raise SpecError(f"edge features for unknown edge type {et!r}.", path=p)
            m = int(self.edges[et].shape[1])
            if x.dtype != torch.float32 or x.dim() != 2 or x.shape[0] != m:
                raise SpecError(f"edge features must be float32 [{m}, d], got {x.dtype} {list(x.shape)}.", path=p)
        self._validate_target()
        self._validate_split()

    def _validate_target(self) -> None:
        if self.task == "link_prediction":
            if self.target_edge_type is None or self.target_edge_type not in self.edges:
                raise SpecError(
                    f"link_prediction needs a target edge type among {self.edge_types}, got {self.target_edge_type!r}.",
                    path="target_edge_type",
                )
            return
        nt = self.target_node_type
        if nt not in self.num_nodes:
            raise SpecError(
                f"{self.task} needs a target node type among {self.node_types}, got {nt!r}.", path="target_node_type"
            )
        n = self.num_nodes[nt]
        y = self.labels
        if y is None:
            raise SpecError(f"{self.task} needs labels for node type {nt!r}, got none.", path="labels")
        if self.task == "node_regression":
            if y.dtype != torch.float32 or y.dim() != 1 or y.shape[0] != n:
                raise SpecError(f"node_regression labels must be float32 [{n}], got {y.dtype} {list(y.shape)}.", path="labels")
        elif self.multi_label:
            if y.dtype != torch.float32 or y.dim() != 2 or y.shape[0] != n:
                raise SpecError(
                    f"multi-label node_class labels must be float32 [{n}, C] of 0/1, got {y.dtype} {list(y.shape)}.",
                    path="labels",
                )
            if y.numel() and not bool(((y == 0) | (y == 1)).all()):
                raise SpecError("multi-label node_class labels must be 0 or 1.", path="labels")
        else:
            if y.dtype != torch.int64 or y.dim() != 1 or y.shape[0] != n:
                raise SpecError(f"node_class labels must be int64 [{n}] (-1 = no label), got {y.dtype} {list(y.shape)}.", path="labels")
            if y.numel() and int(y.min()) < -1:
                raise SpecError(f"node_class labels must be >= -1 (-1 = no label), got {int(y.min())}.", path="labels")
            if self.class_names and y.numel() and int(y.max()) >= len(self.class_names):
                raise SpecError(
                    f"label {int(y.max())} has no class name ({len(self.class_names)} class names).", path="labels"
                )

    def _validate_split(self) -> None:
        missing = [s for s in ("train",) if s not in self.split]
        if missing:
            raise SpecError(f"split needs at least 'train', got {sorted(self.split)}.", path="split")
        extra = set(self.split) - set(SPLITS)
        if extra:
            raise SpecError(f"unknown split name(s) {sorted(extra)}; use {list(SPLITS)}.", path="split")
        if self.task == "link_prediction":
            assert self.target_edge_type is not None
            bound = int(self.edges[self.target_edge_type].shape[1])
            what = f"edges of {self.target_edge_type!r}"
        else:
            assert self.target_node_type is not None
            bound = self.num_nodes[self.target_node_type]
            what = f"nodes of {self.target_node_type!r}"
        seen: dict[str, torch.Tensor] = {}
        for name, idx in self.split.items():
            p = f"split.{name}"
            if idx.dtype != torch.int64 or idx.dim() != 1:
                raise SpecError(f"split indices must be int64 [k], got {idx.dtype} {list(idx.shape)}.", path=p)
            if idx.numel():
                lo, hi = int(idx.min()), int(idx.max())
                if lo < 0 or hi >= bound:
                    raise SpecError(f"index out of range [0, {bound}) of the {what}: min {lo}, max {hi}.", path=p)
                if idx.unique().numel() != idx.numel():
                    raise SpecError("split indices must not repeat.", path=p)
            for other, oidx in seen.items():
                common = torch.isin(idx, oidx)
                if bool(common.any()):
                    raise SpecError(
                        f"splits {other!r} and {name!r} share {int(common.sum())} index(es), e.g. "
                        f"{int(idx[common][0])}; the splits must be disjoint.",
                        path=p,
                    )
            seen[name] = idx
        if self.split["train"].numel() == 0:
            raise SpecError(f"the train split is empty; the task needs labelled {what} to train on.", path="split.train")
