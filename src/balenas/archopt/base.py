"""How architecture-distribution parameters are updated from d L_val / d alpha, group by group."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from typing import Any

import torch

from balenas.spaces.base import ArchParams


def check_groups(grads: ArchParams, groups: Iterable[str]) -> None:
    """Raise unless ``grads`` has exactly the group names ``groups`` (a mapping gives its keys)."""
    names = set(groups)
    if set(grads) != names:
        raise ValueError(f"gradient groups {sorted(grads)} != parameter groups {sorted(names)}")


class ArchOptimizer(abc.ABC):
    """Consumes the gradient of the validation loss (one tensor per group) at the alpha the
    distribution produced."""

    @abc.abstractmethod
    def step(self, grads: ArchParams) -> None: ...

    @abc.abstractmethod
    def state_dict(self) -> dict[str, Any]: ...

    @abc.abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class TorchArchOptimizer(ArchOptimizer):
    """A ``torch.optim`` optimizer over named tensors: each step copies the given gradient of every name
    onto its tensor (clipping their joint norm when ``grad_clip`` > 0), steps and clears the gradients."""

    def __init__(self, params: dict[str, torch.Tensor], opt: torch.optim.Optimizer, grad_clip: float = 0.0) -> None:
        self.params, self.opt, self.grad_clip = params, opt, float(grad_clip)

    def step(self, grads: ArchParams) -> None:
        check_groups(grads, self.params)
        for name, p in self.params.items():
            p.grad = grads[name].detach().clone().to(p.device)
        if self.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(list(self.params.values()), self.grad_clip)
        self.opt.step()
        for p in self.params.values():
            p.grad = None

    def state_dict(self) -> dict[str, Any]:
        return self.opt.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.opt.load_state_dict(state)
