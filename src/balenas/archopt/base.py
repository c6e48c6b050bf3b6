"""How architecture-distribution parameters are updated from d L_val / d alpha, group by group."""

from __future__ import annotations

import abc
from typing import Any

from balenas.spaces.base import ArchParams


class ArchOptimizer(abc.ABC):
    """Consumes the gradient of the validation loss (one tensor per group) at the alpha the
    distribution produced."""

    @abc.abstractmethod
    def step(self, grads: ArchParams) -> None: ...

    @abc.abstractmethod
    def state_dict(self) -> dict[str, Any]: ...

    @abc.abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None: ...
