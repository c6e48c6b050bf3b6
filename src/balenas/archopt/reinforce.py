"""ENAS' architecture step: REINFORCE on the controller with a moving-average baseline and an entropy bonus.

One step: sample a cell from the controller, evaluate it with the shared supernet on the validation batch
(no gradient), reward ``R = accuracy + entropy_weight * entropy`` (accuracy in [0, 1], as the reference),
baseline ``b <- decay * b + (1 - decay) * R`` (``b = R`` at the first step), loss ``-log p(cell) * (R - b)``,
one Adam step on the controller's parameters. The reference trains the controller in a separate phase
after each epoch of weight training (with 20 samples aggregated per update); here one controller step
alternates with every weight step (the loop's rhythm), with one sample per update.
"""

from __future__ import annotations

import torch

from balenas.archdist.controller import LSTMController
from balenas.archopt.base import TorchArchOptimizer
from balenas.archopt.steps import ArchStepInputs, StepStats


class ControllerAdam(TorchArchOptimizer):
    """Adam on the controller's parameters; ``step`` takes one gradient per named controller parameter."""

    def __init__(
        self,
        dist: LSTMController,
        lr: float,
        betas: tuple[float, float],
        grad_clip: float,
        entropy_weight: float,
        baseline_decay: float,
    ) -> None:
        if not 0.0 <= baseline_decay < 1.0:
            raise ValueError(f"method_settings.enas.baseline_decay must be in [0, 1), got {baseline_decay}")
        params = dict(dist.named_parameters())
        super().__init__(params, torch.optim.Adam(list(params.values()), lr=lr, betas=tuple(betas)), grad_clip)
        #: REINFORCE's reward shaping, read by :func:`reinforce_arch_step`
        self.entropy_weight, self.baseline_decay = float(entropy_weight), float(baseline_decay)


def update_baseline(baseline: float, reward: float, decay: float) -> float:
    """The reference's moving average; a NaN baseline (no step yet) starts at the reward."""
    return reward if baseline != baseline else decay * baseline + (1.0 - decay) * reward


def reinforce_arch_step(inp: ArchStepInputs) -> StepStats:
    """One REINFORCE update of the controller (entropy weight and baseline decay from its optimizer)."""
    dist, opt = inp.dist, inp.optimizer
    if not isinstance(dist, LSTMController) or not isinstance(opt, ControllerAdam):
        raise TypeError("the REINFORCE step needs an LSTMController and its ControllerAdam")
    sample = dist.run(inp.generator)
    x, y = inp.val_batch
    with torch.no_grad():
        logits = inp.network(x, dist.one_hot(sample.choices))
        loss = inp.criterion(logits, y)
        correct = float((logits.argmax(-1) == y).sum())
    reward = correct / len(y) + opt.entropy_weight * float(sample.entropy.detach())
    baseline = update_baseline(float(dist.baseline), reward, opt.baseline_decay)
    dist.baseline.fill_(baseline)
    objective = -sample.log_prob * (reward - baseline)
    names = list(opt.params)
    grads = torch.autograd.grad(objective, [opt.params[n] for n in names], allow_unused=True)
    opt.step({n: torch.zeros_like(opt.params[n]) if g is None else g for n, g in zip(names, grads)})
    return StepStats(float(loss), correct)
