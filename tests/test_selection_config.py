"""The ``proxy_correlation:`` block -> CorrelationConfig: what the block gives, and the defaults it omits."""

from __future__ import annotations

import pytest

from balenas.proxies import PROXIES
from balenas.select import NetworkConfig
from balenas.selection_config import check_selection, correlation_config, selection_network
from balenas.spaces import get_space
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


def test_selection_network_defaults_to_the_paper_batch_and_the_space_defaults():
    net = selection_network({}, "nb201")
    assert net == NetworkConfig(batch_size=64, network={})
    assert get_space("nb201").make_network_config(net.network) == get_space("nb201").network_config(16, 5)


def test_selection_network_takes_the_space_block_and_the_selection_batch():
    config = {
        "selection": {"batch_size": 8},
        "space_settings": {
            "nb201": {"supernet": {"channels": 4}, "network": {"channels": 2, "cells_per_stage": 1}},
            "other": {"network": {"channels": 99}},
        },
    }
    net = selection_network(config, "nb201")
    assert net == NetworkConfig(batch_size=8, network={"channels": 2, "cells_per_stage": 1})
    net.check(get_space("nb201"))
    # the space without a block gets the network defaults, not another space's block
    assert selection_network(config, "darts").network == {}


def test_a_bad_network_block_is_named_when_checked_against_its_space():
    net = selection_network({"space_settings": {"nb201": {"network": {"chanels": 2}}}}, "nb201")
    with pytest.raises(ValueError, match=r"space_settings\.nb201\.network.*chanels"):
        net.check(get_space("nb201"))
    net = selection_network({"space_settings": {"nb201": {"network": {"channels": 0}}}}, "nb201")
    with pytest.raises(ValueError, match="channels"):
        net.check(get_space("nb201"))


def test_check_selection_rejects_a_bad_batch_size_naming_the_key():
    with pytest.raises(ValueError, match="selection.batch_size"):
        check_selection({"selection": {"batch_size": 0}})
