"""How architecture parameters become mixing weights, group by group.

An :class:`ArchDistribution` owns the learnable state of a method (alpha for DARTS, mu and s for BaLeNAS),
one tensor per architecture-parameter group of the space (:data:`balenas.spaces.GroupShapes`). Each
architecture step asks it for a concrete ``alpha`` (deterministic or sampled), a gradient estimator
computes d L_val / d alpha at that point through :meth:`weight_fn`, and an architecture optimizer turns the
gradient into an update of the distribution's state.

The seam for other relaxations:

* :meth:`weight_fn` returns the map alpha -> mixing weights used for ONE step. It may be stochastic
  (straight-through Gumbel, Dirichlet samples): the noise is drawn once from the step's generator when the
  map is made and is then fixed, so a second-order finite difference or a Hessian sees one function.
* :meth:`train_weights` gives the weight step's mixing weights (a sample, the mean, or a sampled discrete
  architecture).
* :meth:`on_epoch_start` is a per-epoch hook (temperature schedules); it must depend on the epoch only, so
  a resumed run calls it with the same result.
* :meth:`selection_params` is one draw for BaLeNAS-TF-style selection; the space discretises it.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping

import torch
from torch import nn

from balenas.spaces.base import ArchParams, GroupShapes

WeightFn = Callable[[ArchParams], ArchParams]


def flatten(params: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The groups' entries as one vector, in group order (gradient estimators and the Hessian use it)."""
    return torch.cat([t.reshape(-1) for t in params.values()])


def unflatten(flat: torch.Tensor, groups: GroupShapes) -> ArchParams:
    """Inverse of :func:`flatten`: views of ``flat`` shaped as ``groups`` (autograd flows through them)."""
    total = sum(rows * cols for rows, cols in groups.values())
    if flat.dim() != 1 or flat.numel() != total:
        raise ValueError(f"flat architecture vector of shape {tuple(flat.shape)}; the groups need {total} entries")
    out: ArchParams = {}
    start = 0
    for name, (rows, cols) in groups.items():
        out[name] = flat[start : start + rows * cols].view(rows, cols)
        start += rows * cols
    return out


def row_softmax(alpha: Mapping[str, torch.Tensor]) -> ArchParams:
    """softmax over the last dimension of every group (DARTS' mixing weights)."""
    return {name: torch.softmax(a, dim=-1) for name, a in alpha.items()}


class ArchDistribution(nn.Module, abc.ABC):
    #: Gradient samples per architecture step (BaLeNAS' Monte Carlo samples).
    mc_samples: int = 1

    def __init__(self, groups: GroupShapes) -> None:
        super().__init__()
        if not groups:
            raise ValueError("an architecture distribution needs at least one parameter group")
        self.groups: dict[str, tuple[int, int]] = {k: (int(v[0]), int(v[1])) for k, v in groups.items()}

    @property
    def numel(self) -> int:
        return sum(r * c for r, c in self.groups.values())

    @abc.abstractmethod
    def sample_alpha(self, generator: torch.Generator) -> ArchParams:
        """Detached architecture parameters at which this step's gradient is taken."""

    @abc.abstractmethod
    def mean_alpha(self) -> ArchParams:
        """The point estimate used for derivation (alpha for DARTS, mu for BaLeNAS), detached."""

    def to_weights(self, alpha: Mapping[str, torch.Tensor]) -> ArchParams:
        """Deterministic mixing weights per group; rows sum to one."""
        return row_softmax(alpha)

    def weight_fn(self, generator: torch.Generator | None) -> WeightFn:
        """The differentiable map alpha -> mixing weights of one step (default: :meth:`to_weights`)."""
        return self.to_weights

    def train_weights(self, generator: torch.Generator, mode: str) -> ArchParams:
        """Mixing weights of the weight step: at a sample (``mode="sample"``) or at the mean."""
        alpha = self.sample_alpha(generator) if mode == "sample" else self.mean_alpha()
        return self.weight_fn(generator)(alpha)

    def mean_weights(self) -> ArchParams:
        return self.to_weights(self.mean_alpha())

    def selection_params(self, generator: torch.Generator) -> ArchParams:
        """One draw from the learned distribution for selection; the space discretises it."""
        return self.sample_alpha(generator)

    def on_epoch_start(self, epoch: int, epochs: int) -> None:
        """Called before every epoch (0-based ``epoch`` of ``epochs``), also after a resume."""

    def stats(self) -> dict[str, float]:
        """Scalars for the search history (e.g. the spread of sigma)."""
        return {}


def group_parameters(groups: GroupShapes, init_std: float) -> nn.ParameterDict:
    """One ``init_std * N(0, 1)`` parameter per group, drawn from the global RNG in group order."""
    return nn.ParameterDict({name: nn.Parameter(init_std * torch.randn(*shape)) for name, shape in groups.items()})


def detached(params: Mapping[str, torch.Tensor]) -> ArchParams:
    return {name: p.detach().clone() for name, p in params.items()}
