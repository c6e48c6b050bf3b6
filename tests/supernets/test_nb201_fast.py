import pytest
import torch
from torch import nn

from balenas.spaces.nb201 import NB201Config

from balenas.supernets import nb201_supernet
from balenas.supernets.nb201_fast import EDGE_ORDER, OUT_EDGES, nb201_fast_supernet

TOL = 1e-5


def _pair(pool_as_conv=False, channels=4, cells=1):
    torch.manual_seed(0)
    plain = nb201_supernet(NB201Config(channels, cells), 10, 3)
    fast = nb201_fast_supernet(channels, cells, 10, 3, pool_as_conv=pool_as_conv)
    fast.load_state_dict(plain.state_dict())
    return plain, fast


def _step(net, x, y, alpha):
    alpha = alpha.detach().requires_grad_(True)
    logits = net(x, torch.softmax(alpha, -1))
    loss = nn.functional.cross_entropy(logits, y)
    grads = torch.autograd.grad(loss, [alpha, *net.parameters()])
    return logits.detach(), grads


@pytest.mark.parametrize("pool_as_conv", [False, True])
def test_fast_supernet_outputs_and_gradients_equal_plain(pool_as_conv):
    torch.set_num_threads(1)
    plain, fast = _pair(pool_as_conv, cells=2)
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(4, 3, 8, 8, generator=gen), torch.randint(10, (4,), generator=gen)
    alpha = torch.randn(6, 5, generator=gen)
    lp, gp = _step(plain, x, y, alpha)
    lf, gf = _step(fast, x, y, alpha)
    assert (lp - lf).abs().max() <= TOL
    assert len(gp) == len(gf)
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


def test_fast_supernet_shares_parameters_layout_and_state_dict():
    plain, fast = _pair()
    assert [k for k, _ in plain.named_parameters()] == [k for k, _ in fast.named_parameters()]
    assert plain.state_dict().keys() == fast.state_dict().keys()
    # a fast-supernet checkpoint loads into the plain one and gives the same output
    with torch.no_grad():
        for p in fast.parameters():
            p.add_(0.01)
    plain.load_state_dict(fast.state_dict())
    x, w = torch.randn(2, 3, 8, 8), torch.softmax(torch.randn(6, 5), -1)
    assert (plain(x, w) - fast(x, w)).abs().max() <= TOL


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
    lp, gp = _step(plain, x, y, alpha)
    lf, gf = _step(fast, x, y, alpha)
    assert (lp - lf).abs().max() <= 1e-12
    for a, b in zip(gp, gf):
        assert (a - b).abs().max() <= 1e-12
