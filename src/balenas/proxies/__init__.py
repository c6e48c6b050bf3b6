"""Training-free proxies: pure functions ``(network, inputs, targets, loss_fn) -> float``.

Every proxy in :data:`PROXIES` has the signature
``fn(net, inputs, targets, loss_fn=F.cross_entropy, **options) -> float`` and

* scores ``net`` in train mode (the caller's parameters, buffers, gradients, flags and
  mode are untouched);
* draws no random numbers itself: the same network and batch give the same score;
* returns a raw score whose sign convention lives in :mod:`balenas.proxies.ranking` (``SIGNS``; after
  orientation higher is better; compare candidates with ``ranking.best_index`` / ``ranking.order``).

:func:`compute_proxy` looks a proxy up by name and runs it with the global torch RNG seeded and
restored afterwards (only relevant for networks with stochastic layers such as dropout).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from balenas.proxies import ranking
from balenas.proxies._common import LossFn, device_of
from balenas.proxies.activation import jacob_cov, naswot
from balenas.proxies.gradient import fisher, grad_norm, grasp, snip
from balenas.proxies.synflow import synflow
from balenas.registry import Registry

ProxyFn = Callable[..., float]

PROXIES: Registry[ProxyFn] = Registry("proxy")
PROXIES.add("synflow", synflow)
PROXIES.add("snip", snip)
PROXIES.add("grasp", grasp)
PROXIES.add("grad_norm", grad_norm)
PROXIES.add("fisher", fisher)
PROXIES.add("jacob_cov", jacob_cov)
PROXIES.add("naswot", naswot)

#: The three proxies of the BaLeNAS paper's Eq. (8).
PAPER_PROXIES: tuple[str, ...] = ("synflow", "snip", "grasp")


def compute_proxy(
    name: str,
    net: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    loss_fn: LossFn = F.cross_entropy,
    seed: int = 0,
    **options: Any,
) -> float:
    """Raw score of proxy ``name`` (unknown names raise ``KeyError`` listing the valid ones)."""
    fn = PROXIES.get(name)
    device = device_of(net)
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        return fn(net, inputs, targets, loss_fn, **options)


__all__ = [
    "PAPER_PROXIES",
    "PROXIES",
    "LossFn",
    "ProxyFn",
    "compute_proxy",
    "fisher",
    "grad_norm",
    "grasp",
    "jacob_cov",
    "naswot",
    "ranking",
    "snip",
    "synflow",
]
