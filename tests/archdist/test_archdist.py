import math

import pytest
import torch

from balenas.archdist import GaussianArch, SoftmaxArch, flatten, row_softmax, unflatten

CELL = {"cell": (6, 5)}
TWO = {"normal": (3, 4), "reduce": (2, 4)}


def test_softmax_mixing_weights_sum_to_one_per_edge():
    torch.manual_seed(0)
    dist = SoftmaxArch(CELL, init_std=3.0)
    w = dist.mean_weights()
    assert list(w) == ["cell"]
    torch.testing.assert_close(w["cell"].sum(-1), torch.ones(6))
    assert torch.all(w["cell"] > 0)


def test_gaussian_mixing_weights_of_a_sample_sum_to_one():
    dist = GaussianArch(CELL, dataset_size=100, prior_precision=1.0, init_precision=1.0)
    w = dist.to_weights(dist.sample_alpha(torch.Generator().manual_seed(1)))
    torch.testing.assert_close(w["cell"].sum(-1), torch.ones(6))


def test_every_group_gets_its_own_parameters_and_row_softmax():
    torch.manual_seed(0)
    for dist in (
        SoftmaxArch(TWO, init_std=2.0),
        GaussianArch(TWO, dataset_size=10, prior_precision=1.0, init_precision=1.0, init_std=2.0),
    ):
        alpha = dist.sample_alpha(torch.Generator().manual_seed(0))
        assert {k: tuple(v.shape) for k, v in alpha.items()} == TWO
        assert not torch.equal(alpha["normal"][:2], alpha["reduce"])
        w = dist.to_weights(alpha)
        for name, (rows, _) in TWO.items():
            torch.testing.assert_close(w[name].sum(-1), torch.ones(rows))
            torch.testing.assert_close(w[name], torch.softmax(alpha[name], -1))
        assert dist.numel == 3 * 4 + 2 * 4


def test_flatten_unflatten_round_trip_in_group_order_and_keep_gradients():
    params = {"normal": torch.arange(12.0).view(3, 4), "reduce": 100 + torch.arange(8.0).view(2, 4)}
    flat = flatten(params)
    assert flat.shape == (20,)
    assert torch.equal(flat[:12], torch.arange(12.0)) and torch.equal(flat[12:], 100 + torch.arange(8.0))
    back = unflatten(flat, TWO)
    assert list(back) == ["normal", "reduce"]
    assert all(torch.equal(back[k], params[k]) for k in params)
    x = flat.clone().requires_grad_(True)
    (unflatten(x, TWO)["reduce"] * 2).sum().backward()
    assert torch.equal(x.grad, torch.cat([torch.zeros(12), torch.full((8,), 2.0)]))
    with pytest.raises(ValueError, match="21"):
        unflatten(torch.zeros(21), TWO)


def test_row_softmax_is_per_group_last_dim():
    a = {"x": torch.randn(2, 3), "y": torch.randn(1, 5)}
    out = row_softmax(a)
    torch.testing.assert_close(out["y"], torch.softmax(a["y"], dim=-1))
    torch.testing.assert_close(out["x"].sum(-1), torch.ones(2))


def test_sigma_is_inverse_sqrt_of_total_precision():
    n, delta, init = 50, 2.0, 10.0
    dist = GaussianArch({"cell": (2, 3)}, dataset_size=n, prior_precision=delta, init_precision=init)
    # initial total precision N (s + delta / N) equals init_precision
    torch.testing.assert_close(dist.sigma()["cell"], torch.full((2, 3), 1 / math.sqrt(init)))
    dist.s("cell").fill_(0.3)
    torch.testing.assert_close(dist.sigma()["cell"], torch.full((2, 3), 1 / math.sqrt(n * (0.3 + delta / n))))


def test_sigma_buffers_are_per_group():
    dist = GaussianArch(TWO, dataset_size=10, prior_precision=1.0, init_precision=4.0)
    dist.s("reduce").fill_(0.5)
    sigma = dist.sigma()
    torch.testing.assert_close(sigma["normal"], torch.full((3, 4), 0.5))
    torch.testing.assert_close(sigma["reduce"], torch.full((2, 4), 1 / math.sqrt(10 * (0.5 + 0.1))))


def test_gaussian_samples_have_mean_mu_and_std_sigma():
    dist = GaussianArch({"cell": (1, 4)}, dataset_size=10, prior_precision=1.0, init_precision=4.0)
    with torch.no_grad():
        dist.mu["cell"].copy_(torch.tensor([[1.0, -2.0, 0.5, 3.0]]))
    gen = torch.Generator().manual_seed(0)
    samples = torch.stack([dist.sample_alpha(gen)["cell"] for _ in range(20000)])
    torch.testing.assert_close(samples.mean(0), dist.mu["cell"].detach(), atol=0.02, rtol=0)
    torch.testing.assert_close(samples.std(0), torch.full((1, 4), 0.5), atol=0.01, rtol=0)


def test_softmax_sample_alpha_is_deterministic_and_detached():
    dist = SoftmaxArch(CELL)
    a = dist.sample_alpha(torch.Generator().manual_seed(0))
    b = dist.sample_alpha(torch.Generator().manual_seed(1))
    assert torch.equal(a["cell"], b["cell"]) and not a["cell"].requires_grad


def test_mean_alpha_is_a_detached_copy():
    for dist in (SoftmaxArch(CELL), GaussianArch(CELL, dataset_size=10, prior_precision=1.0, init_precision=1.0)):
        mean = dist.mean_alpha()
        assert not mean["cell"].requires_grad
        mean["cell"].add_(1.0)
        assert not torch.equal(mean["cell"], dist.mean_alpha()["cell"])


def test_softmax_selection_params_are_one_hot_draws_from_softmax_alpha():
    dist = SoftmaxArch({"cell": (1, 3)})
    with torch.no_grad():
        dist.alpha["cell"].copy_(torch.log(torch.tensor([[0.2, 0.5, 0.3]])))
    gen = torch.Generator().manual_seed(0)
    draws = torch.stack([dist.selection_params(gen)["cell"][0] for _ in range(4000)])
    assert torch.equal(draws.sum(-1), torch.ones(4000))  # one-hot rows
    torch.testing.assert_close(draws.mean(0), torch.tensor([0.2, 0.5, 0.3]), atol=0.03, rtol=0)


def test_gaussian_selection_params_are_samples_of_q():
    dist = GaussianArch(CELL, dataset_size=10, prior_precision=1.0, init_precision=1.0)
    a = dist.selection_params(torch.Generator().manual_seed(4))
    b = dist.sample_alpha(torch.Generator().manual_seed(4))
    assert torch.equal(a["cell"], b["cell"])


def test_gaussian_rejects_bad_precisions():
    with pytest.raises(ValueError, match="prior_precision"):
        GaussianArch(CELL, dataset_size=10, prior_precision=2.0, init_precision=1.0)
    with pytest.raises(ValueError, match="dataset_size"):
        GaussianArch(CELL, dataset_size=0, prior_precision=1.0, init_precision=1.0)
    with pytest.raises(ValueError, match="mc_samples"):
        GaussianArch(CELL, dataset_size=10, prior_precision=1.0, init_precision=1.0, mc_samples=0)


def test_a_distribution_needs_a_group():
    with pytest.raises(ValueError, match="group"):
        SoftmaxArch({})
