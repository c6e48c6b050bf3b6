import torch

from balenas.archdist.uniform import SetnArch, UniformArch, uniform_one_hot

GROUPS = {"cell": (6, 5)}


def test_uniform_one_hot_is_one_op_per_row_and_covers_every_op():
    gen = torch.Generator().manual_seed(0)
    draws = torch.stack([uniform_one_hot(GROUPS, gen)["cell"] for _ in range(500)])
    assert torch.equal(draws.sum(-1), torch.ones(500, 6))
    freq = draws.mean(0)
    assert torch.allclose(freq, torch.full((6, 5), 0.2), atol=0.07)


def test_randomnas_has_no_parameters_and_trains_sampled_cells():
    dist = UniformArch(GROUPS)
    assert list(dist.parameters()) == []
    a = dist.train_weights(torch.Generator().manual_seed(0), "sample")["cell"]
    b = dist.train_weights(torch.Generator().manual_seed(1), "mean")["cell"]
    assert torch.equal(a.sum(-1), torch.ones(6)) and not torch.equal(a, b)


def test_setn_weight_step_is_uniform_whatever_alpha():
    torch.manual_seed(0)
    dist = SetnArch(GROUPS)
    with torch.no_grad():
        dist.alpha["cell"][:, 1] = 50.0  # softmax puts everything on op 1
    gen = torch.Generator().manual_seed(0)
    picks = torch.stack([dist.train_weights(gen, "sample")["cell"].argmax(-1) for _ in range(200)])
    assert (picks != 1).float().mean() > 0.6
