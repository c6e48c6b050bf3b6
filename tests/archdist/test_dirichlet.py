import torch

from balenas.archdist.dirichlet import DirichletArch, concentration, dirichlet_mean, dirichlet_sample
from balenas.archopt.drnas import DrNASAdam, penalty_grads


def test_concentration_is_elu_plus_one():
    a = torch.tensor([[-3.0, 0.0, 2.0]])
    assert torch.allclose(concentration(a), torch.tensor([[torch.exp(torch.tensor(-3.0)) - 1 + 1, 1.0, 3.0]]))


def test_samples_lie_on_the_simplex_and_their_mean_matches_the_concentration():
    alpha = torch.tensor([[2.0, 0.0, -1.0, 0.5, 1.0]]).repeat(4000, 1)
    s = dirichlet_sample(alpha, seed=7)
    assert (s >= 0).all() and torch.allclose(s.sum(-1), torch.ones(4000), atol=1e-5)
    beta = concentration(alpha[0])
    assert torch.allclose(s.mean(0), beta / beta.sum(), atol=0.01)
    assert torch.allclose(dirichlet_mean(alpha[:1])[0], beta / beta.sum())


def test_weight_fn_is_fixed_per_step_and_differentiable():
    torch.manual_seed(0)
    dist = DirichletArch({"cell": (6, 5)})
    fn = dist.weight_fn(torch.Generator().manual_seed(1))
    a = {"cell": dist.mean_alpha()["cell"].requires_grad_(True)}
    w1, w2 = fn(a)["cell"], fn(a)["cell"]
    assert torch.equal(w1, w2)
    (g,) = torch.autograd.grad((w1 * torch.arange(5.0)).sum(), a["cell"])
    assert g.abs().sum() > 0
    w3 = dist.weight_fn(torch.Generator().manual_seed(2))(a)["cell"]
    assert not torch.equal(w1, w3)


def test_l2_penalty_gradient_and_optimizer_step_pull_the_concentration_down():
    torch.manual_seed(0)
    dist = DirichletArch({"cell": (2, 3)})
    with torch.no_grad():
        dist.alpha["cell"].copy_(torch.tensor([[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]]))
    g = penalty_grads(dist, "l2", 0.5)["cell"]
    a = dist.alpha["cell"].detach()
    beta = concentration(a)
    dbeta = torch.where(a > 0, torch.ones_like(a), torch.exp(a))
    assert torch.allclose(g, 0.5 * 2 * beta * dbeta)
    opt = DrNASAdam(dist, 0.1, (0.5, 0.999), 0.0, "l2", 1.0)
    before = dist.alpha["cell"].detach().clone()
    opt.step({"cell": torch.zeros(2, 3)})  # no data gradient: only the penalty moves alpha
    assert (dist.alpha["cell"].detach() < before).all()
