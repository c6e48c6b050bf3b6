"""How architecture parameters become mixing weights.

An :class:`ArchDistribution` owns the learnable state of a method (alpha for DARTS, mu and s for
BaLeNAS). Each architecture step asks it for a concrete ``alpha`` (deterministic or sampled), a gradient
estimator computes d L_val / d alpha at that point, and an architecture optimizer turns the gradient into
an update of the distribution's state. Mixing weights are always ``softmax(alpha)`` per edge here; other
relaxations (Gumbel, Dirichlet) override :meth:`to_weights`/:meth:`sample_alpha`.
"""

from __future__ import annotations

import abc

import torch
from torch import nn


class ArchDistribution(nn.Module, abc.ABC):
    def __init__(self, shape: tuple[int, int]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    @abc.abstractmethod
    def sample_alpha(self, generator: torch.Generator) -> torch.Tensor:
        """A detached architecture-parameter tensor at which this step's gradient is taken."""

    @abc.abstractmethod
    def mean_alpha(self) -> torch.Tensor:
        """The point estimate used for derivation (alpha for DARTS, mu for BaLeNAS), detached."""

    def to_weights(self, alpha: torch.Tensor) -> torch.Tensor:
        """Mixing weights per edge; rows sum to one."""
        return torch.softmax(alpha, dim=-1)

    def mean_weights(self) -> torch.Tensor:
        return self.to_weights(self.mean_alpha())

    def sample_genotype_indices(self, generator: torch.Generator) -> torch.Tensor:
        """Op index per edge of one architecture drawn from the learned distribution (BaLeNAS-TF)."""
        return self.sample_alpha(generator).argmax(dim=-1)

    def stats(self) -> dict[str, float]:
        """Scalars for the search history (e.g. the spread of sigma)."""
        return {}
