"""The NB-101 table seen from an NB-1Shot1 space: genotype lookups, space-restricted statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from balenas.benchmarks import nb101
from balenas.benchmarks.nb1shot1 import nb1shot1_loader
from balenas.spaces.nb1shot1 import SPACE_CLASSES


def test_space_view_restricts_population_to_the_space(tmp_path: Path) -> None:
    space = SPACE_CLASSES["nb1shot1-s1"]()
    gen = torch.Generator().manual_seed(5)
    inside = [space.sample(gen) for _ in range(2)]
    rows = []
    for i, (matrix, ops) in enumerate([(g.matrix, g.ops) for g in inside] + [
        ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ("input", nb101.CONV3X3, "output"))  # not a space-1 cell
    ]):
        pruned = nb101.prune(matrix, ops)
        row = dict(hash=nb101.module_hash(*pruned), adjacency=nb101.matrix_to_bits(pruned[0]), ops=",".join(pruned[1]), params=1)
        row.update({c: 0.8 + 0.05 * i for c in nb101.VALID_COLS + nb101.TEST_COLS})
        row["train_time"] = 1.0
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(nb101.COLUMNS))
    frame.attrs["source_sha256"] = "ab" * 32
    path = tmp_path / "nb101.csv"
    nb101.write_nb101_table(frame, path)
    bench = nb1shot1_loader("nb1shot1-s1")(path)
    assert bench.lookup(inside[1], "valid_accuracy") == pytest.approx(0.85)
    from balenas.benchmarks import BENCHMARKS, Benchmark
    from balenas.benchmarks.nb201 import IncompleteColumnError

    assert isinstance(bench, Benchmark) and set(BENCHMARKS.keys()) >= {"nb1shot1-s1", "nb1shot1-s2", "nb1shot1-s3"}
    hit = bench.lookup_genotype(space.to_string(inside[0]))
    assert hit.values["valid_error"] == pytest.approx(0.2) and not hit.missing
    with pytest.raises(IncompleteColumnError, match="holds 2 of the space's 2685"):
        bench.population_stats("valid_error")
    stats = bench.population_stats("valid_error", allow_partial=True)
    assert stats.n == 2 and not stats.complete  # the third graph is outside space 1; most of the space is absent
    assert stats.mean == pytest.approx(np.mean([0.2, 0.15]))
    assert bench.optimum("valid_error", allow_partial=True).value == pytest.approx(0.15)
    assert bench.provenance()["space"] == "nb1shot1-s1"
    with pytest.raises(ValueError, match="unknown"):
        nb1shot1_loader("nb1shot1-s9")
