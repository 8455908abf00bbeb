"""Every hyperparameter does what its name says (small direct checks on the models and runners), and one
that does not apply to a model is refused naming the model."""

import pytest
import torch

from hyperjob.algorithms.graph import synthetic
from hyperjob.algorithms.graph._runners import KGERunner, NodeRunner, RGCNLinkRunner
from hyperjob.algorithms.graph.hyperparameters import (
    HYPERPARAMETERS, applicable, check_hyperparameters, defaults, parse_value,
)
from hyperjob.algorithms.graph.models import KGEModel, NodeInput, RelGraphConv, feature_groups
from hyperjob.algorithms.graph.sampler import NeighborSampler
from hyperjob.errors import SpecError

torch.set_num_threads(1)
CPU = torch.device("cpu")
SEED_LIST = ["batch-size", "concat-node-embed", "dropout", "edge-num-hidden", "enable-early-stop", "fanout", "gamma",
             "l2norm", "layer-norm", "low-mem", "lr", "neg-share", "num-bases", "num-epochs", "num-hidden",
             "num-layer", "num-negs", "per-feat-name-embed", "regularization-coef", "rel-part", "sparse-lr",
             "use-class-weight", "use-edge-features", "use-self-loop", "window-for-early-stop"]


def _node_runner(task="node_class", **hp):
    g = synthetic.planted_partition(task, num_users=40, num_items=15)
    base = {"num-hidden": 8, "fanout": [3, 3], "batch-size": 16}
    return NodeRunner(g, check_hyperparameters("rgcn", task, {**base, **hp}), CPU, 0, "acc" if task == "node_class" else "mse")


def test_every_seed_hyperparameter_applies_to_some_model():
    used = set()
    for model, task in [("rgcn", "node_class"), ("rgcn", "node_regression"), ("rgcn", "link_prediction"),
                        ("transe", "link_prediction"), ("distmult", "link_prediction"), ("rotate", "link_prediction")]:
        used |= applicable(model, task)
    assert set(SEED_LIST) <= used and set(SEED_LIST) <= set(HYPERPARAMETERS)


@pytest.mark.parametrize("model,task,name,value", [
    ("rgcn", "node_class", "gamma", "12"),
    ("rgcn", "node_class", "num-negs", "4"),
    ("rgcn", "node_class", "rel-part", "true"),
    ("rgcn", "node_regression", "use-class-weight", "true"),
    ("transe", "link_prediction", "num-layer", "2"),
    ("distmult", "link_prediction", "use-class-weight", "true"),
    ("rotate", "link_prediction", "fanout", "[10, 15]"),
])
def test_a_hyperparameter_that_does_not_apply_is_refused_naming_the_model(model, task, name, value):
    with pytest.raises(SpecError, match=rf"hyperparameters.{name}: '{name}' does not apply to model '{model}' on task '{task}'"):
        check_hyperparameters(model, task, {name: value})


def test_unknown_name_bad_value_and_fanout_length_are_refused():
    with pytest.raises(SpecError, match="unknown hyperparameter 'global-norms'"):  # global-norm: accepted, ignored
        check_hyperparameters("rgcn", "node_class", {"global-norms": "true"})
    with pytest.raises(SpecError, match="hyperparameters.dropout: must be in \\[0, 1\\), got '1.5'"):
        check_hyperparameters("rgcn", "node_class", {"dropout": "1.5"})
    with pytest.raises(SpecError, match="hyperparameters.num-hidden: must be a whole number, got '3.5'"):
        check_hyperparameters("rgcn", "node_class", {"num-hidden": "3.5"})
    with pytest.raises(SpecError, match="fanout \\[10\\] has 1 value\\(s\\) for num-layer 2"):
        check_hyperparameters("rgcn", "node_class", {"fanout": "[10]"})
    with pytest.raises(SpecError, match="model 'transe' cannot train task 'node_class'"):
        check_hyperparameters("transe", "node_class", {})


def test_values_as_the_executor_writes_them():
    assert parse_value("layer-norm", "True") is True and parse_value("layer-norm", "false") is False
    assert parse_value("fanout", "[10, 15, 15]") == [10, 15, 15] and parse_value("fanout", "5,5") == [5, 5]
    assert parse_value("fanout", "7") == [7] and parse_value("num-hidden", "32.0") == 32
    assert parse_value("edge-num-hidden", 16.0) == 16  # the seed calls it a float
    assert defaults("transe", "link_prediction")["num-hidden"] == 128 and defaults("rgcn", "node_class")["num-hidden"] == 32


def test_fanout_num_layer_and_batch_size():
    r = _node_runner(**{"fanout": [2, 3, 4], "num-layer": 2, "batch-size": 7})
    assert r.fanouts == [2, 3] and r.sampler.fanouts == [2, 3] and len(r.model.layers) == 2
    assert [b.numel() for b in r.batches()][:-1] == [7] * (len(r.batches()) - 1)
    assert len(r.batches()) == -(-r.num_train_items // 7)


def test_num_hidden_num_bases_self_loop_layer_norm_edge_num_hidden():
    ets = [("a", "x", "a"), ("a", "y", "a"), ("a", "z", "a")]
    full = RelGraphConv(4, 6, ets, num_bases=0)
    assert full.weight.shape == (3, 4, 6) and not full.use_bases
    based = RelGraphConv(4, 6, ets, num_bases=2)
    assert based.bases.shape == (2, 4, 6) and based.coeff.shape == (3, 2) and not hasattr(based, "weight")
    assert based.relation_weights().shape == (3, 4, 6)
    assert RelGraphConv(4, 6, ets, self_loop=False).self_loop is None
    assert isinstance(RelGraphConv(4, 6, ets, layer_norm=True).norm, torch.nn.LayerNorm)
    conv = RelGraphConv(4, 6, ets, edge_feature_dims={ets[0]: 3}, edge_num_hidden=5)
    assert conv.edge_mlp["r0"][0].out_features == 5
    r = _node_runner(**{"num-hidden": 12})
    assert r.head.in_features == 12 and r.model.layers[0].out_dim == 12


def _block_graph():
    g = torch.Generator().manual_seed(0)
    edges = {("a", "x", "a"): torch.randint(0, 30, (2, 90), generator=g), ("a", "y", "a"): torch.randint(0, 30, (2, 60), generator=g)}
    s = NeighborSampler({"a": 30}, edges, [4])
    return edges, s.sample({"a": torch.arange(10)})[0]


def test_low_mem_computes_the_same_values_as_the_batched_path():
    edges, block = _block_graph()
    conv = RelGraphConv(5, 7, list(edges), num_bases=1, low_mem=True)
    h = {"a": torch.randn(block.src_nodes["a"].numel(), 5)}
    low = conv(block, h)["a"]
    conv.low_mem = False
    high = conv(block, h)["a"]
    assert torch.allclose(low, high, atol=1e-5) and low.abs().sum() > 0


def test_use_self_loop_makes_a_node_see_itself():
    # edges only from nodes 20..29 to 0..9: a destination node's own input reaches it only through the self-loop
    g = torch.Generator().manual_seed(0)
    edges = {("a", "x", "a"): torch.stack([torch.randint(20, 30, (40,), generator=g), torch.randint(0, 10, (40,), generator=g)])}
    block = NeighborSampler({"a": 30}, edges, [-1]).sample({"a": torch.arange(10)})[0]
    h = {"a": torch.randn(block.src_nodes["a"].numel(), 5)}
    h2 = {"a": h["a"].clone()}
    h2["a"][0] += 10.0
    with_loop = RelGraphConv(5, 7, list(edges), self_loop=True, activation=False)
    no_loop = RelGraphConv(5, 7, list(edges), self_loop=False, activation=False)
    no_loop.load_state_dict({k: v for k, v in with_loop.state_dict().items() if not k.startswith("self_loop")})
    assert not torch.allclose(with_loop(block, h)["a"][0], with_loop(block, h2)["a"][0])
    assert torch.allclose(no_loop(block, h)["a"][0], no_loop(block, h2)["a"][0])


def test_use_edge_features_changes_the_messages():
    edges, block = _block_graph()
    et = ("a", "x", "a")
    feats = {et: torch.randn(edges[et].shape[1], 3)}
    other = {et: feats[et] + 1.0}
    h = {"a": torch.randn(block.src_nodes["a"].numel(), 5)}
    with_ef = RelGraphConv(5, 7, list(edges), edge_feature_dims={et: 3}, activation=False)
    assert not torch.allclose(with_ef(block, h, feats)["a"], with_ef(block, h, other)["a"])
    without = RelGraphConv(5, 7, list(edges), activation=False)
    assert torch.allclose(without(block, h, feats)["a"], without(block, h, other)["a"])
    g = synthetic.planted_partition("node_class", num_users=40, num_items=15)
    g.edge_features[("user", "buys", "item")] = torch.rand(g.edges[("user", "buys", "item")].shape[1], 2)
    r = NodeRunner(g, check_hyperparameters("rgcn", "node_class", {"use-edge-features": True, "fanout": [2, 2]}), CPU, 0, "acc")
    assert len(r.model.layers[0].edge_mlp) == 2  # the edge type and its reverse


def test_per_feat_name_embed_and_concat_node_embed():
    assert feature_groups(["genre=a", "genre=b", "age", "emb[0]", "emb[1]", "born.year", "born.month"]) == [[0, 1], [2], [3, 4], [5, 6]]
    ni = NodeInput({"u": 5, "i": 3}, {"u": 4}, {"u": ["g=a", "g=b", "age", "h"]}, 8, concat_node_embed=False,
                   per_feat_name_embed=True)
    assert [lin.in_features for lin in ni.per_feat_proj["u"]] == [2, 1, 1] and ni.proj["u"].in_features == 24
    assert "u" not in ni.embed and "i" in ni.embed  # a type without features always gets an embedding
    cat = NodeInput({"u": 5, "i": 3}, {"u": 4}, {"u": ["a", "b", "c", "d"]}, 8, concat_node_embed=True,
                    per_feat_name_embed=False)
    assert "u" in cat.embed and cat.mix["u"].in_features == 16
    out = cat({"u": torch.tensor([0, 1])}, {"u": torch.randn(5, 4)})
    assert out["u"].shape == (2, 8)


def test_dropout_only_in_training():
    r = _node_runner(dropout=0.5)
    idx = r.split["train"][:8]
    r.train_mode(True)
    torch.manual_seed(0)
    a = r.forward(idx, [-1, -1])[1]
    b = r.forward(idx, [-1, -1])[1]
    r.train_mode(False)
    c = r.forward(idx, [-1, -1])[1]
    d = r.forward(idx, [-1, -1])[1]
    assert not torch.allclose(a, b) and torch.allclose(c, d)


def test_use_class_weight_balances_the_loss():
    r = _node_runner(**{"use-class-weight": True})
    y = r.labels[r.split["train"]]
    counts = torch.bincount(y, minlength=3).float()
    assert torch.allclose(r.loss_fn.weight, y.numel() / (3 * counts))
    assert _node_runner().loss_fn.weight is None


def test_lr_sparse_lr_l2norm_and_sparse_embedding_reach_the_optimizers():
    r = _node_runner(lr=0.003, **{"sparse-lr": 0.07, "l2norm": 0.001})
    adam, sparse = r.optimizers
    assert adam.defaults["lr"] == 0.003 and adam.defaults["weight_decay"] == 0.001
    assert isinstance(sparse, torch.optim.SparseAdam) and sparse.defaults["lr"] == 0.07
    dense_only = _node_runner(**{"sparse-embedding": False})
    assert len(dense_only.optimizers) == 1 and isinstance(dense_only.optimizers[0], torch.optim.Adam)
    assert dense_only.model.input.embed["item"].sparse is False and r.model.input.embed["item"].sparse is True


def _kge(model="transe", **hp):
    g = synthetic.relational_kg(num_entities=40, num_edges=120)
    return KGERunner(g, model, check_hyperparameters(model, "link_prediction", {"num-hidden": 8, "batch-size": 16, **hp}), CPU, 0, "mrr")


def test_rel_part_puts_one_relation_in_each_batch():
    r = _kge(**{"rel-part": True})
    batches = r.batches()
    assert all(r.r[b].unique().numel() == 1 for b in batches) and all(b.numel() <= 16 for b in batches)
    assert torch.equal(torch.cat(batches).sort().values, torch.arange(r.num_train_items))
    mixed = _kge(**{"rel-part": False}).batches()
    assert any(r.r[b].unique().numel() > 1 for b in mixed)


@pytest.mark.parametrize("share", [True, False])
def test_neg_share_and_num_negs(share, monkeypatch):
    r = _kge(**{"neg-share": share, "num-negs": 5})
    seen = []
    orig = r.model.forward
    monkeypatch.setattr(r.model, "forward", lambda h, rr, t, cand, mode: seen.append(cand.shape) or orig(h, rr, t, cand, mode))
    b = r.batches()[0]
    r.train_step(b)
    assert seen[0] == ((5,) if share else (b.numel(), 5))


def test_gamma_is_the_margin_and_the_init_scale():
    m = KGEModel("transe", 10, 2, 4, gamma=3.0)
    h, r, t = torch.tensor([1]), torch.tensor([0]), torch.tensor([2])
    dist = torch.linalg.vector_norm(m.entity(h) + m.relation(r) - m.entity(t))
    assert torch.allclose(m.score(h, r, t), 3.0 - dist)
    assert float(m.entity.weight.detach().abs().max()) <= (3.0 + 2.0) / 4
    rot = KGEModel("rotate", 10, 2, 4, gamma=5.0)
    assert rot.entity.weight.shape == (10, 8)  # complex: 2 x num-hidden reals


def test_regularization_coef_adds_the_l3_penalty(monkeypatch):
    losses = {}
    for coef in (0.0, 1.0):
        r = _kge(**{"regularization-coef": coef})
        r.optimizers = []  # measure the loss only
        losses[coef] = r.train_step(r.batches()[0])
    assert losses[1.0] > losses[0.0] + 1e-3


def test_kge_sparse_lr_for_entities_lr_for_relations():
    r = _kge(lr=0.2, **{"sparse-lr": 0.03})
    ent, rel = r.optimizers
    assert ent.param_groups[0]["params"][0] is r.model.entity.weight and ent.defaults["lr"] == 0.03
    assert rel.param_groups[0]["params"][0] is r.model.relation.weight and rel.defaults["lr"] == 0.2


def test_rgcn_link_prediction_excludes_held_out_edges_from_message_passing():
    g = synthetic.planted_partition("link_prediction", num_users=40, num_items=15)
    r = RGCNLinkRunner(g, check_hyperparameters("rgcn", "link_prediction", {"num-hidden": 8, "fanout": [2, 2]}), CPU, 0, "mrr")
    et = ("user", "buys", "item")
    kept = r.sampler.csr[et].src.numel()
    assert kept == g.edges[et].shape[1] - g.split["validation"].numel() - g.split["test"].numel()


@pytest.mark.parametrize("kind", ["transe", "distmult", "rotate"])
@pytest.mark.parametrize("corrupt", ["tail", "head"])
@pytest.mark.parametrize("shared", [True, False])
def test_fast_negative_scores_equal_the_plain_score(kind, corrupt, shared):
    m = KGEModel(kind, 30, 3, 6, gamma=4.0)
    g = torch.Generator().manual_seed(0)
    h, r, t = torch.randint(0, 30, (5,), generator=g), torch.randint(0, 3, (5,), generator=g), torch.randint(0, 30, (5,), generator=g)
    neg = torch.randint(0, 30, (7,) if shared else (5, 7), generator=g)
    _, fast, _ = m(h, r, t, neg, corrupt)
    negs = neg.expand(5, 7) if shared else neg
    if corrupt == "tail":
        plain = m.score(h.unsqueeze(1).expand(5, 7), r.unsqueeze(1).expand(5, 7), negs)
    else:
        plain = m.score(negs, r.unsqueeze(1).expand(5, 7), t.unsqueeze(1).expand(5, 7))
    assert torch.allclose(fast, plain, atol=1e-4)
