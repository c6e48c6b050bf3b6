import math

import torch

from balenas.archdist.controller import LSTMController
from balenas.archopt.reinforce import ControllerAdam, update_baseline

GROUPS = {"cell": (6, 5)}


def _controller():
    torch.manual_seed(0)
    return LSTMController(GROUPS, hidden=8, layers=2, temperature=5.0, tanh_constant=1.5)


def test_samples_are_one_hot_cells_and_log_prob_matches_the_choices():
    dist = _controller()
    s = dist.run(torch.Generator().manual_seed(0))
    w = dist.one_hot(s.choices)["cell"]
    assert w.shape == (6, 5) and torch.equal(w.sum(-1), torch.ones(6))
    # logits are squashed into [-1.5, 1.5]: each op has probability >= e^-1.5 / (e^-1.5 + 4 e^1.5)
    low = math.exp(-1.5) / (math.exp(-1.5) + 4 * math.exp(1.5))
    assert float(s.log_prob.detach()) >= 6 * math.log(low) - 1e-6
    assert 0 < float(s.entropy) <= 6 * math.log(5) + 1e-6


def test_greedy_decoding_is_deterministic_and_sampling_follows_the_generator():
    dist = _controller()
    assert torch.equal(dist.mean_alpha()["cell"], dist.mean_alpha()["cell"])
    a = dist.train_weights(torch.Generator().manual_seed(5), "sample")["cell"]
    b = dist.train_weights(torch.Generator().manual_seed(5), "sample")["cell"]
    assert torch.equal(a, b)


def test_baseline_moving_average():
    assert update_baseline(float("nan"), 0.4, 0.95) == 0.4
    assert update_baseline(0.4, 0.6, 0.95) == 0.95 * 0.4 + 0.05 * 0.6


def test_reinforce_update_raises_the_probability_of_a_rewarded_cell():
    dist = _controller()
    opt = ControllerAdam(dist, 0.05, (0.0, 0.999), 5.0, 0.0, 0.95)
    s = dist.run(torch.Generator().manual_seed(1))
    before = float(s.log_prob)
    names = list(opt.params)
    grads = torch.autograd.grad(-s.log_prob * 1.0, [opt.params[n] for n in names], allow_unused=True)
    opt.step({n: torch.zeros_like(opt.params[n]) if g is None else g for n, g in zip(names, grads)})
    x, state, after = dist.start, None, 0.0
    for idx in s.choices["cell"].tolist():
        out, state = dist.lstm(x, state)
        after += float(torch.log_softmax(dist._logits(out, "cell"), -1)[idx])
        x = dist.embed["cell"](torch.tensor([idx])).view(1, 1, -1)
    assert after > before
