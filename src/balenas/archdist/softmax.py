"""DARTS: a point estimate alpha per group, mixing weights softmax(alpha) per row."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from balenas.archdist.base import ArchDistribution, detached, group_parameters
from balenas.spaces.base import ArchParams, GroupShapes


class SoftmaxArch(ArchDistribution):
    def __init__(self, groups: GroupShapes, init_std: float = 1e-3) -> None:
        super().__init__(groups)
        self.alpha = group_parameters(self.groups, init_std)

    def sample_alpha(self, generator: torch.Generator) -> ArchParams:
        return detached(self.alpha)

    def mean_alpha(self) -> ArchParams:
        return detached(self.alpha)

    def selection_params(self, generator: torch.Generator) -> ArchParams:
        """One op per row drawn from the categorical softmax(alpha), as one-hot rows (DARTS' analogue of
        sampling q)."""
        out: ArchParams = {}
        for name, probs in self.mean_weights().items():
            idx = torch.multinomial(probs.cpu(), 1, generator=generator).squeeze(-1)
            out[name] = F.one_hot(idx, probs.shape[-1]).to(dtype=probs.dtype, device=probs.device)
        return out

    def stats(self) -> dict[str, float]:
        """Mean entropy of the rows of every group (one row: one categorical choice)."""
        entropy = torch.cat([-(p * p.clamp_min(1e-12).log()).sum(-1) for p in self.mean_weights().values()])
        return {"alpha_entropy": float(entropy.mean())}
