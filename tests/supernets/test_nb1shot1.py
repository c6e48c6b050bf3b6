"""The NAS-Bench-1Shot1 one-shot model: shapes, structure, gradients to every architecture group."""

from __future__ import annotations

import pytest
import torch

from balenas.spaces.nb1shot1 import SPACE_CLASSES, NB1Shot1ModelConfig
from balenas.supernets.nb1shot1 import nb1shot1_supernet_factory

TINY = NB1Shot1ModelConfig(channels=4, stacks=3, cells_per_stack=1)


def _alphas(space, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {k: torch.randn(s, generator=gen).mul(0.1).requires_grad_(True) for k, s in space.param_groups.items()}


@pytest.mark.parametrize("name", list(SPACE_CLASSES))
def test_forward_shape_and_gradients_reach_every_group(name: str) -> None:
    torch.manual_seed(0)
    space = SPACE_CLASSES[name]()
    net = nb1shot1_supernet_factory(name)(TINY, 10, 3)
    alphas = _alphas(space)
    weights = {k: torch.softmax(a, dim=-1) for k, a in alphas.items()}
    logits = net(torch.randn(2, 3, 8, 8), weights)
    assert logits.shape == (2, 10)
    torch.nn.functional.cross_entropy(logits, torch.tensor([1, 7])).backward()
    for group, a in alphas.items():
        assert a.grad is not None and a.grad.abs().sum() > 0, f"no gradient reaches {group}"


def test_reference_layout_channels_and_pooling() -> None:
    space = SPACE_CLASSES["nb1shot1-s3"]()
    net = nb1shot1_supernet_factory("nb1shot1-s3")(NB1Shot1ModelConfig(), 10, 3)
    assert len(net.cells) == 9 and net.pool_before == {3, 6}
    widths = [cell.projections[0][0].out_channels for cell in net.cells]
    assert widths == [16] * 3 + [32] * 3 + [64] * 3
    assert net.cells[0].projections[0][0].in_channels == 16  # the stem
    assert net.cells[1].projections[0][0].in_channels == 16 * 5  # concat of 5 blocks
    assert net.cells[3].projections[0][0].in_channels == 16 * 5
    assert net.cells[0].output_projection[0].out_channels == 16 * 5
    assert net.classifier.in_features == 64
    assert all(not m.affine for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert len(space.param_groups) == 6


def test_zero_output_weight_removes_a_block_and_bad_weights_fail() -> None:
    torch.manual_seed(0)
    space = SPACE_CLASSES["nb1shot1-s1"]()
    net = nb1shot1_supernet_factory("nb1shot1-s1")(TINY, 5, 1).eval()
    w = space.one_hot(space.sample(torch.Generator().manual_seed(2)))
    x = torch.randn(1, 1, 8, 8)
    base = net(x, w)
    changed = {k: v.clone() for k, v in w.items()}
    changed["ops"] = torch.roll(changed["ops"], 1, dims=1)
    assert not torch.allclose(net(x, changed), base)
    with pytest.raises(ValueError, match="in_3"):
        net(x, {**w, "in_3": torch.ones(1, 2)})
    with pytest.raises(ValueError, match="do not match"):
        net(x, {k: v for k, v in w.items() if k != "out"})
