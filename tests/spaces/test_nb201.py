import pandas as pd
import pytest
import torch

from balenas.spaces import SPACES, get_space

SPACE = get_space("nb201")
RESNET = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|"


def test_round_trip_over_all_15625_genotypes():
    seen = set()
    for g in SPACE.enumerate():
        text = SPACE.to_string(g)
        assert SPACE.parse(text) == g
        seen.add(text)
    assert len(seen) == SPACE.size == 15625


def test_string_follows_benchmark_edge_order():
    g = SPACE.parse(RESNET)
    assert g.ops == ("nor_conv_3x3", "none", "nor_conv_3x3", "skip_connect", "none", "none")
    assert SPACE.edges == ("1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2")


@pytest.mark.parametrize(
    "bad",
    [
        "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|",  # two nodes
        "|nor_conv_3x3~1|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|",  # wrong source
        "|conv~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|",  # unknown op
        "nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|",  # missing bar
    ],
)
def test_parse_rejects_malformed_strings(bad):
    with pytest.raises(ValueError):
        SPACE.parse(bad)


def test_every_benchmark_arch_string_parses_and_covers_the_space(nb201_groundtruth):
    archs = pd.read_csv(nb201_groundtruth, usecols=["arch"])["arch"]
    ours = {SPACE.to_string(g) for g in SPACE.enumerate()}
    assert set(archs) == ours
    assert all(SPACE.to_string(SPACE.parse(a)) == a for a in archs[:500])


def test_uniform_sampling_covers_ops_evenly():
    gen = torch.Generator().manual_seed(0)
    counts = torch.zeros(SPACE.num_edges, SPACE.num_ops)
    for _ in range(2000):
        for e, k in enumerate(SPACE.to_indices(SPACE.sample(gen))):
            counts[e, k] += 1
    freq = counts / 2000
    assert torch.all((freq - 0.2).abs() < 0.04), freq


def test_param_groups_are_one_cell_group_of_edges_by_ops():
    assert dict(SPACE.param_groups) == {"cell": (6, 5)}
    assert SPACE.num_edges == 6 and SPACE.num_ops == 5
    assert SPACE.cell_sizes() == {"cell": 6}


def test_derive_is_argmax_per_edge_and_checks_shape():
    logits = torch.full((6, 5), -1.0)
    for e in range(6):
        logits[e, (e + 1) % 5] = 1.0
    g = SPACE.derive({"cell": logits})
    assert SPACE.to_indices(g) == tuple((e + 1) % 5 for e in range(6))
    with pytest.raises(ValueError, match="shape"):
        SPACE.derive({"cell": torch.zeros(5, 6)})


def test_one_hot_selects_the_genotype_and_derives_back():
    g = SPACE.parse(RESNET)
    w = SPACE.one_hot(g)
    assert list(w) == ["cell"] and w["cell"].shape == (6, 5)
    assert torch.equal(w["cell"].sum(-1), torch.ones(6))
    for e, k in enumerate(SPACE.to_indices(g)):
        assert w["cell"][e, k] == 1.0
    assert SPACE.derive(w) == g


def test_op_counts_and_skip_count():
    g = SPACE.parse(RESNET)
    counts = SPACE.op_counts(g)
    assert counts == {
        "cell": {"none": 3, "skip_connect": 1, "nor_conv_1x1": 0, "nor_conv_3x3": 2, "avg_pool_3x3": 0}
    }
    assert sum(counts["cell"].values()) == SPACE.cell_sizes()["cell"]
    assert SPACE.skip_count(g) == 1
    assert SPACE.skip_count(SPACE.genotype(["skip_connect"] * 6)) == 6


def test_unknown_space_lists_valid_names():
    with pytest.raises(KeyError, match="valid spaces: nb201"):
        SPACES.get("darts_cnn")
