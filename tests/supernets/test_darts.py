"""The DARTS candidate ops and search supernet."""

from __future__ import annotations

import pytest
import torch

from balenas.spaces.darts import DARTS_OPS, DartsModelConfig, DartsSpace, published_genotype
from balenas.supernets.darts import MixedOp, darts_supernet, reduction_layers
from balenas.supernets.darts_ops import DARTS_OP_FACTORIES, FactorizedReduce, make_op, search_op

SPACE = DartsSpace()


def _weights(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {k: torch.softmax(torch.randn(14, 8, generator=g), -1) for k in ("normal", "reduce")}


@pytest.mark.parametrize("name", DARTS_OPS)
@pytest.mark.parametrize("stride", [1, 2])
def test_op_shapes(name: str, stride: int) -> None:
    x = torch.randn(2, 4, 8, 8)
    assert make_op(name, 4, stride, True)(x).shape == (2, 4, 8 // stride, 8 // stride)
    assert search_op(name, 4, stride)(x).shape == (2, 4, 8 // stride, 8 // stride)


def test_op_structure_follows_darts() -> None:
    c = 6
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n(make_op("sep_conv_3x3", c, 1, False)) == 2 * (9 * c + c * c)  # applied twice, no affine
    assert n(make_op("sep_conv_5x5", c, 1, True)) == 2 * (25 * c + c * c + 2 * c)
    assert n(make_op("dil_conv_5x5", c, 1, False)) == 25 * c + c * c
    assert n(make_op("skip_connect", c, 2, False)) == 2 * c * (c // 2)
    assert isinstance(make_op("skip_connect", c, 1, False), torch.nn.Identity)
    # search pools carry a BN(affine=False); bare pools don't
    assert isinstance(search_op("max_pool_3x3", c, 1)[1], torch.nn.BatchNorm2d)
    assert not search_op("avg_pool_3x3", c, 1)[1].affine
    # avg pool ignores the padding: a constant image stays constant at the border
    ones = torch.ones(1, 1, 4, 4)
    assert torch.allclose(make_op("avg_pool_3x3", 1, 1, False)(ones), ones)
    assert make_op("none", c, 2, False)(torch.randn(1, c, 5, 5)).abs().sum() == 0
    with pytest.raises(KeyError, match="sep_conv_3x3"):
        make_op("sep_conv_7x7", c, 1, False)
    assert set(DARTS_OP_FACTORIES) == set(DARTS_OPS)


def test_factorized_reduce_handles_odd_sizes() -> None:
    fr = FactorizedReduce(4, 8, affine=False)
    assert fr(torch.randn(2, 4, 7, 7)).shape == (2, 8, 4, 4)
    with pytest.raises(ValueError, match="even"):
        FactorizedReduce(4, 7)


def test_mixed_op_skipping_none_changes_nothing() -> None:
    torch.manual_seed(0)
    op = MixedOp(4, 2)
    x = torch.randn(3, 4, 8, 8)
    w = torch.softmax(torch.randn(8), 0).requires_grad_()
    full = sum(w[k] * m(x) for k, m in enumerate(op.ops))
    fast = op(x, w)
    assert torch.allclose(fast, full, atol=1e-6)
    (g_fast,) = torch.autograd.grad(fast.sum(), w)
    (g_full,) = torch.autograd.grad(full.sum(), w)
    assert torch.allclose(g_fast, g_full, atol=1e-5) and g_fast[0] == 0


def test_paper_size_parameters_and_shape() -> None:
    """C=16, 8 cells, 10 classes: 1,930,618 parameters, DARTS' logged 'param size = 1.930618MB'.

    The count was also reproduced independently by the plain network in bench/bench_darts_supernet.py.
    """
    net = darts_supernet(DartsModelConfig(), num_classes=10)
    assert sum(p.numel() for p in net.parameters()) == 1_930_618
    assert reduction_layers(8) == (2, 5)
    assert [c.reduction for c in net.cells] == [False, False, True, False, False, True, False, False]
    assert all(not m.affine for c in net.cells for m in c.modules() if isinstance(m, torch.nn.BatchNorm2d))
    with torch.no_grad():
        out = net(torch.randn(2, 3, 32, 32), _weights())
    assert out.shape == (2, 10) and torch.isfinite(out).all()


def test_tiny_supernet_gradients_and_checks() -> None:
    torch.manual_seed(0)
    net = darts_supernet(DartsModelConfig(C=4, layers=3), num_classes=5, in_channels=1)
    alpha = {k: torch.zeros(14, 8, requires_grad=True) for k in ("normal", "reduce")}
    out = net(torch.randn(4, 1, 8, 8), {k: torch.softmax(a, -1) for k, a in alpha.items()})
    assert out.shape == (4, 5)
    grads = torch.autograd.grad(out.logsumexp(1).mean(), list(alpha.values()))
    assert all(g.abs().sum() > 0 for g in grads)
    with pytest.raises(ValueError, match="reduce"):
        net(torch.randn(1, 1, 8, 8), {"normal": torch.zeros(14, 8)})
    with pytest.raises(ValueError, match="shape"):
        net(torch.randn(1, 1, 8, 8), {"normal": torch.zeros(14, 8), "reduce": torch.zeros(6, 5)})
    with pytest.raises(ValueError, match="steps"):
        DartsModelConfig(steps=3)


def test_one_hot_weights_ignore_unchosen_ops() -> None:
    """With one-hot weights, perturbing the weights of an unchosen op changes no logit."""
    torch.manual_seed(0)
    net = darts_supernet(DartsModelConfig(C=4, layers=3), num_classes=3).eval()
    w = SPACE.one_hot(published_genotype("DARTS_V2"))
    x = torch.randn(2, 3, 8, 8)
    edge_unused = 4  # node 3 <- 2: not an input of DARTS_V2's normal node 3
    assert w["normal"][edge_unused].sum() == 0
    with torch.no_grad():
        base = net(x, w)
        # change the parameters on an unused edge: the output must not move
        for p in net.cells[0].edges[edge_unused].parameters():
            p.add_(1.0)
        assert torch.allclose(net(x, w), base)


def test_selection_network_builds_the_genotype() -> None:
    from balenas.spaces.darts import DartsNetworkConfig
    from balenas.supernets.darts import darts_selection_network

    g = published_genotype("DARTS_V2")
    net = darts_selection_network(g, DartsNetworkConfig(C=4, layers=3), num_classes=7, in_channels=1)
    assert net.auxiliary is None
    assert net(torch.randn(2, 1, 8, 8)).shape == (2, 7)
    ops = [type(op).__name__ for op in net.cells[0].ops]
    assert len(ops) == 8 and ops.count("Identity") == 2  # DARTS_V2's normal cell: 2 skips at stride 1
    other = darts_selection_network(published_genotype("DARTS_V1"), DartsNetworkConfig(C=4, layers=3), 7, 1)
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n(net) != n(other)
    with pytest.raises(ValueError, match="DartsNetworkConfig"):
        darts_selection_network(g, DartsModelConfig(), 7, 1)  # type: ignore[arg-type]
