"""Mini-batch neighbour sampling on a heterogeneous graph: per-layer fanout, vectorised torch.

For each edge type the graph is kept as CSR by destination node (``indptr``, source nodes, edge ids), so the
incoming edges of any set of nodes are one gather. One layer of sampling takes, for every destination node and
every edge type that ends at its type, at most ``fanout`` incoming edges chosen uniformly without replacement
(all of them when the node has fewer, or when the fanout is -1). It is done for all nodes of a batch at once:
nodes with more edges than the fanout get ``fanout`` distinct offsets drawn by Floyd's algorithm for all of them
at once (a loop over the fanout's positions), the others keep every edge. With excluded edges (link
prediction's positive edges), each remaining candidate gets a random key ``segment + U(0, 1)``, one sort
shuffles the candidates of every node and the first ``fanout`` are kept. There is no Python loop over nodes;
the loops are over edge types, layers and fanout positions.

A sample is a list of :class:`Block` (one per GNN layer, input layer first), as DGL's message-flow graphs: the
destination nodes of a block are the first nodes of its source nodes (per node type), so a layer's output for
its destination nodes is the prefix the next layer needs, and a self-loop reads ``h_src[:num_dst]``.

Example:
    >>> import torch
    >>> s = NeighborSampler({"n": 4}, {("n", "to", "n"): torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]])}, [1, 1])
    >>> blocks = s.sample({"n": torch.tensor([3])})
    >>> [b.dst_nodes["n"].tolist() for b in blocks]
    [[3, 2], [3]]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import torch

from hyperjob.errors import SpecError

__all__ = ["Block", "CSR", "NeighborSampler", "build_csr"]

EdgeType = tuple[str, str, str]


@dataclass
class CSR:
    """Incoming edges of one edge type, by destination node.

    Attributes:
        indptr: int64 ``[n_dst + 1]``; the incoming edges of node ``v`` are positions ``indptr[v]:indptr[v+1]``.
        src: int64 ``[m]`` source node of each position.
        eid: int64 ``[m]`` edge id (column in the edge type's ``[2, m]`` tensor) of each position.
    """

    indptr: torch.Tensor
    src: torch.Tensor
    eid: torch.Tensor


def build_csr(edges: torch.Tensor, num_dst: int) -> CSR:
    """CSR by destination of an int64 ``[2, m]`` edge tensor (row 0 sources, row 1 destinations)."""
    dst = edges[1]
    order = torch.argsort(dst, stable=True)
    counts = torch.bincount(dst, minlength=num_dst)
    indptr = torch.zeros(num_dst + 1, dtype=torch.int64)
    torch.cumsum(counts, 0, out=indptr[1:])
    return CSR(indptr=indptr, src=edges[0][order].contiguous(), eid=order.contiguous())


@dataclass
class Block:
    """One layer of a sample (a message-flow graph).

    Attributes:
        src_nodes: node type → global ids of the layer's input nodes; ``src_nodes[t][:len(dst_nodes[t])]``
            equals ``dst_nodes[t]``.
        dst_nodes: node type → global ids of the layer's output nodes.
        edges: edge type → ``(src_local, dst_local, eid)``: positions in ``src_nodes[src type]`` and
            ``dst_nodes[dst type]``, and the edge ids (to read edge features).
    """

    src_nodes: dict[str, torch.Tensor]
    dst_nodes: dict[str, torch.Tensor]
    edges: dict[EdgeType, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]

    def num_edges(self) -> int:
        """Number of sampled edges in this block."""
        return int(sum(int(e[0].numel()) for e in self.edges.values()))


class NeighborSampler:
    """Samples the L-hop neighbourhood of a batch of seed nodes, ``fanouts[l]`` edges per node and edge type.

    Args:
        num_nodes: number of nodes per node type.
        edges: edge type ``(src type, label, dst type)`` → int64 ``[2, m]``. Messages flow from source to
            destination; add reverse edge types for the other direction.
        fanouts: one fanout per GNN layer, input layer first (as DGL, which Neptune ML runs on): with
            ``[10, 15]`` the seed nodes get up to 15 neighbours per edge type, and those neighbours up to 10
            each. -1 takes every neighbour.
        generator: random source (for reproducible samples).

    Raises:
        SpecError: a fanout of 0 or below -1.
    """

    def __init__(
        self,
        num_nodes: Mapping[str, int],
        edges: Mapping[EdgeType, torch.Tensor],
        fanouts: Sequence[int],
        generator: torch.Generator | None = None,
    ) -> None:
        for i, f in enumerate(fanouts):
            if int(f) == 0 or int(f) < -1:
                raise SpecError(
                    f"fanout must be a positive number of neighbours per layer (or -1 for all), got {list(fanouts)} "
                    f"(layer {i}: {f}). Use e.g. [10, 15, 15].",
                    path="fanout",
                )
        self.num_nodes = dict(num_nodes)
        self.fanouts = [int(f) for f in fanouts]
        self.generator = generator
        self.csr = {et: build_csr(e, self.num_nodes[et[2]]) for et, e in edges.items()}
        # per node type: global id -> local position, -1 when absent (reset after each use)
        self._map = {t: torch.full((n,), -1, dtype=torch.int64) for t, n in self.num_nodes.items()}

    def sample(
        self,
        seeds: Mapping[str, torch.Tensor],
        exclude: Mapping[EdgeType, torch.Tensor] | None = None,
        fanouts: Sequence[int] | None = None,
    ) -> list[Block]:
        """Sample blocks for ``seeds`` (unique global ids per node type).

        Args:
            seeds: node type → int64 unique node ids; the last block's destination nodes, in this order.
            exclude: edge type → edge ids never to sample (e.g. the positive edges of a link-prediction batch).
            fanouts: override the sampler's fanouts for this call (e.g. all -1 for evaluation).

        Returns:
            ``len(fanouts)`` blocks, input layer first.
        """
        fans = self.fanouts if fanouts is None else [int(f) for f in fanouts]
        dst = {t: seeds[t] if t in seeds else torch.empty(0, dtype=torch.int64) for t in self.num_nodes}
        blocks: list[Block] = []
        for fanout in reversed(fans):
            block = self._sample_layer(dst, fanout, exclude)
            blocks.append(block)
            dst = block.src_nodes
        blocks.reverse()
        return blocks

    def _sample_layer(
        self, dst: dict[str, torch.Tensor], fanout: int, exclude: Mapping[EdgeType, torch.Tensor] | None
    ) -> Block:
        picked: dict[EdgeType, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
        for et, csr in self.csr.items():
            d = dst[et[2]]
            if d.numel() == 0:
                continue
            start = csr.indptr[d]
            deg = csr.indptr[d + 1] - start
            excluded = exclude.get(et) if exclude is not None else None
            if excluded is not None and excluded.numel():
                seg, pos = self._with_exclusion(csr, start, deg, fanout, excluded)
            else:
                seg, pos = self._choose(start, deg, fanout)
            if seg.numel():
                picked[et] = (csr.src[pos], seg, csr.eid[pos])
        # relabel: per node type, the destination nodes first, then the new source nodes
        src_nodes: dict[str, torch.Tensor] = {}
        for t, n in self.num_nodes.items():
            m = self._map[t]
            d = dst[t]
            cands = [p[0] for et, p in picked.items() if et[0] == t]
            if cands:
                m[d] = torch.arange(d.numel())
                cand = torch.cat(cands)
                new = torch.unique(cand[m[cand] < 0])
                src_nodes[t] = torch.cat([d, new])
                m[d] = -1
            else:
                src_nodes[t] = d
        edges_local: dict[EdgeType, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
        for t, nodes in src_nodes.items():
            self._map[t][nodes] = torch.arange(nodes.numel())
        for et, (src_global, dst_local, eid) in picked.items():
            edges_local[et] = (self._map[et[0]][src_global], dst_local, eid)
        for t, nodes in src_nodes.items():
            self._map[t][nodes] = -1
        return Block(src_nodes=src_nodes, dst_nodes={t: v for t, v in dst.items()}, edges=edges_local)

    def _choose(self, start: torch.Tensor, deg: torch.Tensor, fanout: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Positions of up to ``fanout`` incoming edges per node, uniformly without replacement.

        Nodes with at most ``fanout`` edges keep all of them; for the others Floyd's algorithm draws ``fanout``
        distinct offsets in ``[0, deg)``, all such nodes at once (a loop over the fanout, not over nodes).
        """
        n = deg.numel()
        small = deg if fanout < 0 else deg.clamp(max=fanout)
        big = torch.nonzero(deg > fanout).squeeze(1) if fanout > 0 else torch.empty(0, dtype=torch.int64)
        take_all = torch.ones(n, dtype=torch.bool)
        take_all[big] = False
        counts = torch.where(take_all, small, torch.zeros_like(small))
        total = int(counts.sum())
        seg = torch.repeat_interleave(torch.arange(n), counts, output_size=total)
        first = torch.cumsum(counts, 0) - counts
        pos = start[seg] + (torch.arange(total) - first[seg])
        if big.numel():
            nb, N = big.numel(), deg[big]
            chosen = torch.empty(nb, fanout, dtype=torch.int64)
            u = torch.rand(nb, fanout, dtype=torch.float64, generator=self.generator)
            for i in range(fanout):
                j = N - fanout + i
                t = (u[:, i] * (j + 1).double()).long().clamp(max=j)
                if i:
                    t = torch.where((chosen[:, :i] == t.unsqueeze(1)).any(1), j, t)
                chosen[:, i] = t
            seg = torch.cat([seg, big.repeat_interleave(fanout)])
            pos = torch.cat([pos, (start[big].unsqueeze(1) + chosen).reshape(-1)])
        return seg, pos

    def _with_exclusion(
        self, csr: CSR, start: torch.Tensor, deg: torch.Tensor, fanout: int, excluded: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Like :meth:`_choose` after dropping the excluded edges: every candidate edge gets a random key
        ``segment + U(0, 1)``, one sort shuffles each node's candidates, the first ``fanout`` are kept."""
        total = int(deg.sum())
        seg = torch.repeat_interleave(torch.arange(deg.numel()), deg, output_size=total)
        first = torch.cumsum(deg, 0) - deg
        pos = start[seg] + (torch.arange(total) - first[seg])
        keep = ~torch.isin(csr.eid[pos], excluded)
        seg, pos = seg[keep], pos[keep]
        if fanout > 0 and seg.numel():
            counts = torch.bincount(seg, minlength=deg.numel())
            if int(counts.max()) > fanout:
                key = seg.double() + torch.rand(seg.numel(), dtype=torch.float64, generator=self.generator)
                order = torch.argsort(key)
                seg, pos = seg[order], pos[order]
                begin = torch.cumsum(counts, 0) - counts
                rank = torch.arange(seg.numel()) - begin[seg]
                keep = rank < fanout
                seg, pos = seg[keep], pos[keep]
        return seg, pos
