"""SynFlow (Tanaka et al. 2020) as a network score, following zero-cost-nas (Abdelfattah et al. 2021).

``R = 1^T (prod_l |W_l|) 1``: the network with every parameter replaced by its absolute value, in double
precision, applied to a single all-ones input and summed over the outputs. The score is
``sum_{conv, linear weights} |theta * dR/dtheta|``.

BatchNorm: the reference scores ``net.get_prunable_copy(bn=False)``, whose BatchNorm layers do nothing
(their ``forward`` is replaced by the identity). Here every BatchNorm layer of the scoring copy is
replaced by :class:`torch.nn.Identity`, which is the same. (Leaving BN in train mode would normalise a
batch of one all-ones image by its own statistics and destroy the "synaptic flow" the score measures.)

Only the input's *shape* is used: the values of the batch and the targets are ignored, so the score is
invariant to the batch, its order and its content.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from balenas.proxies._common import (
    LossFn,
    check_batch,
    device_of,
    grads_or_zeros,
    layer_weights,
    scoring_copy,
)


def remove_batchnorm(net: nn.Module) -> nn.Module:
    """Replace, in place, every BatchNorm module of ``net`` by an identity; returns ``net``."""
    for parent in list(net.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, _BatchNorm):
                setattr(parent, name, nn.Identity())
    return net


def synflow(
    net: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor | None = None,
    loss_fn: LossFn = F.cross_entropy,
) -> float:
    """SynFlow score (float64; higher is better). ``targets`` and ``loss_fn`` are unused."""
    check_batch(inputs, None)
    work = remove_batchnorm(scoring_copy(net, dtype=torch.float64))
    with torch.no_grad():
        for p in work.parameters():
            p.abs_()
    ones = torch.ones((1, *inputs.shape[1:]), dtype=torch.float64, device=device_of(work))
    weights = layer_weights(work)
    grads = grads_or_zeros(work(ones).sum(), weights)
    with torch.no_grad():
        total = sum((w * g).abs().sum() for w, g in zip(weights, grads))
    return float(total)
