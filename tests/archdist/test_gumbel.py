import pytest
import torch

from balenas.archdist.gumbel import GumbelArch, gdas_temperature, straight_through

GROUPS = {"cell": (6, 5)}


def test_straight_through_forward_is_one_hot_and_gradient_is_the_softmax():
    logits = torch.tensor([[0.3, -1.0, 2.0, 0.1]], requires_grad=True)
    tau = 0.7
    w = straight_through(logits, tau)
    assert torch.equal(w.detach(), torch.tensor([[0.0, 0.0, 1.0, 0.0]]))
    probe = torch.tensor([[1.0, -2.0, 0.5, 3.0]])
    (g,) = torch.autograd.grad((w * probe).sum(), logits)
    soft_logits = logits.detach().clone().requires_grad_(True)
    (ref,) = torch.autograd.grad((torch.softmax(soft_logits / tau, -1) * probe).sum(), soft_logits)
    assert torch.allclose(g, ref)
    assert g.abs().sum() > 0


@pytest.mark.parametrize("epoch, expected", [(0, 10.0), (1, 10.0 - 9.9 / 4), (4, 0.1)])
def test_gdas_temperature_after_epoch_k(epoch, expected):
    assert gdas_temperature(epoch, 5, 10.0, 0.1) == pytest.approx(expected)
    dist = GumbelArch(GROUPS, 10.0, 0.1)
    dist.on_epoch_start(epoch, 5)
    assert dist.tau == pytest.approx(expected)


def test_weight_fn_is_fixed_per_step_and_one_hot_per_row():
    torch.manual_seed(0)
    dist = GumbelArch(GROUPS, 10.0, 0.1)
    fn = dist.weight_fn(torch.Generator().manual_seed(3))
    a = dist.mean_alpha()
    w1, w2 = fn(a)["cell"], fn(a)["cell"]
    assert torch.equal(w1, w2)
    assert torch.equal(w1.sum(-1), torch.ones(6)) and set(w1.unique().tolist()) <= {0.0, 1.0}
    other = dist.weight_fn(torch.Generator().manual_seed(4))(a)["cell"]
    assert not torch.equal(other, w1)  # new noise, new cell (6 rows of 5: equal by chance ~1e-4)


def test_bad_temperatures_fail():
    with pytest.raises(ValueError, match="tau_min"):
        GumbelArch(GROUPS, 0.1, 10.0)
