"""A faster NAS-Bench-201 supernet that computes what :func:`balenas.supernets.nb201.nb201_supernet` computes.

Same modules and the same state dict, key for key and in the same order, so checkpoints of the network load
either way; the parameters differ in one way: the conv kernels of all edges leaving one node are one
parameter per conv type (:func:`fuse_cell_convs`; split on saving, concatenated on loading, and
:meth:`FastNB201Network.to_plain` maps gradients to the plain layout). The weight optimizer's state is
therefore per implementation. What changes is the hot path, per source node of a cell:

* one ReLU, and one convolution per conv type for all edges leaving the node (their fused kernels);
* the architecture weight of each conv op is the BN's per-channel scale: without affine parameters and
  with batch statistics, ``w * BN(y)`` is ``native_batch_norm(y, weight=w)``, so the mixing costs no op;
* one 3x3 average pooling (count_include_pad=False) of the node, a depthwise convolution with a kernel of
  ones times a precomputed reciprocal count map (``pool_as_conv``, the default; ``pool_as_conv=False``
  uses ``avg_pool2d``), shared by all out-edges; ``none`` is skipped (it contributes ``w * 0``);
* the skip and pooling terms of all out-edges added to their conv terms by one batched matmul
  (``baddbmm``: each edge's ``w_skip * x + w_pool * pool(x)``), whose backward gives the mixing weights'
  gradients; the node is not repeated per out-edge;
* the edges' outputs are the channel blocks of one tensor, added into their target nodes;
* the mixing weights are reordered and expanded to channels once per forward and stage width, not per cell.

Arithmetic order differs from the plain supernet (the sums of an edge's terms and of the convolutions'
input gradients over edges, BN's scale inside its kernel), so float32 results differ by rounding, which the
deep batch-statistics network amplifies in the gradients about as much as it amplifies the reference's own
rounding (``bench/bench_supernet.py`` prints both against float64); in float64 the two agree to ~1e-15.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
    """The conv ops' mixing weights of one stage width, in the layout the fast cell consumes: channels
    ordered edge-major (``j * C + c`` for the ``j``-th of the ``k`` edges leaving a source), the order of the
    edges' conv kernels concatenated."""

    conv1: dict[int, torch.Tensor]  # source -> (k * C,) BN scales of the 1x1 convs leaving it
    conv3: dict[int, torch.Tensor]


_FIELDS = ("conv1", "conv3")
_COLUMN = {"conv1": _OP["nor_conv_1x1"], "conv3": _OP["nor_conv_3x3"]}
_LINEAR = (_OP["skip_connect"], _OP["avg_pool_3x3"])  # the linear ops, mixed by one batched matmul per source


def _gather_plan(channels: int) -> tuple[list[int], list[int]]:
    """Flat indices into ``weights.reshape(-1)`` for every prepared tensor, in (source, field) order, and the
    length of each: one gather and one split prepare a stage (few ops, forward and backward)."""
    index: list[int] = []
    sizes: list[int] = []
    n_ops = len(NB201_OPS)
    for s in SOURCES:
        for f in _FIELDS:
            idx = [e * n_ops + _COLUMN[f] for e in OUT_EDGES[s] for _ in range(channels)]
            index.extend(idx)
            sizes.append(len(idx))
    return index, sizes


_PLANS: dict[tuple[int, torch.device], tuple[torch.Tensor, list[int]]] = {}


def _cacheable(t: torch.Tensor) -> bool:
    """False for a tensor made inside a ``torch.func`` transform (the forward-mode Hessian): it is wrapped
    at the transform's level and must not outlive it, so it is not cached."""
    return not torch._C._functorch.is_functorch_wrapped_tensor(t)


def _plan(key: tuple, build: Callable[[], tuple[list[int], list[int]]]) -> tuple[torch.Tensor, list[int]]:
    """The gather index and part sizes for ``key`` (its last item the device), built once and cached."""
    if key in _PLANS:
        return _PLANS[key]
    flat, sizes = build()
    index = torch.tensor(flat, dtype=torch.long, device=key[-1])
    if _cacheable(index):
        _PLANS[key] = (index, sizes)
    return index, sizes


def prepare_weights(weights: torch.Tensor, channels: int) -> _Prepared:
    """The conv ops' weights (``weights``: edges x ops) reordered by source node and expanded to channels
    (edge-major)."""
    index, sizes = _plan((channels, weights.device), lambda: _gather_plan(channels))
    parts = iter(weights.reshape(-1)[index].split(sizes))
    out: dict[str, dict[int, torch.Tensor]] = {f: {} for f in _FIELDS}
    for s in SOURCES:
        for f in _FIELDS:
            out[f][s] = next(parts)
    return _Prepared(**out)


def _linear_plan() -> tuple[list[int], list[int]]:
    n_ops = len(NB201_OPS)
    index = [e * n_ops + op for s in SOURCES for e in OUT_EDGES[s] for op in _LINEAR]
    return index, [2 * len(OUT_EDGES[s]) for s in SOURCES]


def linear_weights(weights: torch.Tensor) -> dict[int, torch.Tensor]:
    """Per source node, the (k, 2) matrix of ``[w_skip, w_pool]`` of its ``k`` out-edges (ordered by target)."""
    index, sizes = _plan(("linear", weights.device), _linear_plan)
    return {s: part.view(-1, 2) for s, part in zip(SOURCES, weights.reshape(-1)[index].split(sizes))}


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
    """3x3 average pooling (stride 1, padding 1, count_include_pad=False) by ``avg_pool2d``."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class BoxPool:
    """The same pooling as a depthwise 3x3 convolution with a kernel of ones (a box sum, no weight gradient)
    times the reciprocal count of valid inputs (a constant map); kernel and map are cached per size."""

    def __init__(self) -> None:
        self._const: dict[tuple, torch.Tensor] = {}

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        return F.conv2d(x, self.ones(c, x), padding=1, groups=c) * self.recip(x)

    def ones(self, c: int, x: torch.Tensor) -> torch.Tensor:
        return self._cached(("ones", c, x.dtype, x.device), lambda: torch.ones(c, 1, 3, 3, dtype=x.dtype, device=x.device))

    def recip(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:]

        def build() -> torch.Tensor:
            one = torch.ones(1, 1, h, w, dtype=x.dtype, device=x.device)
            count = F.conv2d(one, torch.ones(1, 1, 3, 3, dtype=x.dtype, device=x.device), padding=1)
            return count.reciprocal()  # (1, 1, h, w)

        return self._cached(("recip", h, w, x.dtype, x.device), build)

    def _cached(self, key: tuple, build: Callable[[], torch.Tensor]) -> torch.Tensor:
        if key in self._const:
            return self._const[key]
        t = build()
        if _cacheable(t):
            self._const[key] = t
        return t


class LinearMix:
    """Adds the skip and pooling terms of all ``k`` out-edges of a source node to their conv terms ``z``
    (``n, k*C, h, w``, edge-major channels) in one batched matmul: per image (per pixel in channels_last)
    ``z_e += w_skip_e * x + w_pool_e * pool(x)``, i.e. ``baddbmm(z, W, [x; pool(x)])`` with ``W`` the
    source's (k, 2) weights. Its backward is two matmuls; the expanded ``W`` is cached per forward."""

    def __init__(self, weights: dict[int, torch.Tensor]) -> None:
        self._w = weights
        self._expanded: dict[tuple[int, int], torch.Tensor] = {}

    def _batched(self, source: int, rows: int) -> torch.Tensor:
        key = (source, rows)
        if key not in self._expanded:
            w = self._w[source]
            self._expanded[key] = w.expand(rows, *w.shape)
        return self._expanded[key]

    def __call__(self, source: int, z: torch.Tensor, x: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
        n, kc, h, wd = z.shape
        c = x.shape[1]
        k = kc // c
        t = torch.cat([x, pooled], dim=1)  # (n, 2C, h, w); cat keeps the memory format
        if z.is_contiguous() and t.is_contiguous():  # NCHW: per image, (k, C*h*w) += W @ (2, C*h*w)
            out = torch.baddbmm(z.view(n, k, -1), self._batched(source, n), t.view(n, 2, -1))
            return out.view(n, kc, h, wd)
        # channels_last: per pixel, (k, C) += W @ (2, C)
        rows = n * h * wd
        zl = z.permute(0, 2, 3, 1).reshape(rows, k, c)
        tl = t.permute(0, 2, 3, 1).reshape(rows, 2, c)
        out = torch.baddbmm(zl, self._batched(source, rows), tl)
        return out.view(n, h, wd, kc).permute(0, 3, 1, 2)


def _scaled_bn(y: torch.Tensor, scale: torch.Tensor, eps: float) -> torch.Tensor:
    """``scale * BN(y)`` with batch statistics and no affine parameters: BN's own per-channel weight."""
    return torch.native_batch_norm(y, scale, None, None, None, True, 0.0, eps)[0]


def fast_cell_forward(
    cell: NB201Cell, x: torch.Tensor, prep: _Prepared, pool: AvgPool | BoxPool, mix: LinearMix
) -> torch.Tensor:
    """The supernet cell's output for conv mixing weights prepared by :func:`prepare_weights` and the linear
    ops' mixer ``mix`` (see the module docstring): per source node one ReLU, one convolution per conv type
    for all its out-edges, BN whose per-channel scale is the mixing weight, one pooling, and the skip and
    pooling terms of all out-edges added by one batched matmul; the edges' outputs are the channel blocks
    of one tensor."""
    c = x.shape[1]
    eps = cell.edges[0][_OP["nor_conv_3x3"]][2].eps
    nodes = [x]
    acc: dict[int, torch.Tensor] = {}
    for s in SOURCES:
        xs = nodes[s]
        edges = OUT_EDGES[s]
        r = F.threshold(xs, 0.0, 0.0)  # relu; saves its input instead of its output (one op less)
        z = _scaled_bn(F.conv2d(r, _conv_weight(cell, s, "nor_conv_1x1")), prep.conv1[s], eps)
        z = z + _scaled_bn(F.conv2d(r, _conv_weight(cell, s, "nor_conv_3x3"), padding=1), prep.conv3[s], eps)
        z = mix(s, z, xs, pool(xs))
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
        self._pool = BoxPool() if pool_as_conv else AvgPool()
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
        weights = weights.to(x.dtype)
        mix = LinearMix(linear_weights(weights))
        prepared: dict[int, _Prepared] = {}
        for layer in self.cells:
            if isinstance(layer, NB201Cell):
                c = x.shape[1]
                if c not in prepared:
                    prepared[c] = prepare_weights(weights, c)
                x = fast_cell_forward(layer, x, prepared[c], self._pool, mix)
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
