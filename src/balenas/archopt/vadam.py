"""The Bayesian learning rule for the Gaussian architecture distribution (BaLeNAS).

Two forms, both natural-gradient updates of (mu, s) with gradients taken at a sample
alpha ~ N(mu, 1/(N (s + delta/N))); write lambda = delta / N:

``sqrt`` (default): Variational Adam, Khan et al. 2018, "Fast and scalable Bayesian deep learning by
weight-perturbation in Adam", Algorithm 1::

    m  <- b1 m + (1 - b1) (g + lambda mu)
    s  <- b2 s + (1 - b2) g^2
    mu <- mu - lr * (m / (1 - b1^t)) / (sqrt(s / (1 - b2^t)) + lambda)

``heavy_ball``: the paper's Eq. (17)-(18) (no square root, heavy-ball momentum, no bias correction)::

    s  <- b2 s + (1 - b2) g^2
    mu <- mu - lr * (g + lambda mu) / (s + lambda) + b1 (mu - mu_prev)

``g`` is the gradient of the mean validation loss (averaged over Monte Carlo samples when there are
several). State is two tensors (m or mu_prev, and s) like Adam's, so memory is that of DARTS. Every
architecture-parameter group is updated by the same rule with its own state (the rule is elementwise).
"""

from __future__ import annotations

from typing import Any

import torch

from balenas.archdist.gaussian import GaussianArch
from balenas.archopt.base import ArchOptimizer, check_groups
from balenas.registry import Registry
from balenas.spaces.base import ArchParams

VADAM_FORMS: Registry[str] = Registry("vadam form")
VADAM_FORMS.add("sqrt", "Variational Adam (Khan et al. 2018)")
VADAM_FORMS.add("heavy_ball", "paper Eq. (17)-(18)")


class VAdam(ArchOptimizer):
    def __init__(
        self, dist: GaussianArch, lr: float, betas: tuple[float, float], form: str = "sqrt"
    ) -> None:
        VADAM_FORMS.get(form)
        self.dist = dist
        self.lr = float(lr)
        self.beta1, self.beta2 = (float(b) for b in betas)
        self.form = form
        self.t = 0
        # m (sqrt form) or mu_{t-1} (heavy_ball form), per group
        self.buf = {name: torch.zeros_like(mu) for name, mu in dist.mu.items()}
        if form == "heavy_ball":
            for name, mu in dist.mu.items():
                self.buf[name].copy_(mu.detach())

    @torch.no_grad()
    def step(self, grads: ArchParams) -> None:
        check_groups(grads, self.buf)
        self.t += 1
        for name, mu in self.dist.mu.items():
            self._update(mu, self.dist.s(name), self.buf[name], grads[name].detach().to(mu.device))

    def _update(self, mu: torch.Tensor, s: torch.Tensor, buf: torch.Tensor, grad: torch.Tensor) -> None:
        lam = self.dist.prior_term
        s.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
        if self.form == "sqrt":
            buf.mul_(self.beta1).add_(grad + lam * mu, alpha=1 - self.beta1)
            m_hat = buf / (1 - self.beta1**self.t)
            s_hat = s / (1 - self.beta2**self.t)
            mu.sub_(self.lr * m_hat / (s_hat.sqrt() + lam))
        else:
            prev = mu.detach().clone()
            mu.add_(-self.lr * (grad + lam * mu) / (s + lam) + self.beta1 * (mu - buf))
            buf.copy_(prev)

    def state_dict(self) -> dict[str, Any]:
        return {"t": self.t, "buf": {k: v.clone() for k, v in self.buf.items()}, "form": self.form}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["form"] != self.form:
            raise ValueError(f"checkpoint VAdam form {state['form']!r} != configured {self.form!r}")
        self.t = int(state["t"])
        for name, value in state["buf"].items():
            self.buf[name].copy_(value)
