"""The supernet selectors (RandomNAS ``supernet``, SETN ``topk``, ENAS ``controller``): candidates and
the pick of the best by the shared weights' validation accuracy."""

import torch
from torch import nn

from balenas.archdist.uniform import SetnArch
from balenas.select import (
    ALL_SELECTORS,
    SUPERNET_SELECTORS,
    distinct,
    log_probability,
    supernet_select,
    validation_batches,
)
from balenas.spaces import get_space


class OneGoodCell(nn.Module):
    """A fake supernet: right on every example only under the one-hot weights of ``good``, else wrong."""

    def __init__(self, good: dict[str, torch.Tensor], classes: int = 3) -> None:
        super().__init__()
        self.good, self.classes = good, classes
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x, weights):
        ok = torch.equal(weights["cell"], self.good["cell"])
        y = x[:, 0].long()
        target = y if ok else (y + 1) % self.classes
        return nn.functional.one_hot(target, self.classes).float() + 0 * self.dummy


def _batches():
    x = torch.zeros(8, 1)
    x[:, 0] = torch.arange(8) % 3
    return [(x, x[:, 0].long())]


def test_supernet_select_picks_the_candidate_the_shared_weights_score_best():
    space = get_space("nb201")
    gen = torch.Generator().manual_seed(0)
    cands = distinct([space.sample(gen) for _ in range(6)])
    good = cands.genotypes[3]
    table = supernet_select(cands, space, OneGoodCell(space.one_hot(good)), _batches())
    assert table["score"].tolist() == [0.0, 0.0, 0.0, 100.0, 0.0, 0.0]
    assert table.loc[table["rank"] == 0, "genotype"].item() == space.to_string(good)
    assert sorted(table["rank"]) == list(range(6))
    # ties go to the candidate drawn first
    flat = supernet_select(cands, space, OneGoodCell(space.one_hot(space.sample(gen))), _batches())
    assert flat.loc[flat["rank"] == 0, "candidate"].item() == 0


def test_topk_returns_the_most_probable_cells_in_order():
    space = get_space("nb201")
    torch.manual_seed(0)
    dist = SetnArch(space.param_groups)
    with torch.no_grad():
        dist.alpha["cell"].copy_(torch.randn(6, 5))
    top = SUPERNET_SELECTORS.get("topk")(space, dist, 5, 0)
    w = dist.mean_weights()
    lp = [log_probability(space, w, g) for g in top]
    assert lp == sorted(lp, reverse=True)
    best = space.derive(dist.mean_alpha())
    assert top[0] == best
    assert all(log_probability(space, w, space.sample(torch.Generator().manual_seed(s))) <= lp[-1] + 1e-9
               for s in range(50) if space.sample(torch.Generator().manual_seed(s)) not in top)


def test_uniform_candidates_depend_on_the_seed_only_and_all_selectors_are_known():
    space = get_space("nb201")
    a = SUPERNET_SELECTORS.get("supernet")(space, None, 10, 3)
    assert a == SUPERNET_SELECTORS.get("supernet")(space, None, 20, 3)[:10]
    assert {ALL_SELECTORS.get(n) for n in ("tf", "uniform")} == {"proxy"}
    assert {ALL_SELECTORS.get(n) for n in ("supernet", "topk", "controller")} == {"supernet"}


def test_validation_batches_are_disjoint_and_bounded_by_the_data():
    from balenas.data import ImageSet

    data = ImageSet(torch.arange(20.0).view(20, 1, 1, 1), torch.zeros(20, dtype=torch.long), 2, {})
    batches = validation_batches(data, 6, 100, seed=0)
    assert len(batches) == 3
    seen = torch.cat([x.view(-1) for x, _ in batches])
    assert len(seen.unique()) == 18
