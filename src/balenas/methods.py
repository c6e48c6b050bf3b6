"""Search methods by name: each is an architecture distribution plus an architecture optimizer.

``METHODS["darts"]`` and ``METHODS["balenas"]`` build both halves from the method's settings in config;
new methods (GDAS, DrNAS, ...) register here without touching the search loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from balenas.archdist import ArchDistribution, GaussianArch, SoftmaxArch
from balenas.archopt.adam import AdamArch
from balenas.archopt.base import ArchOptimizer
from balenas.archopt.vadam import VAdam
from balenas.registry import Registry

Builder = Callable[[tuple[int, int], Mapping[str, Any], int], tuple[ArchDistribution, ArchOptimizer]]


@dataclass(frozen=True)
class Method:
    name: str
    label: str  # how tables and figures name it
    build: Builder
    settings: frozenset[str]  # the keys its config block must provide

    def check_settings(self, settings: Mapping[str, Any]) -> None:
        missing = sorted(self.settings - set(settings))
        extra = sorted(set(settings) - self.settings)
        if missing or extra:
            raise KeyError(
                f"method_settings.{self.name}: missing keys {missing}, unknown keys {extra}; "
                f"expected exactly {sorted(self.settings)}"
            )


def _darts(shape: tuple[int, int], cfg: Mapping[str, Any], dataset_size: int) -> tuple[ArchDistribution, ArchOptimizer]:
    dist = SoftmaxArch(shape, init_std=cfg["init_std"])
    return dist, AdamArch(dist, cfg["lr"], tuple(cfg["betas"]), cfg["weight_decay"])


def _balenas(
    shape: tuple[int, int], cfg: Mapping[str, Any], dataset_size: int
) -> tuple[ArchDistribution, ArchOptimizer]:
    n = cfg["dataset_size"] or dataset_size
    dist = GaussianArch(shape, n, cfg["prior_precision"], cfg["init_precision"], init_std=cfg["init_std"])
    return dist, VAdam(dist, cfg["lr"], tuple(cfg["betas"]), form=cfg["form"])


METHODS: Registry[Method] = Registry("method")
METHODS.add(
    "darts",
    Method("darts", "DARTS", _darts, frozenset({"lr", "betas", "weight_decay", "init_std"})),
)
METHODS.add(
    "balenas",
    Method(
        "balenas",
        "BaLeNAS",
        _balenas,
        frozenset(
            {"lr", "betas", "prior_precision", "init_precision", "init_std", "mc_samples", "form", "dataset_size"}
        ),
    ),
)
