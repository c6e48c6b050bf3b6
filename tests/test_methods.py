"""Method registry: a method builds its distribution on the search device, then its optimizer."""

import pytest
import torch

from balenas.methods import METHODS
from tests.conftest import default_config

SETTINGS = {
    "darts": {"lr": 0.01, "betas": (0.5, 0.999), "weight_decay": 1e-3, "init_std": 1e-3},
    "balenas": {"lr": 0.01, "betas": (0.5, 0.999), "prior_precision": 1.0, "init_precision": 2.0,
                "init_std": 1e-3, "mc_samples": 1, "form": "sqrt", "dataset_size": None},
}
GROUPS = {"cell": (6, 5)}
SHAPE = (6, 5)
TWO = {"normal": (3, 4), "reduce": (2, 4)}


def _ones(groups, device="cpu"):
    return {k: torch.ones(shape, device=device) for k, shape in groups.items()}


def _tensors(dist, aopt):
    """Every tensor the distribution and its optimizer hold, optimizer state included."""
    out = list(dist.state_dict().values())
    state = aopt.state_dict()
    if "state" in state:  # torch.optim-based (AdamArch)
        out += [v for s in state["state"].values() for k, v in s.items() if k != "step"]
    else:
        out += list(state["buf"].values())
    return out


@pytest.mark.parametrize(
    "method, override", [("darts", {}), ("balenas", {"form": "sqrt"}), ("balenas", {"form": "heavy_ball"})]
)
def test_optimizer_steps_on_the_device_the_method_was_built_for(method, override):
    """The optimizer was built before the distribution moved: VAdam's buffer stayed on the CPU and
    AdamArch held a stale parameter, so the first architecture step on a GPU crashed. The meta device
    shows the same on a CPU-only machine."""
    settings = {**SETTINGS[method], **override}
    dist, aopt = METHODS.get(method).build(GROUPS, settings, 100, torch.device("meta"))
    aopt.step(_ones(GROUPS, device="meta"))
    aopt.step(_ones(GROUPS))  # a gradient from another device is moved, not rejected
    assert all(t.device.type == "meta" for t in _tensors(dist, aopt))
    assert all(p.device.type == "meta" for p in dist.parameters())


@pytest.mark.parametrize("method", ["darts", "balenas"])
@pytest.mark.parametrize("groups", [GROUPS, TWO])
def test_the_optimizer_updates_the_distribution_it_was_built_with(method, groups):
    torch.manual_seed(0)
    dist, aopt = METHODS.get(method).build(groups, SETTINGS[method], 100)
    before = dist.mean_alpha()
    aopt.step(_ones(groups))
    after = dist.mean_alpha()
    assert list(after) == list(groups)
    assert all((after[k] < before[k]).all() for k in groups)


DEFAULT_SETTINGS = default_config()["method_settings"]


@pytest.mark.parametrize("method", list(METHODS))
def test_the_optimizer_rejects_gradients_of_other_groups(method):
    _, aopt = METHODS.get(method).build(TWO, DEFAULT_SETTINGS[method], 100)
    if aopt is None:
        pytest.skip(f"{method} has no architecture optimizer")
    with pytest.raises(ValueError, match=r"gradient groups \['normal'\] != parameter groups \[") as err:
        aopt.step({"normal": torch.ones(3, 4)})
    assert "reduce" in str(err.value)  # the missing group (ENAS: its controller's reduce-cell parameters)


@pytest.mark.parametrize("method", ["darts", "balenas"])
def test_build_is_seeded_by_the_global_rng(method):
    torch.manual_seed(3)
    a, _ = METHODS.get(method).build(GROUPS, SETTINGS[method], 100)
    torch.manual_seed(3)
    b, _ = METHODS.get(method).build(GROUPS, SETTINGS[method], 100, "cpu")
    assert torch.equal(a.mean_alpha()["cell"], b.mean_alpha()["cell"])
    assert a.mean_alpha()["cell"].shape == SHAPE


def test_balenas_takes_mc_samples_from_its_settings():
    dist, _ = METHODS.get("balenas").build(GROUPS, {**SETTINGS["balenas"], "mc_samples": 3}, 100)
    assert dist.mc_samples == 3
    dist, _ = METHODS.get("darts").build(GROUPS, SETTINGS["darts"], 100)
    assert dist.mc_samples == 1
