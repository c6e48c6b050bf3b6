"""The ``proxy_correlation:`` block -> CorrelationConfig: what the block gives, and the defaults it omits."""

from __future__ import annotations

import pytest

from balenas.proxies import PROXIES
from balenas.selection_config import correlation_config
from balenas.stages.proxy_correlation import DEFAULT_METRICS, CorrelationConfig


def test_a_minimal_block_takes_every_dataclass_default():
    cfg = correlation_config({"proxy_correlation": {"n_archs": 3, "dataset": "digits", "proxies": None}})
    assert cfg == CorrelationConfig(n_archs=3, dataset="digits")
    assert cfg.proxies == tuple(PROXIES.keys()) and cfg.metrics == DEFAULT_METRICS
    assert (cfg.channels, cfg.cells_per_stage, cfg.batch_size, cfg.seed, cfg.space) == (16, 5, 64, 0, "nb201")


def test_every_key_of_the_block_is_used():
    block = {
        "n_archs": 7,
        "dataset": "c10",
        "network": {"channels": 4, "cells_per_stage": 2},
        "batch_size": 32,
        "seed": 3,
        "proxies": ["snip", "synflow"],
        "metrics": ["cifar10/ori-test/200"],
    }
    cfg = correlation_config({"proxy_correlation": block})
    assert cfg == CorrelationConfig(
        n_archs=7,
        dataset="c10",
        channels=4,
        cells_per_stage=2,
        batch_size=32,
        seed=3,
        proxies=("snip", "synflow"),
        metrics=("cifar10/ori-test/200",),
    )


def test_a_partial_network_keeps_the_other_default():
    cfg = correlation_config({"proxy_correlation": {"n_archs": 1, "dataset": "d", "network": {"channels": 8}}})
    assert (cfg.channels, cfg.cells_per_stage) == (8, 5)


def test_bad_values_are_rejected_by_the_dataclass():
    with pytest.raises(ValueError, match="n_archs"):
        correlation_config({"proxy_correlation": {"dataset": "d"}})
    with pytest.raises(ValueError, match="batch_size"):
        correlation_config({"proxy_correlation": {"n_archs": 1, "dataset": "d", "batch_size": 0}})
