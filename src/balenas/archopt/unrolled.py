"""DARTS' second-order (unrolled) hypergradient, as a pure gradient estimator.

Liu et al., "DARTS: Differentiable Architecture Search", ICLR 2019, Eq. 6-8. For architecture
parameters ``alpha`` (the DARTS parameter itself, or a BaLeNAS sample ``mu + eps * sigma``) the
estimator returns

    d/d alpha  L_val(w'(alpha), alpha),      w'(alpha) = w - xi * D(w, alpha)

where ``D`` is the direction of one *virtual* step of the weight optimizer (SGD with momentum and
weight decay) on a training batch. By the chain rule

    grad = dL_val(w', alpha)/d alpha  -  xi * d^2 L_train(w, alpha)/(d alpha d w) . v,
    v    = dL_val(w', alpha)/d w'

and the mixed Hessian-vector product is taken by a central finite difference (Eq. 8)

    H v ~= (dL_train(w+, alpha)/d alpha - dL_train(w-, alpha)/d alpha) / (2 eps),
    w+- = w +- eps v,   eps = eps_scale / ||v||,

whose error is O(eps_scale^2) (the perturbation has length ``eps_scale`` in weight space) as long as
the loss is smooth between w- and w+. With ReLU networks it often is not: dL/d alpha jumps where a ReLU
pre-activation changes sign, and a perturbation that crosses such a kink makes the quotient wrong by
jump / (2 eps). On a tiny float64 NB201 supernet DARTS' eps_scale = 0.01 crossed 4-14 of 3008 kinks and
gave relative errors of 0.2-4 in the Hessian-vector product; with no kink crossed the error fell 100x per
decade of eps_scale (see tests/archopt/test_unrolled.py). That is a property of DARTS' estimator, which
is reproduced here as published. In a larger batch each jump is one example's share, but more kinks
are crossed; the net effect at paper scale has not been measured here.

Purity. Nothing here writes to the network or the optimizer: every forward pass goes through
:func:`torch.func.functional_call` with substituted parameter tensors (w, w', w+, w-), so
``p.data`` is never modified (public DARTS code adds and subtracts ``R * v`` in place, which does not
restore the weights bit-exactly), ``p.grad`` is never touched (``torch.autograd.grad`` only), and the
optimizer's momentum buffers are read, never written. Batch-norm running statistics (the stem, the
reduction blocks and the final BN of the NB201 supernet track them; the cells do not) would be updated
by each of the four forward passes in train mode; every forward pass is therefore given *clones* of all
module buffers (running mean/var and ``num_batches_tracked``), so the module's own buffers are never
written. The network's train/eval mode is respected, not changed: in train mode BN normalises with
batch statistics, so the clones do not affect the result; in eval mode they hold the current running
statistics, which is what the network would use.

The network's forward must be deterministic (no dropout / drop-path): the finite difference compares
two forward passes and a random mask would make it meaningless.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call

from balenas.registry import Registry

log = logging.getLogger(__name__)

Batch = tuple[torch.Tensor, torch.Tensor]
Criterion = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
ToWeights = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class SGDGroupSettings:
    """The hyperparameters of one ``torch.optim.SGD`` parameter group that a virtual step uses."""

    lr: float
    momentum: float
    dampening: float
    weight_decay: float
    nesterov: bool

    @classmethod
    def from_group(cls, group: Mapping[str, object]) -> SGDGroupSettings:
        if group.get("maximize", False):
            raise ValueError("unrolled hypergradient: SGD with maximize=True is not supported")
        return cls(
            lr=float(group["lr"]),  # type: ignore[arg-type]
            momentum=float(group.get("momentum", 0.0)),  # type: ignore[arg-type]
            dampening=float(group.get("dampening", 0.0)),  # type: ignore[arg-type]
            weight_decay=float(group.get("weight_decay", 0.0)),  # type: ignore[arg-type]
            nesterov=bool(group.get("nesterov", False)),
        )


# A virtual-step rule: (w, dL_train/dw, momentum buffer or None, settings) ->
# (direction D with w' = w - lr * D, the coefficient c of dL_train/dw inside D).
# c enters the implicit term: d w' / d alpha = -lr * c * d^2 L_train / (d w d alpha).
VirtualStepRule = Callable[
    [torch.Tensor, torch.Tensor, torch.Tensor | None, SGDGroupSettings], tuple[torch.Tensor, float]
]


def _darts_direction(
    w: torch.Tensor, g: torch.Tensor, buf: torch.Tensor | None, s: SGDGroupSettings
) -> tuple[torch.Tensor, float]:
    """DARTS' virtual step: D = momentum * buf + g + wd * w (nesterov and dampening ignored).

    This is what DARTS (quark0/darts ``Architect._compute_unrolled_model``) and the NAS-Bench-201 DARTS-V2
    code do even though their weight optimizer is Nesterov SGD. It equals the real step exactly for plain
    momentum SGD without dampening; with ``nesterov=True`` the real step is
    ``w - lr * ((1 + m) (g + wd w) + m^2 buf)``: this rule weights the gradient by 1 instead of 1 + m
    and the buffer by m instead of m^2. Use ``virtual_step="sgd"`` for the exact step.
    """
    direction = g + s.weight_decay * w
    if buf is not None and s.momentum != 0.0:
        direction = direction + s.momentum * buf
    return direction, 1.0


def _sgd_direction(
    w: torch.Tensor, g: torch.Tensor, buf: torch.Tensor | None, s: SGDGroupSettings
) -> tuple[torch.Tensor, float]:
    """Exactly the direction ``torch.optim.SGD.step`` would take (momentum, dampening, nesterov).

    Mirrors PyTorch: on the first step the buffer is initialised to the gradient without dampening.
    """
    d_p = g + s.weight_decay * w
    if s.momentum == 0.0:
        return d_p, 1.0
    if buf is None:
        new_buf, c_buf = d_p, 1.0
    else:
        new_buf, c_buf = s.momentum * buf + (1.0 - s.dampening) * d_p, 1.0 - s.dampening
    if s.nesterov:
        return d_p + s.momentum * new_buf, 1.0 + s.momentum * c_buf
    return new_buf, c_buf


VIRTUAL_STEPS: Registry[VirtualStepRule] = Registry("virtual step")
VIRTUAL_STEPS.add("darts", _darts_direction)
VIRTUAL_STEPS.add("sgd", _sgd_direction)


@dataclass(frozen=True)
class _Weights:
    """The optimised network parameters, in a fixed order, with their optimizer settings and buffers."""

    names: tuple[str, ...]
    values: tuple[torch.Tensor, ...]  # detached views of the live parameters
    settings: tuple[SGDGroupSettings, ...]
    buffers: tuple[torch.Tensor | None, ...]  # momentum buffers (read only)


def _collect_weights(network: nn.Module, w_optimizer: torch.optim.Optimizer) -> _Weights:
    if not isinstance(w_optimizer, torch.optim.SGD):
        raise TypeError(
            f"unrolled hypergradient needs the weight optimizer to be torch.optim.SGD, got "
            f"{type(w_optimizer).__name__}"
        )
    name_of = {id(p): n for n, p in network.named_parameters()}
    names: list[str] = []
    values: list[torch.Tensor] = []
    settings: list[SGDGroupSettings] = []
    buffers: list[torch.Tensor | None] = []
    for group in w_optimizer.param_groups:
        s = SGDGroupSettings.from_group(group)
        for p in group["params"]:
            if id(p) not in name_of:
                raise ValueError(
                    f"the weight optimizer holds a parameter of shape {tuple(p.shape)} that is not a "
                    "parameter of the network"
                )
            if not p.requires_grad:
                continue
            names.append(name_of[id(p)])
            values.append(p.detach())
            settings.append(s)
            buf = w_optimizer.state.get(p, {}).get("momentum_buffer")
            buffers.append(None if buf is None else buf.detach())
    if not names:
        raise ValueError("the weight optimizer holds no trainable parameter of the network")
    return _Weights(tuple(names), tuple(values), tuple(settings), tuple(buffers))


def stateless_loss(
    network: nn.Module,
    params: Mapping[str, torch.Tensor],
    weights: torch.Tensor,
    batch: Batch,
    criterion: Criterion,
) -> torch.Tensor:
    """``criterion(network(x, weights), y)`` with ``params`` substituted and module state untouched.

    Parameters not in ``params`` are the network's own. Every buffer is passed as a clone, so BN
    running statistics of the module are never written (see the module docstring).
    """
    x, y = batch
    state: dict[str, torch.Tensor] = {n: b.clone() for n, b in network.named_buffers()}
    state.update(params)
    return criterion(functional_call(network, state, (x, weights)), y)


def _grads_or_zeros(
    loss: torch.Tensor, inputs: Sequence[torch.Tensor], create_graph: bool = False
) -> list[torch.Tensor]:
    grads = torch.autograd.grad(loss, list(inputs), allow_unused=True, create_graph=create_graph)
    return [torch.zeros_like(x) if g is None else g for g, x in zip(grads, inputs)]


def _virtual_step(
    ws: _Weights, grads: Sequence[torch.Tensor], rule: VirtualStepRule
) -> tuple[list[torch.Tensor], list[float]]:
    """w' = w - lr * D per parameter, and the effective step ``lr * c`` on dL_train/dw per parameter."""
    new: list[torch.Tensor] = []
    xi_eff: list[float] = []
    for w, g, buf, s in zip(ws.values, grads, ws.buffers, ws.settings):
        direction, coeff = rule(w, g, buf, s)
        new.append(w - s.lr * direction)
        xi_eff.append(s.lr * coeff)
    return new, xi_eff


def _unroll(
    network: nn.Module,
    ws: _Weights,
    to_weights: ToWeights,
    alpha: torch.Tensor,
    train_batch: Batch,
    criterion: Criterion,
    rule: VirtualStepRule,
) -> tuple[list[torch.Tensor], list[float]]:
    """One virtual step at the current weights: (w' detached, per parameter; effective step lr * c)."""
    with torch.enable_grad():
        leaves = [w.detach().requires_grad_(True) for w in ws.values]
        weights = to_weights(alpha.detach())
        loss = stateless_loss(network, dict(zip(ws.names, leaves)), weights, train_batch, criterion)
        grads = [g.detach() for g in _grads_or_zeros(loss, leaves)]
    new, xi_eff = _virtual_step(ws, grads, rule)
    return [t.detach() for t in new], xi_eff


def virtual_sgd_step(
    network: nn.Module,
    to_weights: ToWeights,
    alpha: torch.Tensor,
    train_batch: Batch,
    w_optimizer: torch.optim.Optimizer,
    criterion: Criterion,
    virtual_step: str = "darts",
) -> dict[str, torch.Tensor]:
    """The unrolled weights ``w'`` (name -> detached tensor) of one virtual optimizer step; pure."""
    ws = _collect_weights(network, w_optimizer)
    new, _ = _unroll(network, ws, to_weights, alpha, train_batch, criterion, VIRTUAL_STEPS.get(virtual_step))
    return dict(zip(ws.names, new))


def finite_difference_mixed_hvp(
    network: nn.Module,
    to_weights: ToWeights,
    alpha: torch.Tensor,
    batch: Batch,
    criterion: Criterion,
    params: Mapping[str, torch.Tensor],
    vector: Mapping[str, torch.Tensor],
    eps_scale: float = 0.01,
) -> torch.Tensor:
    """(d^2 L / d alpha d w) . v at w = ``params`` by DARTS' central difference (Eq. 8); pure.

    ``eps = eps_scale / ||v||`` so the weights move by exactly ``eps_scale`` along v; the result is
    ``(g(w + eps v) - g(w - eps v)) / (2 eps)`` with ``g = dL/d alpha``. A zero vector gives zeros.
    """
    if eps_scale <= 0 or not math.isfinite(eps_scale):
        raise ValueError(f"eps_scale must be a positive finite number, got {eps_scale}")
    names = list(params)
    if set(names) != set(vector):
        raise ValueError("finite_difference_mixed_hvp: params and vector must have the same names")
    norm = torch.sqrt(sum((vector[n].detach().double() ** 2).sum() for n in names))
    if float(norm) == 0.0:
        return torch.zeros_like(alpha)
    eps = eps_scale / float(norm)
    grads: list[torch.Tensor] = []
    with torch.enable_grad():
        for sign in (1.0, -1.0):
            shifted = {n: (params[n] + sign * eps * vector[n]).detach() for n in names}
            a = alpha.detach().clone().requires_grad_(True)
            loss = stateless_loss(network, shifted, to_weights(a), batch, criterion)
            grads.append(_grads_or_zeros(loss, [a])[0])
    # Public DARTS copies that write `(x - y) / 2*eps` compute (x - y) * eps / 2 (Python evaluates
    # `/` and `*` left to right); the central difference divides by the full step 2 * eps.
    return (grads[0] - grads[1]) / (2.0 * eps)


def unrolled_hypergradient(
    network: nn.Module,
    to_weights: ToWeights,
    alpha: torch.Tensor,
    train_batch: Batch,
    val_batch: Batch,
    w_optimizer: torch.optim.Optimizer,
    criterion: Criterion,
    eps_scale: float = 0.01,
    virtual_step: str = "darts",
) -> torch.Tensor:
    """DARTS' second-order estimate of dL_val/d alpha (Eq. 7-8) at ``alpha``; pure.

    Args:
        network: the supernet, ``network(x, weights)``; its parameters, buffers, grads and mode are
            left exactly as they were.
        to_weights: architecture parameters -> mixing weights (e.g. row-wise softmax).
        alpha: where the gradient is taken; treated as a constant leaf (detached), so the result is
            dL_val/d alpha for any method (DARTS alpha, BaLeNAS sample) and chains as the caller likes.
        train_batch, val_batch: ``(inputs, targets)`` already on the network's device.
        w_optimizer: the weight optimizer (``torch.optim.SGD``); its per-group lr (= xi), momentum,
            dampening, weight decay and momentum buffers define the virtual step; read only.
        criterion: ``criterion(logits, targets) -> scalar loss``.
        eps_scale: length of the finite-difference perturbation in weight space (DARTS: 0.01).
        virtual_step: ``"darts"`` (default; D = momentum * buf + g + wd * w, nesterov ignored, as in
            DARTS' and NAS-Bench-201's code, so search results are comparable with theirs) or ``"sgd"``
            (the exact ``torch.optim.SGD`` step including nesterov and dampening).

    Returns:
        A detached tensor shaped like ``alpha``.

    With several parameter groups of different lr, the implicit term is sum_i xi_i H_i v_i; it is
    computed as one central difference along u = xi * v (eps = eps_scale / ||u||), which for a single
    lr visits the very same points w +- eps_scale * v / ||v|| as DARTS' Eq. 8.
    """
    rule = VIRTUAL_STEPS.get(virtual_step)
    ws = _collect_weights(network, w_optimizer)
    a_const = alpha.detach()
    # 1. dL_train/dw at w, and the virtual step w'.
    unrolled, xi_eff = _unroll(network, ws, to_weights, a_const, train_batch, criterion, rule)
    with torch.enable_grad():
        # 2. dL_val(w', alpha)/d alpha and v = dL_val(w', alpha)/dw'.
        w_prime = [t.requires_grad_(True) for t in unrolled]
        a = a_const.clone().requires_grad_(True)
        loss_val = stateless_loss(network, dict(zip(ws.names, w_prime)), to_weights(a), val_batch, criterion)
        grads = _grads_or_zeros(loss_val, [a, *w_prime])
    dalpha, v = grads[0], grads[1:]
    # 3. Implicit term sum_i xi_i (d^2 L_train / d alpha d w_i) v_i by a central difference at w.
    u = {n: xi * vi for n, xi, vi in zip(ws.names, xi_eff, v)}
    implicit = finite_difference_mixed_hvp(
        network, to_weights, a_const, train_batch, criterion, dict(zip(ws.names, ws.values)), u, eps_scale
    )
    log.debug(
        "unrolled hypergradient: |direct|=%.3e |implicit|=%.3e", float(dalpha.norm()), float(implicit.norm())
    )
    return (dalpha - implicit).detach()


def unrolled_hypergradient_exact(
    network: nn.Module,
    to_weights: ToWeights,
    alpha: torch.Tensor,
    train_batch: Batch,
    val_batch: Batch,
    w_optimizer: torch.optim.Optimizer,
    criterion: Criterion,
    virtual_step: str = "darts",
) -> torch.Tensor:
    """The same hypergradient by autograd through the virtual step (``create_graph``); pure.

    No finite difference: exact up to rounding. Costs a double backward through the training loss, so
    it is a reference for tests and small networks, not the search default.
    """
    rule = VIRTUAL_STEPS.get(virtual_step)
    ws = _collect_weights(network, w_optimizer)
    with torch.enable_grad():
        a = alpha.detach().clone().requires_grad_(True)
        leaves = [w.detach().requires_grad_(True) for w in ws.values]
        loss_train = stateless_loss(
            network, dict(zip(ws.names, leaves)), to_weights(a), train_batch, criterion
        )
        g_train = _grads_or_zeros(loss_train, leaves, create_graph=True)
        # w' depends on alpha only through g_train; w itself is a constant here.
        unrolled, _ = _virtual_step(ws, g_train, rule)
        loss_val = stateless_loss(network, dict(zip(ws.names, unrolled)), to_weights(a), val_batch, criterion)
        (grad,) = torch.autograd.grad(loss_val, [a])
    return grad.detach()


__all__ = [
    "VIRTUAL_STEPS",
    "SGDGroupSettings",
    "finite_difference_mixed_hvp",
    "stateless_loss",
    "unrolled_hypergradient",
    "unrolled_hypergradient_exact",
    "virtual_sgd_step",
]
