"""DARTS' architecture optimizer: Adam on alpha (lr 3e-4, betas (0.5, 0.999), weight decay 1e-3)."""

from __future__ import annotations

from typing import Any

import torch

from balenas.archdist.softmax import SoftmaxArch
from balenas.archopt.base import ArchOptimizer


class AdamArch(ArchOptimizer):
    def __init__(
        self, dist: SoftmaxArch, lr: float, betas: tuple[float, float], weight_decay: float
    ) -> None:
        self.param = dist.alpha
        self.opt = torch.optim.Adam([self.param], lr=lr, betas=tuple(betas), weight_decay=weight_decay)

    def step(self, grad: torch.Tensor) -> None:
        self.param.grad = grad.detach().clone().to(self.param.device)
        self.opt.step()
        self.param.grad = None

    def state_dict(self) -> dict[str, Any]:
        return self.opt.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.opt.load_state_dict(state)
