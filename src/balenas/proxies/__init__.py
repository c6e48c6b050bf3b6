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
:func:`compute_proxies` scores several proxies on one network with the same values, sharing the loss
gradient among SNIP, grad_norm and GraSP (``gradient.SHARED_GRADIENT``) when more than one is asked for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from balenas.proxies import ranking
from balenas.proxies._common import LossFn, device_of
from balenas.proxies.activation import jacob_cov, naswot
from balenas.proxies.gradient import SHARED_GRADIENT, fisher, grad_norm, gradient_scores, grasp, snip
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
    with _seeded(net, seed):
        return fn(net, inputs, targets, loss_fn, **options)


def compute_proxies(
    names: Sequence[str],
    net: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    loss_fn: LossFn = F.cross_entropy,
    seed: int = 0,
    timings: dict[str, float] | None = None,
) -> dict[str, float]:
    """``{name: compute_proxy(name, net, ...)}`` for every name (default options), in the order given.

    Two or more of :data:`~balenas.proxies.gradient.SHARED_GRADIENT` share one forward and backward pass
    (:func:`~balenas.proxies.gradient.gradient_scores`; seeded like one :func:`compute_proxy` call, so a
    stochastic layer draws what it would for each proxy alone): with GraSP, SNIP and grad_norm come for
    free. The values are those of :func:`compute_proxy`, to the last bit. ``timings``, when given, receives
    each proxy's wall-clock seconds (a shared pass's time split evenly among the proxies it scored).
    """
    for name in names:
        PROXIES.get(name)
    shared = [n for n in dict.fromkeys(names) if n in SHARED_GRADIENT]
    out: dict[str, float] = {}
    seconds: dict[str, float] = {}
    if len(shared) > 1:
        start = time.perf_counter()
        with _seeded(net, seed):
            out.update(gradient_scores(shared, net, inputs, targets, loss_fn))
        seconds.update(dict.fromkeys(shared, (time.perf_counter() - start) / len(shared)))
    for name in dict.fromkeys(names):
        if name not in out:
            start = time.perf_counter()
            out[name] = compute_proxy(name, net, inputs, targets, loss_fn=loss_fn, seed=seed)
            seconds[name] = time.perf_counter() - start
    if timings is not None:
        timings.update(seconds)
    return {name: out[name] for name in names}


@contextmanager
def _seeded(net: nn.Module, seed: int) -> Iterator[None]:
    """The global RNG (and the network's CUDA device's) seeded with ``seed``, restored on exit."""
    device = device_of(net)
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        yield


__all__ = [
    "PAPER_PROXIES",
    "PROXIES",
    "LossFn",
    "ProxyFn",
    "compute_proxies",
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
