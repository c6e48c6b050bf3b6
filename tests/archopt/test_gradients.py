"""The order registry: order 2 is DARTS' unrolled hypergradient at the alpha it is given."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from balenas.archdist import flatten, row_softmax, unflatten
from balenas.archopt.gradients import GRADIENTS, ArchStepContext, get_estimator
from balenas.archopt.unrolled import unrolled_hypergradient
from balenas.spaces.nb201 import NB201Config
from balenas.supernets import nb201_supernet

CRIT = nn.CrossEntropyLoss()
GROUPS = {"cell": (6, 5)}


def softmax_rows(flat: torch.Tensor) -> dict[str, torch.Tensor]:
    """The flat architecture vector the estimators see -> the supernet's mixing-weight groups."""
    return row_softmax(unflatten(flat, GROUPS))


def make_ctx(seed: int = 0) -> tuple[ArchStepContext, torch.Tensor]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = nb201_supernet(NB201Config(channels=4, cells_per_stage=1), num_classes=3).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.5, momentum=0.9, nesterov=True, weight_decay=5e-4)
    alpha = flatten({"cell": 0.5 * torch.randn(6, 5, generator=gen)})
    # one real step so that momentum buffers exist, as in a running search
    CRIT(net(torch.randn(8, 3, 8, 8, generator=gen), softmax_rows(alpha)), torch.randint(0, 3, (8,), generator=gen)).backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    train = (torch.randn(8, 3, 8, 8, generator=gen), torch.randint(0, 3, (8,), generator=gen))
    val = (torch.randn(8, 3, 8, 8, generator=gen), torch.randint(0, 3, (8,), generator=gen))
    return ArchStepContext(net, softmax_rows, val, train, opt, CRIT), alpha


def test_both_orders_are_registered_and_unknown_orders_list_them():
    assert {"1", "2"} <= set(GRADIENTS.keys())
    with pytest.raises(KeyError, match="1, 2"):
        get_estimator(3)


def _twin(ctx: ArchStepContext) -> ArchStepContext:
    """The same step on a deep copy of the network and an optimizer with a copy of its state."""
    net = copy.deepcopy(ctx.network)
    opt = torch.optim.SGD(net.parameters(), **ctx.w_optimizer.defaults)
    opt.load_state_dict(copy.deepcopy(ctx.w_optimizer.state_dict()))
    return ArchStepContext(net, ctx.to_weights, ctx.val_batch, ctx.train_batch, opt, ctx.criterion)


def test_order_two_is_the_unrolled_hypergradient_and_reports_first_order_loss():
    ctx, alpha = make_ctx()
    ref = _twin(ctx)
    second = get_estimator(2)(ctx, alpha)
    # the gradient is DARTS' finite-difference hypergradient at exactly this alpha ...
    expected = unrolled_hypergradient(ref.network, softmax_rows, alpha, ref.train_batch, ref.val_batch,
                                      ref.w_optimizer, CRIT)
    torch.testing.assert_close(second.grad, expected, rtol=1e-5, atol=1e-7)
    # ... which differs from the first-order gradient by a visible implicit term (lr 0.5)
    first = get_estimator(1)(ref, alpha)
    assert float((second.grad - first.grad).norm()) > 0.05 * float(first.grad.norm())
    # loss and accuracy are measured at the current weights, as order 1 reports them
    assert second.loss == pytest.approx(first.loss, rel=1e-6)
    assert second.correct == first.correct
    assert second.grad.shape == alpha.shape and not second.grad.requires_grad


def test_order_two_leaves_weights_and_momentum_untouched():
    ctx, alpha = make_ctx(1)
    params = {n: p.detach().clone() for n, p in ctx.network.named_parameters()}
    bufs = {id(p): s["momentum_buffer"].clone() for p, s in ctx.w_optimizer.state.items()}
    get_estimator(2)(ctx, alpha)
    for n, p in ctx.network.named_parameters():
        assert torch.equal(p, params[n]), n
        assert p.grad is None, n
    for p, s in ctx.w_optimizer.state.items():
        assert torch.equal(s["momentum_buffer"], bufs[id(p)])


def test_order_two_takes_the_gradient_at_the_given_alpha():
    """BaLeNAS hands a sampled alpha: the hypergradient must depend on it, not on some stored alpha."""
    ctx, alpha = make_ctx(2)
    g1 = get_estimator(2)(_twin(ctx), alpha).grad
    g2 = get_estimator(2)(_twin(ctx), alpha + 1.0 * torch.randn(alpha.shape)).grad
    g1_again = get_estimator(2)(_twin(ctx), alpha).grad
    assert torch.equal(g1, g1_again)
    assert float((g1 - g2).norm()) > 1e-3 * float(g1.norm())
