"""BaLeNAS: q(alpha) = N(mu, sigma^2) with sigma^2 = 1 / (N (s + delta / N)).

``s`` is the running second moment of the gradient kept by the Bayesian learning rule (Variational
Adam); it lives here, not in the optimizer, because it defines the distribution that is sampled. ``N``
is the size of the data set the architecture is learned on, ``delta`` the prior precision.
"""

from __future__ import annotations

import torch
from torch import nn

from balenas.archdist.base import ArchDistribution


class GaussianArch(ArchDistribution):
    def __init__(
        self,
        shape: tuple[int, int],
        dataset_size: int,
        prior_precision: float,
        init_precision: float,
        init_std: float = 1e-3,
    ) -> None:
        super().__init__(shape)
        if dataset_size < 1:
            raise ValueError(f"dataset_size (N) must be >= 1, got {dataset_size}")
        if prior_precision <= 0 or init_precision < prior_precision:
            raise ValueError(
                "need prior_precision > 0 and init_precision >= prior_precision, got "
                f"{prior_precision}, {init_precision}"
            )
        self.dataset_size = int(dataset_size)
        self.prior_precision = float(prior_precision)
        self.mu = nn.Parameter(init_std * torch.randn(*shape))
        # Total precision N (s + delta/N) starts at init_precision.
        s0 = (init_precision - prior_precision) / dataset_size
        self.register_buffer("s", torch.full(shape, float(s0)))

    @property
    def prior_term(self) -> float:
        """delta / N, the prior precision per data point."""
        return self.prior_precision / self.dataset_size

    def sigma(self) -> torch.Tensor:
        return torch.rsqrt(self.dataset_size * (self.s + self.prior_term))

    def sample_alpha(self, generator: torch.Generator) -> torch.Tensor:
        eps = torch.randn(self.shape, generator=generator).to(self.mu.device)
        return (self.mu.detach() + eps * self.sigma()).detach()

    def mean_alpha(self) -> torch.Tensor:
        return self.mu.detach().clone()

    def stats(self) -> dict[str, float]:
        sigma = self.sigma()
        return {
            "sigma_mean": float(sigma.mean()),
            "sigma_std": float(sigma.std()),
            "sigma_min": float(sigma.min()),
            "sigma_max": float(sigma.max()),
        }
