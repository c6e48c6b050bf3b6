"""The experiment sheet: what runs (``experiments:`` in config), validated like a sample sheet.

One row per (space, dataset, method)::

    experiments:
      - {space: nb201, dataset: digits, method: darts, orders: [1, 2], seeds: [0, 1]}
      - {space: nb201, dataset: digits, method: balenas, orders: [1, 2], seeds: [0, 1], selectors: [tf, uniform]}

``search`` (optional) is merged over ``search:`` for the row's runs (e.g. fewer epochs for a baseline in a
tiny config). ``selectors`` (optional; default ``selection.selectors``) are the selections run on the row: ``tf`` draws
from each of the row's search runs, ``uniform`` (the zero-cost baseline) runs once per (space, dataset)
that any row asks for it. ``experiments:`` may also name a TSV file with the columns ``space dataset
method orders seeds [selectors]`` (lists comma-separated). Rows are checked against the registries
(space, method, the method's gradient orders, selectors) and the ``data:`` entries; a problem names the
row and the key. Nothing here imports plotting or report code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROW_KEYS: tuple[str, ...] = ("space", "dataset", "method", "orders", "seeds")
OPTIONAL_KEYS: tuple[str, ...] = ("selectors", "search")


class SheetError(ValueError):
    """A problem with the experiment sheet; the message names the row and the key."""


@dataclass(frozen=True)
class Experiment:
    """One row of the sheet."""

    space: str
    dataset: str
    method: str
    orders: tuple[int, ...]
    seeds: tuple[int, ...]
    selectors: tuple[str, ...] | None = None  # None: selection.selectors
    search: Mapping[str, Any] | None = None  # merged over search: (and space_settings.<space>.search)

    def runs(self) -> list[Run]:
        return [Run(self.space, self.dataset, self.method, o, s) for o in self.orders for s in self.seeds]


@dataclass(frozen=True, order=True)
class Run:
    """One search run (the search stage's path wildcards)."""

    space: str
    dataset: str
    method: str
    order: int
    seed: int

    @property
    def path(self) -> str:
        return f"{self.space}/{self.dataset}/{self.method}/order-{self.order}/seed-{self.seed}"

    def as_dict(self) -> dict[str, Any]:
        return {"space": self.space, "dataset": self.dataset, "method": self.method, "order": self.order,
                "seed": self.seed}


def _int_list(value: Any, where: str) -> tuple[int, ...]:
    if isinstance(value, str):
        value = [v for v in value.replace(" ", "").split(",") if v]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise SheetError(f"{where}: expected a non-empty list of integers, got {value!r}")
    out = []
    for v in value:
        try:
            iv = int(v)
        except (TypeError, ValueError):
            raise SheetError(f"{where}: {v!r} is not an integer") from None
        if isinstance(v, bool) or iv != float(v) or iv < 0:
            raise SheetError(f"{where}: {v!r} is not a non-negative integer")
        out.append(iv)
    if len(set(out)) != len(out):
        raise SheetError(f"{where}: repeated entries in {out}")
    return tuple(out)


def _name_list(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v for v in value.replace(" ", "").split(",") if v]
    if not isinstance(value, (list, tuple)):
        raise SheetError(f"{where}: expected a list of names, got {value!r}")
    return tuple(str(v) for v in value)


def read_sheet(block: Any, base: Path | None = None) -> list[dict[str, Any]]:
    """The raw rows of ``experiments:`` (an inline list, or a TSV path relative to ``base``)."""
    if isinstance(block, str):
        import pandas as pd

        path = Path(block) if base is None or Path(block).is_absolute() else base / block
        if not path.is_file():
            raise SheetError(f"experiments: sheet file {path} not found")
        frame = pd.read_csv(path, sep="\t", dtype=str, comment="#").fillna("")
        missing = [k for k in ROW_KEYS if k not in frame.columns]
        if missing:
            raise SheetError(f"experiments: {path} lacks column(s) {missing}; expected {list(ROW_KEYS)}")
        return [{k: v for k, v in row.items() if v != "" or k in ROW_KEYS} for row in frame.to_dict("records")]
    if not isinstance(block, list) or not block:
        raise SheetError("experiments: must be a non-empty list of rows (or the path of a TSV sheet)")
    return [dict(row) if isinstance(row, Mapping) else row for row in block]


def parse_sheet(rows: Sequence[Any]) -> list[Experiment]:
    """Rows -> experiments, checking each row's keys and list values (not the registries)."""
    out: list[Experiment] = []
    for i, row in enumerate(rows):
        where = f"experiments[{i}]"
        if not isinstance(row, Mapping):
            raise SheetError(f"{where}: expected a mapping with keys {list(ROW_KEYS)}, got {row!r}")
        missing = [k for k in ROW_KEYS if k not in row]
        unknown = sorted(set(row) - set(ROW_KEYS) - set(OPTIONAL_KEYS))
        if missing or unknown:
            raise SheetError(f"{where}: missing keys {missing}, unknown keys {unknown}; expected {list(ROW_KEYS)} "
                             f"and optionally {list(OPTIONAL_KEYS)}")
        selectors = row.get("selectors")
        search = row.get("search")
        if search is not None and not isinstance(search, Mapping):
            raise SheetError(f"{where}.search: expected a mapping of search: keys, got {search!r}")
        out.append(
            Experiment(
                space=str(row["space"]),
                dataset=str(row["dataset"]),
                method=str(row["method"]),
                orders=_int_list(row["orders"], f"{where}.orders"),
                seeds=_int_list(row["seeds"], f"{where}.seeds"),
                selectors=None if selectors is None else _name_list(selectors, f"{where}.selectors"),
                search=None if search is None else dict(search),
            )
        )
    keys = [(e.space, e.dataset, e.method) for e in out]
    dups = sorted({k for k in keys if keys.count(k) > 1})
    if dups:
        raise SheetError(f"experiments: (space, dataset, method) {dups} appear in more than one row")
    return out


def check_sheet(experiments: Iterable[Experiment], spaces: Any, methods: Any, selectors: Any,
                datasets: Iterable[str]) -> None:
    """Names against the registries (spaces, methods and their orders, selectors) and ``data:``."""
    datasets = set(datasets)
    for i, e in enumerate(experiments):
        where = f"experiments[{i}]"
        if e.space not in spaces:
            raise SheetError(f"{where}.space: unknown space {e.space!r}; valid: {', '.join(spaces.keys())}")
        if e.method not in methods:
            raise SheetError(f"{where}.method: unknown method {e.method!r}; valid: {', '.join(methods.keys())}")
        allowed = methods.get(e.method).orders
        bad = [o for o in e.orders if o not in allowed]
        if bad:
            raise SheetError(f"{where}.orders: method {e.method} defines orders {list(allowed)}, not {bad}")
        if e.dataset not in datasets:
            raise SheetError(f"{where}.dataset: {e.dataset!r} has no entry under data: (defined: {sorted(datasets)})")
        for name in e.selectors or ():
            if name not in selectors:
                raise SheetError(f"{where}.selectors: unknown selector {name!r}; valid: {', '.join(selectors.keys())}")


#: Parsed sheets by :func:`_sheet_key`: planning asks for the sheet hundreds of times (every input
#: function that merges a row's search block), and parsing it each time cost a tenth of a second.
_PARSED: dict[str, tuple[Experiment, ...]] = {}


def _sheet_key(block: Any, base: Path | None) -> str | None:
    """What the parsed sheet depends on: the inline rows, or the TSV file's path, size and mtime (None: a
    block that cannot be keyed, parsed each time so its error is raised each time)."""
    try:
        if isinstance(block, str):
            path = Path(block) if base is None or Path(block).is_absolute() else base / block
            st = path.stat()
            return json.dumps(["tsv", str(path.resolve()), st.st_size, st.st_mtime_ns])
        return json.dumps(["rows", block], sort_keys=True)
    except (OSError, TypeError, ValueError):
        return None


def experiments_of(config: Mapping[str, Any], base: Path | None = None) -> list[Experiment]:
    """The sheet's experiments, in row order (parsed once per distinct sheet; the rows are frozen)."""
    block = config.get("experiments")
    key = _sheet_key(block, base)
    if key is None or key not in _PARSED:
        parsed = tuple(parse_sheet(read_sheet(block, base)))
        if key is None:
            return list(parsed)
        _PARSED[key] = parsed
    return list(_PARSED[key])


def search_runs(experiments: Iterable[Experiment]) -> list[Run]:
    """Every search run of the sheet, in sheet order."""
    return [run for e in experiments for run in e.runs()]


def row_selectors(e: Experiment, config: Mapping[str, Any]) -> tuple[str, ...]:
    if e.selectors is not None:
        return e.selectors
    return tuple((config.get("selection") or {}).get("selectors") or ())


def space_dataset_pairs(experiments: Iterable[Experiment]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for e in experiments:
        if (e.space, e.dataset) not in out:
            out.append((e.space, e.dataset))
    return out


__all__ = [
    "Experiment",
    "Run",
    "SheetError",
    "check_sheet",
    "experiments_of",
    "parse_sheet",
    "read_sheet",
    "row_selectors",
    "search_runs",
    "space_dataset_pairs",
]
