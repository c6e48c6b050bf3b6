"""How architecture-distribution parameters are updated from d L_val / d alpha."""

from __future__ import annotations

import abc
from typing import Any

import torch


class ArchOptimizer(abc.ABC):
    """Consumes the gradient of the validation loss at the alpha the distribution produced."""

    @abc.abstractmethod
    def step(self, grad: torch.Tensor) -> None: ...

    @abc.abstractmethod
    def state_dict(self) -> dict[str, Any]: ...

    @abc.abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None: ...
