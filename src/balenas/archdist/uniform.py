"""Distributions that train the supernet with one uniformly sampled architecture per weight step.

* :class:`UniformArch` (RandomNAS / RSPS, Li & Talwalkar 2019): no architecture parameters at all; the
  method has no architecture step, and the architecture is chosen afterwards by evaluating uniform
  candidates with the shared weights (selector ``supernet``).
* :class:`SetnArch` (SETN, Dong & Yang 2019, as in D-X-Y/AutoDL-Projects' NAS-Bench-201 runs): the
  weight step trains a uniformly sampled architecture ("urs" mode), the architecture step updates
  alpha on the validation batch through the full softmax mixture ("joint" mode, the default
  :meth:`weight_fn`), and selection takes the most probable candidates under softmax(alpha) (selector
  ``topk``) and keeps the best on a validation batch with the shared weights.

A uniform one-hot per row is a uniform architecture for spaces whose rows are independent choices
(NAS-Bench-201); the row structure is all a distribution knows of a space.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from balenas.archdist.base import ArchDistribution
from balenas.archdist.softmax import SoftmaxArch
from balenas.spaces.base import ArchParams, GroupShapes


def uniform_one_hot(groups: GroupShapes, generator: torch.Generator, device: torch.device | str = "cpu") -> ArchParams:
    """One op per row drawn uniformly, as one-hot rows (group order, from ``generator``)."""
    out: ArchParams = {}
    for name, (rows, cols) in groups.items():
        idx = torch.randint(cols, (rows,), generator=generator)
        out[name] = F.one_hot(idx, cols).to(torch.float32).to(device)
    return out


class UniformArch(ArchDistribution):
    """No learnable state; ``mean_alpha`` is all zeros (its argmax is meaningless: the selector decides)."""

    def __init__(self, groups: GroupShapes) -> None:
        super().__init__(groups)
        self.register_buffer("_anchor", torch.zeros(()))  # only to follow the module's device

    def sample_alpha(self, generator: torch.Generator) -> ArchParams:
        return self.mean_alpha()

    def mean_alpha(self) -> ArchParams:
        return {name: torch.zeros(shape, device=self._anchor.device) for name, shape in self.groups.items()}

    def train_weights(self, generator: torch.Generator, mode: str) -> ArchParams:
        return uniform_one_hot(self.groups, generator, self._anchor.device)

    def selection_params(self, generator: torch.Generator) -> ArchParams:
        return uniform_one_hot(self.groups, generator, self._anchor.device)


class SetnArch(SoftmaxArch):
    def train_weights(self, generator: torch.Generator, mode: str) -> ArchParams:
        """A uniformly sampled architecture (the reference's "urs" weight step), whatever ``mode``."""
        return uniform_one_hot(self.groups, generator, next(iter(self.alpha.values())).device)
