"""NAS-Bench-101 cell graphs: op labels, pruning and the benchmark's isomorphism-invariant module hash.

Dependency-free (numpy only), so both the NAS-Bench-1Shot1 spaces and the benchmark reader import it without
an import cycle between :mod:`balenas.spaces` and :mod:`balenas.benchmarks`. The hash is iterated
neighbourhood hashing with MD5 over sorted in/out-neighbour hashes and op labels, as
``nasbench.lib.graph_util.hash_module``; :func:`prune` drops the vertices not on an input->output path as
``nasbench.api.ModelSpec`` does before hashing.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

INPUT = "input"
OUTPUT = "output"
CONV1X1 = "conv1x1-bn-relu"
CONV3X3 = "conv3x3-bn-relu"
MAXPOOL3X3 = "maxpool3x3"
# nasbench's label order of the interior ops (index = label used by the hash; input -1, output -2).
HASH_OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)
MAX_VERTICES = 7
MAX_EDGES = 9

Matrix = np.ndarray


# --- graphs --------------------------------------------------------------------------------------
def _as_matrix(matrix: Any) -> Matrix:
    arr = np.asarray(matrix, dtype=np.int64)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"adjacency matrix must be square, got shape {arr.shape}")
    if not np.isin(arr, (0, 1)).all():
        raise ValueError("adjacency matrix entries must be 0 or 1")
    if np.tril(arr).any():
        raise ValueError("adjacency matrix must be strictly upper triangular (a DAG in topological order)")
    return arr


def prune(matrix: Any, ops: Sequence[str]) -> tuple[Matrix, tuple[str, ...]] | None:
    """Drop vertices not on an input->output path (as ``ModelSpec``); ``None`` if output is unreachable."""
    arr = _as_matrix(matrix)
    n = arr.shape[0]
    if len(ops) != n:
        raise ValueError(f"{len(ops)} ops for a {n}-vertex matrix")
    forward = {0}
    for v in range(1, n):
        if any(arr[u, v] and u in forward for u in range(v)):
            forward.add(v)
    backward = {n - 1}
    for v in range(n - 2, -1, -1):
        if any(arr[v, w] and w in backward for w in range(v + 1, n)):
            backward.add(v)
    keep = sorted(forward & backward)
    if 0 not in keep or n - 1 not in keep:
        return None
    return arr[np.ix_(keep, keep)], tuple(ops[i] for i in keep)


def _labels(ops: Sequence[str]) -> list[int]:
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        raise ValueError(f"ops must start with {INPUT!r} and end with {OUTPUT!r}, got {list(ops)}")
    inner = list(ops[1:-1])
    bad = [o for o in inner if o not in HASH_OPS]
    if bad:
        raise ValueError(f"unknown NAS-Bench-101 ops {bad}; valid: {', '.join(HASH_OPS)}")
    return [-1, *(HASH_OPS.index(o) for o in inner), -2]


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def module_hash(matrix: Any, ops: Sequence[str]) -> str:
    """The isomorphism-invariant NAS-Bench-101 hash of an (already pruned) labelled DAG."""
    arr = _as_matrix(matrix)
    n = arr.shape[0]
    labels = _labels(ops)
    if len(labels) != n:
        raise ValueError(f"{len(labels)} ops for a {n}-vertex matrix")
    outs = [int(x) for x in arr.sum(axis=1)]
    ins = [int(x) for x in arr.sum(axis=0)]
    state = [_md5(str((outs[v], ins[v], labels[v]))) for v in range(n)]
    preds = [[u for u in range(n) if arr[u, v]] for v in range(n)]
    succs = [[w for w in range(n) if arr[v, w]] for v in range(n)]
    for _ in range(n):
        state = [
            _md5(
                "".join(sorted(state[u] for u in preds[v]))
                + "|"
                + "".join(sorted(state[w] for w in succs[v]))
                + "|"
                + state[v]
            )
            for v in range(n)
        ]
    return _md5(str(sorted(state)))


def spec_hash(matrix: Any, ops: Sequence[str]) -> str | None:
    """Prune, then hash (what ``NASBench.query`` looks up); ``None`` when the graph has no input->output path."""
    pruned = prune(matrix, ops)
    if pruned is None:
        return None
    return module_hash(*pruned)


def matrix_to_bits(matrix: Any) -> str:
    return "".join(str(int(x)) for x in np.asarray(matrix).reshape(-1))


def bits_to_matrix(bits: str) -> Matrix:
    dim = math.isqrt(len(bits))
    if dim * dim != len(bits) or set(bits) - {"0", "1"}:
        raise ValueError(f"adjacency string must be a square number of 0/1 characters, got {bits!r}")
    return np.array([int(c) for c in bits], dtype=np.int64).reshape(dim, dim)
