"""Scoring tables and rank correlations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from balenas.proxies.correlation import (
    CORRELATION_COLUMNS,
    SCORE_COLUMNS,
    build_network,
    proxy_correlations,
    score_genotypes,
)
from balenas.spaces import get_space

CPU = torch.device("cpu")

ARCHS = (
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|",
    "|skip_connect~0|+|none~0|nor_conv_1x1~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_3x3~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
)
NET = {"channels": 4, "cells_per_stage": 1}  # space_settings.nb201.network


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(6, 3, 8, 8, generator=gen), torch.randint(0, 4, (6,), generator=gen)
    genotypes = [get_space("nb201").parse(a) for a in ARCHS]
    return score_genotypes(genotypes, x, y, ["synflow", "snip", "jacob_cov"], network=NET, num_classes=4)


def test_score_table_is_tidy(table: pd.DataFrame) -> None:
    assert tuple(table.columns) == SCORE_COLUMNS
    assert len(table) == len(ARCHS) * 3
    assert list(table["arch"].unique()) == list(ARCHS)
    assert (table["seconds"] >= 0).all()


def test_scores_do_not_depend_on_list_position(table: pd.DataFrame) -> None:
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(6, 3, 8, 8, generator=gen), torch.randint(0, 4, (6,), generator=gen)
    alone = score_genotypes([get_space("nb201").parse(ARCHS[1])], x, y, ["snip"], network=NET, num_classes=4)
    in_list = table[(table["arch_index"] == 1) & (table["proxy"] == "snip")]["score"].item()
    assert alone["score"].item() == in_list


def test_the_network_block_builds_the_scored_network() -> None:
    genotype = get_space("nb201").parse(ARCHS[0])
    small = build_network(genotype, network=NET, num_classes=4, in_channels=3, init_seed=0, device=CPU)
    wider = build_network(
        genotype, network={**NET, "channels": 8}, num_classes=4, in_channels=3, init_seed=0, device=CPU
    )
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in wider.parameters())
    again = build_network(genotype, network=NET, num_classes=4, in_channels=3, init_seed=0, device=CPU)
    assert all(torch.equal(a, b) for a, b in zip(small.state_dict().values(), again.state_dict().values()))
    with pytest.raises(ValueError, match=r"space_settings\.nb201\.network.*cells"):
        build_network(genotype, network={"cells": 1}, num_classes=4, in_channels=3, init_seed=0, device=CPU)


def test_all_none_cell_has_no_jacobian_signal(table: pd.DataFrame) -> None:
    # Every cell outputs zeros, so the logits do not depend on the input: jacob_cov is NaN.
    row = table[(table["arch_index"] == 2) & (table["proxy"] == "jacob_cov")]
    assert math.isnan(row["score"].item())


def test_unknown_proxy_fails_before_work() -> None:
    with pytest.raises(KeyError, match="synflow"):
        score_genotypes(
            [get_space("nb201").parse(ARCHS[0])],
            torch.zeros(2, 3, 8, 8),
            torch.zeros(2, dtype=torch.long),
            ["nope"],
        )


def _table(scores: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        {"arch_index": i, "arch": str(i), "proxy": p, "score": s, "seconds": 0.0}
        for p, vals in scores.items()
        for i, s in enumerate(vals)
    ]
    return pd.DataFrame(rows)


def test_correlations_of_monotone_scores_with_inf_and_nan() -> None:
    acc = [50.0, 60.0, 70.0, 80.0, 90.0]
    table = _table(
        {
            "synflow": [1e30, 1e40, 1e50, 1e60, math.inf],  # monotone, top one overflowed
            "grasp": [5.0, 4.0, 3.0, 2.0, 1.0],  # perfectly anti-correlated
            "jacob_cov": [1.0, math.nan, 3.0, 4.0, 5.0],  # one failure, left out
        }
    )
    out = proxy_correlations(table, acc).set_index("proxy")
    assert tuple(out.reset_index().columns) == CORRELATION_COLUMNS
    assert out.loc["synflow", "spearman"] == pytest.approx(1.0)
    assert out.loc["synflow", "kendall"] == pytest.approx(1.0)
    assert out.loc["grasp", "spearman"] == pytest.approx(-1.0)
    assert out.loc["jacob_cov", "n"] == 4 and out.loc["jacob_cov", "n_nan"] == 1
    assert out.loc["jacob_cov", "kendall"] == pytest.approx(1.0)


def test_correlations_need_one_accuracy_per_arch() -> None:
    with pytest.raises(ValueError, match="one value per arch_index"):
        proxy_correlations(_table({"snip": [1.0, 2.0, 3.0]}), np.array([1.0, 2.0]))
