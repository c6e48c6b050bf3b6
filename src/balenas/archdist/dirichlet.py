"""DrNAS (Chen et al. 2021): a Dirichlet over each row's op weights, concentration ``beta = elu(alpha) + 1``.

Mixing weights of one step are a reparameterised sample ``w ~ Dir(beta(alpha))`` (pathwise gradient,
``torch.distributions.Dirichlet.rsample``). The sample's randomness is fixed per step: :meth:`weight_fn`
draws one integer seed from the step's generator, and every call of the returned map re-seeds a forked CPU
RNG with it, so repeated calls (a second-order finite difference) see one function of alpha. The weight
step trains the supernet under a sample too (``mode="sample"``) or the mean. The deterministic weights
(:meth:`to_weights`) and the derivation use the Dirichlet mean ``beta / sum(beta)``; since ``beta`` is
increasing in alpha, its argmax is alpha's. This is the non-progressive variant (no partial channels,
no op pruning). The concentration regulariser lives in :mod:`balenas.archopt.drnas`.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

from balenas.archdist.base import WeightFn
from balenas.archdist.softmax import SoftmaxArch
from balenas.spaces.base import ArchParams


def concentration(alpha: torch.Tensor) -> torch.Tensor:
    """DrNAS' positive transform of the architecture parameters."""
    return F.elu(alpha) + 1.0


def dirichlet_mean(alpha: torch.Tensor) -> torch.Tensor:
    beta = concentration(alpha)
    return beta / beta.sum(-1, keepdim=True)


def dirichlet_sample(alpha: torch.Tensor, seed: int) -> torch.Tensor:
    """A reparameterised Dir(elu(alpha) + 1) sample per row, from a CPU RNG seeded with ``seed``."""
    beta = concentration(alpha)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        sample = torch.distributions.Dirichlet(beta.cpu()).rsample()
    return sample.to(alpha.device)


class DirichletArch(SoftmaxArch):
    def to_weights(self, alpha: Mapping[str, torch.Tensor]) -> ArchParams:
        return {name: dirichlet_mean(a) for name, a in alpha.items()}

    def weight_fn(self, generator: torch.Generator | None) -> WeightFn:
        if generator is None:
            return self.to_weights
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))

        def fn(alpha: ArchParams) -> ArchParams:
            return {name: dirichlet_sample(a, seed + i) for i, (name, a) in enumerate(alpha.items())}

        return fn

    def train_weights(self, generator: torch.Generator, mode: str) -> ArchParams:
        with torch.no_grad():
            if mode == "mean":
                return self.mean_weights()
            return {n: w.detach() for n, w in self.weight_fn(generator)(self.mean_alpha()).items()}

    def selection_params(self, generator: torch.Generator) -> ArchParams:
        """One Dirichlet sample per row (the space takes its argmax)."""
        with torch.no_grad():
            return self.weight_fn(generator)(self.mean_alpha())

    def stats(self) -> dict[str, float]:
        beta = torch.cat([concentration(a.detach()).reshape(-1) for a in self.alpha.values()])
        return {**super().stats(), "concentration_mean": float(beta.mean()), "concentration_max": float(beta.max())}
