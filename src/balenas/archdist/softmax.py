"""DARTS: a point estimate alpha, mixing weights softmax(alpha)."""

from __future__ import annotations

import torch
from torch import nn

from balenas.archdist.base import ArchDistribution


class SoftmaxArch(ArchDistribution):
    def __init__(self, shape: tuple[int, int], init_std: float = 1e-3) -> None:
        super().__init__(shape)
        self.alpha = nn.Parameter(init_std * torch.randn(*shape))

    def sample_alpha(self, generator: torch.Generator) -> torch.Tensor:
        return self.alpha.detach().clone()

    def mean_alpha(self) -> torch.Tensor:
        return self.alpha.detach().clone()

    def sample_genotype_indices(self, generator: torch.Generator) -> torch.Tensor:
        """Sample one op per edge from the categorical softmax(alpha) (DARTS' analogue of sampling q)."""
        probs = self.to_weights(self.mean_alpha())
        return torch.multinomial(probs, 1, generator=generator).squeeze(-1)

    def stats(self) -> dict[str, float]:
        probs = self.mean_weights()
        entropy = -(probs * probs.clamp_min(1e-12).log()).sum(-1)
        return {"alpha_entropy": float(entropy.mean())}
