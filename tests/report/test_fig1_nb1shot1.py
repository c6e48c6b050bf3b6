"""Figure 1 (NB-1Shot1): per-epoch lookups of derived genotypes, regret, and the lookups-off case."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from balenas.benchmarks import nb101
from balenas.report.fig1_nb1shot1 import FIG1_COLUMNS, epoch_errors, write_fig1
from balenas.spaces.nb1shot1 import SPACE_CLASSES

SPACE = "nb1shot1-s2"


def _histories(space) -> tuple[pd.DataFrame, list]:
    gen = torch.Generator().manual_seed(0)
    genotypes = [space.sample(gen) for _ in range(3)]
    rows = [
        dict(method=m, order=o, seed=s, epoch=e, genotype=space.to_string(genotypes[(e + s) % 2]))
        for m in ("darts", "balenas") for o in (1, 2) for s in (0, 1) for e in (1, 2)
    ]
    rows.append(dict(method="darts", order=1, seed=2, epoch=1, genotype=space.to_string(genotypes[2])))
    return pd.DataFrame(rows), genotypes


def _table(space, genotypes) -> nb101.NB101Table:
    rows = []
    for i, g in enumerate(genotypes[:2]):
        row = dict(hash=space.nb101_hash(g), adjacency=nb101.matrix_to_bits(g.matrix), ops=",".join(g.ops), params=1)
        row.update({c: 0.90 + 0.01 * i for c in nb101.VALID_COLS})
        row.update({c: 0.89 + 0.01 * i for c in nb101.TEST_COLS})
        row["train_time"] = 1.0
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(nb101.COLUMNS))
    return nb101.NB101Table(frame.set_index("hash", drop=False), "<test>", "x", "y")


def test_epoch_errors_look_up_every_epoch_and_compute_regret() -> None:
    space = SPACE_CLASSES[SPACE]()
    histories, genotypes = _histories(space)
    errors = epoch_errors(histories, SPACE, _table(space, genotypes))
    assert tuple(errors.columns) == FIG1_COLUMNS and len(errors) == len(histories)
    first = errors[errors["genotype"] == space.to_string(genotypes[0])]
    assert np.allclose(first["valid_error"], 0.10) and np.allclose(first["test_error"], 0.11)
    assert np.allclose(first["valid_regret"], 0.10 - 0.051582515239715576)
    absent = errors[errors["seed"] == 2]
    assert absent["lookup"].tolist() == ["arch not in table"] and absent["valid_error"].isna().all()


def test_figure_and_csv_are_written_and_say_when_lookups_are_off(tmp_path: Path) -> None:
    space = SPACE_CLASSES[SPACE]()
    histories, genotypes = _histories(space)
    off = epoch_errors(histories, SPACE, None, off_reason="benchmarks.nb1shot1-s2 is null")
    assert off["lookup"].str.contains("off: benchmarks.nb1shot1-s2 is null").all()
    assert off["nb101_hash"].str.fullmatch(r"[0-9a-f]{32}").all()  # hashes still recorded
    paths = [tmp_path / n for n in ("fig1.png", "fig1.pdf", "fig1.csv")]
    write_fig1(off, SPACE, *paths)
    assert all(p.stat().st_size > 0 for p in paths)
    back = pd.read_csv(paths[2])
    assert back["lookup"].iloc[0].startswith("off") and len(back) == len(histories)
    with pytest.raises(ValueError, match="genotype"):
        epoch_errors(histories.drop(columns="genotype"), SPACE, None)
