"""Label-free proxies from Mellor et al.: NASWOT (ICML 2021) and the earlier Jacobian covariance score.

Both score the network in train mode (BatchNorm with batch statistics, as the references'
NAS-Bench-201 networks are never put in eval mode) on the batch's inputs; the targets are unused. Both
are symmetric in the examples (a permuted batch permutes the kernel / correlation matrix, whose
determinant / eigenvalues do not change), so they are invariant to the order of the batch.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from balenas.proxies._common import LossFn, check_batch, device_of, scoring_view

#: Regulariser of the eigenvalues in jacob_cov (zero-cost-nas ``k = 1e-5``).
JACOB_COV_EPS = 1e-5


def naswot_kernel(net: nn.Module, inputs: torch.Tensor) -> np.ndarray:
    """``K[i, j]`` = number of ReLU units on which examples i and j have the same binary code.

    The code of a unit is ``pre-activation > 0`` (the ReLU's input), over every ``nn.ReLU`` module of
    one forward pass; ``K = sum_relu c c^T + (1 - c)(1 - c)^T``, i.e. units minus Hamming distance.
    """
    check_batch(inputs, None)
    n = inputs.shape[0]
    kernel = torch.zeros(n, n, dtype=torch.float64)

    def hook(_mod: nn.Module, inp: tuple[torch.Tensor, ...], _out: torch.Tensor) -> None:
        codes = (inp[0].detach().reshape(n, -1) > 0).to(torch.float64)
        kernel.add_((codes @ codes.T + (1.0 - codes) @ (1.0 - codes).T).cpu())

    relus = [m for m in net.modules() if isinstance(m, nn.ReLU)]
    if not relus:
        raise ValueError(f"{type(net).__name__} has no nn.ReLU module: NASWOT needs ReLU activations")
    with scoring_view(net) as work:
        handles = [m.register_forward_hook(hook) for m in relus]
        try:
            with torch.no_grad():
                work(inputs.to(device_of(work)))
        finally:
            for h in handles:
                h.remove()
    return kernel.numpy()


def naswot(
    net: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor | None = None,
    loss_fn: LossFn = F.cross_entropy,
) -> float:
    """``log |det K|`` of :func:`naswot_kernel` (higher is better); ``-inf`` when K is singular.

    The reference returns ``slogdet``'s log-magnitude whatever the sign; K is positive semi-definite, so
    a sign <= 0 only happens for a (numerically) singular K, e.g. two identical inputs: ``-inf`` here.
    """
    sign, logdet = np.linalg.slogdet(naswot_kernel(net, inputs))
    return float(logdet) if sign > 0 else float("-inf")


def input_jacobian(net: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """``d (sum of all outputs) / d inputs``, flattened per example: shape (N, input size)."""
    check_batch(inputs, None)
    with scoring_view(net) as work:
        x = inputs.detach().to(device_of(work)).clone().requires_grad_(True)
        (jac,) = torch.autograd.grad(work(x).sum(), x)
    return jac.reshape(x.shape[0], -1)


def jacob_cov(
    net: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor | None = None,
    loss_fn: LossFn = F.cross_entropy,
) -> float:
    """Jacobian covariance (Mellor et al. 2020, v1), as in zero-cost-nas (higher is better).

    ``C`` = correlation matrix of the per-example input Jacobians, ``v`` its eigenvalues:
    ``-sum(log(v + k) + 1 / (v + k))`` with ``k = 1e-5``. NaN when ``C`` is undefined (a Jacobian row
    with zero variance, e.g. a network whose output does not depend on its input); the reference
    catches the same failure and returns NaN.
    """
    jac = input_jacobian(net, inputs).detach().cpu().double().numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.atleast_2d(np.corrcoef(jac))
    if not np.all(np.isfinite(corr)):
        return float("nan")
    v = np.linalg.eigvalsh(corr) + JACOB_COV_EPS
    with np.errstate(divide="ignore", invalid="ignore"):
        score = -np.sum(np.log(v) + 1.0 / v)
    return float(score)
