"""Which search runs and selections fill Table 1's rows, and why a row has none.

The benchmark report stage reads the lookup (or search/selection) records into two frames, ``runs`` (one
row per search run: ``space, dataset, method, order, seed, genotype`` and the Table-1 metrics) and ``sel``
(one row per selected architecture: ``space, dataset, method, order, selector, proxy, k, seed, genotype``
and the metrics), and calls :func:`build_benchmark_table1`. Rows come from the registries
(:func:`balenas.report.table1.table1_rows`): a method row per (method, order) of every registered method,
and the selector rows of :func:`balenas.report.labels.selector_rows`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from balenas.archopt.gradients import GRADIENTS
from balenas.benchmarks.settings import SelectionChoice, Table1Choice
from balenas.experiments import experiments_of
from balenas.methods import METHODS
from balenas.report.labels import ORDER_NAMES, method_orders, order_name, paper_key, selector_rows
from balenas.report.paper_numbers import PaperTable
from balenas.report.table1 import LOOKUP_COLUMNS, METRICS, Table1, build_table1, reference_rows

TABLE1_SPACE = "nb201"


def selection_choice(choice: Table1Choice, selector: str) -> SelectionChoice:
    """The ``report.table1`` block's choice for a selector row (``tf`` or ``uniform``, the zero-cost one)."""
    choices = {"tf": choice.tf, "uniform": choice.zero_cost}
    if selector not in choices:
        raise ValueError(f"report.table1 has no choice for selector {selector!r}; known: {sorted(choices)}")
    return choices[selector]


def _is_order(value: Any, order: int) -> bool:
    try:
        return int(value) == order
    except (TypeError, ValueError):
        return False


def table1_lookups(runs: pd.DataFrame, sel: pd.DataFrame, choice: Table1Choice) -> pd.DataFrame:
    """The tidy lookup frame of :mod:`balenas.report.table1` for the runs that fill its rows."""
    searched = runs[(runs["space"] == TABLE1_SPACE) & (runs["dataset"] == choice.search_dataset)]
    # methods whose result is the search's argmax; the others' (Method.final_selector) come from selections
    wanted = {(m, o) for m in METHODS.keys() if METHODS.get(m).final_selector is None for o in method_orders(m)}
    keep = pd.Series([(m, o) in wanted for m, o in zip(searched["method"], pd.to_numeric(searched["order"]))],
                     index=searched.index, dtype=bool)
    searched = searched[keep]
    frames = [searched.assign(order=[order_name(o) for o in searched["order"]])]
    on_dataset = sel[(sel["space"] == TABLE1_SPACE) & (sel["dataset"] == choice.search_dataset)]
    for name in METHODS.keys():
        final = METHODS.get(name).final_selector
        picked = on_dataset[(on_dataset["method"] == name) & (on_dataset["selector"] == final)] if final else None
        if picked is not None and len(picked):
            picked = picked[pd.to_numeric(picked["k"]) == pd.to_numeric(picked["k"]).max()]  # the largest K run
            frames.append(picked.assign(order=[order_name(o) for o in picked["order"]]))
    for row in selector_rows():
        c = selection_choice(choice, row.selector)
        mask = (on_dataset["selector"] == row.selector) & (on_dataset["proxy"] == c.proxy) & (on_dataset["k"] == c.k)
        if row.method:
            order = pd.Series([_is_order(o, c.order or 1) for o in on_dataset["order"]], index=on_dataset.index,
                              dtype=bool)
            mask &= (on_dataset["method"] == row.method) & order
        frames.append(on_dataset[mask].assign(method=row.key, order=""))
    wide = pd.concat([f[["method", "order", "seed", "genotype", *METRICS]] for f in frames], ignore_index=True)
    long = wide.melt(id_vars=["method", "order", "seed", "genotype"], value_vars=list(METRICS), var_name="metric")
    return long.rename(columns={"genotype": "arch"})[list(LOOKUP_COLUMNS)]


def run_rows(tidy: pd.DataFrame) -> dict[str, int]:
    """Number of runs behind each Table-1 row key in ``tidy`` (:func:`table1_lookups`)."""
    counts = tidy.drop_duplicates(["method", "order", "seed"]).groupby(["method", "order"]).size()
    order_of = {name: order for order, name in ORDER_NAMES.items()}
    return {(paper_key(m, order_of[o]) if o else m): int(n) for (m, o), n in counts.items()}


def row_status(configured: Mapping[str, Any], choice: Table1Choice) -> dict[str, str]:
    """Why a Table-1 row has no runs ("not run: <reason>"), for every registry row; what runs is the
    experiment sheet's rows on the Table-1 space and search dataset."""
    sheet = [e for e in experiments_of(configured) if e.space == TABLE1_SPACE and e.dataset == choice.search_dataset]
    status: dict[str, str] = {}
    for method in METHODS.keys():
        rows = [e for e in sheet if e.method == method]
        for order in method_orders(method):
            key = paper_key(method, order)
            if str(order) not in GRADIENTS:
                status[key] = f"not run: no order-{order} gradient implemented"
            elif not rows:
                status[key] = f"not run: {method} not in the experiment sheet"
            elif not any(order in e.orders for e in rows):
                status[key] = f"not run: order {order} not in the sheet's orders"
            else:
                status[key] = "not run"
    for row in selector_rows():
        status[row.key] = f"not run: no {row.label} selection with {selection_choice(choice, row.selector).describe()}"
    return status


def table1_notes(choice: Table1Choice, source: str | None, provenance: Mapping[str, Any] | None,
                 n_archs: int = 0, off_message: str = "") -> list[str]:
    """Notes under Table 1: where its rows come from and which benchmark table was consulted."""
    notes = [off_message] if off_message else []
    notes += [
        f"Method rows: NAS-Bench-201 lookups of the architectures found by searches on "
        f"'{choice.search_dataset}' (report.table1.search_dataset); the benchmark's accuracies are of "
        "networks trained on CIFAR-10 / CIFAR-100 / ImageNet16-120, whatever data the search used.",
        f"BaLeNAS-TF: best of K samples of the BaLeNAS distribution by a proxy ({choice.tf.describe()}, "
        f"report.table1.tf); Zero-cost NAS: best of K uniform samples ({choice.zero_cost.describe()}, "
        "report.table1.zero_cost).",
    ]
    finals = [f"{METHODS.get(m).label} ({METHODS.get(m).final_selector})" for m in METHODS.keys()
              if METHODS.get(m).final_selector]
    if finals:
        notes.append("Rows whose result is picked by evaluating candidates with the trained supernet (largest K "
                     f"of selection.supernet.ks): {', '.join(finals)}; every other method row is the search's "
                     "argmax genotype.")
    if source is not None:
        converted = (provenance or {}).get("converted_from")
        notes.append(
            f"Benchmark table: {source} ({n_archs} of 15625 architectures)"
            + (f", converted from {converted['source']} (sha256 {converted['source_sha256']})" if converted else "")
            + "."
        )
    return notes


def build_benchmark_table1(
    runs: pd.DataFrame,
    sel: pd.DataFrame,
    table: Any | None,
    choice: Table1Choice,
    configured: Mapping[str, Any],
    off_message: str = "",
    reference: pd.DataFrame | None = None,
    *,
    provenance: Mapping[str, Any] | None = None,
    paper: PaperTable | None = None,
) -> Table1:
    """Table 1 from the search runs and selections; ``reference`` is :func:`reference_rows` of ``table``
    (computed here when not given; unused when lookups are off); ``paper`` the paper's Table 1."""
    status = row_status(configured, choice)
    lookups = table1_lookups(runs, sel, choice)
    counts = run_rows(lookups)
    notes = table1_notes(choice, table.source if table is not None else None, provenance,
                         len(table) if table is not None else 0, off_message)
    if table is None:
        for key, n in counts.items():
            status[key] = f"benchmark lookups are off ({n} run{'s' if n != 1 else ''})"
        empty = pd.DataFrame(columns=list(LOOKUP_COLUMNS))
        return build_table1(empty, status=status, notes=notes, paper=paper)
    status = {k: v for k, v in status.items() if k not in counts}
    return build_table1(
        lookups,
        reference=reference_rows(table) if reference is None else reference,
        status=status,
        benchmark_sha256=table.sha256,
        notes=notes,
        paper=paper,
    )
