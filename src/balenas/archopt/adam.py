"""DARTS' architecture optimizer: Adam on alpha (lr 3e-4, betas (0.5, 0.999), weight decay 1e-3).

Adam is elementwise, so one ``torch.optim.Adam`` over the groups' parameters is Adam per group.
"""

from __future__ import annotations

import torch

from balenas.archdist.softmax import SoftmaxArch
from balenas.archopt.base import TorchArchOptimizer


class AdamArch(TorchArchOptimizer):
    def __init__(
        self, dist: SoftmaxArch, lr: float, betas: tuple[float, float], weight_decay: float
    ) -> None:
        params = dict(dist.alpha.items())
        super().__init__(params, torch.optim.Adam(
            list(params.values()), lr=lr, betas=tuple(betas), weight_decay=weight_decay
        ))
