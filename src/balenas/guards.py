"""Divergence guards: a non-finite loss, gradient or parameter stops a job instead of becoming a result.

A search whose learning rate is far too large produces NaN losses and an all-``none`` genotype that
would otherwise flow into lookups and tables as if it were found. :func:`check_finite` is called at a
few points of the search loop; with ``search.on_divergence: fail`` (the default) it raises
:class:`DivergenceError` naming the run, epoch, step and quantity, before any final output is written
(the checkpoint of the last good epoch stays for inspection). With ``skip_step`` the caller skips the
step whose loss or gradient is non-finite and counts it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch

from balenas.registry import Registry

#: What a search does when a guarded quantity is non-finite (``search.on_divergence``).
ON_DIVERGENCE: Registry[str] = Registry("on_divergence")
ON_DIVERGENCE.add("fail", "stop the job with DivergenceError; no final outputs are written")
ON_DIVERGENCE.add("skip_step", "skip a step whose loss or gradient is non-finite (non-finite parameters still fail)")


class DivergenceError(RuntimeError):
    """A guarded quantity of a run became NaN or infinite."""


@dataclass(frozen=True)
class RunId:
    """Which run a guard belongs to (for the error message)."""

    space: str
    dataset: str
    method: str
    order: int
    seed: int

    def __str__(self) -> str:
        return f"{self.space}/{self.dataset}/{self.method}/order-{self.order}/seed-{self.seed}"


Value = float | torch.Tensor | Iterable[torch.Tensor] | Mapping[str, torch.Tensor]


def is_finite(value: Value) -> bool:
    """True when every element of ``value`` (a number, a tensor, or a collection of tensors) is finite."""
    if isinstance(value, (int, float)):
        return math.isfinite(value)
    if isinstance(value, torch.Tensor):
        return bool(torch.isfinite(value.detach()).all())
    if isinstance(value, Mapping):
        return all(is_finite(v) for v in value.values())
    return all(is_finite(v) for v in value)


def divergence_message(quantity: str, run: object, epoch: int, step: int | None) -> str:
    where = f"epoch {epoch}" + (f", step {step}" if step is not None else " (after the step)")
    return (
        f"search {run} diverged: {quantity} is not finite at {where}. No outputs were written; the "
        "checkpoint of the last good epoch (if any) is kept. Lower the learning rates "
        "(search.weights.lr, method_settings.<method>.lr) or set search.on_divergence: skip_step."
    )


def check_finite(quantity: str, value: Value, *, run: object, epoch: int, step: int | None) -> None:
    """Raise :class:`DivergenceError` naming ``run``, ``epoch`` (1-based), ``step`` and ``quantity``."""
    if not is_finite(value):
        raise DivergenceError(divergence_message(quantity, run, epoch, step))


def guard_step(quantity: str, value: Value, *, policy: str, run: object, epoch: int, step: int) -> bool:
    """True when the step may go on; False when ``policy`` is ``skip_step`` and ``value`` is non-finite."""
    ON_DIVERGENCE.get(policy)
    if is_finite(value):
        return True
    if policy == "skip_step":
        return False
    raise DivergenceError(divergence_message(quantity, run, epoch, step))
