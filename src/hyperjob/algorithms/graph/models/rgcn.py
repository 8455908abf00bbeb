"""R-GCN (Schlichtkrull et al., 2018) on sampled blocks: node classification, node regression and heterogeneous
link prediction (DistMult decoder), with Neptune ML's hyperparameters.

Layer ``l`` computes, for each destination node ``i``::

    h_i' = act( LN( sum_r sum_{j in N_r(i)} 1/|N_r(i)| (W_r h_j + E_r(e_ji)) + W_0 h_i + b ) )

* ``W_r`` per relation (edge type), or, with ``num-bases`` B in ``[1, R)``, ``W_r = sum_b a_rb V_b``
  (basis decomposition: fewer parameters, a regulariser); ``num-bases`` 0 (or >= R) keeps a full ``W_r``.
* ``W_0 h_i``: the self-loop (``use-self-loop``); ``LN``: layer normalisation (``layer-norm``).
* ``E_r``: the edge-feature module, ``Linear(d_e, edge-num-hidden) -> ReLU -> Linear(edge-num-hidden, out)``,
  for edge types with features when ``use-edge-features`` is set.
* ``low-mem``: the relational messages are computed one relation at a time (less memory, a loop over
  relations; each relation transforms its edges' source rows, or its source nodes when there are fewer of
  them); otherwise every source node is transformed by every relation's weight in one batched product and
  the messages are gathered from it (faster, ``nodes × relations × out`` memory). Both compute the same
  values (tested).

Node inputs (:class:`NodeInput`): a node type with features gets ``Linear(features) -> num-hidden``, or with
``per-feat-name-embed`` one ``Linear`` per feature (columns grouped by their property name) to ``num-hidden``
each, concatenated and projected to ``num-hidden``. A node type without features gets a learnable embedding
of size ``num-hidden``; with ``concat-node-embed`` every node type gets one, concatenated to its projected
features and projected back to ``num-hidden``. The learnable embeddings are sparse (``nn.Embedding(sparse=True)``)
and trained by their own optimizer with ``sparse-lr``.
"""

from __future__ import annotations

import re
from typing import Mapping, Sequence

import torch
from torch import nn

from hyperjob.algorithms.graph.sampler import Block

__all__ = ["NodeInput", "RelGraphConv", "RGCN", "feature_groups"]

EdgeType = tuple[str, str, str]


def feature_groups(names: Sequence[str]) -> list[list[int]]:
    """Columns grouped by property name: ``genre=Action``, ``genre=Drama`` → one group; ``emb[0]``,
    ``emb[1]`` → one group; ``born.year``, ``born.month`` → one group; ``age`` alone. A name's property is what
    comes before the first ``=``, ``:``, ``[``, ``#`` or ``.`` (the processing step's column names). Order of
    first appearance is kept."""
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        base = re.split(r"[=:\[#.]", str(name), maxsplit=1)[0]
        groups.setdefault(base, []).append(i)
    return list(groups.values())


class NodeInput(nn.Module):
    """The input representation of every node type (see the module docstring)."""

    def __init__(
        self,
        num_nodes: Mapping[str, int],
        feature_dims: Mapping[str, int],
        feature_names: Mapping[str, Sequence[str]],
        num_hidden: int,
        concat_node_embed: bool,
        per_feat_name_embed: bool,
        sparse_embedding: bool = True,
    ) -> None:
        super().__init__()
        self.num_hidden = num_hidden
        self.concat = concat_node_embed
        self.per_feat = per_feat_name_embed
        self.proj = nn.ModuleDict()
        self.per_feat_proj = nn.ModuleDict()
        self.groups: dict[str, list[torch.Tensor]] = {}
        self.embed = nn.ModuleDict()
        self.mix = nn.ModuleDict()
        for t, n in num_nodes.items():
            d = int(feature_dims.get(t, 0))
            if d:
                if per_feat_name_embed:
                    names = list(feature_names.get(t) or [str(i) for i in range(d)])
                    groups = feature_groups(names)
                    self.groups[t] = [torch.tensor(g, dtype=torch.int64) for g in groups]
                    self.per_feat_proj[t] = nn.ModuleList(nn.Linear(len(g), num_hidden) for g in groups)
                    self.proj[t] = nn.Linear(len(groups) * num_hidden, num_hidden)
                else:
                    self.proj[t] = nn.Linear(d, num_hidden)
            if not d or concat_node_embed:
                emb = nn.Embedding(n, num_hidden, sparse=sparse_embedding)
                nn.init.normal_(emb.weight, std=1.0 / num_hidden**0.5)
                self.embed[t] = emb
            if d and concat_node_embed:
                self.mix[t] = nn.Linear(2 * num_hidden, num_hidden)

    def forward(self, nodes: Mapping[str, torch.Tensor], features: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Representations of ``nodes`` (global ids per type); ``features`` are the full feature tensors."""
        out: dict[str, torch.Tensor] = {}
        for t, ids in nodes.items():
            parts = []
            if t in self.proj:
                x = features[t][ids]
                if t in self.groups:
                    x = torch.cat([torch.relu(lin(x[:, g.to(x.device)])) for lin, g in zip(self.per_feat_proj[t], self.groups[t])], 1)
                parts.append(self.proj[t](x))
            if t in self.embed:
                parts.append(self.embed[t](ids))
            out[t] = self.mix[t](torch.cat(parts, 1)) if len(parts) == 2 else parts[0]
        return out

    def sparse_parameters(self) -> list[nn.Parameter]:
        """The learnable node embeddings (trained with ``sparse-lr``)."""
        return [e.weight for e in self.embed.values()]


class RelGraphConv(nn.Module):
    """One R-GCN layer on a :class:`~hyperjob.algorithms.graph.sampler.Block` (see the module docstring).

    Args:
        in_dim: input size; out_dim: output size.
        edge_types: the relations, in a fixed order (index = relation id).
        num_bases: basis decomposition size; 0 or >= len(edge_types) for full weights.
        self_loop: add ``W_0 h_i``. layer_norm: layer normalisation before the activation.
        activation: apply ReLU. dropout: dropout probability on the output.
        low_mem: one relation at a time (see the module docstring).
        edge_feature_dims: edge type → edge feature size, for the edge types whose features are used.
        edge_num_hidden: hidden size of the edge-feature module.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        edge_types: Sequence[EdgeType],
        num_bases: int = 0,
        self_loop: bool = True,
        layer_norm: bool = False,
        activation: bool = True,
        dropout: float = 0.0,
        low_mem: bool = True,
        edge_feature_dims: Mapping[EdgeType, int] | None = None,
        edge_num_hidden: int = 16,
    ) -> None:
        super().__init__()
        self.edge_types = list(edge_types)
        self.rel_id = {et: i for i, et in enumerate(self.edge_types)}
        R = len(self.edge_types)
        self.low_mem = low_mem
        self.use_bases = 0 < num_bases < R
        if self.use_bases:
            self.bases = nn.Parameter(torch.empty(num_bases, in_dim, out_dim))
            self.coeff = nn.Parameter(torch.empty(R, num_bases))
            nn.init.xavier_uniform_(self.bases, gain=nn.init.calculate_gain("relu"))
            nn.init.xavier_uniform_(self.coeff)
        else:
            self.weight = nn.Parameter(torch.empty(R, in_dim, out_dim))
            nn.init.xavier_uniform_(self.weight, gain=nn.init.calculate_gain("relu"))
        self.self_loop = nn.Linear(in_dim, out_dim, bias=False) if self_loop else None
        self.bias = nn.Parameter(torch.zeros(out_dim))
        self.norm = nn.LayerNorm(out_dim) if layer_norm else None
        self.activation = activation
        self.dropout = nn.Dropout(dropout)
        self.edge_mlp = nn.ModuleDict()
        self._edge_key: dict[EdgeType, str] = {}
        for et, d in (edge_feature_dims or {}).items():
            key = f"r{self.rel_id[et]}"
            self._edge_key[et] = key
            self.edge_mlp[key] = nn.Sequential(nn.Linear(d, edge_num_hidden), nn.ReLU(), nn.Linear(edge_num_hidden, out_dim))
        self.out_dim = out_dim

    def relation_weights(self) -> torch.Tensor:
        """``[R, in, out]`` weights (composed from the bases when basis decomposition is on)."""
        if self.use_bases:
            return torch.einsum("rb,bio->rio", self.coeff, self.bases)
        return self.weight

    def forward(
        self,
        block: Block,
        h_src: Mapping[str, torch.Tensor],
        edge_features: Mapping[EdgeType, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Outputs for ``block.dst_nodes`` (node type → ``[n_dst, out]``)."""
        W = self.relation_weights()
        any_h = next(iter(h_src.values()))
        out = {
            t: torch.zeros(d.numel(), self.out_dim, device=any_h.device, dtype=any_h.dtype)
            for t, d in block.dst_nodes.items()
        }
        present = [et for et in block.edges if et in self.rel_id and block.edges[et][0].numel()]
        transformed: dict[str, torch.Tensor] = {}
        if not self.low_mem and present:
            # every source node × every relation leaving its type, in one batched product per source type
            for s in {et[0] for et in present}:
                rels = [self.rel_id[et] for et in present if et[0] == s]
                transformed[s] = torch.einsum("ni,rio->nro", h_src[s], W[rels])
        slot: dict[EdgeType, int] = {}
        for s in transformed:
            for k, et in enumerate(et2 for et2 in present if et2[0] == s):
                slot[et] = k
        for et in present:
            src_l, dst_l, eid = block.edges[et]
            src_l, dst_l = src_l.to(any_h.device), dst_l.to(any_h.device)
            if self.low_mem:
                hs = h_src[et[0]]
                w = W[self.rel_id[et]]
                # transform whichever is smaller: the source nodes (then gather) or the gathered edges
                msg = (hs @ w)[src_l] if hs.shape[0] < src_l.numel() else hs[src_l] @ w
            else:
                msg = transformed[et[0]][src_l, slot[et]]
            if et in self._edge_key and edge_features is not None and et in edge_features:
                msg = msg + self.edge_mlp[self._edge_key[et]](edge_features[et][eid.to(any_h.device)])
            n_dst = out[et[2]].shape[0]
            deg = torch.bincount(dst_l, minlength=n_dst).clamp(min=1).to(msg.dtype)
            out[et[2]].index_add_(0, dst_l, msg / deg[dst_l].unsqueeze(1))
        result: dict[str, torch.Tensor] = {}
        for t, h in out.items():
            n_dst = h.shape[0]
            if self.self_loop is not None and t in h_src:
                h = h + self.self_loop(h_src[t][:n_dst])
            h = h + self.bias
            if self.norm is not None:
                h = self.norm(h)
            if self.activation:
                h = torch.relu(h)
            result[t] = self.dropout(h) if self.dropout.p > 0 else h
        return result


class RGCN(nn.Module):
    """Node input plus ``num_layers`` R-GCN layers of size ``num_hidden``; returns the seed nodes' embeddings.

    Args:
        num_nodes, feature_dims, feature_names: the graph (see :class:`NodeInput`).
        edge_types: relations the layers pass messages along (forward and reverse edge types).
        num_hidden, num_layers, num_bases, self_loop, layer_norm, dropout, low_mem: as the hyperparameters.
        concat_node_embed, per_feat_name_embed, sparse_embedding: node inputs.
        edge_feature_dims, edge_num_hidden: the edge-feature module (empty dims: off).
    """

    def __init__(
        self,
        num_nodes: Mapping[str, int],
        feature_dims: Mapping[str, int],
        feature_names: Mapping[str, Sequence[str]],
        edge_types: Sequence[EdgeType],
        num_hidden: int,
        num_layers: int,
        num_bases: int = 0,
        self_loop: bool = True,
        layer_norm: bool = False,
        dropout: float = 0.0,
        low_mem: bool = True,
        concat_node_embed: bool = False,
        per_feat_name_embed: bool = False,
        sparse_embedding: bool = True,
        edge_feature_dims: Mapping[EdgeType, int] | None = None,
        edge_num_hidden: int = 16,
    ) -> None:
        super().__init__()
        self.input = NodeInput(
            num_nodes, feature_dims, feature_names, num_hidden, concat_node_embed, per_feat_name_embed, sparse_embedding
        )
        self.input_dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(
            RelGraphConv(
                num_hidden, num_hidden, edge_types, num_bases=num_bases, self_loop=self_loop, layer_norm=layer_norm,
                activation=True, dropout=dropout, low_mem=low_mem, edge_feature_dims=edge_feature_dims,
                edge_num_hidden=edge_num_hidden,
            )
            for _ in range(num_layers)
        )

    def forward(
        self,
        blocks: Sequence[Block],
        features: Mapping[str, torch.Tensor],
        edge_features: Mapping[EdgeType, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Embeddings of the last block's destination nodes (node type → ``[n, num_hidden]``)."""
        device = next(self.parameters()).device
        nodes = {t: v.to(device) for t, v in blocks[0].src_nodes.items() if v.numel()}
        h = self.input(nodes, features)
        if self.input_dropout.p > 0:
            h = {t: self.input_dropout(x) for t, x in h.items()}
        for layer, block in zip(self.layers, blocks):
            h = layer(block, h, edge_features)
        return h

    def sparse_parameters(self) -> list[nn.Parameter]:
        """The learnable node embeddings."""
        return self.input.sparse_parameters()

    def dense_parameters(self) -> list[nn.Parameter]:
        """Every other parameter."""
        sparse = {id(p) for p in self.sparse_parameters()}
        return [p for p in self.parameters() if id(p) not in sparse]
