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


GROUPS = {"cell": (1, 2)}


def make(form):
    dist = GaussianArch(GROUPS, dataset_size=N, prior_precision=DELTA, init_precision=INIT)
    with torch.no_grad():
        dist.mu["cell"].copy_(torch.tensor([[0.3, 0.2]]))
    return dist, VAdam(dist, LR, (B1, B2), form=form)


def run(dist, opt, alphas):
    for alpha in alphas:
        g = torch.tensor([grad_at(alpha)])
        opt.step({"cell": g})
    return dist.mu["cell"].detach()[0].tolist(), dist.s("cell")[0].tolist()


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
            opt.step({"cell": torch.tensor([grad_at(dist.mu["cell"].detach()[0].tolist())])})
        assert dist.mu["cell"].detach()[0].tolist() == pytest.approx(target, abs=1e-3), form


def test_state_round_trip_resumes_identically():
    d1, o1 = make("sqrt")
    run(d1, o1, ALPHAS[:1])
    d2, o2 = make("sqrt")
    d2.load_state_dict(d1.state_dict())
    o2.load_state_dict(o1.state_dict())
    assert run(d1, o1, ALPHAS[1:]) == run(d2, o2, ALPHAS[1:])


@pytest.mark.parametrize("form", ["sqrt", "heavy_ball"])
def test_state_is_per_group_and_round_trips(form):
    groups = {"normal": (1, 2), "reduce": (1, 2)}

    def build():
        dist = GaussianArch(groups, dataset_size=N, prior_precision=DELTA, init_precision=INIT)
        with torch.no_grad():
            dist.mu["normal"].copy_(torch.tensor([[0.3, 0.2]]))
            dist.mu["reduce"].copy_(torch.tensor([[-0.4, 0.1]]))
        return dist, VAdam(dist, LR, (B1, B2), form=form)

    d1, o1 = build()
    o1.step({"normal": torch.tensor([[1.0, -1.0]]), "reduce": torch.tensor([[0.2, 0.5]])})
    assert set(o1.state_dict()["buf"]) == {"normal", "reduce"}
    d2, o2 = build()
    d2.load_state_dict(d1.state_dict())
    o2.load_state_dict(o1.state_dict())
    g = {"normal": torch.tensor([[0.3, 0.3]]), "reduce": torch.tensor([[-1.0, 2.0]])}
    o1.step(g)
    o2.step(g)
    for name in groups:
        assert torch.equal(d1.mu[name], d2.mu[name]) and torch.equal(d1.s(name), d2.s(name))


@pytest.mark.parametrize("form", ["sqrt", "heavy_ball"])
def test_each_group_is_updated_as_if_it_were_alone(form):
    """Two groups under one optimizer = each group under its own (the rule is elementwise, t shared)."""
    init = {"normal": [[0.3, 0.2]], "reduce": [[-0.4, 0.1]]}
    grads = [{"normal": [[1.0, -1.0]], "reduce": [[0.2, 0.5]]}, {"normal": [[0.3, 0.0]], "reduce": [[-1.0, 2.0]]}]
    both = GaussianArch({k: (1, 2) for k in init}, dataset_size=N, prior_precision=DELTA, init_precision=INIT)
    with torch.no_grad():
        for k, v in init.items():
            both.mu[k].copy_(torch.tensor(v))
    opt = VAdam(both, LR, (B1, B2), form=form)
    for g in grads:
        opt.step({k: torch.tensor(v) for k, v in g.items()})
    for name in init:
        alone = GaussianArch({"cell": (1, 2)}, dataset_size=N, prior_precision=DELTA, init_precision=INIT)
        with torch.no_grad():
            alone.mu["cell"].copy_(torch.tensor(init[name]))
        o = VAdam(alone, LR, (B1, B2), form=form)
        for g in grads:
            o.step({"cell": torch.tensor(g[name])})
        assert torch.equal(both.mu[name], alone.mu["cell"]), name
        assert torch.equal(both.s(name), alone.s("cell")), name


def test_vadam_rejects_missing_groups():
    dist, opt = make("sqrt")
    with pytest.raises(ValueError, match="cell"):
        opt.step({"normal": torch.zeros(1, 2)})


def test_unknown_form_lists_valid_forms():
    dist = GaussianArch(GROUPS, dataset_size=N, prior_precision=DELTA, init_precision=INIT)
    with pytest.raises(KeyError, match="heavy_ball, sqrt"):
        VAdam(dist, LR, (B1, B2), form="adamw")


def test_adam_arch_equals_torch_adam_on_the_same_gradients():
    torch.manual_seed(0)
    dist = SoftmaxArch({"normal": (2, 3), "reduce": (1, 3)})
    refs = {k: a.detach().clone().requires_grad_(True) for k, a in dist.alpha.items()}
    ref_opts = {k: torch.optim.Adam([r], lr=0.01, betas=(0.5, 0.999), weight_decay=1e-3) for k, r in refs.items()}
    opt = AdamArch(dist, 0.01, (0.5, 0.999), 1e-3)
    for k in range(5):
        g = {"normal": torch.full((2, 3), 0.1 * (k + 1)), "reduce": torch.full((1, 3), -0.2 * (k + 1))}
        opt.step(g)
        for name, ref in refs.items():
            ref.grad = g[name].clone()
            ref_opts[name].step()
    for name, ref in refs.items():
        torch.testing.assert_close(dist.alpha[name].detach(), ref.detach())
        assert dist.alpha[name].grad is None
