"""How one architecture step is taken, as a method chooses it (``Method.arch_step``).

The search loop calls ``method.arch_step(inputs)`` once per step and adds the returned validation
statistics to the epoch's history; it knows nothing else about the method.

* :func:`gradient_arch_step` (DARTS, BaLeNAS, GDAS, DrNAS, ...): ``dist.mc_samples`` times, draw alpha from
  the distribution and the step's mixing-weight map, take d L_val / d alpha with the configured gradient
  order (:mod:`balenas.archopt.gradients`), then hand the mean gradient, group by group, to the optimizer.
* :func:`no_arch_step` (RandomNAS): no architecture update; the validation batch is only evaluated, under
  the weights the distribution gives the weight step, so the history still has validation curves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from balenas.archdist.base import ArchDistribution, flatten, unflatten
from balenas.archopt.base import ArchOptimizer
from balenas.archopt.gradients import ArchStepContext, Batch, get_estimator


@dataclass(frozen=True)
class StepStats:
    """Validation statistics of one architecture step (means over its samples)."""

    loss: float
    correct: float
    skipped: bool = False  # a guard refused the step (search.on_divergence: skip_step); nothing was updated


@dataclass
class ArchStepInputs:
    """Everything an architecture step may use."""

    network: nn.Module
    dist: ArchDistribution
    optimizer: ArchOptimizer | None
    val_batch: Batch
    train_batch: Batch
    w_optimizer: torch.optim.Optimizer
    criterion: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    order: int
    generator: torch.Generator
    #: (quantity, value) -> False to skip this step; raises to stop the run (balenas.guards)
    guard: Callable[[str, object], bool] = lambda quantity, value: True


ArchStep = Callable[[ArchStepInputs], StepStats]


def gradient_arch_step(inp: ArchStepInputs) -> StepStats:
    """Mean gradient of ``dist.mc_samples`` draws, at the configured order, then one optimizer step."""
    if inp.optimizer is None:
        raise ValueError("gradient_arch_step needs an architecture optimizer")
    estimator = get_estimator(inp.order)
    dist = inp.dist
    mc = dist.mc_samples
    grads: list[torch.Tensor] = []
    loss, correct = 0.0, 0.0
    for _ in range(mc):
        alpha = dist.sample_alpha(inp.generator)
        weight_fn = dist.weight_fn(inp.generator)
        ctx = ArchStepContext(
            inp.network,
            lambda flat, fn=weight_fn: fn(unflatten(flat, dist.groups)),
            inp.val_batch,
            inp.train_batch,
            inp.w_optimizer,
            inp.criterion,
        )
        res = estimator(ctx, flatten(alpha))
        grads.append(res.grad)
        loss += res.loss / mc
        correct += res.correct / mc
    mean = unflatten(torch.stack(grads).mean(0), dist.groups)
    if not inp.guard("architecture gradient", mean):
        return StepStats(loss, correct, skipped=True)
    inp.optimizer.step(mean)
    return StepStats(loss, correct)


def no_arch_step(inp: ArchStepInputs) -> StepStats:
    """No update: evaluate the validation batch under the weight step's mixing weights (no gradient)."""
    x, y = inp.val_batch
    with torch.no_grad():
        logits = inp.network(x, inp.dist.train_weights(inp.generator, "sample"))
        loss = inp.criterion(logits, y)
    return StepStats(float(loss), float((logits.argmax(-1) == y).sum()))
