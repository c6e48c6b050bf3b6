"""The DARTS space: genotype text/JSON, published cells, the derivation rule, sampling, encodings."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import torch

from balenas.spaces.darts import (
    DARTS_OPS,
    GENOTYPE_OPS,
    PUBLISHED,
    DartsGenotype,
    DartsSpace,
    derive_cell,
    edge_index,
    format_genotype,
    parse_genotype,
    published_genotype,
)

SPACE = DartsSpace()
OP = {name: k for k, name in enumerate(DARTS_OPS)}


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_published_text_round_trips(name: str) -> None:
    entry = PUBLISHED[name]
    g = entry.genotype
    assert entry.source.startswith("https://github.com/") and entry.paper
    text = SPACE.to_string(g)
    assert SPACE.parse(text) == g
    assert format_genotype(parse_genotype(text)) == text
    assert SPACE.from_json(json.loads(json.dumps(SPACE.to_json(g)))) == g
    assert hash(g) == hash(SPACE.parse(text))
    if "range(" not in entry.text:  # printed in the canonical form: identical text
        assert text == entry.text


def test_published_cells_are_as_printed() -> None:
    v2 = published_genotype("DARTS_V2")
    assert v2.normal[:2] == (("sep_conv_3x3", 0), ("sep_conv_3x3", 1))
    assert v2.normal[-1] == ("dil_conv_3x3", 2)
    assert v2.reduce_concat == (2, 3, 4, 5)
    assert SPACE.op_counts(published_genotype("DARTS_V1"))["normal"]["skip_connect"] == 3
    assert SPACE.op_counts(v2)["normal"]["skip_connect"] == 2
    assert published_genotype("PC_DARTS").normal_concat == (2, 3, 4, 5)  # printed as range(2, 6)
    assert len({published_genotype(n) for n in PUBLISHED}) == len(PUBLISHED)


def test_text_form_is_the_communitys() -> None:
    g = published_genotype("DARTS_V1")
    assert str(g).startswith("Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ")
    assert ", normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), " in str(g)
    assert str(g).endswith("('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])")
    # positional fields (the namedtuple order) and tuples parse too
    pos = f"Genotype({list(g.normal)}, (2, 3, 4, 5), {list(g.reduce)}, [2, 3, 4, 5])"
    assert parse_genotype(pos) == g


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os').system('true')", "Genotype"),
        ("Genotype(normal=[('sep_conv_3x3', 0)] * 8, normal_concat=[2], reduce=[], reduce_concat=[2])", "literal"),
        ("Genotype(normal=[('sep_conv_7x7', 0), ('sep_conv_3x3', 1)], normal_concat=[2], "
         "reduce=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], reduce_concat=[2])", "sep_conv_7x7"),
        ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 2)], normal_concat=[2], "
         "reduce=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], reduce_concat=[2])", "inputs 0..1"),
        ("Genotype(normal=[('none', 0), ('sep_conv_3x3', 1)], normal_concat=[2], "
         "reduce=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], reduce_concat=[2])", "'none'"),
        ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], normal_concat=[2])", "reduce"),
        ("Genotype(normal=[", "syntax"),
    ],
)
def test_parse_rejects_bad_text(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_genotype(text)


def test_space_rejects_other_node_counts() -> None:
    three = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], normal_concat=[2], " \
            "reduce=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], reduce_concat=[2])"
    assert parse_genotype(three).steps == 1
    with pytest.raises(ValueError, match="4 nodes"):
        SPACE.parse(three)


def test_from_json_names_missing_key() -> None:
    blob = SPACE.to_json(published_genotype("DrNAS"))
    del blob["reduce_concat"]
    with pytest.raises(ValueError, match="reduce_concat"):
        SPACE.from_json(blob)


# --- the derivation rule on hand-made weights -------------------------------------------------------


def _flat(value: float = 0.1) -> torch.Tensor:
    return torch.full((14, len(DARTS_OPS)), value)


def test_ties_resolve_to_lower_input_and_earlier_op() -> None:
    cell = derive_cell(_flat())
    first_op = GENOTYPE_OPS[0]  # max_pool_3x3: the first non-none op
    assert cell == tuple((first_op, j) for _ in range(4) for j in (0, 1))


def test_none_is_never_chosen_nor_ranks_edges() -> None:
    w = _flat(0.0)
    # node 2 (rows 0,1): edge from input 0 has a huge `none` but weak others; input 1 modest conv
    w[edge_index(0, 0), OP["none"]] = 10.0
    w[edge_index(0, 0), OP["skip_connect"]] = 0.2
    w[edge_index(0, 1), OP["sep_conv_5x5"]] = 0.5
    # node 3: input 2 has the largest none; inputs 0 and 1 carry real ops
    w[edge_index(1, 2), OP["none"]] = 9.0
    w[edge_index(1, 2), OP["dil_conv_3x3"]] = 0.1
    w[edge_index(1, 0), OP["avg_pool_3x3"]] = 0.3
    w[edge_index(1, 1), OP["sep_conv_3x3"]] = 0.4
    cell = derive_cell(w)
    assert cell[0:2] == (("sep_conv_5x5", 1), ("skip_connect", 0))
    assert cell[2:4] == (("sep_conv_3x3", 1), ("avg_pool_3x3", 0))
    assert all(op != "none" for op, _ in cell)


def test_top2_per_node_strongest_first() -> None:
    w = _flat(0.0)
    strengths = {0: 0.2, 1: 0.1, 2: 0.7, 3: 0.3, 4: 0.6}  # node 5 (index 3) takes inputs 0..4
    for src, s in strengths.items():
        w[edge_index(3, src), OP["dil_conv_5x5"]] = s
    w[edge_index(3, 2), OP["max_pool_3x3"]] = 0.69  # second-best op on the winning edge
    cell = derive_cell(w)
    assert cell[6:8] == (("dil_conv_5x5", 2), ("dil_conv_5x5", 4))


def test_equal_strength_edges_keep_lower_input() -> None:
    w = _flat(0.0)
    for src in (1, 2, 3):
        w[edge_index(2, src), OP["skip_connect"]] = 0.5
    assert derive_cell(w)[4:6] == (("skip_connect", 1), ("skip_connect", 2))


def test_derive_ranks_on_softmax_as_darts_does() -> None:
    logits = {g: torch.zeros(14, 8) for g in ("normal", "reduce")}
    # edge 2<-0: two ops tie at logit 5 -> softmax ~0.5 each; edge 2<-1: one op at 4 -> softmax ~0.9
    logits["normal"][0, OP["sep_conv_3x3"]] = 5.0
    logits["normal"][0, OP["sep_conv_5x5"]] = 5.0
    logits["normal"][1, OP["dil_conv_3x3"]] = 4.0
    g = SPACE.derive(logits)
    assert g.normal[:2] == (("dil_conv_3x3", 1), ("sep_conv_3x3", 0))
    assert SPACE.derive_from_weights(logits).normal[:2] == (("sep_conv_3x3", 0), ("dil_conv_3x3", 1))
    assert SPACE.discretise(logits) == g


def test_derive_checks_groups_and_values() -> None:
    with pytest.raises(ValueError, match="groups"):
        SPACE.derive({"normal": torch.zeros(14, 8)})
    with pytest.raises(ValueError, match="shape"):
        SPACE.derive({"normal": torch.zeros(14, 7), "reduce": torch.zeros(14, 8)})
    with pytest.raises(ValueError, match="non-finite"):
        derive_cell(torch.full((14, 8), float("nan")))


# --- sampling, one-hot, counts, size ----------------------------------------------------------------


def test_sample_is_seeded_valid_and_uniform() -> None:
    a = [SPACE.sample(torch.Generator().manual_seed(3)) for _ in range(2)]
    assert a[0] == a[1]
    gen = torch.Generator().manual_seed(0)
    ops: Counter[str] = Counter()
    pairs: Counter[tuple[int, int]] = Counter()
    n = 1500
    for _ in range(n):
        g = SPACE.sample(gen)
        ops.update(op for op, _ in g.normal)
        pairs[(g.normal[6][1], g.normal[7][1])] += 1
    assert set(ops) == set(GENOTYPE_OPS)
    assert all(abs(c / (8 * n) - 1 / 7) < 0.02 for c in ops.values())
    assert len(pairs) == 10 and all(a < b for a, b in pairs)  # C(5, 2) input pairs of node 5, ascending
    assert all(abs(c / n - 0.1) < 0.03 for c in pairs.values())


def test_one_hot_selects_the_genotype() -> None:
    g = SPACE.sample(torch.Generator().manual_seed(1))
    w = SPACE.one_hot(g)
    assert set(w) == {"normal", "reduce"} and w["normal"].shape == (14, 8)
    assert w["normal"].sum() == 8 and w["reduce"].sum() == 8
    assert SPACE.derive_from_weights(w) == g  # sampled inputs are ascending, the rule's tie order
    assert SPACE.derive(w) == g
    v1 = published_genotype("DARTS_V1")
    assert w["normal"][:, OP["none"]].sum() == 0
    assert SPACE.one_hot(v1)["normal"][edge_index(3, 2), OP["skip_connect"]] == 1


def test_counts_sizes_and_no_enumeration() -> None:
    counts = SPACE.op_counts(published_genotype("DARTS_V1"))
    assert set(counts) == {"normal", "reduce"} and set(counts["normal"]) == set(DARTS_OPS)
    assert sum(counts["normal"].values()) == 8 and counts["reduce"]["max_pool_3x3"] == 4
    assert SPACE.cell_sizes() == {"normal": 8, "reduce": 8}
    assert SPACE.skip_cell == "normal" and SPACE.skip_op == "skip_connect"
    assert dict(SPACE.param_groups) == {"normal": (14, 8), "reduce": (14, 8)}
    # per cell: prod over nodes with n = 2..5 inputs of C(n, 2) * 7^2
    assert SPACE.size == (1 * 3 * 6 * 10 * 7**8) ** 2
    with pytest.raises(NotImplementedError, match="cannot be enumerated"):
        next(iter(SPACE.enumerate()))


def test_genotype_is_frozen_and_normalises_lists() -> None:
    g = DartsGenotype(
        normal=[["sep_conv_3x3", 0], ["skip_connect", 1]] * 4,  # type: ignore[arg-type]
        normal_concat=[2, 3, 4, 5],  # type: ignore[arg-type]
        reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1)] * 4,
        reduce_concat=(2, 3, 4, 5),
    )
    assert g.normal[0] == ("sep_conv_3x3", 0) and g.space == "darts"
    with pytest.raises(AttributeError):
        g.space = "nb201"  # type: ignore[misc]
    {g: 1}  # hashable
