"""DARTS' architecture optimizer: Adam on alpha (lr 3e-4, betas (0.5, 0.999), weight decay 1e-3).

Adam is elementwise, so one ``torch.optim.Adam`` over the groups' parameters is Adam per group.
"""

from __future__ import annotations

from typing import Any

import torch

from balenas.archdist.softmax import SoftmaxArch
from balenas.archopt.base import ArchOptimizer
from balenas.spaces.base import ArchParams


class AdamArch(ArchOptimizer):
    def __init__(
        self, dist: SoftmaxArch, lr: float, betas: tuple[float, float], weight_decay: float
    ) -> None:
        self.params = dict(dist.alpha.items())
        self.opt = torch.optim.Adam(
            list(self.params.values()), lr=lr, betas=tuple(betas), weight_decay=weight_decay
        )

    def step(self, grads: ArchParams) -> None:
        if set(grads) != set(self.params):
            raise ValueError(f"gradient groups {sorted(grads)} != parameter groups {sorted(self.params)}")
        for name, p in self.params.items():
            p.grad = grads[name].detach().clone().to(p.device)
        self.opt.step()
        for p in self.params.values():
            p.grad = None

    def state_dict(self) -> dict[str, Any]:
        return self.opt.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.opt.load_state_dict(state)
