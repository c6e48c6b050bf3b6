"""The core seams (issue 10): a new space and new methods plug in through the registries alone.

A toy space with two architecture-parameter groups of different widths (``ops``: 2 edges x 3 ops,
``route``: 1 x 4 inputs) is registered with its supernet and discrete network, and run through the search
loop (DARTS and BaLeNAS, both orders), derivation, sampling for selection, Hessian tracking and the search
report; a straight-through Gumbel method with a per-epoch temperature and a method with no architecture
step run through the same loop. Nothing in balenas.search is edited or patched.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from types import MappingProxyType

import pytest
import torch
from torch import nn

from balenas.analysis.tracking import hessian_record
from balenas.archdist import ArchDistribution, SoftmaxArch
from balenas.archopt.adam import AdamArch
from balenas.archopt.steps import no_arch_step
from balenas.data import DataConfig, load_dataset
from balenas.methods import METHODS, Method
from balenas.search import SearchConfig, run_search
from balenas.select import sample_genotypes
from balenas.spaces import SPACES, SearchSpace
from balenas.supernets import NETWORKS, SUPERNETS

OPS = ("zero", "conv", "pool")
ROUTES = 4


@dataclass(frozen=True)
class ToyGenotype:
    space: str
    ops: tuple[str, str]
    route: int


@dataclass(frozen=True)
class ToyConfig:
    channels: int = 3


class ToySpace(SearchSpace):
    """2 edges choosing one of 3 ops (group ``ops``), then one of 4 scaled routes (group ``route``)."""

    name = "toy2"
    op_names = OPS
    skip_op = "pool"
    skip_cell = "edges"
    model_config = ToyConfig
    network_config = ToyConfig

    @property
    def param_groups(self):
        return MappingProxyType({"ops": (2, len(OPS)), "route": (1, ROUTES)})

    def derive(self, params):
        ops = params["ops"].argmax(-1).tolist()
        return ToyGenotype(self.name, (OPS[ops[0]], OPS[ops[1]]), int(params["route"][0].argmax()))

    def sample(self, generator):
        idx = torch.randint(len(OPS), (2,), generator=generator).tolist()
        return ToyGenotype(self.name, (OPS[idx[0]], OPS[idx[1]]), int(torch.randint(ROUTES, (1,), generator=generator)))

    def one_hot(self, genotype):
        ops = torch.zeros(2, len(OPS))
        for e, op in enumerate(genotype.ops):
            ops[e, OPS.index(op)] = 1.0
        route = torch.zeros(1, ROUTES)
        route[0, genotype.route] = 1.0
        return {"ops": ops, "route": route}

    def op_counts(self, genotype):
        return {"edges": {op: genotype.ops.count(op) for op in OPS}, "route": {str(r): int(r == genotype.route)
                                                                          for r in range(ROUTES)}}

    def cell_sizes(self):
        return {"edges": 2, "route": 1}

    def to_string(self, genotype):
        return f"{genotype.ops[0]}+{genotype.ops[1]}@{genotype.route}"

    def parse(self, text):
        ops, route = text.split("@")
        a, b = ops.split("+")
        return ToyGenotype(self.name, (a, b), int(route))

    @property
    def size(self):
        return len(OPS) ** 2 * ROUTES


class ToyNet(nn.Module):
    def __init__(self, cfg: ToyConfig, num_classes: int, in_channels: int) -> None:
        super().__init__()
        c = cfg.channels
        self.stem = nn.Conv2d(in_channels, c, 3, padding=1)
        self.convs = nn.ModuleList(nn.Conv2d(c, c, 3, padding=1) for _ in range(2))
        self.routes = nn.ModuleList(nn.Conv2d(c, c, 1) for _ in range(ROUTES))
        self.head = nn.Linear(c, num_classes)

    def forward(self, x, weights):
        h = torch.relu(self.stem(x))
        for e in range(2):
            w = weights["ops"][e]
            h = w[1] * torch.relu(self.convs[e](h)) + w[2] * nn.functional.avg_pool2d(h, 3, 1, 1) + 0 * w[0]
        h = sum(weights["route"][0, r] * self.routes[r](h) for r in range(ROUTES))
        return self.head(h.mean((2, 3)))


class ToyDiscrete(ToyNet):
    def __init__(self, genotype, cfg, num_classes, in_channels):
        super().__init__(cfg, num_classes, in_channels)
        self.fixed = ToySpace().one_hot(genotype)

    def forward(self, x, weights=None):
        return super().forward(x, self.fixed)


@contextlib.contextmanager
def toy_space():
    with SPACES.registered("toy2", ToySpace), SUPERNETS.registered("toy2", ToyNet), \
            NETWORKS.registered("toy2", ToyDiscrete):
        yield ToySpace()


DCFG = DataConfig("digits", "digits", input_size=8, max_examples=96, crop_padding=1, flip=False)
SETTINGS = {
    "darts": {"lr": 0.05, "betas": (0.5, 0.999), "weight_decay": 1e-3, "init_std": 1e-3},
    "balenas": {"lr": 0.05, "betas": (0.5, 0.999), "prior_precision": 1.0, "init_precision": 1.0,
                "init_std": 1e-3, "mc_samples": 2, "form": "sqrt", "dataset_size": None},
}


@pytest.fixture(scope="module")
def data():
    return load_dataset(DCFG, seed=0)


def _cfg(method, order, settings=None, **kw):
    kw = {"epochs": 2, **kw}
    return SearchConfig(space="toy2", dataset="digits", method=method, seed=0, order=order,
                        method_settings=SETTINGS[method] if settings is None else settings, batch_size=16,
                        model={"channels": 3}, **kw)


@pytest.mark.parametrize("method", ["darts", "balenas"])
@pytest.mark.parametrize("order", [1, 2])
def test_toy_space_with_two_groups_runs_through_search_selection_hessian_and_report(tmp_path, data, method, order):
    from balenas.report.search import write_search_report
    from balenas.stages.search import load_arch, write_search_outputs

    with toy_space() as space:
        cfg = _cfg(method, order, hessian_every=1)
        result = run_search(cfg, data, DCFG, torch.device("cpu"), hessian_fn=hessian_record)
        # every group is learned, with its own shape
        mean = result.dist.mean_alpha()
        assert {k: tuple(v.shape) for k, v in mean.items()} == {"ops": (2, 3), "route": (1, 4)}
        assert all(float((v - 0).abs().max()) > 2e-3 for v in mean.values())  # both groups moved from 1e-3 init
        # the space derived the genotype from both groups
        assert result.genotype == space.derive(mean)
        assert result.genotype_str == space.to_string(result.genotype)
        h = result.history
        assert h["hessian_max_eig"].notna().all()
        assert (h["skip_ratio"] == h["skip_count"] / 2).all()
        assert {"ops_edges_pool", "ops_route_3"} <= set(h.columns)
        # selection samples from the learned distribution and the space discretises the draws
        draws = sample_genotypes("tf", space, 20, seed=0, dist=result.dist)
        assert all(isinstance(g, ToyGenotype) for g in draws)
        # outputs (arch.pt with both groups) and the report
        out = {k: tmp_path / f"{k}.x" for k in ("arch", "genotype", "history", "metrics", "supernet")}
        write_search_outputs(result, cfg, DCFG, data.meta, out, torch.device("cpu"))
        dist, blob = load_arch(out["arch"])
        assert blob["groups"] == {"ops": [2, 3], "route": [1, 4]}
        assert all(torch.equal(dist.mean_alpha()[k], mean[k]) for k in mean)
        written = write_search_report([out["metrics"]], [out["history"]], tmp_path / "t", tmp_path / "f")
        assert (tmp_path / "f" / "fig3_hessian_eigenvalue_toy2_digits.png").exists()
        assert written


# --- a toy stochastic relaxation: straight-through Gumbel-softmax with a per-epoch temperature --------------
class ToyGumbel(SoftmaxArch):
    """Hard one-hot forward, softmax((alpha + g) / tau) gradient; tau from the epoch (10 -> 1)."""

    def __init__(self, groups, init_std):
        super().__init__(groups, init_std)
        self.tau = float("nan")
        self.taus: list[float] = []

    def on_epoch_start(self, epoch, epochs):
        self.tau = 10.0 - 9.0 * epoch / max(epochs - 1, 1)
        self.taus.append(self.tau)

    def weight_fn(self, generator):
        noise = {k: -torch.log(-torch.log(torch.rand(s, generator=generator).clamp(1e-9, 1 - 1e-9)))
                 for k, s in self.groups.items()}

        def fn(alpha):
            out = {}
            for k, a in alpha.items():
                soft = torch.softmax((a + noise[k]) / self.tau, -1)
                hard = nn.functional.one_hot(soft.argmax(-1), soft.shape[-1]).to(soft.dtype)
                out[k] = hard - soft.detach() + soft
            return out

        return fn


class NoArchDist(ArchDistribution):
    """No parameters: uniform random one-hot architectures for the weight step (RandomNAS-like)."""

    def __init__(self, groups):
        super().__init__(groups)

    def sample_alpha(self, generator):
        return {k: torch.zeros(s) for k, s in self.groups.items()}

    def mean_alpha(self):
        return self.sample_alpha(None)

    def train_weights(self, generator, mode):
        return {k: nn.functional.one_hot(torch.randint(s[1], (s[0],), generator=generator), s[1]).float()
                for k, s in self.groups.items()}


@contextlib.contextmanager
def toy_methods():
    gumbel = Method("toy_gumbel", "ToyGumbel", lambda g, c, n: ToyGumbel(g, c["init_std"]),
                    lambda d, c: AdamArch(d, c["lr"], (0.5, 0.999), 0.0), frozenset({"lr", "init_std"}),
                    orders=(1,))
    none = Method("toy_none", "ToyNone", lambda g, c, n: NoArchDist(g), lambda d, c: None, frozenset(),
                  arch_step=no_arch_step, orders=(1,))
    with METHODS.registered("toy_gumbel", gumbel), METHODS.registered("toy_none", none):
        yield


def test_stochastic_relaxation_with_epoch_hook_runs_without_editing_the_loop(data):
    with toy_space(), toy_methods():
        cfg = _cfg("toy_gumbel", 1, {"lr": 0.05, "init_std": 1e-3}, epochs=3)
        result = run_search(cfg, data, DCFG, torch.device("cpu"))
        assert result.dist.taus == [10.0, 5.5, 1.0]  # the hook ran before every epoch, with the epoch
        assert float(result.dist.mean_alpha()["ops"].abs().max()) > 2e-3  # the straight-through gradient moved alpha
        fn = result.dist.weight_fn(torch.Generator().manual_seed(0))
        w = fn(result.dist.mean_alpha())
        assert all(torch.equal(v.sum(-1), torch.ones(v.shape[0])) and set(v.unique().tolist()) <= {0.0, 1.0}
                   for v in w.values())  # one-hot forward
        assert not math.isnan(result.history["valid_loss"].iloc[-1])


def test_method_without_an_architecture_step_trains_only_the_weights(data):
    with toy_space(), toy_methods():
        cfg = _cfg("toy_none", 1, {}, epochs=2)
        result = run_search(cfg, data, DCFG, torch.device("cpu"))
        assert result.dist.state_dict() == {}  # nothing to learn
        assert result.history["valid_acc"].between(0, 100).all()
        assert result.history["train_loss"].iloc[-1] < result.history["train_loss"].iloc[0] * 1.5
        before = {k: v.clone() for k, v in result.network.state_dict().items()}
        assert any(v.abs().sum() > 0 for v in before.values())


def test_a_method_refuses_an_order_it_does_not_define():
    with toy_space(), toy_methods(), pytest.raises(ValueError, match="defines orders \\[1\\], not 2"):
        _cfg("toy_gumbel", 2, {"lr": 0.05, "init_std": 1e-3})
