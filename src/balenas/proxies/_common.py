"""Pieces shared by every proxy: the scoring view or copy, the weight layers, chunking of a batch.

The caller's parameters, buffers (BatchNorm running statistics), ``.grad`` fields, ``requires_grad``
flags and train/eval mode are never changed by a proxy. Proxies that only differentiate the network
score it in place through :func:`scoring_view` (train mode, every parameter trainable, buffers swapped
for private copies; all restored on exit), which costs a few milliseconds where a deep copy of a
paper-size NB201 network costs tens. SynFlow, which rewrites the weights and the layers, scores a
:func:`scoring_copy`. Both are in train mode, as the zero-cost-nas reference's copies are
(``get_prunable_copy`` calls ``.train()``): BatchNorm normalises with the statistics of the batch.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: Layers whose weights the per-parameter proxies are summed over (the reference uses Conv2d and Linear).
WEIGHT_LAYERS: tuple[type[nn.Module], ...] = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def scoring_copy(net: nn.Module, dtype: torch.dtype | None = None) -> nn.Module:
    """A deep copy of ``net`` in train mode, every parameter trainable, no stale gradients."""
    work = copy.deepcopy(net)
    if dtype is not None:
        work = work.to(dtype)
    work.train()
    for p in work.parameters():
        p.requires_grad_(True)
        p.grad = None
    return work


@contextmanager
def scoring_view(net: nn.Module) -> Iterator[nn.Module]:
    """``net`` itself, in train mode with every parameter trainable and every buffer a private copy.

    On exit (also after an error) the original buffer tensors (never written: BatchNorm updates the
    copies' running statistics), ``requires_grad`` flags and train/eval modes are put back. Gradients
    must be taken with ``torch.autograd.grad`` (which leaves ``.grad`` alone), not ``backward``. The
    network computes exactly what a deep copy of it would, so scores are the same to the last bit.
    """
    modes = [(m, m.training) for m in net.modules()]
    flags = [(p, p.requires_grad) for p in net.parameters()]
    buffers = [
        (m, name, b) for m in net.modules() for name, b in m._buffers.items() if b is not None
    ]
    try:
        for m, name, b in buffers:
            m._buffers[name] = b.clone()
        for p, _ in flags:
            p.requires_grad_(True)
        net.train()
        yield net
    finally:
        for m, name, b in buffers:
            m._buffers[name] = b
        for p, flag in flags:
            p.requires_grad_(flag)
        for m, mode in modes:
            m.training = mode


def weight_layers(net: nn.Module) -> list[nn.Module]:
    """Conv and Linear layers of ``net`` in module order."""
    return [m for m in net.modules() if isinstance(m, WEIGHT_LAYERS)]


def layer_weights(net: nn.Module) -> list[torch.Tensor]:
    """The ``weight`` tensors of :func:`weight_layers` (biases are not scored, as in the reference)."""
    weights = [m.weight for m in weight_layers(net)]
    if not weights:
        raise ValueError(f"{type(net).__name__} has no Conv or Linear layer to score")
    return weights


def grads_or_zeros(
    outputs: torch.Tensor, wrt: Sequence[torch.Tensor], create_graph: bool = False
) -> list[torch.Tensor]:
    """``d outputs / d wrt``; a tensor the output does not depend on gets a zero gradient."""
    grads = torch.autograd.grad(outputs, list(wrt), create_graph=create_graph, allow_unused=True)
    return [torch.zeros_like(w) if g is None else g for g, w in zip(grads, wrt)]


def device_of(net: nn.Module) -> torch.device:
    """Device of the first parameter (CPU for a parameter-free module)."""
    for p in net.parameters():
        return p.device
    return torch.device("cpu")


def split_bounds(n: int, splits: int) -> list[tuple[int, int]]:
    """``[start, end)`` of ``splits`` consecutive chunks of ``n`` items, as the reference splits a batch."""
    if not 1 <= splits <= n:
        raise ValueError(f"splits must be between 1 and the batch size {n}, got {splits}")
    return [(s * n // splits, (s + 1) * n // splits) for s in range(splits)]


def check_batch(inputs: torch.Tensor, targets: torch.Tensor | None) -> None:
    """Fail early on a batch that cannot be scored."""
    if inputs.ndim < 2 or inputs.shape[0] < 1:
        raise ValueError(f"inputs must be a non-empty batch (N, ...), got shape {tuple(inputs.shape)}")
    if targets is not None and targets.shape[0] != inputs.shape[0]:
        raise ValueError(f"{inputs.shape[0]} inputs but {targets.shape[0]} targets")
