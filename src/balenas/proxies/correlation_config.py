"""The ``proxy_correlation:`` block as a frozen config, kept free of the study's report and plotting code.

:mod:`balenas.selection_config` checks the block when the workflow is parsed, so this module must import
neither matplotlib nor any :mod:`balenas.report` module (``import balenas.config`` stays light).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from balenas.benchmarks import Metric
from balenas.proxies import PROXIES

#: The metric the published correlations refer to. zero-cost-nas scores NB201 on CIFAR-10 and reads, for each
#: architecture, ``api.get_more_info(i, 'cifar10-valid', hp='200', is_random=False)['test-accuracy']``
#: (``nasbench2_pred.py``; ``notebooks/nasbench201_correlations.ipynb`` correlates with that ``testacc``):
#: models trained on the train split of cifar10-valid, evaluated on the original CIFAR-10 test set.
PUBLISHED_METRIC = "cifar10-valid/ori-test/200"

#: Metrics correlated with when the block names none: the one the published values refer to (so they are
#: compared, and it is the one plotted), then the paper tables' CIFAR-10 test accuracy.
DEFAULT_METRICS: tuple[str, ...] = (PUBLISHED_METRIC, "cifar10/ori-test/200")


@dataclass(frozen=True)
class CorrelationConfig:
    """The ``proxy_correlation:`` block (plus the space it samples from)."""

    n_archs: int
    dataset: str
    channels: int = 16
    cells_per_stage: int = 5
    batch_size: int = 64
    seed: int = 0
    space: str = "nb201"
    proxies: tuple[str, ...] = field(default_factory=lambda: tuple(PROXIES.keys()))
    metrics: tuple[str, ...] = DEFAULT_METRICS
    checkpoint_every: int = 10

    def __post_init__(self) -> None:
        object.__setattr__(self, "proxies", tuple(self.proxies))
        object.__setattr__(self, "metrics", tuple(self.metrics))
        for key in ("n_archs", "channels", "cells_per_stage", "batch_size", "checkpoint_every"):
            if int(getattr(self, key)) < 1:
                raise ValueError(f"proxy_correlation.{key} must be >= 1, got {getattr(self, key)}")
        for name in self.proxies:
            PROXIES.get(name)
        if not self.metrics:
            raise ValueError("proxy_correlation.metrics must name at least one benchmark metric")
        for key in self.metrics:
            Metric.parse(key)

    @classmethod
    def from_dict(cls, cfg: Mapping[str, Any]) -> CorrelationConfig:
        return cls(**dict(cfg))

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def scoring_key(self) -> dict[str, Any]:
        """What the scores depend on (a checkpoint written under another key is ignored)."""
        d = self.to_dict()
        d.pop("metrics")
        d.pop("checkpoint_every")
        return d
