"""Search methods by name: each is an architecture distribution plus an architecture optimizer.

``METHODS["darts"]`` and ``METHODS["balenas"]`` build both halves from the method's settings in config;
new methods (GDAS, DrNAS, ...) register here without touching the search loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from balenas.archdist import ArchDistribution, GaussianArch, SoftmaxArch
from balenas.archopt.adam import AdamArch
from balenas.archopt.base import ArchOptimizer
from balenas.archopt.vadam import VAdam
from balenas.registry import Registry

#: (shape, settings, dataset size) -> the architecture distribution, on the CPU.
DistBuilder = Callable[[tuple[int, int], Mapping[str, Any], int], ArchDistribution]
#: (distribution already on its device, settings) -> its optimizer.
OptBuilder = Callable[[Any, Mapping[str, Any]], ArchOptimizer]


@dataclass(frozen=True)
class Method:
    name: str
    label: str  # how tables and figures name it
    make_dist: DistBuilder
    make_optimizer: OptBuilder
    settings: frozenset[str]  # the keys its config block must provide

    def check_settings(self, settings: Mapping[str, Any]) -> None:
        missing = sorted(self.settings - set(settings))
        extra = sorted(set(settings) - self.settings)
        if missing or extra:
            raise KeyError(
                f"method_settings.{self.name}: missing keys {missing}, unknown keys {extra}; "
                f"expected exactly {sorted(self.settings)}"
            )

    def build(
        self,
        shape: tuple[int, int],
        settings: Mapping[str, Any],
        dataset_size: int,
        device: torch.device | str = "cpu",
    ) -> tuple[ArchDistribution, ArchOptimizer]:
        """The distribution, moved to ``device``, and then its optimizer.

        The order matters: an optimizer captures the distribution's tensors (Adam its parameter, VAdam a
        buffer shaped like mu), so it is built only once they live where the search runs.
        """
        dist = self.make_dist(shape, settings, dataset_size).to(device)
        return dist, self.make_optimizer(dist, settings)


def _softmax_dist(shape: tuple[int, int], cfg: Mapping[str, Any], dataset_size: int) -> ArchDistribution:
    return SoftmaxArch(shape, init_std=cfg["init_std"])


def _adam(dist: SoftmaxArch, cfg: Mapping[str, Any]) -> ArchOptimizer:
    return AdamArch(dist, cfg["lr"], tuple(cfg["betas"]), cfg["weight_decay"])


def _gaussian_dist(shape: tuple[int, int], cfg: Mapping[str, Any], dataset_size: int) -> ArchDistribution:
    n = cfg["dataset_size"] or dataset_size
    return GaussianArch(shape, n, cfg["prior_precision"], cfg["init_precision"], init_std=cfg["init_std"])


def _vadam(dist: GaussianArch, cfg: Mapping[str, Any]) -> ArchOptimizer:
    return VAdam(dist, cfg["lr"], tuple(cfg["betas"]), form=cfg["form"])


METHODS: Registry[Method] = Registry("method")
METHODS.add(
    "darts",
    Method("darts", "DARTS", _softmax_dist, _adam, frozenset({"lr", "betas", "weight_decay", "init_std"})),
)
METHODS.add(
    "balenas",
    Method(
        "balenas",
        "BaLeNAS",
        _gaussian_dist,
        _vadam,
        frozenset(
            {"lr", "betas", "prior_precision", "init_precision", "init_std", "mc_samples", "form", "dataset_size"}
        ),
    ),
)
