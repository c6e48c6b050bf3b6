"""Figure-1 stage: histories of several runs -> per-epoch CSV + figure; lookups on and off; bad files fail."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from balenas.benchmarks import nb101
from balenas.benchmarks.nb201 import BenchmarkFileError
from balenas.benchmarks.settings import BenchmarkConfigError
from balenas.spaces.nb1shot1 import SPACE_CLASSES
from balenas.stages.fig1_nb1shot1 import fig1_outputs, fig1_stage, lookup_state

SPACE = "nb1shot1-s1"


def _runs(tmp_path: Path):
    space = SPACE_CLASSES[SPACE]()
    gen = torch.Generator().manual_seed(1)
    genotypes = [space.sample(gen) for _ in range(2)]
    runs, paths = [], []
    for i, (method, order) in enumerate([("darts", 1), ("balenas", 2)]):
        p = tmp_path / f"h{i}.csv"
        pd.DataFrame({"epoch": [1, 2], "genotype": [space.to_string(g) for g in genotypes],
                      "train_loss": [1.0, 0.5]}).to_csv(p, index=False)
        runs.append({"space": SPACE, "dataset": "digits", "method": method, "order": order, "seed": 0})
        paths.append(p)
    return space, genotypes, runs, paths


def test_stage_writes_the_declared_files_with_lookups_on_and_off(tmp_path: Path) -> None:
    space, genotypes, runs, paths = _runs(tmp_path)
    pruned = nb101.prune(genotypes[0].matrix, genotypes[0].ops)
    row = dict(hash=nb101.module_hash(*pruned), adjacency=nb101.matrix_to_bits(pruned[0]), ops=",".join(pruned[1]), params=5)
    row.update({c: 0.93 for c in nb101.VALID_COLS}, **{c: 0.92 for c in nb101.TEST_COLS}, train_time=1.0)
    frame = pd.DataFrame([row], columns=list(nb101.COLUMNS))
    frame.attrs["source_sha256"] = "cd" * 32
    table = tmp_path / "nb101.csv"
    nb101.write_nb101_table(frame, table)
    path, reason = lookup_state(str(table))
    assert path == str(table) and reason == ""
    out = fig1_outputs(str(tmp_path / "results"), SPACE, "digits")
    errors = fig1_stage(paths, runs, SPACE, path, reason, out)
    assert all(Path(p).exists() for p in out.values())
    assert set(out) == {"png", "pdf", "csv"}
    first = errors[errors["epoch"] == 1]
    assert first["valid_error"].round(6).tolist() == [0.07, 0.07] and (first["lookup"] == "ok").all()
    assert (errors[errors["epoch"] == 2]["lookup"] == "arch not in table").all()
    off_path, off_reason = lookup_state(None)
    off = fig1_stage(paths, runs, SPACE, off_path, off_reason, out)
    assert off["lookup"].str.startswith("off: benchmarks.nb101 is null").all()
    assert lookup_state(str(tmp_path / "nope.csv"))[1].endswith("does not exist")
    bad = tmp_path / "bad.tfrecord"
    bad.write_bytes(b"\x00" * 20)
    with pytest.raises(BenchmarkFileError, match="bad.tfrecord"):
        lookup_state(str(bad))


def test_an_absent_nb101_file_fails_at_parse_time_when_if_missing_is_error(tmp_path: Path) -> None:
    absent = str(tmp_path / "nasbench_only108.tfrecord")
    assert lookup_state(absent, "skip") == (None, f"benchmarks.nb101 file {absent} does not exist")
    with pytest.raises(BenchmarkConfigError, match=r"benchmarks.nb101: .*nasbench_only108.tfrecord does not exist"):
        lookup_state(absent, "error")
    assert lookup_state(None, "error")[0] is None  # null is the user's choice: lookups off, no error
    with pytest.raises(BenchmarkConfigError, match="benchmarks.if_missing"):
        lookup_state(None, "ignore")
