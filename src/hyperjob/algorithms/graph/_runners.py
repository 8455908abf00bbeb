"""Per-task training and evaluation of the graph models, used by :mod:`hyperjob.algorithms.graph.train`.

A runner owns a model, its optimizers and its data, and offers the same small surface to the training loop:
``batches()`` (one epoch's mini-batches), ``train_step(batch)``, ``evaluate(split)``, ``state_dict()`` /
``load_state_dict()`` and ``write_predictions(split, directory)``.

* :class:`NodeRunner`: rgcn, node_class (single- or multi-label) and node_regression.
* :class:`RGCNLinkRunner`: rgcn, heterogeneous link prediction with a DistMult decoder on the target relation.
* :class:`KGERunner`: transe, distmult, rotate on the whole graph as a knowledge graph.

Message passing (rgcn) runs on the graph's edge types plus a reverse edge type for each (``rev-<label>``), so
information flows both ways. For link prediction the validation and test edges of the target edge type are
removed from the graph before training, and the positive edges of a mini-batch are excluded from its own
neighbour sample.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hyperjob.algorithms.graph import metrics as M
from hyperjob.algorithms.graph.models.kge import KGEModel
from hyperjob.algorithms.graph.models.rgcn import RGCN
from hyperjob.algorithms.graph.processed import ProcessedGraph
from hyperjob.algorithms.graph.sampler import NeighborSampler

__all__ = ["NodeRunner", "RGCNLinkRunner", "KGERunner", "message_passing_graph", "make_runner"]

EdgeType = tuple[str, str, str]
#: filtered ranking scores the true node against every node of its type up to this many, else a sample
FULL_RANKING_MAX = 20000
EVAL_CANDIDATES = 1000


def message_passing_graph(
    graph: ProcessedGraph, held_out: torch.Tensor | None = None
) -> tuple[dict[EdgeType, torch.Tensor], dict[EdgeType, torch.Tensor], dict[EdgeType, EdgeType]]:
    """The edges R-GCN passes messages along: every edge type and its reverse, less ``held_out`` target edges.

    Edge ids stay those of the processed graph (a reverse edge has its forward edge's id), so edge features
    and exclusions address both directions.

    Args:
        graph: the processed graph.
        held_out: edge ids of the target edge type to leave out (validation and test edges). The target
            relation's remaining edges (and their reverses) are renumbered 0..k-1 in their original order.

    Returns:
        ``(edges, edge_features, reverse)``: edge type → ``[2, m]``, edge type → ``[m, d]``, and forward edge
        type → its reverse edge type.
    """
    edges: dict[EdgeType, torch.Tensor] = {}
    feats: dict[EdgeType, torch.Tensor] = {}
    reverse: dict[EdgeType, EdgeType] = {}
    taken = set(graph.edge_types)
    for et in graph.edge_types:
        e = graph.edges[et]
        edges[et] = e
        rlabel = f"rev-{et[1]}"
        while (et[2], rlabel, et[0]) in taken:
            rlabel = f"rev-{rlabel}"
        ret = (et[2], rlabel, et[0])
        taken.add(ret)
        edges[ret] = e.flip(0)
        reverse[et] = ret
        if et in graph.edge_features:
            feats[et] = graph.edge_features[et]
            feats[ret] = graph.edge_features[et]
    if held_out is not None and graph.target_edge_type is not None and held_out.numel():
        et = graph.target_edge_type
        keep = torch.ones(graph.edges[et].shape[1], dtype=torch.bool)
        keep[held_out] = False
        ids = torch.nonzero(keep).squeeze(1)
        for t in (et, reverse[et]):
            edges[t] = edges[t][:, ids]
            if t in feats:
                feats[t] = feats[t][ids]
    return edges, feats, reverse


def _to(d: dict[Any, torch.Tensor], device: torch.device) -> dict[Any, torch.Tensor]:
    return {k: v.to(device) for k, v in d.items()}


class _Base:
    """What every runner shares: device, generator, hyperparameters, optimizers."""

    def __init__(self, graph: ProcessedGraph, hp: dict[str, Any], device: torch.device, seed: int) -> None:
        self.graph = graph
        self.hp = hp
        self.device = device
        self.generator = torch.Generator().manual_seed(seed)
        self.optimizers: list[torch.optim.Optimizer] = []

    def _chunks(self, idx: torch.Tensor, size: int, shuffle: bool) -> list[torch.Tensor]:
        if shuffle:
            idx = idx[torch.randperm(idx.numel(), generator=self.generator)]
        return list(torch.split(idx, size))

    def _step(self, loss: torch.Tensor) -> None:
        for opt in self.optimizers:
            opt.zero_grad(set_to_none=True)
        loss.backward()
        for opt in self.optimizers:
            opt.step()

    def modules(self) -> dict[str, nn.Module]:  # pragma: no cover - overridden
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Every module's state, keyed by module name."""
        return {k: {n: t.detach().clone() for n, t in m.state_dict().items()} for k, m in self.modules().items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        for k, m in self.modules().items():
            m.load_state_dict(state[k])

    def checkpoint_state(self) -> dict[str, Any]:
        """What resuming needs besides the modules: the optimizers' state and the generator's (batch order,
        neighbour and negative samples), so that a resumed run trains as the run it continues would have."""
        return {"modules": self.state_dict(), "optimizers": [opt.state_dict() for opt in self.optimizers],
                "generator": self.generator.get_state()}

    def load_checkpoint_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`checkpoint_state`."""
        self.load_state_dict(state["modules"])
        for opt, saved in zip(self.optimizers, state["optimizers"]):
            opt.load_state_dict(saved)
        self.generator.set_state(state["generator"])

    def train_mode(self, on: bool) -> None:
        for m in self.modules().values():
            m.train(on)


def _rgcn_optimizers(model: RGCN, extra: list[nn.Parameter], hp: dict[str, Any]) -> list[torch.optim.Optimizer]:
    sparse = model.sparse_parameters() if hp.get("sparse-embedding", True) else []
    dense = [p for p in model.dense_parameters() if all(p is not s for s in sparse)] + extra
    if not hp.get("sparse-embedding", True):
        dense = list(model.parameters()) + extra
    opts: list[torch.optim.Optimizer] = [torch.optim.Adam(dense, lr=hp["lr"], weight_decay=hp["l2norm"])]
    if sparse:
        opts.append(torch.optim.SparseAdam(sparse, lr=hp["sparse-lr"]))
    return opts


def _make_rgcn(graph: ProcessedGraph, hp: dict[str, Any], edges: dict[EdgeType, torch.Tensor],
               feats: dict[EdgeType, torch.Tensor]) -> RGCN:
    edge_dims = {et: int(f.shape[1]) for et, f in feats.items()} if hp["use-edge-features"] else {}
    return RGCN(
        num_nodes=graph.num_nodes,
        feature_dims={t: int(x.shape[1]) for t, x in graph.node_features.items()},
        feature_names=graph.feature_names,
        edge_types=list(edges),
        num_hidden=hp["num-hidden"],
        num_layers=hp["num-layer"],
        num_bases=hp["num-bases"],
        self_loop=hp["use-self-loop"],
        layer_norm=hp["layer-norm"],
        dropout=hp["dropout"],
        low_mem=hp["low-mem"],
        concat_node_embed=hp["concat-node-embed"],
        per_feat_name_embed=hp["per-feat-name-embed"],
        sparse_embedding=hp.get("sparse-embedding", True),
        edge_feature_dims=edge_dims,
        edge_num_hidden=hp["edge-num-hidden"],
    )


# ================================================================================================ node tasks
class NodeRunner(_Base):
    """rgcn for node_class and node_regression."""

    def __init__(self, graph: ProcessedGraph, hp: dict[str, Any], device: torch.device, seed: int,
                 eval_metric: str, topk: int | None = None) -> None:
        super().__init__(graph, hp, device, seed)
        torch.manual_seed(seed)
        self.task = graph.task
        self.target = str(graph.target_node_type)
        self.eval_metric = eval_metric
        self.topk = topk
        edges, feats, _ = message_passing_graph(graph)
        L = hp["num-layer"]
        self.fanouts = hp["fanout"][:L]
        self.sampler = NeighborSampler(graph.num_nodes, edges, self.fanouts, self.generator)
        self.features = _to(graph.node_features, device)
        self.edge_features = _to(feats, device) if hp["use-edge-features"] else {}
        self.model = _make_rgcn(graph, hp, edges, feats).to(device)
        y = graph.labels
        assert y is not None
        self.multi_label = graph.multi_label
        if self.task == "node_class":
            out_dim = graph.num_classes
        else:
            out_dim = 1
        self.head = nn.Linear(hp["num-hidden"], out_dim).to(device)
        self.labels = y
        self.split = {k: self._labelled(v) for k, v in graph.split.items()}
        train = self.split["train"]
        weight = None
        if self.task == "node_regression":
            yt = y[train]
            self.y_mean = float(yt.mean())
            self.y_std = float(yt.std()) if yt.numel() > 1 and float(yt.std()) > 0 else 1.0
            self.loss_fn: nn.Module = nn.MSELoss()
        elif self.multi_label:
            if hp.get("use-class-weight"):
                pos = y[train].sum(0)
                weight = ((train.numel() - pos) / pos.clamp(min=1)).to(device)
            self.loss_fn = nn.BCEWithLogitsLoss(pos_weight=weight)
        else:
            if hp.get("use-class-weight"):
                counts = torch.bincount(y[train], minlength=out_dim).float().clamp(min=1)
                weight = (train.numel() / (out_dim * counts)).to(device)
            self.loss_fn = nn.CrossEntropyLoss(weight=weight)
        self.optimizers = _rgcn_optimizers(self.model, list(self.head.parameters()), hp)

    def _labelled(self, idx: torch.Tensor) -> torch.Tensor:
        y = self.labels
        if self.task == "node_regression":
            return idx[~torch.isnan(y[idx])]
        if self.multi_label:
            return idx
        return idx[y[idx] >= 0]

    def modules(self) -> dict[str, nn.Module]:
        return {"model": self.model, "head": self.head}

    @property
    def num_train_items(self) -> int:
        return int(self.split["train"].numel())

    def batches(self) -> list[torch.Tensor]:
        return self._chunks(self.split["train"], self.hp["batch-size"], shuffle=True)

    def _target(self, idx: torch.Tensor) -> torch.Tensor:
        y = self.labels[idx].to(self.device)
        if self.task == "node_regression":
            return ((y - self.y_mean) / self.y_std).unsqueeze(1)
        return y

    def forward(self, idx: torch.Tensor, fanouts: list[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(embeddings, outputs)`` of target nodes ``idx``."""
        blocks = self.sampler.sample({self.target: idx}, fanouts=fanouts)
        h = self.model(blocks, self.features, self.edge_features)[self.target]
        return h, self.head(h)

    def train_step(self, batch: torch.Tensor) -> float:
        self.train_mode(True)
        _, out = self.forward(batch)
        loss = self.loss_fn(out, self._target(batch))
        self._step(loss)
        return float(loss.detach())

    @torch.no_grad()
    def outputs(self, split: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(node indices, embeddings, outputs)`` of a split's labelled nodes, full neighbourhoods."""
        self.train_mode(False)
        idx = self.split.get(split, torch.empty(0, dtype=torch.int64))
        embs, outs = [], []
        full = [-1] * len(self.fanouts)
        for chunk in torch.split(idx, max(self.hp["batch-size"], 1024)):
            h, o = self.forward(chunk, full)
            embs.append(h.cpu())
            outs.append(o.cpu())
        dim = self.head.out_features
        emb = torch.cat(embs) if embs else torch.empty(0, self.hp["num-hidden"])
        out = torch.cat(outs) if outs else torch.empty(0, dim)
        return idx, emb, out

    def evaluate(self, split: str) -> dict[str, float]:
        idx, _, out = self.outputs(split)
        if self.task == "node_regression":
            pred = out.squeeze(1).double() * self.y_std + self.y_mean
            return {"mse": M.mse(pred, self.labels[idx])}
        y = self.labels[idx]
        result = {self.eval_metric: M.classification_metric(self.eval_metric, out, y, self.multi_label, self.topk)}
        if self.eval_metric != "acc":
            result["acc"] = M.accuracy(out, y, self.multi_label)
        return result

    def write_predictions(self, split: str, directory: Path) -> list[Path]:
        idx, emb, out = self.outputs(split)
        ids = [self.graph.node_ids[self.target][i] for i in idx.tolist()]
        pred_path, emb_path = directory / "predictions.csv", directory / "embeddings.pt"
        with open(pred_path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            if self.task == "node_regression":
                pred = (out.squeeze(1).double() * self.y_std + self.y_mean).tolist()
                w.writerow(["~id", "prediction"])
                w.writerows(zip(ids, pred))
            else:
                names = self.graph.class_names or [str(c) for c in range(out.shape[1])]
                prob = torch.sigmoid(out) if self.multi_label else torch.softmax(out, 1)
                w.writerow(["~id", "prediction"] + [f"p({n})" for n in names])
                for i, row in enumerate(prob.tolist()):
                    if self.multi_label:
                        label = ";".join(n for n, p in zip(names, row) if p > 0.5)
                    else:
                        label = names[int(out[i].argmax())]
                    w.writerow([ids[i], label] + [f"{p:.6g}" for p in row])
        torch.save({"node_type": self.target, "node_ids": ids, "embeddings": emb}, emb_path)
        return [pred_path, emb_path]


# ================================================================================================ link prediction
def _true_keys(graph: ProcessedGraph, n_dst: int) -> torch.Tensor:
    e = graph.edges[graph.target_edge_type]  # type: ignore[index]
    return torch.unique(e[0] * n_dst + e[1])


def _rank_metrics(ranks: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor, metric: str) -> dict[str, float]:
    out = {"mrr": M.mrr(ranks), "hits@1": M.hits_at(ranks, 1), "hits@3": M.hits_at(ranks, 3),
           "hits@10": M.hits_at(ranks, 10)}
    if metric == "roc_auc":
        labels = torch.cat([torch.ones(pos.numel()), torch.zeros(neg.numel())])
        out["roc_auc"] = M._binary_auc(torch.cat([pos, neg]), labels.bool())
    return out


class _LinkEval:
    """Filtered tail ranking on the target edge type, shared by the link-prediction runners."""

    graph: ProcessedGraph
    generator: torch.Generator
    eval_metric: str

    def _init_target(self, eval_metric: str) -> Any:
        """Set the evaluation metric and the target edge type (``self.et``, returned: the graph must have one)."""
        self.eval_metric = eval_metric
        et = self.graph.target_edge_type
        assert et is not None
        self.et = et
        return et

    def _setup_eval(self) -> None:
        et = self.graph.target_edge_type
        assert et is not None
        self.n_dst = self.graph.num_nodes[et[2]]
        self.true_keys = _true_keys(self.graph, self.n_dst)
        g = torch.Generator().manual_seed(1234)
        if self.n_dst <= FULL_RANKING_MAX:
            self.candidates = torch.arange(self.n_dst)
        else:
            self.candidates = torch.randperm(self.n_dst, generator=g)[:EVAL_CANDIDATES]

    def _rank(self, split: str, score_fn: Any) -> tuple[dict[str, float], torch.Tensor, torch.Tensor, torch.Tensor]:
        et = self.graph.target_edge_type
        eids = self.graph.split.get(split, torch.empty(0, dtype=torch.int64))
        e = self.graph.edges[et][:, eids]  # type: ignore[index]
        ranks, pos_all, neg_all = [], [], []
        g = torch.Generator().manual_seed(99)
        for chunk in torch.split(torch.arange(eids.numel()), 256):
            h, t = e[0, chunk], e[1, chunk]
            cand = torch.unique(torch.cat([self.candidates, t]))
            s = score_fn(h, cand).cpu()  # [b, K]
            pos = s.gather(1, torch.searchsorted(cand, t).unsqueeze(1)).squeeze(1)
            keys = h.unsqueeze(1) * self.n_dst + cand.unsqueeze(0)
            filt = s.masked_fill(torch.isin(keys, self.true_keys), float("-inf"))
            if cand.numel() > self.candidates.numel():  # tails added to the candidates: rank among the sample
                filt = filt.masked_fill(~torch.isin(cand, self.candidates).unsqueeze(0), float("-inf"))
            ranks.append(M.ranks_of_true(pos, filt))
            pos_all.append(pos)
            # negatives for roc_auc: up to 10 random unfiltered candidates per positive
            pick = torch.randint(0, cand.numel(), (chunk.numel(), 10), generator=g)
            nf = filt.gather(1, pick)
            neg_all.append(nf[torch.isfinite(nf)])
        r = torch.cat(ranks) if ranks else torch.empty(0)
        pos = torch.cat(pos_all) if pos_all else torch.empty(0)
        neg = torch.cat(neg_all) if neg_all else torch.empty(0)
        return _rank_metrics(r, pos, neg, self.eval_metric), r, pos, e

    def _write_link_predictions(self, split: str, directory: Path, score_fn: Any) -> Path:
        _, ranks, pos, e = self._rank(split, score_fn)
        et = self.graph.target_edge_type
        assert et is not None
        src_ids, dst_ids = self.graph.node_ids[et[0]], self.graph.node_ids[et[2]]
        path = directory / "predictions.csv"
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["~from", "~to", "~label", "score", "rank"])
            for (h, t), s, r in zip(e.t().tolist(), pos.tolist(), ranks.tolist()):
                w.writerow([src_ids[h], dst_ids[t], et[1], f"{s:.6g}", f"{r:g}"])
        return path


def _negatives(n: int, k: int, shared: bool, generator: torch.Generator) -> torch.Tensor:
    """``[1, k]`` (shared) or ``[b, k]`` uniform fractions in [0, 1) for negative sampling."""
    return torch.rand((1 if shared else n, k), generator=generator)


class RGCNLinkRunner(_Base, _LinkEval):
    """rgcn with a DistMult decoder for the target edge type (heterogeneous link prediction)."""

    def __init__(self, graph: ProcessedGraph, hp: dict[str, Any], device: torch.device, seed: int,
                 eval_metric: str, topk: int | None = None) -> None:
        super().__init__(graph, hp, device, seed)
        torch.manual_seed(seed)
        et = self._init_target(eval_metric)
        held = torch.cat([graph.split.get(s, torch.empty(0, dtype=torch.int64)) for s in ("validation", "test")])
        edges, feats, reverse = message_passing_graph(graph, held)
        self.rev = reverse[et]
        # after removing held-out edges, the target relation's edge ids are positions among the kept edges
        keep = torch.ones(graph.edges[et].shape[1], dtype=torch.bool)
        keep[held] = False
        self.new_id = torch.full((keep.numel(),), -1, dtype=torch.int64)
        self.new_id[keep] = torch.arange(int(keep.sum()))
        L = hp["num-layer"]
        self.fanouts = hp["fanout"][:L]
        self.sampler = NeighborSampler(graph.num_nodes, edges, self.fanouts, self.generator)
        self.features = _to(graph.node_features, device)
        self.edge_features = _to(feats, device) if hp["use-edge-features"] else {}
        self.model = _make_rgcn(graph, hp, edges, feats).to(device)
        self.decoder = nn.ParameterDict({"relation": nn.Parameter(torch.randn(hp["num-hidden"]) / hp["num-hidden"] ** 0.5)}).to(device)
        self.optimizers = _rgcn_optimizers(self.model, list(self.decoder.parameters()), hp)
        self.train_eids = graph.split["train"]
        self._setup_eval()

    def modules(self) -> dict[str, nn.Module]:
        return {"model": self.model, "decoder": self.decoder}

    @property
    def num_train_items(self) -> int:
        return int(self.train_eids.numel())

    def batches(self) -> list[torch.Tensor]:
        return self._chunks(self.train_eids, self.hp["batch-size"], shuffle=True)

    def _embed(self, seeds: dict[str, torch.Tensor], exclude: dict[EdgeType, torch.Tensor] | None,
               fanouts: list[int] | None = None) -> dict[str, torch.Tensor]:
        blocks = self.sampler.sample(seeds, exclude=exclude, fanouts=fanouts)
        return self.model(blocks, self.features, self.edge_features)

    def train_step(self, batch: torch.Tensor) -> float:
        self.train_mode(True)
        s_t, _, d_t = self.et
        e = self.graph.edges[self.et][:, batch]
        heads, tails = e[0], e[1]
        k = self.hp["num-negs"]
        n_dst = self.graph.num_nodes[d_t]
        neg = (_negatives(batch.numel(), k, self.hp["neg-share"], self.generator) * n_dst).long()
        dst_all = torch.cat([tails, neg.reshape(-1)])
        if s_t == d_t:
            nodes, inv = torch.unique(torch.cat([heads, dst_all]), return_inverse=True)
            seeds = {s_t: nodes}
            h_pos, d_pos = inv[: heads.numel()], inv[heads.numel():]
        else:
            hn, h_pos = torch.unique(heads, return_inverse=True)
            dn, d_pos = torch.unique(dst_all, return_inverse=True)
            seeds = {s_t: hn, d_t: dn}
        excl_ids = self.new_id[batch]
        emb = self._embed(seeds, {self.et: excl_ids, self.rev: excl_ids})
        H = emb[s_t][h_pos.to(self.device)]
        D = emb[d_t][d_pos.to(self.device)]
        T, N = D[: heads.numel()], D[heads.numel():].reshape(neg.shape[0], k, -1)
        r = self.decoder["relation"]
        pos = (H * r * T).sum(-1)
        hr = H * r
        negs = hr @ N[0].t() if N.shape[0] == 1 else (hr.unsqueeze(1) * N).sum(-1)  # [b, k]
        loss = nn.functional.binary_cross_entropy_with_logits(pos, torch.ones_like(pos)) + \
            nn.functional.binary_cross_entropy_with_logits(negs, torch.zeros_like(negs))
        if self.hp["regularization-coef"]:
            loss = loss + self.hp["regularization-coef"] * (H.pow(2).mean() + D.pow(2).mean() + r.pow(2).mean())
        self._step(loss)
        return float(loss.detach())

    @torch.no_grad()
    def all_embeddings(self) -> dict[str, torch.Tensor]:
        """Embeddings of every node of the target relation's node types (full neighbourhoods)."""
        self.train_mode(False)
        out: dict[str, torch.Tensor] = {}
        full = [-1] * len(self.fanouts)
        for t in {self.et[0], self.et[2]}:
            parts = [self._embed({t: c}, None, full)[t].cpu()
                     for c in torch.split(torch.arange(self.graph.num_nodes[t]), 4096)]
            out[t] = torch.cat(parts)
        return out

    def _score_fn(self) -> Any:
        emb = self.all_embeddings()
        r = self.decoder["relation"].detach().cpu()
        hs, ds = emb[self.et[0]], emb[self.et[2]]
        return lambda h, cand: (hs[h] * r) @ ds[cand].t()

    def evaluate(self, split: str) -> dict[str, float]:
        return self._rank(split, self._score_fn())[0]

    def write_predictions(self, split: str, directory: Path) -> list[Path]:
        emb = self.all_embeddings()
        p = self._write_link_predictions(split, directory, self._score_fn())
        e_path = directory / "embeddings.pt"
        torch.save({t: {"node_ids": self.graph.node_ids[t], "embeddings": v} for t, v in emb.items()}, e_path)
        return [p, e_path]


class KGERunner(_Base, _LinkEval):
    """transe, distmult, rotate: every node an entity, every edge type a relation."""

    def __init__(self, graph: ProcessedGraph, model: str, hp: dict[str, Any], device: torch.device, seed: int,
                 eval_metric: str, topk: int | None = None) -> None:
        super().__init__(graph, hp, device, seed)
        torch.manual_seed(seed)
        et = self._init_target(eval_metric)
        self.offset: dict[str, int] = {}
        off = 0
        for t in graph.node_types:
            self.offset[t] = off
            off += graph.num_nodes[t]
        self.rel_id = {r: i for i, r in enumerate(graph.edge_types)}
        held = torch.cat([graph.split.get(s, torch.empty(0, dtype=torch.int64)) for s in ("validation", "test")])
        hs, rs, ts = [], [], []
        for r, e in graph.edges.items():
            if r == et:
                keep = torch.ones(e.shape[1], dtype=torch.bool)
                keep[held] = False
                e = e[:, keep]
            hs.append(e[0] + self.offset[r[0]])
            ts.append(e[1] + self.offset[r[2]])
            rs.append(torch.full((e.shape[1],), self.rel_id[r], dtype=torch.int64))
        self.h, self.r, self.t = torch.cat(hs), torch.cat(rs), torch.cat(ts)
        R = len(graph.edge_types)
        self.src_off = torch.tensor([self.offset[r[0]] for r in graph.edge_types])
        self.src_n = torch.tensor([graph.num_nodes[r[0]] for r in graph.edge_types])
        self.dst_off = torch.tensor([self.offset[r[2]] for r in graph.edge_types])
        self.dst_n = torch.tensor([graph.num_nodes[r[2]] for r in graph.edge_types])
        self.model = KGEModel(model, off, R, hp["num-hidden"], hp["gamma"]).to(device)
        self.optimizers = [
            torch.optim.SparseAdam([self.model.entity.weight], lr=hp["sparse-lr"]),
            torch.optim.SparseAdam([self.model.relation.weight], lr=hp["lr"]),
        ]
        self._batch_count = 0
        self._setup_eval()

    def modules(self) -> dict[str, nn.Module]:
        return {"model": self.model}

    @property
    def num_train_items(self) -> int:
        return int(self.h.numel())

    def batches(self) -> list[torch.Tensor]:
        m, bs = self.h.numel(), self.hp["batch-size"]
        perm = torch.randperm(m, generator=self.generator)
        if not self.hp["rel-part"]:
            return list(torch.split(perm, bs))
        # relation partitioning: the triples of one relation, cut into batches of at most batch-size
        order = perm[torch.argsort(self.r[perm], stable=True)]
        rel = self.r[order]
        counts = torch.bincount(rel, minlength=len(self.rel_id))
        start = torch.cumsum(counts, 0) - counts
        within = torch.arange(m) - start[rel]
        nb = (counts + bs - 1) // bs
        first_batch = torch.cumsum(nb, 0) - nb
        batch_id = first_batch[rel] + within // bs
        sizes = torch.bincount(batch_id, minlength=int(nb.sum())).tolist()
        chunks = [c for c in torch.split(order, sizes) if c.numel()]
        shuffle = torch.randperm(len(chunks), generator=self.generator).tolist()
        return [chunks[i] for i in shuffle]

    def train_step(self, batch: torch.Tensor) -> float:
        self.model.train()
        h, r, t = self.h[batch], self.r[batch], self.t[batch]
        k = self.hp["num-negs"]
        corrupt = "tail" if self._batch_count % 2 == 0 else "head"
        self._batch_count += 1
        u = _negatives(batch.numel(), k, self.hp["neg-share"], self.generator)
        off, n = (self.dst_off[r], self.dst_n[r]) if corrupt == "tail" else (self.src_off[r], self.src_n[r])
        if self.hp["neg-share"] and bool((off == off[0]).all()) and bool((n == n[0]).all()):
            neg = (int(off[0]) + (u[0] * int(n[0])).long())  # [k], one set for the whole batch
        else:
            neg = off.unsqueeze(1) + (u * n.unsqueeze(1)).long()  # [b, k]
        dev = self.device
        h, r, t, neg = h.to(dev), r.to(dev), t.to(dev), neg.to(dev)
        pos, negs, embs = self.model(h, r, t, neg, corrupt)
        loss = -nn.functional.logsigmoid(pos).mean() - nn.functional.logsigmoid(-negs).mean()
        if self.hp["regularization-coef"]:
            loss = loss + self.hp["regularization-coef"] * self.model.l3(embs)
        self._step(loss)
        return float(loss.detach())

    def _score_fn(self) -> Any:
        rid = self.rel_id[self.et]
        so, do = self.offset[self.et[0]], self.offset[self.et[2]]
        model = self.model
        dev = self.device

        @torch.no_grad()
        def fn(h: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
            hh = (h + so).to(dev)
            r = torch.full_like(hh, rid)
            return model.score_candidates(hh, r, hh, (cand + do).to(dev), "tail")

        return fn

    def evaluate(self, split: str) -> dict[str, float]:
        self.model.eval()
        return self._rank(split, self._score_fn())[0]

    def write_predictions(self, split: str, directory: Path) -> list[Path]:
        self.model.eval()
        p = self._write_link_predictions(split, directory, self._score_fn())
        e_path = directory / "embeddings.pt"
        ent = self.model.entity.weight.detach().cpu()
        torch.save(
            {
                "entities": {t: {"node_ids": self.graph.node_ids[t],
                                 "embeddings": ent[self.offset[t]: self.offset[t] + self.graph.num_nodes[t]]}
                             for t in self.graph.node_types},
                "relations": {"|".join(r): self.model.relation.weight.detach().cpu()[i]
                              for r, i in self.rel_id.items()},
            },
            e_path,
        )
        return [p, e_path]


def make_runner(graph: ProcessedGraph, model: str, hp: dict[str, Any], device: torch.device, seed: int,
                eval_metric: str, topk: int | None) -> NodeRunner | RGCNLinkRunner | KGERunner:
    """The runner for ``model`` on ``graph.task``."""
    if model == "rgcn":
        if graph.task == "link_prediction":
            return RGCNLinkRunner(graph, hp, device, seed, eval_metric, topk)
        return NodeRunner(graph, hp, device, seed, eval_metric, topk)
    return KGERunner(graph, model, hp, device, seed, eval_metric, topk)
