"""Graph models: training throughput against plain-torch reference loops, sampler throughput, and quality on
graphs that ship offline (karate club, planted partitions, a knowledge graph with rules).

    python benchmarks/graph.py                       # all sections, CPU, one thread (about 3 minutes)
    python benchmarks/graph.py --only throughput     # or sampler, quality
    python benchmarks/graph.py --device cuda --threads 8

Throughput: the training program's step (:mod:`hyperjob.algorithms.graph._runners`) against a minimal
plain-torch loop of the same model on the same batches, in the same run, alternating rounds so that load on
the machine hits both alike. The rgcn reference samples with the same sampler (measured on its own below) and
runs a hand-written R-GCN (per-relation weights, mean aggregation, self-loop) with the same sizes and
optimizers; the KGE references are hand-written embedding tables, scores, logistic loss and SparseAdam.

Quality: the best validation model's test metric (the program's own early stopping off, fixed epochs), and
the baseline it must beat: chance for classification, predicting the training mean for regression, the same
model untrained (random embeddings) for link prediction.

Writes ``benchmarks/results/graph.json`` and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
from torch import nn

from hyperjob.algorithms.graph import synthetic
from hyperjob.algorithms.graph._runners import KGERunner, NodeRunner, RGCNLinkRunner, message_passing_graph
from hyperjob.algorithms.graph.hyperparameters import check_hyperparameters
from hyperjob.algorithms.graph.sampler import NeighborSampler
from hyperjob.algorithms.graph.train import train

RESULTS = Path(__file__).parent / "results" / "graph.json"


def _quiet() -> dict:
    return {"log": lambda s: None, "report": lambda **m: None}


# ============================================================================================ reference loops
class RefRGCN(nn.Module):
    """A minimal R-GCN for node classification written out in plain torch (the reference)."""

    def __init__(self, graph, edge_types, hidden: int, layers: int, classes: int) -> None:
        super().__init__()
        self.proj = nn.ModuleDict({t: nn.Linear(x.shape[1], hidden) for t, x in graph.node_features.items()})
        self.emb = nn.ModuleDict({t: nn.Embedding(n, hidden, sparse=True) for t, n in graph.num_nodes.items()
                                  if t not in graph.node_features})
        self.edge_types = list(edge_types)
        self.W = nn.ParameterList([nn.Parameter(torch.randn(len(edge_types), hidden, hidden) * 0.1) for _ in range(layers)])
        self.loop = nn.ModuleList([nn.Linear(hidden, hidden) for _ in range(layers)])
        self.head = nn.Linear(hidden, classes)
        self.features = graph.node_features

    def forward(self, blocks, target):
        h = {}
        for t, ids in blocks[0].src_nodes.items():
            h[t] = self.proj[t](self.features[t][ids]) if t in self.proj else self.emb[t](ids)
        for W, loop, block in zip(self.W, self.loop, blocks):
            out = {t: loop(h[t][: d.numel()]) for t, d in block.dst_nodes.items()}
            for r, et in enumerate(self.edge_types):
                if et not in block.edges:
                    continue
                s, d, _ = block.edges[et]
                msg = h[et[0]][s] @ W[r]
                deg = torch.bincount(d, minlength=out[et[2]].shape[0]).clamp(min=1)
                out[et[2]] = out[et[2]].index_add(0, d, msg / deg[d].unsqueeze(1))
            h = {t: torch.relu(v) for t, v in out.items()}
        return self.head(h[target])


def _ref_kge_step_factory(kind: str, n_ent: int, n_rel: int, hidden: int, gamma: float, lr: float):
    ent = nn.Embedding(n_ent, 2 * hidden if kind == "rotate" else hidden, sparse=True)
    rel = nn.Embedding(n_rel, hidden, sparse=True)
    init = (gamma + 2.0) / hidden
    nn.init.uniform_(ent.weight, -init, init)
    nn.init.uniform_(rel.weight, -init, init)
    opt = torch.optim.SparseAdam(list(ent.parameters()) + list(rel.parameters()), lr=lr)

    def score(h, r, t):
        if kind == "transe":
            return gamma - (h + r - t).norm(dim=-1)
        if kind == "distmult":
            return (h * r * t).sum(-1)
        rh, ih = h.chunk(2, -1)
        rt, it = t.chunk(2, -1)
        ph = r / (init / torch.pi)
        rr, ir = torch.cos(ph), torch.sin(ph)
        re, im = rh * rr - ih * ir - rt, rh * ir + ih * rr - it
        return gamma - torch.sqrt(re * re + im * im + 1e-12).sum(-1)

    def step(h, r, t, neg):
        H, R, T = ent(h), rel(r), ent(t)
        pos = score(H, R, T)
        negs = score(H.unsqueeze(1), R.unsqueeze(1), ent(neg).unsqueeze(0))
        loss = -nn.functional.logsigmoid(pos).mean() - nn.functional.logsigmoid(-negs).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step


# ============================================================================================ sections
def throughput(device: torch.device, rounds: int, batches: int) -> list[dict]:
    rows = []
    # ---- rgcn, node classification
    g = synthetic.planted_partition("node_class", num_users=20000, num_items=5000, num_classes=5, degree=10,
                                    feature_dim=16, seed=0)
    hp = check_hyperparameters("rgcn", "node_class", {"num-hidden": 32, "num-layer": 2, "fanout": [10, 15],
                                                      "batch-size": 1024, "dropout": 0.0, "low-mem": True})
    ours = NodeRunner(g, hp, device, 0, "acc")
    edges, _, _ = message_passing_graph(g)
    ref_sampler = NeighborSampler(g.num_nodes, edges, [10, 15], torch.Generator().manual_seed(0))
    ref = RefRGCN(g, list(edges), 32, 2, 5).to(device)
    ref.features = {t: x.to(device) for t, x in g.node_features.items()}
    dense = [p for n, p in ref.named_parameters() if not n.startswith("emb.")]
    ref_opts = [torch.optim.Adam(dense, lr=0.01), torch.optim.SparseAdam(list(ref.emb.parameters()), lr=0.01)]
    labels = g.labels.to(device)

    def ref_step(b):
        blocks = ref_sampler.sample({"user": b})
        out = ref(blocks, "user")
        loss = nn.functional.cross_entropy(out, labels[b.to(device)])
        for o in ref_opts:
            o.zero_grad()
        loss.backward()
        for o in ref_opts:
            o.step()

    rows.append(_race("rgcn node_class (nodes/s)", ours.batches()[:batches], ours.train_step, ref_step, rounds))
    for low_mem in (False,):
        hp2 = dict(hp, **{"low-mem": low_mem})
        ours2 = NodeRunner(g, hp2, device, 0, "acc")
        rows.append(_race("rgcn node_class, low-mem false (nodes/s)", ours2.batches()[:batches], ours2.train_step,
                          ref_step, rounds))
    # ---- rgcn, link prediction: the reference samples the heads, tails and shared negatives with the same
    # sampler (the batch's edges excluded), runs the hand-written R-GCN and a DistMult decoder
    glp = synthetic.planted_partition("link_prediction", num_users=20000, num_items=5000, degree=10, seed=0)
    hpl = check_hyperparameters("rgcn", "link_prediction", {"num-hidden": 32, "fanout": [10, 15], "batch-size": 1024,
                                                            "num-negs": 8, "dropout": 0.0})
    lp = RGCNLinkRunner(glp, hpl, device, 0, "mrr")
    ref_lp = RefRGCN(glp, list(lp.sampler.csr), 32, 2, 1).to(device)
    ref_lp.features = {t: x.to(device) for t, x in glp.node_features.items()}
    w = nn.Parameter(torch.randn(32, device=device) / 32 ** 0.5)
    dense_lp = [p for n, p in ref_lp.named_parameters() if not n.startswith("emb.")] + [w]
    lp_opts = [torch.optim.Adam(dense_lp, lr=0.01), torch.optim.SparseAdam(list(ref_lp.emb.parameters()), lr=0.01)]
    et = lp.et
    gen = torch.Generator().manual_seed(2)

    def ref_lp_step(b):
        e = glp.edges[et][:, b]
        neg = torch.randint(0, glp.num_nodes["item"], (8,), generator=gen)
        users, u_pos = torch.unique(e[0], return_inverse=True)
        items, i_pos = torch.unique(torch.cat([e[1], neg]), return_inverse=True)
        excl = lp.new_id[b]
        blocks = lp.sampler.sample({"user": users, "item": items}, exclude={et: excl, lp.rev: excl})
        h = {t: (ref_lp.proj[t](ref_lp.features[t][ids]) if t in ref_lp.proj else ref_lp.emb[t](ids))
             for t, ids in blocks[0].src_nodes.items()}
        for W, loop, block in zip(ref_lp.W, ref_lp.loop, blocks):
            out = {t: loop(h[t][: d.numel()]) for t, d in block.dst_nodes.items()}
            for r, ety in enumerate(ref_lp.edge_types):
                if ety in block.edges:
                    s_, d_, _ = block.edges[ety]
                    deg = torch.bincount(d_, minlength=out[ety[2]].shape[0]).clamp(min=1)
                    out[ety[2]] = out[ety[2]].index_add(0, d_, (h[ety[0]][s_] @ W[r]) / deg[d_].unsqueeze(1))
            h = {t: torch.relu(v) for t, v in out.items()}
        H, D = h["user"][u_pos], h["item"][i_pos]
        T, N = D[: b.numel()], D[b.numel():]
        pos = (H * w * T).sum(-1)
        negs = (H * w) @ N.t()
        loss = nn.functional.binary_cross_entropy_with_logits(pos, torch.ones_like(pos)) + \
            nn.functional.binary_cross_entropy_with_logits(negs, torch.zeros_like(negs))
        for o in lp_opts:
            o.zero_grad()
        loss.backward()
        for o in lp_opts:
            o.step()

    rows.append(_race("rgcn link_prediction (edges/s)", lp.batches()[:batches], lp.train_step, ref_lp_step, rounds))
    # ---- KGE models
    kg = synthetic.relational_kg(num_entities=20000, num_edges=200000, seed=0)
    for kind in ("transe", "distmult", "rotate"):
        hpk = check_hyperparameters(kind, "link_prediction", {"num-hidden": 128, "batch-size": 1024, "num-negs": 64,
                                                               "neg-share": True, "regularization-coef": 0.0,
                                                               "lr": 0.05, "sparse-lr": 0.05})
        run = KGERunner(kg, kind, hpk, device, 0, "mrr")
        ref_k = _ref_kge_step_factory(kind, kg.total_nodes, len(kg.edge_types), 128, 12.0, 0.05)
        gen = torch.Generator().manual_seed(1)

        def ref_kge(b, run=run, ref_k=ref_k, gen=gen):
            neg = torch.randint(0, kg.total_nodes, (64,), generator=gen)
            ref_k(run.h[b], run.r[b], run.t[b], neg)

        rows.append(_race(f"{kind} (triples/s)", run.batches()[:batches], run.train_step, ref_kge, rounds))
    return rows


def _race(what: str, batches: list[torch.Tensor], ours, ref, rounds: int) -> dict:
    """Alternate rounds of ``ours`` and ``ref`` over the same batches; items/s of each, median of rounds."""
    items = sum(int(b.numel()) for b in batches)
    ours(batches[0]), ref(batches[0])  # warm-up
    o_rates, r_rates = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for b in batches:
            ours(b)
        o_rates.append(items / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        for b in batches:
            ref(b)
        r_rates.append(items / (time.perf_counter() - t0))
    o, r = statistics.median(o_rates), statistics.median(r_rates)
    return {"what": what, "ours": o, "reference": r, "ratio": o / r}


def sampler(rounds: int) -> dict:
    n, m = 200000, 4000000
    g = torch.Generator().manual_seed(0)
    edges = {("n", "to", "n"): torch.randint(0, n, (2, m), generator=g)}
    s = NeighborSampler({"n": n}, edges, [10, 15, 15], torch.Generator().manual_seed(0))
    seeds = [torch.randperm(n, generator=g)[:1024] for _ in range(rounds)]
    s.sample({"n": seeds[0]})
    t0 = time.perf_counter()
    sampled = 0
    for x in seeds:
        sampled += sum(b.num_edges() for b in s.sample({"n": x}))
    dt = time.perf_counter() - t0
    return {"graph": f"{n} nodes, {m} edges (average in-degree {m // n})", "fanout": [10, 15, 15], "batch": 1024,
            "seed_nodes_per_s": 1024 * rounds / dt, "sampled_edges_per_s": sampled / dt}


def quality() -> list[dict]:
    rows = []
    # karate club: 4 labelled members per club, mean over 5 splits
    try:
        import networkx  # noqa: F401

        accs = []
        for seed in range(5):
            g = synthetic.karate_club(seed=seed, train_per_class=4)
            r = train(g, "rgcn", {"num-hidden": 16, "num-epochs": 50, "batch-size": 8, "fanout": [-1, -1],
                                  "enable-early-stop": False, "lr": 0.02, "sparse-lr": 0.05, "dropout": 0.0,
                                  "use-self-loop": False}, seed=seed, **_quiet())
            accs.append(r.test["acc"])
        rows.append({"graph": "karate club (34 members, 8 labelled)", "model": "rgcn", "metric": "test acc",
                     "value": statistics.mean(accs), "spread": statistics.pstdev(accs), "baseline": 0.5,
                     "baseline_is": "chance"})
    except ImportError:
        rows.append({"graph": "karate club", "model": "rgcn", "metric": "skipped: networkx not installed"})
    hp = {"num-hidden": 32, "num-epochs": 10, "batch-size": 128, "fanout": [10, 10], "enable-early-stop": False,
          "lr": 0.01, "sparse-lr": 0.05}
    g = synthetic.planted_partition("node_class", num_users=3000, num_items=1000, num_classes=5, feature_noise=3.0)
    r = train(g, "rgcn", hp, **_quiet())
    rows.append({"graph": "planted partition, 3000 users, 5 classes", "model": "rgcn", "metric": "test acc",
                 "value": r.test["acc"], "baseline": 0.2, "baseline_is": "chance"})
    g = synthetic.planted_partition("node_regression", num_users=3000, num_items=1000, num_classes=5, feature_noise=3.0)
    y = g.labels
    base = float(((y[g.split["test"]] - y[g.split["train"]].mean()) ** 2).mean())
    r = train(g, "rgcn", hp, **_quiet())
    rows.append({"graph": "planted partition, 3000 users, regression", "model": "rgcn", "metric": "test mse",
                 "value": r.test["mse"], "baseline": base, "baseline_is": "training mean"})
    g = synthetic.planted_partition("link_prediction", num_users=2000, num_items=500, num_classes=10, p_in=0.95)
    hpl = dict(hp, **{"num-negs": 8, "dropout": 0.0})
    base = RGCNLinkRunner(g, check_hyperparameters("rgcn", "link_prediction", hpl), torch.device("cpu"), 0, "mrr").evaluate("test")
    r = train(g, "rgcn", hpl, **_quiet())
    rows.append({"graph": "planted partition, 2000 users, 500 items, 'buys' edges", "model": "rgcn", "metric": "test mrr / hits@10",
                 "value": r.test["mrr"], "value2": r.test["hits@10"], "baseline": base["mrr"],
                 "baseline2": base["hits@10"], "baseline_is": "untrained"})
    kg = synthetic.relational_kg(num_entities=500, num_edges=3000, num_clusters=20)
    for kind in ("transe", "distmult", "rotate"):
        hpk = {"num-hidden": 64, "num-epochs": 30, "batch-size": 256, "gamma": 6.0, "num-negs": 32,
               "enable-early-stop": False, "lr": 0.05, "sparse-lr": 0.05}
        base = KGERunner(kg, kind, check_hyperparameters(kind, "link_prediction", hpk), torch.device("cpu"), 0, "mrr").evaluate("test")
        r = train(kg, kind, hpk, **_quiet())
        rows.append({"graph": "knowledge graph with rules, 500 entities, 20 clusters", "model": kind, "metric": "test mrr / hits@10",
                     "value": r.test["mrr"], "value2": r.test["hits@10"], "baseline": base["mrr"],
                     "baseline2": base["hits@10"], "baseline_is": "random embeddings"})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=["throughput", "sampler", "quality"], default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--batches", type=int, default=4)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    out: dict = {"machine": f"{platform.machine()}, {args.threads} thread(s), device {args.device}",
                 "torch": torch.__version__, "date": time.strftime("%Y-%m-%d")}
    if args.only in (None, "throughput"):
        out["throughput"] = throughput(device, args.rounds, args.batches)
        print("| training step | ours | plain-torch reference | ratio |\n|---|---:|---:|---:|")
        for r in out["throughput"]:
            ref = f"{r['reference']:,.0f}" if r["reference"] else "n/a"
            ratio = f"{r['ratio']:.2f}" if r["ratio"] else ""
            print(f"| {r['what']} | {r['ours']:,.0f} | {ref} | {ratio} |")
    if args.only in (None, "sampler"):
        out["sampler"] = sampler(args.rounds * 2)
        s = out["sampler"]
        print(f"\nsampler, fanout {s['fanout']}, batch {s['batch']}, {s['graph']}: "
              f"{s['seed_nodes_per_s']:,.0f} seed nodes/s, {s['sampled_edges_per_s']:,.0f} sampled edges/s")
    if args.only in (None, "quality"):
        out["quality"] = quality()
        print("\n| graph | model | metric | value | baseline |\n|---|---|---|---:|---:|")
        for r in out["quality"]:
            if "value" not in r:
                print(f"| {r['graph']} | {r['model']} | {r['metric']} | | |")
                continue
            v = f"{r['value']:.3f}" + (f" / {r['value2']:.3f}" if "value2" in r else "") + \
                (f" (± {r['spread']:.3f})" if "spread" in r else "")
            b = f"{r['baseline']:.3f}" + (f" / {r['baseline2']:.3f}" if "baseline2" in r else "")
            print(f"| {r['graph']} | {r['model']} | {r['metric']} | {v} | {b} ({r['baseline_is']}) |")
    RESULTS.parent.mkdir(exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    previous.update(out)
    RESULTS.write_text(json.dumps(previous, indent=1) + "\n")


if __name__ == "__main__":
    main()
