"""The CPU average pooling must be avg_pool2d to the bit: forward, backward, double backward, forward mode."""

import pytest
import torch
import torch.nn.functional as F
from torch.autograd import forward_ad

from balenas.pooling import MIN_WIDTH, AvgPool3x3, _BoxMean, avg_pool2d_only, exact_path

SHAPES = [(64, 8, 16, 16), (2, 3, 5, 7), (1, 1, 1, 1), (3, 2, 1, 6), (4, 16, 32, 32), (8, 5, 2, 2), (2, 64, 8, 8)]


def reference(x):
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


def batch(shape, dtype, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=gen, dtype=dtype) * 10
    x[..., :3, :3] = -0.0  # a window of negative zeros: the kernel's sum starts at +0, so its mean is +0
    return x, torch.randn(*shape, generator=gen, dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_values_and_gradients_are_avg_pool2d_bits(shape, dtype):
    x, g = batch(shape, dtype)
    pool = _BoxMean.apply  # what AvgPool3x3 runs on planes at least MIN_WIDTH wide; every shape here
    ours = pool(x)
    assert torch.equal(ours, reference(x)) and torch.equal(ours.signbit(), reference(x).signbit())
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    (ga,) = torch.autograd.grad(pool(a), a, g, create_graph=True)
    (gb,) = torch.autograd.grad(reference(b), b, g, create_graph=True)
    assert torch.equal(ga, gb) and torch.equal(ga.signbit(), gb.signbit())
    # double backward (the Hessian's double-backward mode and GraSP differentiate the backward): the op is
    # linear, so the backward depends on the incoming gradient only, and its backward is the pooling again
    v = torch.randn(*shape, dtype=dtype)
    gg = g.clone().requires_grad_()
    ha = torch.autograd.grad(torch.autograd.grad(pool(a), a, gg, create_graph=True)[0], gg, v)[0]
    hb = torch.autograd.grad(torch.autograd.grad(reference(b), b, gg, create_graph=True)[0], gg, v)[0]
    assert torch.equal(ha, hb)
    # forward mode
    with forward_ad.dual_level():
        ta = forward_ad.unpack_dual(pool(forward_ad.make_dual(x, g))).tangent
        tb = forward_ad.unpack_dual(reference(forward_ad.make_dual(x, g))).tangent
    assert torch.equal(ta, tb)


def test_wide_planes_take_the_shifted_adds_and_narrow_ones_the_kernel(monkeypatch):
    calls = []
    monkeypatch.setattr(_BoxMean, "apply", lambda x: calls.append(x.shape) or reference(x))
    for width in (MIN_WIDTH - 1, MIN_WIDTH, 2 * MIN_WIDTH):
        x, _ = batch((2, 3, 4, width), torch.float32)
        assert exact_path(x) == (width >= MIN_WIDTH)
        AvgPool3x3(1)(x)
    assert [c[-1] for c in calls] == [MIN_WIDTH, 2 * MIN_WIDTH]


def test_gradcheck_in_float64():
    x = torch.randn(2, 3, 5, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(_BoxMean.apply, (x,), check_forward_ad=True)
    assert torch.autograd.gradgradcheck(_BoxMean.apply, (x,))


def test_other_inputs_take_avg_pool2d():
    x, _ = batch((2, 4, 6, MIN_WIDTH), torch.float32)
    assert exact_path(x) and not exact_path(x.contiguous(memory_format=torch.channels_last))
    assert not exact_path(x.half()) and not exact_path(x[0])
    strided = AvgPool3x3(2)
    assert torch.equal(strided(x), F.avg_pool2d(x, 3, 2, 1, count_include_pad=False))
    # inside torch.func (the forward-mode Hessian's vmap) it is avg_pool2d, transformable as ever
    rows = torch.func.vmap(AvgPool3x3(1))(x)
    assert torch.equal(rows, reference(x))


def test_a_supernet_step_is_bitwise_what_avg_pool2d_gives():
    """The default run's NB201 results must not move: one supernet training step with either pooling."""
    from balenas.spaces.nb201 import NB201Config
    from balenas.supernets.nb201 import nb201_supernet

    torch.manual_seed(0)
    net = nb201_supernet(NB201Config(4, 1), 10)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    x, y = torch.randn(8, 3, 16, 16), torch.randint(10, (8,))
    alpha = torch.randn(6, 5, requires_grad=True)

    def step():
        net.load_state_dict(state)
        net.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x, torch.softmax(alpha, -1)), y)
        grads = torch.autograd.grad(loss, [alpha, *net.parameters()])
        return loss.detach(), grads

    loss_a, grads_a = step()
    with avg_pool2d_only():
        assert not exact_path(x)
        loss_b, grads_b = step()
    assert exact_path(x)
    assert torch.equal(loss_a, loss_b)
    assert all(torch.equal(a, b) for a, b in zip(grads_a, grads_b))
