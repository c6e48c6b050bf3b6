"""A faster NAS-Bench-201 supernet that computes what :func:`balenas.supernets.nb201.nb201_supernet` computes.

Same modules, same parameters, same state dict (the class only overrides ``forward``), so checkpoints,
optimizer state and parameter order are shared with the plain supernet. What changes is the hot path:

* all edges leaving one node share their input: one ReLU per node, and one convolution per conv type for
  all edges leaving the node (the edges' kernels concatenated along the output channels);
* the architecture weight of each conv op is the BN's per-channel scale: without affine parameters and
  with batch statistics, ``w * BN(y)`` is ``batch_norm(y, weight=w)``, so the mixing costs no extra op;
* skip connection and pooling are added once per node for all its out-edges at once (one multiply-add each);
* average pooling is computed once per node, as a depthwise 3x3 convolution of ones whose division by the
  count of valid inputs is folded into the mixing weight (a reciprocal count map times ``w``, once per
  stage; ``pool_as_conv``, the default: about 2x faster than ``avg_pool2d`` forward+backward on the CPU;
  ``pool_as_conv=False`` uses ``avg_pool2d``); ``none`` is skipped (it contributes ``w * 0``);
* the mixing weights are reordered and expanded to channels once per forward and stage width, not per cell.

Arithmetic order differs from the plain supernet in the summation of the four terms of an edge and in BN's
scale (``(y - mean) * invstd * w`` inside one kernel); outputs agree to float32 rounding (the tests check
<= 1e-5 on tiny sizes; ``bench/bench_supernet.py`` prints the difference at the paper's size).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from balenas.spaces.nb201 import NB201_EDGES, NB201_OPS, NB201Space
from balenas.supernets.nb201 import NB201Cell, NB201Network

_OP = {name: k for k, name in enumerate(NB201_OPS)}
_EDGE_NODES = [NB201Space.edge_nodes(e) for e in NB201_EDGES]
SOURCES = tuple(sorted({src for _, src in _EDGE_NODES}))
# edges leaving each source node, ordered by target node
OUT_EDGES: dict[int, tuple[int, ...]] = {
    s: tuple(sorted((e for e, (_, src) in enumerate(_EDGE_NODES) if src == s), key=lambda e: _EDGE_NODES[e][0]))
    for s in SOURCES
}
EDGE_ORDER = [e for s in SOURCES for e in OUT_EDGES[s]]  # edges grouped by source node


@dataclass(frozen=True)
class _Prepared:
    """The mixing weights of one stage width, in the layout the fast cell consumes."""

    conv1: dict[int, torch.Tensor]  # source -> (k * C,) BN scales of the 1x1 convs leaving it
    conv3: dict[int, torch.Tensor]
    skip: dict[int, torch.Tensor]  # source -> (1, k, 1, 1, 1)
    pool: dict[int, torch.Tensor]


_FIELDS = ("conv1", "conv3", "skip", "pool")
_COLUMN = {"conv1": _OP["nor_conv_1x1"], "conv3": _OP["nor_conv_3x3"], "skip": _OP["skip_connect"],
           "pool": _OP["avg_pool_3x3"]}


def _gather_plan(channels: int) -> tuple[list[int], list[int]]:
    """Flat indices into ``weights.reshape(-1)`` for every prepared tensor, in (source, field) order, and the
    length of each: one gather and one split prepare a stage (few ops, forward and backward)."""
    index: list[int] = []
    sizes: list[int] = []
    n_ops = len(NB201_OPS)
    for s in SOURCES:
        for f in _FIELDS:
            rep = channels if f.startswith("conv") else 1
            idx = [e * n_ops + _COLUMN[f] for e in OUT_EDGES[s] for _ in range(rep)]
            index.extend(idx)
            sizes.append(len(idx))
    return index, sizes


_PLANS: dict[tuple[int, torch.device], tuple[torch.Tensor, list[int]]] = {}


def prepare_weights(weights: torch.Tensor, channels: int) -> _Prepared:
    """Reorder ``weights`` (edges x ops) by source node and expand the conv columns to channels."""
    key = (channels, weights.device)
    if key not in _PLANS:
        index, sizes = _gather_plan(channels)
        _PLANS[key] = (torch.tensor(index, dtype=torch.long, device=weights.device), sizes)
    index, sizes = _PLANS[key]
    parts = iter(weights.reshape(-1)[index].split(sizes))
    out: dict[str, dict[int, torch.Tensor]] = {f: {} for f in _FIELDS}
    for s in SOURCES:
        k = len(OUT_EDGES[s])
        for f in _FIELDS:
            part = next(parts)
            if f in ("skip", "pool"):  # broadcast over (n, k, c, h, w), or (n, c, h, w) for one out-edge
                part = part.view(1, k, 1, 1, 1) if k > 1 else part.view(1, 1, 1, 1)
            out[f][s] = part
    return _Prepared(**out)


def _conv_weight(cell: NB201Cell, edges: tuple[int, ...], op: str) -> torch.Tensor:
    k = _OP[op]
    ws = [cell.edges[e][k][1].weight for e in edges]
    return ws[0] if len(ws) == 1 else torch.cat(ws, dim=0)


class AvgPool:
    """3x3 average pooling, stride 1, padding 1, count_include_pad=False, by ``avg_pool2d``."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)

    def scale(self, w_pool: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """What the pooled tensor is multiplied by: the pooling op's mixing weights."""
        return w_pool


class PoolAsConv:
    """The same pooling as a depthwise 3x3 convolution of ones (a box sum) whose division by the number of
    valid inputs is folded into the mixing weight: ``scale`` is ``w_pool / count``, once per stage."""

    def __init__(self) -> None:
        self._ones: dict[tuple, torch.Tensor] = {}
        self._recip: dict[tuple, torch.Tensor] = {}

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        key = (c, x.dtype, x.device)
        if key not in self._ones:
            self._ones[key] = torch.ones(c, 1, 3, 3, dtype=x.dtype, device=x.device)
        return F.conv2d(x, self._ones[key], padding=1, groups=c)

    def scale(self, w_pool: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:]
        key = (h, w, x.dtype, x.device)
        if key not in self._recip:
            one = torch.ones(1, 1, h, w, dtype=x.dtype, device=x.device)
            count = F.conv2d(one, torch.ones(1, 1, 3, 3, dtype=x.dtype, device=x.device), padding=1)
            self._recip[key] = count.reciprocal()  # (1, 1, h, w)
        recip = self._recip[key]
        return w_pool * (recip if w_pool.ndim == 4 else recip.unsqueeze(1))


def fast_cell_forward(cell: NB201Cell, x: torch.Tensor, prep: _Prepared, pool: AvgPool | PoolAsConv) -> torch.Tensor:
    """The supernet cell's output for mixing weights prepared by :func:`prepare_weights` and, for the pooling
    column, ``pool.scale`` (see the module docstring)."""
    n, c, h, wd = x.shape
    eps = cell.edges[0][_OP["nor_conv_3x3"]][2].eps
    nodes = [x]
    acc: dict[int, torch.Tensor] = {}
    for s in SOURCES:
        xs = nodes[s]
        edges = OUT_EDGES[s]
        k = len(edges)
        r = F.relu(xs)
        y3 = F.conv2d(r, _conv_weight(cell, edges, "nor_conv_3x3"), padding=1)
        y1 = F.conv2d(r, _conv_weight(cell, edges, "nor_conv_1x1"))
        z = F.batch_norm(y1, None, None, prep.conv1[s], None, True, 0.0, eps)
        z = z + F.batch_norm(y3, None, None, prep.conv3[s], None, True, 0.0, eps)
        if k == 1:
            parts: tuple[torch.Tensor, ...] = (z + xs * prep.skip[s] + pool(xs) * prep.pool[s],)
        else:
            z = z.view(n, k, c, h, wd) + xs.unsqueeze(1) * prep.skip[s] + pool(xs).unsqueeze(1) * prep.pool[s]
            parts = z.unbind(1)
        for e, part in zip(edges, parts):
            dst = _EDGE_NODES[e][0]
            acc[dst] = part if dst not in acc else acc[dst] + part
        nodes.append(acc[s + 1])
    return nodes[-1]


def _is_supernet_cell(cell: NB201Cell) -> bool:
    if any(tuple(ops) != NB201_OPS for ops in cell.edge_op_names):
        return False
    bn = cell.edges[0][_OP["nor_conv_3x3"]][2]
    return not bn.affine and not bn.track_running_stats


class FastNB201Network(NB201Network):
    """:class:`NB201Network` with the fast supernet forward; parameters and state dict unchanged."""

    def __init__(self, *args, pool_as_conv: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for layer in self.cells:
            if isinstance(layer, NB201Cell) and not _is_supernet_cell(layer):
                raise ValueError("FastNB201Network needs every op on every edge and BN without affine/stats")
        self._pool = PoolAsConv() if pool_as_conv else AvgPool()

    def forward(self, x: torch.Tensor, weights: Mapping[str, torch.Tensor] | torch.Tensor | None = None) -> torch.Tensor:
        if weights is None:
            return super().forward(x, None)
        if isinstance(weights, Mapping):
            weights = weights[NB201Space.group]
        if tuple(weights.shape) != (len(NB201_EDGES), len(NB201_OPS)):
            raise ValueError(f"NB201 mixing weights must be (6, 5), got {tuple(weights.shape)}")
        x = self.stem(x)
        prepared: dict[int, _Prepared] = {}
        for layer in self.cells:
            if isinstance(layer, NB201Cell):
                c = x.shape[1]
                if c not in prepared:
                    prep = prepare_weights(weights.to(x.dtype), c)
                    pool = {s: self._pool.scale(w, x) for s, w in prep.pool.items()}
                    prepared[c] = dataclasses.replace(prep, pool=pool)
                x = fast_cell_forward(layer, x, prepared[c], self._pool)
            else:
                x = layer(x)
        x = self.pool(self.lastact(x)).flatten(1)
        return self.classifier(x)


def nb201_fast_supernet(
    channels: int, cells_per_stage: int, num_classes: int, in_channels: int = 3, pool_as_conv: bool = True
) -> FastNB201Network:
    """The search network of :func:`nb201_supernet`, with the fast forward."""
    return FastNB201Network(
        [NB201_OPS] * len(NB201_EDGES),
        channels,
        cells_per_stage,
        num_classes,
        in_channels,
        affine=False,
        track_running_stats=False,
        pool_as_conv=pool_as_conv,
    )


__all__ = ["FastNB201Network", "fast_cell_forward", "nb201_fast_supernet", "prepare_weights"]
