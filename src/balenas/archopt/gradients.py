"""Gradient estimators: d L_val / d alpha at the alpha a distribution produced, by ``order``.

Order 1 is the first-order DARTS approximation (weights treated as constant). Order 2 is DARTS'
second-order (unrolled) hypergradient as published (Liu et al. 2019, Eq. 7-8): one virtual step of the
weight optimizer on this step's training batch, then the mixed Hessian-vector product by a central finite
difference with eps = 0.01 / ||v||; see :mod:`balenas.archopt.unrolled` for the estimator, its purity and
its accuracy on ReLU networks. Both take the gradient at whatever alpha the method's distribution produced
(DARTS' alpha, a BaLeNAS sample), so every method runs with either order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from balenas.archopt.unrolled import unrolled_hypergradient
from balenas.registry import Registry

Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass
class ArchStepContext:
    """Everything an estimator may need for one architecture step."""

    network: nn.Module
    to_weights: Callable[[torch.Tensor], torch.Tensor]
    val_batch: Batch
    train_batch: Batch
    w_optimizer: torch.optim.Optimizer
    criterion: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class ArchStepResult:
    grad: torch.Tensor
    loss: float  # validation loss at the current weights and this alpha
    correct: int  # correctly classified validation examples in the batch


Estimator = Callable[[ArchStepContext, torch.Tensor], ArchStepResult]
GRADIENTS: Registry[Estimator] = Registry("order")


def _val_forward(ctx: ArchStepContext, alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = ctx.val_batch
    logits = ctx.network(x, ctx.to_weights(alpha))
    return ctx.criterion(logits, y), logits


@GRADIENTS.register("1")
def first_order(ctx: ArchStepContext, alpha: torch.Tensor) -> ArchStepResult:
    """Gradient of the validation loss at the current weights (DARTS first order)."""
    alpha = alpha.detach().requires_grad_(True)
    loss, logits = _val_forward(ctx, alpha)
    (grad,) = torch.autograd.grad(loss, alpha)
    correct = int((logits.argmax(-1) == ctx.val_batch[1]).sum())
    return ArchStepResult(grad.detach(), float(loss.detach()), correct)


@GRADIENTS.register("2")
def second_order(ctx: ArchStepContext, alpha: torch.Tensor) -> ArchStepResult:
    """DARTS' unrolled hypergradient (finite-difference Hessian-vector product, eps_scale 0.01).

    The hypergradient itself never writes to the network, its buffers or the optimizer. ``loss`` and
    ``correct`` come from one extra forward pass without gradient at the *current* weights, exactly as
    the first-order estimator reports them (that forward updates BN running statistics once, as the
    first-order step's forward does), so validation curves of both orders measure the same thing.
    """
    grad = unrolled_hypergradient(
        ctx.network, ctx.to_weights, alpha, ctx.train_batch, ctx.val_batch, ctx.w_optimizer, ctx.criterion
    )
    with torch.no_grad():
        loss, logits = _val_forward(ctx, alpha.detach())
    correct = int((logits.argmax(-1) == ctx.val_batch[1]).sum())
    return ArchStepResult(grad, float(loss), correct)


def get_estimator(order: int) -> Estimator:
    return GRADIENTS.get(str(order))
