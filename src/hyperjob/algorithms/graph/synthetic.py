"""Small generated graphs with known structure, for tests, benchmarks and examples (no files needed).

* :func:`planted_partition`: users in communities following each other and buying items of their community
  (node_class on users, node_regression of a per-community value, or link prediction of ``buys``).
* :func:`relational_kg`: a knowledge graph with rules (``rel0`` goes to the next cluster, ``rel1`` is its
  inverse, ``rel2`` is symmetric within clusters): link prediction of ``rel1`` is learnable from ``rel0``;
  random embeddings cannot do it.
* :func:`karate_club`: Zachary's karate club with its two clubs (needs networkx).
"""

from __future__ import annotations

import torch

from hyperjob.algorithms.graph.processed import ProcessedGraph
from hyperjob.errors import SpecError

__all__ = ["planted_partition", "relational_kg", "karate_club", "random_split"]


def random_split(n: int, fractions: tuple[float, float, float], generator: torch.Generator) -> dict[str, torch.Tensor]:
    """A seeded train/validation/test split of ``range(n)``."""
    perm = torch.randperm(n, generator=generator)
    a = int(round(fractions[0] * n))
    b = a + int(round(fractions[1] * n))
    return {"train": perm[:a].sort().values, "validation": perm[a:b].sort().values, "test": perm[b:].sort().values}


def _edges_within(labels: torch.Tensor, other: torch.Tensor, degree: int, p_in: float, g: torch.Generator) -> torch.Tensor:
    """For each node of ``labels``, ``degree`` edges to nodes of ``other``: same community with prob. p_in."""
    n, m = labels.numel(), other.numel()
    src = torch.arange(n).repeat_interleave(degree)
    same = torch.rand(src.numel(), generator=g) < p_in
    # a node of the same community: pick among the other side's nodes whose label matches, vectorised
    order = torch.argsort(other, stable=True)
    counts = torch.bincount(other, minlength=int(max(int(labels.max()), int(other.max())) + 1))
    start = torch.cumsum(counts, 0) - counts
    lab = labels[src]
    pick_same = order[start[lab] + (torch.rand(src.numel(), generator=g) * counts[lab]).long().clamp(max=counts[lab] - 1)]
    pick_any = torch.randint(0, m, (src.numel(),), generator=g)
    dst = torch.where(same, pick_same, pick_any)
    return torch.stack([src, dst])


def planted_partition(
    task: str = "node_class",
    num_users: int = 300,
    num_items: int = 100,
    num_classes: int = 3,
    degree: int = 6,
    p_in: float = 0.85,
    feature_dim: int = 4,
    feature_noise: float = 2.0,
    seed: int = 0,
) -> ProcessedGraph:
    """Users (with noisy features) in ``num_classes`` communities; ``follows`` between users and ``buys`` to
    items (no features), each edge inside the community with probability ``p_in``.

    Args:
        task: ``node_class`` (user community), ``node_regression`` (a per-community value plus noise) or
            ``link_prediction`` (of ``buys``).
        feature_noise: std of the Gaussian noise on the users' features (their mean tells the community, so
            features alone give a weaker signal than features plus graph).

    Returns:
        A validated graph, split 60/20/20 (users or ``buys`` edges).
    """
    g = torch.Generator().manual_seed(seed)
    users_c = torch.randint(0, num_classes, (num_users,), generator=g)
    items_c = torch.randint(0, num_classes, (num_items,), generator=g)
    centers = torch.randn(num_classes, feature_dim, generator=g)
    x = (centers[users_c] + feature_noise * torch.randn(num_users, feature_dim, generator=g)).float()
    follows = _edges_within(users_c, users_c, degree, p_in, g)
    buys = _edges_within(users_c, items_c, degree, p_in, g)
    buys = torch.unique(buys, dim=1)
    et_f, et_b = ("user", "follows", "user"), ("user", "buys", "item")
    common = dict(
        node_types=["user", "item"],
        num_nodes={"user": num_users, "item": num_items},
        node_ids={"user": [f"u{i}" for i in range(num_users)], "item": [f"i{i}" for i in range(num_items)]},
        node_features={"user": x},
        feature_names={"user": [f"f{i}" for i in range(feature_dim)]},
        edge_types=[et_f, et_b],
        edges={et_f: follows, et_b: buys},
        edge_features={},
        meta={"generator": "planted_partition", "seed": seed},
    )
    if task == "node_class":
        return _done(ProcessedGraph(
            **common, task=task, target_node_type="user", labels=users_c, class_names=[f"c{i}" for i in range(num_classes)],
            multi_label=False, target_edge_type=None, split=random_split(num_users, (0.6, 0.2, 0.2), g)))
    if task == "node_regression":
        value = torch.linspace(-2, 2, num_classes)[users_c] + 0.1 * torch.randn(num_users, generator=g)
        return _done(ProcessedGraph(
            **common, task=task, target_node_type="user", labels=value.float(), class_names=[], multi_label=False,
            target_edge_type=None, split=random_split(num_users, (0.6, 0.2, 0.2), g)))
    if task == "link_prediction":
        return _done(ProcessedGraph(
            **common, task=task, target_node_type=None, labels=None, class_names=[], multi_label=False,
            target_edge_type=et_b, split=random_split(buys.shape[1], (0.8, 0.1, 0.1), g)))
    raise SpecError(f"task must be node_class, node_regression or link_prediction, got {task!r}.", path="task")


def _done(graph: ProcessedGraph) -> ProcessedGraph:
    graph.validate()
    return graph


def relational_kg(num_entities: int = 200, num_edges: int = 800, num_clusters: int = 8, seed: int = 0) -> ProcessedGraph:
    """A knowledge graph with rules over ``num_clusters`` clusters of entities: ``a rel0 b`` links ``a`` to a
    random member of the next cluster (``c(b) = c(a) + 1 mod K``); ``rel1`` is the inverse of ``rel0``
    (``a rel0 b`` ⇒ ``b rel1 a``); ``rel2`` is symmetric, inside a cluster. Link prediction of ``rel1``
    (80/10/10): each held-out ``b rel1 a`` has its ``a rel0 b`` in training, and ``a`` is in the cluster before
    ``b``'s, so a model that learns the rules ranks it high; random embeddings cannot.
    """
    g = torch.Generator().manual_seed(seed)
    cluster = torch.randint(0, num_clusters, (num_entities,), generator=g)
    a = torch.randint(0, num_entities, (num_edges,), generator=g)
    b = _edges_within((cluster[a] + 1) % num_clusters, cluster, 1, 1.0, g)[1]  # one fresh partner per edge
    r0 = torch.unique(torch.stack([a, b]), dim=1)
    r0 = r0[:, r0[0] != r0[1]]
    r1 = r0.flip(0)
    a = torch.randint(0, num_entities, (num_edges // 2,), generator=g)
    b = _edges_within(cluster[a], cluster, 1, 1.0, g)[1]
    r2 = torch.unique(torch.cat([torch.stack([a, b]), torch.stack([b, a])], 1), dim=1)
    r2 = r2[:, r2[0] != r2[1]]
    ets = [("entity", "rel0", "entity"), ("entity", "rel1", "entity"), ("entity", "rel2", "entity")]
    return _done(ProcessedGraph(
        node_types=["entity"], num_nodes={"entity": num_entities},
        node_ids={"entity": [f"e{i}" for i in range(num_entities)]}, node_features={}, feature_names={},
        edge_types=ets, edges=dict(zip(ets, [r0, r1, r2])), edge_features={}, task="link_prediction",
        target_node_type=None, labels=None, class_names=[], multi_label=False, target_edge_type=ets[1],
        split=random_split(r1.shape[1], (0.8, 0.1, 0.1), g), meta={"generator": "relational_kg", "seed": seed}))


def karate_club(seed: int = 0, train_per_class: int = 4) -> ProcessedGraph:
    """Zachary's karate club (34 members, 78 friendships) with its two clubs as classes; no node features.

    ``train_per_class`` members of each club are labelled for training, the rest split between validation and
    test.

    Raises:
        SpecError: networkx is not installed.
    """
    try:
        import networkx as nx
    except ImportError:  # pragma: no cover - depends on the environment
        raise SpecError("the karate club graph needs networkx: pip install networkx") from None
    G = nx.karate_club_graph()
    n = G.number_of_nodes()
    y = torch.tensor([0 if G.nodes[i]["club"] == "Mr. Hi" else 1 for i in range(n)])
    e = torch.tensor(list(G.edges()), dtype=torch.int64).t()
    g = torch.Generator().manual_seed(seed)
    train = torch.cat([torch.nonzero(y == c).squeeze(1)[torch.randperm(int((y == c).sum()), generator=g)[:train_per_class]]
                       for c in (0, 1)]).sort().values
    rest = torch.tensor([i for i in range(n) if i not in set(train.tolist())])
    rest = rest[torch.randperm(rest.numel(), generator=g)]
    et = ("member", "friend", "member")
    return _done(ProcessedGraph(
        node_types=["member"], num_nodes={"member": n}, node_ids={"member": [str(i) for i in range(n)]},
        node_features={}, feature_names={}, edge_types=[et], edges={et: e}, edge_features={}, task="node_class",
        target_node_type="member", labels=y, class_names=["Mr. Hi", "Officer"], multi_label=False,
        target_edge_type=None,
        split={"train": train, "validation": rest[: rest.numel() // 2].sort().values,
               "test": rest[rest.numel() // 2:].sort().values},
        meta={"generator": "karate_club"}))
