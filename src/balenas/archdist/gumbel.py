"""GDAS (Dong & Yang 2019): straight-through Gumbel-softmax over each row, temperature annealed per epoch.

Every step draws Gumbel noise ``g`` once (from the step's generator) and fixes it; the map
``alpha -> hard - soft.detach() + soft`` with ``soft = softmax((alpha + g) / tau)`` and ``hard`` the one-hot
of its argmax then has a one-hot value (one op per edge in the forward pass) and the softmax's gradient.
The temperature follows the reference's linear schedule ``tau = tau_max - (tau_max - tau_min) * epoch /
(epochs - 1)`` (10 -> 0.1 in the NAS-Bench-201 runs of D-X-Y/AutoDL-Projects), set by
:meth:`on_epoch_start`, so a resumed run recomputes it from the epoch alone. The final architecture is the
argmax of alpha (the mean, as for DARTS).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from balenas.archdist.base import WeightFn
from balenas.archdist.softmax import SoftmaxArch
from balenas.spaces.base import ArchParams, GroupShapes


def gdas_temperature(epoch: int, epochs: int, tau_max: float, tau_min: float) -> float:
    """The linear schedule of the reference: tau_max at epoch 0, tau_min at the last epoch."""
    if epochs <= 1:
        return float(tau_max)
    return float(tau_max - (tau_max - tau_min) * epoch / (epochs - 1))


def gumbel_noise(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Standard Gumbel noise ``-log(-log U)``, U uniform on (0, 1) (kept away from 0 and 1)."""
    u = torch.rand(shape, generator=generator).clamp(1e-10, 1.0 - 1e-7)
    return -torch.log(-torch.log(u))


def straight_through(logits: torch.Tensor, tau: float) -> torch.Tensor:
    """One-hot of the row argmax in value, the gradient of ``softmax(logits / tau)``."""
    soft = torch.softmax(logits / tau, dim=-1)
    hard = F.one_hot(soft.argmax(-1), soft.shape[-1]).to(soft.dtype)
    return hard - soft.detach() + soft


class GumbelArch(SoftmaxArch):
    def __init__(self, groups: GroupShapes, tau_max: float, tau_min: float, init_std: float = 1e-3) -> None:
        super().__init__(groups, init_std=init_std)
        if not 0 < tau_min <= tau_max:
            raise ValueError(f"need 0 < tau_min <= tau_max, got tau_min={tau_min}, tau_max={tau_max}")
        self.tau_max, self.tau_min = float(tau_max), float(tau_min)
        self.tau = float(tau_max)

    def on_epoch_start(self, epoch: int, epochs: int) -> None:
        self.tau = gdas_temperature(epoch, epochs, self.tau_max, self.tau_min)

    def weight_fn(self, generator: torch.Generator | None) -> WeightFn:
        if generator is None:
            return self.to_weights
        noise = {name: gumbel_noise(shape, generator) for name, shape in self.groups.items()}
        tau = self.tau

        def fn(alpha: ArchParams) -> ArchParams:
            return {name: straight_through(a + noise[name].to(a.device), tau) for name, a in alpha.items()}

        return fn

    def train_weights(self, generator: torch.Generator, mode: str) -> ArchParams:
        """The weight step trains the sampled cell (one op per edge), as GDAS does; ``mean``: argmax one-hot."""
        if mode == "mean":
            return {n: F.one_hot(a.argmax(-1), a.shape[-1]).to(a.dtype) for n, a in self.mean_alpha().items()}
        with torch.no_grad():
            return {n: w.detach() for n, w in self.weight_fn(generator)(self.mean_alpha()).items()}

    def stats(self) -> dict[str, float]:
        return {**super().stats(), "tau": self.tau}
