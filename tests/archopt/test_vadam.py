"""Both VAdam forms against updates computed by hand (plain Python floats) on a small quadratic."""

import math

import pytest
import torch

from balenas.archdist import GaussianArch, SoftmaxArch
from balenas.archopt.adam import AdamArch
from balenas.archopt.vadam import VAdam

N, DELTA, INIT = 10, 1.0, 2.0
LR, B1, B2 = 0.1, 0.5, 0.9
A, C = (2.0, 0.5), (1.0, -1.0)  # L(alpha) = sum_i 0.5 * A_i (alpha_i - C_i)^2


def grad_at(alpha):
    return [a * (x - c) for a, x, c in zip(A, alpha, C)]


def make(form):
    dist = GaussianArch((1, 2), dataset_size=N, prior_precision=DELTA, init_precision=INIT)
    with torch.no_grad():
        dist.mu.copy_(torch.tensor([[0.3, 0.2]]))
    return dist, VAdam(dist, LR, (B1, B2), form=form)


def run(dist, opt, alphas):
    for alpha in alphas:
        g = torch.tensor([grad_at(alpha)])
        opt.step(g)
    return dist.mu.detach()[0].tolist(), dist.s[0].tolist()


ALPHAS = [(0.25, 0.4), (0.1, -0.3), (0.6, 0.0)]  # fixed "samples" at which gradients are taken


def test_sqrt_form_matches_hand_computation():
    lam = DELTA / N
    mu, s, m = [0.3, 0.2], [(INIT - DELTA) / N] * 2, [0.0, 0.0]
    for t, alpha in enumerate(ALPHAS, start=1):
        g = grad_at(alpha)
        for i in range(2):
            m[i] = B1 * m[i] + (1 - B1) * (g[i] + lam * mu[i])
            s[i] = B2 * s[i] + (1 - B2) * g[i] ** 2
            m_hat = m[i] / (1 - B1**t)
            s_hat = s[i] / (1 - B2**t)
            mu[i] = mu[i] - LR * m_hat / (math.sqrt(s_hat) + lam)
    got_mu, got_s = run(*make("sqrt"), ALPHAS)
    assert got_mu == pytest.approx(mu, rel=1e-6)
    assert got_s == pytest.approx(s, rel=1e-6)


def test_heavy_ball_form_matches_hand_computation():
    lam = DELTA / N
    mu, prev, s = [0.3, 0.2], [0.3, 0.2], [(INIT - DELTA) / N] * 2
    for alpha in ALPHAS:
        g = grad_at(alpha)
        for i in range(2):
            s[i] = B2 * s[i] + (1 - B2) * g[i] ** 2
            new = mu[i] - LR * (g[i] + lam * mu[i]) / (s[i] + lam) + B1 * (mu[i] - prev[i])
            prev[i], mu[i] = mu[i], new
    got_mu, got_s = run(*make("heavy_ball"), ALPHAS)
    assert got_mu == pytest.approx(mu, rel=1e-6)
    assert got_s == pytest.approx(s, rel=1e-6)


def test_both_forms_converge_to_the_map_estimate_of_the_quadratic():
    # With alpha = mu (no noise), the fixed point solves A (mu - C) + lam mu = 0.
    lam = DELTA / N
    target = [a * c / (a + lam) for a, c in zip(A, C)]
    for form in ("sqrt", "heavy_ball"):
        dist, opt = make(form)
        opt.lr = 0.02
        for _ in range(3000):
            opt.step(torch.tensor([grad_at(dist.mu.detach()[0].tolist())]))
        assert dist.mu.detach()[0].tolist() == pytest.approx(target, abs=1e-3), form


def test_state_round_trip_resumes_identically():
    d1, o1 = make("sqrt")
    run(d1, o1, ALPHAS[:1])
    d2, o2 = make("sqrt")
    d2.load_state_dict(d1.state_dict())
    o2.load_state_dict(o1.state_dict())
    assert run(d1, o1, ALPHAS[1:]) == run(d2, o2, ALPHAS[1:])


def test_unknown_form_lists_valid_forms():
    dist = GaussianArch((1, 2), dataset_size=N, prior_precision=DELTA, init_precision=INIT)
    with pytest.raises(KeyError, match="heavy_ball, sqrt"):
        VAdam(dist, LR, (B1, B2), form="adamw")


def test_adam_arch_equals_torch_adam_on_the_same_gradients():
    torch.manual_seed(0)
    dist = SoftmaxArch((2, 3))
    ref = dist.alpha.detach().clone().requires_grad_(True)
    ref_opt = torch.optim.Adam([ref], lr=0.01, betas=(0.5, 0.999), weight_decay=1e-3)
    opt = AdamArch(dist, 0.01, (0.5, 0.999), 1e-3)
    for k in range(5):
        g = torch.full((2, 3), 0.1 * (k + 1))
        opt.step(g)
        ref.grad = g.clone()
        ref_opt.step()
    torch.testing.assert_close(dist.alpha.detach(), ref.detach())
