"""The space base classes: group checks, the edge-space defaults, op statistics."""

from dataclasses import dataclass

import pytest
import torch

from balenas.spaces import EdgeSpace, Genotype, check_groups
from balenas.spaces.base import SearchSpace


@dataclass(frozen=True)
class ToyConfig:
    width: int = 2


class ToySpace(EdgeSpace):
    """Three edges, three ops, a group named other than NB201's (nothing may assume 'cell')."""

    name = "toy"
    op_names = ("none", "skip_connect", "conv")
    edges = ("a", "b", "c")
    group = "normal"
    skip_cell = "normal"
    model_config = ToyConfig
    network_config = ToyConfig

    def to_string(self, genotype):
        return ",".join(genotype.ops)

    def parse(self, text):
        return self.genotype(text.split(","))


SPACE = ToySpace()


def test_search_space_is_abstract():
    with pytest.raises(TypeError):
        SearchSpace()


def test_edge_space_groups_follow_edges_and_ops():
    assert dict(SPACE.param_groups) == {"normal": (3, 3)}
    assert SPACE.cell_sizes() == {"normal": 3}
    assert SPACE.size == 27


def test_check_groups_names_the_wrong_group():
    groups = {"normal": (3, 3), "reduce": (2, 3)}
    check_groups({"normal": torch.zeros(3, 3), "reduce": torch.zeros(2, 3)}, groups)
    with pytest.raises(ValueError, match="'reduce'.*\\(3, 2\\).*\\(2, 3\\)"):
        check_groups({"normal": torch.zeros(3, 3), "reduce": torch.zeros(3, 2)}, groups)
    with pytest.raises(ValueError, match="reduce"):
        check_groups({"normal": torch.zeros(3, 3)}, groups)
    with pytest.raises(ValueError, match="extra"):
        check_groups({"normal": torch.zeros(3, 3), "reduce": torch.zeros(2, 3), "extra": torch.zeros(1)}, groups)
    with pytest.raises(ValueError, match="mapping"):
        check_groups(torch.zeros(3, 3), groups)


def test_derive_rejects_a_bare_tensor_and_wrong_group_name():
    with pytest.raises(ValueError, match="mapping"):
        SPACE.derive(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="cell"):
        SPACE.derive({"cell": torch.zeros(3, 3)})


def test_one_hot_selects_the_genotype():
    gen = torch.Generator().manual_seed(0)
    for _ in range(10):
        g = SPACE.sample(gen)
        w = SPACE.one_hot(g)
        assert list(w) == ["normal"]
        expected = torch.zeros(3, 3)
        for e, k in enumerate(SPACE.to_indices(g)):
            expected[e, k] = 1.0
        assert torch.equal(w["normal"], expected)
        assert SPACE.derive(w) == g


def test_op_counts_and_skip_count_in_the_skip_cell():
    g = SPACE.genotype(["skip_connect", "conv", "skip_connect"])
    assert SPACE.op_counts(g) == {"normal": {"none": 0, "skip_connect": 2, "conv": 1}}
    assert SPACE.skip_count(g) == 2
    assert SPACE.skip_count(SPACE.genotype(["none"] * 3)) == 0


def test_genotype_rejects_wrong_length_and_unknown_ops():
    with pytest.raises(ValueError):
        SPACE.genotype(["conv", "conv"])
    with pytest.raises(ValueError):
        SPACE.genotype(["conv", "conv", "pool"])


def test_model_config_blocks_are_checked_naming_the_key():
    assert SPACE.make_model_config({"width": 3}) == ToyConfig(3)
    assert SPACE.make_network_config(None) == ToyConfig()
    with pytest.raises(ValueError, match=r"space_settings\.toy\.supernet.*depth"):
        SPACE.make_model_config({"depth": 1})


def test_json_round_trip_checks_the_space():
    g = SPACE.genotype(["none", "conv", "skip_connect"])
    blob = SPACE.to_json(g)
    assert blob["space"] == "toy" and blob["ops"] == ["none", "conv", "skip_connect"]
    assert SPACE.from_json(blob) == g
    with pytest.raises(ValueError, match="nb201"):
        SPACE.from_json({**blob, "space": "nb201"})
    assert isinstance(g, Genotype)
