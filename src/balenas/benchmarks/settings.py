"""Which benchmark table the pipeline reads, and which runs fill Table 1 -- decided once, at parse time.

``benchmarks:`` in the config::

    benchmarks:
      nb201: ../shared/data/nb201/nb201_groundtruth.csv   # compact CSV, official file/dir, or null
      if_missing: skip                                     # skip | error: what an ABSENT path means
      allow_partial: false                                 # convert a source that lacks architectures

* ``nb201: null`` turns lookups off.
* A path that does not exist turns lookups off with ``if_missing: skip`` (the reason is logged when the
  workflow is parsed and printed in every benchmark table) and fails before any job with
  ``if_missing: error``.
* A path that exists but is corrupt or of the wrong format ALWAYS fails before any job, with a message naming
  the file and what was expected (:func:`balenas.benchmarks.convert.validate_benchmark_path`).
* A compact CSV is read as is; an official file or directory is converted once, by the rule
  ``convert_benchmark``, into :data:`CONVERTED_TABLE`, and every later stage reads only that compact table.

``report.table1:`` names the search dataset whose runs fill Table 1 and the selection configurations of its
BaLeNAS-TF and Zero-cost NAS rows (:class:`Table1Choice`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from balenas.benchmarks.convert import validate_benchmark_path
from balenas.experiments import experiments_of
from balenas.benchmarks.nb201 import BenchmarkFileError

IF_MISSING: tuple[str, ...] = ("skip", "error")
CONVERTED_TABLE = "results/benchmark/nb201_table.csv"
COMPACT_KIND = "compact-csv"


class BenchmarkConfigError(ValueError):
    """A ``benchmarks:`` or ``report.table1:`` problem; the message names the key (and the file)."""


@dataclass(frozen=True)
class BenchmarkSettings:
    """The resolved ``benchmarks:`` block.

    ``kind`` is the recognised source kind (``compact-csv``, ``nats-tss-dir``, ...) when lookups are on;
    ``off_reason`` is empty when lookups are on and says why they are off otherwise.
    """

    nb201: str | None
    if_missing: str = "skip"
    allow_partial: bool = False
    kind: str | None = None
    off_reason: str = ""

    @property
    def enabled(self) -> bool:
        return not self.off_reason

    @property
    def needs_conversion(self) -> bool:
        return self.enabled and self.kind != COMPACT_KIND

    def table_path(self, converted: str = CONVERTED_TABLE) -> str | None:
        """The compact table every lookup reads (``None`` when lookups are off)."""
        if not self.enabled:
            return None
        return converted if self.needs_conversion else self.nb201

    def off_message(self) -> str:
        return f"benchmark lookups are off: {self.off_reason}" if self.off_reason else ""


_RESOLVED: dict[tuple[Any, ...], BenchmarkSettings] = {}


def _cache_key(block: Mapping[str, Any]) -> tuple[Any, ...]:
    path = block.get("nb201")
    stat = Path(path).stat() if path is not None and Path(path).exists() else None
    mtime, size = (stat.st_mtime_ns, stat.st_size) if stat else (None, None)
    items = (path, block.get("if_missing"), block.get("allow_partial"))
    return (*items, str(Path(path).resolve()) if path is not None else None, mtime, size)


def resolve_benchmarks(block: Mapping[str, Any] | None) -> BenchmarkSettings:
    """Check ``benchmarks:`` (paths relative to the working directory) and decide whether lookups are on.

    A successful result is remembered per (settings, absolute path, file mtime and size), so the several
    callers at parse time validate a large table once.
    """
    block = dict(block or {})
    key = _cache_key(block)
    if key not in _RESOLVED:
        _RESOLVED[key] = _resolve(block)
    return _RESOLVED[key]


def _resolve(block: dict[str, Any]) -> BenchmarkSettings:
    path = block.get("nb201")
    if_missing = str(block.get("if_missing", "skip"))
    allow_partial = bool(block.get("allow_partial", False))
    if if_missing not in IF_MISSING:
        raise BenchmarkConfigError(
            f"benchmarks.if_missing: {if_missing!r} is not one of {', '.join(IF_MISSING)}"
        )
    if path is None:
        return BenchmarkSettings(None, if_missing, allow_partial, off_reason="benchmarks.nb201 is null")
    path = str(path)
    if not Path(path).exists():
        if if_missing == "error":
            raise BenchmarkConfigError(
                f"benchmarks.nb201: {path} not found (benchmarks.if_missing: error); expected a compact "
                "NAS-Bench-201 CSV, a NATS-Bench topology archive or a NAS-Bench-201 .pth file"
            )
        return BenchmarkSettings(path, if_missing, allow_partial, off_reason=f"{path} not found")
    try:
        source = validate_benchmark_path(path)
    except BenchmarkFileError as err:
        raise BenchmarkConfigError(f"benchmarks.nb201: {err}") from None
    return BenchmarkSettings(path, if_missing, allow_partial, kind=source.kind)


# --- which runs fill Table 1 ----------------------------------------------------------------------
@dataclass(frozen=True)
class SelectionChoice:
    """One selection configuration: proxy and K (and, for TF, the search order it sampled from)."""

    proxy: str
    k: int
    order: int | None = None

    def describe(self) -> str:
        order = f", order {self.order}" if self.order is not None else ""
        return f"proxy {self.proxy}, K={self.k}{order}"


@dataclass(frozen=True)
class Table1Choice:
    """``report.table1``: the search dataset of Table 1, and which TF / zero-cost selection fills its rows."""

    search_dataset: str
    tf: SelectionChoice
    zero_cost: SelectionChoice

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Table1Choice:
        block = dict(config.get("report", {}).get("table1", {}) or {})
        datasets = sheet_datasets(config, "nb201")
        dataset = block.get("search_dataset") or (datasets[0] if datasets else "")
        tf = dict(block.get("tf", {}) or {})
        zc = dict(block.get("zero_cost", {}) or {})
        try:
            return cls(
                search_dataset=str(dataset),
                tf=SelectionChoice(str(tf["proxy"]), int(tf["k"]), int(tf.get("order", 1))),
                zero_cost=SelectionChoice(str(zc["proxy"]), int(zc["k"])),
            )
        except KeyError as err:
            raise BenchmarkConfigError(f"report.table1: missing key {err}") from None


def check_table1_choice(config: Mapping[str, Any], proxies: Any) -> Table1Choice:
    """``report.table1`` names a configured search dataset and registered proxies."""
    choice = Table1Choice.from_config(config)
    if choice.search_dataset not in sheet_datasets(config, "nb201"):
        raise BenchmarkConfigError(
            f"report.table1.search_dataset: {choice.search_dataset!r} is not one of the datasets the experiment "
            f"sheet searches the nb201 space on {sheet_datasets(config, 'nb201')}"
        )
    for key, sel in (("tf", choice.tf), ("zero_cost", choice.zero_cost)):
        if sel.proxy not in proxies:
            raise BenchmarkConfigError(
                f"report.table1.{key}.proxy: unknown proxy {sel.proxy!r}; valid: {', '.join(sorted(proxies))}"
            )
    return choice


def table1_choice_warnings(config: Mapping[str, Any]) -> list[str]:
    """Table-1 choices that no configured selection job produces (their rows will read 'not run')."""
    choice = Table1Choice.from_config(config)
    sel = dict(config.get("selection", {}) or {})
    selectors, ks, proxies = sel.get("selectors", []), sel.get("ks", []), sel.get("proxies", [])
    out = []
    for key, chosen, selector in (("tf", choice.tf, "tf"), ("zero_cost", choice.zero_cost, "uniform")):
        if selector not in selectors or chosen.k not in ks or chosen.proxy not in proxies:
            out.append(
                f"report.table1.{key} ({chosen.describe()}) is not among the configured selections "
                f"(selection: selectors {selectors}, ks {ks}, proxies {proxies}): its Table-1 row will read "
                "'not run'"
            )
    orders = sheet_orders(config, "nb201", "balenas")
    if choice.tf.order not in orders:
        out.append(
            f"report.table1.tf.order {choice.tf.order} is not among the nb201 balenas orders {orders} of the "
            "experiment sheet: the BaLeNAS-TF row will read 'not run'"
        )
    return out


def report_paths(results: str, datasets: Sequence[str], lookups_on: bool) -> dict[str, str]:
    """Every file the benchmark report writes (the rule's named outputs)."""
    paths = {
        f"{name}_{ext}": f"{results}/tables/{name}_nb201.{ext}"
        for name in ("table1", "table2")
        for ext in ("csv", "md", "tex")
    }
    if lookups_on:
        for d in datasets:
            stem = f"benchmark_acc_per_epoch_nb201_{d}"
            paths[f"curve_{d}_png"] = f"{results}/figures/{stem}.png"
            paths[f"curve_{d}_pdf"] = f"{results}/figures/{stem}.pdf"
            paths[f"curve_{d}_csv"] = f"{results}/tables/{stem}.csv"
    return paths


def sheet_datasets(config: Mapping[str, Any], space: str) -> list[str]:
    """The datasets the experiment sheet searches ``space`` on, in sheet order."""
    out: list[str] = []
    for e in experiments_of(config):
        if e.space == space and e.dataset not in out:
            out.append(e.dataset)
    return out


def sheet_orders(config: Mapping[str, Any], space: str, method: str) -> list[int]:
    return sorted({o for e in experiments_of(config) if e.space == space and e.method == method for o in e.orders})
