"""Per-epoch curvature tracking for the search history (the paper's Figure 3, after Zela et al. 2020).

:func:`hessian_record` is the hook :func:`balenas.search.run_search` calls every ``search.hessian_every``
epochs and after the last one. It returns the spectrum of the exact Hessian of the validation loss with
respect to ALL architecture parameters (every group of the space, flattened in group order: 30 for
NAS-Bench-201, 2 x 14 x 8 = 224 for DARTS), taken at the distribution's point estimate ``mean_alpha()``
(DARTS: alpha; BaLeNAS: mu), averaged over ``search.hessian_batches`` batches of the architecture half.

What the numbers are measured on, and why:

* **The same batches every epoch.** The batches are the first ``hessian_batches`` of a permutation of the
  architecture half drawn from a generator derived from ``(seed, HESSIAN_STREAM)`` only, so the curve over
  epochs moves with the model, not with the data it happens to be measured on.
* **No augmentation.** The batches are taken as stored (normalised, not cropped or flipped): the loss
  surface of interest is that of the validation data, not of one random augmentation of it.
* **Train mode (batch statistics).** The network is put in train mode for the measurement, as during the
  search's own architecture steps (the supernet's running statistics are never used in the search), and
  its previous mode is restored afterwards.
* **No architecture weight decay.** The Hessian is that of the data loss alone (RobustDARTS adds DARTS'
  arch weight decay 1e-3 to every eigenvalue; here DARTS and BaLeNAS are measured alike).

Purity: the network's parameters, gradients and BN running statistics, the distribution, both optimizers
and every random stream of the search are left exactly as they were (the Hessian routine differentiates
through :func:`torch.func.functional_call` with cloned buffers and draws from its own generator), so a
resumed search with tracking on equals an uninterrupted one.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

import torch
from torch import nn

from balenas.analysis.hessian import validation_hessian_spectrum
from balenas.archdist import ArchDistribution, flatten, unflatten
from balenas.data import DataConfig, ImageSet
from balenas.runtime import derived_generator

log = logging.getLogger(__name__)

HESSIAN_STREAM = 1001  # derived_generator(seed, HESSIAN_STREAM): never used by the search loop itself
HESSIAN_KEYS = ("hessian_max_eig", "hessian_min_eig", "hessian_max_abs_eig", "hessian_examples", "hessian_seconds")


class _HasSearchSettings(Protocol):
    seed: int
    batch_size: int
    hessian_batches: int
    hessian_chunk: int
    hessian_batch_size: int | None  # None: batch_size
    hessian_mode: str


class _HasNetworkAndDist(Protocol):
    network: nn.Module
    dist: ArchDistribution


def hessian_batches(data: ImageSet, seed: int, batch_size: int, count: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``count`` disjoint batches of ``data`` (fewer if it is too small), the same for every call.

    Every batch has ``batch_size`` examples except when ``data`` holds fewer than one batch, in which case
    the single batch is all of it.
    """
    if count < 1 or batch_size < 1:
        raise ValueError(f"hessian_batches needs count >= 1 and batch_size >= 1, got {count}, {batch_size}")
    perm = torch.randperm(len(data), generator=derived_generator(seed, HESSIAN_STREAM)).to(data.x.device)
    full = len(data) // batch_size
    if full == 0:
        return [(data.x[perm], data.y[perm])]
    out = []
    for i in range(min(count, full)):
        idx = perm[i * batch_size : (i + 1) * batch_size]
        out.append((data.x[idx], data.y[idx]))
    return out


def hessian_record(cfg: _HasSearchSettings, state: _HasNetworkAndDist, a_half: ImageSet,
                   data_cfg: DataConfig | None = None) -> dict[str, Any]:
    """History columns ``hessian_max_eig`` (dominant = largest algebraic eigenvalue), ``hessian_min_eig``,
    ``hessian_max_abs_eig``, ``hessian_examples`` and ``hessian_seconds`` for the current search state.

    ``data_cfg`` is accepted for the hook's signature; augmentation is deliberately not applied.
    """
    t0 = time.time()
    batch_size = cfg.hessian_batch_size or cfg.batch_size
    batches = hessian_batches(a_half, cfg.seed, batch_size, cfg.hessian_batches)
    net, dist = state.network, state.dist
    was_training = net.training
    net.train()
    try:
        spectrum = validation_hessian_spectrum(
            net,
            lambda flat: dist.to_weights(unflatten(flat, dist.groups)),
            flatten(dist.mean_alpha()),
            batches,
            nn.CrossEntropyLoss(),
            chunk=cfg.hessian_chunk,
            mode=cfg.hessian_mode,
        )
    finally:
        net.train(was_training)
    record = {
        "hessian_max_eig": spectrum.max_eigenvalue,
        "hessian_min_eig": spectrum.min_eigenvalue,
        "hessian_max_abs_eig": spectrum.max_abs_eigenvalue,
        "hessian_examples": sum(len(y) for _, y in batches),
        "hessian_seconds": time.time() - t0,
    }
    log.info("Hessian of the validation loss at the mean alpha: max eig %.4g, min eig %.4g (%d examples, %.1f s)",
             record["hessian_max_eig"], record["hessian_min_eig"], record["hessian_examples"],
             record["hessian_seconds"])
    return record


__all__ = ["HESSIAN_KEYS", "HESSIAN_STREAM", "hessian_batches", "hessian_record"]
