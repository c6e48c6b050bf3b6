"""Curvature of the validation loss w.r.t. the architecture parameters (Zela et al., ICLR 2020).

"Understanding and Robustifying DARTS" tracks the *dominant eigenvalue* of the Hessian of the validation
loss w.r.t. alpha; their code (automl/RobustDARTS, ``Analyzer.compute_Hw``) builds the full Hessian by
double backward and takes the largest eigenvalue. The architecture spaces are small (30 parameters for
NAS-Bench-201, 2 x 14 x 8 = 224 for DARTS), so the exact Hessian is affordable. Two ways compute it, with the
same values up to float rounding (``search.hessian_mode``):

- ``forward`` (default): forward-over-reverse, ``torch.func.vmap`` of ``jvp(grad(loss))`` over ``chunk``
  basis vectors at a time. The network weights are constants here, so the tangents run through the
  convolutions as a batch ``chunk`` times larger: few large kernels instead of many small ones (the DARTS
  space's C=4 supernet on 8 16x16 images: 55 s against 219 s for ``reverse``).
- ``reverse``: one backward pass with ``create_graph``, then one double backward per row (``chunk`` rows per
  batched pass), as RobustDARTS does. It needs no functorch support from the network's ops.

Convention here: :func:`dominant_eigenvalue` is the largest *algebraic* eigenvalue (what Zela et al.
plot: near a minimum it is the largest positive curvature, and it is the quantity that grows when DARTS
collapses to skip connections). :class:`HessianSpectrum` also gives the smallest eigenvalue and the one
largest in absolute value (which differs when the loss is strongly non-convex in alpha). Several
parameter tensors (DARTS: normal and reduce alpha) should be stacked into one tensor by the caller.

RobustDARTS adds the architecture weight decay to the gradient before differentiating again, i.e. its
Hessian is that of ``L_val + wd/2 ||alpha||^2`` and every eigenvalue is shifted by ``wd``;
:func:`validation_loss_hessian` takes ``arch_weight_decay`` (default 0) to reproduce that.

All functions are pure: network parameters get no ``.grad`` and BN running statistics are not updated
(every forward pass uses clones of the module's buffers); the network's train/eval mode is respected.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from balenas.archopt.unrolled import stateless_loss
from balenas.registry import Registry

log = logging.getLogger(__name__)

Batch = tuple[torch.Tensor, torch.Tensor]
Criterion = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
ToWeights = Callable[[torch.Tensor], torch.Tensor]
LossFn = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class HessianSpectrum:
    """Eigenvalues (ascending, float64, CPU) of a symmetrised Hessian."""

    eigenvalues: torch.Tensor

    @property
    def max_eigenvalue(self) -> float:
        """Largest algebraic eigenvalue: the "dominant eigenvalue" of Zela et al."""
        return float(self.eigenvalues[-1])

    @property
    def min_eigenvalue(self) -> float:
        return float(self.eigenvalues[0])

    @property
    def max_abs_eigenvalue(self) -> float:
        """Largest eigenvalue in absolute value (the spectral norm of the Hessian)."""
        return float(self.eigenvalues.abs().max())


#: Rows of the Hessian computed per batched pass (memory grows with it; values change only by rounding).
HESSIAN_CHUNK = 32
#: How the rows are computed (see the module docstring): (loss_fn, alpha, chunk) -> the unsymmetrised (n, n).
HessianRows = Callable[[LossFn, torch.Tensor, int], torch.Tensor]
HESSIAN_MODES: Registry[HessianRows] = Registry("Hessian mode")
DEFAULT_HESSIAN_MODE = "forward"


@contextmanager
def batch_statistics_only(network: nn.Module) -> Iterator[None]:
    """BatchNorm in train mode normalises by the batch statistics and leaves its running statistics alone.

    The forward pass is unchanged (train-mode BN normalises by the batch either way); only the running-stat
    update and ``num_batches_tracked`` are skipped, which keeps the loss a pure function of alpha, as
    ``torch.func`` transforms need. Eval-mode BN still reads its running statistics.
    """
    tracked = [m for m in network.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    for m in tracked:
        m.track_running_stats = False
    try:
        yield
    finally:
        for m in tracked:
            m.track_running_stats = True


def architecture_hessian(loss_fn: LossFn, alpha: torch.Tensor, chunk: int = HESSIAN_CHUNK,
                         mode: str = DEFAULT_HESSIAN_MODE) -> torch.Tensor:
    """Exact Hessian of the scalar ``loss_fn(alpha)``, flattened to (n, n) and symmetrised.

    ``alpha`` is treated as a constant leaf (detached). ``mode`` ``forward``: the rows are Hessian-vector
    products ``jvp(grad(loss_fn))`` with the basis vectors, ``chunk`` at a time under ``vmap`` (``loss_fn``
    must be pure: no in-place writes to state, see :func:`batch_statistics_only`). ``reverse``: one backward
    with ``create_graph`` gives the gradient and the rows are the gradients of its entries, ``chunk`` rows per
    batched backward pass (``is_grads_batched``). The result is ``(H + H^T) / 2`` in alpha's dtype and
    device; an asymmetry above ``1e3 * machine epsilon`` relative to ``max|H|`` (1.2e-4 in float32, where
    rounding alone reaches ~1e-6; 2.2e-13 in float64) is logged as a warning (it means the loss is not twice
    differentiable at alpha, e.g. a ReLU exactly at a kink).
    """
    n = alpha.numel()
    if n == 0:
        raise ValueError("architecture_hessian: alpha has no elements")
    if chunk < 1:
        raise ValueError(f"architecture_hessian: chunk must be >= 1, got {chunk}")
    if mode not in HESSIAN_MODES:
        raise ValueError(f"architecture_hessian: mode must be one of {HESSIAN_MODES.keys()}, got {mode!r}")
    hess = HESSIAN_MODES.get(mode)(loss_fn, alpha, chunk)
    asym = float((hess - hess.T).abs().max())
    scale = float(hess.abs().max())
    if scale > 0 and asym > 1e3 * torch.finfo(hess.dtype).eps * scale:
        log.warning("architecture Hessian is asymmetric: max|H - H^T| = %.3e (max|H| = %.3e)", asym, scale)
    return 0.5 * (hess + hess.T)


@HESSIAN_MODES.register("forward")
def _forward_over_reverse(loss_fn: LossFn, alpha: torch.Tensor, chunk: int) -> torch.Tensor:
    a = alpha.detach().clone()
    n = a.numel()

    def scalar_loss(flat: torch.Tensor) -> torch.Tensor:
        loss = loss_fn(flat.reshape(a.shape))
        if loss.dim() != 0:
            raise ValueError(f"architecture_hessian: loss_fn must return a scalar, got shape {tuple(loss.shape)}")
        return loss

    gradient = torch.func.grad(scalar_loss)
    flat = a.reshape(-1)

    def hvp(v: torch.Tensor) -> torch.Tensor:
        return torch.func.jvp(gradient, (flat,), (v,))[1]

    eye = torch.eye(n, dtype=a.dtype, device=a.device)
    with torch.enable_grad():
        rows = [torch.func.vmap(hvp)(eye[start : start + chunk]) for start in range(0, n, chunk)]
    return torch.cat(rows).detach()


@HESSIAN_MODES.register("reverse")
def _reverse_over_reverse(loss_fn: LossFn, alpha: torch.Tensor, chunk: int) -> torch.Tensor:
    n = alpha.numel()
    with torch.enable_grad():
        a = alpha.detach().clone().requires_grad_(True)
        loss = loss_fn(a)
        if loss.dim() != 0:
            raise ValueError(
                f"architecture_hessian: loss_fn must return a scalar, got shape {tuple(loss.shape)}"
            )
        (grad,) = torch.autograd.grad(loss, [a], create_graph=True)
        grad = grad.reshape(-1)
        if not grad.requires_grad:  # the loss is linear in alpha
            return torch.zeros(n, n, dtype=a.dtype, device=a.device)
        eye = torch.eye(n, dtype=grad.dtype, device=grad.device)
        rows: list[torch.Tensor] = []
        for start in range(0, n, chunk):
            basis = eye[start : start + chunk]
            (block,) = torch.autograd.grad(
                grad, [a], grad_outputs=basis, retain_graph=True, allow_unused=True, is_grads_batched=True
            )
            rows.append(torch.zeros(len(basis), n, dtype=a.dtype, device=a.device) if block is None
                        else block.reshape(len(basis), n))
    return torch.cat(rows).detach()


def spectrum_of(hessian: torch.Tensor) -> HessianSpectrum:
    """Eigenvalues of a symmetric (n, n) matrix, computed in float64 on the CPU."""
    if hessian.dim() != 2 or hessian.shape[0] != hessian.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {tuple(hessian.shape)}")
    h = hessian.detach().to(device="cpu", dtype=torch.float64)
    if not bool(torch.isfinite(h).all()):
        raise ValueError("Hessian has non-finite entries")
    return HessianSpectrum(torch.linalg.eigvalsh(0.5 * (h + h.T)))


def hessian_spectrum(loss_fn: LossFn, alpha: torch.Tensor) -> HessianSpectrum:
    """All eigenvalues of the exact Hessian of ``loss_fn`` at ``alpha``."""
    return spectrum_of(architecture_hessian(loss_fn, alpha))


def dominant_eigenvalue(loss_fn: LossFn, alpha: torch.Tensor) -> float:
    """Largest algebraic eigenvalue of the Hessian of ``loss_fn`` at ``alpha`` (Zela et al. 2020)."""
    return hessian_spectrum(loss_fn, alpha).max_eigenvalue


def validation_loss_fn(
    network: nn.Module,
    to_weights: ToWeights,
    batch: Batch,
    criterion: Criterion,
) -> LossFn:
    """alpha -> ``criterion(network(x, to_weights(alpha)), y)``; pure.

    Network parameters enter detached (only alpha is differentiated, which keeps the double-backward
    graph small) and buffers as clones; train-mode BN does not update its running statistics
    (:func:`batch_statistics_only`), so the function is pure, as the ``forward`` Hessian mode needs.
    """

    def loss_fn(alpha: torch.Tensor) -> torch.Tensor:
        params = {n: p.detach() for n, p in network.named_parameters()}
        with batch_statistics_only(network):
            return stateless_loss(network, params, to_weights(alpha), batch, criterion)

    return loss_fn


def validation_loss_hessian(
    network: nn.Module,
    to_weights: ToWeights,
    alpha: torch.Tensor,
    batches: Sequence[Batch],
    criterion: Criterion,
    arch_weight_decay: float = 0.0,
    chunk: int = HESSIAN_CHUNK,
    mode: str = DEFAULT_HESSIAN_MODE,
) -> torch.Tensor:
    """Hessian w.r.t. alpha of the validation loss averaged over ``batches`` (unweighted mean of the
    per-batch losses, plus ``arch_weight_decay / 2 ||alpha||^2``); (n, n), symmetric.

    The Hessian is linear in the loss, so it is accumulated batch by batch (memory of one batch, times
    ``chunk`` rows per batched pass: see :func:`architecture_hessian`).
    """
    if len(batches) == 0:
        raise ValueError("validation_loss_hessian needs at least one validation batch")
    total: torch.Tensor | None = None
    for batch in batches:
        h = architecture_hessian(validation_loss_fn(network, to_weights, batch, criterion), alpha, chunk, mode)
        total = h if total is None else total + h
    assert total is not None
    hess = total / len(batches)
    if arch_weight_decay:
        hess = hess + arch_weight_decay * torch.eye(hess.shape[0], dtype=hess.dtype, device=hess.device)
    return hess


def validation_hessian_spectrum(
    network: nn.Module,
    to_weights: ToWeights,
    alpha: torch.Tensor,
    batches: Sequence[Batch],
    criterion: Criterion,
    arch_weight_decay: float = 0.0,
    chunk: int = HESSIAN_CHUNK,
    mode: str = DEFAULT_HESSIAN_MODE,
) -> HessianSpectrum:
    """Eigenvalues of :func:`validation_loss_hessian`; ``.max_eigenvalue`` is the one to log."""
    return spectrum_of(
        validation_loss_hessian(network, to_weights, alpha, batches, criterion, arch_weight_decay, chunk, mode)
    )


__all__ = [
    "DEFAULT_HESSIAN_MODE",
    "HESSIAN_CHUNK",
    "HESSIAN_MODES",
    "HessianSpectrum",
    "architecture_hessian",
    "batch_statistics_only",
    "dominant_eigenvalue",
    "hessian_spectrum",
    "spectrum_of",
    "validation_hessian_spectrum",
    "validation_loss_fn",
    "validation_loss_hessian",
]
