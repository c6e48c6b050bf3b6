"""Hessian tracking during a search: what it measures, and that it disturbs nothing."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from balenas.analysis.hessian import validation_hessian_spectrum
from balenas.analysis.tracking import HESSIAN_KEYS, hessian_batches, hessian_record
from balenas.archdist import GaussianArch, SoftmaxArch, flatten, unflatten
from balenas.data import ImageSet
from balenas.stages import search as search_stage_module
from balenas.spaces.nb201 import NB201Config
from balenas.supernets import nb201_supernet

GROUPS = {"cell": (6, 5)}


def tiny_data(n: int = 40, seed: int = 0) -> ImageSet:
    gen = torch.Generator().manual_seed(seed)
    return ImageSet(torch.randn(n, 3, 8, 8, generator=gen), torch.randint(0, 3, (n,), generator=gen), 3)


def tiny_state(dist_cls: type, seed: int = 0) -> SimpleNamespace:
    torch.manual_seed(seed)
    net = nb201_supernet(NB201Config(channels=4, cells_per_stage=1), num_classes=3).train()
    dist = SoftmaxArch(GROUPS, init_std=0.5) if dist_cls is SoftmaxArch else GaussianArch(GROUPS, 100, 1.0, 1.0, 0.5)
    return SimpleNamespace(network=net, dist=dist)


def test_search_stage_uses_the_tracking_hook():
    """The stage imports the hook directly (a broken import fails loudly); that it records the Hessian
    columns end to end is tested in tests/stages/test_search_stage.py."""
    assert search_stage_module.hessian_record is hessian_record


def test_batches_are_disjoint_fixed_and_independent_of_global_rng():
    data = tiny_data(40)
    torch.manual_seed(1)
    first = hessian_batches(data, seed=3, batch_size=16, count=5)
    torch.manual_seed(2)
    again = hessian_batches(data, seed=3, batch_size=16, count=5)
    assert len(first) == 2  # only two full batches of 16 in 40 examples
    for (x1, y1), (x2, y2) in zip(first, again):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    rows = torch.cat([x for x, _ in first]).reshape(32, -1)
    assert len({tuple(r.tolist()) for r in rows}) == 32  # no example twice
    other = hessian_batches(data, seed=4, batch_size=16, count=1)
    assert not torch.equal(other[0][0], first[0][0])
    (small,) = hessian_batches(tiny_data(10), seed=0, batch_size=16, count=3)
    assert len(small[1]) == 10


@pytest.mark.parametrize("dist_cls", [SoftmaxArch, GaussianArch])
def test_record_is_the_spectrum_at_the_mean_and_touches_nothing(dist_cls):
    state = tiny_state(dist_cls)
    data = tiny_data(40)
    cfg = SimpleNamespace(seed=0, batch_size=16, hessian_batches=2, hessian_chunk=32, hessian_batch_size=None, hessian_mode="forward")
    net_before = copy.deepcopy(state.network.state_dict())
    dist_before = copy.deepcopy(state.dist.state_dict())
    rng_before = torch.get_rng_state()
    state.network.eval()  # the record measures in train mode and restores the caller's mode
    record = hessian_record(cfg, state, data, None)
    assert not state.network.training
    assert torch.equal(torch.get_rng_state(), rng_before)
    for k, v in state.network.state_dict().items():
        assert torch.equal(v, net_before[k]), k
    for k, v in state.dist.state_dict().items():
        assert torch.equal(v, dist_before[k]), k
    assert all(p.grad is None for p in state.network.parameters())
    assert set(HESSIAN_KEYS) == set(record)

    state.network.train()
    # at mean_alpha(): for BaLeNAS mu, while a sample (sigma = 1 here) would give another spectrum
    dist = state.dist
    expected = validation_hessian_spectrum(
        state.network,
        lambda flat: dist.to_weights(unflatten(flat, dist.groups)),
        flatten(dist.mean_alpha()),
        hessian_batches(data, 0, 16, 2),
        nn.CrossEntropyLoss(),
    )
    # all 30 architecture parameters of the space (every group) are in the Hessian
    assert expected.eigenvalues.shape == (30,)
    assert record["hessian_max_eig"] == pytest.approx(expected.max_eigenvalue, rel=1e-5, abs=1e-7)
    assert record["hessian_min_eig"] == pytest.approx(expected.min_eigenvalue, rel=1e-5, abs=1e-7)
    assert record["hessian_max_abs_eig"] == max(abs(record["hessian_max_eig"]), abs(record["hessian_min_eig"]))
    assert record["hessian_examples"] == 32
    assert record["hessian_max_eig"] > 0  # cross-entropy of a random supernet is curved in alpha



class TwoGroupToy(nn.Module):
    """A network whose logits depend on two architecture-parameter groups (like DARTS' normal/reduce)."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(3 * 8 * 8, 3)

    def forward(self, x: torch.Tensor, weights: dict[str, torch.Tensor]) -> torch.Tensor:
        z = self.head(x.flatten(1))
        return z * weights["normal"][0, 0] + torch.tanh(z.roll(1, dims=1)) * weights["reduce"][1, 2]


def test_record_covers_every_group_of_the_space():
    torch.manual_seed(0)
    groups = {"normal": (2, 3), "reduce": (2, 3)}
    state = SimpleNamespace(network=TwoGroupToy(), dist=SoftmaxArch(groups, init_std=0.5))
    data = tiny_data(40)
    cfg = SimpleNamespace(seed=0, batch_size=16, hessian_batches=2, hessian_chunk=32, hessian_batch_size=None, hessian_mode="forward")
    record = hessian_record(cfg, state, data, None)

    batches = hessian_batches(data, 0, 16, 2)
    mean = state.dist.mean_alpha()

    def loss(normal: torch.Tensor, reduce: torch.Tensor) -> torch.Tensor:
        w = {"normal": torch.softmax(normal, -1), "reduce": torch.softmax(reduce, -1)}
        return sum(nn.functional.cross_entropy(state.network(x, w), y) for x, y in batches) / len(batches)

    blocks = torch.autograd.functional.hessian(loss, (mean["normal"], mean["reduce"]))
    full = torch.cat([torch.cat([b.reshape(6, 6) for b in row], dim=1) for row in blocks], dim=0)
    assert float(full[6:, 6:].abs().max()) > 1e-4  # the second group really is curved
    eigs = torch.linalg.eigvalsh(((full + full.T) / 2).double())
    assert record["hessian_max_eig"] == pytest.approx(float(eigs[-1]), rel=1e-4, abs=1e-6)
    assert record["hessian_min_eig"] == pytest.approx(float(eigs[0]), rel=1e-4, abs=1e-6)


def test_hessian_chunk_changes_memory_not_values():
    """search.hessian_chunk reaches the Hessian: one row per backward and all rows at once agree to rounding."""
    state, data = tiny_state(SoftmaxArch), tiny_data(40)
    records = [hessian_record(SimpleNamespace(seed=0, batch_size=16, hessian_batches=1, hessian_chunk=c,
                                                   hessian_batch_size=None, hessian_mode="forward"), state, data)
               for c in (1, 7, 1000)]
    for r in records[1:]:
        assert r["hessian_max_eig"] == pytest.approx(records[0]["hessian_max_eig"], rel=1e-4, abs=1e-6)
        assert r["hessian_min_eig"] == pytest.approx(records[0]["hessian_min_eig"], rel=1e-4, abs=1e-6)


def test_hessian_batch_size_and_mode_reach_the_record():
    """search.hessian_batch_size sets the examples per Hessian batch (not the search batch size), and both
    hessian modes give the same eigenvalues."""
    state = tiny_state(SoftmaxArch)
    data = tiny_data(40)
    base = dict(seed=0, batch_size=16, hessian_batches=2, hessian_chunk=32)
    small = hessian_record(SimpleNamespace(**base, hessian_batch_size=8, hessian_mode="forward"), state, data)
    assert small["hessian_examples"] == 16
    default = hessian_record(SimpleNamespace(**base, hessian_batch_size=None, hessian_mode="forward"), state, data)
    assert default["hessian_examples"] == 32
    reverse = hessian_record(SimpleNamespace(**base, hessian_batch_size=None, hessian_mode="reverse"), state, data)
    assert reverse["hessian_max_eig"] == pytest.approx(default["hessian_max_eig"], rel=1e-5)
    assert small["hessian_max_eig"] != pytest.approx(default["hessian_max_eig"], rel=1e-6)
