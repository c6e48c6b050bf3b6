"""Gradient estimators: d L_val / d alpha at the alpha a distribution produced, by ``order``.

Order 1 is the first-order DARTS approximation (weights treated as constant). Order 2 (the unrolled
DARTS hypergradient) registers itself from :mod:`balenas.archopt.unrolled` when available.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

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


def get_estimator(order: int) -> Estimator:
    return GRADIENTS.get(str(order))
