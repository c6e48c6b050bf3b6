"""Exact architecture Hessians and their spectra."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from balenas.analysis.hessian import (
    HESSIAN_MODES,
    architecture_hessian,
    dominant_eigenvalue,
    hessian_spectrum,
    spectrum_of,
    validation_hessian_spectrum,
    validation_loss_fn,
    validation_loss_hessian,
)
from balenas.spaces.nb201 import NB201Config
from balenas.supernets import nb201_supernet
from tests.conftest import default_config

DT = torch.float64
CRIT = nn.CrossEntropyLoss()


def softmax_rows(alpha: torch.Tensor) -> torch.Tensor:
    return torch.softmax(alpha, dim=-1)


def matrix_with_eigenvalues(eigs: list[float], seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(len(eigs), len(eigs), generator=gen, dtype=DT))
    return q @ torch.diag(torch.tensor(eigs, dtype=DT)) @ q.T


def quadratic(a: torch.Tensor):
    return lambda x: 0.5 * x.reshape(-1) @ a @ x.reshape(-1)


def tiny_case(seed: int = 0):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = nb201_supernet(NB201Config(channels=2, cells_per_stage=1), num_classes=3).to(DT).train()
    batches = [
        (torch.randn(4, 3, 4, 4, generator=gen, dtype=DT), torch.randint(0, 3, (4,), generator=gen))
        for _ in range(2)
    ]
    alpha = 0.5 * torch.randn(6, 5, generator=gen, dtype=DT)
    return net, batches, alpha


def test_quadratic_hessian_is_the_matrix_in_alphas_flattened_order():
    eigs = [-7.0, -1.0, 0.0, 0.5, 2.0, 5.0]
    a = matrix_with_eigenvalues(eigs)
    x = torch.randn(2, 3, dtype=DT)  # non-square: a row/column-major mix-up permutes H
    torch.testing.assert_close(architecture_hessian(quadratic(a), x), a, rtol=1e-12, atol=1e-12)


def test_spectrum_of_known_quadratic_and_the_dominant_convention():
    eigs = [-7.0, -1.0, 0.0, 0.5, 2.0, 5.0]
    loss_fn = quadratic(matrix_with_eigenvalues(eigs, seed=1))
    x = torch.randn(6, dtype=DT)
    spec = hessian_spectrum(loss_fn, x)
    torch.testing.assert_close(spec.eigenvalues, torch.tensor(eigs, dtype=DT), rtol=0, atol=1e-10)
    # Dominant = largest algebraic eigenvalue (Zela et al.), not the largest in absolute value.
    assert dominant_eigenvalue(loss_fn, x) == pytest.approx(5.0, abs=1e-10)
    assert spec.max_abs_eigenvalue == pytest.approx(7.0, abs=1e-10)
    assert spec.min_eigenvalue == pytest.approx(-7.0, abs=1e-10)


def test_non_symmetric_quadratic_form_gives_the_symmetric_hessian():
    b = torch.randn(5, 5, dtype=DT)
    h = architecture_hessian(lambda x: x @ b @ x, torch.randn(5, dtype=DT))
    torch.testing.assert_close(h, b + b.T, rtol=1e-12, atol=1e-12)
    assert torch.equal(h, h.T)


@pytest.mark.parametrize("mode", HESSIAN_MODES)
def test_supernet_hessian_matches_autograd_functional_and_is_symmetric(mode):
    net, batches, alpha = tiny_case()
    loss_fn = validation_loss_fn(net, softmax_rows, batches[0], CRIT)
    h = architecture_hessian(loss_fn, alpha, mode=mode)
    assert h.shape == (30, 30) and bool(torch.isfinite(h).all())
    assert torch.equal(h, h.T)
    assert float(h.abs().max()) > 1e-3  # not trivially zero
    reference = torch.autograd.functional.hessian(loss_fn, alpha).reshape(30, 30)
    torch.testing.assert_close(h, reference, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("mode", HESSIAN_MODES)
def test_validation_hessian_averages_batches_adds_decay_and_leaves_the_network_alone(mode):
    net, batches, alpha = tiny_case(seed=1)
    for p in net.parameters():
        p.grad = None
    state = copy.deepcopy(net.state_dict())
    h = validation_loss_hessian(net, softmax_rows, alpha, batches, CRIT, mode=mode)

    def mean_loss(a: torch.Tensor) -> torch.Tensor:
        return sum(validation_loss_fn(net, softmax_rows, b, CRIT)(a) for b in batches) / len(batches)

    reference = torch.autograd.functional.hessian(mean_loss, alpha).reshape(30, 30)
    torch.testing.assert_close(h, reference, rtol=1e-9, atol=1e-12)
    # Different batches give different Hessians, so averaging is really exercised.
    h0 = validation_loss_hessian(net, softmax_rows, alpha, batches[:1], CRIT, mode=mode)
    assert float((h0 - h).abs().max()) > 1e-4

    wd = 1e-3
    plain = validation_hessian_spectrum(net, softmax_rows, alpha, batches, CRIT, mode=mode)
    decayed = validation_hessian_spectrum(net, softmax_rows, alpha, batches, CRIT, arch_weight_decay=wd, mode=mode)
    torch.testing.assert_close(decayed.eigenvalues, plain.eigenvalues + wd, rtol=0, atol=1e-10)
    # The shift by wd is the Hessian of the decayed loss L + wd/2 ||alpha||^2 (RobustDARTS), by autograd.
    plain_loss = validation_loss_fn(net, softmax_rows, batches[0], CRIT)
    h_wd = architecture_hessian(lambda a: plain_loss(a) + 0.5 * wd * (a * a).sum(), alpha, mode=mode)
    torch.testing.assert_close(h_wd, h0 + wd * torch.eye(30, dtype=DT), rtol=1e-9, atol=1e-12)
    h0_wd = validation_loss_hessian(net, softmax_rows, alpha, batches[:1], CRIT, arch_weight_decay=wd, mode=mode)
    torch.testing.assert_close(h0_wd, h_wd, rtol=1e-9, atol=1e-12)

    assert net.training
    assert all(p.grad is None for p in net.parameters())
    after = net.state_dict()
    for key, value in state.items():
        assert torch.equal(after[key], value), key  # includes BN running stats and num_batches_tracked


def test_bad_inputs_raise():
    for mode in HESSIAN_MODES:
        with pytest.raises(ValueError, match="scalar"):
            architecture_hessian(lambda x: x * x, torch.randn(3, dtype=DT), mode=mode)
    with pytest.raises(ValueError, match="mode must be one of"):
        architecture_hessian(lambda x: (x * x).sum(), torch.randn(3, dtype=DT), mode="sideways")
    with pytest.raises(ValueError, match="square"):
        spectrum_of(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="non-finite"):
        spectrum_of(torch.full((2, 2), float("nan")))
    net, _, alpha = tiny_case()
    with pytest.raises(ValueError, match="at least one"):
        validation_loss_hessian(net, softmax_rows, alpha, [], CRIT)


@pytest.mark.parametrize("mode", HESSIAN_MODES)
def test_batched_rows_equal_one_backward_per_row(mode):
    """The Hessian is built chunk by chunk with batched backward passes; every chunk size gives the matrix of
    one backward per row, up to float32 rounding (batched matrix products may sum in another order)."""
    from balenas.analysis.hessian import architecture_hessian

    torch.manual_seed(0)
    w = torch.randn(5, 5)

    def loss_fn(a):
        return torch.tanh(a @ w).pow(2).sum() + (a**3).sum()

    a = torch.randn(5)
    reference = []
    with torch.enable_grad():
        leaf = a.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(loss_fn(leaf), [leaf], create_graph=True)
        for i in range(5):
            (row,) = torch.autograd.grad(g[i], [leaf], retain_graph=True)
            reference.append(row)
    expected = torch.stack(reference)
    expected = 0.5 * (expected + expected.T)
    for chunk in (1, 2, 5, 32):
        got = architecture_hessian(loss_fn, a, chunk=chunk, mode=mode)
        assert torch.allclose(got, expected, rtol=1e-5, atol=1e-6 * float(expected.abs().max())), chunk


MODELS = {"darts": {"C": 2, "layers": 3}, "nb1shot1-s2": {"channels": 2, "stacks": 3, "cells_per_stack": 1},
          "nb201": {"channels": 2, "cells_per_stage": 1}}


@pytest.mark.parametrize("space,supernet", [("darts", "plain"), ("nb1shot1-s2", "plain"), ("nb201", "fast"),
                                           ("darts", "fast")])
def test_forward_and_reverse_modes_agree_on_every_spaces_supernet(space, supernet):
    """The forward-over-reverse Hessian (vmap of jvp of grad) runs through each space's search supernet in
    train mode (BN on batch statistics) and equals the double-backward one; BN buffers stay untouched."""
    from balenas.archdist import flatten, unflatten
    from balenas.search import SearchConfig, build_state
    from balenas.spaces import get_space
    from balenas.speed import SpeedConfig

    settings = default_config()["method_settings"]["darts"]
    cfg = SearchConfig(space=space, dataset="digits", method="darts", seed=0, method_settings=settings,
                       model=MODELS[space], speed=SpeedConfig.from_mapping({"supernet": supernet}))
    state = build_state(cfg, get_space(space), 3, 3, 8, torch.device("cpu"))
    net, dist = state.network.to(DT).train(), state.dist
    gen = torch.Generator().manual_seed(1)
    alpha = flatten(dist.mean_alpha()).to(DT)
    alpha = alpha + 0.5 * torch.randn(alpha.shape, generator=gen, dtype=DT)
    batch = (torch.randn(2, 3, 8, 8, generator=gen, dtype=DT), torch.randint(0, 3, (2,), generator=gen))
    before = copy.deepcopy(net.state_dict())
    full = validation_loss_fn(net, lambda f: dist.to_weights(unflatten(f, dist.groups)), batch, CRIT)
    n, rest = 6, alpha[6:]  # the Hessian block of the first 6 entries keeps the test short (DARTS: 224)

    def loss_fn(head: torch.Tensor) -> torch.Tensor:
        return full(torch.cat([head, rest]))

    fwd = architecture_hessian(loss_fn, alpha[:n], chunk=4, mode="forward")
    rev = architecture_hessian(loss_fn, alpha[:n], chunk=4, mode="reverse")
    assert fwd.shape == (n, n) and float(rev.abs().max()) > 1e-6
    torch.testing.assert_close(fwd, rev, rtol=1e-8, atol=1e-10)
    assert all(torch.equal(net.state_dict()[k], v) for k, v in before.items())
