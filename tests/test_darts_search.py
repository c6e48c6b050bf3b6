"""Both methods, both orders, through the search loop in the DARTS space (tiny shapes)."""

from __future__ import annotations

import pytest
import torch

from balenas.config import data_config, search_config
from balenas.data import ImageSet
from balenas.search import run_search
from balenas.spaces.darts import DartsGenotype
from tests.conftest import default_config


def _tiny(method: str, order: int) -> tuple:
    cfg = default_config()
    cfg["space_settings"]["darts"] = {"supernet": {"C": 2, "layers": 3}, "network": {"C": 2, "layers": 3}}
    cfg["search"].update(epochs=1, batch_size=4, hessian_every=0)
    cfg["data"]["digits"].update(input_size=None, augment=False)
    sc = search_config(cfg, "darts", "digits", method, order, 0)
    dc = data_config(cfg, "digits")
    g = torch.Generator().manual_seed(0)
    data = ImageSet(torch.randn(16, 1, 8, 8, generator=g), torch.randint(3, (16,), generator=g), 3)
    return sc, dc, data


@pytest.mark.parametrize("method", ["darts", "balenas"])
@pytest.mark.parametrize("order", [1, 2])
def test_darts_space_search_runs(method: str, order: int) -> None:
    sc, dc, data = _tiny(method, order)
    res = run_search(sc, data, dc, torch.device("cpu"))
    assert isinstance(res.genotype, DartsGenotype)
    assert res.genotype_str.startswith("Genotype(normal=[(")
    row = res.history.iloc[-1]
    assert 0 <= row["skip_count"] <= 8 and row["skip_ratio"] == row["skip_count"] / 8
    if order == 2:
        return
    again = run_search(sc, data, dc, torch.device("cpu"))  # same seed -> same result
    assert again.genotype_str == res.genotype_str
    assert all(torch.equal(a, b) for a, b in zip(res.dist.mean_alpha().values(), again.dist.mean_alpha().values()))
