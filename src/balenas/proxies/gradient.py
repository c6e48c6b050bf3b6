"""Loss-gradient proxies on one labelled batch: SNIP, GraSP, grad_norm and Fisher.

All follow zero-cost-nas (SamsungLabs/zero-cost-nas, ``foresight/pruners/measures``) with its defaults
(``split_data=1``): the network is scored in train mode (BatchNorm uses batch statistics; the
caller's network is restored afterwards, :func:`~balenas.proxies._common.scoring_view`), the loss is
``loss_fn(net(inputs), targets)`` (mean cross-entropy by default) on the whole batch, and per-weight
saliencies are summed over the weights of every Conv and Linear layer (not biases, not BatchNorm).

With the whole batch in one pass each score is a symmetric function of the examples (batch-statistics
BatchNorm and a mean loss), so it is invariant to the order of the batch up to float rounding. Splitting
the batch (GraSP's ``splits``) breaks that: BatchNorm statistics then depend on which examples share a chunk.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from balenas.proxies._common import (
    LossFn,
    check_batch,
    device_of,
    grads_or_zeros,
    layer_weights,
    scoring_view,
    split_bounds,
    weight_layers,
)


def _loss(
    net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss_fn: LossFn, temperature: float = 1.0
) -> torch.Tensor:
    return loss_fn(net(inputs) / temperature, targets)


@contextmanager
def _prepared(
    net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor
) -> Iterator[tuple[nn.Module, torch.Tensor, torch.Tensor]]:
    check_batch(inputs, targets)
    with scoring_view(net) as work:
        device = device_of(work)
        yield work, inputs.to(device), targets.to(device)


def _snip_score(weights: Sequence[torch.Tensor], grads: Sequence[torch.Tensor]) -> float:
    with torch.no_grad():
        return float(sum((g * w).abs().sum() for g, w in zip(grads, weights)))


def _grad_norm_score(grads: Sequence[torch.Tensor]) -> float:
    with torch.no_grad():
        return float(sum(g.norm() for g in grads))


def _grasp_score(weights: Sequence[torch.Tensor], grad_f: Sequence[torch.Tensor], num_iters: int = 1) -> float:
    """``sum -theta * (H g)`` with ``g = num_iters * grad_f`` and ``H g`` one double backward through the
    graph of ``grad_f`` (the loss gradient taken with ``create_graph=True``), w.r.t. ``weights`` only."""
    grad_w = [num_iters * g.detach() for g in grad_f]
    hg = grads_or_zeros(sum((gw * gf).sum() for gw, gf in zip(grad_w, grad_f)), weights)
    with torch.no_grad():
        return float(sum((-w * h).sum() for w, h in zip(weights, hg)))


GradientScore = Callable[[Sequence[torch.Tensor], Sequence[torch.Tensor]], float]

#: Proxies that, with their default options, read only the loss gradient w.r.t. the conv/linear weights on
#: the whole batch, and their score from (weights, gradients): :func:`gradient_scores` computes any of them
#: from one forward and one backward pass.
FROM_GRADIENT: dict[str, GradientScore] = {
    "snip": _snip_score,
    "grad_norm": lambda _weights, grads: _grad_norm_score(grads),
    "grasp": _grasp_score,
}
SHARED_GRADIENT: tuple[str, ...] = tuple(FROM_GRADIENT)


def gradient_scores(
    names: Sequence[str],
    net: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    loss_fn: LossFn = F.cross_entropy,
) -> dict[str, float]:
    """The scores ``names`` (of :data:`SHARED_GRADIENT`, default options) from one loss gradient.

    Each value is the one the proxy computes alone, to the last bit: the same forward and backward
    operations on the same tensors (the gradient is taken with ``create_graph=True`` only when GraSP is
    asked for, which does not change its values). SNIP and grad_norm then cost nothing beyond GraSP.
    """
    unknown = [n for n in names if n not in SHARED_GRADIENT]
    if unknown:
        raise ValueError(f"gradient_scores computes {', '.join(SHARED_GRADIENT)}; not {unknown}")
    with _prepared(net, inputs, targets) as (work, x, y):
        weights = layer_weights(work)
        grads = grads_or_zeros(_loss(work, x, y, loss_fn), weights, create_graph="grasp" in names)
        return {name: FROM_GRADIENT[name](weights, grads) for name in names}


def snip(
    net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss_fn: LossFn = F.cross_entropy
) -> float:
    """SNIP (Lee et al. 2019): ``sum |dL/dtheta * theta|`` over conv/linear weights (higher is better).

    The reference differentiates w.r.t. a multiplicative mask of ones on each weight; at mask = 1 that
    gradient equals ``dL/dtheta * theta`` exactly, so the weights are differentiated directly here.
    """
    with _prepared(net, inputs, targets) as (work, x, y):
        weights = layer_weights(work)
        return _snip_score(weights, grads_or_zeros(_loss(work, x, y, loss_fn), weights))


def grad_norm(
    net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss_fn: LossFn = F.cross_entropy
) -> float:
    """Sum over conv/linear layers of the Euclidean norm of the layer's weight gradient (higher is better)."""
    with _prepared(net, inputs, targets) as (work, x, y):
        return _grad_norm_score(grads_or_zeros(_loss(work, x, y, loss_fn), layer_weights(work)))


def grasp(
    net: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    loss_fn: LossFn = F.cross_entropy,
    *,
    temperature: float = 1.0,
    num_iters: int = 1,
    splits: int = 1,
) -> float:
    """GraSP (Wang et al. 2020) as zero-cost-nas sums it: ``sum -theta * (H g)`` over conv/linear weights.

    ``g`` is the loss gradient w.r.t. the conv/linear weights and ``H`` the Hessian of the loss w.r.t.
    the same weights, so ``H g`` is one Hessian-vector product. The reference negates GraSP's
    ``theta * Hg`` ("accuracy seems to be negatively correlated with this metric, so we add -ve sign
    here"): the returned value is that negated sum, and higher is better.

    ``temperature`` divides the logits (reference ``T=1``); ``num_iters`` repeats the first pass on the
    same data (the reference's default 1; more only scales ``g``, as its own TODO notes); ``splits`` cuts
    the batch into consecutive chunks, accumulating ``g`` over every chunk and ``H g`` chunk by chunk as the
    original GraSP code does. (zero-cost-nas only splits after a CUDA out-of-memory error, and then keeps
    only the last chunk's ``g``; that is not reproduced.) With ``splits > 1`` BatchNorm statistics are
    per chunk, so the score depends on the order of the batch.
    """
    if num_iters < 1:
        raise ValueError(f"num_iters must be >= 1, got {num_iters}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    with _prepared(net, inputs, targets) as (work, x, y):
        weights = layer_weights(work)
        bounds = split_bounds(x.shape[0], splits)
        if len(bounds) == 1:
            # One chunk: the graph of the first pass serves both g and the Hessian-vector product.
            grad_f = grads_or_zeros(_loss(work, x, y, loss_fn, temperature), weights, create_graph=True)
            return _grasp_score(weights, grad_f, num_iters)
        grad_w = [torch.zeros_like(w) for w in weights]
        for st, en in bounds:
            g = grads_or_zeros(_loss(work, x[st:en], y[st:en], loss_fn, temperature), weights)
            grad_w = [acc + num_iters * gi for acc, gi in zip(grad_w, g)]
        hg = [torch.zeros_like(w) for w in weights]
        for st, en in bounds:
            grad_f = grads_or_zeros(_loss(work, x[st:en], y[st:en], loss_fn, temperature), weights, True)
            z = sum((gw * gf).sum() for gw, gf in zip(grad_w, grad_f))
            hg = [acc + h for acc, h in zip(hg, grads_or_zeros(z, weights))]
        with torch.no_grad():
            return float(sum((-w * h).sum() for w, h in zip(weights, hg)))


def fisher(
    net: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    loss_fn: LossFn = F.cross_entropy,
    *,
    per_weight: bool = True,
) -> float:
    """Fisher (Turner et al. 2020; Theis et al. 2018) as zero-cost-nas computes it (higher is better).

    For each conv/linear layer with output activation ``a`` (N, C, ...) and ``d = dL/da``:
    ``F_c = 0.5 * mean_n (sum_spatial a * d)^2`` per output channel. The reference broadcasts each
    channel's value to every weight of that channel before summing, so a layer contributes
    ``sum_c F_c * (weights per output channel)``; ``per_weight=False`` sums ``F_c`` over channels only.
    A layer called several times contributes once per call.
    """
    with _prepared(net, inputs, targets) as (work, x, y):
        layers = weight_layers(work)
        if not layers:
            raise ValueError(f"{type(net).__name__} has no Conv or Linear layer to score")
        records: list[tuple[nn.Module, torch.Tensor]] = []
        handles = [
            layer.register_forward_hook(lambda mod, _inp, out: records.append((mod, out))) for layer in layers
        ]
        try:
            loss = _loss(work, x, y, loss_fn)
        finally:
            for h in handles:
                h.remove()
        acts = [a for _, a in records]
        grads = grads_or_zeros(loss, acts)
        total = 0.0
        with torch.no_grad():
            for (layer, act), grad in zip(records, grads):
                prod = act * grad
                g_nc = prod.sum(dim=tuple(range(2, prod.ndim))) if prod.ndim > 2 else prod
                per_channel = 0.5 * g_nc.pow(2).mean(0)
                fan = math.prod(layer.weight.shape[1:]) if per_weight else 1
                total += float(per_channel.sum()) * fan
        return total
