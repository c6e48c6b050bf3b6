"""Stage for Figure 1 (NAS-Bench-1Shot1): per-epoch NB-101 errors of the derived genotypes of one space."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from balenas.benchmarks.settings import IF_MISSING, BenchmarkConfigError
from balenas.benchmarks.nb101 import COMPACT, load_nb101_table, validate_nb101_source


def fig1_outputs(results: str, space: str, dataset: str) -> dict[str, str]:
    """The files the Figure-1 job of ``space`` searched on ``dataset`` writes (one place for the rule and the
    writer; wildcards such as ``"{space}"`` pass through)."""
    stem = f"fig1_nb1shot1_{space}_{dataset}"
    return {
        "png": f"{results}/figures/{stem}.png",
        "pdf": f"{results}/figures/{stem}.pdf",
        "csv": f"{results}/tables/{stem}.csv",
    }


def lookup_state(path: str | None, if_missing: str = "skip") -> tuple[str | None, str]:
    """``(table path, "")`` when lookups are on, ``(None, reason)`` when off; a bad file raises naming it.

    ``if_missing`` is ``benchmarks.if_missing``: with ``error`` an absent file fails here, at parse time,
    instead of turning the lookups off (``null`` always means off: the user asked for no lookups).
    """
    if if_missing not in IF_MISSING:
        raise BenchmarkConfigError(f"benchmarks.if_missing must be one of {list(IF_MISSING)}, got {if_missing!r}")
    if path is None:
        return None, "benchmarks.nb101 is null (no NAS-Bench-101 table configured)"
    if not Path(path).exists():
        if if_missing == "error":
            raise BenchmarkConfigError(
                f"benchmarks.nb101: {path} does not exist (expected nasbench_only108.tfrecord, "
                "nasbench_full.tfrecord or a compact NAS-Bench-101 CSV; benchmarks.if_missing is error)")
        return None, f"benchmarks.nb101 file {path} does not exist"
    validate_nb101_source(path)
    return path, ""


def fig1_stage(
    histories: Sequence[str | Path],
    runs: Sequence[Mapping[str, object]],
    space: str,
    table: str | None,
    off_reason: str,
    outputs: Mapping[str, str],
) -> pd.DataFrame:
    """Concatenate the histories of ``runs`` (aligned), look their genotypes up, write CSV + figure."""
    # here, not at import: the workflow imports this module to plan (pyplot costs half a second)
    from balenas.report.fig1_nb1shot1 import epoch_errors, write_fig1

    frames = []
    for path, run in zip(histories, runs, strict=True):
        h = pd.read_csv(path)
        frames.append(h[["epoch", "genotype"]].assign(method=run["method"], order=run["order"], seed=run["seed"]))
    hist = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["epoch", "genotype", "method", "order", "seed"])
    if table is not None and validate_nb101_source(table) != COMPACT:
        raise ValueError(f"{table}: Figure 1 reads the compact NAS-Bench-101 table; convert the TFRecord first")
    bench = load_nb101_table(table) if table is not None else None
    errors = epoch_errors(hist, space, bench, off_reason)
    for p in outputs.values():
        Path(p).parent.mkdir(parents=True, exist_ok=True)
    write_fig1(errors, space, outputs["png"], outputs["pdf"], outputs["csv"])
    return errors
