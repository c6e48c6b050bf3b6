"""BaLeNAS: q(alpha) = N(mu, sigma^2) per group, with sigma^2 = 1 / (N (s + delta / N)).

``s`` is the running second moment of the gradient kept by the Bayesian learning rule (Variational
Adam); it lives here, not in the optimizer, because it defines the distribution that is sampled. ``N``
is the size of the data set the architecture is learned on, ``delta`` the prior precision.
"""

from __future__ import annotations

import torch

from balenas.archdist.base import ArchDistribution, detached, group_parameters
from balenas.spaces.base import ArchParams, GroupShapes


class GaussianArch(ArchDistribution):
    def __init__(
        self,
        groups: GroupShapes,
        dataset_size: int,
        prior_precision: float,
        init_precision: float,
        init_std: float = 1e-3,
        mc_samples: int = 1,
    ) -> None:
        super().__init__(groups)
        if dataset_size < 1:
            raise ValueError(f"dataset_size (N) must be >= 1, got {dataset_size}")
        if prior_precision <= 0 or init_precision < prior_precision:
            raise ValueError(
                "need prior_precision > 0 and init_precision >= prior_precision, got "
                f"{prior_precision}, {init_precision}"
            )
        if mc_samples < 1:
            raise ValueError(f"mc_samples must be >= 1, got {mc_samples}")
        self.dataset_size = int(dataset_size)
        self.prior_precision = float(prior_precision)
        self.mc_samples = int(mc_samples)
        self.mu = group_parameters(self.groups, init_std)
        # Total precision N (s + delta/N) starts at init_precision.
        s0 = (init_precision - prior_precision) / dataset_size
        for name, shape in self.groups.items():
            self.register_buffer(f"s_{name}", torch.full(shape, float(s0)))

    @property
    def prior_term(self) -> float:
        """delta / N, the prior precision per data point."""
        return self.prior_precision / self.dataset_size

    def s(self, name: str) -> torch.Tensor:
        """The second-moment buffer of group ``name`` (updated in place by VAdam)."""
        return getattr(self, f"s_{name}")

    def sigma(self) -> ArchParams:
        return {name: torch.rsqrt(self.dataset_size * (self.s(name) + self.prior_term)) for name in self.groups}

    def sample_alpha(self, generator: torch.Generator) -> ArchParams:
        sigma = self.sigma()
        out: ArchParams = {}
        for name, shape in self.groups.items():
            mu = self.mu[name]
            eps = torch.randn(shape, generator=generator).to(mu.device)
            out[name] = (mu.detach() + eps * sigma[name]).detach()
        return out

    def mean_alpha(self) -> ArchParams:
        return detached(self.mu)

    def stats(self) -> dict[str, float]:
        sigma = torch.cat([s.reshape(-1) for s in self.sigma().values()])
        return {
            "sigma_mean": float(sigma.mean()),
            "sigma_std": float(sigma.std()),
            "sigma_min": float(sigma.min()),
            "sigma_max": float(sigma.max()),
        }
