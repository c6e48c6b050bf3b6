"""A faster NAS-Bench-201 supernet that computes what :func:`balenas.supernets.nb201.nb201_supernet` computes.

Same modules and the same state dict, key for key and in the same order, so checkpoints of the network load
either way; the parameters differ in one way: the conv kernels of all edges leaving one node are one
parameter per conv type (:func:`fuse_cell_convs`; split on saving, concatenated on loading, and
:meth:`FastNB201Network.to_plain` maps gradients to the plain layout). The weight optimizer's state is
therefore per implementation. What changes is the hot path, per source node of a cell:

* one ReLU, and one convolution per conv type for all edges leaving the node (their fused kernels);
* the architecture weight of each conv op is the BN's per-channel scale: without affine parameters and
  with batch statistics, ``w * BN(y)`` is ``native_batch_norm(y, weight=w)``, so the mixing costs no op;
* skip connection and pooling of all out-edges as depthwise convolutions of the node (repeated once per
  out-edge) whose kernels are the mixing weights (their gradients come from the convolution's backward):
  skip a 1x1 kernel ``w_skip``, 3x3 average pooling with count_include_pad=False a 3x3 kernel of ``w_pool``
  times a precomputed reciprocal count map (``pool_as_conv``, the default; ``pool_as_conv=False`` uses
  ``avg_pool2d`` and a 1x1 kernel); ``none`` is skipped (it contributes ``w * 0``);
* the edges' outputs are the channel blocks of one tensor, added into their target nodes;
* the mixing weights are reordered and expanded to channels once per forward and stage width, not per cell.

Arithmetic order differs from the plain supernet (the sums of an edge's terms and of the convolutions'
input gradients over edges, BN's scale inside its kernel), so float32 results differ by rounding, which the
deep batch-statistics network amplifies in the gradients about as much as it amplifies the reference's own
rounding (``bench/bench_supernet.py`` prints both against float64); in float64 the two agree to ~1e-15.
"""

from __future__ import annotations

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
    """The mixing weights of one stage width, in the layout the fast cell consumes. Channels are ordered
    edge-major (``j * C + c`` for the ``j``-th of the ``k`` edges leaving a source), the order of the
    edges' conv kernels concatenated."""

    conv1: dict[int, torch.Tensor]  # source -> (k * C,) BN scales of the 1x1 convs leaving it
    conv3: dict[int, torch.Tensor]
    skip: dict[int, torch.Tensor]  # source -> (k * C, 1, 1, 1) depthwise kernels: the skip weights
    pool: dict[int, torch.Tensor]  # source -> (k * C, 1, 3, 3) (box pooling) or (k * C, 1, 1, 1) (avg_pool2d)


_FIELDS = ("conv1", "conv3", "skip", "pool")
_COLUMN = {"conv1": _OP["nor_conv_1x1"], "conv3": _OP["nor_conv_3x3"], "skip": _OP["skip_connect"],
           "pool": _OP["avg_pool_3x3"]}


def _gather_plan(channels: int, pool_taps: int) -> tuple[list[int], list[int]]:
    """Flat indices into ``weights.reshape(-1)`` for every prepared tensor, in (source, field) order, and the
    length of each: one gather and one split prepare a stage (few ops, forward and backward)."""
    index: list[int] = []
    sizes: list[int] = []
    n_ops = len(NB201_OPS)
    for s in SOURCES:
        for f in _FIELDS:
            taps = pool_taps if f == "pool" else 1
            idx = [e * n_ops + _COLUMN[f] for e in OUT_EDGES[s] for _ in range(channels * taps)]
            index.extend(idx)
            sizes.append(len(idx))
    return index, sizes


_PLANS: dict[tuple[int, int, torch.device], tuple[torch.Tensor, list[int]]] = {}


def _cacheable(t: torch.Tensor) -> bool:
    """False for a tensor made inside a ``torch.func`` transform (the forward-mode Hessian): it is wrapped
    at the transform's level and must not outlive it, so it is not cached."""
    return not torch._C._functorch.is_functorch_wrapped_tensor(t)


def prepare_weights(weights: torch.Tensor, channels: int, pool_taps: int = 9) -> _Prepared:
    """Reorder ``weights`` (edges x ops) by source node and expand them to channels (edge-major); the
    pooling weights fill ``pool_taps`` (9: a 3x3 box kernel, 1: a scale after ``avg_pool2d``) taps."""
    key = (channels, pool_taps, weights.device)
    if key in _PLANS:
        index, sizes = _PLANS[key]
    else:
        plan, sizes = _gather_plan(channels, pool_taps)
        index = torch.tensor(plan, dtype=torch.long, device=weights.device)
        if _cacheable(index):
            _PLANS[key] = (index, sizes)
    parts = iter(weights.reshape(-1)[index].split(sizes))
    side = 3 if pool_taps == 9 else 1
    out: dict[str, dict[int, torch.Tensor]] = {f: {} for f in _FIELDS}
    for s in SOURCES:
        for f in _FIELDS:
            part = next(parts)
            if f == "skip":
                part = part.view(-1, 1, 1, 1)
            elif f == "pool":
                part = part.view(-1, 1, side, side)
            out[f][s] = part
    return _Prepared(**out)


CONV_OPS = ("nor_conv_1x1", "nor_conv_3x3")


def fused_name(source: int, op: str) -> str:
    """The cell attribute that holds the kernels of the ``op`` convs of every edge leaving ``source``."""
    return f"fused_{op}_from{source}"


def plain_key(cell: str, edge: int, op: str) -> str:
    """The state-dict key of one edge's conv kernel in the plain supernet, inside cell ``cell`` ("cells.3")."""
    return f"{cell}.edges.{edge}.{_OP[op]}.1.weight"


def fuse_cell_convs(cell: NB201Cell) -> None:
    """Replace the per-edge conv kernels of ``cell`` by one parameter per (source node, conv type): the
    kernels of the edges leaving the node concatenated along the output channels, (k * C, C, kh, kw)."""
    for s in SOURCES:
        for op in CONV_OPS:
            convs = [cell.edges[e][_OP[op]][1] for e in OUT_EDGES[s]]
            fused = torch.cat([conv.weight.detach() for conv in convs], dim=0)
            for conv in convs:
                del conv.weight  # the plain forward gets views of the fused kernel (see edge_views)
            cell.register_parameter(fused_name(s, op), nn.Parameter(fused))


def edge_views(cell: NB201Cell) -> dict[tuple[int, str], torch.Tensor]:
    """Each (edge, conv op)'s kernel as a view of the cell's fused parameters."""
    out: dict[tuple[int, str], torch.Tensor] = {}
    for s in SOURCES:
        for op in CONV_OPS:
            fused = getattr(cell, fused_name(s, op))
            for e, view in zip(OUT_EDGES[s], fused.chunk(len(OUT_EDGES[s]), dim=0)):
                out[(e, op)] = view
    return out


def _conv_weight(cell: NB201Cell, source: int, op: str) -> torch.Tensor:
    return getattr(cell, fused_name(source, op))


class AvgPool:
    """3x3 average pooling (stride 1, padding 1, count_include_pad=False) by ``avg_pool2d``, then each out-edge's
    mixing weight as a depthwise 1x1 convolution."""

    taps = 1

    def mix(self, z: torch.Tensor, xr: torch.Tensor, w_pool: torch.Tensor) -> torch.Tensor:
        """``z`` plus the pooling terms of ``xr``, the source node repeated once per out-edge."""
        pooled = F.avg_pool2d(xr, 3, stride=1, padding=1, count_include_pad=False)
        return z + F.conv2d(pooled, w_pool, groups=xr.shape[1])


class PoolAsConv:
    """The same pooling as one depthwise 3x3 convolution per out-edge whose kernel is the edge's mixing weight
    (a weighted box sum), times the reciprocal count of valid inputs (a constant map, cached per size)."""

    taps = 9

    def __init__(self) -> None:
        self._recip: dict[tuple, torch.Tensor] = {}

    def mix(self, z: torch.Tensor, xr: torch.Tensor, w_pool: torch.Tensor) -> torch.Tensor:
        """``z`` plus the pooling terms of ``xr``, the source node repeated once per out-edge."""
        return torch.addcmul(z, F.conv2d(xr, w_pool, padding=1, groups=xr.shape[1]), self.recip(xr))

    def recip(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:]
        key = (h, w, x.dtype, x.device)
        if key in self._recip:
            return self._recip[key]
        one = torch.ones(1, 1, h, w, dtype=x.dtype, device=x.device)
        count = F.conv2d(one, torch.ones(1, 1, 3, 3, dtype=x.dtype, device=x.device), padding=1)
        recip = count.reciprocal()  # (1, 1, h, w)
        if _cacheable(recip):
            self._recip[key] = recip
        return recip


def _scaled_bn(y: torch.Tensor, scale: torch.Tensor, eps: float) -> torch.Tensor:
    """``scale * BN(y)`` with batch statistics and no affine parameters: BN's own per-channel weight."""
    return torch.native_batch_norm(y, scale, None, None, None, True, 0.0, eps)[0]


def fast_cell_forward(cell: NB201Cell, x: torch.Tensor, prep: _Prepared, pool: AvgPool | PoolAsConv) -> torch.Tensor:
    """The supernet cell's output for mixing weights prepared by :func:`prepare_weights` (see the module
    docstring): per source node one ReLU, one convolution per conv type for all its out-edges, BN whose
    per-channel scale is the mixing weight, skip and pooling as depthwise convolutions (of the source node
    repeated once per out-edge) whose kernels are the mixing weights; the edges' outputs are the channel
    blocks of one tensor."""
    n, c, h, wd = x.shape
    eps = cell.edges[0][_OP["nor_conv_3x3"]][2].eps
    nodes = [x]
    acc: dict[int, torch.Tensor] = {}
    for s in SOURCES:
        xs = nodes[s]
        edges = OUT_EDGES[s]
        r = F.threshold(xs, 0.0, 0.0)  # relu; saves its input instead of its output (one op less)
        z = _scaled_bn(F.conv2d(r, _conv_weight(cell, s, "nor_conv_1x1")), prep.conv1[s], eps)
        z = z + _scaled_bn(F.conv2d(r, _conv_weight(cell, s, "nor_conv_3x3"), padding=1), prep.conv3[s], eps)
        xr = xs if len(edges) == 1 else torch.cat([xs] * len(edges), dim=1)  # keeps channels_last, unlike repeat
        z = pool.mix(z + F.conv2d(xr, prep.skip[s], groups=xr.shape[1]), xr, prep.pool[s])
        parts = (z,) if len(edges) == 1 else z.split(c, dim=1)  # its backward (cat) keeps the memory format
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
    """:class:`NB201Network` with the fast supernet forward. Its conv kernels are fused per (cell, source
    node, conv type) (:func:`fuse_cell_convs`); its state dict is the plain supernet's, key for key and in
    the same order (the fused kernels are split on saving and concatenated on loading), so checkpoints load
    either way. It runs in either memory layout (``search.speed.channels_last`` converts it): its concatenations
    and splits keep the layout, and its fused kernels are converted with the network."""

    def __init__(self, *args, pool_as_conv: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for layer in self.cells:
            if isinstance(layer, NB201Cell):
                if not _is_supernet_cell(layer):
                    raise ValueError("FastNB201Network needs every op on every edge and BN without affine/stats")
                fuse_cell_convs(layer)
        self._pool = PoolAsConv() if pool_as_conv else AvgPool()
        self.register_state_dict_post_hook(_split_fused)
        self.register_load_state_dict_pre_hook(_concat_fused)

    def cell_names(self) -> list[str]:
        """The module names ("cells.3") of the search cells."""
        return [f"cells.{i}" for i, layer in enumerate(self.cells) if isinstance(layer, NB201Cell)]

    def to_plain(self, tensors: Mapping[str, torch.Tensor], prefix: str = "") -> dict[str, torch.Tensor]:
        """``tensors`` keyed by this network's parameter names (weights, gradients) keyed and ordered like the
        plain supernet's: each fused kernel split into its edges' kernels."""
        fused_of = {f"{prefix}{cell}.{fused_name(s, op)}": (cell, s, op)
                    for cell in self.cell_names() for s in SOURCES for op in CONV_OPS}
        out: dict[str, torch.Tensor] = {}
        done: set[str] = set()
        for key, value in tensors.items():
            if key not in fused_of:
                out[key] = value
                continue
            cell = fused_of[key][0]
            if cell in done:
                continue
            done.add(cell)
            parts = {}
            for s in SOURCES:
                for op in CONV_OPS:
                    chunks = tensors[f"{prefix}{cell}.{fused_name(s, op)}"].chunk(len(OUT_EDGES[s]), dim=0)
                    parts.update({(e, op): t for e, t in zip(OUT_EDGES[s], chunks)})
            for e in range(len(NB201_EDGES)):  # the plain supernet's order: edge, then op
                for op in CONV_OPS:
                    out[prefix + plain_key(cell, e, op)] = parts[(e, op)]
        return out

    def forward(self, x: torch.Tensor, weights: Mapping[str, torch.Tensor] | torch.Tensor | None = None) -> torch.Tensor:
        if weights is None:
            return self._plain_forward(x)
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
                    prepared[c] = prepare_weights(weights.to(x.dtype), c, self._pool.taps)
                x = fast_cell_forward(layer, x, prepared[c], self._pool)
            else:
                x = layer(x)
        x = self.pool(self.lastact(x)).flatten(1)
        return self.classifier(x)

    def _plain_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Every op summed without weights, through the plain modules given views of the fused kernels."""
        cells = [layer for layer in self.cells if isinstance(layer, NB201Cell)]
        for cell in cells:
            for (e, op), view in edge_views(cell).items():
                cell.edges[e][_OP[op]][1].weight = view
        try:
            return super().forward(x, None)
        finally:
            for cell in cells:
                for e in range(len(NB201_EDGES)):
                    for op in CONV_OPS:
                        del cell.edges[e][_OP[op]][1].weight


def _split_fused(module: FastNB201Network, state_dict: dict, prefix: str, local_metadata: dict) -> None:
    plain = module.to_plain(dict(state_dict), prefix)
    state_dict.clear()
    state_dict.update(plain)


def _concat_fused(module: FastNB201Network, state_dict: dict, prefix: str, *args) -> None:
    for cell in module.cell_names():
        for s in SOURCES:
            for op in CONV_OPS:
                keys = [prefix + plain_key(cell, e, op) for e in OUT_EDGES[s]]
                if all(k in state_dict for k in keys):
                    state_dict[f"{prefix}{cell}.{fused_name(s, op)}"] = torch.cat([state_dict.pop(k) for k in keys])


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
