"""Search methods by name: an architecture distribution, an architecture optimizer and a step rule.

``METHODS["darts"]`` and ``METHODS["balenas"]`` build both halves from the method's settings in config;
new methods (GDAS, DrNAS, RandomNAS, ...) register here without touching the search loop: a distribution
(how parameters become possibly stochastic mixing weights, with per-epoch hooks), an optimizer (or none),
and an architecture step (:mod:`balenas.archopt.steps`). Tables and figures take their rows and labels
from here (``label``, ``orders``, ``paper_rows``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import torch

from balenas.archdist import ArchDistribution, GaussianArch, SoftmaxArch
from balenas.archopt.adam import AdamArch
from balenas.archopt.base import ArchOptimizer
from balenas.archopt.steps import ArchStep, gradient_arch_step
from balenas.archopt.vadam import VAdam
from balenas.registry import Registry
from balenas.spaces.base import GroupShapes

#: (groups, settings, dataset size) -> the architecture distribution, on the CPU.
DistBuilder = Callable[[GroupShapes, Mapping[str, Any], int], ArchDistribution]
#: (distribution already on its device, settings) -> its optimizer, or None (no architecture step).
OptBuilder = Callable[[Any, Mapping[str, Any]], "ArchOptimizer | None"]


@dataclass(frozen=True)
class Method:
    name: str
    label: str  # how tables and figures name it
    make_dist: DistBuilder
    make_optimizer: OptBuilder
    settings: frozenset[str]  # the keys its config block must provide
    arch_step: ArchStep = gradient_arch_step
    orders: tuple[int, ...] = (1, 2)  # the gradient orders the method defines
    #: order -> the row key of this method in the paper's Table 1 (../shared/paper/table1_nb201.csv)
    paper_rows: Mapping[int, str] = field(default_factory=lambda: MappingProxyType({}))

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
        groups: GroupShapes,
        settings: Mapping[str, Any],
        dataset_size: int,
        device: torch.device | str = "cpu",
    ) -> tuple[ArchDistribution, ArchOptimizer | None]:
        """The distribution, moved to ``device``, and then its optimizer.

        The order matters: an optimizer captures the distribution's tensors (Adam its parameters, VAdam
        buffers shaped like mu), so it is built only once they live where the search runs.
        """
        dist = self.make_dist(groups, settings, dataset_size).to(device)
        return dist, self.make_optimizer(dist, settings)


def _softmax_dist(groups: GroupShapes, cfg: Mapping[str, Any], dataset_size: int) -> ArchDistribution:
    return SoftmaxArch(groups, init_std=cfg["init_std"])


def _adam(dist: SoftmaxArch, cfg: Mapping[str, Any]) -> ArchOptimizer:
    return AdamArch(dist, cfg["lr"], tuple(cfg["betas"]), cfg["weight_decay"])


def _gaussian_dist(groups: GroupShapes, cfg: Mapping[str, Any], dataset_size: int) -> ArchDistribution:
    n = cfg["dataset_size"] or dataset_size
    return GaussianArch(
        groups,
        n,
        cfg["prior_precision"],
        cfg["init_precision"],
        init_std=cfg["init_std"],
        mc_samples=int(cfg["mc_samples"]),
    )


def _vadam(dist: GaussianArch, cfg: Mapping[str, Any]) -> ArchOptimizer:
    return VAdam(dist, cfg["lr"], tuple(cfg["betas"]), form=cfg["form"])


METHODS: Registry[Method] = Registry("method")
METHODS.add(
    "darts",
    Method(
        "darts",
        "DARTS",
        _softmax_dist,
        _adam,
        frozenset({"lr", "betas", "weight_decay", "init_std"}),
        paper_rows=MappingProxyType({1: "darts_1st", 2: "darts_2nd"}),
    ),
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
        paper_rows=MappingProxyType({1: "balenas_1st", 2: "balenas_2nd"}),
    ),
)
