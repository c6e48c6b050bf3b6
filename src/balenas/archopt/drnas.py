"""DrNAS' architecture optimizer: Adam on alpha plus the regulariser of the concentration ``beta``.

The reference (xiangning-chen/DrNAS, NAS-Bench-201 search) adds ``reg_scale`` times a penalty on the
Dirichlet concentration to the validation loss: ``l2``, ``sum(beta ** 2)`` (its NAS-Bench-201 default), or
``kl``, ``KL(Dir(beta) || Dir(1))`` per row. Here the penalty's gradient at the current alpha is added to
d L_val / d alpha before the Adam step, which is the gradient of the regularised loss and leaves every
gradient estimator (order 1 or 2) unchanged.
"""

from __future__ import annotations

import torch

from balenas.archdist.dirichlet import DirichletArch, concentration
from balenas.archopt.adam import AdamArch
from balenas.archopt.base import check_groups
from balenas.registry import Registry
from balenas.spaces.base import ArchParams


def _l2(beta: torch.Tensor) -> torch.Tensor:
    return (beta**2).sum()


def _kl(beta: torch.Tensor) -> torch.Tensor:
    prior = torch.distributions.Dirichlet(torch.ones_like(beta))
    return torch.distributions.kl_divergence(torch.distributions.Dirichlet(beta), prior).sum()


CONCENTRATION_PENALTIES: Registry = Registry("drnas regulariser")
CONCENTRATION_PENALTIES.add("l2", _l2)
CONCENTRATION_PENALTIES.add("kl", _kl)


def penalty_grads(dist: DirichletArch, reg_type: str, reg_scale: float) -> ArchParams:
    """d (reg_scale * penalty(beta(alpha))) / d alpha per group, at the current alpha."""
    penalty = CONCENTRATION_PENALTIES.get(reg_type)
    out: ArchParams = {}
    for name, a in dist.alpha.items():
        leaf = a.detach().clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(reg_scale * penalty(concentration(leaf)), leaf)
        out[name] = grad
    return out


class DrNASAdam(AdamArch):
    def __init__(
        self,
        dist: DirichletArch,
        lr: float,
        betas: tuple[float, float],
        weight_decay: float,
        reg_type: str,
        reg_scale: float,
    ) -> None:
        super().__init__(dist, lr, betas, weight_decay)
        CONCENTRATION_PENALTIES.get(reg_type)
        if reg_scale < 0:
            raise ValueError(f"method_settings.drnas.reg_scale must be >= 0, got {reg_scale}")
        self.dist, self.reg_type, self.reg_scale = dist, reg_type, float(reg_scale)

    def step(self, grads: ArchParams) -> None:
        reg = penalty_grads(self.dist, self.reg_type, self.reg_scale)
        check_groups(grads, reg)
        super().step({name: g.to(reg[name].device) + reg[name] for name, g in grads.items()})
