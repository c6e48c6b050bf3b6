"""The DARTS CNN genotype and its community text form.

A cell has two inputs (nodes 0 and 1: the outputs of the previous two cells) and ``steps`` intermediate
nodes (2 .. steps+1). Node ``i`` (counted from 0 among the intermediate nodes) sums two ops, each applied to
one earlier node, so a cell is ``2 * steps`` pairs ``(op, input)``, two per node in node order; the cell's
output concatenates the nodes listed in ``*_concat``. The text form is the one printed by the DARTS
reference and by every follow-up repository::

    Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5], reduce=[...], reduce_concat=[2, 3, 4, 5])

:func:`parse_genotype` reads that form (and ``range(a, b)`` for the concat lists, as several repositories
print it) through the syntax tree, never ``eval``; :func:`format_genotype` writes the canonical form above,
so that ``format(parse(t)) == t`` for every canonical ``t``.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DARTS_OPS: tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
"""The candidate-op vocabulary in the reference's order (the columns of the architecture parameters)."""

GENOTYPE_OPS: tuple[str, ...] = tuple(op for op in DARTS_OPS if op != "none")
"""Ops a derived genotype can hold (derivation never picks ``none``)."""

STEPS = 4
CELL_TYPES: tuple[str, ...] = ("normal", "reduce")
FIELDS: tuple[str, ...] = ("normal", "normal_concat", "reduce", "reduce_concat")

Cell = tuple[tuple[str, int], ...]


def _check_cell(kind: str, cell: Cell, concat: tuple[int, ...]) -> None:
    if len(cell) == 0 or len(cell) % 2:
        raise ValueError(f"DARTS genotype {kind!r}: expected 2 (op, input) pairs per node, got {len(cell)} pairs")
    steps = len(cell) // 2
    for k, pair in enumerate(cell):
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise ValueError(f"DARTS genotype {kind!r}[{k}]: expected an (op, input) pair, got {pair!r}")
        op, src = pair
        if op not in GENOTYPE_OPS:
            raise ValueError(
                f"DARTS genotype {kind!r}[{k}]: unknown op {op!r}; valid ops: {', '.join(GENOTYPE_OPS)}"
            )
        node = k // 2
        if not isinstance(src, int) or isinstance(src, bool) or not 0 <= src < node + 2:
            raise ValueError(
                f"DARTS genotype {kind!r}[{k}]: node {node + 2} can only take inputs 0..{node + 1}, got {src!r}"
            )
    bad = [c for c in concat if not isinstance(c, int) or isinstance(c, bool) or not 0 <= c < steps + 2]
    if not concat or bad or len(set(concat)) != len(concat):
        raise ValueError(
            f"DARTS genotype {kind!r}_concat: expected distinct node indices in 0..{steps + 1}, got {list(concat)}"
        )


@dataclass(frozen=True)
class DartsGenotype:
    """A normal and a reduction cell; hashable, compared field by field (pair order matters)."""

    normal: Cell
    normal_concat: tuple[int, ...]
    reduce: Cell
    reduce_concat: tuple[int, ...]
    space: str = "darts"

    def __post_init__(self) -> None:
        # Accept lists (as parsed or loaded from JSON) and store tuples, so the genotype stays hashable.
        for name in FIELDS:
            value = getattr(self, name)
            if name.endswith("_concat"):
                fixed: Any = tuple(value)
            else:
                fixed = tuple(tuple(p) if isinstance(p, list) else p for p in value)
            object.__setattr__(self, name, fixed)
        if self.space != "darts":
            raise ValueError(f"DartsGenotype.space must be 'darts', got {self.space!r}")
        if len(self.normal) != len(self.reduce):
            raise ValueError(
                f"DARTS genotype: normal and reduce cells must have the same number of nodes, got "
                f"{len(self.normal)} and {len(self.reduce)} pairs"
            )
        _check_cell("normal", self.normal, self.normal_concat)
        _check_cell("reduce", self.reduce, self.reduce_concat)

    @property
    def steps(self) -> int:
        return len(self.normal) // 2

    def cell(self, kind: str) -> Cell:
        if kind not in CELL_TYPES:
            raise KeyError(f"unknown DARTS cell type {kind!r}; valid: {', '.join(CELL_TYPES)}")
        return self.normal if kind == "normal" else self.reduce

    def concat(self, kind: str) -> tuple[int, ...]:
        self.cell(kind)
        return self.normal_concat if kind == "normal" else self.reduce_concat

    def __str__(self) -> str:
        return format_genotype(self)


def format_genotype(genotype: DartsGenotype) -> str:
    """The community text form (Python repr of lists of tuples), one line."""

    def cell(c: Cell) -> str:
        return "[" + ", ".join(f"({op!r}, {src})" for op, src in c) + "]"

    def concat(c: tuple[int, ...]) -> str:
        return "[" + ", ".join(str(i) for i in c) + "]"

    return (
        f"Genotype(normal={cell(genotype.normal)}, normal_concat={concat(genotype.normal_concat)}, "
        f"reduce={cell(genotype.reduce)}, reduce_concat={concat(genotype.reduce_concat)})"
    )


def _literal(node: ast.expr, field: str, text: str) -> Any:
    """A literal value; ``range(a, b)`` / ``range(b)`` with integer literals becomes a list."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
        if node.keywords or not 1 <= len(node.args) <= 3:
            raise ValueError(f"DARTS genotype field {field!r}: unsupported range(...) call in {text!r}")
        try:
            args = [ast.literal_eval(a) for a in node.args]
        except ValueError as err:
            raise ValueError(f"DARTS genotype field {field!r}: range arguments must be integers in {text!r}") from err
        if not all(isinstance(a, int) for a in args):
            raise ValueError(f"DARTS genotype field {field!r}: range arguments must be integers in {text!r}")
        return list(range(*args))
    try:
        return ast.literal_eval(node)
    except ValueError as err:
        raise ValueError(f"DARTS genotype field {field!r} is not a literal in {text!r}") from err


def parse_genotype(text: str) -> DartsGenotype:
    """Read ``Genotype(normal=[...], normal_concat=[...], reduce=[...], reduce_concat=[...])``.

    Keyword or positional arguments (the namedtuple's field order) are accepted; nothing is evaluated.
    """
    if not isinstance(text, str):
        raise ValueError(f"DARTS genotype text must be a string, got {type(text).__name__}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise ValueError(f"DARTS genotype text is not valid syntax: {text!r} ({err.msg})") from err
    call = tree.body
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "Genotype"):
        raise ValueError(f"DARTS genotype text must read 'Genotype(normal=..., ...)', got {text!r}")
    if len(call.args) > len(FIELDS):
        raise ValueError(f"DARTS genotype text has {len(call.args)} positional fields, at most {len(FIELDS)}: {text!r}")
    values: dict[str, Any] = {}
    for name, node in zip(FIELDS, call.args):
        values[name] = _literal(node, name, text)
    for kw in call.keywords:
        if kw.arg not in FIELDS:
            raise ValueError(f"DARTS genotype text: unknown field {kw.arg!r}; expected {', '.join(FIELDS)}: {text!r}")
        if kw.arg in values:
            raise ValueError(f"DARTS genotype text: field {kw.arg!r} given twice: {text!r}")
        values[kw.arg] = _literal(kw.value, kw.arg, text)
    missing = [f for f in FIELDS if f not in values]
    if missing:
        raise ValueError(f"DARTS genotype text misses field(s) {', '.join(missing)}: {text!r}")
    for name in ("normal", "reduce"):
        if not isinstance(values[name], (list, tuple)):
            raise ValueError(f"DARTS genotype field {name!r} must be a list of (op, input) pairs: {text!r}")
    for name in ("normal_concat", "reduce_concat"):
        if not isinstance(values[name], (list, tuple)):
            raise ValueError(f"DARTS genotype field {name!r} must be a list of node indices: {text!r}")
    return DartsGenotype(**values)


def genotype_to_json(genotype: DartsGenotype) -> dict[str, Any]:
    """JSON-able: ``{"space": "darts", "normal": [[op, input], ...], "normal_concat": [...], ...}``."""
    blob: dict[str, Any] = {"space": genotype.space}
    for name in FIELDS:
        value = getattr(genotype, name)
        blob[name] = list(value) if name.endswith("_concat") else [[op, src] for op, src in value]
    return blob


def genotype_from_json(blob: Mapping[str, Any]) -> DartsGenotype:
    """Inverse of :func:`genotype_to_json`; the error names the missing or bad key."""
    if not isinstance(blob, Mapping):
        raise ValueError(f"DARTS genotype JSON must be an object, got {type(blob).__name__}")
    if blob.get("space", "darts") != "darts":
        raise ValueError(f"DARTS genotype JSON has space {blob.get('space')!r}, expected 'darts'")
    missing = [f for f in FIELDS if f not in blob]
    if missing:
        raise ValueError(f"DARTS genotype JSON misses key(s) {', '.join(missing)}; has {', '.join(sorted(blob))}")
    values: dict[str, Sequence[Any]] = {}
    for name in FIELDS:
        value = blob[name]
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"DARTS genotype JSON key {name!r} must be a list, got {value!r}")
        values[name] = value
    return DartsGenotype(**values)  # type: ignore[arg-type]


__all__ = [
    "CELL_TYPES",
    "DARTS_OPS",
    "GENOTYPE_OPS",
    "STEPS",
    "DartsGenotype",
    "format_genotype",
    "genotype_from_json",
    "genotype_to_json",
    "parse_genotype",
]
