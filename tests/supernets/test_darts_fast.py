import copy

import pytest
import torch

from balenas.spaces.darts.space import DartsModelConfig
from balenas.speed import SpeedConfig, build_supernet
from balenas.supernets.darts import darts_supernet
from balenas.supernets.darts_fast import FastDartsSupernet, darts_fast_supernet

CFG = DartsModelConfig(C=4, layers=3)  # a normal cell between the two reduction cells


def _pair(dtype=torch.float32):
    torch.manual_seed(0)
    plain = darts_supernet(CFG, 10).to(dtype)
    fast = darts_fast_supernet(CFG, 10).to(dtype)
    fast.load_state_dict(plain.state_dict())
    return plain, fast


def _weights(gen, dtype):
    return {g: torch.softmax(torch.randn(14, 8, generator=gen, dtype=dtype), -1) for g in ("normal", "reduce")}


def _step(net, x, y, weights):
    w = {g: t.clone().requires_grad_(True) for g, t in weights.items()}
    loss = torch.nn.functional.cross_entropy(net(x, w), y)
    grads = torch.autograd.grad(loss, [w["normal"], w["reduce"], *net.parameters()])
    return loss.detach(), grads


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_fast_darts_supernet_gives_the_plain_loss_and_gradients(dtype, tol):
    plain, fast = _pair(dtype)
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(4, 3, 8, 8, generator=gen, dtype=dtype), torch.randint(10, (4,), generator=gen)
    weights = _weights(gen, dtype)
    lp, gp = _step(plain, x, y, weights)
    lf, gf = _step(fast, x, y, weights)
    assert torch.equal(lp, lf)  # the forward runs the same ops on the same tensors
    assert len(gp) == len(gf)
    for a, b in zip(gp, gf):
        assert (a - b).abs().max() <= tol
    assert gp[0].abs().max() > 0 and gp[1].abs().max() > 0


def test_fast_darts_supernet_keeps_every_pool_bn_running_statistics_like_the_plain_one():
    plain, fast = _pair()
    gen = torch.Generator().manual_seed(2)
    x, y = torch.randn(4, 3, 8, 8, generator=gen), torch.randint(10, (4,), generator=gen)
    weights = _weights(gen, torch.float32)
    for _ in range(2):
        _step(plain, x, y, weights)
        _step(fast, x, y, weights)
    sp, sf = plain.state_dict(), fast.state_dict()
    assert list(sp) == list(sf)
    moved = [k for k in sp if k.endswith("running_mean") and ".ops.1.1." in k]  # max-pool BNs, one per edge
    assert moved and all(not torch.equal(sp[k], torch.zeros_like(sp[k])) for k in moved)
    assert all(torch.equal(sp[k], sf[k]) for k in sp)  # buffers too, bit for bit
    plain.eval(), fast.eval()  # eval mode: each edge's own ops and running statistics
    with torch.no_grad():
        assert torch.equal(plain(x, weights), fast(x, weights))


def test_speed_config_builds_the_fast_darts_supernet():
    net = build_supernet("darts", SpeedConfig(supernet="fast"), CFG, 10, 3, torch.device("cpu"))
    assert isinstance(net, FastDartsSupernet)
    assert list(net.state_dict()) == list(darts_supernet(CFG, 10).state_dict())
    copy.deepcopy(net)  # checkpoints deep-copy the network


@pytest.mark.parametrize("method,order", [("darts", 2), ("balenas", 1)])
def test_a_search_with_the_fast_darts_supernet_follows_the_plain_one(method, order):
    """Whole search epochs (second-order DARTS step, BaLeNAS' samples, the weight step, resumable state):
    the fast supernet's run ends where the plain one's does, up to float32 rounding."""
    from balenas.data import DataConfig, load_dataset
    from balenas.search import SearchConfig, run_search

    dcfg = DataConfig("digits", "digits", input_size=8, max_examples=96, crop_padding=1, flip=False)
    data = load_dataset(dcfg, seed=0)
    settings = {
        "darts": {"lr": 0.01, "betas": (0.5, 0.999), "weight_decay": 1e-3, "init_std": 1e-3},
        "balenas": {"lr": 0.01, "betas": (0.5, 0.999), "prior_precision": 1.0, "init_precision": 1.0,
                    "init_std": 1e-3, "mc_samples": 2, "form": "sqrt", "dataset_size": None},
    }[method]

    def run(supernet):
        cfg = SearchConfig(space="darts", dataset="digits", method=method, seed=0, method_settings=settings,
                           order=order, epochs=2, batch_size=16, model={"C": 2, "layers": 3},
                           speed=SpeedConfig(supernet=supernet))
        return run_search(cfg, data, dcfg, torch.device("cpu"))

    plain, fast = run("plain"), run("fast")
    for group, mu in plain.dist.mean_alpha().items():
        assert (mu - fast.dist.mean_alpha()[group]).abs().max() <= 1e-5, group
    assert list(plain.history.columns) == list(fast.history.columns)
    last_p, last_f = plain.history.iloc[-1], fast.history.iloc[-1]
    assert abs(last_p["train_loss"] - last_f["train_loss"]) <= 1e-4
