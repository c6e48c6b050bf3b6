import pytest
import torch
from torch import nn

from balenas.spaces.nb201 import NB201Config

from balenas.supernets import nb201_supernet
from balenas.supernets.nb201_fast import EDGE_ORDER, OUT_EDGES, FastNB201Network, nb201_fast_supernet

TOL = 1e-5


def _pair(pool_as_conv=False, channels=4, cells=1, channels_last=False):
    torch.manual_seed(0)
    plain = nb201_supernet(NB201Config(channels, cells), 10, 3)
    fast = nb201_fast_supernet(channels, cells, 10, 3, pool_as_conv=pool_as_conv)
    fast.load_state_dict(plain.state_dict())
    if channels_last:  # as search.speed.channels_last does: parameters (fused kernels too) and inputs NHWC
        fast.to(memory_format=torch.channels_last)
    return plain, fast


def _step(net, x, y, alpha):
    """Logits and the gradients (architecture first, then the weights in the plain supernet's layout)."""
    alpha = alpha.detach().requires_grad_(True)
    logits = net(x, torch.softmax(alpha, -1))
    loss = nn.functional.cross_entropy(logits, y)
    names = [k for k, _ in net.named_parameters()]
    grads = torch.autograd.grad(loss, [alpha, *net.parameters()])
    by_name = dict(zip(names, grads[1:]))
    if isinstance(net, FastNB201Network):
        by_name = net.to_plain(by_name)
    return logits.detach(), [grads[0], *by_name.values()], list(by_name)


@pytest.mark.parametrize("pool_as_conv,channels_last", [(False, False), (True, False), (True, True)])
def test_fast_supernet_outputs_and_gradients_equal_plain(pool_as_conv, channels_last):
    torch.set_num_threads(1)
    plain, fast = _pair(pool_as_conv, cells=2, channels_last=channels_last)
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(4, 3, 8, 8, generator=gen), torch.randint(10, (4,), generator=gen)
    alpha = torch.randn(6, 5, generator=gen)
    lp, gp, names_p = _step(plain, x, y, alpha)
    xf = x.contiguous(memory_format=torch.channels_last) if channels_last else x
    lf, gf, names_f = _step(fast, xf, y, alpha)
    assert (lp - lf).abs().max() <= TOL
    assert names_p == names_f  # every plain parameter's gradient, in the plain order
    for a, b in zip(gp, gf):
        assert (a - b).abs().max() <= TOL
    assert gp[0].abs().max() > 0  # the architecture gradient is not trivially zero


def test_fast_supernet_mixing_weights_are_not_symmetric_by_accident():
    # a permutation bug in the edge grouping would survive uniform weights; one-hot weights expose it
    plain, fast = _pair()
    x = torch.randn(2, 3, 8, 8)
    for e in range(6):
        for k in range(5):
            w = torch.full((6, 5), 0.1)
            w[e, k] = 3.0
            assert (plain(x, w) - fast(x, w)).abs().max() <= TOL, (e, k)


def test_fast_supernet_state_dict_is_the_plain_one_key_for_key():
    plain, fast = _pair()
    sp, sf = plain.state_dict(), fast.state_dict()
    assert list(sp) == list(sf)  # same keys in the same order: checkpoints load either way
    assert all(torch.equal(sp[k], sf[k]) for k in sp)
    # the fused kernels are the edges' kernels concatenated, one parameter per (cell, source, conv type)
    n_edge_convs = sum(1 for k in sp if ".edges." in k)
    n_fused = sum(1 for k, _ in fast.named_parameters() if ".fused_" in k)
    assert (n_edge_convs, n_fused) == (3 * 12, 3 * 6)  # 3 cells (one per stage)
    # a fast-supernet checkpoint loads into the plain one and gives the same output
    with torch.no_grad():
        for p in fast.parameters():
            p.add_(torch.rand_like(p))
    plain.load_state_dict(fast.state_dict())
    x, w = torch.randn(2, 3, 8, 8), torch.softmax(torch.randn(6, 5), -1)
    assert (plain(x, w) - fast(x, w)).abs().max() <= TOL
    assert (plain(x) - fast(x)).abs().max() <= TOL  # the unweighted forward (plain modules, fused kernels)
    # and back: a changed plain checkpoint loads into the fast one
    with torch.no_grad():
        plain.cells[0].edges[4][3][1].weight.mul_(-2.0)
    fast.load_state_dict(plain.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), fast.state_dict().values()))


def test_fast_supernet_to_plain_maps_gradients_to_the_right_edges():
    # a single edge's 3x3 conv carries the only nonzero gradient: to_plain must put it on that edge
    _, fast = _pair()
    grads = {k: torch.zeros_like(p) for k, p in fast.named_parameters()}
    fused = grads["cells.0.fused_nor_conv_3x3_from0"]  # edges leaving node 0: 0 (->1), 1 (->2), 3 (->3)
    c = fused.shape[0] // len(OUT_EDGES[0])
    fused[2 * c:] = 1.0  # the third edge leaving node 0
    plain_grads = fast.to_plain(grads)
    nonzero = [k for k, g in plain_grads.items() if g.abs().sum() > 0]
    assert nonzero == [f"cells.0.edges.{OUT_EDGES[0][2]}.3.1.weight"]


def test_edge_grouping_covers_every_edge_once():
    assert sorted(EDGE_ORDER) == list(range(6))
    assert {s: len(e) for s, e in OUT_EDGES.items()} == {0: 3, 1: 2, 2: 1}


def test_fast_supernet_rejects_bad_weights():
    _, fast = _pair()
    with pytest.raises(ValueError, match=r"\(6, 5\)"):
        fast(torch.randn(2, 3, 8, 8), torch.ones(5, 5))


def test_fast_supernet_equals_plain_in_float64():
    # in float32 the two differ by rounding only, which the deep BN network amplifies in the gradients
    # (up to ~1e-3 at paper size); in float64 they must agree to ~1e-12, which a real bug would not
    plain, fast = _pair(cells=2)
    plain, fast = plain.double(), fast.double()
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(4, 3, 8, 8, generator=gen, dtype=torch.float64)
    y = torch.randint(10, (4,), generator=gen)
    alpha = torch.randn(6, 5, generator=gen, dtype=torch.float64)
    lp, gp, names_p = _step(plain, x, y, alpha)
    lf, gf, names_f = _step(fast, x, y, alpha)
    assert names_p == names_f
    assert (lp - lf).abs().max() <= 1e-12
    for a, b in zip(gp, gf):
        assert (a - b).abs().max() <= 1e-12


def test_fast_supernet_second_order_hypergradient_equals_plain():
    # DARTS' unrolled step substitutes parameters by name (functional_call): the fused kernels must take part
    from balenas.archopt.unrolled import unrolled_hypergradient

    plain, fast = _pair(cells=1)
    plain, fast = plain.double(), fast.double()
    gen = torch.Generator().manual_seed(3)
    batch = lambda: (torch.randn(4, 3, 8, 8, generator=gen, dtype=torch.float64),  # noqa: E731
                     torch.randint(10, (4,), generator=gen))
    train, val = batch(), batch()
    alpha = torch.randn(6, 5, generator=gen, dtype=torch.float64)
    grads = []
    for net in (plain, fast):
        opt = torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
        grads.append(unrolled_hypergradient(net, lambda a: torch.softmax(a, -1), alpha, train, val, opt,
                                            nn.functional.cross_entropy))
    assert grads[0].abs().max() > 0
    assert (grads[0] - grads[1]).abs().max() <= 1e-10
