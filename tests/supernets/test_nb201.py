import pytest
import torch

from balenas.spaces import get_space
from balenas.spaces.nb201 import NB201Config
from balenas.supernets import nb201_network, nb201_supernet
from balenas.supernets.nb201 import NB201Cell

SPACE = get_space("nb201")


def n_params(net):
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


@pytest.mark.parametrize("n1,n3", [(0, 0), (1, 4), (6, 0), (0, 6), (3, 3)])
def test_discrete_network_matches_benchmark_parameter_count(n1, n3):
    # shared/data/README.md: params = 0.073306 + 0.028 n1 + 0.24304 n3 (MB) for CIFAR-10 (10 classes)
    ops = ["nor_conv_1x1"] * n1 + ["nor_conv_3x3"] * n3 + ["skip_connect"] * (6 - n1 - n3)
    net = nb201_network(SPACE.genotype(ops))
    assert n_params(net) / 1e6 == pytest.approx(0.073306 + 0.028 * n1 + 0.24304 * n3, abs=1e-6)


def test_supernet_mixed_op_equals_explicit_weighted_sum():
    torch.manual_seed(0)
    cell = NB201Cell(4, [SPACE.op_names] * 6, affine=False, track=False)
    x = torch.randn(3, 4, 6, 6)
    w = torch.softmax(torch.randn(6, 5), -1)
    nodes = [x]
    for node in range(1, 4):
        total = 0
        for e, edge in enumerate(SPACE.edges):
            dst, src = SPACE.edge_nodes(edge)
            if dst == node:
                total = total + sum(w[e, k] * op(nodes[src]) for k, op in enumerate(cell.edges[e]))
        nodes.append(total)
    torch.testing.assert_close(cell(x, w), nodes[-1])


def test_supernet_forward_shapes_and_weight_gradients():
    net = nb201_supernet(NB201Config(channels=4, cells_per_stage=1), num_classes=7, in_channels=1)
    alpha = torch.zeros(6, 5, requires_grad=True)
    out = net(torch.randn(2, 1, 8, 8), {"cell": torch.softmax(alpha, -1)})
    assert out.shape == (2, 7)
    out.sum().backward()
    assert alpha.grad is not None and alpha.grad.abs().sum() > 0
    # the 'none' op contributes nothing, so its weight receives no gradient from the cell
    # (only through the softmax coupling with the others)


def test_supernet_accepts_the_group_dict_or_the_bare_tensor():
    torch.manual_seed(0)
    net = nb201_supernet(NB201Config(channels=4, cells_per_stage=1), num_classes=3, in_channels=1)
    x = torch.randn(2, 1, 8, 8)
    w = torch.softmax(torch.randn(6, 5), -1)
    torch.testing.assert_close(net(x, {"cell": w}), net(x, w))


def test_supernet_under_one_hot_weights_equals_the_discrete_cell():
    # SPACE.one_hot(g) must make the supernet compute exactly g (mixing weights pick one op per edge)
    torch.manual_seed(0)
    g = SPACE.parse("|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|")
    cell = NB201Cell(4, [SPACE.op_names] * 6, affine=False, track=False)
    x = torch.randn(3, 4, 6, 6)
    w = SPACE.one_hot(g)["cell"]
    nodes = [x]
    for node in range(1, 4):
        total = 0
        for e, edge in enumerate(SPACE.edges):
            dst, src = SPACE.edge_nodes(edge)
            if dst == node:
                total = total + cell.edges[e][SPACE.op_names.index(g.ops[e])](nodes[src])
        nodes.append(total)
    torch.testing.assert_close(cell(x, w), nodes[-1])


def test_discrete_network_uses_its_config():
    g = SPACE.genotype(["nor_conv_3x3"] * 6)
    small = nb201_network(g, NB201Config(channels=4, cells_per_stage=1), num_classes=3, in_channels=1)
    large = nb201_network(g, NB201Config(channels=8, cells_per_stage=1), num_classes=3, in_channels=1)
    assert n_params(small) < n_params(large)
    assert small(torch.randn(2, 1, 8, 8)).shape == (2, 3)


def test_discrete_network_rejects_other_spaces():
    from balenas.spaces.base import Genotype

    with pytest.raises(ValueError, match="nb201"):
        nb201_network(Genotype("darts", ("a",) * 6))
