"""The neighbour sampler: fanout per layer and edge type, without replacement, dst-first layout, exclusion."""

import pytest
import torch

from hyperjob.algorithms.graph.sampler import NeighborSampler, build_csr
from hyperjob.errors import SpecError

torch.set_num_threads(1)

ET_A = ("u", "follows", "u")
ET_B = ("i", "bought-by", "u")


def _graph(seed=0):
    g = torch.Generator().manual_seed(seed)
    num = {"u": 50, "i": 20}
    edges = {
        ET_A: torch.unique(torch.randint(0, 50, (2, 400), generator=g), dim=1),
        ET_B: torch.unique(torch.stack([torch.randint(0, 20, (300,), generator=g),
                                        torch.randint(0, 50, (300,), generator=g)]), dim=1),
    }
    return num, edges


def test_csr_lists_every_incoming_edge():
    _, edges = _graph()
    e = edges[ET_A]
    csr = build_csr(e, 50)
    for v in (0, 7, 49):
        got = sorted(csr.src[csr.indptr[v]:csr.indptr[v + 1]].tolist())
        assert got == sorted(e[0][e[1] == v].tolist())
        assert torch.equal(e[1][csr.eid[csr.indptr[v]:csr.indptr[v + 1]]], torch.full((len(got),), v))


def test_fanout_is_respected_per_node_and_edge_type_without_replacement():
    num, edges = _graph()
    s = NeighborSampler(num, edges, [3, 4], torch.Generator().manual_seed(1))
    seeds = torch.tensor([0, 5, 9, 13, 40])
    blocks = s.sample({"u": seeds})
    assert len(blocks) == 2
    assert torch.equal(blocks[-1].dst_nodes["u"], seeds)
    for block, fan in zip(blocks, [3, 4]):
        for et, (src_l, dst_l, eid) in block.edges.items():
            full = edges[et]
            dst_g = block.dst_nodes[et[2]][dst_l]
            src_g = block.src_nodes[et[0]][src_l]
            # every sampled edge is a real edge, its id points at it
            assert torch.equal(full[0][eid], src_g) and torch.equal(full[1][eid], dst_g)
            # no edge twice (without replacement)
            assert eid.unique().numel() == eid.numel()
            deg = torch.bincount(full[1], minlength=num[et[2]])
            got = torch.bincount(dst_l, minlength=block.dst_nodes[et[2]].numel())
            expect = deg[block.dst_nodes[et[2]]].clamp(max=fan)
            assert torch.equal(got, expect)


def test_dst_nodes_are_a_prefix_of_src_nodes_and_unique():
    num, edges = _graph()
    blocks = NeighborSampler(num, edges, [5, 5, 5]).sample({"u": torch.tensor([3, 1, 2])})
    for b in blocks:
        for t in num:
            n = b.dst_nodes[t].numel()
            assert torch.equal(b.src_nodes[t][:n], b.dst_nodes[t])
            assert b.src_nodes[t].unique().numel() == b.src_nodes[t].numel()
    for lower, upper in zip(blocks, blocks[1:]):
        for t in num:
            assert torch.equal(lower.dst_nodes[t], upper.src_nodes[t])


def test_minus_one_takes_every_neighbour_and_fanouts_are_input_layer_first():
    num, edges = _graph()
    s = NeighborSampler(num, edges, [2, 100])
    seeds = torch.tensor([4])
    last = s.sample({"u": seeds})[-1]
    assert last.edges[ET_A][0].numel() == int((edges[ET_A][1] == 4).sum())  # seeds got fanout 100 (all)
    full = s.sample({"u": seeds}, fanouts=[-1, -1])
    assert full[0].num_edges() >= s.sample({"u": seeds})[0].num_edges()


def test_exclude_drops_those_edges():
    num, edges = _graph()
    target = int(edges[ET_A][1][0])
    incoming = torch.nonzero(edges[ET_A][1] == target).squeeze(1)
    s = NeighborSampler(num, edges, [-1])
    b = s.sample({"u": torch.tensor([target])}, exclude={ET_A: incoming[:1]})[0]
    assert incoming[0] not in b.edges[ET_A][2]
    assert b.edges[ET_A][2].numel() == incoming.numel() - 1


def test_same_generator_seed_same_sample():
    num, edges = _graph()
    a = NeighborSampler(num, edges, [2, 2], torch.Generator().manual_seed(7)).sample({"u": torch.arange(10)})
    b = NeighborSampler(num, edges, [2, 2], torch.Generator().manual_seed(7)).sample({"u": torch.arange(10)})
    c = NeighborSampler(num, edges, [2, 2], torch.Generator().manual_seed(8)).sample({"u": torch.arange(10)})
    assert all(torch.equal(x.edges[ET_A][2], y.edges[ET_A][2]) for x, y in zip(a, b))
    assert not all(torch.equal(x.edges[ET_A][2], y.edges[ET_A][2]) for x, y in zip(a, c))


def test_sampling_is_uniform_over_neighbours():
    # one node with 10 in-neighbours, fanout 2: each neighbour is drawn with probability 0.2
    e = torch.stack([torch.arange(1, 11), torch.zeros(10, dtype=torch.int64)])
    s = NeighborSampler({"n": 11}, {("n", "x", "n"): e}, [2], torch.Generator().manual_seed(0))
    counts = torch.zeros(11)
    for _ in range(2000):
        b = s.sample({"n": torch.tensor([0])})[0]
        counts[b.src_nodes["n"][b.edges[("n", "x", "n")][0]]] += 1
    freq = counts[1:] / 2000
    assert torch.allclose(freq, torch.full((10,), 0.2), atol=0.04)


def test_bad_fanout_is_refused():
    num, edges = _graph()
    with pytest.raises(SpecError, match=r"fanout.*\[10, 0\]"):
        NeighborSampler(num, edges, [10, 0])
