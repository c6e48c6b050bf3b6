"""The unrolled (second-order DARTS) hypergradient against exact references.

Tolerances. Everything runs in float64. The central difference of Eq. 8 has truncation error
O(eps_scale^2) *only while no ReLU pre-activation changes sign between w- and w+*: dL/d alpha is
discontinuous in w at a ReLU kink, so a perturbation that crosses one makes the difference quotient
wrong by jump / (2 eps). On the tiny supernet (3008 ReLU inputs, the smallest |pre-activation| about
1e-5..1e-3) DARTS' default eps_scale = 0.01 crosses a few kinks and gives relative errors up to O(1);
with eps_scale = 1e-5 none is crossed (asserted below), truncation is ~1e-8 relative and rounding
~1e-16 / 1e-5 ~ 1e-11, observed 1e-9..1e-7; we allow 1e-5. Any real bug (missing or mis-signed
implicit term, `/ 2*eps`, wrong lr or momentum coefficient) is an O(1) relative error, and each test
asserts that the implicit term is a large part of the gradient so that such a bug cannot hide. The
O(eps^2) order itself is checked on a smooth (tanh) toy network, where the default eps_scale is accurate.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from balenas.archopt.unrolled import (
    finite_difference_mixed_hvp,
    stateless_loss,
    unrolled_hypergradient,
    unrolled_hypergradient_exact,
    virtual_sgd_step,
)
from balenas.spaces.nb201 import NB201Config
from balenas.supernets import nb201_supernet

DT = torch.float64
CRIT = nn.CrossEntropyLoss()


def softmax_rows(alpha: torch.Tensor) -> torch.Tensor:
    return torch.softmax(alpha, dim=-1)


class SmoothToy(nn.Module):
    """A tanh 'supernet' with ``forward(x, weights)``: twice differentiable everywhere."""

    def __init__(self, dim: int = 5, edges: int = 2, ops: int = 3, classes: int = 3) -> None:
        super().__init__()
        self.mixed = nn.ModuleList(
            nn.ModuleList(nn.Linear(dim, dim) for _ in range(ops)) for _ in range(edges)
        )
        self.head = nn.Linear(dim, classes)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        for e, ops in enumerate(self.mixed):
            x = sum(weights[e, k] * torch.tanh(op(x)) for k, op in enumerate(ops))
        return self.head(x)


def make_case(seed: int = 0, lr: float = 0.5, nesterov: bool = True, warm: bool = True):
    """Tiny float64 supernet, train/val batches, an alpha and an SGD optimizer (with buffers if warm)."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = nb201_supernet(NB201Config(channels=2, cells_per_stage=1), num_classes=3).to(DT).train()
    train = (torch.randn(4, 3, 4, 4, generator=gen, dtype=DT), torch.randint(0, 3, (4,), generator=gen))
    val = (torch.randn(4, 3, 4, 4, generator=gen, dtype=DT), torch.randint(0, 3, (4,), generator=gen))
    alpha = 0.5 * torch.randn(6, 5, generator=gen, dtype=DT)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, nesterov=nesterov, weight_decay=5e-4)
    if warm:  # one real step on another batch so that momentum buffers exist
        x = torch.randn(4, 3, 4, 4, generator=gen, dtype=DT)
        CRIT(net(x, softmax_rows(alpha)), torch.randint(0, 3, (4,), generator=gen)).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return net, train, val, alpha, opt


def first_order_grad(net, alpha, val) -> torch.Tensor:
    a = alpha.clone().requires_grad_(True)
    return torch.autograd.grad(stateless_loss(net, {}, softmax_rows(a), val, CRIT), a)[0]


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def exact_mixed_hvp(net, alpha, batch, vector) -> torch.Tensor:
    """d/d alpha <dL/dw, v> by double backward."""
    a = alpha.clone().requires_grad_(True)
    leaves = {n: p.detach().clone().requires_grad_(True) for n, p in net.named_parameters()}
    loss = stateless_loss(net, leaves, softmax_rows(a), batch, CRIT)
    gw = torch.autograd.grad(loss, list(leaves.values()), create_graph=True)
    dot = sum((g * vector[n]).sum() for g, n in zip(gw, leaves))
    return torch.autograd.grad(dot, a)[0]


def relu_signs(net, params, alpha, x) -> torch.Tensor:
    pre: list[torch.Tensor] = []
    hooks = [
        m.register_forward_hook(lambda _m, i, _o: pre.append(i[0].detach().flatten() > 0))
        for m in net.modules()
        if isinstance(m, nn.ReLU)
    ]
    try:
        with torch.no_grad():
            stateless_loss(net, params, softmax_rows(alpha), (x, torch.zeros(len(x), dtype=torch.long)), CRIT)
    finally:
        for h in hooks:
            h.remove()
    return torch.cat(pre)


# ----------------------------------------------------------------------------------- virtual step


@pytest.mark.parametrize(
    "nesterov,dampening,warm",
    [(True, 0.0, True), (False, 0.0, True), (True, 0.0, False), (False, 0.3, True), (False, 0.3, False)],
)
def test_sgd_virtual_step_equals_a_real_optimizer_step(nesterov, dampening, warm):
    net, train, _, alpha, _ = make_case(nesterov=nesterov, warm=False)
    opt = torch.optim.SGD(
        net.parameters(), lr=0.1, momentum=0.9, nesterov=nesterov, dampening=dampening, weight_decay=5e-4
    )
    if warm:
        CRIT(net(train[0].flip(0), softmax_rows(alpha)), train[1]).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    predicted = virtual_sgd_step(net, softmax_rows, alpha, train, opt, CRIT, virtual_step="sgd")
    twin = copy.deepcopy(net)
    twin_opt = torch.optim.SGD(twin.parameters(), **opt.defaults)
    twin_opt.load_state_dict(copy.deepcopy(opt.state_dict()))
    CRIT(twin(train[0], softmax_rows(alpha)), train[1]).backward()
    twin_opt.step()
    for name, p in twin.named_parameters():
        torch.testing.assert_close(predicted[name], p.detach(), rtol=1e-12, atol=1e-14, msg=name)


def test_darts_virtual_step_is_momentum_buf_plus_grad_plus_decay_ignoring_nesterov():
    net, train, _, alpha, opt = make_case(lr=0.1, nesterov=True, warm=True)
    predicted = virtual_sgd_step(net, softmax_rows, alpha, train, opt, CRIT, virtual_step="darts")
    params = dict(net.named_parameters())
    grads = torch.autograd.grad(CRIT(net(train[0], softmax_rows(alpha)), train[1]), list(params.values()))
    for (name, p), g in zip(params.items(), grads):
        buf = opt.state[p]["momentum_buffer"]
        expected = p.detach() - 0.1 * (0.9 * buf + g + 5e-4 * p.detach())
        torch.testing.assert_close(predicted[name], expected, rtol=1e-12, atol=1e-14, msg=name)
    # ...and differs from what Nesterov SGD would really do (so the two modes are not confused).
    real = virtual_sgd_step(net, softmax_rows, alpha, train, opt, CRIT, virtual_step="sgd")
    assert max(float((real[n] - predicted[n]).abs().max()) for n in real) > 1e-4


# ------------------------------------------------------------------------- Hessian-vector product


def test_fd_mixed_hvp_matches_autograd_on_the_supernet_when_no_relu_kink_is_crossed():
    net, train, _, alpha, _ = make_case(seed=1)
    gen = torch.Generator().manual_seed(7)
    params = {n: p.detach() for n, p in net.named_parameters()}
    vector = {n: torch.randn(p.shape, generator=gen, dtype=DT) for n, p in params.items()}
    eps_scale = 1e-5
    norm = float(torch.sqrt(sum((v**2).sum() for v in vector.values())))
    base = relu_signs(net, params, alpha, train[0])
    for sign in (1.0, -1.0):
        moved = {n: params[n] + sign * eps_scale / norm * vector[n] for n in params}
        assert torch.equal(relu_signs(net, moved, alpha, train[0]), base), "test setup crosses a ReLU kink"
    fd = finite_difference_mixed_hvp(net, softmax_rows, alpha, train, CRIT, params, vector, eps_scale)
    exact = exact_mixed_hvp(net, alpha, train, vector)
    assert rel_err(fd, exact) < 1e-5


def test_fd_mixed_hvp_is_a_central_difference_of_second_order():
    torch.manual_seed(3)
    net = SmoothToy().to(DT)
    gen = torch.Generator().manual_seed(3)
    batch = (torch.randn(8, 5, generator=gen, dtype=DT), torch.randint(0, 3, (8,), generator=gen))
    alpha = torch.randn(2, 3, generator=gen, dtype=DT)
    params = {n: p.detach() for n, p in net.named_parameters()}
    vector = {n: torch.randn(p.shape, generator=gen, dtype=DT) for n, p in params.items()}
    exact = exact_mixed_hvp(net, alpha, batch, vector)
    errors = [
        rel_err(finite_difference_mixed_hvp(net, softmax_rows, alpha, batch, CRIT, params, vector, e), exact)
        for e in (1e-2, 1e-3)
    ]
    # O(eps^2): a tenfold smaller step is ~100x more accurate (a one-sided difference gives ~10x).
    assert errors[0] / errors[1] > 50
    assert errors[0] < 1e-3  # DARTS' default step is accurate on a smooth network


def test_fd_mixed_hvp_of_zero_vector_is_zero():
    net, train, _, alpha, _ = make_case()
    params = {n: p.detach() for n, p in net.named_parameters()}
    zero = {n: torch.zeros_like(p) for n, p in params.items()}
    out = finite_difference_mixed_hvp(net, softmax_rows, alpha, train, CRIT, params, zero)
    assert torch.equal(out, torch.zeros_like(alpha))


# ----------------------------------------------------------------------------------- hypergradient


@pytest.mark.parametrize("mode,nesterov,seed", [("darts", True, 1), ("sgd", True, 1), ("sgd", False, 2)])
def test_fd_hypergradient_matches_exact_autograd_reference(mode, nesterov, seed):
    net, train, val, alpha, opt = make_case(seed=seed, nesterov=nesterov)
    exact = unrolled_hypergradient_exact(net, softmax_rows, alpha, train, val, opt, CRIT, virtual_step=mode)
    fd = unrolled_hypergradient(
        net, softmax_rows, alpha, train, val, opt, CRIT, eps_scale=1e-5, virtual_step=mode
    )
    # The implicit (second-order) term matters, so a bug in it cannot pass unnoticed.
    assert rel_err(first_order_grad(net, alpha, val), exact) > 0.2
    assert rel_err(fd, exact) < 1e-5


def test_exact_reference_equals_finite_differences_of_the_unrolled_validation_loss():
    """Independent of autograd through the step: directional derivatives of L_val(w'(alpha), alpha)."""
    net, train, val, alpha, opt = make_case(seed=1)
    gen = torch.Generator().manual_seed(11)
    directions = [torch.randn(alpha.shape, generator=gen, dtype=DT) for _ in range(3)]
    for mode in ("darts", "sgd"):
        exact = unrolled_hypergradient_exact(
            net, softmax_rows, alpha, train, val, opt, CRIT, virtual_step=mode
        )

        def f(a: torch.Tensor) -> float:
            w_prime = virtual_sgd_step(net, softmax_rows, a, train, opt, CRIT, virtual_step=mode)
            with torch.no_grad():
                return float(stateless_loss(net, w_prime, softmax_rows(a), val, CRIT))

        h = 1e-6
        for d in directions:
            numeric = (f(alpha + h * d) - f(alpha - h * d)) / (2 * h)
            assert abs(numeric - float((exact * d).sum())) < 1e-6 * float(exact.norm() * d.norm()), mode
        # A first-order gradient (the implicit term dropped) would fail the same check.
        first = first_order_grad(net, alpha, val)
        d = directions[0]
        numeric = (f(alpha + h * d) - f(alpha - h * d)) / (2 * h)
        assert abs(numeric - float((first * d).sum())) > 1e-2 * float(exact.norm() * d.norm())


def test_fd_hypergradient_with_per_group_learning_rates():
    net, train, val, alpha, _ = make_case(seed=1, warm=False)
    params = list(net.named_parameters())
    cells = [p for n, p in params if n.startswith("cells.0.")]
    rest = [p for n, p in params if not n.startswith("cells.0.")]
    opt = torch.optim.SGD(
        [{"params": cells, "lr": 1.0}, {"params": rest}], lr=0.05, momentum=0.9, weight_decay=5e-4
    )
    exact = unrolled_hypergradient_exact(net, softmax_rows, alpha, train, val, opt, CRIT)
    fd = unrolled_hypergradient(net, softmax_rows, alpha, train, val, opt, CRIT, eps_scale=1e-5)
    assert rel_err(first_order_grad(net, alpha, val), exact) > 0.2
    assert rel_err(fd, exact) < 1e-5


def test_default_eps_is_accurate_on_a_smooth_network():
    torch.manual_seed(4)
    net = SmoothToy().to(DT)
    gen = torch.Generator().manual_seed(4)
    train = (torch.randn(8, 5, generator=gen, dtype=DT), torch.randint(0, 3, (8,), generator=gen))
    val = (torch.randn(8, 5, generator=gen, dtype=DT), torch.randint(0, 3, (8,), generator=gen))
    alpha = torch.randn(2, 3, generator=gen, dtype=DT)
    opt = torch.optim.SGD(net.parameters(), lr=1.0, momentum=0.9, weight_decay=5e-4)
    exact = unrolled_hypergradient_exact(net, softmax_rows, alpha, train, val, opt, CRIT)
    fd = unrolled_hypergradient(net, softmax_rows, alpha, train, val, opt, CRIT)  # eps_scale = 0.01
    assert rel_err(first_order_grad(net, alpha, val), exact) > 0.05
    assert rel_err(fd, exact) < 1e-3


def test_hypergradient_leaves_network_optimizer_and_bn_statistics_untouched():
    net, train, val, alpha, opt = make_case(seed=0)
    for p in net.parameters():
        p.grad = torch.full_like(p, 0.25)
    before_state = copy.deepcopy(net.state_dict())  # parameters and BN buffers
    before_grads = [p.grad.clone() for p in net.parameters()]
    before_opt = copy.deepcopy(opt.state_dict())
    # BaLeNAS passes a sample with a graph back to mu: the estimator must neither need nor use it.
    mu = alpha.clone().requires_grad_(True)
    sample = mu + 0.1 * torch.ones_like(mu)
    grad = unrolled_hypergradient(net, softmax_rows, sample, train, val, opt, CRIT)
    unrolled_hypergradient_exact(net, softmax_rows, sample, train, val, opt, CRIT)
    assert grad.shape == alpha.shape and not grad.requires_grad and mu.grad is None
    assert net.training
    after = net.state_dict()
    for key, value in before_state.items():
        assert torch.equal(after[key], value), key
    for p, g in zip(net.parameters(), before_grads):
        assert torch.equal(p.grad, g)
    after_opt = opt.state_dict()
    assert after_opt["param_groups"] == before_opt["param_groups"]
    for k, st in before_opt["state"].items():
        assert torch.equal(after_opt["state"][k]["momentum_buffer"], st["momentum_buffer"])
    # Sanity of the check itself: a plain train-mode forward does move the running statistics.
    net(train[0], softmax_rows(alpha))
    assert not torch.equal(net.state_dict()["stem.1.running_mean"], before_state["stem.1.running_mean"])


def test_hypergradient_is_deterministic_and_finite_in_float32():
    net, train, val, alpha, opt = make_case(seed=0, lr=0.025)
    net = net.float()
    opt32 = torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9, nesterov=True, weight_decay=5e-4)
    args = (
        net,
        softmax_rows,
        alpha.float(),
        (train[0].float(), train[1]),
        (val[0].float(), val[1]),
        opt32,
        CRIT,
    )
    g1, g2 = unrolled_hypergradient(*args), unrolled_hypergradient(*args)
    assert g1.dtype == torch.float32 and bool(torch.isfinite(g1).all())
    assert torch.equal(g1, g2)


def test_bad_inputs_raise_clear_errors():
    net, train, val, alpha, opt = make_case(warm=False)
    with pytest.raises(TypeError, match="torch.optim.SGD"):
        unrolled_hypergradient(net, softmax_rows, alpha, train, val, torch.optim.Adam(net.parameters()), CRIT)
    with pytest.raises(KeyError, match="darts, sgd"):
        unrolled_hypergradient(net, softmax_rows, alpha, train, val, opt, CRIT, virtual_step="nesterov")
    stranger = torch.optim.SGD([nn.Parameter(torch.zeros(3))], lr=0.1)
    with pytest.raises(ValueError, match="not a parameter of the network"):
        unrolled_hypergradient(net, softmax_rows, alpha, train, val, stranger, CRIT)
    with pytest.raises(ValueError, match="eps_scale"):
        unrolled_hypergradient(net, softmax_rows, alpha, train, val, opt, CRIT, eps_scale=0.0)
