"""The benchmark stage: official file -> compact table (once), and lookups of every searched and selected
architecture (the reports built from them are in :mod:`balenas.stages.benchmark_report`).

Files (see README and DESIGN.md):

``results/benchmark/nb201_table.csv`` (+ ``.provenance.json``)
    the compact table converted from an official file, only when ``benchmarks.nb201`` names one.
``results/benchmark/search/{space}/{dataset}/{method}/order-{order}/seed-{seed}/lookup.json``, ``epochs.csv``
    the argmax genotype of a search run, and the argmax genotype of every search epoch, looked up.
``results/benchmark/select/<the selection's path>/lookup.json``
    a selected architecture (TF or zero-cost), looked up.

Every lookup records the compact table's path, sha256 and (for a converted table) the source's checksum,
and lists missing values explicitly (``null`` in ``values``, a reason in ``missing``); nothing is substituted.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from balenas.benchmarks import (
    TABLE1_METRICS,
    Benchmark,
    NB201Table,
    convert_benchmark,
    load_nb201_table,
    write_compact_table,
)
from balenas.report.labels import RUN_KEYS
from balenas.runtime import atomic_path, environment_info, write_json

log = logging.getLogger(__name__)

METRICS: tuple[str, ...] = tuple(TABLE1_METRICS)
SELECTION_KEYS: tuple[str, ...] = (
    "space",
    "dataset",
    "method",
    "order",
    "seed",
    "selector",
    "proxy",
    "k",
    "genotype",
    "score",
    "n_distinct",
)


# --- conversion ----------------------------------------------------------------------------------
def convert_stage(source: str | Path, output: str | Path, allow_partial: bool = False) -> Path:
    """Convert an official NAS-Bench-201 / NATS-Bench source into the compact table (+ provenance)."""
    result = convert_benchmark(source, allow_partial=allow_partial)
    return write_compact_table(result, output)


def provenance_path(table_file: str | Path) -> Path:
    table_file = Path(table_file)
    return table_file.with_name(table_file.name + ".provenance.json")


def benchmark_record(table: NB201Table) -> dict[str, Any]:
    """What every lookup output records about the table it consulted."""
    record: dict[str, Any] = {
        "table": table.source,
        "sha256": table.sha256,
        "rows": len(table),
        "complete": table.is_complete,
    }
    prov = provenance_path(table.source)
    if prov.exists():
        meta = json.loads(prov.read_text())
        record["converted_from"] = {k: meta.get(k) for k in ("source", "source_kind", "source_sha256", "api")}
    return record


# --- lookups -------------------------------------------------------------------------------------
def lookup_genotype(table: Benchmark, genotype: str) -> dict[str, Any]:
    """The benchmark's named metrics of ``genotype``: ``index`` (the benchmark's key, None if absent),
    ``values`` (None when the table does not hold one) and ``missing`` (metric -> reason)."""
    found = table.lookup_genotype(genotype)
    return {
        "genotype": genotype,
        "index": found.key,
        "values": dict(found.values),
        "missing": dict(found.missing),
    }


def lookup_meta(table: NB201Table) -> dict[str, Any]:
    """What every lookup output records besides the lookup: the table, the metric keys, the environment.

    The same for every lookup of one table (it reads the provenance file and probes the environment), so
    :func:`lookup_stage` builds it once and passes it to each lookup.
    """
    return {
        "benchmark": benchmark_record(table),
        "metrics": {name: metric.key for name, metric in TABLE1_METRICS.items()},
        "environment": environment_info(torch.device("cpu")),
    }


def epoch_lookups(table: NB201Table, history: pd.DataFrame) -> pd.DataFrame:
    """One row per search epoch: epoch, genotype, index and the six metrics (NaN + ``missing`` reasons)."""
    if "genotype" not in history.columns:
        raise ValueError("history has no 'genotype' column (one argmax genotype per epoch is expected)")
    rows = []
    for epoch, genotype in zip(history["epoch"], history["genotype"]):
        found = lookup_genotype(table, str(genotype))
        rows.append(
            {
                "epoch": int(epoch),
                "genotype": genotype,
                "index": found["index"] if found["index"] is not None else -1,
                **{m: (np.nan if v is None else v) for m, v in found["values"].items()},
                "missing": ";".join(f"{m}:{r}" for m, r in found["missing"].items()),
            }
        )
    return pd.DataFrame(rows, columns=["epoch", "genotype", "index", *METRICS, "missing"])


def _table(table: NB201Table | str | Path) -> NB201Table:
    return table if isinstance(table, NB201Table) else load_nb201_table(table)


def lookup_search_stage(
    run: Mapping[str, Any],
    genotype_file: str | Path,
    history_file: str | Path,
    table: NB201Table | str | Path,
    outputs: Mapping[str, str | Path],
    meta: Mapping[str, Any] | None = None,
) -> None:
    """Look up a search run's final argmax genotype (``lookup.json``) and every epoch's (``epochs.csv``).

    ``meta`` is :func:`lookup_meta` of ``table`` (built here when not given).
    """
    table = _table(table)
    genotype = json.loads(Path(genotype_file).read_text())["genotype"]
    identity = {k: run[k] for k in RUN_KEYS}
    identity["order"], identity["seed"] = int(identity["order"]), int(identity["seed"])
    found = lookup_genotype(table, genotype)
    epochs = epoch_lookups(table, pd.read_csv(history_file))
    for key, reason in found["missing"].items():
        log.info("%s: %s missing (%s)", genotype, key, reason)
    with atomic_path(outputs["epochs"]) as tmp:
        epochs.to_csv(tmp, index=False)
    write_json(
        outputs["lookup"],
        {
            "stage": "lookup",
            "source": "search",
            "selector": "argmax",
            **identity,
            **found,
            **(lookup_meta(table) if meta is None else meta),
        },
    )
    log.info("looked up %s: %s", genotype, found["values"])


def lookup_selection_stage(
    selected_file: str | Path,
    table: NB201Table | str | Path,
    output: str | Path,
    meta: Mapping[str, Any] | None = None,
) -> None:
    """Look up one selected architecture (``selected.json`` of the selection stage).

    ``meta`` is :func:`lookup_meta` of ``table`` (built here when not given).
    """
    table = _table(table)
    selected = json.loads(Path(selected_file).read_text())
    absent = [k for k in ("genotype", "seed", "method") if k not in selected]
    if absent:
        raise ValueError(f"{selected_file}: no {absent} in the selection record")
    found = lookup_genotype(table, selected["genotype"])
    write_json(
        output,
        {
            **selected,
            "stage": "lookup",
            "source": "selection",
            "selected_file": str(selected_file),
            **found,
            **(lookup_meta(table) if meta is None else meta),
        },
    )
    log.info("looked up %s (%s): %s", selected["genotype"], selected_file, found["values"])


def lookup_stage(
    table_file: str | Path,
    runs: Sequence[Mapping[str, Any]],
    search_inputs: Mapping[str, Sequence[str | Path]],
    search_outputs: Mapping[str, Sequence[str | Path]],
    selected: Sequence[str | Path],
    selection_outputs: Sequence[str | Path],
) -> None:
    """Every lookup of the pipeline in one job (a lookup costs microseconds, a job seconds).

    ``runs[i]`` (its identity), ``search_inputs["genotype"][i]`` and ``["history"][i]`` give
    ``search_outputs["lookup"][i]`` and ``["epochs"][i]``; ``selected[j]`` gives ``selection_outputs[j]``.
    """
    lengths = {
        len(runs),
        *(len(v) for v in search_inputs.values()),
        *(len(v) for v in search_outputs.values()),
    }
    if len(lengths) != 1 or len(selected) != len(selection_outputs):
        raise ValueError(
            f"lookup inputs and outputs do not pair up: {len(runs)} runs, "
            f"{ {k: len(v) for k, v in {**search_inputs, **search_outputs}.items()} }, "
            f"{len(selected)} selections -> {len(selection_outputs)} outputs"
        )
    table = load_nb201_table(table_file)
    meta = lookup_meta(table)
    search = zip(
        runs,
        search_inputs["genotype"],
        search_inputs["history"],
        search_outputs["lookup"],
        search_outputs["epochs"],
        strict=True,
    )
    for run, genotype, history, lookup, epochs in search:
        lookup_search_stage(run, genotype, history, table, {"lookup": lookup, "epochs": epochs}, meta)
    for selected_file, output in zip(selected, selection_outputs, strict=True):
        lookup_selection_stage(selected_file, table, output, meta)
    log.info("%d search runs and %d selections looked up in %s", len(runs), len(selected), table.source)
