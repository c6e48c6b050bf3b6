"""Proxy values against hand derivations on models small enough to compute on paper / in numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from balenas.proxies import fisher, grad_norm, grasp, jacob_cov, naswot, snip, synflow
from balenas.proxies.activation import JACOB_COV_EPS, naswot_kernel

W1 = [[1.0, -2.0], [3.0, 0.5], [-1.0, 1.0]]
W2 = [[2.0, -1.0, 0.5]]


def linear_chain(*weights: list[list[float]], bn_after_first: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = []
    for k, w in enumerate(weights):
        t = torch.tensor(w)
        lin = nn.Linear(t.shape[1], t.shape[0], bias=False)
        with torch.no_grad():
            lin.weight.copy_(t)
        layers.append(lin)
        if bn_after_first and k == 0:
            bn = nn.BatchNorm1d(t.shape[0])
            with torch.no_grad():  # statistics and affine that would change the value if BN were applied
                bn.running_mean.fill_(7.0)
                bn.running_var.fill_(0.01)
                bn.weight.fill_(5.0)
                bn.bias.fill_(-3.0)
            layers.append(bn)
    return nn.Sequential(*layers)


# SynFlow of a bias-free linear chain: R = 1^T |W_L| ... |W_1| 1, and every layer contributes exactly R
# (sum_ij |W1_ij| |W2_i| = R, sum_i |W2_i| rowsum_i(|W1|) = R), so the score is L * R.
# Here rowsum(|W1|) = (3, 3.5, 2), |W2| = (2, 1, 0.5): R = 6 + 3.5 + 1 = 10.5, score = 21.
SYNFLOW_HAND = 21.0


def test_synflow_two_layer_linear_by_hand() -> None:
    x = torch.randn(5, 2)
    assert synflow(linear_chain(W1, W2), x) == pytest.approx(SYNFLOW_HAND, rel=1e-12)


def test_synflow_batchnorm_is_identity_and_input_values_ignored() -> None:
    net = linear_chain(W1, W2, bn_after_first=True)
    assert synflow(net, torch.randn(4, 2)) == pytest.approx(SYNFLOW_HAND, rel=1e-12)
    assert synflow(net, 100 * torch.randn(9, 2)) == pytest.approx(SYNFLOW_HAND, rel=1e-12)


def test_synflow_uses_double_precision_beyond_float32_range() -> None:
    # 20 layers of weight 1e3: R = 1e60 (float32 overflows at 3.4e38), score = 20 * 1e60.
    net = linear_chain(*([[[1e3]]] * 20))
    score = synflow(net, torch.ones(1, 1))
    assert math.isfinite(score)
    assert score == pytest.approx(20 * 1e60, rel=1e-9)


# ---- softmax regression: logits = x W^T, mean cross-entropy -------------------------------------------
def softmax_regression(n: int = 6, d: int = 4, k: int = 3, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    model = nn.Linear(d, k, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.randn(k, d, generator=gen))
    x = torch.randn(n, d, generator=gen)
    y = torch.randint(0, k, (n,), generator=gen)
    return model, x, y


def numpy_parts(model: nn.Linear, x: torch.Tensor, y: torch.Tensor):
    w = model.weight.detach().double().numpy()
    xn = x.double().numpy()
    logits = xn @ w.T
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    onehot = np.eye(w.shape[0])[y.numpy()]
    grad = (p - onehot).T @ xn / len(xn)  # dL/dW, shape (K, d)
    return w, xn, logits, p, onehot, grad


def numpy_hessian(p: np.ndarray, xn: np.ndarray) -> np.ndarray:
    """Hessian of the mean CE w.r.t. row-major vec(W): mean_n (diag p_n - p_n p_n^T) kron x_n x_n^T."""
    return sum(np.kron(np.diag(pn) - np.outer(pn, pn), np.outer(xv, xv)) for pn, xv in zip(p, xn)) / len(xn)


def test_snip_linear_model_by_hand() -> None:
    model, x, y = softmax_regression()
    w, *_, grad = numpy_parts(model, x, y)
    assert snip(model, x, y) == pytest.approx(np.abs(grad * w).sum(), rel=1e-5)


def test_grad_norm_linear_model_by_hand() -> None:
    model, x, y = softmax_regression()
    *_, grad = numpy_parts(model, x, y)
    assert grad_norm(model, x, y) == pytest.approx(np.linalg.norm(grad), rel=1e-5)


def test_grasp_linear_model_by_hand() -> None:
    model, x, y = softmax_regression()
    w, xn, _, p, _, grad = numpy_parts(model, x, y)
    hg = numpy_hessian(p, xn) @ grad.ravel()
    expected = -(w.ravel() @ hg)
    assert grasp(model, x, y) == pytest.approx(expected, rel=1e-4)
    # num_iters repeats the first pass on the same data: g, hence the score, scales linearly.
    assert grasp(model, x, y, num_iters=3) == pytest.approx(3 * expected, rel=1e-4)


def test_grasp_splits_accumulate_g_over_all_chunks() -> None:
    # Without BatchNorm the chunk losses are means over halves: g = g_a + g_b, Hg = H_a g + H_b g.
    model, x, y = softmax_regression(n=6)
    w = model.weight.detach().double().numpy().ravel()
    parts = [numpy_parts(model, x[s], y[s]) for s in (slice(0, 3), slice(3, 6))]
    g = sum(pt[-1] for pt in parts).ravel()
    hg = sum(numpy_hessian(pt[3], pt[1]) for pt in parts) @ g
    assert grasp(model, x, y, splits=2) == pytest.approx(-(w @ hg), rel=1e-4)


def test_fisher_linear_model_by_hand() -> None:
    model, x, y = softmax_regression()
    w, _, logits, p, onehot, _ = numpy_parts(model, x, y)
    d_act = (p - onehot) / len(p)  # dL/d logits
    per_channel = 0.5 * ((logits * d_act) ** 2).mean(0)
    fan_in = w.shape[1]
    assert fisher(model, x, y) == pytest.approx(per_channel.sum() * fan_in, rel=1e-5)
    assert fisher(model, x, y, per_weight=False) == pytest.approx(per_channel.sum(), rel=1e-5)


def test_jacob_cov_of_linear_model_closed_form() -> None:
    # d(sum of outputs)/dx = 1^T W for every example: the correlation matrix is all ones, with
    # eigenvalues N (once) and 0 (N - 1 times).
    model, x, y = softmax_regression(n=5)
    n, k = 5, JACOB_COV_EPS
    expected = -((math.log(n + k) + 1 / (n + k)) + (n - 1) * (math.log(k) + 1 / k))
    assert jacob_cov(model, x, y) == pytest.approx(expected, rel=1e-6)


def test_jacob_cov_is_nan_when_output_ignores_input() -> None:
    model = nn.Sequential(nn.Linear(3, 2))
    with torch.no_grad():
        model[0].weight.zero_()
    assert math.isnan(jacob_cov(model, torch.randn(4, 3), torch.zeros(4, dtype=torch.long)))


def test_naswot_kernel_counts_agreeing_codes() -> None:
    # Pre-activation codes (x > 0): (1,0), (0,1), (1,1). K_ij = agreements: [[2,0,1],[0,2,1],[1,1,2]],
    # det K = 2*3 - 0 + 1*(0 - 2) = 4.
    net = nn.Sequential(nn.ReLU(), nn.Linear(2, 2))
    x = torch.tensor([[0.5, -1.0], [-2.0, 3.0], [1.0, 1.0]])
    np.testing.assert_array_equal(naswot_kernel(net, x), [[2, 0, 1], [0, 2, 1], [1, 1, 2]])
    assert naswot(net, x) == pytest.approx(math.log(4.0), rel=1e-12)


def test_naswot_singular_kernel_is_minus_inf() -> None:
    net = nn.Sequential(nn.ReLU(), nn.Linear(2, 2))
    x = torch.tensor([[0.5, -1.0], [0.5, -1.0]])  # two identical codes: K = [[2,2],[2,2]]
    assert naswot(net, x) == float("-inf")


def test_model_without_weight_layers_is_an_error() -> None:
    with pytest.raises(ValueError, match="no Conv or Linear"):
        snip(nn.Sequential(nn.ReLU()), torch.randn(2, 3), torch.zeros(2, dtype=torch.long))
