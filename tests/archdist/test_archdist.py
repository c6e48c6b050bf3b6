import math

import pytest
import torch

from balenas.archdist import GaussianArch, SoftmaxArch


def test_softmax_mixing_weights_sum_to_one_per_edge():
    torch.manual_seed(0)
    dist = SoftmaxArch((6, 5), init_std=3.0)
    w = dist.mean_weights()
    torch.testing.assert_close(w.sum(-1), torch.ones(6))
    assert torch.all(w > 0)


def test_gaussian_mixing_weights_of_a_sample_sum_to_one():
    dist = GaussianArch((6, 5), dataset_size=100, prior_precision=1.0, init_precision=1.0)
    w = dist.to_weights(dist.sample_alpha(torch.Generator().manual_seed(1)))
    torch.testing.assert_close(w.sum(-1), torch.ones(6))


def test_sigma_is_inverse_sqrt_of_total_precision():
    n, delta, init = 50, 2.0, 10.0
    dist = GaussianArch((2, 3), dataset_size=n, prior_precision=delta, init_precision=init)
    # initial total precision N (s + delta / N) equals init_precision
    torch.testing.assert_close(dist.sigma(), torch.full((2, 3), 1 / math.sqrt(init)))
    dist.s.fill_(0.3)
    torch.testing.assert_close(dist.sigma(), torch.full((2, 3), 1 / math.sqrt(n * (0.3 + delta / n))))


def test_gaussian_samples_have_mean_mu_and_std_sigma():
    dist = GaussianArch((1, 4), dataset_size=10, prior_precision=1.0, init_precision=4.0)
    with torch.no_grad():
        dist.mu.copy_(torch.tensor([[1.0, -2.0, 0.5, 3.0]]))
    gen = torch.Generator().manual_seed(0)
    samples = torch.stack([dist.sample_alpha(gen) for _ in range(20000)])
    torch.testing.assert_close(samples.mean(0), dist.mu.detach(), atol=0.02, rtol=0)
    torch.testing.assert_close(samples.std(0), torch.full((1, 4), 0.5), atol=0.01, rtol=0)


def test_softmax_sample_alpha_is_deterministic_and_detached():
    dist = SoftmaxArch((6, 5))
    a = dist.sample_alpha(torch.Generator().manual_seed(0))
    b = dist.sample_alpha(torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not a.requires_grad


def test_gaussian_rejects_bad_precisions():
    with pytest.raises(ValueError, match="prior_precision"):
        GaussianArch((6, 5), dataset_size=10, prior_precision=2.0, init_precision=1.0)
    with pytest.raises(ValueError, match="dataset_size"):
        GaussianArch((6, 5), dataset_size=0, prior_precision=1.0, init_precision=1.0)
