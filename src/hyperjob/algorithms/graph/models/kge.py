"""Knowledge-graph embedding models: TransE, DistMult and RotatE, scored as DGL-KE (which Neptune ML runs).

Every node of every type is an entity (one table, node types at offsets) and every edge type a relation.

* TransE (Bordes et al., 2013): ``score(h, r, t) = gamma - ||h + r - t||_2``.
* DistMult (Yang et al., 2015): ``score(h, r, t) = <h, r, t>`` (gamma only sets the initialisation scale).
* RotatE (Sun et al., 2019): entities are complex vectors (``num-hidden`` complex numbers), a relation is a
  rotation ``r = exp(i theta)``: ``score = gamma - sum_k |h_k r_k - t_k|``.

Embeddings start uniform in ``±(gamma + 2) / num-hidden`` (DGL-KE's ``emb_init``) and are sparse
(``nn.Embedding(sparse=True)``); the trainer updates the entity embeddings (the learnable node embeddings) with
``SparseAdam(sparse-lr)`` and the relation embeddings with ``SparseAdam(lr)``. The loss is DGL-KE's logistic loss
``-log sigmoid(score(pos)) - mean log sigmoid(-score(neg))``, plus ``regularization-coef`` times the mean cubed
absolute value of the embeddings in the batch (DGL-KE's default L3 regulariser).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["KGEModel", "KGE_MODELS"]

KGE_MODELS = ("transe", "distmult", "rotate")


class KGEModel(nn.Module):
    """One of :data:`KGE_MODELS`.

    Args:
        kind: ``transe``, ``distmult`` or ``rotate``.
        num_entities: entities (all nodes of all types).
        num_relations: relations (edge types).
        num_hidden: embedding size (RotatE: complex numbers, stored as 2 × num_hidden reals).
        gamma: the margin in the score (TransE, RotatE) and the initialisation scale (all).
    """

    def __init__(self, kind: str, num_entities: int, num_relations: int, num_hidden: int, gamma: float) -> None:
        super().__init__()
        if kind not in KGE_MODELS:
            raise ValueError(f"unknown KGE model {kind!r}")  # internal: the trainer checks the name
        self.kind = kind
        self.gamma = float(gamma)
        self.num_hidden = num_hidden
        self.emb_init = (self.gamma + 2.0) / num_hidden
        ent_dim = 2 * num_hidden if kind == "rotate" else num_hidden
        self.entity = nn.Embedding(num_entities, ent_dim, sparse=True)
        self.relation = nn.Embedding(num_relations, num_hidden, sparse=True)
        nn.init.uniform_(self.entity.weight, -self.emb_init, self.emb_init)
        nn.init.uniform_(self.relation.weight, -self.emb_init, self.emb_init)

    def _rel(self, r: torch.Tensor) -> torch.Tensor:
        return self.relation(r)

    def pair_score(self, h: torch.Tensor, r: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Scores of aligned embeddings (any matching leading shape, last dim the embedding)."""
        if self.kind == "transe":
            return self.gamma - torch.linalg.vector_norm(h + r - t, ord=2, dim=-1)
        if self.kind == "distmult":
            return (h * r * t).sum(-1)
        # rotate
        re_h, im_h = h.chunk(2, dim=-1)
        re_t, im_t = t.chunk(2, dim=-1)
        phase = r / (self.emb_init / math.pi)
        re_r, im_r = torch.cos(phase), torch.sin(phase)
        re = re_h * re_r - im_h * im_r - re_t
        im = re_h * im_r + im_h * re_r - im_t
        return self.gamma - torch.sqrt(re * re + im * im + 1e-12).sum(-1)

    def score(self, h: torch.Tensor, r: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Scores ``[B]`` of triples given as entity / relation ids ``[B]``."""
        return self.pair_score(self.entity(h), self._rel(r), self.entity(t))

    def score_candidates(
        self, h: torch.Tensor, r: torch.Tensor, t: torch.Tensor, candidates: torch.Tensor, corrupt: str = "tail"
    ) -> torch.Tensor:
        """Scores ``[B, K]`` of each triple with its tail (or head) replaced by each of ``candidates``.

        Args:
            h, r, t: ``[B]`` ids of the triples.
            candidates: ``[K]`` shared candidates or ``[B, K]`` per triple.
            corrupt: ``"tail"`` or ``"head"``.
        """
        return self.negative_scores(self.entity(h), self._rel(r), self.entity(t), self.entity(candidates), corrupt)

    def forward(
        self, h: torch.Tensor, r: torch.Tensor, t: torch.Tensor, neg: torch.Tensor, corrupt: str = "tail"
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Training scores with one embedding lookup per id tensor.

        Args:
            h, r, t: ``[B]`` ids of the positive triples.
            neg: ``[K]`` negatives shared by the batch, or ``[B, K]``, replacing the tail (or the head).
            corrupt: ``"tail"`` or ``"head"``.

        Returns:
            ``(positive scores [B], negative scores [B, K], the looked-up embeddings)`` (for regularisation).
        """
        H, R, T, N = self.entity(h), self._rel(r), self.entity(t), self.entity(neg)
        pos = self.pair_score(H, R, T)
        return pos, self.negative_scores(H, R, T, N, corrupt), [H, R, T, N]

    def negative_scores(
        self, H: torch.Tensor, R: torch.Tensor, T: torch.Tensor, N: torch.Tensor, corrupt: str
    ) -> torch.Tensor:
        """Scores ``[B, K]`` of the triples with their tail (or head) replaced by each negative's embedding.

        The batch-side part is computed once per triple (``h + r``, ``h * r``, ``h ∘ r``; for a head,
        ``t - r``, ``r * t``, ``t ∘ conj(r)``), then compared with the negatives: one matrix product for
        shared negatives ``N [K, d]`` (DistMult; TransE through ``|a - n|² = |a|² + |n|² - 2 a·n``), a
        broadcast for per-triple negatives ``N [B, K, d]`` and for RotatE.
        """
        shared = N.dim() == 2
        if self.kind == "distmult":
            a = H * R if corrupt == "tail" else R * T
            return a @ N.t() if shared else torch.einsum("bd,bkd->bk", a, N)
        if self.kind == "transe":
            a = H + R if corrupt == "tail" else T - R  # tail: |a - n|; head: |n - a|
            if shared:
                sq = (a * a).sum(-1, keepdim=True) + (N * N).sum(-1).unsqueeze(0) - 2 * a @ N.t()
                return self.gamma - torch.sqrt(sq.clamp(min=0) + 1e-12)
            return self.gamma - torch.linalg.vector_norm(a.unsqueeze(1) - N, ord=2, dim=-1)
        # rotate: |h ∘ r - t| = |h - t ∘ conj(r)| since |r| = 1
        phase = R / (self.emb_init / math.pi)
        re_r, im_r = torch.cos(phase), torch.sin(phase)
        if corrupt == "tail":
            re_x, im_x = H.chunk(2, dim=-1)
            re_a, im_a = re_x * re_r - im_x * im_r, re_x * im_r + im_x * re_r
        else:
            re_x, im_x = T.chunk(2, dim=-1)
            re_a, im_a = re_x * re_r + im_x * im_r, im_x * re_r - re_x * im_r
        re_n, im_n = N.chunk(2, dim=-1)
        if shared:
            re_n, im_n = re_n.unsqueeze(0), im_n.unsqueeze(0)
        re = re_a.unsqueeze(1) - re_n
        im = im_a.unsqueeze(1) - im_n
        return self.gamma - torch.sqrt(re * re + im * im + 1e-12).sum(-1)

    @staticmethod
    def l3(embeddings: list[torch.Tensor]) -> torch.Tensor:
        """DGL-KE's regulariser: the mean over rows of the summed cubed absolute values, summed over tensors."""
        return torch.stack([e.abs().pow(3).sum(-1).mean() for e in embeddings]).sum()
