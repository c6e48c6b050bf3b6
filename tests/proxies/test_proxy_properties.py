"""Properties every proxy must have on a real (tiny) NAS-Bench-201 network."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from balenas.proxies import PAPER_PROXIES, PROXIES, compute_proxies, compute_proxy, ranking
from balenas.spaces import get_space
from balenas.spaces.nb201 import NB201Config
from balenas.supernets import nb201_network

ARCHS = (
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|",
    "|skip_connect~0|+|none~0|nor_conv_1x1~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_3x3~2|",
)
ALL = PROXIES.keys()


def tiny_net(arch: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nb201_network(get_space("nb201").parse(arch), NB201Config(channels=4, cells_per_stage=1), num_classes=5)


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return torch.randn(8, 3, 8, 8, generator=gen), torch.randint(0, 5, (8,), generator=gen)


def snapshot(net: nn.Module) -> dict[str, object]:
    return {
        "state": {k: v.detach().clone() for k, v in net.state_dict().items()},
        "grads": [None if p.grad is None else p.grad.clone() for p in net.parameters()],
        "flags": [p.requires_grad for p in net.parameters()],
        "modes": [m.training for m in net.modules()],
        "dtypes": [p.dtype for p in net.parameters()],
    }


def assert_same(a: dict[str, object], b: dict[str, object]) -> None:
    assert a["state"].keys() == b["state"].keys()
    for k in a["state"]:
        assert torch.equal(a["state"][k], b["state"][k]), k
    assert a["flags"] == b["flags"] and a["modes"] == b["modes"] and a["dtypes"] == b["dtypes"]
    for ga, gb in zip(a["grads"], b["grads"]):
        assert (ga is None and gb is None) or torch.equal(ga, gb)


def test_registry_and_sign_conventions_cover_the_same_proxies() -> None:
    assert set(PROXIES.keys()) == set(ranking.SIGNS)
    assert set(PAPER_PROXIES) <= set(PROXIES.keys())


def test_unknown_proxy_lists_valid_names(batch) -> None:
    with pytest.raises(KeyError, match="synflow") as err:
        compute_proxy("synflw", tiny_net(ARCHS[0]), *batch)
    assert "snip" in str(err.value) and "grasp" in str(err.value)


@pytest.mark.parametrize("name", ALL)
def test_network_left_untouched(name: str, batch) -> None:
    net = tiny_net(ARCHS[0]).eval()  # eval mode and a stale gradient and a frozen tensor must survive
    params = list(net.parameters())
    params[0].grad = torch.full_like(params[0], 3.0)
    params[1].requires_grad_(False)
    before = snapshot(net)
    compute_proxy(name, net, *batch)
    assert_same(before, snapshot(net))


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_score(name: str, batch) -> None:
    a = compute_proxy(name, tiny_net(ARCHS[1], seed=3), *batch, seed=5)
    b = compute_proxy(name, tiny_net(ARCHS[1], seed=3), *batch, seed=5)
    assert a == b or (math.isnan(a) and math.isnan(b))
    assert math.isfinite(a)


@pytest.mark.parametrize("name", ALL)
def test_global_rng_state_is_restored(name: str, batch) -> None:
    net = tiny_net(ARCHS[0])
    state = torch.get_rng_state()
    compute_proxy(name, net, *batch, seed=123)
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("arch", ARCHS)
def test_invariant_to_batch_order(name: str, arch: str, batch) -> None:
    # One pass over the whole batch, train-mode BN (batch statistics) and a mean loss / symmetric
    # kernel: permuting the examples permutes nothing the score sees. Only float rounding may differ.
    x, y = batch
    perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0))
    net = tiny_net(arch)
    a = compute_proxy(name, net, x, y)
    b = compute_proxy(name, net, x[perm], y[perm])
    assert b == pytest.approx(a, rel=1e-4, abs=1e-9)


def test_synflow_ignores_batch_content(batch) -> None:
    x, y = batch
    net = tiny_net(ARCHS[0])
    assert compute_proxy("synflow", net, x, y) == compute_proxy(
        "synflow", net, 5 * torch.rand_like(x), y.flip(0)
    )


def test_frozen_parameters_score_like_trainable_ones(batch) -> None:
    net = tiny_net(ARCHS[0])
    expected = compute_proxy("snip", net, *batch)
    for p in net.parameters():
        p.requires_grad_(False)
    assert compute_proxy("snip", net, *batch) == expected


def test_grasp_with_splits_is_not_order_invariant(batch) -> None:
    # Chunked BatchNorm statistics depend on which examples share a chunk (documented caveat).
    x, y = batch
    net = tiny_net(ARCHS[0])
    perm = torch.tensor([0, 4, 1, 5, 2, 6, 3, 7])
    a = compute_proxy("grasp", net, x, y, splits=2)
    b = compute_proxy("grasp", net, x[perm], y[perm], splits=2)
    assert a != pytest.approx(b, rel=1e-4)


@pytest.mark.parametrize("name", ["snip", "grasp", "fisher", "jacob_cov"])
def test_network_restored_when_the_proxy_fails(name: str, batch) -> None:
    # Proxies score the caller's network in place (train mode, private buffers) and must put everything
    # back even when scoring raises half-way through.
    net = tiny_net(ARCHS[0]).eval()
    params = list(net.parameters())
    params[1].requires_grad_(False)
    buffers = [b for b in net.buffers()]
    before = snapshot(net)

    def failing_forward(module: nn.Module, _inp: object, _out: torch.Tensor) -> None:
        raise RuntimeError("boom")

    handle = net.classifier.register_forward_hook(failing_forward)
    with pytest.raises(RuntimeError, match="boom"):
        compute_proxy(name, net, *batch)
    handle.remove()
    assert_same(before, snapshot(net))
    assert all(a is b for a, b in zip(buffers, net.buffers()))  # the caller's own tensors are back


def test_batchnorm_statistics_of_the_caller_are_never_written(batch) -> None:
    net = tiny_net(ARCHS[0])
    running = [m.running_mean for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    versions = [t._version for t in running]
    compute_proxy("snip", net, *batch)
    assert [t._version for t in running] == versions


def test_compute_proxies_equals_one_by_one_to_the_last_bit(batch) -> None:
    names = ["synflow", "grasp", "snip", "naswot", "grad_norm"]
    net = tiny_net(ARCHS[1], seed=2)
    before = snapshot(net)
    seconds: dict[str, float] = {}
    together = compute_proxies(names, net, *batch, seed=4, timings=seconds)
    assert list(together) == names and set(seconds) == set(names)
    assert together == {name: compute_proxy(name, net, *batch, seed=4) for name in names}
    assert_same(before, snapshot(net))


def test_compute_proxies_runs_one_forward_for_the_gradient_proxies(batch) -> None:
    net = tiny_net(ARCHS[0])
    calls = []
    net.register_forward_hook(lambda *_: calls.append(1))
    compute_proxies(["snip", "grad_norm", "grasp"], net, *batch)
    assert len(calls) == 1
    calls.clear()
    compute_proxies(["snip", "fisher"], net, *batch)  # fisher needs its own pass (activation gradients)
    assert len(calls) == 2


def test_compute_proxies_seeds_the_shared_pass_like_each_proxy_alone(batch) -> None:
    # Dropout draws its mask from the global RNG: the shared forward must see the stream each proxy sees.
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 16), nn.Dropout(0.5), nn.ReLU(), nn.Linear(16, 5))
    together = compute_proxies(["snip", "grasp"], net, *batch, seed=9)
    assert together == {n: compute_proxy(n, net, *batch, seed=9) for n in ("snip", "grasp")}
    assert together["snip"] != compute_proxy("snip", net, *batch, seed=10)
